"""Vaults through the official Python SDK against a real server and real Chromium: a function logs
in to a local site (password, then a TOTP code) and pays at its checkout with neither the
password, the MFA secret nor the card ever in the script, its logs, its result or its session's
replay; the site receives the right values; the database holds none of them in the clear."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from notte_sdk import NotteClient

from tests.browser.identity_site import IdentitySite
from tests.live_server import LiveServer

PASSWORD = "Tr0ub4dor&3-horse-staple"
MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
LOGIN = "ada@example.com"
CARD = {
    "card_holder_name": "Ada Lovelace",
    "card_number": "4012888888881881",
    "card_cvv": "737",
    "card_full_expiration": "11/29",
}
SECRETS = (PASSWORD, MFA_SECRET, CARD["card_number"])

LOGIN_SCRIPT = """
from notte_sdk import NotteClient

def run(vault_id: str, site: str):
    client = NotteClient()
    with client.Session(vault_id=vault_id) as session:
        session.execute(type="goto", url=site + "/login")
        filled = session.execute(type="form_fill", value={"email": "user@example.org", "password": "mycoolpassword"})
        print("form_fill:", filled.message)
        session.execute(type="click", selector="button[type=submit]")
        otp = session.execute(type="multi_factor_fill", id="otp", value="999779")
        print("multi_factor_fill:", otp.message)
        session.execute(type="click", selector="button[type=submit]")
        title = session.execute(type="evaluate_js", code="document.title").data.markdown
        print("landed on", title)
        return {"title": title, "session_id": session.session_id}
"""

CHECKOUT_SCRIPT = """
from notte_sdk import NotteClient

def run(vault_id: str, site: str):
    client = NotteClient()
    with client.Session(vault_id=vault_id) as session:
        session.execute(type="goto", url=site + "/checkout")
        session.execute(type="form_fill", value={
            "cc_name": "John Doe",
            "cc_number": "4242 4242 4242 4242",
            "cc_exp_month": "[CardExpirationPlaceholder]",
            "cc_exp_year": "[CardExpirationPlaceholder]",
            "cc_cvv": "[CardCVVPlaceholder]",
        })
        session.execute(type="click", selector="button[type=submit]")
        return session.execute(type="evaluate_js", code="document.title").data.markdown
"""

#: A script reading its own account's credential through the SDK and printing it: the log is masked.
READER_SCRIPT = """
from notte_sdk import NotteClient

def run(vault_id: str, site: str):
    vault = NotteClient().Vault(vault_id)
    creds = vault.get_credentials(site)
    print("the password is", creds["password"], "and the card", vault.get_credit_card()["card_number"])
    return creds["password"]
"""


@pytest.fixture(scope="module")
def identity_site() -> Iterator[IdentitySite]:
    served = IdentitySite(LOGIN, PASSWORD, MFA_SECRET, CARD).start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def client(browser_server: LiveServer) -> NotteClient:
    return NotteClient(api_key=browser_server.key, server_url=browser_server.url)


@pytest.fixture(scope="module")
def vault_id(client: NotteClient, identity_site: IdentitySite) -> str:
    vault = client.Vault(name="shop accounts")
    vault.add_credentials(f"{identity_site.url}/login", email=LOGIN, password=PASSWORD, mfa_secret=MFA_SECRET)
    vault.set_credit_card(**CARD)  # type: ignore[arg-type]
    return str(vault.vault_id)


def _function_run(client: NotteClient, tmp_path: Path, name: str, script: str, **variables: Any) -> Any:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(script))
    assert not any(secret in path.read_text() for secret in SECRETS)
    return client.Function(path=str(path), name=name).run(**variables)


def _everything_a_run_left(api: httpx.Client, response: Any) -> str:
    run = api.get(f"/functions/{response.function_id}/runs/{response.function_run_id}").json()
    stream = api.get(f"/functions/{response.function_id}/runs/{response.function_run_id}/stream").text
    return json.dumps(run) + stream


def _replay_text(api: httpx.Client, session_id: str) -> str:
    for _ in range(120):
        replay = api.get(f"/sessions/{session_id}/replay")
        if replay.status_code == 200:
            return replay.text
        time.sleep(0.5)
    raise AssertionError(f"no replay for {session_id}: {replay.text}")


def test_login_from_the_vault_never_shows_the_secrets(
    client: NotteClient, bapi: httpx.Client, identity_site: IdentitySite, vault_id: str, tmp_path: Path
) -> None:
    response = _function_run(client, tmp_path, "vault_login", LOGIN_SCRIPT, vault_id=vault_id, site=identity_site.url)
    assert response.status == "closed", response.result
    assert response.result["title"] == "Signed in"
    # The site received the real values...
    login_form = next(form for path, form in identity_site.received if path == "/login")
    assert (login_form["login"], login_form["pw"]) == (LOGIN, PASSWORD)
    # ...and neither the run (logs, result, stream) nor the session's replay holds them.
    left = _everything_a_run_left(bapi, response) + _replay_text(bapi, response.result["session_id"])
    assert "form_fill: Filled" in left and "multi_factor_fill: Filled the one-time code" in left
    for secret in SECRETS:
        assert secret not in left


def test_card_fills_a_checkout(
    client: NotteClient, bapi: httpx.Client, identity_site: IdentitySite, vault_id: str, tmp_path: Path
) -> None:
    response = _function_run(client, tmp_path, "vault_pay", CHECKOUT_SCRIPT, vault_id=vault_id, site=identity_site.url)
    assert (response.status, response.result) == ("closed", "Paid")
    paid = next(form for path, form in identity_site.received if path == "/pay")
    assert paid["cardnumber"] == CARD["card_number"]
    assert "fullname" not in paid  # (empty: not sent) cc_name went to the cc-name input, not the name one
    assert CARD["card_number"] not in _everything_a_run_left(bapi, response)


def test_a_script_reading_its_credentials_has_them_masked_in_its_logs(
    client: NotteClient, bapi: httpx.Client, identity_site: IdentitySite, vault_id: str, tmp_path: Path
) -> None:
    response = _function_run(client, tmp_path, "vault_read", READER_SCRIPT, vault_id=vault_id, site=identity_site.url)
    assert response.status == "closed"
    left = _everything_a_run_left(bapi, response)
    assert "the password is *** and the card ***" in left
    assert PASSWORD not in left and CARD["card_number"] not in left


def test_a_run_of_another_account_cannot_read_the_vault(
    browser_server: LiveServer, identity_site: IdentitySite, vault_id: str, tmp_path: Path
) -> None:
    other = NotteClient(api_key=browser_server.create_key("someone-else"), server_url=browser_server.url)
    with pytest.raises(Exception, match=r"status code 404.*not found") as failed:  # the run failed on a 404
        _function_run(other, tmp_path, "vault_steal", READER_SCRIPT, vault_id=vault_id, site=identity_site.url)
    assert PASSWORD not in str(failed.value)
    with pytest.raises(Exception, match=r"404|not found"):
        other.Session(vault_id=vault_id).start()


def test_fill_placeholders_and_refusals(
    client: NotteClient, identity_site: IdentitySite, vault_id: str, bapi: httpx.Client
) -> None:
    with client.Session(vault_id=vault_id) as session:
        session.execute(type="goto", url=f"{identity_site.url}/login")
        # The password placeholder goes only into a password input.
        refused = session.execute(type="fill", selector="[name=login]", value="mycoolpassword", raise_on_failure=False)
        assert not refused.success and "not type=password" in refused.message
        session.execute(type="fill", selector="[name=login]", value="user@example.org")
        session.execute(type="fill", selector="[name=pw]", value="mycoolpassword")
        read_back = session.execute(type="evaluate_js", code="document.querySelector('[name=pw]').value")
        assert read_back.data is not None and read_back.data.markdown == "***"  # what it typed is masked
        typed = session.execute(type="evaluate_js", code="document.querySelector('[name=login]').value")
        assert typed.data is not None and typed.data.markdown == LOGIN
        session.execute(type="click", selector="button[type=submit]")
        session.execute(type="multi_factor_fill", id="", selector="[name=otp]", value="999779")
        session.execute(type="click", selector="button[type=submit]")
        assert session.execute(type="evaluate_js", code="document.title").data.markdown == "Signed in"  # type: ignore[union-attr]
    # Without a vault, a placeholder is ordinary text; a field with no input on the page fails clearly.
    with client.Session() as session:
        session.execute(type="goto", url=f"{identity_site.url}/login")
        missing = session.execute(type="form_fill", value={"cc_cvv": "123"}, raise_on_failure=False)
        assert not missing.success and "no input on the page for ['cc_cvv']" in missing.message
        needs = session.execute(type="multi_factor_fill", selector="[name=pw]", value="999779", raise_on_failure=False)
        assert not needs.success and "needs a session started with a vault_id" in needs.message
