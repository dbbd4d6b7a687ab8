"""Every field of Notte's session-start request (Python notte-sdk 1.10.0 and 1.9.7, TypeScript
notte-sdk 0.0.3) is applied, refused by name, or documented as having no effect: a new field in
a client fails `test_every_client_field_is_walked` until it is given a case here, a behaviour in
browser/session_options.py and a row in the README."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from notte_sdk import NotteClient
from notte_sdk._generated import models as generated
from notte_sdk._generated.public import SessionStartRequest as SdkStartRequest
from notte_sdk.errors import NotteAPIError
from playwright.sync_api import sync_playwright

from browserfn.browser.session_options import NO_EFFECT, StartSessionRequest
from tests.browser.conftest import pooled_server
from tests.browser.site import LocalSite
from tests.live_server import LiveServer
from tests.node_client import run_node
from tests.sdk197_client import run_sdk197

README = Path(__file__).resolve().parents[2] / "README.md"
#: Fields the TypeScript client's ApiSessionStartRequest has beyond the Python ones.
TS_ONLY = {"headless", "use_file_storage", "screenshot_type"}
#: What a 1.9.7 client sends for `client.Session()` (its model_dump(exclude_none=True)).
LEGACY_DEFAULT_BODY = {
    "solve_captchas": True,
    "max_duration_minutes": 15,
    "idle_timeout_minutes": 3,
    "proxies": True,
    "browser_type": "chromium",
    "screenshot_type": "last_action",
    "web_bot_auth": False,
    "auth_ids": [],
    "wait_for_authentication": True,
}

PYTHON_197 = {"x-notte-request-origin": "sdk-python", "x-notte-sdk-version": "1.9.7"}

Check = Callable[[httpx.Client, dict[str, Any]], None]


def _page(api: httpx.Client, sid: str, url: str) -> str:
    goto = api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": url})
    assert goto.json()["success"] is True, goto.text
    markdown: str = api.post(f"/sessions/{sid}/page/scrape", json={}).json()["markdown"]
    return markdown


def _js(api: httpx.Client, sid: str, code: str) -> Any:
    done = api.post(f"/sessions/{sid}/page/execute", json={"type": "evaluate_js", "code": code}).json()
    assert done["success"] is True, done
    text: str = done["data"]["markdown"]  # a string as it is, anything else as JSON
    return json.loads(text) if text[:1] in "[{0123456789" else text


def _viewport_is(width: int, height: int) -> Check:
    def check(api: httpx.Client, started: dict[str, Any]) -> None:
        assert (started["viewport_width"], started["viewport_height"]) == (width, height)
        assert _js(api, started["session_id"], "[innerWidth, innerHeight]") == [width, height]

    return check


def _timeouts_are(idle: int, most: int) -> Check:
    def check(api: httpx.Client, started: dict[str, Any]) -> None:
        assert (started["idle_timeout_minutes"], started["max_duration_minutes"]) == (idle, most)

    return check


def _sent_header(site: LocalSite) -> Check:
    def check(api: httpx.Client, started: dict[str, Any]) -> None:
        assert "x-tenant: acme" in _page(api, started["session_id"], f"{site.url}/headers")
        with sync_playwright() as playwright:  # and from a page a CDP client opens
            browser = playwright.chromium.connect_over_cdp(started["cdp_url"])
            page = browser.contexts[0].new_page()
            page.goto(f"{site.url}/headers")
            assert "x-tenant: acme" in page.inner_text("body")
            browser.close()

    return check


def _scale_is(factor: int) -> Check:
    def check(api: httpx.Client, started: dict[str, Any]) -> None:
        assert _js(api, started["session_id"], "devicePixelRatio") == factor

    return check


def _no_check(api: httpx.Client, started: dict[str, Any]) -> None:
    assert started["status"] == "active"


def _cases(site: LocalSite) -> dict[str, list[tuple[dict[str, Any], int | Check, str]]]:
    """Per field: (body, 200's check or the refusal's status, words the refusal says)."""
    return {
        "idle_timeout_minutes": [({"idle_timeout_minutes": 7}, _timeouts_are(7, 15), "")],
        "timeout_minutes": [({"timeout_minutes": 6}, _timeouts_are(6, 15), "")],
        "max_duration_minutes": [({"max_duration_minutes": 9}, _timeouts_are(3, 9), "")],
        "solve_captchas": [
            ({"solve_captchas": False}, _no_check, ""),
            ({"solve_captchas": True}, 422, "solve_captchas: this server has no captcha solver"),
        ],
        "proxies": [
            ({"proxies": False}, _no_check, ""),
            ({"proxies": True}, 422, "proxies: proxies=True asks for the server's proxies"),
            ({"proxies": "us"}, 422, "(a country) asks for the server's proxies"),
            ({"proxies": [{"type": "notte", "country": "us"}]}, 422, "'notte' proxies are Notte cloud's"),
            ({"proxies": [{"type": "external", "server": "ftp://x:1"}]}, 422, "must be scheme://host:port"),
            (
                {"proxies": [{"type": "external", "server": f"http://127.0.0.1:{port}"} for port in (9, 10)]},
                422,
                "proxies: one proxy per session here; give a list of one",
            ),
        ],
        "browser_type": [
            ({"browser_type": "chrome"}, _no_check, ""),
            ({"browser_type": "firefox"}, 422, "browser_type 'firefox' is not available"),
        ],
        "user_agent": [({"user_agent": "agent/1"}, _no_check, ""), ({"user_agent": "a\nb"}, 422, "user_agent")],
        "chrome_args": [
            ({"chrome_args": ["--force-device-scale-factor=2"]}, _scale_is(2), ""),
            ({"chrome_args": ["--remote-allow-origins=*"]}, 422, "chrome_args: '--remote-allow-origins=*' is not"),
        ],
        "viewport_width": [
            ({"viewport_width": 900, "viewport_height": 600}, _viewport_is(900, 600), ""),
            ({"viewport_width": 900}, 422, "viewport_width and viewport_height go together"),
        ],
        "viewport_height": [({"viewport_height": 600}, 422, "viewport_width and viewport_height go together")],
        "aspect_ratio": [
            ({"aspect_ratio": "16:9"}, _viewport_is(1280, 720), ""),
            ({"aspect_ratio": "5:4", "viewport_width": 800, "viewport_height": 600}, 422, "aspect_ratio cannot"),
        ],
        "cdp_url": [
            ({"cdp_url": "ws://127.0.0.1:9/devtools/browser/x"}, 422, "cdp_url: host '127.0.0.1' is a loopback address")
        ],
        "profile": [({"profile": {"id": "p1"}}, 404, "profile p1 not found")],  # applied: a profile of the account
        "vault_id": [({"vault_id": "v1"}, 404, "vault v1 not found")],  # applied: a vault of the account
        "web_bot_auth": [({"web_bot_auth": False}, _no_check, ""), ({"web_bot_auth": True}, 422, "web_bot_auth")],
        "extra_http_headers": [
            ({"extra_http_headers": {"X-Tenant": "acme"}}, _sent_header(site), ""),
            ({"extra_http_headers": {"X-Bad": "a\r\nb"}}, 422, "extra_http_headers"),
        ],
        "auth_ids": [({"auth_ids": []}, _no_check, ""), ({"auth_ids": ["c1"]}, 422, "auth_ids: managed auth")],
        "wait_for_authentication": [({"wait_for_authentication": False}, _no_check, "")],
        "auth_retry": [({"auth_retry": 1}, _no_check, ""), ({"auth_retry": 5}, 422, "auth_retry")],
        "block_ads": [({"block_ads": False}, _no_check, ""), ({"block_ads": True}, 422, "block_ads: this server has")],
        "advanced_stealth": [({"advanced_stealth": True}, 422, "advanced_stealth")],
        "screenshot_type": [({"screenshot_type": "full"}, _no_check, "")],
        "demonstrate": [({"demonstrate": True}, 422, "demonstrate: the Notte recorder")],
        "headless": [({"headless": True}, _no_check, ""), ({"headless": False}, 422, "headless: sessions here")],
        "use_file_storage": [({"use_file_storage": True}, 422, "use_file_storage")],
    }


@pytest.fixture(scope="module")
def options_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    allowed = {"BROWSERFN_SESSION_CHROME_ARGS_ALLOWED": "--lang,--force-device-scale-factor"}
    with pooled_server(tmp_path_factory.mktemp("options-server"), allowed) as live:
        yield live


@pytest.fixture
def api(options_server: LiveServer) -> Iterator[httpx.Client]:
    yield from _client(options_server)


def _client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(timeout=120) as client:
        yield client


def _sdk197_fields() -> set[str]:
    """The fields of notte-sdk 1.9.7's SessionStartRequest, read from that client in its own venv
    (no call is made: the client only needs a URL and a key to exist)."""
    script = "from notte_sdk.types import SessionStartRequest as S\nreport([*S.model_fields])"
    fields: list[str] = run_sdk197(script, url="http://127.0.0.1:9", key="unused", timeout_s=120)
    assert "proxies" in fields and "cdp_url" in fields, fields  # the model it meant
    return set(fields)


def _client_fields() -> set[str]:
    python_fields = set(SdkStartRequest.model_fields) | set(generated.ApiSessionStartRequest.model_fields)
    return python_fields | _sdk197_fields() | TS_ONLY | {"timeout_minutes"}


def test_every_client_field_is_walked(site: LocalSite) -> None:
    fields = _client_fields()
    assert set(_cases(site)) == fields
    assert set(StartSessionRequest.model_fields) == fields
    readme = README.read_text()
    table = readme[readme.index("| session-start field |") :]
    for field in fields:
        assert re.search(rf"`{field}`", table), f"README's session-start table lacks {field}"
    assert set(NO_EFFECT) <= fields


def test_each_field_is_applied_or_refused_by_name(api: httpx.Client, site: LocalSite) -> None:
    for field, cases in _cases(site).items():
        for body, expected, words in cases:
            answer = api.post("/sessions/start", json=body)
            if callable(expected):
                assert answer.status_code == 200, (field, body, answer.text)
                started = answer.json()
                try:
                    expected(api, started)
                finally:
                    assert api.delete(f"/sessions/{started['session_id']}/stop").status_code == 200
            else:
                assert answer.status_code == expected, (field, body, answer.text)
                message = answer.json()["message"]
                assert answer.json()["status"] == expected
                assert words in message and (field in message or expected == 404), (field, message)
    assert api.get("/sessions").json()["items"] == []  # no refused start left a session behind


def test_unknown_fields_are_refused_by_name(api: httpx.Client) -> None:
    answer = api.post("/sessions/start", json={"proxy": "http://x:1", "stealth": True})
    assert answer.status_code == 422
    assert "unknown session option(s) 'proxy', 'stealth'" in answer.json()["message"]


def test_a_legacy_clients_default_body_starts_and_says_what_it_got(api: httpx.Client) -> None:
    """1.9.x sends solve_captchas=true and proxies=true with every start: from it they are the
    client's defaults, and the response says neither is on."""
    legacy = api.post("/sessions/start", json=LEGACY_DEFAULT_BODY, headers=PYTHON_197)
    assert legacy.status_code == 200, legacy.text
    assert legacy.json()["solve_captchas"] is False and legacy.json()["proxies"] is False
    api.delete(f"/sessions/{legacy.json()['session_id']}/stop")
    newer = {**PYTHON_197, "x-notte-sdk-version": "1.10.0"}
    current = api.post("/sessions/start", json=LEGACY_DEFAULT_BODY, headers=newer)
    assert current.status_code == 422 and "solve_captchas" in current.json()["message"]


def test_the_python_sdk_applies_and_surfaces_refusals(options_server: LiveServer, site: LocalSite) -> None:
    client = NotteClient(api_key=options_server.key, server_url=options_server.url)
    with client.Session(viewport_width=1000, viewport_height=700, extra_http_headers={"X-Tenant": "acme"}) as session:
        session.execute(type="goto", url=f"{site.url}/headers")
        assert "x-tenant: acme" in session.scrape()
        assert session.execute(type="evaluate_js", code="innerWidth").data.markdown == "1000"  # type: ignore[union-attr]
    for options, words in (
        ({"solve_captchas": True}, "solve_captchas"),
        ({"proxies": True}, "proxies"),
        ({"profile": {"id": "p1"}}, "profile"),
    ):
        with pytest.raises(NotteAPIError) as refused:
            client.Session(**options).start()  # type: ignore[arg-type]
        assert words in str(refused.value), str(refused.value)


def test_the_typescript_client_surfaces_refusals(options_server: LiveServer) -> None:
    got = run_node(
        """
        const outcome = {};
        for (const [name, options] of [["solve", { solve_captchas: true }], ["headed", { headless: false }]]) {
          try { await client.Session(options).start(); outcome[name] = "started"; }
          catch (error) { outcome[name] = String(error.message); }
        }
        report(outcome);
        """,
        url=options_server.url,
        key=options_server.key,
    )
    assert "solve_captchas" in got["solve"]
    assert "headless" in got["headed"]


def test_captcha_solve_is_refused_by_name(options_server: LiveServer) -> None:
    client = NotteClient(api_key=options_server.key, server_url=options_server.url)
    with client.Session() as session:
        with pytest.raises(NotteAPIError) as refused:
            session.execute(type="captcha_solve", captcha_type="recaptcha")
        assert "captcha_solve: this server has no captcha solver" in str(refused.value)
        with options_server.client() as api:
            answer = api.post(f"/sessions/{session.session_id}/page/execute", json={"type": "captcha_solve"})
        assert answer.status_code == 501 and answer.json()["message"].startswith("captcha_solve:")
