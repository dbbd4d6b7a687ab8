"""Settings: read once at start-up and passed down; never a module-level global."""

from __future__ import annotations

import dataclasses
import os
import socket
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8000
DEFAULT_WORKER_PORT = 8001
ENV_PREFIX = "BROWSERFN_"
_EVERY_ADDRESS = ("0.0.0.0", "::", "")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything an operator can tune. Each field carries its unit in its name."""

    data_dir: Path = Path("data")
    #: PostgreSQL URL of the scale-out mode; None means the embedded SQLite store in data_dir.
    database_url: str | None = None
    #: In the scale-out mode, whether this process also executes runs (`serve --no-worker` says no).
    run_worker: bool = True
    #: Runs one worker process executes at the same time (scale-out mode).
    worker_concurrency: int = 8
    #: On SIGTERM, how long a worker lets running runs finish before stopping them.
    worker_grace_s: float = 30.0
    #: How often a worker proves it is alive.
    worker_heartbeat_s: float = 2.0
    #: A worker silent this long is dead: its runs end failed.
    worker_stalled_s: float = 10.0
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    #: URL clients use to reach this server (the base of the CDP and replay links it gives); derived from host/port
    #: if unset.
    public_url: str | None = None
    #: URL at which this process's runs and the other browserfn processes reach it directly (calls for the browser
    #: sessions it hosts are relayed there); derived from host/port if unset. Unique per process.
    internal_url: str | None = None
    #: Port `browserfn worker` listens on: its runs, and API servers relaying calls for the sessions it hosts,
    #: reach it there.
    worker_port: int = DEFAULT_WORKER_PORT
    #: Wall-clock limit of one run unless the function or the start request says otherwise.
    run_timeout_s: float = 600.0
    #: Upper bound a caller may ask for with `timeout` on start or on a function.
    max_run_timeout_s: float = 6 * 3600.0
    #: Runs of one account executing at the same time; more wait in the queue.
    account_concurrency: int = 4
    #: Runs of one account waiting in the queue; a start beyond it answers 429.
    account_queue_limit: int = 100
    #: Largest accepted script, in bytes (a larger upload is refused with 422).
    max_script_bytes: int = 1024 * 1024
    #: Largest accepted request body, in bytes (413 beyond).
    max_body_bytes: int = 8 * 1024 * 1024
    #: Grace between asking a run's process tree to stop and killing it.
    #: Interval of SSE keep-alive comments while a run is quiet.
    sse_keepalive_s: float = 15.0
    #: Run processes kept forked, confined and waiting for a job (0: each run is forked when it starts).
    warm_processes: int = 2
    #: Modules a warm process imports before it is handed a run.
    warm_imports: tuple[str, ...] = ("loguru", "requests", "pydantic", "notte_sdk")
    #: Bytes of log output one run may produce before further lines are dropped.
    max_log_bytes: int = 16 * 1024 * 1024
    #: Runs created with runs/create but never started are failed after this long.
    unstarted_run_ttl_s: float = 3600.0
    #: Memory of one run's process tree (a cgroup where writable, else RLIMIT_DATA per process).
    run_memory_limit_bytes: int = 2 * 1024**3
    #: CPU seconds each process of a run may use (RLIMIT_CPU); the wall-clock limit is run_timeout_s.
    run_cpu_limit_s: int = 3600
    #: Processes and threads one run may have at once (RLIMIT_NPROC of its own uid).
    run_max_processes: int = 512
    #: Open files per process of a run (RLIMIT_NOFILE).
    run_max_open_files: int = 4096
    #: Largest file a run may write (RLIMIT_FSIZE).
    run_max_file_bytes: int = 1024**3
    #: Output (logs and result) after which a run is killed; stored logs stop at max_log_bytes.
    run_max_output_bytes: int = 64 * 1024**2
    #: Requests per second one API key may make (burst: twice that); 0 disables rate limiting.
    rate_limit_per_s: float = 50.0
    #: Deepest nesting of a JSON request body (variables included); deeper answers 422.
    max_json_depth: int = 32
    #: Interval between a scheduler's looks at the schedules (a tick fires at most this late).
    schedule_poll_s: float = 0.5
    #: A tick missed by more than this (the server was down) is not fired late.
    schedule_misfire_grace_s: float = 60.0
    #: Attempts of one webhook delivery before it is recorded failed.
    webhook_max_attempts: int = 6
    #: Wait after a webhook delivery's first failed attempt; doubles after each further one.
    webhook_backoff_base_s: float = 1.0
    #: Longest wait between two attempts of one webhook delivery.
    webhook_backoff_max_s: float = 600.0
    #: Time a webhook receiver has to answer one POST.
    webhook_timeout_s: float = 10.0
    #: Interval between looks for due webhook deliveries (an ended run wakes it at once).
    webhook_poll_s: float = 1.0
    #: Hosts (names as URLs give them, IP addresses or CIDR networks, comma-separated) that webhooks and
    #: callback_url may reach although they are loopback, private, link-local or this server's own.
    outbound_allowed_hosts: tuple[str, ...] = ()
    #: The Chromium binary sessions run (Debian's by default; any Chromium works).
    chromium_path: str = "/usr/bin/chromium"
    #: Chromium processes launched ahead of demand, so a session start pays no browser launch.
    browser_pool_size: int = 2
    #: Seconds an account's browser process (which holds a context per session: account_browsers.py) is
    #: kept after its last session closed, so the account's next session pays no launch.
    browser_account_idle_s: float = 60.0
    #: Sessions open at once on this server; a start beyond answers 429.
    max_sessions: int = 16
    #: Sessions one account may have open at once on this server (its runs' included); a start beyond answers 429,
    #: so one account cannot take every browser of `max_sessions`.
    account_max_sessions: int = 8
    #: Seconds a Chromium may take to open its DevTools endpoint before the launch is failed.
    browser_launch_timeout_s: float = 20.0
    #: A session with no API or CDP traffic for this long is closed (unless the start asks otherwise).
    session_idle_timeout_min: int = 3
    #: Hard wall-clock limit of a session (unless the start asks for less).
    session_max_duration_min: int = 15
    #: Seconds in one minute of idle_timeout_minutes and max_duration_minutes (Notte's whole minutes); only
    #: tests lower it, to see sessions time out in seconds.
    session_timeout_unit_s: float = 60.0
    #: Interval between replay screenshots while a session is open (0 records only after actions).
    replay_interval_s: float = 2.0
    #: ffmpeg binary (path or name on PATH) that makes a closed session's MP4 replay; empty: screenshots only.
    ffmpeg_path: str = "ffmpeg"
    #: Where session files (uploads, captured downloads) are kept; unset: <data_dir>/files. In scale-out mode a
    #: directory every server reaches (a network file system) makes every file readable from any server;
    #: otherwise a session's files stay on its host's disk and calls for them are relayed there.
    files_dir: Path | None = None
    #: Bytes of files (uploads and downloads, all sessions) one account may keep; beyond, 413.
    files_quota_bytes: int = 1024**3
    #: Largest single file, uploaded or downloaded (an upload is also bounded by max_body_bytes).
    max_file_bytes: int = 256 * 1024**2
    #: How long a file is kept after it was added (its expires_at, 7 days as Notte's); then deleted.
    files_retention_s: float = 7 * 24 * 3600
    #: Time a page action may take unless the action says otherwise.
    action_timeout_ms: int = 15000
    #: Fernet key encrypting secrets (the same on every machine in scale-out mode); unset: a key file in data_dir.
    secrets_key: str | None = None
    #: Domain whose mail personas receive (their addresses are <name>@mail_domain); None: personas answer 501.
    mail_domain: str | None = None
    #: Address the SMTP listener binds (the machine the domain's MX record names).
    mail_host: str = "0.0.0.0"
    #: Port of the SMTP listener (25 for mail from the internet); 0: this process runs no listener.
    mail_port: int = 0
    #: Largest message the listener accepts (552 beyond).
    mail_max_message_bytes: int = 1024 * 1024
    #: Messages kept per persona; the oldest are dropped as new ones arrive.
    mail_max_messages_per_persona: int = 200
    #: SMS provider for personas' phone numbers; browserfn implements none yet, so any value is refused at start.
    sms_provider: str | None = None
    #: The language model behind structured scrape, observe with instructions, agents and form filling, named the
    #: LiteLLM way (openai/gpt-4o-mini, gemini/gemini-2.0-flash, anthropic/..., ollama/llama3; a local
    #: OpenAI-compatible server: openai/<its model name> with llm_base_url); None: those features answer 501.
    llm_model: str | None = None
    #: Earlier setting, still read: "openai" prefixes llm_model (default gpt-4o-mini) with "openai/".
    llm_provider: str | None = None
    #: Base URL of the default model's provider (e.g. http://127.0.0.1:8080/v1 for llama.cpp's server); None: the
    #: provider's own. Sent with every model of the default model's provider.
    llm_base_url: str | None = None
    #: Key for the default model's provider (BROWSERFN_LLM_API_KEY); other providers' keys are read by LiteLLM from
    #: their usual variables (OPENAI_API_KEY, GEMINI_API_KEY, ANTHROPIC_API_KEY...).
    llm_api_key: str | None = None
    #: Models a request may name besides llm_model (exact names or patterns such as "openai/*"); others get a 422.
    llm_allowed_models: tuple[str, ...] = ()
    #: Models Notte's clients send when their user named none: unless allowed, they run on llm_model.
    llm_client_default_models: tuple[str, ...] = ("gemini/gemini-3.5-flash", "vertex_ai/gemini-3.5-flash")
    #: Time one LLM request may take.
    llm_timeout_s: float = 60.0
    #: How a JSON schema (structured scrape) is asked of the model: "json_schema" (OpenAI's response_format, which
    #: hosted providers, vLLM and llama.cpp's llama-server take) or "json_object" ({"type": "json_object",
    #: "schema": ...}, what llama-cpp-python's server takes: it refuses the other).
    llm_schema_format: str = "json_schema"
    #: Proxies (http://user:password@host:port, comma-separated) a session started with proxies=True uses (the
    #: first one); empty: proxies=True is refused.
    session_proxy_pool: tuple[str, ...] = ()
    #: Chromium flags (names such as --lang, comma-separated) a session's chrome_args may carry; others are refused.
    session_chrome_args_allowed: tuple[str, ...] = ()
    #: Whether a session may attach to a browser by cdp_url: "off", "public" (only public addresses, as for
    #: webhooks, and outbound_allowed_hosts) or "any" (private and loopback addresses too).
    session_cdp_url: str = "public"
    #: Whether the live viewer (viewer_url) lets its holder click and type into the session's browser, or only watch.
    viewer_input: bool = True
    #: The server's log: "text" (one line per record) or "json" (one JSON object per line, for collectors).
    log_format: str = "text"
    #: Least severe log level written: debug, info (one line per request), warning or error.
    log_level: str = "info"
    #: Wall-clock limit of one agent; past it, it ends failed.
    agent_timeout_s: float = 900.0
    #: Further model calls an agent's step makes after an answer that is not a valid action (or a failing provider),
    #: each told what was wrong; then the step, and the agent, fail.
    agent_answer_retries: int = 2

    @property
    def database_path(self) -> Path:
        return self.data_dir / "browserfn.sqlite3"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in _EVERY_ADDRESS else self.host
        return f"http://{host}:{self.port}"

    @property
    def internal_base_url(self) -> str:
        """Where this process's runs call the API, and where other processes forward calls for the
        sessions it hosts. Listening on every address in the scale-out mode: the machine's name."""
        if self.internal_url:
            return self.internal_url.rstrip("/")
        if self.host not in _EVERY_ADDRESS:
            return f"http://{self.host}:{self.port}"
        return f"http://{socket.gethostname() if self.database_url else '127.0.0.1'}:{self.port}"


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from `BROWSERFN_<FIELD>` variables (e.g. BROWSERFN_ACCOUNT_CONCURRENCY=2), then
    `overrides` (command-line flags) on top. Every process of a deployment reads the same ones."""
    env = os.environ if environ is None else environ
    hints = typing.get_type_hints(Settings)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        raw = env.get(ENV_PREFIX + field.name.upper())
        if raw is not None:
            values[field.name] = _parse(raw, hints[field.name], field.name)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


class SettingsError(ValueError):
    """A setting's value browserfn cannot use: the command says so in one line and exits 2."""


def _parse(raw: str, hint: Any, name: str) -> Any:
    if typing.get_origin(hint) is tuple:
        return tuple(part for part in raw.split(",") if part)
    kind = next((k for k in typing.get_args(hint) if k is not type(None)), hint)  # X | None -> X
    if kind is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    try:
        return kind(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
