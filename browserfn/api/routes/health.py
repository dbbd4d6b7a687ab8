"""Health: `GET /health` answers without a key (the SDK's health_check calls it)."""

from __future__ import annotations

import platform
from typing import Any

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/health")
async def read_health() -> dict[str, Any]:
    """Is the server up."""
    return {"status": "ok"}


@router.get("/functions/health")
async def read_functions_health() -> dict[str, Any]:
    """Is the function runtime up, and what does it offer (Notte's FunctionRuntimeHealthResponse)."""
    return {
        "status": "ok",
        "reachable": True,
        "python_version": platform.python_version(),
        "packages": ["notte_sdk", "playwright", "requests", "pydantic", "loguru"],
        "reserved_env_names": ["NOTTE_API_KEY", "NOTTE_API_URL", "BROWSERFN_RUN_ID", "BROWSERFN_FUNCTION_ID"],
    }
