"""The official notte-sdk, pointed at a live browserfn server."""

from __future__ import annotations

import os

os.environ["DISABLE_TELEMETRY"] = "true"  # before notte_sdk is imported anywhere

from collections.abc import Iterator

import pytest
from notte_sdk import NotteClient
from notte_sdk.endpoints import base as sdk_base

from tests.live_server import LiveServer

# The SDK asks PyPI once per process whether it is outdated: not a test's business.
sdk_base._version_check_performed = True


@pytest.fixture
def notte(server: LiveServer) -> Iterator[NotteClient]:
    yield NotteClient(api_key=server.key, server_url=server.url)
