"""Replay of a closed session through the official SDK: an H.264 MP4 made by Debian's ffmpeg when the
server has it, the screenshot timeline when it does not; links work without an API key."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from notte_sdk import NotteClient

from tests.api.helpers import wait_for
from tests.browser.site import LocalSite
from tests.live_server import LiveServer


def _browse_and_close(server: LiveServer, site: LocalSite) -> tuple[NotteClient, str]:
    """A real session: a few actions over a few seconds, then the SDK's stop."""
    client = NotteClient(api_key=server.key, server_url=server.url)
    with client.Session() as session:
        session.execute(type="goto", url=f"{site.url}/")
        session.execute(type="scroll_down", amount=600)
        session.execute(type="goto", url=f"{site.url}/form")
        session.execute(type="fill", id="name", value="Ada")
        session.execute(type="wait", time_ms=2500)  # the session outlasts 2 s, however fast the rest
        session_id = session.session_id
    assert session_id is not None
    return client, session_id


def _ffprobe(path: Path) -> dict[str, str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-of", "json",
         "-show_entries", "stream=codec_name,nb_read_frames,duration,width,height", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    stream: dict[str, str] = json.loads(out.stdout)["streams"][0]
    return stream


def test_a_closed_session_replays_as_an_mp4(browser_server: LiveServer, site: LocalSite, tmp_path: Path) -> None:
    assert shutil.which("ffprobe"), "scripts/setup.sh installs Debian's ffmpeg"
    client, session_id = _browse_and_close(browser_server, site)
    recording = browser_server.data_dir / "sessions" / session_id / "replay"
    wait_for(lambda: (recording / "manifest.json").exists(), 30.0, "the replay's manifest")
    assert not (recording / "replay.mp4").exists(), "the video is made when first asked for, not at every close"
    replay = client.sessions.replay(session_id, timeout=60, poll_interval=0.2)
    assert replay.mp4_url is not None and replay.expires_at is not None
    assert replay.video_duration_ms is not None and replay.video_duration_ms > 2000
    downloaded = replay.download(tmp_path / "session.mp4")  # the SDK sends no API key for this
    stream = _ffprobe(downloaded)
    assert stream["codec_name"] == "h264"
    assert float(stream["duration"]) > 2.0 and int(stream["nb_read_frames"]) > 1

    with browser_server.client() as api:
        raw = api.get(f"/sessions/{session_id}/replay").json()
    assert raw["replay_format"] == "mp4" and len(raw["frames"]) >= 3
    forged = raw["mp4_url"].replace("signature=", "signature=0")
    refused = {"status": 404, "message": "no replay file replay.mp4 (the link is wrong or expired)"}
    assert httpx.get(forged).json() == refused


@pytest.fixture
def server_without_ffmpeg(tmp_path: Path) -> Iterator[LiveServer]:
    env = {"BROWSERFN_FFMPEG_PATH": ""}
    live = LiveServer(tmp_path / "server", warm_processes=0, extra_args=("--browser-pool-size", "0"), env=env)
    yield live.start()
    live.stop()


def test_without_ffmpeg_the_replay_is_the_screenshot_timeline(
    server_without_ffmpeg: LiveServer, site: LocalSite
) -> None:
    client, session_id = _browse_and_close(server_without_ffmpeg, site)
    replay = client.sessions.replay(session_id, timeout=60, poll_interval=0.2)
    assert replay.mp4_url is None
    with server_without_ffmpeg.client() as api:
        raw = api.get(f"/sessions/{session_id}/replay").json()
    assert raw["replay_format"] == "screenshots"
    frames = raw["frames"]
    assert len(frames) >= 3 and frames[0]["url"] == f"{site.url}/"
    assert frames[-1]["url"] == f"{site.url}/form"
    image = httpx.get(frames[-1]["image_url"])  # no key: the link is the credential
    assert image.status_code == 200 and image.content.startswith(b"\xff\xd8")
