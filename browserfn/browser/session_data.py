"""What a session records besides its pages, on its host's disk under `<data dir>/sessions/<id>/`:
its network log (every request its pages made, with the response, from Chromium's DevTools events
as Playwright reports them), the actions it executed (its trajectory, for `workflow/code`), and
the files its pages download (captured into the session's files, whatever triggered them)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from browserfn.errors import BrowserfnError, NotFound
from browserfn.files import SESSION_DOWNLOAD, USER_UPLOAD, FileStore, StoredFile

log = logging.getLogger(__name__)
#: Requests per network log batch file; a partial batch is written when the logs are read, and at the close.
BATCH_SIZE = 200
NETWORK_DIR = "network"
ACTIONS_FILE = "actions.jsonl"
INPUTS_DIR = ".inputs"
#: Headers kept per request and response (the rest are counted, not kept).
MAX_HEADERS = 64


def batch_name(index: int) -> str:
    return f"batch-{index:06d}.jsonl"


class NetworkLog:
    """Requests and responses of every page of a browser context, in batch files (JSON lines).

    Each response is kept from the context's `response` event until its request ends (finished
    or failed), not asked of Playwright when the request finishes: that was a round trip to the
    driver per request, ~0.6 ms of the server's and the driver's CPU each (a page of 41 requests
    cost 28 ms more, measured in bench/README). A request that fails after its response came
    (e.g. its body cut short) keeps that response's status and headers beside its failure."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._pending: list[dict[str, Any]] = []
        self._batches = 0
        self._started: dict[int, str] = {}
        self._responses: dict[int, Any] = {}

    def attach(self, context: Any) -> None:
        context.on("request", self._on_request)
        context.on("response", self._on_response)
        context.on("requestfinished", self._on_finished)
        context.on("requestfailed", self._on_failed)

    def _on_request(self, request: Any) -> None:
        self._started[id(request)] = _now()

    def _on_response(self, response: Any) -> None:
        self._responses[id(response.request)] = response

    def _on_finished(self, request: Any) -> None:
        self._add(request, None)

    def _on_failed(self, request: Any) -> None:
        self._add(request, request.failure or "failed")

    def _add(self, request: Any, failure: str | None) -> None:
        response = self._responses.pop(id(request), None)
        entry: dict[str, Any] = {
            "url": request.url,
            "method": request.method,
            "resource_type": request.resource_type,
            "request_headers": _headers(request.headers),
            "started_at": self._started.pop(id(request), None),
            "ended_at": _now(),
            "status": None,
            "status_text": None,
            "response_headers": None,
            "failure": failure,
        }
        if response is not None:
            entry.update(
                status=response.status, status_text=response.status_text, response_headers=_headers(response.headers)
            )
        self._pending.append(entry)
        if len(self._pending) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        """Write the requests not yet in a batch file as one more batch."""
        if not self._pending:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self._batches += 1
        lines = "".join(json.dumps(entry) + "\n" for entry in self._pending)
        self._pending = []
        temporary = self.directory / f".{batch_name(self._batches)}.part"
        temporary.write_text(lines)
        temporary.replace(self.directory / batch_name(self._batches))


def _headers(headers: dict[str, str]) -> dict[str, str]:
    return dict(list(headers.items())[:MAX_HEADERS])


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def network_batches(session_dir: Path) -> list[Path]:
    """A session's network log batch files, oldest first."""
    return sorted((session_dir / NETWORK_DIR).glob("batch-*.jsonl"))


def read_actions(session_dir: Path) -> list[dict[str, Any]]:
    """The actions a session executed successfully, in order."""
    path = session_dir / ACTIONS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class SessionData:
    """One session's network log, trajectory and captured downloads."""

    def __init__(
        self, session_dir: Path, files: FileStore, account_id: str, session_id: str, account_uploads: bool
    ) -> None:
        self.session_dir = session_dir
        #: Whether `upload_file` may also take the account's legacy uploads (not for a guest run's session).
        self.account_uploads = account_uploads
        self.files = files
        self.account_id = account_id
        self.session_id = session_id
        self.network = NetworkLog(session_dir / NETWORK_DIR)
        self._saves: dict[int, asyncio.Task[StoredFile | str]] = {}

    def attach(self, context: Any) -> None:
        self.session_dir.mkdir(parents=True, exist_ok=True)
        self.network.attach(context)
        context.on("page", self._watch)
        for page in context.pages:
            self._watch(page)

    def _watch(self, page: Any) -> None:
        page.on("download", self.capture)

    def record_action(self, action: dict[str, Any]) -> None:
        kept = {key: value for key, value in action.items() if value is not None}
        with open(self.session_dir / ACTIONS_FILE, "a") as out:
            out.write(json.dumps(kept) + "\n")

    def capture(self, download: Any) -> asyncio.Task[StoredFile | str]:
        """Save a download into the session's files (once per download, however often asked)."""
        task = self._saves.get(id(download))
        if task is None:
            task = asyncio.ensure_future(self._save(download))
            self._saves[id(download)] = task
        return task

    async def _save(self, download: Any) -> StoredFile | str:
        """The stored file, or why there is none."""
        with tempfile.TemporaryDirectory(dir=self.session_dir, prefix=".download-") as scratch:
            path = Path(scratch) / "file"
            try:
                await download.save_as(path)
                return await asyncio.to_thread(
                    self.files.add_path,
                    self.account_id,
                    self.session_id,
                    download.suggested_filename or "download",
                    SESSION_DOWNLOAD,
                    path,
                )
            except BrowserfnError as exc:
                log.warning("session %s: download %s not kept: %s", self.session_id, download.url, exc.message)
                return f"the download was not kept: {exc.message}"
            except Exception as exc:
                log.warning("session %s: download %s failed: %r", self.session_id, download.url, exc)
                return f"the download failed: {exc}"

    def upload_path(self, name: str) -> Path:
        """A path, under the file's own name, of the file an `upload_file` action names: the
        session's upload of that name (or id), else the account's legacy upload of that name.
        (A link to the stored bytes, in a directory of its own, kept until the session closes:
        the page reads the file when it wants.)"""
        stored = self._upload(name)
        directory = Path(tempfile.mkdtemp(dir=self._inputs_dir()))
        path = directory / stored.filename
        try:
            os.link(stored.path, path)
        except OSError:  # another file system
            shutil.copyfile(stored.path, path)
        return path

    def _inputs_dir(self) -> Path:
        directory = self.session_dir / INPUTS_DIR
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def _upload(self, name: str) -> StoredFile:
        try:
            return self.files.named(self.account_id, self.session_id, name, USER_UPLOAD)
        except NotFound:
            try:
                if not self.account_uploads:
                    raise
                return self.files.named(self.account_id, None, name)
            except NotFound:
                message = f"no uploaded file {name!r} in session {self.session_id}: upload it first"
                raise NotFound(message + " (POST /sessions/{id}/files)") from None

    async def close(self, wait_s: float) -> None:
        """Downloads under way are given `wait_s` to finish; the last network batch is written."""
        pending = [task for task in self._saves.values() if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=wait_s)
        self.network.flush()

    def remove_inputs(self) -> None:
        """The links the page's file inputs read, once the browser is gone."""
        shutil.rmtree(self.session_dir / INPUTS_DIR, ignore_errors=True)
