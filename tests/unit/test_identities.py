"""The pure parts of vaults and personas: which input form_fill picks for a field, the site a URL's
credentials are keyed by, credential and card checks, a received message parsed, and the
verification code or link found in it."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import Any

import pyotp
import pytest

from browserfn.browser.vault_fill import pick_inputs
from browserfn.errors import InvalidInput
from browserfn.mail import parse_message
from browserfn.personas import EmailRecord, PersonaRecord
from browserfn.vaults import check_card, check_credentials, site_of, totp_now
from browserfn.verification import find_code, find_link


def _input(
    index: int, text: str = "", autocomplete: str = "", kind: str = "text", usable: bool = True
) -> dict[str, Any]:
    return {"index": index, "autocomplete": autocomplete, "type": kind, "text": text, "usable": usable}


def test_inputs_are_picked_by_autocomplete_then_type_then_words() -> None:
    page = [
        _input(0, "search q"),
        _input(1, "login account", autocomplete="username"),
        _input(2, "pw secret word", kind="password"),
        _input(3, "hidden-ish", autocomplete="email", usable=False),
        _input(4, "newpass new password", autocomplete="new-password", kind="password"),
    ]
    assert pick_inputs(["email", "current_password", "new_password"], page) == {
        "email": 1,
        "current_password": 2,
        "new_password": 4,
    }
    assert pick_inputs(["totp"], page) == {}  # nothing looks like a code input


def test_card_fields_do_not_take_a_plain_name_input() -> None:
    page = [
        _input(0, "fullname full name", autocomplete="name"),
        _input(1, "holder name on card", autocomplete="cc-name"),
        _input(2, "cardnumber card number"),
        _input(3, "exp-month expiry month", autocomplete="cc-exp-month"),
        _input(4, "cvc", kind="password"),
    ]
    assert pick_inputs(["cc_name", "cc_number", "cc_exp_month", "cc_cvv"], page) == {
        "cc_name": 1,
        "cc_number": 2,
        "cc_exp_month": 3,
        "cc_cvv": 4,
    }


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://www.github.com/login", "github.com"),
        ("github.com", "github.com"),
        ("https://a.b.co.uk/x", "b.co.uk"),
        ("http://127.0.0.1:8123/login", "127.0.0.1"),
        ("http://localhost:5000/", "localhost"),
    ],
)
def test_site_of(url: str, site: str) -> None:
    assert site_of(url) == site


def test_site_of_a_url_without_a_domain_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no domain"):
        site_of("not a url")


def test_credential_and_card_checks() -> None:
    secret = pyotp.random_base32()
    assert check_credentials({"username": "u", "password": "p", "mfa_secret": secret}) == {
        "username": "u",
        "password": "p",
        "mfa_secret": secret,
    }
    for bad in ({"password": "p"}, {"email": "e", "username": "u", "password": "p"}, {"email": "e", "password": ""}):
        with pytest.raises(InvalidInput):
            check_credentials(bad)
    with pytest.raises(InvalidInput, match="base32"):
        check_credentials({"email": "e", "password": "p", "mfa_secret": "12 34 56!"})
    assert totp_now(secret) == pyotp.TOTP(secret).now()
    with pytest.raises(InvalidInput, match="card_cvv: Field required"):
        check_card({"card_holder_name": "a", "card_number": "1", "card_full_expiration": "01/30"})


def _persona() -> PersonaRecord:
    now = dt.datetime.now(dt.UTC)
    return PersonaRecord("persona_1", "acct", None, "Ada", "L", "ada@x.test", "persona_1@x.test", None, now)


def test_a_message_is_parsed_with_both_bodies() -> None:
    message = EmailMessage()
    message["From"] = "Shop <no-reply@shop.example>"
    message["Subject"] = "Your code"
    message.set_content("code: 771204\n")
    message.add_alternative("<b>code: 771204</b>", subtype="html")
    parsed = parse_message(message.as_bytes(), _persona())
    assert (parsed.persona_id, parsed.account_id, parsed.subject) == ("persona_1", "acct", "Your code")
    assert (parsed.sender_email, parsed.sender_name) == ("no-reply@shop.example", "Shop")
    assert parsed.text_content == "code: 771204\n" and parsed.html_content == "<b>code: 771204</b>\n"


def _email(subject: str, text: str | None = None, html: str | None = None) -> EmailRecord:
    return EmailRecord("e", "p", "a", dt.datetime.now(dt.UTC), None, None, subject, text, html)


@pytest.mark.parametrize(
    ("subject", "text", "code"),
    [
        ("Welcome", "Your verification code is 482913. It expires in 10 minutes.", "482913"),
        ("Code: AB12CD", "hello", "AB12CD"),
        ("Your order", "Total $1234.50 on 2026-12-06. Use 739201 to confirm.", "739201"),
        ("482913 is your code", "", "482913"),
        ("Hello", "Nothing to see here", None),
    ],
)
def test_verification_codes(subject: str, text: str, code: str | None) -> None:
    assert find_code(_email(subject, text)) == code


def test_verification_links_prefer_the_verifying_one() -> None:
    text = "Read https://shop.example/blog or click https://shop.example/verify?token=abc to confirm"
    assert find_link(_email("x", text)) == "https://shop.example/verify?token=abc"
    assert (
        find_link(_email("x", None, '<a href="https://a.example/?a=1&amp;b=2">go</a>')) == "https://a.example/?a=1&b=2"
    )
    assert find_link(_email("x", "no links")) is None
