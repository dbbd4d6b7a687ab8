"""The vaults API over HTTP (the official SDK for the calls it makes, raw HTTP for the rest):
every operation, another account's 404s, bad input's 4xx, and secrets never stored in the clear."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from notte_sdk import NotteClient

from tests.live_server import LiveServer

PASSWORD = "correct-horse-battery-staple-42"
MFA_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
CARD = {
    "card_holder_name": "Grace Hopper",
    "card_number": "5555555555554444",
    "card_cvv": "9876",
    "card_full_expiration": "03/31",
}


@pytest.fixture
def sdk(server: LiveServer) -> NotteClient:
    return NotteClient(api_key=server.key, server_url=server.url)


@pytest.fixture
def other(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(server.create_key("vault-outsider")) as client:
        yield client


def test_vault_lifecycle_through_the_sdk(sdk: NotteClient, api: httpx.Client) -> None:
    vault = sdk.Vault(name="work")
    vault.add_credentials("https://www.github.com/login", email="grace@example.com", password=PASSWORD)
    vault.add_credentials("https://gitlab.com", username="grace", password=PASSWORD, mfa_secret=MFA_SECRET)
    listed = sorted(vault.list_credentials(), key=lambda c: c.url)
    assert [(c.url, c.email, c.username) for c in listed] == [
        ("github.com", "grace@example.com", None),
        ("gitlab.com", None, "grace"),
    ]
    assert PASSWORD not in api.get(f"/vaults/{vault.vault_id}").text  # listings never carry secrets
    assert vault.get_credentials("https://github.com/settings") == {"email": "grace@example.com", "password": PASSWORD}
    raw = api.get(f"/vaults/{vault.vault_id}/credentials", params={"url": "gitlab.com"}).json()["credentials"]
    assert raw == {"username": "grace", "password": PASSWORD, "mfa_secret": MFA_SECRET}
    # The SDK turns the stored MFA secret into the current code.
    code = vault.get_credentials("gitlab.com")["mfa_secret"]  # type: ignore[index]
    assert code.isdigit() and len(code) == 6

    vault.set_credit_card(**CARD)  # type: ignore[arg-type]
    assert vault.get_credit_card() == CARD
    vault.delete_credit_card()
    assert api.get(f"/vaults/{vault.vault_id}/card").status_code == 404
    vault.delete_credentials("github.com")
    assert [c.url for c in vault.list_credentials()] == ["gitlab.com"]

    renamed = sdk.vaults.update(vault.vault_id, name="personal")
    assert renamed.name == "personal"
    assert vault.vault_id in [v.vault_id for v in sdk.vaults.list()]
    vault.delete()
    assert api.get(f"/vaults/{vault.vault_id}").status_code == 404
    assert api.get(f"/vaults/{vault.vault_id}/credentials", params={"url": "gitlab.com"}).status_code == 404


def test_another_account_sees_nothing(api: httpx.Client, other: httpx.Client) -> None:
    vault_id = api.post("/vaults/create", json={"name": "mine"}).json()["vault_id"]
    creds = {"url": "https://example.com", "credentials": {"email": "a@example.com", "password": PASSWORD}}
    assert api.post(f"/vaults/{vault_id}/credentials", json=creds).status_code == 200
    assert api.post(f"/vaults/{vault_id}/card", json={"credit_card": CARD}).status_code == 200
    calls = [
        ("GET", "", None, None),
        ("PATCH", "", {"name": "theirs"}, None),
        ("DELETE", "", None, None),
        ("POST", "/credentials", creds, None),
        ("GET", "/credentials", None, {"url": "example.com"}),
        ("DELETE", "/credentials", None, {"url": "example.com"}),
        ("POST", "/card", {"credit_card": CARD}, None),
        ("GET", "/card", None, None),
        ("DELETE", "/card", None, None),
    ]
    for method, path, body, params in calls:
        answer = other.request(method, f"/vaults/{vault_id}{path}", json=body, params=params)
        assert answer.status_code == 404, (method, path, answer.text)
        assert PASSWORD not in answer.text
    assert vault_id not in other.get("/vaults").text
    assert other.post("/sessions/start", json={"vault_id": vault_id}).status_code == 404
    # ...and the owner's vault is untouched.
    assert api.get(f"/vaults/{vault_id}/credentials", params={"url": "example.com"}).json()["credentials"] == {
        "email": "a@example.com",
        "password": PASSWORD,
    }


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/create", {"name": ""}, "name"),
        ("/create", {"name": "x", "color": "red"}, "color"),
        (
            "/{v}/credentials",
            {"url": "https://a.com", "credentials": {"password": "p"}},
            "CredentialsByEmail.email: Field required",
        ),
        (
            "/{v}/credentials",
            {"url": "https://a.com", "credentials": {"email": "e", "username": "u", "password": "p"}},
            "CredentialsByEmail.username: Input should be None",
        ),
        (
            "/{v}/credentials",
            {"url": "https://a.com", "credentials": {"email": "e"}},
            "CredentialsByEmail.password: Field required",
        ),
        ("/{v}/credentials", {"url": "https://a.com", "credentials": {"email": "e", "password": 5}}, "password"),
        (
            "/{v}/credentials",
            {"url": "https://a.com", "credentials": {"email": "e", "password": "p", "pin": "1"}},
            "pin",
        ),
        (
            "/{v}/credentials",
            {"url": "https://a.com", "credentials": {"email": "e", "password": "p", "mfa_secret": "123456!"}},
            "mfa_secret: String should match pattern",
        ),
        (
            "/{v}/credentials",
            {"url": "not a url", "credentials": {"email": "e", "password": "p"}},
            "url: String should match",
        ),
        ("/{v}/credentials", {"credentials": {"email": "e", "password": "p"}}, "url"),
        ("/{v}/card", {"credit_card": {"card_number": "4242"}}, "card_holder_name: Field required"),
        ("/{v}/card", {"credit_card": {**CARD, "pin": "1"}}, "pin"),
    ],
)
def test_bad_input_is_a_clear_4xx(api: httpx.Client, path: str, body: dict[str, object], needle: str) -> None:
    vault_id = api.post("/vaults/create", json={}).json()["vault_id"]
    answer = api.post(f"/vaults{path.replace('{v}', vault_id)}", json=body)
    assert answer.status_code == 422, answer.text
    assert needle in answer.json()["message"]
    assert api.get(f"/vaults/{vault_id}").json() == {"credentials": []}  # nothing half-written


def test_missing_things_are_404(api: httpx.Client) -> None:
    vault_id = api.post("/vaults/create", json={}).json()["vault_id"]
    assert api.get(f"/vaults/{vault_id}/credentials", params={"url": "nowhere.com"}).status_code == 404
    assert api.delete(f"/vaults/{vault_id}/credentials", params={"url": "nowhere.com"}).status_code == 404
    assert api.get(f"/vaults/{vault_id}/card").status_code == 404
    assert api.get(f"/vaults/{vault_id}/credentials").status_code == 422  # url is required
    assert api.get("/vaults/vault_nope").status_code == 404


def test_secrets_are_not_in_the_database_in_the_clear(server: LiveServer, api: httpx.Client) -> None:
    vault_id = api.post("/vaults/create", json={"name": "at rest"}).json()["vault_id"]
    creds = {"email": "rest@example.com", "password": PASSWORD, "mfa_secret": MFA_SECRET}
    api.post(f"/vaults/{vault_id}/credentials", json={"url": "https://rest.example.com", "credentials": creds})
    api.post(f"/vaults/{vault_id}/card", json={"credit_card": CARD})
    assert api.get(f"/vaults/{vault_id}/card").json()["credit_card"] == CARD  # it is stored...
    stored = b"".join(path.read_bytes() for path in Path(server.data_dir).rglob("browserfn.sqlite3*"))
    assert b"rest@example.com" in stored  # ...the e-mail in the clear (not a secret), so this scan sees rows
    for secret in (PASSWORD, MFA_SECRET, CARD["card_number"]):  # (a 4-digit CVV could be in any hex id)
        assert secret.encode() not in stored
    assert PASSWORD.encode() not in Path(server.log_path).read_bytes()  # never logged either
