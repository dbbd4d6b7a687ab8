"""`GET /functions/{id}/runs`: page bounds, newest first, only_active, only_current_token, and
has_next/has_previous at every page boundary."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import assert_error, run_to_end, wait_for
from tests.conftest import deploy
from tests.live_server import LiveServer

QUICK = "def run(i: int = 0):\n    return i\n"
SLOW = "import time\n\n\ndef run():\n    print('started')\n    time.sleep(600)\n"


def page_of(api: httpx.Client, fid: str, **params: Any) -> dict[str, Any]:
    response = api.get(f"/functions/{fid}/runs", params={"only_active": "False", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_every_page_size_and_boundary(api: httpx.Client) -> None:
    fid = deploy(api, QUICK, "quick")["function_id"]
    ids = [run_to_end(api, fid, {"i": i})["function_run_id"] for i in range(5)]
    newest_first = ids[::-1]
    for size in range(1, 7):
        pages = -(-5 // size)
        collected: list[str] = []
        for page in range(1, pages + 2):
            body = page_of(api, fid, page=page, page_size=size)
            items = body["items"]
            assert isinstance(items, list)
            expected = newest_first[(page - 1) * size : page * size]
            assert [r["function_run_id"] for r in items] == expected, (size, page)
            assert {k: v for k, v in body.items() if k != "items"} == {
                "page": page,
                "page_size": size,
                "has_next": page < pages,
                "has_previous": page > 1,
            }, (size, page)
            collected += expected
        assert collected == newest_first


def test_page_bounds_are_checked(api: httpx.Client) -> None:
    fid = deploy(api, QUICK, "quick")["function_id"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"page": 0}, "invalid request: page: Input should be greater than or equal to 1"),
        ({"page": -3}, "invalid request: page: Input should be greater than or equal to 1"),
        (
            {"page": "two"},
            "invalid request: page: Input should be a valid integer, unable to parse string as an integer",
        ),
        ({"page": 10**19}, "invalid request: page: Input should be less than or equal to 1000000000"),
        ({"page_size": 0}, "invalid request: page_size: Input should be greater than or equal to 1"),
        ({"page_size": 101}, "invalid request: page_size: Input should be less than or equal to 100"),
        (
            {"only_active": "maybe"},
            "invalid request: only_active: Input should be a valid boolean, unable to interpret input",
        ),
    ]
    for path in (f"/functions/{fid}/runs", "/functions/"):
        for params, message in cases:
            assert_error(api.get(path, params=params), 422, message)
    assert page_of(api, fid, page_size=100)["page_size"] == 100
    far = page_of(api, fid, page=10**9, page_size=100)
    assert far == {"items": [], "page": 10**9, "page_size": 100, "has_next": False, "has_previous": True}
    assert_error(
        api.get(f"/functions/{fid}/runs", params={"before": 2**64}),
        422,
        "invalid request: before: Input should be less than or equal to 9223372036854775807",
    )


def test_only_active_is_the_default(api: httpx.Client) -> None:
    quick = deploy(api, QUICK, "quick")["function_id"]
    run_to_end(api, quick)
    assert api.get(f"/functions/{quick}/runs").json()["items"] == []
    assert len(api.get(f"/functions/{quick}/runs", params={"only_active": "False"}).json()["items"]) == 1

    slow = deploy(api, SLOW, "slow")["function_id"]
    created = api.post(f"/functions/{slow}/runs/create", json={}).json()["function_run_id"]
    with api.stream("POST", f"/functions/{slow}/runs/start", json={"workflow_id": slow, "variables": {}}) as r:
        assert r.status_code == 200
    active = wait_for(lambda: len(api.get(f"/functions/{slow}/runs").json()["items"]) == 2 or None, what="2 active")
    assert active
    items = api.get(f"/functions/{slow}/runs", params={"only_active": "True"}).json()["items"]
    assert [r["status"] for r in items] == ["active", "active"]
    assert items[1]["function_run_id"] == created
    assert items[1]["state"] == "created"
    for item in items:
        assert api.delete(f"/functions/{slow}/runs/{item['function_run_id']}").status_code == 200
    assert api.get(f"/functions/{slow}/runs").json()["items"] == []
    states = [r["state"] for r in page_of(api, slow)["items"]]
    assert states == ["stopped", "stopped"]


def test_only_current_token_separates_two_keys_of_one_account(server: LiveServer) -> None:
    second_key = server.create_key("default", name="second")
    with server.client() as first, server.client(second_key) as second:
        fid = deploy(first, QUICK, "quick")["function_id"]
        mine = [run_to_end(first, fid, {"i": i})["function_run_id"] for i in range(2)]
        theirs = run_to_end(second, fid, {"i": 9})["function_run_id"]
        everything = [r["function_run_id"] for r in page_of(first, fid)["items"]]
        assert everything == [theirs, *mine[::-1]]
        assert everything == [r["function_run_id"] for r in page_of(second, fid)["items"]]
        only_mine = page_of(first, fid, only_current_token="True")
        assert [r["function_run_id"] for r in only_mine["items"]] == mine[::-1]
        only_theirs = page_of(second, fid, only_current_token="True", page_size=1)
        assert [r["function_run_id"] for r in only_theirs["items"]] == [theirs]
        assert (only_theirs["has_next"], only_theirs["has_previous"]) == (False, False)


def test_pages_stay_stable_while_new_runs_arrive(api: httpx.Client) -> None:
    fid = deploy(api, QUICK, "quick")["function_id"]
    ids = [run_to_end(api, fid, {"i": i})["function_run_id"] for i in range(4)]
    first = page_of(api, fid, page_size=2)
    pin = first["items"][0]["seq"]
    run_to_end(api, fid, {"i": 99})
    second = page_of(api, fid, page_size=2, page=2, before=pin)
    assert [r["function_run_id"] for r in second["items"]] == ids[:2][::-1]
    assert (second["has_next"], second["has_previous"]) == (False, True)
