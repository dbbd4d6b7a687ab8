"""Session files and the account's uploads are deleted once their `expires_at` has passed, on a
real disk: unlisted, bytes gone, quota freed, a session's directory with its last file."""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path

from browserfn.files import SESSION_DOWNLOAD, USER_UPLOAD, FileStore


def test_files_past_their_expiry_are_deleted_and_no_others(tmp_path: Path) -> None:
    files = FileStore(tmp_path, quota_bytes=10_000, max_file_bytes=1_000, retention_s=60)
    download = files.add("acme", "s-1", "report.pdf", SESSION_DOWNLOAD, io.BytesIO(b"%PDF" * 10))
    upload = files.add("acme", None, "photo.png", USER_UPLOAD, io.BytesIO(b"png" * 10))
    assert download.expires_at == download.created_at + dt.timedelta(seconds=60)
    assert download.wire()["expires_at"] == download.expires_at.isoformat()

    assert files.expire(download.created_at + dt.timedelta(seconds=59)) == 0
    assert [f.id for f in files.list("acme", "s-1")] == [download.id]

    time.sleep(0.01)
    later = files.add("acme", "s-2", "later.txt", USER_UPLOAD, io.BytesIO(b"x"))
    assert files.expire(upload.expires_at) == 2
    assert files.list("acme", "s-1") == [] and files.list("acme", None) == []
    assert not download.path.exists() and not upload.path.exists()
    assert not download.path.parent.exists()  # the session's directory went with its last file
    assert [f.id for f in files.list("acme", "s-2")] == [later.id]  # added after: kept
    assert files.used_bytes("acme") == 1
