"""Agents (their request, state and steps) and the record of every model call (usage).

Revision ID: agents_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from browserfn.store.columns import BigInteger, Flag, Integer, JsonText, Seq, Text, Time

revision = "agents_0001"
down_revision = "0002_one_schema"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("agent_id", Text, nullable=False, unique=True),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("session_id", Text, nullable=False),
        sa.Column("run_id", Text),
        sa.Column("owner_url", Text, nullable=False),  #: the process running it
        sa.Column("request", JsonText, nullable=False),  #: task, url, response_format, max_steps, session_offset
        sa.Column("model", Text, nullable=False),
        sa.Column("state", Text, nullable=False),  #: running | succeeded | failed | stopped
        sa.Column("active", Flag, nullable=False),
        sa.Column("success", Flag),
        sa.Column("answer", Text),
        sa.Column("reason", Text),
        sa.Column("start_url", Text),
        sa.Column("steps", JsonText, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("closed_at", Time),
        sqlite_autoincrement=True,
    )
    op.create_index("agents_by_account", "agents", ["account_id", "seq"])
    op.create_index(
        "agents_running_by_owner",
        "agents",
        ["owner_url"],
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "model_calls",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("run_id", Text),
        sa.Column("session_id", Text),
        sa.Column("agent_id", Text),
        sa.Column("purpose", Text, nullable=False),  #: scrape | observe | agent | form_fill
        sa.Column("model", Text, nullable=False),
        sa.Column("tokens_in", BigInteger, nullable=False),
        sa.Column("tokens_out", BigInteger, nullable=False),
        sa.Column("duration_ms", Integer, nullable=False),
        sa.Column("ok", Flag, nullable=False),
        sa.Column("error", Text),
        sa.Column("at", Time, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("model_calls_by_account", "model_calls", ["account_id", "seq"])
    op.create_index("model_calls_by_session", "model_calls", ["session_id"])
    op.create_index("model_calls_by_run", "model_calls", ["run_id"])


def downgrade() -> None:
    raise NotImplementedError("browserfn's schema only moves forward")
