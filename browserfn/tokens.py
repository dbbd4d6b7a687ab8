"""Secrets we hand out: API keys, run tokens, and signed code-download links. Only hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

API_KEY_PREFIX = "bfn_"
RUN_TOKEN_PREFIX = "bfr_"
#: The key of a run of a function shared by another account: it may drive only its own sessions.
GUEST_RUN_TOKEN_PREFIX = "bfg_"
#: Characters of a key shown in listings; enough to tell keys apart, useless to an attacker.
SHOWN_PREFIX_CHARS = 10


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_run_token(guest: bool = False) -> str:
    return (GUEST_RUN_TOKEN_PREFIX if guest else RUN_TOKEN_PREFIX) + secrets.token_urlsafe(32)


def is_guest_run_token(secret: str) -> bool:
    """Whether a run token (already found by its hash, which covers the prefix) is a guest run's."""
    return secret.startswith(GUEST_RUN_TOKEN_PREFIX)


def new_id() -> str:
    """A URL-safe random id (UUID text): the SDK inserts some ids into paths unescaped."""
    return str(uuid.uuid4())


def hash_secret(secret: str) -> str:
    """Keys carry 256 random bits, so one SHA-256 (indexed, looked up by hash) is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


def shown_prefix(secret: str) -> str:
    return secret[:SHOWN_PREFIX_CHARS]


def sign(server_secret: bytes, *parts: str) -> str:
    message = "\x1f".join(parts).encode()
    return hmac.new(server_secret, message, hashlib.sha256).hexdigest()


def verify(server_secret: bytes, signature: str, *parts: str) -> bool:
    return hmac.compare_digest(sign(server_secret, *parts), signature)
