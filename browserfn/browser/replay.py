"""A session's recording: a timeline of screenshots (taken every `interval_s` and after each
action), turned into an H.264 MP4 when its replay is first asked for after the session closed
(most sessions are never replayed, and an encode at every close took CPU from the runs that
followed), when ffmpeg is available. Stored under
`<data dir>/sessions/<session id>/replay/` and served after the session closes, through links that
carry their own signature and expiry (the SDK downloads `mp4_url` with no API key)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import shutil
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from browserfn import tokens

log = logging.getLogger(__name__)
SCREENSHOT_TIMEOUT_S = 3.0
#: A replay frame's JPEG quality (0-100).
JPEG_QUALITY = 60
MANIFEST = "manifest.json"
VIDEO = "replay.mp4"
#: Frames per second of the MP4 (a frame lasts until the next screenshot's time).
VIDEO_FPS = 5
ENCODE_TIMEOUT_S = 120.0
#: How long a replay request waits for its video before answering "not ready" (the SDK polls).
VIDEO_WAIT_S = 20.0
#: How long a replay link stays valid.
LINK_TTL_S = 3600
#: The frame an action asks for waits until its session has had no call for this long (or until
#: the next action, or the close, which takes a last frame): taken at once, the screenshot held
#: the page's renderer (~50 ms here) while the script's next call wanted it.
QUIET_S = 0.1


def find_ffmpeg(setting: str) -> str | None:
    """The ffmpeg binary a setting names (a path, or a name looked up on PATH); None: no video."""
    found = shutil.which(setting) if setting else None
    if found is None:
        log.warning("ffmpeg %r not found: session replays are screenshot timelines, without an MP4", setting)
    return found


@dataclasses.dataclass(frozen=True)
class Frame:
    name: str  #: file name in the replay directory
    t_ms: int  #: the moment it shows, in milliseconds since the session started
    url: str  #: the page shown
    shot_ms: int  #: when the screenshot was taken (later than t_ms for an action's frame)


class Recorder:
    def __init__(self, directory: Path, interval_s: float, video: bool) -> None:
        self.directory = directory
        self._interval_s = interval_s
        self._video = video  #: an MP4 can be made (ffmpeg is there): the manifest says it is to make
        self._started = time.monotonic()
        self._started_at_ms = int(time.time() * 1000)  #: wall clock of t_ms 0 (frames' moments for the console)
        self._frames: list[Frame] = []
        self._shots = ViewportShots()
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._now = asyncio.Event()  #: set by `settle`: the pending frame is wanted now
        self._quiet_s: Callable[[], float] = lambda: QUIET_S  #: seconds the session has had no call (start sets it)
        self._duration_ms: int | None = None  #: set when capture stops
        self._acted_mono = 0.0  #: when the latest action asked for its frame
        self._newest_page: weakref.ref[Any] | None = None  #: the page the newest frame shows
        #: Applied to a frame's text (its URL): a session filling from a vault masks what it typed.
        self.mask_text: Callable[[str], str] = str

    def start(self, current_page: Callable[[], Any], quiet_s: Callable[[], float]) -> None:
        """Begin periodic capture of whatever `current_page()` returns (None: no frame).
        `quiet_s()`: how long the session has had no call (0 while one runs)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._quiet_s = quiet_s
        if self._interval_s > 0:
            self._ticker = asyncio.create_task(self._tick(current_page))

    async def _tick(self, current_page: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.capture(current_page())

    def capture_soon(self, page: Any | None) -> None:
        """Capture in the background once the session is quiet, so neither an action's answer nor
        the calls right after it wait for its screenshot; while one is pending, another adds
        nothing (frames would lag behind the page). The next action has it taken first
        (`settle`), so each action's frame shows the page that action left."""
        self._acted_mono = time.monotonic()
        if self._pending:
            return
        self._now.clear()
        task = asyncio.create_task(self._capture_when_quiet(page, self._elapsed_ms()))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _capture_when_quiet(self, page: Any | None, asked_ms: int) -> None:
        while not self._now.is_set() and (quiet := self._quiet_s()) < QUIET_S:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._now.wait(), QUIET_S - quiet)
        await self.capture(page, asked_ms)

    async def settle(self) -> None:
        """Have the frame an earlier action asked for taken now, and wait for it (bounded by the
        screenshot timeout)."""
        self._now.set()
        await asyncio.gather(*self._pending, return_exceptions=True)

    def _elapsed_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    async def capture(self, page: Any | None, asked_ms: int | None = None) -> None:
        """Add a frame of `page` now; a page that cannot be shot (closing, hung) adds none.
        `asked_ms`: when the action whose result it shows ended. The frame is dated then (kept
        after the frames before it), not when the shot was taken: a line the script logs right
        after that action must find it, however late the quiet-time shot comes on a busy machine."""
        if page is None:
            return
        url = self.mask_text(str(page.url))
        async with self._lock:
            shot_ms = self._elapsed_ms()
            t_ms = max(shot_ms if asked_ms is None else asked_ms, self._frames[-1].t_ms if self._frames else 0)
            name = f"{len(self._frames):05d}.jpg"
            try:
                data = await asyncio.wait_for(self._shots.jpeg(page), SCREENSHOT_TIMEOUT_S)
            except Exception:
                return
            await asyncio.to_thread((self.directory / name).write_bytes, data)
            self._frames.append(Frame(name, t_ms, url, shot_ms))
            self._newest_page = weakref.ref(page)

    def shows(self, page: Any, driven_mono: float) -> bool:
        """Whether the newest frame still shows `page` as it is, as far as the session can tell:
        it is of that page, its shot began after the latest action and after `driven_mono` (the
        last CDP frame or viewer input), and less than the periodic interval ago (a page changing
        by itself is recorded at that pace). The closing session's last frame is then not taken
        again: 4 at a time, a browser run's action frame came before its close, and shooting the
        same page twice cost 20-30 ms of CPU of the ~450 the whole run took."""
        if self._newest_page is None:
            return False
        begun = self._started + self._frames[-1].shot_ms / 1000  # its shot began (monotonic clock)
        return (
            self._newest_page() is page
            and begun >= max(self._acted_mono, driven_mono)
            and time.monotonic() - begun < self._interval_s
        )

    async def stop(self) -> None:
        """Stop capturing, frames asked for and not yet taken included: the session is closing,
        and its last frame is taken next (see SessionManager._tear_down)."""
        tasks = [task for task in (self._ticker, *self._pending) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._duration_ms = self._elapsed_ms()

    async def finish(self) -> None:
        """After `stop`: write the manifest (from then on the replay is served); its video is made
        by `VideoMaker` when first asked for."""
        async with self._lock:
            manifest = {
                "frames": [dataclasses.asdict(frame) for frame in self._frames],
                "duration_ms": self._duration_ms or self._elapsed_ms(),
                "started_at_ms": self._started_at_ms,
                "video": None,
                "video_pending": self._video and bool(self._frames),
            }
            await asyncio.to_thread(_write_manifest, self.directory, manifest)


class ViewportShots:
    """JPEG screenshots of pages' viewports, each page through a DevTools session of its own
    (`Page.captureScreenshot`), opened at its first shot and kept while the page lives.
    Playwright's `page.screenshot` does more around the same call (it hides the caret in every
    frame, then shows it again): measured at 33 ms of CPU a frame against 20-24 (browser, GPU,
    renderer, driver and server together), and a short session's recording is one or two
    frames."""

    def __init__(self) -> None:
        self._devtools: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    async def jpeg(self, page: Any) -> bytes:
        """`page`: a playwright.async_api.Page."""
        devtools = self._devtools.get(page)
        if devtools is None:
            devtools = self._devtools[page] = await page.context.new_cdp_session(page)
        shot = await devtools.send(
            "Page.captureScreenshot", {"format": "jpeg", "quality": JPEG_QUALITY, "optimizeForSpeed": True}
        )
        return base64.b64decode(shot["data"])


class VideoMaker:
    """Makes a closed session's MP4 from its frames on the first request for its replay, once
    per session (concurrent requests wait for the same encode)."""

    def __init__(self, ffmpeg: str | None) -> None:
        self._ffmpeg = ffmpeg
        self._making: dict[Path, asyncio.Task[None]] = {}

    async def manifest(self, directory: Path, wait_s: float = VIDEO_WAIT_S) -> dict[str, Any] | None:
        """The finished recording's manifest, its video made first if it is still to make; None
        while the recording is not finished, or the video not made within `wait_s`."""
        manifest = read_manifest(directory)
        if manifest is None or not manifest.get("video_pending"):
            return manifest
        task = self._making.get(directory)
        if task is None:
            task = asyncio.create_task(self._make(directory, manifest))
            self._making[directory] = task
            task.add_done_callback(lambda _: self._making.pop(directory, None))
        done, _ = await asyncio.wait({task}, timeout=wait_s)  # a request given up leaves the encode going
        return read_manifest(directory) if done else None

    async def _make(self, directory: Path, manifest: dict[str, Any]) -> None:
        made = await self._encode(directory, [Frame(**frame) for frame in manifest["frames"]], manifest["duration_ms"])
        manifest = {**manifest, "video": VIDEO if made else None, "video_pending": False}
        await asyncio.to_thread(_write_manifest, directory, manifest)

    async def _encode(self, directory: Path, frames: list[Frame], duration_ms: int) -> bool:
        if self._ffmpeg is None or not frames:
            return False
        # The concat demuxer shows each frame until the next one's time.
        ends = [frame.t_ms for frame in frames[1:]] + [max(duration_ms, frames[-1].t_ms + 500)]
        lines = []
        for frame, end in zip(frames, ends, strict=True):
            lines += [f"file '{frame.name}'", f"duration {max(end - frame.t_ms, 40) / 1000:.3f}"]
        lines.append(f"file '{frames[-1].name}'")
        (directory / "frames.txt").write_text("\n".join(lines) + "\n")
        process = await asyncio.create_subprocess_exec(
            self._ffmpeg, "-y", "-nostdin", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", "frames.txt",
            "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p", "-r", str(VIDEO_FPS),
            "-c:v", "libx264", "-preset", "veryfast", "-threads", "1", "-movflags", "+faststart", VIDEO,
            cwd=directory, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            _, errors = await asyncio.wait_for(process.communicate(), ENCODE_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            log.warning("ffmpeg took over %g s to encode %s; the replay has no video", ENCODE_TIMEOUT_S, directory)
            return False
        if process.returncode != 0:
            log.warning("ffmpeg failed on %s: %s", directory, errors.decode(errors="replace").strip()[-500:])
            return False
        return True


def _write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Replaced whole (a reader sees the old manifest or the new one, never half of one)."""
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest))
    partial.replace(directory / MANIFEST)


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a finished recording, or None while it is not written."""
    try:
        found: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return found


def link(secret: bytes, base_url: str, session_id: str, name: str, now_s: float) -> str:
    """A URL for one replay file that works without an API key until it expires."""
    expires = int(now_s) + LINK_TTL_S
    signature = tokens.sign(secret, "replay", session_id, name, str(expires))
    return f"{base_url}/sessions/{session_id}/replay/files/{name}?expires={expires}&signature={signature}"


def link_valid(secret: bytes, session_id: str, name: str, expires: int, signature: str, now_s: float) -> bool:
    return now_s < expires and tokens.verify(secret, signature, "replay", session_id, name, str(expires))
