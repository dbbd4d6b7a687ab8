"""Upload-time check of Notte's restricted mode (the policy itself is sandbox/policy.py, which the
run's process applies again at run time)."""

from __future__ import annotations

from browserfn.errors import InvalidScript
from browserfn.sandbox import policy


def validate(code: str, filename: str) -> None:
    """Raise InvalidScript naming each violation's line and rule."""
    found = policy.violations(code, filename)
    if found:
        raise InvalidScript(
            "script refused by restricted mode (upload with restricted=false to run plain Python): " + "; ".join(found)
        )
