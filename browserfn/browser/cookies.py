"""Cookies between Notte's wire shape (the SDK's `Cookie`: a browser-extension export, with
`expirationDate`, `hostOnly`, `session`...) and Playwright's (`expires`, -1 for a session cookie).
Every cookie a caller sends is checked here first: a bad one is an InvalidInput naming it and its
field, and none of the list is applied."""

from __future__ import annotations

from typing import Any

from browserfn.errors import InvalidInput

SAME_SITE = ("Lax", "None", "Strict")
#: Chrome extensions export `no_restriction` / `lax` / `strict` / `unspecified`.
_SAME_SITE_ALIASES = {"no_restriction": "None", "lax": "Lax", "strict": "Strict", "none": "None"}
MAX_COOKIES = 10_000
_KNOWN = frozenset(
    {
        "name",
        "value",
        "domain",
        "path",
        "httpOnly",
        "expirationDate",
        "hostOnly",
        "sameSite",
        "secure",
        "session",
        "storeId",
        "expires",
        "partitionKey",
        "url",
    }
)


def to_playwright(cookies: Any) -> list[dict[str, Any]]:
    """Playwright's `add_cookies` list for the request's `cookies`; InvalidInput if any is bad."""
    if not isinstance(cookies, list):
        raise InvalidInput("cookies must be a list of cookie objects")
    if len(cookies) > MAX_COOKIES:
        raise InvalidInput(f"at most {MAX_COOKIES} cookies at once, not {len(cookies)}")
    return [_one(index, cookie) for index, cookie in enumerate(cookies)]


def _one(index: int, cookie: Any) -> dict[str, Any]:
    where = f"cookies[{index}]"
    if not isinstance(cookie, dict):
        raise InvalidInput(f"{where} must be an object with name, value, domain and path")
    unknown = sorted(set(cookie) - _KNOWN)
    if unknown:
        raise InvalidInput(f"{where}: unknown field(s) {', '.join(unknown)}")
    for field in ("name", "value"):
        if not isinstance(cookie.get(field), str):
            raise InvalidInput(f"{where}.{field} must be a string")
    if not cookie["name"]:
        raise InvalidInput(f"{where}.name must not be empty")
    out: dict[str, Any] = {"name": cookie["name"], "value": cookie["value"]}
    domain, url = cookie.get("domain"), cookie.get("url")
    if isinstance(url, str) and url and not domain:
        if not url.startswith(("http://", "https://")):
            raise InvalidInput(f"{where}.url must be an http(s) URL")
        out["url"] = url
    else:
        if not isinstance(domain, str) or not domain.strip("."):
            raise InvalidInput(f"{where}.domain must be a non-empty string (or give a url)")
        path = cookie.get("path", "/")
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidInput(f"{where}.path must be a string starting with '/'")
        # A host-only cookie is set on its host exactly; Playwright marks a domain cookie by a leading dot.
        out["domain"] = domain.lstrip(".") if cookie.get("hostOnly") is True else domain
        out["path"] = path
    for flag in ("httpOnly", "secure"):
        value = cookie.get(flag)
        if value is not None:
            if not isinstance(value, bool):
                raise InvalidInput(f"{where}.{flag} must be true or false")
            out[flag] = value
    expires = cookie.get("expires", cookie.get("expirationDate"))
    if cookie.get("session") is True:
        expires = None
    if expires is not None:
        if isinstance(expires, bool) or not isinstance(expires, int | float):
            raise InvalidInput(f"{where}.expirationDate must be a number (seconds since the epoch)")
        if expires > 0:
            out["expires"] = float(expires)
    same_site = cookie.get("sameSite")
    if same_site is not None and same_site != "unspecified":
        if not isinstance(same_site, str) or _SAME_SITE_ALIASES.get(same_site.lower(), same_site) not in SAME_SITE:
            raise InvalidInput(f"{where}.sameSite must be one of {', '.join(SAME_SITE)}")
        out["sameSite"] = _SAME_SITE_ALIASES.get(same_site.lower(), same_site)
        if out["sameSite"] == "None" and "secure" not in out:
            out["secure"] = True  # browsers drop SameSite=None cookies that are not Secure
    return out


def to_notte(cookie: dict[str, Any]) -> dict[str, Any]:
    """Notte's `Cookie` for one of Playwright's `context.cookies()`."""
    expires = cookie.get("expires", -1)
    persistent = isinstance(expires, int | float) and expires > 0
    domain = str(cookie.get("domain", ""))
    return {
        "name": cookie["name"],
        "value": cookie["value"],
        "domain": domain,
        "path": cookie.get("path", "/"),
        "httpOnly": bool(cookie.get("httpOnly", False)),
        "expirationDate": float(expires) if persistent else None,
        "hostOnly": not domain.startswith("."),
        "sameSite": cookie.get("sameSite") if cookie.get("sameSite") in SAME_SITE else None,
        "secure": bool(cookie.get("secure", False)),
        "session": not persistent,
        "storeId": None,
        "expires": float(expires) if persistent else None,
        "partitionKey": cookie.get("partitionKey") if isinstance(cookie.get("partitionKey"), str) else None,
    }
