"""A session's proxy with a username and password: Chromium takes no credentials on its command
line and asks for them per page, so the session's browser is pointed at this local forwarder
instead, which adds `Proxy-Authorization` to each request and relays it to the real proxy. That
covers every page, the ones a CDP client opens included, and workers.

Each connection carries one request (the forwarder asks both sides to close after it): the header
is added to the request head only, never parsed out of a stream. A CONNECT tunnel is relayed
byte for byte once its head went through. An upstream that cannot be reached closes the
connection with no answer, so the page load fails (net::ERR_EMPTY_RESPONSE or a tunnel error)
rather than showing a page of the forwarder's. Its port is guarded like a browser's DevTools port
(sandbox/firewall.py): runs and other local users cannot borrow the credentials."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from urllib.parse import urlsplit

from browserfn.browser.chromium import free_port
from browserfn.sandbox import firewall

log = logging.getLogger(__name__)
HEAD_LIMIT = 64 * 1024
CONNECT_TIMEOUT_S = 10.0
_DROPPED = (b"proxy-authorization:", b"proxy-connection:", b"connection:", b"keep-alive:")


class ProxyForwarder:
    def __init__(self, upstream: str, username: str | None, password: str | None) -> None:
        parts = urlsplit(upstream)
        self._host = parts.hostname or ""
        self._port = parts.port or 80
        credentials = f"{username or ''}:{password or ''}".encode()
        self._auth = b"Proxy-Authorization: Basic " + base64.b64encode(credentials)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> ProxyForwarder:
        """Listen on a loopback port that only the server's uid (its browsers) may reach, guarded
        before it listens: whoever connects uses the tenant's proxy credentials."""
        self.port = free_port()
        await asyncio.to_thread(firewall.guard_devtools_port, self.port)
        try:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, limit=HEAD_LIMIT)
        except BaseException:
            await asyncio.to_thread(firewall.release_devtools_port, self.port)
            raise
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await asyncio.to_thread(firewall.release_devtools_port, self.port)
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError) as exc:
            log.info("proxy %s:%s unreachable: %s", self._host, self._port, exc)
            writer.close()
            return
        upstream_writer.write(self._rewrite(head))
        await _relay(reader, writer, upstream_reader, upstream_writer)

    def _rewrite(self, head: bytes) -> bytes:
        lines = head[:-4].split(b"\r\n")
        kept = [line for line in lines[1:] if not line.lower().startswith(_DROPPED)]
        closing = [] if lines[0].upper().startswith(b"CONNECT ") else [b"Connection: close", b"Proxy-Connection: close"]
        return b"\r\n".join([lines[0], *kept, self._auth, *closing]) + b"\r\n\r\n"


async def _relay(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            if sink.can_write_eof():
                sink.write_eof()  # the other direction may still be answering

    try:
        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))
    finally:
        for stream in (writer, upstream_writer):
            with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                stream.close()
