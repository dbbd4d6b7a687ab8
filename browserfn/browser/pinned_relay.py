"""A loopback relay to an external CDP endpoint (`cdp_url`) that connects only to the addresses the
server checked: the name is resolved once, by the address policy, and never again.

Playwright's driver and the server's CDP relay would resolve a `cdp_url`'s host name themselves
when they connect, so a DNS answer that changed after the check (DNS rebinding) could lead them to
a private address. Instead they connect to this relay on 127.0.0.1 (plain ws:// or http://). For
each connection it opens one to a checked address (TLS for wss:// and https://, verified against
the host's name, which is also the server name sent), rewrites the opening request's target and
its `Host` header back to what the `cdp_url` names, and then copies bytes both ways.

Other processes of the machine can reach the loopback port too: a connection whose first request
does not carry the relay's random token in its path is closed without a byte sent upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import ssl
from urllib.parse import urlsplit

from browserfn.netpolicy import Target

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
#: How long a connection may take to send its opening request, and how long it may be.
HEAD_TIMEOUT_S = 10.0
HEAD_LIMIT = 64 * 1024
CHUNK = 256 * 1024


class PinnedRelay:
    """Relays loopback connections to `target`'s checked addresses; `close()` ends it and them."""

    def __init__(self, target: Target) -> None:
        self._target = target
        parts = urlsplit(target.url)
        self._host_header = parts.netloc.rpartition("@")[2]
        self._scheme = parts.scheme
        #: One TLS context for the relay's every connection (it reads the CA bundle once).
        self._tls = ssl.create_default_context() if parts.scheme in ("wss", "https") else None
        self._prefix = "/" + secrets.token_urlsafe(24)
        self._server: asyncio.Server | None = None
        self._port = 0
        self._connections: set[asyncio.Task[None]] = set()
        #: Why the last connection to the endpoint failed (for the caller's error), if one did.
        self.failure: str | None = None

    async def start(self) -> PinnedRelay:
        self._server = await asyncio.start_server(self._accepted, "127.0.0.1", 0, limit=HEAD_LIMIT)
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path_and_query: str, websocket: bool) -> str:
        """The relay's plain URL (ws:// or http://) for `path_and_query` on the endpoint."""
        if not self._port:
            raise RuntimeError("the relay is not started")
        return f"{'ws' if websocket else 'http'}://127.0.0.1:{self._port}{self._prefix}{path_and_query}"

    def masked(self, text: str) -> str:
        """`text` (a client library's message) with the relay's URLs, whose path holds the token,
        shown as the cdp_url's."""
        shown = f"{self._scheme}://{self._host_header}"
        for scheme in ("ws", "http"):
            text = text.replace(f"{scheme}://127.0.0.1:{self._port}{self._prefix}", shown)
        return text

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._connections, return_exceptions=True)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._relay(reader, writer)
        except (OSError, ssl.SSLError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            log.debug("cdp_url relay: a connection ended: %s", exc)
        finally:
            writer.close()
            self._connections.discard(task)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        upstream_head = self.rewritten(head)
        if upstream_head is None:
            return
        upstream_reader, upstream_writer = await self._open()
        try:
            upstream_writer.write(upstream_head)
            await asyncio.gather(_copy(reader, upstream_writer), _copy(upstream_reader, writer))
        finally:
            upstream_writer.close()

    def rewritten(self, head: bytes) -> bytes | None:
        """The opening request as the endpoint gets it (the token taken out of its target, `Host`
        as the cdp_url names it), or None if it does not carry the token."""
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return None
        prefix = self._prefix
        if not hmac.compare_digest(target[: len(prefix)].encode("latin-1"), prefix.encode("ascii")):
            return None
        rest = target[len(prefix) :]
        if rest[:1] not in ("", "/", "?"):
            return None
        rest = rest if rest.startswith("/") else "/" + rest
        headers = [line for line in lines[1:] if line and not line.lower().startswith("host:")]
        return "\r\n".join([f"{method} {rest} {version}", f"Host: {self._host_header}", *headers, "", ""]).encode(
            "latin-1"
        )

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the first checked address that answers."""
        target, context = self._target, self._tls
        failure: Exception = OSError(f"no address of {target.host}")
        for address in target.addresses:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(
                        address,
                        target.port,
                        ssl=context,
                        server_hostname=target.host if context is not None else None,
                        limit=CHUNK,
                    ),
                    CONNECT_TIMEOUT_S,
                )
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                failure = exc
                where = target.host if target.host == address else f"{target.host} ({address})"
                self.failure = f"could not connect to {where}: {str(exc) or type(exc).__name__}"
        raise failure


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until `reader` ends, then close `writer` (which ends the other direction's copy too)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        writer.close()
