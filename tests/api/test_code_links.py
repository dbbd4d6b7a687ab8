"""A function's code link (`url` of GET /functions/{id}) is signed, expires after an hour, and is
served only while whoever got it can still see the function: unshared, another account's link stops."""

from __future__ import annotations

import sqlite3
import time
import urllib.parse
import uuid

import httpx

from browserfn import tokens
from tests.api.helpers import assert_error
from tests.conftest import deploy
from tests.live_server import LiveServer

CODE = "def run():\n    return 'code'\n"
GONE = "no such code link (it is wrong or expired, or the function is no longer shared)"


def _query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def _with(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.urlencode(_query(url) | changes)
    return urllib.parse.urlunsplit(parts._replace(query=query))


def test_a_code_link_stops_working_for_others_once_the_function_is_unshared(server: LiveServer) -> None:
    tag = uuid.uuid4().hex[:8]
    with (
        server.client(server.create_key(f"author-{tag}")) as author,
        server.client(server.create_key(f"reader-{tag}")) as reader,
    ):
        fid = deploy(author, CODE, "linked", shared="True")["function_id"]
        theirs, own = reader.get(f"/functions/{fid}").json()["url"], author.get(f"/functions/{fid}").json()["url"]
        assert httpx.get(theirs).text == CODE and httpx.get(own).text == CODE
        assert author.patch(f"/functions/{fid}", json={"shared": False}).json()["shared"] is False
        assert_error(httpx.get(theirs), 404, GONE)
        assert httpx.get(own).text == CODE  # the author's own link lives on
        # Claiming to be the owner breaks the signature.
        assert_error(httpx.get(_with(theirs, access="owner")), 404, GONE)
        # Shared again: the same link works again while it has not expired.
        assert author.patch(f"/functions/{fid}", json={"shared": True}).json()["shared"] is True
        assert httpx.get(theirs).text == CODE


def test_a_code_link_expires_after_an_hour(server: LiveServer, api: httpx.Client) -> None:
    fid = deploy(api, CODE, "expiring")["function_id"]
    url = api.get(f"/functions/{fid}").json()["url"]
    expires = int(_query(url)["expires"])
    assert time.time() + 3500 < expires <= time.time() + 3600
    # A later expiry than signed is refused...
    assert_error(httpx.get(_with(url, expires=str(expires + 3600))), 404, GONE)
    # ...and a link signed with the server's own secret is refused once its time has passed.
    with sqlite3.connect(server.data_dir / "browserfn.sqlite3") as db:
        secret = bytes(db.execute("SELECT value FROM server_secrets WHERE name = 'links'").fetchone()[0])

    def signed(at: int) -> str:
        signature = tokens.sign(secret, "code", fid, "1", "owner", str(at))
        return _with(url, expires=str(at), signature=signature)

    assert httpx.get(signed(int(time.time()) + 60)).text == CODE
    assert_error(httpx.get(signed(int(time.time()) - 1)), 404, GONE)
