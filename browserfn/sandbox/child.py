"""The run's process, forked by the fork server, that runs the user's script. It imports
nothing of the server.

Everything the script says becomes a log event on the events pipe, in order: `print` and
`sys.stdout` (INFO), `sys.stderr` (WARNING), `logging` and loguru records (their own level),
and warnings (WARNING). Raw writes to fd 1/2 (subprocesses, C code) go to the output pipe,
which the server turns into log lines. The last event is the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import json
import linecache
import logging
import os
import sys
import threading
import traceback
import types
import warnings
from typing import Any

from browserfn.sandbox import bytecode, isolation, proctree, protocol

SCRIPT_SOURCE = "user_script"


class _Emitter:
    """Writes protocol messages to the events pipe; one lock keeps threads' lines whole."""

    def __init__(self) -> None:
        self.fd = -1  #: the events pipe, set by main()
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = protocol.encode(message)
        with self._lock:
            while self.fd >= 0 and data:  # (no fd: the fork server itself, or the run has ended)
                data = data[os.write(self.fd, data) :]

    def close(self) -> None:
        with self._lock:
            os.close(self.fd)
            self.fd = -1

    def log(self, level: str, source: str, message: str) -> None:
        self.send(protocol.log(level, source, message))


class _LogStream(io.TextIOBase):
    """A text stream whose every complete line becomes one log event."""

    def __init__(self, emitter: _Emitter, level: str) -> None:
        self._emitter = emitter
        self._level = level
        self._buffer = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self._emitter.log(self._level, SCRIPT_SOURCE, line.rstrip("\r"))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            rest, self._buffer = self._buffer, ""
        if rest:
            self._emitter.log(self._level, SCRIPT_SOURCE, rest)


class _LoggingHandler(logging.Handler):
    def __init__(self, emitter: _Emitter) -> None:
        super().__init__(logging.DEBUG)
        self._emitter = emitter

    def emit(self, record: logging.LogRecord) -> None:
        try:
            source = SCRIPT_SOURCE if record.name == "root" else record.name
            self._emitter.log(record.levelname, source, self.format(record))
        except Exception:
            self.handleError(record)


#: This process's events. Its capture of logging, warnings and loguru is installed once in the
#: fork server, which no longer logs once warm (loguru's `add` alone costs ~7 ms), and forked
#: with it; main() points it at the run's events pipe.
_EVENTS = _Emitter()


def _is_sdk_url_notice(logger_name: str, text: str) -> bool:
    """notte-sdk's WARNING that NOTTE_API_URL is not Notte's cloud: a run's environment always
    sets it to this server, so every run's log began with that line; a Notte run's has none."""
    return logger_name.startswith("notte_sdk") and text.startswith("NOTTE_API_URL is set to")


def install_capture() -> None:
    """Send logging records, warnings and loguru records to this process's events."""
    emitter = _EVENTS
    root = logging.getLogger()
    root.handlers[:] = [_LoggingHandler(emitter)]
    root.setLevel(logging.INFO)

    def show_warning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        emitter.log("WARNING", "warnings", f"{filename}:{lineno}: {category.__name__}: {message}")

    warnings.showwarning = show_warning
    try:
        from loguru import logger
    except ImportError:
        return

    def loguru_sink(message: Any) -> None:
        record = message.record
        name = record["name"] or ""
        text = record["message"]
        if _is_sdk_url_notice(name, text):
            return
        source = SCRIPT_SOURCE if name in ("", SCRIPT_SOURCE, "__main__") else name.split(".")[0]
        if record["exception"] is not None:
            text += "\n" + "".join(traceback.format_exception(*record["exception"])).rstrip()
        emitter.log(record["level"].name, source, text)

    logger.remove()
    logger.add(loguru_sink, level="DEBUG", format="{message}", colorize=False, catch=True)


def _to_json(value: Any) -> str:
    """Notte's rules: pydantic models dumped as JSON, anything not JSON-able becomes its str()."""

    def default(obj: Any) -> Any:
        dump = getattr(obj, "model_dump", None)
        if callable(dump):
            return dump(mode="json")
        raise TypeError(type(obj).__name__)

    try:
        return json.dumps(value, default=default, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return json.dumps(str(value), ensure_ascii=False)


def _user_traceback(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__") != SCRIPT_SOURCE:
        tb = tb.tb_next  # hide our own frames: start at the script's first frame
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()


def _module_code(job: dict[str, Any], module: types.ModuleType) -> types.CodeType:
    """The script's code: the server's compiled copy, else compiled here (a script that does not
    compile fails its run with the error). A restricted script gets the policy's guarded globals."""
    marshalled = job.get("bytecode")
    code = (
        bytecode.load(marshalled) if marshalled else bytecode.compile_script(job["code"], job.get("restricted", False))
    )
    if job.get("restricted"):
        from browserfn.sandbox import policy

        extra: dict[str, Any] = {}
        with contextlib.suppress(ImportError):
            from loguru import logger

            extra["logger"] = logger
        module.__dict__.update(policy.script_globals(SCRIPT_SOURCE, extra))
    return code


def _run_script(job: dict[str, Any]) -> Any:
    # The source is not written to disk (a file per run cost ~1 ms of the filesystem's time):
    # linecache holds it, for tracebacks and inspect, under the file name its code carries.
    lines = job["code"].splitlines(keepends=True)
    linecache.cache[bytecode.SCRIPT_FILENAME] = (len(job["code"]), None, lines, bytecode.SCRIPT_FILENAME)
    module = types.ModuleType(SCRIPT_SOURCE)
    module.__file__ = os.path.join(os.getcwd(), bytecode.SCRIPT_FILENAME)
    sys.modules[SCRIPT_SOURCE] = module
    exec(_module_code(job, module), module.__dict__)
    run = module.__dict__["run"]
    result = run(**job["variables"])
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return result


#: What every run's process runs while it waits for its job (see _rehearse).
_REHEARSAL: dict[str, Any] = {
    "code": "def run(n):\n    return [n]\n",
    "restricted": True,
    "variables": {"n": 1},
}


def prepare_rehearsal() -> None:
    """In the fork server: compile the rehearsal's script once, as the server does a job's, so
    the rehearsal takes the path of a job (loading compiled code), and compiles nothing."""
    _REHEARSAL["bytecode"] = bytecode.marshal_script(_REHEARSAL["code"], _REHEARSAL["restricted"])


def _rehearse() -> None:
    """Take the path a job takes, once, on a script of our own, while waiting for the job. The
    first pass over that code writes to pages this process shares with the fork server
    (reference counts), so the kernel copies them: a trivial run spent about 2 ms there. They
    are copied now, before the job, rather than on the run's clock."""
    with contextlib.suppress(Exception):  # a rehearsal that fails only costs warmth
        job = json.loads(json.dumps(_REHEARSAL))
        protocol.encode(protocol.result_ok(_to_json(_run_script(job))))
        linecache.clearcache()
        del sys.modules[SCRIPT_SOURCE]
        proctree.descendants(os.getpid())


def _confine() -> dict[str, Any]:
    """Confine this process before it reads the job (see isolation.py); the uid, the cgroup and
    the mount namespace only as root. Returns the `ready` message."""
    forkserver = os.getppid()
    os.setsid()
    proctree.become_subreaper()  # what the script starts stays below it while it runs
    # The run's memory cgroup; the server changes its limit if the job's differs, reads its OOM
    # count and removes it after the run.
    cgroup = isolation.join_new_memory_cgroup(isolation.DEFAULT_LIMITS["memory_bytes"])
    uid = isolation.run_uid(os.getpid()) if isolation.can_drop_privileges() else None
    private = uid is not None and isolation.private_mounts()
    workdir = isolation.make_workdir(uid)
    isolation.forbid_new_privileges()
    if uid is not None:
        isolation.drop_privileges(uid)
    isolation.die_with_parent()  # after the uid change, which clears it
    if os.getppid() != forkserver:
        raise RuntimeError("the fork server is gone")
    os.chdir(workdir)
    return protocol.ready(workdir, cgroup, workdir_private=private)


def _read_job(fd: int) -> dict[str, Any] | None:
    """The job, written whole by the server, which then closes the pipe; None if it never came."""
    data = b""
    while chunk := os.read(fd, 1 << 20):
        data += chunk
    os.close(fd)
    return json.loads(data) if data else None


def _limit(job: dict[str, Any]) -> None:
    """The run's rlimits (lowering them needs no privilege)."""
    options: dict[str, Any] = job.get("isolation") or {}
    limits = {**isolation.DEFAULT_LIMITS, **options.get("limits", {})}
    isolation.set_limits(limits, memory_by_cgroup=bool(options.get("memory_by_cgroup")))


def main(job_fd: int, events_fd: int, output_fd: int) -> None:
    """Runs in the process the fork server forked; never returns. It is forked ahead of demand:
    it confines itself, says `ready` and sets up its log capture first, then waits for its job
    on `job_fd`, so a run pays only for reading the job and running the script."""
    emitter = _EVENTS
    emitter.fd = events_fd
    try:
        emitter.send(_confine())
    except Exception as exc:  # never run user code half-confined
        emitter.send(protocol.result_error(f"browserfn could not isolate the run: {exc!r}"))
        os._exit(70)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(null)
    os.close(output_fd)
    sys.stdout = _LogStream(emitter, "INFO")
    sys.stderr = _LogStream(emitter, "WARNING")
    _rehearse()
    job = _read_job(job_fd)
    if job is None:
        os._exit(0)  # the pool was shut down before this process got a job
    try:
        _limit(job)
    except Exception as exc:
        emitter.send(protocol.result_error(f"browserfn could not isolate the run: {exc!r}"))
        os._exit(70)
    os.environ.clear()
    os.environ.update(job["env"])
    code = 0
    try:
        value = _run_script(job)
        message = protocol.result_ok(_to_json(value))
    except BaseException as exc:  # SystemExit and KeyboardInterrupt end the run too
        error = _user_traceback(exc)
        emitter.log("ERROR", SCRIPT_SOURCE, error)
        message = protocol.result_error(error)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    # What the script left running goes first; then the result, and our ends of the pipes: the
    # server sees the run's end, with nothing of it left alive but this process's teardown.
    proctree.kill_descendants(os.getpid())
    emitter.send(message)
    emitter.close()
    for fd in (1, 2):
        os.close(fd)
    os._exit(code)
