"""Notte's older storage routes, which the TypeScript client calls: the account's uploads
(`/storage/uploads[/{filename}]`, usable by any of its sessions' `upload_file` actions by name)
and a session's downloads (`/storage/{session_id}/downloads[/{filename}]`), the same files as
`/sessions/{id}/files` lists as `session_download`. Names in these paths must be plain names."""

from __future__ import annotations

import asyncio
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, UploadFile

from browserfn.api.access import requires
from browserfn.api.deps import LinkBaseDep, PrincipalDep, ServicesDep
from browserfn.api.routes.session_data import file_link
from browserfn.files import SESSION_DOWNLOAD, STRICT_NAME_PATTERN, USER_UPLOAD, StoredFile
from browserfn.models import Scope

#: Account data (its uploads for any session): a guest run's key lacks BROWSER_DATA.
router = APIRouter(prefix="/storage", tags=["storage"], dependencies=[requires(Scope.BROWSER_DATA)])
FileNamePath = Annotated[
    str,
    Path(
        pattern=STRICT_NAME_PATTERN,
        description="A plain file name: no leading dot, no slash, backslash, colon, control or invisible character",
    ),
]


def _info(stored: StoredFile) -> dict[str, Any]:
    """Notte's FileInfo."""
    return {
        "name": stored.filename,
        "size": stored.size,
        "file_ext": PurePath(stored.filename).suffix,
        "updated_at": stored.created_at.isoformat(),
    }


@router.get("/uploads")
async def list_uploads(svc: ServicesDep, principal: PrincipalDep) -> dict[str, Any]:
    return {"files": [_info(f) for f in svc.sessions.files.list(principal.account_id, None)]}


@router.post("/uploads/{filename}")
async def upload(
    svc: ServicesDep, principal: PrincipalDep, filename: FileNamePath, file: Annotated[UploadFile, File()]
) -> dict[str, bool]:
    """Keep a file for the account's sessions; a file of the same name is replaced."""
    files = svc.sessions.files
    await asyncio.to_thread(files.add, principal.account_id, None, filename, USER_UPLOAD, file.file, file.content_type)
    for older in files.list(principal.account_id, None)[:-1]:
        if older.filename == filename:
            files.delete(principal.account_id, None, older.id)
    return {"success": True}


@router.get("/{session_id}/downloads")
async def list_downloads(svc: ServicesDep, principal: PrincipalDep, session_id: str) -> dict[str, Any]:
    await svc.sessions.get(principal, session_id)
    found = svc.sessions.files.list(principal.account_id, session_id, SESSION_DOWNLOAD)
    return {"files": [_info(f) for f in found]}


@router.get("/{session_id}/downloads/{filename}")
async def download_link(
    svc: ServicesDep, principal: PrincipalDep, base_url: LinkBaseDep, session_id: str, filename: FileNamePath
) -> dict[str, str]:
    """Notte's FileLinkResponse: a signed link to the newest download of that name."""
    await svc.sessions.get(principal, session_id)
    stored = svc.sessions.files.named(principal.account_id, session_id, filename, SESSION_DOWNLOAD)
    return {"url": file_link(await svc.store.server_secret(), base_url, principal.account_id, stored)}


@router.post("/{session_id}/downloads/{filename}")
async def upload_download(
    svc: ServicesDep,
    principal: PrincipalDep,
    session_id: str,
    filename: FileNamePath,
    file: Annotated[UploadFile, File()],
) -> dict[str, bool]:
    """A file a client downloaded for the session itself, kept with the session's downloads."""
    await svc.sessions.get(principal, session_id)
    await asyncio.to_thread(
        svc.sessions.files.add,
        principal.account_id,
        session_id,
        filename,
        SESSION_DOWNLOAD,
        file.file,
        file.content_type,
    )
    return {"success": True}
