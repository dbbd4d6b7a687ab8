"""The web console: static files (no build step) served at `/` and `/console/<file>`. The pages
call the public API with the key the user signs in with; this module only hands out files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from browserfn.errors import NotFound

router = APIRouter(include_in_schema=False)
CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console"
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
#: The console is small and changes with the server: let browsers revalidate every time.
HEADERS = {"Cache-Control": "no-cache"}


@router.get("/")
async def read_console_index() -> FileResponse:
    return FileResponse(CONSOLE_DIR / "index.html", media_type="text/html", headers=HEADERS)


@router.get("/console/{name}")
async def read_console_file(name: str) -> FileResponse:
    path = CONSOLE_DIR / name
    if "/" in name or name.startswith(".") or path.suffix not in MEDIA_TYPES or not path.is_file():
        raise NotFound(f"no console file {name!r}")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=HEADERS)
