"""Plain data: accounts, functions, runs and their events. No I/O here."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any, Literal


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RunState(enum.StrEnum):
    """A run's fine-grained state. `wire_status` maps it onto Notte's three statuses."""

    CREATED = "created"  #: made by runs/create, not started yet (or reported by PATCH from elsewhere)
    QUEUED = "queued"  #: started, waiting for a concurrency slot
    RUNNING = "running"  #: its process is executing `run()`
    SUCCEEDED = "succeeded"  #: `run()` returned
    FAILED = "failed"  #: `run()` raised, variables did not fit, or the process died
    TIMED_OUT = "timed_out"  #: killed at its wall-clock limit
    STOPPED = "stopped"  #: killed on request

    @property
    def is_active(self) -> bool:
        return self in ACTIVE_STATES

    @property
    def wire_status(self) -> str:
        if self.is_active:
            return "active"
        return "closed" if self is RunState.SUCCEEDED else "failed"


ACTIVE_STATES = frozenset({RunState.CREATED, RunState.QUEUED, RunState.RUNNING})
FINAL_STATES = frozenset(set(RunState) - ACTIVE_STATES)
#: A run's status on the wire (Notte's), which several states share.
WireStatus = Literal["active", "closed", "failed"]


def states_with_status(status: WireStatus) -> frozenset[RunState]:
    """The states a wire status stands for (`failed`: failed, timed_out and stopped)."""
    return frozenset(state for state in RunState if state.wire_status == status)


class EventType(enum.StrEnum):
    LOG = "log"
    SESSION_START = "session_start"
    RESULT = "result"


@dataclasses.dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class ApiKey:
    key_id: str
    account_id: str
    name: str
    prefix: str  #: the first characters of the secret, safe to show
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


class Scope(enum.StrEnum):
    """What a run's key may do. A route declares the scopes it needs (api/access.py `requires`); a
    run's key is refused (403) on every route that declares none, an account's key is never."""

    SESSIONS = "sessions"  #: open browser sessions; read, drive and stop the ones it can see
    LIST_SESSIONS = "sessions:list"  #: list the account's sessions
    READ_OWN_RUN = "runs:read-own"  #: read its own run (the `run_id` in the path must be the key's)
    START_RUNS = "runs:start"  #: read the account's (and shared) functions and start runs of them
    #: read the account's own browser data for its sessions (profiles, vaults, personas, stored files):
    #: for routes outside one session; a guest run's key never holds it.
    BROWSER_DATA = "browser-data"


class PrincipalKind(enum.StrEnum):
    ACCOUNT_KEY = "account key"  #: an API key: everything its account may do
    RUN_KEY = "run key"  #: the NOTTE_API_KEY of a run of one of its account's functions
    GUEST_RUN_KEY = "guest run key"  #: the NOTTE_API_KEY of a run of a function shared by another account


#: What each kind of run key may do (an account key may do everything).
RUN_KEY_SCOPES = frozenset(Scope)
GUEST_RUN_KEY_SCOPES = frozenset({Scope.SESSIONS})


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: the account, the key it used, and the run it speaks for (if a run token).
    A guest run (of a function another account shared) sees only the sessions it opened."""

    account_id: str
    key_id: str
    run_id: str | None = None
    guest: bool = False

    @property
    def kind(self) -> PrincipalKind:
        if self.run_id is None:
            return PrincipalKind.ACCOUNT_KEY
        return PrincipalKind.GUEST_RUN_KEY if self.guest else PrincipalKind.RUN_KEY

    @property
    def scopes(self) -> frozenset[Scope]:
        kind = self.kind
        if kind is PrincipalKind.ACCOUNT_KEY:
            return frozenset(Scope)
        return GUEST_RUN_KEY_SCOPES if kind is PrincipalKind.GUEST_RUN_KEY else RUN_KEY_SCOPES

    def sees_session(self, account_id: str, run_id: str | None) -> bool:
        """Whether a session of `account_id`, opened by run `run_id` (if any), is visible to this caller."""
        return account_id == self.account_id and (not self.guest or run_id == self.run_id)


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One parameter of a script's `run`, as Notte's ParameterInfo: type and default are source text."""

    name: str
    type: str | None
    default: str | None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclasses.dataclass(frozen=True)
class FunctionVersion:
    function_id: str
    version: str
    code: str
    parameters: tuple[Parameter, ...]
    restricted: bool
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Function:
    function_id: str
    account_id: str
    name: str | None
    description: str | None
    shared: bool
    latest_version: str
    versions: tuple[str, ...]
    parameters: tuple[Parameter, ...]  #: of the latest version
    created_at: dt.datetime
    updated_at: dt.datetime
    reference_function_id: str | None = None
    timeout_s: float | None = None
    default_runtime: str = "standard"


@dataclasses.dataclass(frozen=True)
class Run:
    run_id: str
    function_id: str
    function_version: str
    account_id: str
    key_id: str
    state: RunState
    variables: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    timeout_s: float | None = None
    session_id: str | None = None
    result_json: str | None = None  #: JSON text of the returned value, or of the error text
    reason: str | None = None  #: why the run ended as it did, when not SUCCEEDED
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    local: bool = False
    origin: str | None = None
    seq: int = 0  #: store-wide creation order; ties on created_at never reorder pages


@dataclasses.dataclass(frozen=True)
class Event:
    """One entry of a run's event log: numbered from 1, in the order they happened."""

    run_id: str
    seq: int
    type: EventType
    message: str
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class NewEvent:
    type: EventType
    message: str


@dataclasses.dataclass(frozen=True)
class SessionRecord:
    """A browser session as the store keeps it: what any server answers for it, and where its
    browser lives (`owner_url`: the process that hosts it; page calls are forwarded there)."""

    session_id: str
    account_id: str
    run_id: str | None
    owner_url: str
    options: dict[str, Any]  #: the start request's options, echoed back
    idle_timeout_min: int
    max_duration_min: int
    created_at: dt.datetime
    last_accessed_at: dt.datetime
    status: str = "active"  #: active | closed | timed_out | error (Notte's statuses)
    close_reason: str | None = None  #: manual | idle_timeout | max_duration | error | unknown
    closed_by: str | None = None  #: what closed it, in words (a stop call, its run ending...)
    closed_at: dt.datetime | None = None
    steps: int = 0

    @property
    def active(self) -> bool:
        return self.status == "active"
