"""Files of sessions: what a caller uploads for the page (`user_upload`) and what the page
downloads (`session_download`), kept on disk under the `files_dir` setting (default
`<data dir>/files`), one directory per account, then per session:

    <files_dir>/<account key>/sessions/<session id>/<file id>        the bytes
    <files_dir>/<account key>/sessions/<session id>/<file id>.json   its metadata (Notte's SessionFile)
    <files_dir>/<account key>/uploads/<file id>[.json]               the legacy /storage/uploads area

A path is made only of ids this module checks (file ids are ours, session ids are checked against
the store by the caller; the account key is a hash): a caller's file name is metadata, never a
path, so no name can leave its directory. A file is written to a temporary name and renamed with
its metadata last, so a failed upload leaves nothing listed. Each account has a quota of bytes
(`files_quota_bytes`) over all its files. A file is kept for `files_retention_s` after it was
added (its `expires_at`, 7 days as Notte's), then deleted by the sweep every server makes over its
`files_dir` (`expire`). In scale-out mode a session's files are on the disk of the process
hosting it (calls for them are relayed there) unless `files_dir` is a directory every server
reaches (a network file system), which the operator sets.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import mimetypes
import os
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath
from typing import Any, BinaryIO

from browserfn.errors import InvalidInput, NotFound, PayloadTooLarge

USER_UPLOAD = "user_upload"
SESSION_DOWNLOAD = "session_download"
SOURCES = (USER_UPLOAD, SESSION_DOWNLOAD)
_FILE_ID = re.compile(r"^[0-9a-f]{32}$")
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
MAX_NAME_CHARS = 255
#: Characters a file name never keeps: controls, and the invisible and bidi ones (a name shows
#: as what it is). Lone surrogates go too (no store keeps them).
_UNSAFE_CHARS = r"\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
_UNSAFE = re.compile(rf"[{_UNSAFE_CHARS}\ud800-\udfff]")
#: A name given in a URL path (legacy /storage routes) is taken only if already plain: 1 to
#: MAX_NAME_CHARS characters, no leading dot, no slash, backslash or colon (a directory or a
#: Windows drive), none of those characters.
STRICT_NAME_PATTERN = rf"^[^./\\:{_UNSAFE_CHARS}][^/\\:{_UNSAFE_CHARS}]{{0,{MAX_NAME_CHARS - 1}}}$"
_TEXT_FIELDS = ("id", "session_id", "filename", "mime_type", "checksum", "source")
CHUNK = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class StoredFile:
    id: str
    session_id: str
    filename: str
    mime_type: str
    size: int
    checksum: str  #: sha256, hex
    created_at: dt.datetime
    source: str
    path: Path
    expires_at: dt.datetime  #: when the sweep deletes it

    def wire(self) -> dict[str, Any]:
        """Notte's SessionFile."""
        return {
            "id": self.id,
            "session_id": self.session_id,
            "filename": self.filename,
            "mime_type": self.mime_type,
            "size": self.size,
            "checksum": self.checksum,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "source": self.source,
        }


def clean_name(name: str | None) -> str:
    """The file name a caller gave, as a plain name: its last path component (either slash), no
    unsafe characters; InvalidInput if nothing usable is left. A STRICT_NAME_PATTERN name is
    its own plain name."""
    base = _UNSAFE.sub("", PureWindowsPath(str(name or "")).name.split("/")[-1])
    if base in ("", ".", "..") or len(base) > MAX_NAME_CHARS:
        raise InvalidInput(f"invalid file name {name!r}: give a plain name of 1 to {MAX_NAME_CHARS} characters")
    return base


def check_file_id(file_id: str) -> str:
    if not _FILE_ID.match(file_id):
        raise NotFound(f"file {file_id} not found")
    return file_id


class FileStore:
    def __init__(self, root: Path, quota_bytes: int, max_file_bytes: int, retention_s: float) -> None:
        self.root = root
        self.quota_bytes = quota_bytes
        self.max_file_bytes = max_file_bytes
        self.retention = dt.timedelta(seconds=retention_s)
        self._lock = threading.Lock()  #: quota checks and renames of one process, one at a time

    def _account_dir(self, account_id: str) -> Path:
        return self.root / hashlib.sha256(account_id.encode()).hexdigest()[:32]

    def _area(self, account_id: str, session_id: str | None) -> Path:
        if session_id is None:
            return self._account_dir(account_id) / "uploads"
        if not _SESSION_ID.match(session_id):
            raise NotFound(f"session {session_id} not found")
        return self._account_dir(account_id) / "sessions" / session_id

    def used_bytes(self, account_id: str) -> int:
        total = 0
        for meta in self._account_dir(account_id).glob("*/**/*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError):
                total += int(json.loads(meta.read_text())["size"])
        return total

    def add(
        self,
        account_id: str,
        session_id: str | None,
        filename: str,
        source: str,
        content: BinaryIO,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Copy `content` in as a new file; PayloadTooLarge past the file limit or the account's
        quota (nothing is kept then)."""
        name = clean_name(filename)
        area = self._area(account_id, session_id)
        area.mkdir(parents=True, exist_ok=True)
        file_id = uuid.uuid4().hex
        partial = area / f".{file_id}.part"
        digest, size = hashlib.sha256(), 0
        try:
            with open(partial, "wb") as out:
                while chunk := content.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_file_bytes:
                        raise PayloadTooLarge(f"file {name!r} is larger than the limit of {self.max_file_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            return self._commit(account_id, session_id, area, partial, file_id, name, source, size, digest, mime_type)
        finally:
            partial.unlink(missing_ok=True)

    def add_path(
        self, account_id: str, session_id: str, filename: str, source: str, path: Path, mime_type: str | None = None
    ) -> StoredFile:
        with open(path, "rb") as content:
            return self.add(account_id, session_id, filename, source, content, mime_type)

    def _commit(
        self,
        account_id: str,
        session_id: str | None,
        area: Path,
        partial: Path,
        file_id: str,
        name: str,
        source: str,
        size: int,
        digest: Any,
        mime_type: str | None,
    ) -> StoredFile:
        stored = StoredFile(
            id=file_id,
            session_id=session_id or "",
            filename=name,
            mime_type=mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream",
            size=size,
            checksum=digest.hexdigest(),
            created_at=(now := dt.datetime.now(dt.UTC)),
            source=source,
            path=area / file_id,
            expires_at=now + self.retention,
        )
        with self._lock:
            used = self.used_bytes(account_id)
            if used + size > self.quota_bytes:
                raise PayloadTooLarge(
                    f"the account's files would take {used + size} bytes, over its quota of {self.quota_bytes} bytes: "
                    "delete some files first"
                )
            os.replace(partial, stored.path)
            meta = {k: v for k, v in stored.wire().items() if k != "expires_at"}
            temporary = area / f".{file_id}.json.part"
            temporary.write_text(json.dumps(meta))
            os.replace(temporary, area / f"{file_id}.json")  # listed from now on
        return stored

    def _read(self, area: Path, meta_path: Path) -> StoredFile | None:
        try:
            meta = json.loads(meta_path.read_text())
            text = {name: str(meta[name]) for name in _TEXT_FIELDS}
            created = dt.datetime.fromisoformat(meta["created_at"])
            size, path, expires = int(meta["size"]), area / text["id"], created + self.retention
            return StoredFile(**text, size=size, created_at=created, path=path, expires_at=expires)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def list(self, account_id: str, session_id: str | None, source: str | None = None) -> list[StoredFile]:
        """The files of a session (or the account's legacy uploads), oldest first."""
        area = self._area(account_id, session_id)
        found = [f for meta in area.glob("*.json") if (f := self._read(area, meta)) is not None]
        found = [f for f in found if source is None or f.source == source]
        return sorted(found, key=lambda f: (f.created_at, f.id))

    def get(self, account_id: str, session_id: str | None, file_id: str) -> StoredFile:
        area = self._area(account_id, session_id)
        found = self._read(area, area / f"{check_file_id(file_id)}.json")
        if found is None or not found.path.is_file():
            raise NotFound(f"file {file_id} not found")
        return found

    def named(self, account_id: str, session_id: str | None, name: str, source: str | None = None) -> StoredFile:
        """The newest file of that name (or id)."""
        for found in reversed(self.list(account_id, session_id, source)):
            if name in (found.filename, found.id):
                return found
        raise NotFound(f"no file named {name!r}")

    def delete(self, account_id: str, session_id: str | None, file_id: str) -> None:
        self._remove(self.get(account_id, session_id, file_id))

    @staticmethod
    def _remove(found: StoredFile) -> None:
        (found.path.parent / f"{found.id}.json").unlink(missing_ok=True)  # unlisted first
        found.path.unlink(missing_ok=True)

    def expire(self, now: dt.datetime) -> int:
        """Delete every file (of every account, session and the legacy uploads) whose `expires_at`
        has passed, unlisted first; a session's directory goes with its last file. How many."""
        expired = 0
        for meta_path in list(self.root.glob("*/*/**/*.json")):  # read whole: directories go as it deletes
            found = self._read(meta_path.parent, meta_path)
            if found is None or found.expires_at > now:
                continue
            self._remove(found)
            expired += 1
            with contextlib.suppress(OSError):  # not empty, or gone: another server swept it
                if found.session_id:
                    found.path.parent.rmdir()
        return expired

    @staticmethod
    def chunks(stored: StoredFile) -> Iterator[bytes]:
        with open(stored.path, "rb") as content:
            while chunk := content.read(CHUNK):
                yield chunk
