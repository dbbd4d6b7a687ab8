"""Agents through the official clients (Python notte-sdk 1.9.7, the TypeScript notte-sdk) against a
real server, real Chromium and a scripted model (the local chat-completions peer, reached by
LiteLLM over HTTP): a three-step task on the test library (search, open a result, answer in a
response format), AgentFallback, stop, the workflow code replayed with no model, bad answers."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from notte_sdk import NotteClient

from tests.browser.llm_peer import API_KEY, ChatPeer
from tests.browser.site import LocalSite
from tests.live_server import LiveServer
from tests.node_client import run_node
from tests.sdk197_client import run_sdk197

BOOK_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "author": {"type": "string"}, "year": {"type": "integer"}},
    "required": ["title", "author", "year"],
}
DUNE = {"title": "Dune", "author": "Frank Herbert", "year": 1965}


@pytest.fixture(scope="module")
def agent_server(tmp_path_factory: pytest.TempPathFactory, peer: ChatPeer) -> Iterator[LiveServer]:
    env = {
        "BROWSERFN_LLM_MODEL": "openai/peer-model",
        "BROWSERFN_LLM_BASE_URL": peer.base_url,
        "BROWSERFN_LLM_API_KEY": API_KEY,
        "BROWSERFN_LLM_ALLOWED_MODELS": "openai/peer-*",
    }
    live = LiveServer(
        tmp_path_factory.mktemp("agents"), warm_processes=0, extra_args=("--browser-pool-size", "1"), env=env
    )
    yield live.start()
    live.stop()


@pytest.fixture(autouse=True)
def fresh_model(peer: ChatPeer) -> None:
    peer.clear()


def page_of(body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The current URL and the actions (id -> description) an agent's prompt shows the model."""
    prompt = body["messages"][1]["content"]
    url = re.search(r"^Current page: (\S+)$", prompt, re.M)
    listing = prompt.split("Actions of the page:\n", 1)[1].split("\n\nThe page (Markdown):", 1)[0]
    actions = dict(re.findall(r"^(\w+): (.*)$", listing, re.M))
    return (url.group(1) if url else ""), actions


def id_of(actions: dict[str, str], description: str) -> str:
    return next(i for i, d in actions.items() if d == description)


def answer(action: dict[str, Any], goal: str = "") -> str:
    state = {"previous_goal_status": "success", "previous_goal_eval": "as planned", "page_summary": "a page",
             "relevant_interactions": [], "memory": "", "next_goal": goal}  # fmt: skip
    return json.dumps({"state": state, "action": action})


def librarian(body: dict[str, Any]) -> str:
    """A model that does the library task: search 'dune', open the 1965 book, answer with its data."""
    url, actions = page_of(body)
    if url.endswith("/library"):
        field = id_of(actions, "Fill the field 'Search books'")
        return answer({"type": "fill", "id": field, "value": "dune", "press_enter": True}, "search")
    if "/library/search" in url:
        return answer({"type": "click", "id": id_of(actions, "Click 'Dune (1965)' (link)")}, "open the book")
    if url.endswith("/library/book/dune"):
        return answer({"type": "completion", "success": True, "answer": DUNE}, "done")
    return answer({"type": "completion", "success": False, "answer": f"lost at {url}"})


def script_model(peer: ChatPeer, model: Callable[[dict[str, Any]], str], calls: int = 12) -> None:
    peer.reply(*([model] * calls))


def agent_status(server: LiveServer, agent_id: str, key: str | None = None) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/agents/{agent_id}", headers=server.headers(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_python_197_agent_completes_a_three_step_task(
    agent_server: LiveServer, peer: ChatPeer, site: LocalSite
) -> None:
    script_model(peer, librarian)
    got = run_sdk197(
        f"""
        from notte_core.agent_types import AgentCompletion
        from pydantic import BaseModel

        class Book(BaseModel):
            title: str
            author: str
            year: int

        with client.Session() as session:
            session.execute(type="goto", url={f"{site.url}/library"!r})
            agent = client.Agent(session=session, max_steps=6)
            done = agent.run(task="Find the book Dune (1965) in the library; give its title, author and year",
                             response_format=Book)
            listed = [a.agent_id for a in client.agents.list(only_active=False)]
            steps = [AgentCompletion.model_validate(s) for s in agent.status().steps]  # as agent.wait() reads them
            function = agent.workflow.create_function()
            report({{"agent_id": agent.agent_id, "success": done.success, "answer": done.answer,
                    "status": done.status, "listed": listed, "steps": [s.action.type for s in steps],
                    "completed": steps[-1].is_completed(), "function_id": function.function_id}})
        """,
        url=agent_server.url,
        key=agent_server.key,
        timeout_s=300,
    )
    assert (got["success"], got["status"], json.loads(got["answer"])) == (True, "closed", DUNE)
    assert got["listed"][0] == got["agent_id"]
    assert (got["steps"], got["completed"]) == (["fill", "click", "completion"], True)
    function = httpx.get(f"{agent_server.url}/functions/{got['function_id']}", headers=agent_server.headers())
    assert function.status_code == 200, function.text  # the workflow saved as a function (create_function)
    status = agent_status(agent_server, got["agent_id"])
    assert [s["action"]["type"] for s in status["steps"]] == ["fill", "click", "completion"]
    assert [s["observation"]["url"].removeprefix(site.url) for s in status["steps"]] == [
        "/library",
        "/library/search?q=dune",
        "/library/book/dune",
    ]
    assert [s["result"]["success"] for s in status["steps"]] == [True, True, True]
    assert (status["state"], status["reason"], status["reasoning_model"]) == (
        "succeeded",
        "completed by the model",
        "openai/peer-model",  # the client sent its default (gemini/...): the operator's default runs
    )
    calls = [call for step in status["steps"] for call in step["llm_calls"]]
    assert [c["model"] for c in calls] == ["openai/peer-model"] * 3
    assert all(c["tokens_in"] > 200 and c["tokens_out"] > 10 for c in calls)
    assert status["usage"]["llm_calls"] == 3
    assert status["usage"]["tokens_in"] == sum(c["tokens_in"] for c in calls)
    sent = peer.requests[-1]
    assert sent["model"] == "peer-model" and sent["response_format"] == {"type": "json_object"}
    assert '"required": ["title", "author", "year"], "title": "Book"' in sent["messages"][0]["content"]
    assert "By Frank Herbert, first published in 1965." in sent["messages"][1]["content"]
    print("agent step cost (tokens in/out):", [(c["tokens_in"], c["tokens_out"]) for c in calls])


def test_typescript_agent_completes_a_three_step_task(
    agent_server: LiveServer, peer: ChatPeer, site: LocalSite
) -> None:
    script_model(peer, librarian)
    got = run_node(
        f"""
        const {{ z }} = await import("zod");
        const Book = z.object({{ title: z.string(), author: z.string(), year: z.number().int() }});
        const session = client.Session({{}});
        await session.start();
        await session.execute({{ type: "goto", url: {json.dumps(f"{site.url}/library")} }});
        const agent = client.Agent({{ session, max_steps: 6 }});
        const done = await agent.run({{ task: "Find the book Dune (1965); give its title, author and year",
                                        response_format: Book }});
        await session.stop();
        report({{ agent_id: done.agent_id, success: done.success, answer: done.answer, status: done.status,
                  steps: done.steps.length }});
        // The client leaves a 5-minute timer of its log socket running after the agent ends: exit
        // once the report is out rather than wait for it.
        await new Promise((resolve) => setTimeout(resolve, 200));
        process.exit(0);
        """,
        url=agent_server.url,
        key=agent_server.key,
        timeout_s=300,
    )
    assert (got["success"], got["status"], got["answer"], got["steps"]) == (True, "closed", DUNE, 3)
    status = agent_status(agent_server, got["agent_id"])
    assert [s["action"]["type"] for s in status["steps"]] == ["fill", "click", "completion"]


def test_agent_fallback_recovers_a_failing_click(agent_server: LiveServer, peer: ChatPeer, site: LocalSite) -> None:
    script_model(peer, librarian)
    got = run_sdk197(
        f"""
        with client.Session() as session:
            with client.AgentFallback(session, task="Open the page of the book Dune (1965)", max_steps=6) as fb:
                session.execute(type="goto", url={f"{site.url}/library"!r})
                session.execute(type="fill", selector="#q", value="typed-by-the-script")
                session.execute(type="click", selector="#broken", timeout=1000)
                skipped = session.execute(type="click", selector="#nothing")
            report({{"success": fb.success, "invoked": fb.agent_invoked, "answer": fb.agent_response.answer,
                    "failed": [s.message for s in fb.steps if not s.success], "skipped": skipped.message,
                    "agent_id": fb.agent_response.agent_id}})
        """,
        url=agent_server.url,
        key=agent_server.key,
        timeout_s=300,
    )
    assert (got["success"], got["invoked"]) == (True, True)
    assert json.loads(got["answer"]) == DUNE
    assert len(got["failed"]) == 1 and got["failed"][0].startswith("click failed: timeout")
    assert got["skipped"] == "Action skipped because agent fallback has been invoked."
    sent = [r for r in peer.requests if "last action failed with error: click failed" in r["messages"][1]["content"]]
    assert sent, "the agent is told which action failed and why"
    # session_offset: the agent saw the actions done before it in the session, the failed click among them
    assert '{"type": "click", "selector": "#broken"' in sent[0]["messages"][1]["content"]
    assert '{"type": "fill", "selector": "#q"} -> ok' in sent[0]["messages"][1]["content"]
    assert "typed-by-the-script" not in json.dumps(peer.requests)  # what the session typed is not sent


def test_stop_ends_an_agent_within_two_seconds(agent_server: LiveServer, peer: ChatPeer, site: LocalSite) -> None:
    peer.delay(30)  # a model that takes its time
    script_model(peer, librarian)
    with agent_server.client() as api:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        started = api.post("/agents/start", json={"session_id": sid, "task": "anything", "url": f"{site.url}/library"})
        assert started.status_code == 200, started.text
        agent_id = started.json()["agent_id"]
        deadline = time.monotonic() + 60
        while not peer.requests or "anything" not in peer.requests[-1]["messages"][1]["content"]:
            assert time.monotonic() < deadline, "the agent never asked the model"
            time.sleep(0.1)
        began = time.monotonic()
        stopped = api.delete(f"/agents/{agent_id}/stop", params={"session_id": sid})
        took = time.monotonic() - began
        assert stopped.status_code == 200, stopped.text
        assert took < 2.0, f"stop took {took:.2f} s"
        body = stopped.json()
        assert (body["status"], body["state"], body["success"], body["answer"]) == (
            "closed",
            "stopped",
            False,
            "stopped on request",
        )
        assert api.get(f"/sessions/{sid}").json()["status"] == "active"  # the session outlives its agent
        again = api.delete(f"/agents/{agent_id}/stop")
        assert again.status_code == 200 and again.json()["state"] == "stopped"
        api.delete(f"/sessions/{sid}/stop")


def test_closing_its_session_ends_an_agent_failed(agent_server: LiveServer, peer: ChatPeer, site: LocalSite) -> None:
    peer.delay(30)
    script_model(peer, librarian)
    with agent_server.client() as api:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        body = {"session_id": sid, "task": "find Solaris", "url": f"{site.url}/library"}
        agent_id = api.post("/agents/start", json=body).json()["agent_id"]
        deadline = time.monotonic() + 60
        while not any("find Solaris" in r["messages"][1]["content"] for r in peer.requests):
            assert time.monotonic() < deadline, "the agent never asked the model"
            time.sleep(0.1)
        assert api.delete(f"/sessions/{sid}/stop").status_code == 200
        deadline = time.monotonic() + 10  # at once, not after the model's answer (30 s)
        while (status := agent_status(agent_server, agent_id))["status"] == "active":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert (status["status"], status["state"], status["reason"]) == (
        "closed",
        "failed",
        "its session closed (stop requested)",
    )
    assert status["steps"][-1]["action"] == {
        "type": "completion",
        "success": False,
        "answer": "its session closed (stop requested)",
    }


def test_workflow_code_replays_the_steps_with_no_model(
    agent_server: LiveServer, peer: ChatPeer, site: LocalSite
) -> None:
    script_model(peer, librarian)
    with agent_server.client() as api:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/library"})
        agent_id = api.post("/agents/start", json={"session_id": sid, "task": "find Dune"}).json()["agent_id"]
        deadline = time.monotonic() + 120
        while (status := agent_status(agent_server, agent_id))["status"] == "active":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert status["success"] is True, status
        code = api.get(f"/agents/{agent_id}/workflow/code", params={"as_workflow": "true"}).json()
        api.delete(f"/sessions/{sid}/stop")
    assert [a["type"] for a in code["json_actions"]] == ["goto", "fill", "click"]
    assert code["json_actions"][0] == {"type": "goto", "url": f"{site.url}/library"}
    assert all("id" not in a for a in code["json_actions"])  # observe ids are replaced by selectors
    calls_before = len(peer.requests)
    client = NotteClient(api_key=agent_server.key, server_url=agent_server.url)
    with open(agent_server.data_dir / "replay_agent.py", "w") as script:
        script.write(code["python_script"])
    function = client.Function(path=str(agent_server.data_dir / "replay_agent.py"), name="replay_agent")
    result = function.run()
    assert result.status == "closed", result
    assert "By Frank Herbert, first published in 1965." in str(result.result)
    assert len(peer.requests) == calls_before  # no model call


def test_bad_model_answers_are_retried_then_fail_the_step_clearly(
    agent_server: LiveServer, peer: ChatPeer, site: LocalSite
) -> None:
    def element_that_does_not_exist(body: dict[str, Any]) -> str:
        return answer({"type": "click", "id": "B99"})

    peer.reply("Sure! I will click the search button.", answer({"type": "fly"}), element_that_does_not_exist)
    with agent_server.client() as api:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        body = {"session_id": sid, "task": "search", "url": f"{site.url}/library", "max_steps": 3}
        agent_id = api.post("/agents/start", json=body).json()["agent_id"]
        deadline = time.monotonic() + 120
        while (status := agent_status(agent_server, agent_id))["status"] == "active":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        reason = (
            "the model's answer is not a valid action: element id 'B99' is not an action of the current page; "
            "its ids: I1, B1 (after 3 attempts)"
        )
        assert (status["state"], status["success"], status["answer"], status["reason"]) == (
            "failed",
            False,
            reason,
            reason,
        )
        assert [s["action"]["type"] for s in status["steps"]] == ["goto", "completion"]
        retries = peer.requests[-1]["messages"]
        assert [m["role"] for m in retries] == ["system", "user", "assistant", "user", "assistant", "user"]
        assert retries[3]["content"].startswith(
            "Your answer is not valid: the model did not answer with JSON: 'Sure! I will click the search button.'"
        )
        assert retries[5]["content"].startswith("Your answer is not valid: unknown action type 'fly'; use one of:")

        # the server and the session are fine: a new agent on the same session completes
        script_model(peer, librarian)
        again = api.post("/agents/start", json={"session_id": sid, "task": "find Dune", "max_steps": 4})
        assert again.status_code == 200, again.text
        deadline = time.monotonic() + 120
        while (status := agent_status(agent_server, again.json()["agent_id"]))["status"] == "active":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert status["success"] is True and json.loads(status["answer"]) == DUNE
        api.delete(f"/sessions/{sid}/stop")


def test_agents_are_private_and_bad_starts_are_clear(agent_server: LiveServer, peer: ChatPeer) -> None:
    other = agent_server.create_key("someone-else")
    peer.delay(5)
    with agent_server.client() as api, agent_server.client(other) as stranger:
        sid = api.post("/sessions/start", json={}).json()["session_id"]

        def start(**body: Any) -> httpx.Response:
            return api.post("/agents/start", json={"session_id": sid, "task": "t", **body})

        refused = {
            "reasoning_model": ("anthropic/claude-sonnet-4-5", 422, "reasoning_model 'anthropic/claude-sonnet-4-5' "
                                "is not allowed on this server; allowed: openai/peer-model, openai/peer-*"),
            "vault_id": ("v1", 404, "vault v1 not found"),
            "persona_id": ("persona_1", 404, "persona persona_1 not found"),
            "max_steps": (0, 422, None),
            "response_format": ({"type": "nonsense"}, 422, None),
            "colour": ("red", 422, None),
        }  # fmt: skip
        for field, (value, code, message) in refused.items():
            response = start(**{field: value})
            assert response.status_code == code, (field, response.text)
            assert message is None or response.json()["message"] == message
        assert stranger.post("/agents/start", json={"session_id": sid, "task": "t"}).status_code == 404
        assert start(reasoning_model="openai/peer-model-2").status_code == 200  # allowed by pattern
        agent_id = api.get("/agents", params={"only_active": "true"}).json()["items"][0]["agent_id"]
        assert start().status_code == 409  # one agent per session at a time
        for path in (f"/agents/{agent_id}", f"/agents/{agent_id}/workflow/code"):
            assert stranger.get(path).status_code == 404
        assert stranger.delete(f"/agents/{agent_id}/stop").status_code == 404
        assert stranger.get("/agents").json()["items"] == []
        assert api.get("/agents/agent-unknown").status_code == 404
        assert api.delete(f"/agents/{agent_id}/stop").json()["state"] == "stopped"
        api.delete(f"/sessions/{sid}/stop")


def test_agents_and_model_calls_are_stored_and_a_restart_ends_a_running_agent_failed(
    agent_server: LiveServer, peer: ChatPeer, site: LocalSite
) -> None:
    """Last in this module: it kills the module's server (and starts it again)."""
    script_model(peer, librarian)
    with agent_server.client() as api:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        body = {"session_id": sid, "task": "find Dune", "url": f"{site.url}/library"}
        done_id = api.post("/agents/start", json=body).json()["agent_id"]
        deadline = time.monotonic() + 120
        while agent_status(agent_server, done_id)["status"] == "active":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        peer.delay(60)
        running_id = api.post("/agents/start", json={"session_id": sid, "task": "find Solaris"}).json()["agent_id"]
        while not any("find Solaris" in r["messages"][1]["content"] for r in peer.requests):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finished = agent_status(agent_server, done_id)
    agent_server.kill()
    peer.clear()
    agent_server.start()
    assert agent_status(agent_server, done_id) == finished  # as it was, from the store
    ended = agent_status(agent_server, running_id)
    assert (ended["status"], ended["state"], ended["success"], ended["reason"]) == (
        "closed",
        "failed",
        False,
        "the server restarted while it ran",
    )
    with sqlite3.connect(agent_server.data_dir / "browserfn.sqlite3") as db:
        kept = db.execute(
            "SELECT model, purpose, session_id, tokens_in, tokens_out, ok FROM model_calls"
            " WHERE agent_id = ? ORDER BY seq",
            (done_id,),
        ).fetchall()
    steps_calls = [c for s in finished["steps"] for c in s["llm_calls"]]
    assert [(m, p, s, i, o, ok) for m, p, s, i, o, ok in kept] == [
        ("openai/peer-model", "agent", sid, c["tokens_in"], c["tokens_out"], 1) for c in steps_calls
    ]
