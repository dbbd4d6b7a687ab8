"""Keeps runs off the machine's internal services: packets from run uids (isolation.py) to any
address of this machine are refused, except to browserfn's API ports and DNS. The internet stays
reachable (scripts drive browsers). Needs root and nftables (`nft`); without them runs can reach
local ports, and the server logs a warning once (README "Isolation").

It also guards each browser's DevTools port, which takes no credential: only the server's own
uid may connect to it, so neither a run nor any other local user can drive a session's browser
except through the server's CDP proxy (whose URL carries the session's token)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

from browserfn.sandbox.isolation import RUN_UID_BASE, RUN_UID_RANGE

log = logging.getLogger(__name__)
TABLE = "browserfn"
_RULE_COMMENT = "browserfn-runs-local"
#: Which live process needs which API port open to runs, one file per process (`<pid>.json`:
#: its start time and ports), machine-wide as the nftables set is: a port stays in `api_ports`
#: while a live owner claims it, so a server killed outright (no stop to take its ports out)
#: loses them when the next one starts or stops, and a port two servers share stays while
#: either lives.
OWNERS_DIR = Path("/run/browserfn/api-ports")


def _nft(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True, timeout=10)


def _install(declarations: str, comment: str, rules: str) -> str | None:
    """Declare the table, its output chain and `declarations` (sets, elements: idempotent, and
    servers on one machine share them), then add `rules` unless the chain already has a rule
    with `comment`. None when done, else what nftables said. One `nft` when the rules are there
    (it lists the chain after applying the declarations), two when they are not."""
    chain = f"add chain inet {TABLE} output {{ type filter hook output priority 0; policy accept; }}"
    done = _nft(f"add table inet {TABLE}\n{declarations}{chain}\nlist chain inet {TABLE} output\n")
    if done.returncode != 0:
        return done.stderr.strip()
    if comment not in done.stdout:
        done = _nft(rules)
        if done.returncode != 0:
            return done.stderr.strip()
    return None


def _started(pid: int) -> str | None:
    """When process `pid` started (clock ticks after boot, /proc/<pid>/stat field 22), None if
    there is no such process: with the pid, it names one process even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _claim(ports: set[int]) -> None:
    OWNERS_DIR.mkdir(parents=True, exist_ok=True)
    mine = OWNERS_DIR / f"{os.getpid()}.json"
    partial = mine.with_suffix(".partial")
    partial.write_text(json.dumps({"started": _started(os.getpid()), "ports": sorted(ports)}))
    partial.replace(mine)


def _claimed_by_the_living() -> set[int]:
    """The ports live owners claim; a dead owner's claim is removed."""
    ports: set[int] = set()
    for claim in OWNERS_DIR.glob("*.json") if OWNERS_DIR.is_dir() else ():
        try:
            owner = json.loads(claim.read_text())
            alive = claim.stem.isdigit() and owner["started"] == _started(int(claim.stem))
        except (OSError, ValueError, KeyError, TypeError):
            alive = False
        if alive:
            ports.update(int(p) for p in owner["ports"])
        else:
            claim.unlink(missing_ok=True)
    return ports


def _listed_api_ports() -> set[int]:
    listed = subprocess.run(
        ["nft", "-j", "list", "set", "inet", TABLE, "api_ports"], capture_output=True, text=True, timeout=10
    )
    if listed.returncode != 0:  # no table or set yet
        return set()
    found: set[int] = set()
    for entry in json.loads(listed.stdout).get("nftables", []):
        found.update(e for e in entry.get("set", {}).get("elem", []) if isinstance(e, int))
    return found


def _browserfn_listening() -> set[int]:
    """TCP ports a browserfn process listens on (one that claims no ports: a server of a
    version before claims, whose ports must stay open to its runs)."""
    listening: dict[str, int] = {}  # socket inode -> port
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    listening[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    ports: set[int] = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            inodes = {os.readlink(fd)[8:-1] for fd in fd_dir.iterdir()} & set(listening)
            if inodes and b"browserfn" in (fd_dir.parent / "cmdline").read_bytes():
                ports.update(listening[inode] for inode in inodes)
    return ports


def prune_api_ports() -> None:
    """Take out of `api_ports` every port no live owner claims and no browserfn process listens
    on (DNS stays). The set is listed before the claims are read, and an owner writes its claim
    before adding its ports, so a server starting meanwhile keeps its own."""
    if shutil.which("nft") is None:
        return
    unclaimed = _listed_api_ports() - _claimed_by_the_living() - {53}
    for port in sorted(unclaimed - _browserfn_listening() if unclaimed else ()):
        _nft(f"delete element inet {TABLE} api_ports {{ {port} }}\n")


def allow_api_ports(ports: set[int]) -> bool:
    """Install the table and let run uids reach `ports` on this machine (claimed for this
    process, first taking out ports whose owners are gone). False, with a warning, where
    nftables is unavailable or refuses."""
    if shutil.which("nft") is None:
        log.warning("nft not found: runs can reach this machine's local ports (install nftables)")
        return False
    _claim(ports)
    prune_api_ports()
    uids = f"{RUN_UID_BASE}-{RUN_UID_BASE + RUN_UID_RANGE - 1}"
    declarations = (
        f"add set inet {TABLE} api_ports {{ type inet_service; }}\n"
        f"add element inet {TABLE} api_ports {{ 53, {', '.join(str(p) for p in sorted(ports))} }}\n"
    )
    match = f"add rule inet {TABLE} output meta skuid {uids} fib daddr type local meta l4proto"
    rules = (
        f'{match} tcp th dport != @api_ports reject with tcp reset comment "{_RULE_COMMENT}"\n'
        f'{match} != tcp th dport != 53 reject comment "{_RULE_COMMENT}-other"\n'
    )
    refused = _install(declarations, _RULE_COMMENT, rules)
    if refused is not None:
        log.warning("nftables refused the run firewall (%s): runs can reach local ports", refused)
        return False
    return True


def release_api_ports() -> None:
    """This process has stopped serving runs: its ports leave the ones runs may reach, unless
    another live server claims them too."""
    with contextlib.suppress(OSError):
        (OWNERS_DIR / f"{os.getpid()}.json").unlink(missing_ok=True)
    prune_api_ports()


_DEVTOOLS_COMMENT = "browserfn-devtools-v2"


def guard_devtools_port(port: int) -> bool:
    """Let only this process's uid connect to `port` on this machine. Call it before the
    browser listens there, so there is no moment when the port is open to everyone. False where
    nftables is unavailable or refuses. `port` must be free now (the caller just found it so).
    (A port left in the set by a server killed outright never blocks an API port: the rule
    skips `api_ports`.)"""
    if shutil.which("nft") is None:
        return False
    declarations = (
        f"add set inet {TABLE} devtools_ports {{ type inet_service; }}\n"
        f"add set inet {TABLE} api_ports {{ type inet_service; }}\n"
        f"add element inet {TABLE} devtools_ports {{ {port} }}\n"
        # Free right now, so no API server listens there: in `api_ports` it is a killed server's
        # stale entry, which the rule would skip. (Added first: deleting an absent element fails.)
        f"add element inet {TABLE} api_ports {{ {port} }}\n"
        f"delete element inet {TABLE} api_ports {{ {port} }}\n"
    )
    rule = (
        f"add rule inet {TABLE} output meta skuid != {os.geteuid()} fib daddr type local "
        f"tcp dport @devtools_ports tcp dport != @api_ports "
        f'reject with tcp reset comment "{_DEVTOOLS_COMMENT}"\n'
    )
    return _install(declarations, _DEVTOOLS_COMMENT, rule) is None


def release_devtools_port(port: int) -> None:
    """The browser on `port` is gone: the port is an ordinary one again."""
    if shutil.which("nft") is not None:
        _nft(f"delete element inet {TABLE} devtools_ports {{ {port} }}\n")
