"""Keeps runs off the machine's internal services: packets from run uids (isolation.py) to any
address of this machine are refused, except to browserfn's API ports and DNS. The internet stays
reachable (scripts drive browsers). Needs root and nftables (`nft`); without them runs can reach
local ports, and the server logs a warning once (README "Isolation")."""

from __future__ import annotations

import logging
import shutil
import subprocess

from browserfn.sandbox.isolation import RUN_UID_BASE, RUN_UID_RANGE

log = logging.getLogger(__name__)
TABLE = "browserfn"
_RULE_COMMENT = "browserfn-runs-local"


def _nft(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True, timeout=10)


def allow_api_ports(ports: set[int]) -> bool:
    """Install the table (idempotent; servers on one machine share it) and let run uids reach
    `ports` on this machine. False, with a warning, where nftables is unavailable."""
    if shutil.which("nft") is None:
        log.warning("nft not found: runs can reach this machine's local ports (install nftables)")
        return False
    uids = f"{RUN_UID_BASE}-{RUN_UID_BASE + RUN_UID_RANGE - 1}"
    setup = f"""
add table inet {TABLE}
add set inet {TABLE} api_ports {{ type inet_service; }}
add chain inet {TABLE} output {{ type filter hook output priority 0; policy accept; }}
add element inet {TABLE} api_ports {{ 53, {", ".join(str(p) for p in sorted(ports))} }}
"""
    done = _nft(setup)
    if done.returncode != 0:
        log.warning("nftables refused the run firewall (%s): runs can reach local ports", done.stderr.strip())
        return False
    listed = subprocess.run(["nft", "list", "chain", "inet", TABLE, "output"], capture_output=True, text=True)
    if _RULE_COMMENT not in listed.stdout:
        match = f"add rule inet {TABLE} output meta skuid {uids} fib daddr type local meta l4proto"
        rules = (
            f'{match} tcp th dport != @api_ports reject with tcp reset comment "{_RULE_COMMENT}"\n'
            f'{match} != tcp th dport != 53 reject comment "{_RULE_COMMENT}-other"\n'
        )
        done = _nft(rules)
        if done.returncode != 0:
            log.warning("nftables refused the run firewall rule (%s)", done.stderr.strip())
            return False
    return True
