"""curl-level tests of the two seed endpoints: `POST /functions/{id}/runs/start` and
`GET /functions/{id}/runs`, byte for byte where the SDK reads bytes."""

from __future__ import annotations

import json

import httpx

from tests.api.helpers import assert_error, frame, get_run, parse_log, sse_events, wait_for
from tests.conftest import deploy
from tests.live_server import LiveServer

GREET = """\
def run(name: str):
    print("hello", name)
    print("bye", name)
    return {"greeting": f"hi {name}", "n": 1}
"""

TICKS = """\
import time


def run(count: int = 8, pause: float = 0.3):
    for i in range(count):
        print(f"tick {i}")
        time.sleep(pause)
    return count
"""


def test_start_streams_sse_frames_byte_for_byte(server: LiveServer) -> None:
    with server.client() as api:
        fid = deploy(api, GREET, "greet")["function_id"]
    # curl: only the x-notte-api-key header, as the seed's OpenAPI specifies it.
    response = httpx.post(
        f"{server.url}/functions/{fid}/runs/start",
        headers={"x-notte-api-key": server.key, "Content-Type": "application/json"},
        content=json.dumps({"workflow_id": fid, "variables": {"name": "ada"}}),
        timeout=60,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.content)
    assert [seq for seq, _ in events] == [1, 2, 3]
    (_, first), (_, second), (_, result) = events
    assert [first["type"], second["type"], result["type"]] == ["log", "log", "result"]
    assert parse_log(first["message"]) == ("INFO", "user_script", "hello ada")
    assert parse_log(second["message"]) == ("INFO", "user_script", "bye ada")
    # The result message is a JSON *string* holding the FunctionRunResponse.
    assert isinstance(result["message"], str)
    run_id = json.loads(result["message"])["function_run_id"]
    expected_result = {
        "function_id": fid,
        "workflow_id": fid,
        "function_run_id": run_id,
        "workflow_run_id": run_id,
        "session_id": None,
        "result": {"greeting": "hi ada", "n": 1},
        "status": "closed",
        "state": "succeeded",
    }
    assert json.loads(result["message"]) == expected_result
    expected = (
        frame(1, {"type": "log", "message": first["message"]})
        + frame(2, {"type": "log", "message": second["message"]})
        + frame(3, {"type": "result", "message": json.dumps(expected_result, ensure_ascii=False)})
    )
    assert response.content == expected
    assert b"data: {" in response.content and b"data:  " not in response.content


def test_start_without_streaming_answers_the_final_run(server: LiveServer) -> None:
    with server.client() as api:
        fid = deploy(api, GREET, "greet")["function_id"]
        response = api.post(
            f"/functions/{fid}/runs/start", json={"function_id": fid, "variables": {"name": "bo"}, "stream": False}
        )
        assert response.status_code == 200
        body = response.json()
        run_id = body["function_run_id"]
        assert body == {
            "function_id": fid,
            "workflow_id": fid,
            "function_run_id": run_id,
            "workflow_run_id": run_id,
            "session_id": None,
            "result": {"greeting": "hi bo", "n": 1},
            "status": "closed",
            "state": "succeeded",
        }
        run = get_run(api, fid, run_id)
        assert run["result"] == '{"greeting": "hi bo", "n": 1}'
        assert [parse_log(line)[2] for line in run["logs"]] == ["hello bo", "bye bo"]


def test_start_accepts_either_header_and_either_id_spelling(server: LiveServer) -> None:
    with server.client() as api:
        fid = deploy(api, GREET, "greet")["function_id"]
    headers_options = [{"x-notte-api-key": server.key}, {"Authorization": f"Bearer {server.key}"}]
    for headers in headers_options:
        for id_field in ("workflow_id", "function_id"):
            response = httpx.post(
                f"{server.url}/functions/{fid}/runs/start",
                headers=headers,
                json={id_field: fid, "variables": {"name": id_field}, "stream": False},
                timeout=60,
            )
            assert response.status_code == 200, response.text
            assert (response.json()["status"], response.json()["result"]) == (
                "closed",
                {"greeting": f"hi {id_field}", "n": 1},
            )


def test_start_refuses_unknown_fields_and_mismatched_ids(api: httpx.Client) -> None:
    fid = deploy(api, GREET, "greet")["function_id"]
    unknown = api.post(f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {}, "colour": "red"})
    body = assert_error(unknown, 422, "invalid request: colour: Extra inputs are not permitted")
    assert body["detail"] == [
        {"loc": ["body", "colour"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
    ]
    no_id = api.post(f"/functions/{fid}/runs/start", json={"variables": {}})
    assert_error(no_id, 422, "workflow_id (or function_id) is required: the ID of the function to run")
    no_variables = api.post(f"/functions/{fid}/runs/start", json={"workflow_id": fid})
    assert_error(no_variables, 422, "invalid request: variables: Field required")
    other = api.post(f"/functions/{fid}/runs/start", json={"workflow_id": "other", "variables": {}})
    assert_error(other, 422, f"body names function other but the path names {fid}")


def test_reattach_with_last_event_id_gets_the_rest_once_and_disconnect_does_not_stop(api: httpx.Client) -> None:
    fid = deploy(api, TICKS, "ticks")["function_id"]
    seen: list[tuple[int, dict[str, object]]] = []
    with api.stream(
        "POST", f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {"count": 8, "pause": 0.5}}
    ) as response:
        assert response.status_code == 200
        buffer = b""
        for chunk in response.iter_bytes():
            buffer += chunk
            if buffer.count(b"\n\n") >= 2:
                break
    # The client went away after two events; the run goes on.
    seen = sse_events(buffer[: buffer.index(b"\n\n", buffer.index(b"\n\n") + 2) + 2])
    assert [seq for seq, _ in seen] == [1, 2]
    runs = api.get(f"/functions/{fid}/runs").json()["items"]
    assert [r["status"] for r in runs] == ["active"]
    run_id = runs[0]["function_run_id"]

    rest = api.get(f"/functions/{fid}/runs/{run_id}/stream", headers={"Last-Event-ID": "2"})
    assert rest.status_code == 200
    rest_events = sse_events(rest.content)
    assert [seq for seq, _ in rest_events] == list(range(3, 10))
    assert [parse_log(str(e["message"]))[2] for _, e in seen + rest_events[:-1]] == [f"tick {i}" for i in range(8)]
    assert rest_events[-1][1]["type"] == "result"
    assert json.loads(str(rest_events[-1][1]["message"]))["result"] == 8

    # From the start, the whole event log; and the run finished on its own.
    whole = sse_events(api.get(f"/functions/{fid}/runs/{run_id}/stream").content)
    assert whole == seen + rest_events
    after = sse_events(api.get(f"/functions/{fid}/runs/{run_id}/stream", params={"after": 8}).content)
    assert after == rest_events[-1:]
    # After the result there is nothing more: the stream ends at once, empty.
    for resume in ({"params": {"after": 9}}, {"headers": {"Last-Event-ID": "9"}}):
        done = api.get(f"/functions/{fid}/runs/{run_id}/stream", timeout=10, **resume)
        assert (done.status_code, done.content) == (200, b"")
    assert get_run(api, fid, run_id)["status"] == "closed"


def test_reattach_to_a_running_run_follows_it_live(api: httpx.Client) -> None:
    fid = deploy(api, TICKS, "ticks")["function_id"]
    created = api.post(f"/functions/{fid}/runs/create", json={}).json()
    run_id = created["function_run_id"]
    started = api.post(
        f"/functions/{fid}/runs/{run_id}",
        json={"workflow_id": fid, "workflow_run_id": run_id, "variables": {"count": 4, "pause": 0.4}},
        headers={"x-notte-api-key": api.headers["Authorization"].split()[1]},
    )
    assert started.status_code == 200
    first = sse_events(started.content)
    wait_for(lambda: get_run(api, fid, run_id)["status"] == "closed", what="run closed")
    assert sse_events(api.get(f"/functions/{fid}/runs/{run_id}/stream").content) == first
    bad = api.get(f"/functions/{fid}/runs/{run_id}/stream", headers={"Last-Event-ID": "two"})
    assert_error(bad, 422, "Last-Event-ID must be the id of an event (a whole number)")


def test_list_runs_without_and_with_trailing_slash(api: httpx.Client) -> None:
    fid = deploy(api, GREET, "greet")["function_id"]
    run = api.post(
        f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {"name": "x"}, "stream": False}
    )
    run_id = run.json()["function_run_id"]
    for path in (f"/functions/{fid}/runs", f"/functions/{fid}/runs/"):
        assert api.get(path).json() == {
            "items": [],
            "page": 1,
            "page_size": 10,
            "has_next": False,
            "has_previous": False,
        }
        listed = api.get(path, params={"only_active": "False"})
        assert listed.status_code == 200
        body = listed.json()
        assert {k: body[k] for k in ("page", "page_size", "has_next", "has_previous")} == {
            "page": 1,
            "page_size": 10,
            "has_next": False,
            "has_previous": False,
        }
        [item] = body["items"]
        full = get_run(api, fid, run_id)
        del full["logs"]
        assert item == {**full, "seq": item["seq"]}
        assert (item["function_run_id"], item["workflow_run_id"], item["status"]) == (run_id, run_id, "closed")


def test_non_ascii_text_and_multiline_messages_frame_cleanly(api: httpx.Client) -> None:
    code = """\
    from loguru import logger


    def run():
        print("héllo ✓")
        logger.info("two\\nlines in one record")
        return {"日本": "ü"}
    """
    fid = deploy(api, code, "unicode")["function_id"]
    response = api.post(f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {}})
    assert "héllo ✓".encode() in response.content  # UTF-8, not \\u escapes
    events = sse_events(response.content)
    assert [parse_log(str(e["message"]))[2] for _, e in events[:2]] == ["héllo ✓", "two\nlines in one record"]
    assert json.loads(str(events[2][1]["message"]))["result"] == {"日本": "ü"}
