"""Usage: an index for an account's runs by time. Usage is read from what is already kept (runs
and run seconds from `runs`, sessions and session minutes from `sessions`, model tokens from
`model_calls`, which the model layer writes): nothing is recorded twice.

Revision ID: usage_0001
"""

from __future__ import annotations

from alembic import op

revision = "usage_0001"
down_revision = "0002_one_schema"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("runs_by_account_created", "runs", ["account_id", "created_at"])


def downgrade() -> None:
    raise NotImplementedError("browserfn's schema only moves forward")
