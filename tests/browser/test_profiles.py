"""Browser profiles through the official Python SDK on a real server and real Chromium: a
profile persisted by one session is logged in (cookie and local storage) in the next; CRUD,
cookie and state imports, saving from a live session, the one-writer lease, and other accounts."""

from __future__ import annotations

import json

import pytest
from notte_sdk import NotteClient
from notte_sdk.errors import NotteAPIError

from tests.browser.data_site import DataSite
from tests.live_server import LiveServer


def _account_page(session: object, url: str) -> tuple[str, str]:
    session.execute(type="goto", url=f"{url}/account")  # type: ignore[attr-defined]
    who = session.evaluate_js("document.getElementById('who').textContent")  # type: ignore[attr-defined]
    storage = session.evaluate_js("document.getElementById('storage').textContent")  # type: ignore[attr-defined]
    return who, storage


def test_a_persisted_profile_is_logged_in_in_the_next_session(notte: NotteClient, data_site: DataSite) -> None:
    profile = notte.profiles.create(name="shop login")
    assert profile.profile_id.startswith("notte-profile-") and profile.persisted_domains == []
    with notte.Session(profile={"id": profile.profile_id, "persist": True}) as session:
        assert _account_page(session, data_site.url) == ("not logged in", "storage: none")
        session.execute(type="goto", url=f"{data_site.url}/login?user=ada")
    saved = notte.profiles.get(profile.profile_id)
    assert saved.persisted_domains == ["127.0.0.1"] and saved.updated_at > profile.updated_at
    cookies = notte.profiles.cookies_get(profile.profile_id).cookies
    assert [(c.name, c.value, c.httpOnly) for c in cookies] == [("login", "ada", True)]

    with notte.Session(profile={"id": profile.profile_id}) as session:  # read only
        assert _account_page(session, data_site.url) == ("logged in as ada", "storage: ada")
        session.execute(type="goto", url=f"{data_site.url}/login?user=changed")
    # Not persisted: the profile still says ada.
    with notte.Session(profile={"id": profile.profile_id, "persist": False}) as session:
        assert _account_page(session, data_site.url) == ("logged in as ada", "storage: ada")


def test_one_session_at_a_time_writes_a_profile(notte: NotteClient, browser_server: LiveServer) -> None:
    profile = notte.profiles.create(name="busy")
    with notte.Session(profile={"id": profile.profile_id, "persist": True}) as first:
        with pytest.raises(NotteAPIError) as second:
            notte.Session(profile={"id": profile.profile_id, "persist": True}).start()
        assert second.value.status_code == 409 and first.session_id in str(second.value)
        with browser_server.client() as api:
            busy = api.delete(f"/profiles/{profile.profile_id}")
            assert busy.status_code == 409 and "being written by session" in busy.json()["message"]
            imported = api.post(
                f"/profiles/{profile.profile_id}/cookies",
                json={"cookies": [{"name": "a", "value": "1", "domain": "x.test", "path": "/"}]},
            )
            assert imported.status_code == 409
        # The session holding it may save into it while it runs.
        assert first.save_profile().profile_id == profile.profile_id
        with notte.Session(profile={"id": profile.profile_id}) as reader:  # reading needs no lease
            assert reader.session_id
    with notte.Session(profile={"id": profile.profile_id, "persist": True}) as after:
        assert after.session_id  # free again once the first closed
    assert notte.profiles.delete(profile.profile_id) is True
    with pytest.raises(NotteAPIError) as gone:
        notte.profiles.get(profile.profile_id)
    assert gone.value.status_code == 404


def test_profile_crud_imports_and_other_accounts(
    notte: NotteClient, browser_server: LiveServer, data_site: DataSite
) -> None:
    first = notte.profiles.create(name="alpha")
    listed = [p.profile_id for p in notte.profiles.list(name="alpha")]
    assert first.profile_id in listed
    notte.profiles.cookies_set(
        first.profile_id, cookies=[{"name": "k", "value": "1", "domain": "127.0.0.1", "path": "/", "httpOnly": False}]
    )
    appended = notte.profiles.cookies_set(
        first.profile_id,
        cookies=[{"name": "j", "value": "2", "domain": "127.0.0.1", "path": "/", "httpOnly": False}],
        mode="append",
    )
    assert (appended.cookies_count, appended.mode) == (1, "append")
    assert sorted(c.name for c in notte.profiles.cookies_get(first.profile_id).cookies) == ["j", "k"]
    state = notte.profiles.state_set(
        first.profile_id,
        cookies=[{"name": "login", "value": "imported", "domain": "127.0.0.1", "path": "/", "httpOnly": True}],
        local_storage={data_site.url: {"who": "from-import"}},
        domains=["127.0.0.1"],
    )
    assert (state.cookies_count, state.local_storage_origins, state.session_storage_origins) == (1, 1, 0)
    assert [c.name for c in notte.profiles.cookies_get(first.profile_id).cookies] == ["login"]  # domain replaced
    copy = notte.profiles.duplicate(first.profile_id, name="beta")
    assert copy.name == "beta" and copy.persisted_domains == ["127.0.0.1"]
    other_key = browser_server.create_key("profiles-other")
    with notte.Session(profile={"id": copy.profile_id}) as session:
        assert _account_page(session, data_site.url) == ("logged in as imported", "storage: from-import")
        preview = notte.sessions.profile_preview(session.session_id, include_cookies=True)
        assert preview.profile is not None and preview.profile.id == copy.profile_id
        assert preview.cookie_domains == ["127.0.0.1"]
        with browser_server.client(other_key) as them:
            hidden = them.get(f"/sessions/{session.session_id}/profile-preview", params={"include_cookies": True})
            assert hidden.status_code == 404 and copy.profile_id not in hidden.text, hidden.text
        snapshot = session.save_profile(name="snapshot")
        assert snapshot.name == "snapshot" and snapshot.profile_id not in (first.profile_id, copy.profile_id)
    assert [c.value for c in notte.profiles.cookies_get(snapshot.profile_id).cookies] == ["imported"]

    with browser_server.client(other_key) as them, browser_server.client() as api:
        pid = first.profile_id
        before = api.get(f"/profiles/{pid}").json()
        theirs = [{"name": "login", "value": "intruder", "domain": "127.0.0.1", "path": "/", "httpOnly": True}]
        for call in (
            them.get(f"/profiles/{pid}"),
            them.delete(f"/profiles/{pid}"),
            them.post(f"/profiles/{pid}/duplicate", json={}),
            them.get(f"/profiles/{pid}/cookies"),
            them.post(f"/profiles/{pid}/cookies", json={"cookies": theirs}),
            them.post(f"/profiles/{pid}/cookies", json={"cookies": theirs, "mode": "append"}),
            them.post(f"/profiles/{pid}/state", json={"cookies": []}),
            them.post(
                f"/profiles/{pid}/state",
                json={
                    "cookies": theirs,
                    "local_storage": {data_site.url: {"who": "intruder"}},
                    "domains": ["127.0.0.1"],
                },
            ),
        ):
            assert call.status_code == 404 and call.json()["message"] == f"profile {pid} not found", call.text
        assert api.get(f"/profiles/{pid}").json() == before  # nothing changed
        assert [(c["name"], c["value"]) for c in api.get(f"/profiles/{pid}/cookies").json()["cookies"]] == [
            ("login", "imported")
        ]
        assert pid not in [p["profile_id"] for p in them.get("/profiles").json()["items"]]
        started = them.post("/sessions/start", json={"profile": {"id": pid}})
        assert started.status_code == 404
        bad = [
            ("/profiles/create", {"name": "a\u0000b"}),
            ("/profiles/create", {"colour": "red"}),
            (f"/profiles/{pid}/cookies", {"cookies": []}),
            (f"/profiles/{pid}/cookies", {"cookies": [{"name": "a", "value": "b"}]}),
            (f"/profiles/{pid}/state", {"local_storage": {"not an origin": {"a": "b"}}}),
            (f"/profiles/{pid}/state", {"mode": "merge"}),
            ("/sessions/start", {"profile": {"id": pid, "persist": "maybe"}}),
            ("/sessions/start", {"profile": {"persist": True}}),
        ]
        for path, body in bad:
            answer = api.post(path, json=body)
            assert answer.status_code == 422, (path, body, answer.text)
        unknown = {"profile": {"id": "notte-profile-0000000000000000"}}
        assert api.post("/sessions/start", json=unknown).status_code == 404
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        both = api.post(f"/sessions/{sid}/profile/save", json={"profile_id": pid, "name": "x"})
        assert both.status_code == 422
        neither = api.post(f"/sessions/{sid}/profile/save", json={})
        assert neither.status_code == 422 and "without a profile" in neither.json()["message"]
        assert them.post(f"/sessions/{sid}/profile/save", json={"name": "x"}).status_code == 404
        assert api.get(f"/sessions/{sid}/profile-preview").json() == {"profile": None, "cookie_domains": None}
        api.delete(f"/sessions/{sid}/stop")
    assert json.loads(json.dumps(notte.profiles.get(first.profile_id).persisted_domains)) == ["127.0.0.1"]
