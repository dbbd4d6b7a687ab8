"""A session's recording: a timeline of screenshots (taken every `interval_s` and after each
action), turned into an MP4 when the session closes if ffmpeg is installed. Stored under
`<data dir>/sessions/<session id>/replay/` and served after the session closes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SCREENSHOT_TIMEOUT_MS = 3000
MANIFEST = "manifest.json"
VIDEO = "replay.mp4"


@dataclasses.dataclass(frozen=True)
class Frame:
    name: str  #: file name in the replay directory
    t_ms: int  #: milliseconds since the session started
    url: str  #: the page shown


class Recorder:
    def __init__(self, directory: Path, interval_s: float) -> None:
        self.directory = directory
        self._interval_s = interval_s
        self._started = time.monotonic()
        self._frames: list[Frame] = []
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def start(self, current_page: Callable[[], Any]) -> None:
        """Begin periodic capture of whatever `current_page()` returns (None: no frame)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._interval_s > 0:
            self._ticker = asyncio.create_task(self._tick(current_page))

    async def _tick(self, current_page: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.capture(current_page())

    def capture_soon(self, page: Any | None) -> None:
        """Capture in the background, so an action's answer does not wait for its screenshot; while
        one is pending, another adds nothing (frames would lag behind the page)."""
        if self._pending:
            return
        task = asyncio.create_task(self.capture(page))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def capture(self, page: Any | None) -> None:
        """Add a frame of `page` now; a page that cannot be shot (closing, hung) adds none."""
        if page is None:
            return
        url = str(page.url)
        async with self._lock:
            t_ms = int((time.monotonic() - self._started) * 1000)
            name = f"{len(self._frames):05d}.jpg"
            try:
                data = await page.screenshot(type="jpeg", quality=60, timeout=SCREENSHOT_TIMEOUT_MS)
            except Exception:
                return
            await asyncio.to_thread((self.directory / name).write_bytes, data)
            self._frames.append(Frame(name, t_ms, url))

    async def finish(self) -> None:
        """Stop capturing; write the manifest, and the video when ffmpeg is present."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(BaseException):
                await self._ticker
        await asyncio.gather(*self._pending, return_exceptions=True)
        async with self._lock:
            duration_ms = int((time.monotonic() - self._started) * 1000)
            has_video = await self._encode(duration_ms)
            manifest = {
                "frames": [dataclasses.asdict(frame) for frame in self._frames],
                "duration_ms": duration_ms,
                "video": VIDEO if has_video else None,
            }
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / MANIFEST).write_text(json.dumps(manifest))

    async def _encode(self, duration_ms: int) -> bool:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None or not self._frames:
            return False
        # The concat demuxer shows each frame until the next one's time.
        ends = [frame.t_ms for frame in self._frames[1:]] + [max(duration_ms, self._frames[-1].t_ms + 500)]
        lines = []
        for frame, end in zip(self._frames, ends, strict=True):
            lines += [f"file '{frame.name}'", f"duration {max(end - frame.t_ms, 40) / 1000:.3f}"]
        lines.append(f"file '{self._frames[-1].name}'")
        (self.directory / "frames.txt").write_text("\n".join(lines) + "\n")
        process = await asyncio.create_subprocess_exec(
            ffmpeg, "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", "frames.txt",
            "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p", "-r", "10", VIDEO,
            cwd=self.directory, stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            return await asyncio.wait_for(process.wait(), 120) == 0
        except TimeoutError:
            process.kill()
            await process.wait()
            return False


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a finished recording, or None while it is not written."""
    try:
        found: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return found
