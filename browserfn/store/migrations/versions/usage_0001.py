"""Usage: one record per metered model call (tokens), written by the module that calls models;
and an index for an account's runs by time (runs and run seconds per period come from `runs`,
sessions and session minutes from `sessions`: nothing is recorded twice).

Revision ID: usage_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from browserfn.store.columns import BigInteger, Seq, Text, Time

revision = "usage_0001"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("endpoint", Text, nullable=False),  #: Notte's usage endpoint name: page.scrape, agents.start...
        sa.Column("model", Text),
        sa.Column("prompt_tokens", BigInteger, nullable=False, server_default="0"),
        sa.Column("completion_tokens", BigInteger, nullable=False, server_default="0"),
        sa.Column("duration_ms", BigInteger, nullable=False, server_default="0"),
        sa.Column("run_id", Text),
        sa.Column("session_id", Text),
        sa.Column("created_at", Time, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("usage_records_by_account", "usage_records", ["account_id", "created_at"])
    op.create_index("runs_by_account_created", "runs", ["account_id", "created_at"])


def downgrade() -> None:
    raise NotImplementedError("browserfn's schema only moves forward")
