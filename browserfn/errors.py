"""The one error tree of browserfn. Each error knows the HTTP status it maps to (see api/errors.py).

BrowserfnError                 500
├── Unauthorized               401  no key, unknown or revoked key
├── Forbidden                  403  visible but not yours to change
├── NotFound                   404  unknown, deleted, or another account's
├── Conflict                   409  the resource is in a state that forbids the call
├── PayloadTooLarge            413  body over the limit
├── InvalidInput               422  a request that parses but says something wrong
│   └── InvalidScript          422  an uploaded script that cannot be a function
├── TooManyRequests            429  queue full or rate limited
└── ServiceUnavailable         503  disk full, database unreachable: retry later
"""

from __future__ import annotations


class BrowserfnError(Exception):
    status_code: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(BrowserfnError):
    status_code = 401


class Forbidden(BrowserfnError):
    status_code = 403


class NotFound(BrowserfnError):
    status_code = 404


class Conflict(BrowserfnError):
    status_code = 409


class PayloadTooLarge(BrowserfnError):
    status_code = 413


class InvalidInput(BrowserfnError):
    status_code = 422


class InvalidScript(InvalidInput):
    pass


class TooManyRequests(BrowserfnError):
    status_code = 429

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(BrowserfnError):
    """503: the server cannot do it right now (its disk is full, its database is unreachable)."""

    status_code = 503
