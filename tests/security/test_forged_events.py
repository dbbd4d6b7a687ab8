"""A run's code can write anything on its events pipe: forged messages (an `error` object, a
non-string value, an `exit`, a list, bytes that are not JSON) never become a run's result or
reason of the wrong type; they are kept as log text, and the run's real result counts."""

from __future__ import annotations

import httpx

from tests.security.helpers import deploy, run

FORGER = """
import os, sys
def run():
    fd = next(m._EVENTS.fd for m in list(sys.modules.values()) if hasattr(m, "_EVENTS"))
    for line in (
        b'{"type": "result", "ok": false, "error": {"forged": [1, 2]}}',
        b'{"type": "result", "ok": true, "value_json": {"not": "text"}}',
        b'{"type": "exit", "code": {"x": 1}, "signal": [9]}',
        b'{"type": "log", "line": 42}',
        b'[1, 2, 3]',
        b'not json at all',
    ):
        os.write(fd, line + b"\\n")
    return {"real": True}
"""

FORGED_FAILURE = """
import os, sys
def run():
    fd = next(m._EVENTS.fd for m in list(sys.modules.values()) if hasattr(m, "_EVENTS"))
    os.write(fd, b'{"type": "result", "ok": false, "error": "forged but well formed"}\\n')
    return "never seen"
"""


def test_forged_messages_are_kept_as_text_and_the_real_result_counts(api: httpx.Client) -> None:
    record = run(api, deploy(api, FORGER, name="forger"))
    assert (record["state"], record["reason"]) == ("succeeded", None), record
    assert httpx.Response(200, content=record["result"]).json() == {"real": True}
    logs = "\n".join(str(line) for line in record.get("logs") or [])
    assert '"forged": [1, 2]' in logs and "not json at all" in logs, logs


def test_a_well_formed_forged_error_is_a_string_reason(api: httpx.Client) -> None:
    record = run(api, deploy(api, FORGED_FAILURE, name="forged-failure"))
    assert (record["state"], record["reason"], record["result"]) == (
        "failed",
        "forged but well formed",
        "forged but well formed",
    ), record
