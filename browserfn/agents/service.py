"""Agents: start one on a session, follow it, stop it, export its steps. Each runs as a task of
this process on a session hosted here; it is stored when it starts, after each step and when it
ends (any server answers for it), and watchers (the clients' log WebSocket) are told of each step
and of its end; its notifier, if it has one, is sent its report. Agents a previous life of this
process left running end `failed` at its start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from browserfn.agents import identity, notifier
from browserfn.agents.model import FAILED, STOPPED, SUCCEEDED, Agent
from browserfn.agents.runner import AgentFailed, Runner, failed_step
from browserfn.browser.llm import ModelLayer, require
from browserfn.browser.sessions import Session, SessionManager
from browserfn.config import Settings
from browserfn.errors import Conflict, NotFound
from browserfn.models import Principal
from browserfn.netpolicy import AddressPolicy
from browserfn.personas import PersonaService
from browserfn.store.base import Store
from browserfn.store.ops import agents as stored
from browserfn.vaults import VaultService

log = logging.getLogger(__name__)
RESTARTED = "the server restarted while it ran"
#: A stop waits this long for the agent's task to end (it is cancelled at once).
STOP_WAIT_S = 1.5


class AgentService:
    def __init__(self, settings: Settings, sessions: SessionManager, store: Store) -> None:
        self._settings = settings
        self._sessions = sessions
        self._store = store
        self._agents: dict[str, Agent] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._watchers: dict[str, set[asyncio.Queue[dict[str, Any] | None]]] = {}
        self._closing = False
        #: Why an agent's task was cancelled, when not on request (its session closed).
        self._cancelled_for: dict[str, str] = {}
        self._vaults = VaultService(settings, store)
        self._personas = PersonaService(settings, store, self._vaults)
        self._policy = AddressPolicy(settings.outbound_allowed_hosts)
        #: Notifiers of the agents running here (in memory only: they hold a password).
        self._notifiers: dict[str, notifier.EmailNotifier] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        sessions.on_session_closed(self._session_closed)

    @property
    def layer(self) -> ModelLayer | None:
        return self._sessions.llm

    async def start_service(self) -> None:
        """End what this process's previous life left running; load the model library now rather
        than on the first request that needs it."""
        ended = await self._store.call(stored.end_owned, self._sessions.owner_url, RESTARTED)
        if ended:
            log.warning("ended %d agents left running by this host's previous life", ended)
        if self.layer is not None:
            self.layer.warm_up()

    async def start(
        self, principal: Principal, request: dict[str, Any], notify: notifier.EmailNotifier | None = None
    ) -> Agent:
        """Start an agent on the caller's open session (the request is already checked), with
        the vault and persona it names (the caller's: 404 otherwise), reporting to `notify`."""
        session = await self._sessions.active(principal, request["session_id"])
        who = await identity.resolve(
            self._vaults, self._personas, principal, session, request.get("vault_id"), request.get("persona_id")
        )
        layer = require(self.layer, "an agent")
        model = layer.resolve(request.get("reasoning_model"), "reasoning_model")
        if notify is not None:
            await notifier.check_host(self._policy, notify)
        busy = [a for a in self._agents.values() if a.session_id == session.session_id and a.active]
        if busy:
            raise Conflict(f"session {session.session_id} already runs agent {busy[0].agent_id}: stop it first")
        agent = Agent(
            agent_id=f"agent-{uuid.uuid4()}",
            account_id=principal.account_id,
            session_id=session.session_id,
            run_id=principal.run_id,
            task=request["task"],
            url=request.get("url"),
            response_format=request.get("response_format"),
            model=model,
            max_steps=request["max_steps"],
            session_offset=request.get("session_offset"),
            vault_id=who.vault_id,
            persona_id=who.persona.persona_id if who.persona is not None else None,
        )
        await self._store.call(stored.create, agent, self._sessions.owner_url)
        self._agents[agent.agent_id] = agent
        if notify is not None:
            self._notifiers[agent.agent_id] = notify
        runner = Runner(agent, session, layer, self._settings.agent_answer_retries, self._step_taken, who)
        task = asyncio.create_task(self._run(runner), name=f"agent {agent.agent_id}")
        self._tasks[agent.agent_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(agent.agent_id, None))
        return agent

    async def _run(self, runner: Runner) -> None:
        agent = runner.agent
        try:
            async with asyncio.timeout(self._settings.agent_timeout_s):
                success, answer = await runner.run()
            await self._end(agent, SUCCEEDED if success else FAILED, success, answer, "completed by the model")
        except TimeoutError:
            reason = f"time limit reached ({self._settings.agent_timeout_s:g} s)"
            await self._fail(agent, reason)
        except AgentFailed as exc:
            await self._fail(agent, str(exc))
        except asyncio.CancelledError:
            if reason := self._cancelled_for.pop(agent.agent_id, ""):
                await self._fail(agent, reason)
            elif self._closing:
                await self._end(agent, FAILED, False, "the server shut down", "the server shut down while it ran")
            else:
                await self._end(agent, STOPPED, False, "stopped on request", "stopped on request")
        except Exception as exc:
            log.exception("agent %s failed", agent.agent_id)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            await self._fail(agent, f"the agent failed: {type(exc).__name__}: {first}")

    def _session_closed(self, session: Session) -> None:
        """The agents running on a session that closes end at once, failed, saying why."""
        for agent_id, task in list(self._tasks.items()):
            agent = self._agents.get(agent_id)
            if agent is not None and agent.session_id == session.session_id and agent.active:
                self._cancelled_for[agent_id] = f"its session closed ({session.closed_by or session.close_reason})"
                task.cancel()

    async def _fail(self, agent: Agent, reason: str) -> None:
        await self._step_taken(agent, failed_step(reason))
        await self._end(agent, FAILED, False, reason, reason)

    async def _step_taken(self, agent: Agent, step: dict[str, Any]) -> None:
        agent.steps.append(step)
        await self._store.call(stored.save, agent)
        for queue in self._watchers.get(agent.agent_id, set()):
            queue.put_nowait(step)

    async def _end(self, agent: Agent, state: str, success: bool, answer: str, reason: str) -> None:
        if agent.finish(state, success, answer, reason):
            await self._store.call(stored.save, agent)
            for queue in self._watchers.pop(agent.agent_id, set()):
                queue.put_nowait(None)
            if (notify := self._notifiers.pop(agent.agent_id, None)) is not None:
                delivery = asyncio.create_task(self._notify(notify, agent), name=f"notify {agent.agent_id}")
                self._deliveries.add(delivery)
                delivery.add_done_callback(self._deliveries.discard)

    async def _notify(self, notify: notifier.EmailNotifier, agent: Agent) -> None:
        try:
            await notifier.deliver(self._policy, notify, agent)
        except Exception as exc:  # the agent has ended: the failure is the operator's to see, in the log
            log.warning("agent %s: its report could not be sent: %s: %s", agent.agent_id, type(exc).__name__, exc)

    def running_here(self, agent_id: str) -> bool:
        return agent_id in self._tasks

    async def find(self, principal: Principal, agent_id: str) -> Agent | None:
        """The caller's agent (the live one if it runs here, else as stored); None for an unknown
        one, another account's, or (for a guest run's key) one its run did not start."""
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = await self._store.call(stored.get, principal.account_id, agent_id)
        return agent if agent is not None and principal.sees_session(agent.account_id, agent.run_id) else None

    async def get(self, principal: Principal, agent_id: str) -> Agent:
        """The caller's agent; NotFound otherwise."""
        agent = await self.find(principal, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} not found")
        return agent

    async def list(self, principal: Principal, only_active: bool, offset: int, limit: int) -> list[Agent]:
        """The caller's agents, newest first (those running here as they are now)."""
        found = await self._store.call(stored.listing, principal.account_id, only_active, offset, limit)
        live = [self._agents.get(a.agent_id, a) for a in found]
        return [a for a in live if principal.sees_session(a.account_id, a.run_id)]

    async def stop(self, principal: Principal, agent_id: str) -> Agent:
        """Stop the agent: its task is cancelled (a model call or an action in flight with it)."""
        agent = await self.get(principal, agent_id)
        task = self._tasks.get(agent_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), STOP_WAIT_S)
        await self._end(agent, STOPPED, False, "stopped on request", "stopped on request")
        return agent

    def watch(self, agent: Agent) -> asyncio.Queue[dict[str, Any] | None]:
        """A queue of the agent's next steps, then None when it ends (at once if it has)."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        if agent.active:
            self._watchers.setdefault(agent.agent_id, set()).add(queue)
        else:
            queue.put_nowait(None)
        return queue

    def unwatch(self, agent: Agent, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._watchers.get(agent.agent_id, set()).discard(queue)

    async def close(self) -> None:
        """Server shutdown: running agents end failed, saying so."""
        self._closing = True
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        for agent in self._agents.values():
            await self._end(agent, FAILED, False, "the server shut down", "the server shut down while it ran")
        if self._deliveries:  # reports of agents that just ended: a little time to go out
            await asyncio.wait(self._deliveries, timeout=notifier.SEND_TIMEOUT_S / 3)
