"""The verification code or link in a received e-mail (what `email_verification_read` returns)."""

from __future__ import annotations

import dataclasses
import html
import re

from browserfn.personas import EmailRecord

#: A code named as one ("code: 482913", "your verification code is AB12CD", "OTP 1234").
_NAMED_CODE = re.compile(
    r"(?:code|otp|pin|passcode|password|token)\b[^A-Za-z0-9\n]{0,20}(?:is\b[^A-Za-z0-9\n]{0,5})?"
    r"(?P<code>(?=[A-Z0-9-]*\d)[A-Z0-9]{2,5}-?[A-Z0-9]{2,5})\b",
    re.IGNORECASE,
)
#: Else a lone number of 4 to 8 digits (not part of a date, a price or a longer number).
_BARE_DIGITS = re.compile(r"(?<![\d.,:/$€£-])\b(?P<code>\d{4,8})\b(?![\d.,:/-])")
_URL = re.compile(r"https?://[^\s\"'<>\])]+")
_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_LINK_WORDS = ("verif", "confirm", "activat", "token", "magic", "login", "signin", "sign-in", "auth", "code")


@dataclasses.dataclass(frozen=True)
class Verification:
    code: str | None
    link: str | None


def _text_of(email: EmailRecord) -> str:
    if email.text_content:
        return email.text_content
    return html.unescape(_TAG.sub(" ", email.html_content or ""))


def find_code(email: EmailRecord) -> str | None:
    for text in (email.subject, _text_of(email)):
        named = _NAMED_CODE.search(text)
        if named:
            return named.group("code")
    for text in (email.subject, _text_of(email)):
        bare = _BARE_DIGITS.search(text)
        if bare:
            return bare.group("code")
    return None


def find_link(email: EmailRecord) -> str | None:
    links = [html.unescape(h) for h in _HREF.findall(email.html_content or "")]
    links += _URL.findall(email.text_content or "")
    links = [link for link in links if link.startswith(("http://", "https://"))]
    for link in links:
        if any(word in link.lower() for word in _LINK_WORDS):
            return link
    return links[0] if links else None


def verification_of(email: EmailRecord) -> Verification:
    return Verification(find_code(email), find_link(email))
