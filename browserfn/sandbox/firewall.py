"""Keeps runs off the machine's internal services: packets from run uids (isolation.py) to any
address of this machine are refused, except to browserfn's API ports and DNS. The internet stays
reachable (scripts drive browsers). Needs root and nftables (`nft`); without them runs can reach
local ports, and the server logs a warning once (README "Isolation").

It also guards each browser's DevTools port, which takes no credential: only the server's own
uid may connect to it, so neither a run nor any other local user can drive a session's browser
except through the server's CDP proxy (whose URL carries the session's token)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

from browserfn.sandbox.isolation import RUN_UID_BASE, RUN_UID_RANGE

log = logging.getLogger(__name__)
TABLE = "browserfn"
_RULE_COMMENT = "browserfn-runs-local"


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


def allow_api_ports(ports: set[int]) -> bool:
    """Install the table and let run uids reach `ports` on this machine. False, with a warning,
    where nftables is unavailable or refuses."""
    if shutil.which("nft") is None:
        log.warning("nft not found: runs can reach this machine's local ports (install nftables)")
        return False
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


def release_api_ports(ports: set[int]) -> None:
    """This server has stopped serving runs on `ports`: take them out of the ports runs may reach
    (DNS stays). Each port on its own, added first, so an absent one cannot fail the others."""
    if shutil.which("nft") is None:
        return
    for port in sorted(ports - {53}):
        _nft(f"add element inet {TABLE} api_ports {{ {port} }}\ndelete element inet {TABLE} api_ports {{ {port} }}\n")


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
