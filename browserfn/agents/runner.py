"""One agent's loop on its session: observe the page, ask the model for the next action (retrying
an invalid answer with what was wrong), execute it, record the step; until the model completes,
`max_steps` steps are taken, the time limit passes, the session closes or a stop cancels it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from browserfn.agents import identity, steps
from browserfn.agents.model import Agent
from browserfn.browser.llm import Caller, LLMUnavailable, ModelCall, ModelLayer
from browserfn.browser.observe import page_actions
from browserfn.browser.scrape import ScrapeOptions, scrape_page
from browserfn.browser.sessions import Session

log = logging.getLogger(__name__)
_MARKDOWN = ScrapeOptions(scrape_links=True, scrape_images=False)


class AgentFailed(Exception):
    """The agent cannot go on (the message is its answer)."""


@dataclasses.dataclass
class Runner:
    agent: Agent
    session: Session
    layer: ModelLayer
    retries: int  #: further attempts after an invalid answer or a failing provider
    on_step: Callable[[Agent, dict[str, Any]], Awaitable[None]]
    who: identity.AgentIdentity = dataclasses.field(default_factory=identity.AgentIdentity)

    @property
    def caller(self) -> Caller:
        a = self.agent
        return Caller(a.account_id, a.run_id, a.session_id, a.agent_id)

    async def run(self) -> tuple[bool, str]:
        """(success, answer) of the task; AgentFailed or cancellation end it otherwise."""
        agent = self.agent
        history: list[str] = []
        if agent.session_offset is not None:
            for n, done in enumerate(self.session.actions[agent.session_offset :]):
                line = steps.history_line(n + 1, done["action"], bool(done["success"]), str(done["message"]), False)
                history.append(line)
        identity.attach(self.who, self.session)
        agent.start_url = await self._current_url()
        if agent.url:
            await self._first_goto(agent.url)
        for number in range(1, agent.max_steps + 1):
            self._check_session()
            started = dt.datetime.now(dt.UTC)
            page = await self._observe()
            calls: list[ModelCall] = []
            decision, attempts = await self._decide(history, page, calls)
            result: dict[str, Any]
            if decision.completed:
                result = {"success": True, "message": "completed"}
            else:
                result = await self._execute(decision.action)
            step = self._step(decision, started, page, result, calls, attempts)
            await self.on_step(agent, step)
            if decision.completed:
                return bool(decision.action["success"]), str(decision.action["answer"])
            history.append(steps.history_line(number, decision.action, bool(result["success"]), str(result["message"])))
        raise AgentFailed(f"the task was not completed within max_steps ({agent.max_steps} steps)")

    def _check_session(self) -> None:
        if not self.session.active or self.session.driver is None:
            raise AgentFailed(f"its session {self.session.session_id} closed ({self.session.close_reason})")

    async def _current_url(self) -> str | None:
        driver = self.session.driver
        page = driver.current() if driver is not None else None
        url = page.url if page is not None else None
        return url if url and url.startswith("http") else None

    async def _first_goto(self, url: str) -> None:
        started = dt.datetime.now(dt.UTC)
        action = {"type": "goto", "url": url}
        result = await self._execute(action)
        decision = steps.Decision(steps.initial_state(), action)
        view = steps.PageView(url, "", "", [])
        await self.on_step(self.agent, self._step(decision, started, view, result, [], 0))
        if not result["success"]:
            raise AgentFailed(f"could not open the start URL: {result['message']}")

    async def _observe(self) -> steps.PageView:
        session = self.session
        async with session.lock:
            self._check_session()
            assert session.driver is not None
            page = await session.driver.page()
            actions = await page_actions(page)
            await session.driver.remember(page, actions)
            markdown = await scrape_page(page, _MARKDOWN)
            view = steps.PageView(page.url, await page.title(), markdown, actions)
        session.touch()
        return view

    async def _decide(
        self, history: list[str], page: steps.PageView, calls: list[ModelCall]
    ) -> tuple[steps.Decision, int]:
        agent = self.agent
        messages = [
            {"role": "system", "content": steps.system_prompt(agent.response_format, self.who.prompt())},
            {"role": "user", "content": self.who.mask(steps.user_prompt(agent.task, history, page))},
        ]
        problem = ""
        for attempt in range(1, self.retries + 2):
            try:
                text = await self.layer.complete(
                    messages, caller=self.caller, purpose="agent", model=agent.model, calls=calls
                )
            except LLMUnavailable as exc:
                problem = str(exc)
                continue
            try:
                return steps.decide(text, page, agent.response_format, self.who.action_types), attempt
            except steps.BadAnswer as exc:
                problem = f"the model's answer is not a valid action: {exc}"
                messages += [
                    {"role": "assistant", "content": text},
                    {"role": "user", "content": f"Your answer is not valid: {exc}. Answer again with one JSON object."},
                ]
        raise AgentFailed(f"{problem} (after {self.retries + 1} attempts)")

    async def _execute(self, action: dict[str, Any]) -> dict[str, Any]:
        if action["type"] == "email_read":
            return await self.who.read_emails()
        session = self.session
        async with session.lock:
            self._check_session()
            assert session.driver is not None
            if session.recorder is not None:
                await session.recorder.settle()
            outcome = await session.driver.execute(action)
            message = self.who.mask(outcome.message)  # what it typed from the vault, e.g. echoed by the page
            session.steps += 1
            session.actions.append({"action": action, "success": outcome.success, "message": message})
            if session.recorder is not None and session.driver is not None:
                session.recorder.capture_soon(session.driver.current())
        session.touch()
        return {"success": outcome.success, "message": message}

    def _step(
        self,
        decision: steps.Decision,
        started: dt.datetime,
        page: steps.PageView,
        result: dict[str, Any],
        calls: list[ModelCall],
        attempts: int,
    ) -> dict[str, Any]:
        """A step as Notte's clients read it (an AgentCompletion: state, action, times), with what
        was observed, what the action did and what the model calls cost."""
        action = {k: v for k, v in decision.action.items() if k != "selector"}
        return {
            "state": decision.state,
            "action": action,
            "selector": decision.action.get("selector"),
            "started_at": started.isoformat(),
            "ended_at": dt.datetime.now(dt.UTC).isoformat(),
            "observation": {"url": page.url, "title": page.title, "actions": len(page.actions)},
            "result": result,
            "attempts": attempts,
            "llm_calls": [call.usage() for call in calls],
        }


def failed_step(reason: str) -> dict[str, Any]:
    """The step that ends an agent which could not go on: a failed completion saying why."""
    now = dt.datetime.now(dt.UTC).isoformat()
    return {
        "state": steps.initial_state("Stop: the agent cannot go on"),
        "action": {"type": "completion", "success": False, "answer": reason},
        "selector": None,
        "started_at": now,
        "ended_at": now,
        "observation": None,
        "result": {"success": False, "message": reason},
        "attempts": 0,
        "llm_calls": [],
    }
