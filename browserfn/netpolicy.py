"""Which addresses the server may connect to on a tenant's behalf (webhooks, `callback_url`, and any
other URL a tenant hands the server): public ones only. Loopback, private, link-local, shared
(carrier-grade NAT), multicast, reserved and unspecified addresses are refused, and so are this
machine's own addresses (a public address of the server reaches its local services too), whatever
name leads there: the check runs on the addresses a name resolves to, not on the name. IPv6 forms
that carry an IPv4 address (mapped, NAT64, 6to4, Teredo) are judged by that IPv4 address.

An operator may allow listed hosts (`Settings.outbound_allowed_hosts`): a host name (matched as the
URL gives it), an IP address, or a CIDR network (matched against every resolved address).

Use: `await policy.check_url(url)` when a URL is registered (an InvalidInput names the reason), and
`await policy.resolve(host, port)` just before connecting, then connect to one of the returned,
checked addresses itself (never let a client library resolve the name again: a DNS answer that
changes between the check and the connection, "DNS rebinding", would otherwise get through).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import itertools
import socket
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from browserfn.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: This machine's addresses are read again after this long (interfaces come and go).
OWN_ADDRESSES_TTL_S = 30.0


class AddressRefused(InvalidInput):
    """A URL whose host is, or resolves to, an address the policy refuses (or does not resolve)."""


@dataclasses.dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`, in resolver order) and what to call the host."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def kind_of(address: IPAddress) -> str | None:
    """Why `address` is not public ("loopback", "private", ...), or None for a public address."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        return kind_of(inner)
    for kind, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return kind
    return None if address.is_global else "non-public"


def _proc_addresses() -> set[IPAddress]:
    """This machine's interface addresses, from /proc (IPv4: the LOCAL entries of the routing trie)."""
    found: set[IPAddress] = set()
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
    except OSError:
        lines = []
    for previous, line in itertools.pairwise(lines):
        if line.strip() == "/32 host LOCAL":
            candidate = previous.strip().removeprefix("|-- ")
            with contextlib.suppress(ValueError):
                found.add(ipaddress.ip_address(candidate))
    try:
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            hex_address = line.split()[0]
            found.add(ipaddress.IPv6Address(int(hex_address, 16)))
    except (OSError, IndexError, ValueError):
        pass
    return found


def own_addresses() -> frozenset[IPAddress]:
    """Every address of this machine: its interfaces' and what its host name resolves to."""
    found = _proc_addresses()
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM)
    except OSError:
        infos = []
    for info in infos:
        with contextlib.suppress(ValueError):
            found.add(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
    return frozenset(found)


def _parse_allowed(entries: Iterable[str]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in entries:
        entry = raw.strip().lower().strip("[]")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return frozenset(names), tuple(networks)


class AddressPolicy:
    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        self._allowed_names, self._allowed_networks = _parse_allowed(allowed_hosts)
        self._own: frozenset[IPAddress] = frozenset()
        self._own_read_at = -OWN_ADDRESSES_TTL_S

    def _own_addresses(self) -> frozenset[IPAddress]:
        now = time.monotonic()
        if now - self._own_read_at >= OWN_ADDRESSES_TTL_S:
            self._own, self._own_read_at = own_addresses(), now
        return self._own

    def refusal(self, address: IPAddress) -> str | None:
        """Why the server may not connect to `address`, or None if it may."""
        if any(address in network for network in self._allowed_networks):
            return None
        kind = kind_of(address)
        if kind is not None:
            return f"a {kind} address"
        if address in self._own_addresses():
            return "an address of this server"
        return None

    async def resolve(self, host: str, port: int) -> tuple[str, ...]:
        """The addresses `host` resolves to, every one of them allowed; AddressRefused otherwise."""
        name = host.lower().strip("[]").rstrip(".")
        try:
            literal: IPAddress | None = ipaddress.ip_address(name.split("%", 1)[0])
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise AddressRefused(f"host {host!r} could not be resolved") from exc
            addresses = []
            for info in infos:
                address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
                if address not in addresses:
                    addresses.append(address)
            if not addresses:
                raise AddressRefused(f"host {host!r} could not be resolved")
        if name not in self._allowed_names:
            for address in addresses:
                reason = self.refusal(address)
                if reason is not None:
                    shown = f"host {host!r} is" if literal is not None else f"host {host!r} resolves to"
                    raise AddressRefused(
                        f"{shown} {reason}: the server connects only to public addresses "
                        "(an operator may allow hosts with BROWSERFN_OUTBOUND_ALLOWED_HOSTS)"
                    )
        return tuple(str(a) for a in addresses)

    async def check_url(self, url: str, schemes: tuple[str, ...] = ("http", "https")) -> Target:
        """Check an absolute URL with one of `schemes` whose host is allowed; InvalidInput otherwise."""
        try:
            parsed = urllib.parse.urlsplit(url)
            port = parsed.port
        except ValueError as exc:
            raise InvalidInput(f"URL {url!r} is not valid: {exc}") from exc
        if parsed.scheme not in schemes or not parsed.hostname:
            shown = "http(s)" if set(schemes) == {"http", "https"} else " or ".join(schemes)
            raise InvalidInput(f"URL must be an absolute {shown} URL, not {url!r}")
        if port is None:
            port = 443 if parsed.scheme in ("https", "wss") else 80
        addresses = await self.resolve(parsed.hostname, port)
        return Target(url, parsed.scheme, parsed.hostname, port, addresses)
