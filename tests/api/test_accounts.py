"""Accounts: another account's functions and runs do not exist for you (404); a shared function
may be got, run and forked by others, never changed or deleted by them (403)."""

from __future__ import annotations

import httpx

from tests.api.helpers import assert_error, function_calls, get_run, run_calls, run_to_end
from tests.conftest import deploy
from tests.live_server import LiveServer

CODE = "def run(name: str = 'x'):\n    return 'hi ' + name\n"


def test_another_accounts_functions_and_runs_are_404(server: LiveServer) -> None:
    other_key = server.create_key("someone-else")
    with server.client() as mine, server.client(other_key) as theirs:
        fid = deploy(mine, CODE, "private")["function_id"]
        run_id = run_to_end(mine, fid)["function_run_id"]
        not_found = f"function {fid} not found"
        for method, path, kwargs in function_calls(fid):
            assert_error(theirs.request(method, path, **kwargs), 404, not_found)
        run_not_found = f"run {run_id} of function {fid} not found"
        for method, path in run_calls(fid, run_id):
            assert_error(theirs.request(method, path), 404, run_not_found)
        assert fid not in [
            f["function_id"] for f in theirs.get("/functions/", params={"page_size": 100}).json()["items"]
        ]
        # Listing its runs answers as for a function that does not exist (Notte's empty page).
        for function_id in (fid, "no-such-function"):
            listed = theirs.get(f"/functions/{function_id}/runs", params={"only_active": "false"})
            assert listed.status_code == 200
            assert listed.json() == {"items": [], "page": 1, "page_size": 10, "has_next": False, "has_previous": False}
        # Untouched for its owner.
        assert mine.get(f"/functions/{fid}").json()["name"] == "private"
        assert get_run(mine, fid, run_id)["status"] == "closed"


def test_a_shared_function_can_be_got_run_and_forked_but_not_changed(server: LiveServer) -> None:
    other_key = server.create_key("borrower")
    with server.client() as owner, server.client(other_key) as borrower:
        shared = deploy(owner, CODE, "shared", shared="True")
        assert shared["shared"] is True
        fid = shared["function_id"]

        got = borrower.get(f"/functions/{fid}")
        assert got.status_code == 200
        assert {k: v for k, v in got.json().items() if k != "url"} == shared | {"updated_at": got.json()["updated_at"]}
        assert httpx.get(got.json()["url"]).text == CODE

        ran = run_to_end(borrower, fid, {"name": "borrower"})
        assert (ran["status"], ran["result"]) == ("closed", "hi borrower")
        # The run is the borrower's: visible to them, not to the owner.
        assert get_run(borrower, fid, ran["function_run_id"])["result"] == "hi borrower"
        listed = borrower.get(f"/functions/{fid}/runs", params={"only_active": "False"}).json()["items"]
        assert [r["function_run_id"] for r in listed] == [ran["function_run_id"]]
        assert owner.get(f"/functions/{fid}/runs", params={"only_active": "False"}).json()["items"] == []

        forked = borrower.post(f"/functions/{fid}/fork")
        assert forked.status_code == 200
        copy = forked.json()
        assert (copy["reference_workflow_id"], copy["shared"], copy["name"]) == (fid, False, "shared")
        assert borrower.patch(f"/functions/{copy['function_id']}", json={"name": "my copy"}).json()["name"] == "my copy"
        assert_error(owner.get(f"/functions/{copy['function_id']}"), 404, f"function {copy['function_id']} not found")

        forbidden = f"function {fid} is shared with you: you may run or fork it, not change it"
        assert_error(borrower.post(f"/functions/{fid}", files={"file": ("f.py", CODE.encode())}), 403, forbidden)
        assert_error(borrower.patch(f"/functions/{fid}", json={"name": "taken"}), 403, forbidden)
        assert_error(borrower.delete(f"/functions/{fid}"), 403, forbidden)
        assert owner.get(f"/functions/{fid}").json()["versions"] == ["1"]

        # Unshared again: gone for the borrower.
        assert owner.patch(f"/functions/{fid}", json={"shared": False}).json()["shared"] is False
        assert_error(borrower.get(f"/functions/{fid}"), 404, f"function {fid} not found")
