"""`/docs`: Swagger UI over the server's OpenAPI document, its assets served from the installed
`swagger-ui-bundle-v2` package (no CDN: the page works on a machine without internet)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from browserfn.errors import NotFound

router = APIRouter(include_in_schema=False)
ASSETS_DIR = Path(swagger_ui_bundle.swagger_ui_path)
#: The files the page loads, with their types; nothing else of the package is served.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
#: The assets change only with the package: a day's caching spares reloads.
HEADERS = {"Cache-Control": "public, max-age=86400"}


@router.get("/docs")
async def read_docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=root + (request.app.openapi_url or "/openapi.json"),
        title=f"{request.app.title} API",
        swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
        swagger_favicon_url=f"{root}/docs/assets/favicon-32x32.png",
    )


@router.get("/docs/assets/{name}")
async def read_docs_asset(name: str) -> FileResponse:
    if name not in ASSETS or not (ASSETS_DIR / name).is_file():
        raise NotFound(f"no docs asset {name!r}")
    return FileResponse(ASSETS_DIR / name, media_type=ASSETS[name], headers=HEADERS)
