"""Filling a page from the session's vault: the SDK's placeholders (`mycoolpassword`,
`user@example.org`, `999779`...) become the stored values only here, in the browser, so the
script, the action echoed back, the logs and the replay never hold them.

- `fill` whose value is exactly a placeholder types the vault's value (a password only into a
  password input);
- `form_fill` finds each named field's input on the page by its `autocomplete` token, then its
  type, then its name/id/label, and fills it (placeholders resolved the same way);
- `multi_factor_fill` types the current TOTP code of the site's stored `mfa_secret` into the
  input named, or else the page's one-time-code input.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Protocol

from browserfn.errors import NotFound
from browserfn.vaults import site_of, totp_now


class VaultLookup(Protocol):
    """The session's vault, as its actions may read it (vaults.SessionVault)."""

    used: set[str]

    async def credentials(self, url: str) -> dict[str, str] | None: ...
    async def card(self) -> dict[str, str] | None: ...


class VaultFillError(Exception):
    """The action cannot be done from the vault (says why, never with a stored value)."""


#: Notte's placeholders (notte_core.credentials.base) and the vault field each stands for.
PLACEHOLDERS = {
    "user@example.org": "email",
    "cooljohnny1567": "username",
    "mycoolpassword": "password",
    "999779": "mfa_secret",
    "John Doe": "card_holder_name",
    "4242 4242 4242 4242": "card_number",
    "[CardCVVPlaceholder]": "card_cvv",
    "[CardExpirationPlaceholder]": "card_full_expiration",
}
#: What the session masks once typed (the e-mail, username and card holder are not secret, as in Notte).
MASKED = {"password", "mfa_secret", "card_number", "card_cvv", "card_full_expiration"}
CARD_VALUES = {"card_holder_name", "card_number", "card_cvv", "card_full_expiration"}
#: Unresolved, these are ordinary text (a name, the test card) and are typed as written, as Notte does.
TYPED_AS_IS = {"card_holder_name", "card_number"}


@dataclasses.dataclass(frozen=True)
class FieldMatch:
    autocomplete: tuple[str, ...]
    types: tuple[str, ...]
    words: str  #: regex over the input's name, id, placeholder, aria-label and label text


#: form_fill's keys (Notte's FormFillAction) and how their inputs are recognised.
FORM_FIELDS: dict[str, FieldMatch] = {
    "title": FieldMatch(("honorific-prefix",), (), r"title|salutation|prefix"),
    "first_name": FieldMatch(("given-name",), (), r"first.?name|given.?name|fname"),
    "middle_name": FieldMatch(("additional-name",), (), r"middle.?name"),
    "last_name": FieldMatch(("family-name",), (), r"last.?name|surname|family.?name|lname"),
    "full_name": FieldMatch(("name",), (), r"full.?name|^name$|your.?name"),
    "email": FieldMatch(("email", "username"), ("email",), r"e.?mail"),
    "company": FieldMatch(("organization",), (), r"company|organi[sz]ation"),
    "address1": FieldMatch(("address-line1", "street-address"), (), r"address.?(line)?.?1|street|^address$"),
    "address2": FieldMatch(("address-line2",), (), r"address.?(line)?.?2|apartment|suite"),
    "address3": FieldMatch(("address-line3",), (), r"address.?(line)?.?3"),
    "city": FieldMatch(("address-level2",), (), r"city|town|locality"),
    "state": FieldMatch(("address-level1",), (), r"state|province|region|county"),
    "postal_code": FieldMatch(("postal-code",), (), r"zip|postal|post.?code"),
    "country": FieldMatch(("country", "country-name"), (), r"country"),
    "phone": FieldMatch(("tel", "tel-national"), ("tel",), r"phone|mobile|tel"),
    "cc_name": FieldMatch(("cc-name",), (), r"(cc|card).?(holder|name)|name.?on.?card|holder"),
    "cc_number": FieldMatch(("cc-number",), (), r"(cc|card).?(num|no)|card.?number"),
    "cc_exp_month": FieldMatch(("cc-exp-month",), (), r"exp\w*.?(month|mm)"),
    "cc_exp_year": FieldMatch(("cc-exp-year",), (), r"exp\w*.?(year|yy)"),
    "cc_exp": FieldMatch(("cc-exp",), (), r"exp(iry|iration)?(.?date)?$|mm.?yy|expir"),
    "cc_cvv": FieldMatch(("cc-csc",), (), r"cvv|cvc|csc|security.?code"),
    "username": FieldMatch(("username",), (), r"user.?name|login|account"),
    "current_password": FieldMatch(("current-password",), ("password",), r"pass|pwd"),
    "new_password": FieldMatch(("new-password",), ("password",), r"new.?pass|pass.*(new|confirm)"),
    "totp": FieldMatch(("one-time-code",), (), r"otp|totp|2fa|mfa|one.?time|verification|auth.?code|\bcode\b"),
}
FORM_ALIASES = {"password": "current_password"}

#: The fillable inputs of the page with what identifies them (index: nth of INPUTS).
INPUTS = (
    "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=checkbox]):not([type=radio]),"
    " select, textarea"
)
_DESCRIBE = """(selector) => Array.from(document.querySelectorAll(selector)).map((el, index) => {
  const labels = el.labels ? Array.from(el.labels).map(l => l.textContent).join(' ') : '';
  const box = el.getBoundingClientRect();
  return {index, autocomplete: (el.getAttribute('autocomplete') || '').toLowerCase(),
    type: (el.getAttribute('type') || el.tagName).toLowerCase(),
    text: [el.name, el.id, el.getAttribute('placeholder'), el.getAttribute('aria-label'), labels]
      .filter(Boolean).join(' ').toLowerCase(),
    usable: !el.disabled && !el.readOnly && box.width > 0 && box.height > 0};
})"""


def _score(match: FieldMatch, element: dict[str, Any]) -> float:
    tokens = str(element["autocomplete"]).split()
    for rank, token in enumerate(match.autocomplete):
        if token in tokens:
            return 3.0 - rank * 0.5
    if element["type"] in match.types:
        return 2.0
    if re.search(match.words, str(element["text"]), re.IGNORECASE):
        return 1.0
    return 0.0


def pick_inputs(keys: list[str], elements: list[dict[str, Any]]) -> dict[str, int]:
    """Each key's input (its index), best match first; an input serves one key at most."""
    taken: set[int] = set()
    found: dict[str, int] = {}
    usable = [e for e in elements if e["usable"]]
    candidates = sorted(
        ((_score(FORM_FIELDS[key], e), order, key, e["index"]) for order, key in enumerate(keys) for e in usable),
        key=lambda c: (-c[0], c[1], c[3]),
    )
    for score, _, key, index in candidates:
        if score > 0 and key not in found and index not in taken:
            found[key] = index
            taken.add(index)
    return found


class Resolver:
    """Placeholders to the vault's values for the page at `url` (looked up once per action)."""

    def __init__(self, vault: VaultLookup | None, url: str) -> None:
        self._vault = vault
        self._url = url
        self._credentials: dict[str, str] | None = None
        self._card: dict[str, str] | None = None

    async def _field(self, field: str) -> str | None:
        if self._vault is None:
            return None
        try:
            if field in CARD_VALUES:
                self._card = self._card if self._card is not None else await self._vault.card()
                return (self._card or {}).get(field)
            if self._credentials is None:
                self._credentials = await self._vault.credentials(self._url) or {}
        except NotFound as exc:
            raise VaultFillError(f"the session's vault is gone: {exc.message}") from exc
        found = self._credentials
        if field == "email":
            return found.get("email") or found.get("username")
        if field == "username":
            return found.get("username") or found.get("email")
        if field == "mfa_secret":
            secret = found.get("mfa_secret")
            return None if secret is None else totp_now(secret)
        return found.get(field)

    async def value(self, field: str) -> str:
        """The vault's value of `field` (a TOTP code for mfa_secret), or VaultFillError."""
        found = await self._field(field)
        if found is None:
            if self._vault is None:
                raise VaultFillError(f"a {field} placeholder needs a session started with a vault_id")
            where = "no credit card" if field in CARD_VALUES else f"no {field} for {self._site()}"
            raise VaultFillError(f"the session's vault holds {where}")
        if self._vault is not None and field in MASKED:
            self._vault.used.add(found)
        return found

    def _site(self) -> str:
        try:
            return site_of(self._url)
        except Exception:
            return self._url

    async def resolve(self, value: str, key: str | None = None) -> str:
        """`value` itself unless it is exactly a placeholder; an expiration placeholder filled into a
        month or a year input gives that part of the stored MM/YY."""
        field = PLACEHOLDERS.get(value.strip())
        if field is None or (self._vault is None and field in TYPED_AS_IS):
            return value
        try:
            resolved = await self.value(field)
        except VaultFillError:
            if field in TYPED_AS_IS:
                return value
            raise
        if field == "card_full_expiration" and key in ("cc_exp_month", "cc_exp_year"):
            month, _, year = resolved.partition("/")
            return month.strip() if key == "cc_exp_month" else year.strip()
        return resolved


async def fill_value(vault: VaultLookup | None, page: Any, element: Any, value: str) -> str:
    """What `fill` types for `value` into `element`: the vault's value for a placeholder."""
    field = PLACEHOLDERS.get(value.strip())
    if field is None or vault is None:
        return value
    if field == "password" and (await element.get_attribute("type") or "").lower() != "password":
        raise VaultFillError("refusing to type the vault's password into an input that is not type=password")
    return await Resolver(vault, page.url).resolve(value)


async def form_fill(vault: VaultLookup | None, page: Any, values: dict[str, Any], timeout_ms: float) -> str:
    """Fill each of `values`' fields into its input; the message names the inputs filled."""
    keys = [FORM_ALIASES.get(key, key) for key in values]
    unknown = [key for key in keys if key not in FORM_FIELDS]
    if unknown:
        raise VaultFillError(f"form_fill: unknown fields {unknown}; known: {sorted(FORM_FIELDS)}")
    elements = await page.evaluate(_DESCRIBE, INPUTS)
    chosen = pick_inputs(keys, elements)
    missing = [key for key in keys if key not in chosen]
    if missing:
        raise VaultFillError(f"form_fill: no input on the page for {missing}")
    resolver = Resolver(vault, page.url)
    typed = {key: await resolver.resolve(str(value), key) for key, value in zip(keys, values.values(), strict=True)}
    inputs = page.locator(INPUTS)
    for key, text in typed.items():
        element = inputs.nth(chosen[key])
        if (await element.evaluate("el => el.tagName")).lower() == "select":
            await element.select_option(text, timeout=timeout_ms)
        else:
            await element.fill(text, timeout=timeout_ms)
    return "Filled " + ", ".join(f"{key} (input {chosen[key]})" for key in keys)


async def otp_input(page: Any) -> Any:
    """The page's one-time-code input, or VaultFillError."""
    chosen = pick_inputs(["totp"], await page.evaluate(_DESCRIBE, INPUTS))
    if "totp" not in chosen:
        raise VaultFillError("multi_factor_fill: no one-time-code input on the page; give its id or selector")
    return page.locator(INPUTS).nth(chosen["totp"])


async def otp_code(vault: VaultLookup | None, page: Any, value: str) -> str:
    """The code multi_factor_fill types: the TOTP of the site's mfa_secret unless `value` is a
    literal code (not the placeholder)."""
    if value.strip() and value.strip() != "999779":
        return value
    return await Resolver(vault, page.url).value("mfa_secret")
