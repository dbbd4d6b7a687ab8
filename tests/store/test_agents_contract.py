"""Agents and model-call records, on every backend: an agent reads back as written (steps, answer,
JSON response format with NUL and non-ASCII), per account, newest first; it is ended once; the
agents a host left running end failed at its restart; model calls are kept per account, run and
session."""

from __future__ import annotations

import dataclasses

from browserfn.agents.model import FAILED, RUNNING, SUCCEEDED, Agent
from browserfn.browser.llm import ModelCall
from browserfn.models import utcnow
from browserfn.store.base import Store
from browserfn.store.ops import agents, model_calls

HOST_A = "http://10.0.0.1:8001"
HOST_B = "http://10.0.0.2:8001"
SCHEMA = {"type": "object", "properties": {"title\u0000é": {"type": "string"}}}


def _agent(agent_id: str, account_id: str = "acme") -> Agent:
    return Agent(agent_id, account_id, "session-1", "run-1", "find \u0000 Dune é", None, SCHEMA, "openai/m", 7, 2)


async def test_an_agent_reads_back_as_written_and_ends_once(store: Store) -> None:
    agent = _agent("a1")
    await store.call(agents.create, agent, HOST_A)
    assert await store.call(agents.get, "acme", "a1") == agent
    assert await store.call(agents.get, "other", "a1") is None  # another account's: not found

    agent.start_url = "http://site/"
    agent.steps.append({"action": {"type": "click", "id": "B1"}, "result": {"success": True, "message": "\u0000"}})
    await store.call(agents.save, agent)
    assert await store.call(agents.get, "acme", "a1") == agent
    assert agent.finish(SUCCEEDED, True, '{"title": "Dune"}', "completed by the model")
    await store.call(agents.save, agent)
    ended = await store.call(agents.get, "acme", "a1")
    assert ended == agent and ended is not None and not ended.active and ended.closed_at is not None

    late = dataclasses.replace(agent, state=RUNNING, answer="rewritten")
    await store.call(agents.save, late)  # an ended agent is not written again
    assert await store.call(agents.get, "acme", "a1") == agent


async def test_listing_is_per_account_newest_first(store: Store) -> None:
    for agent_id in ("a1", "a2", "a3"):
        await store.call(agents.create, _agent(agent_id), HOST_A)
    await store.call(agents.create, _agent("b1", "other"), HOST_A)
    done = _agent("a2")
    done.finish(FAILED, False, "no", "no")
    await store.call(agents.save, done)
    every = await store.call(agents.listing, "acme", False, 0, 10)
    assert [a.agent_id for a in every] == ["a3", "a2", "a1"]
    assert [a.agent_id for a in await store.call(agents.listing, "acme", True, 0, 10)] == ["a3", "a1"]
    assert [a.agent_id for a in await store.call(agents.listing, "acme", False, 1, 1)] == ["a2"]


async def test_a_restart_ends_the_agents_its_host_left_running(store: Store) -> None:
    await store.call(agents.create, _agent("a1"), HOST_A)
    await store.call(agents.create, _agent("a2"), HOST_B)
    assert await store.call(agents.end_owned, HOST_A, "the server restarted while it ran") == 1
    ended = await store.call(agents.get, "acme", "a1")
    assert ended is not None
    assert (ended.state, ended.success, ended.answer, ended.reason, ended.active) == (
        FAILED, False, "the server restarted while it ran", "the server restarted while it ran", False,
    )  # fmt: skip
    other = await store.call(agents.get, "acme", "a2")
    assert other is not None and other.active


async def test_model_calls_are_kept_per_account_run_and_session(store: Store) -> None:
    def call(account: str, run: str | None, session: str | None, tokens_in: int) -> ModelCall:
        error = None if tokens_in else "APIConnectionError: \u0000 refused"
        return ModelCall(account, run, session, None, "scrape", "openai/m", tokens_in, 5, 120, not error, error,
                         utcnow())  # fmt: skip

    written = [call("acme", "r1", "s1", 100), call("acme", None, "s2", 0), call("other", "r1", "s1", 7)]
    for c in written:
        await store.call(model_calls.record, c)
    assert await store.call(model_calls.of_account, "acme") == [written[1], written[0]]
    assert await store.call(model_calls.of_account, "acme", run_id="r1") == [written[0]]
    assert await store.call(model_calls.of_account, "acme", session_id="s2") == [written[1]]
    assert await store.call(model_calls.of_account, "nobody") == []
