"""Baseline: the schema browserfn had before Alembic (main at 7b585af: the five hand-written
migrations of sqlite_schema.py and postgres_schema.py, which differed slightly per dialect).
A database made by that code is stamped at this revision instead of running it (see migrate.py).

Revision ID: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from browserfn.store.columns import Bytes, Flag, Float, Seq, Text, Time

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

#: JSON: JSONB on PostgreSQL then (0002 makes it TEXT on both), TEXT on SQLite.
Data = sa.Text().with_variant(postgresql.JSONB(), "postgresql")
Counter = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# One-column primary keys say `nullable=True`: declared as the hand-written SQLite schema did,
# without NOT NULL (PostgreSQL implies it; SQLite would not, but no code writes a NULL key).


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    no_rowid = {} if pg else {"sqlite_with_rowid": False}
    op.create_table(
        "accounts",
        sa.Column("account_id", Text, primary_key=True, nullable=True),
        sa.Column("name", Text, nullable=False, unique=True),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", Text, primary_key=True, nullable=True),
        sa.Column("account_id", Text, sa.ForeignKey("accounts.account_id"), nullable=False),
        sa.Column("name", Text, nullable=False),
        sa.Column("prefix", Text, nullable=False),
        sa.Column("secret_hash", Text, nullable=False, unique=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("revoked_at", Time),
    )
    op.create_table(
        "server_secrets",
        sa.Column("name", Text, primary_key=True, nullable=True),
        sa.Column("value", Bytes, nullable=False),
    )
    op.create_table(
        "functions",
        sa.Column("seq", Seq, primary_key=True, nullable=True),
        sa.Column("function_id", Text, nullable=False, unique=True),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("name", Text),
        sa.Column("description", Text),
        sa.Column("shared", Flag, nullable=False, server_default=sa.false()),
        sa.Column("latest_version", Text, nullable=False),
        sa.Column("reference_function_id", Text),
        sa.Column("timeout_s", Float),
        sa.Column("default_runtime", Text, nullable=False, server_default="standard"),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.Column("deleted_at", Time),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "functions_by_account",
        "functions",
        ["account_id", "seq"],
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "function_versions",
        sa.Column("function_id", Text, primary_key=True),
        sa.Column("version", Text, primary_key=True),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("code", Text, nullable=False),
        sa.Column("parameters", Data, nullable=False),
        sa.Column("restricted", Flag, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        **no_rowid,
    )
    op.create_table(
        "runs",
        sa.Column("seq", Seq, primary_key=True, nullable=True),
        sa.Column("run_id", Text, nullable=False, unique=True),
        sa.Column("function_id", Text, nullable=False),
        sa.Column("function_version", Text, nullable=False),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("key_id", Text, nullable=False),
        sa.Column("state", Text, nullable=False),
        sa.Column("active", Flag, nullable=False),
        sa.Column("variables", Data, nullable=False),
        sa.Column("timeout_s", Float),
        sa.Column("session_id", Text),
        sa.Column("result_json", Text),
        sa.Column("reason", Text),
        sa.Column("local", Flag, nullable=False, server_default=sa.false()),
        sa.Column("origin", Text),
        sa.Column("token_hash", Text),
        *([sa.Column("job_id", sa.BigInteger)] if pg else []),
        sa.Column("last_event_seq", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.Column("started_at", Time),
        sa.Column("ended_at", Time),
        sa.Column("ordinal", Counter),
        sqlite_autoincrement=True,
    )
    active = sa.text("active") if pg else sa.text("active = 1")
    op.create_index("runs_by_function", "runs", ["function_id", "seq"])
    op.create_index(
        "runs_active_by_function", "runs", ["function_id", "seq"], sqlite_where=active, postgresql_where=active
    )
    if pg:
        op.create_index(
            "runs_queued_by_account", "runs", ["account_id", "seq"], postgresql_where=sa.text("state = 'queued'")
        )
    op.create_index(
        "runs_active_by_account" if pg else "runs_by_account_state",
        "runs",
        ["account_id", "state"],
        sqlite_where=active,
        postgresql_where=active,
    )
    op.create_index(
        "runs_by_token",
        "runs",
        ["token_hash"],
        unique=True,
        sqlite_where=sa.text("token_hash IS NOT NULL"),
        postgresql_where=sa.text("token_hash IS NOT NULL"),
    )
    if pg:
        op.create_index("runs_by_job", "runs", ["job_id"], postgresql_where=sa.text("job_id IS NOT NULL"))
    op.create_index("runs_by_ordinal", "runs", ["function_id", "account_id", "ordinal"], unique=True)
    op.create_table(
        "run_events",
        sa.Column("run_id", Text, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("type", Text, nullable=False),
        sa.Column("message", Text, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        **no_rowid,
    )
    op.create_table(
        "run_counters",
        sa.Column("function_id", Text, primary_key=True),
        sa.Column("account_id", Text, primary_key=True),
        sa.Column("last_ordinal", Counter, nullable=False),
        **no_rowid,
    )
    # schedules: a tick is claimed once (its primary key).
    op.create_table(
        "schedules",
        sa.Column("schedule_id", Text, primary_key=True, nullable=True),
        sa.Column("function_id", Text, nullable=False, unique=True),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("key_id", Text, nullable=False),
        sa.Column("cron", Text, nullable=False),
        sa.Column("timezone", Text, nullable=False),
        sa.Column("variables", Data, nullable=False),
        sa.Column("allow_overlap", Flag, nullable=False, server_default=sa.false()),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_table(
        "schedule_ticks",
        sa.Column("schedule_id", Text, primary_key=True),
        sa.Column("tick", Time, primary_key=True),
        sa.Column("function_id", Text, nullable=False),
        sa.Column("outcome", Text, nullable=False),
        sa.Column("run_id", Text),
        sa.Column("reason", Text),
        sa.Column("claimed_by", Text, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        **no_rowid,
    )
    op.create_index("schedule_ticks_by_function", "schedule_ticks", ["function_id", "tick"])
    # webhooks and their deliveries (unique per run and target).
    op.create_table(
        "webhooks",
        sa.Column("webhook_id", Text, primary_key=True, nullable=True),
        sa.Column("function_id", Text, nullable=False),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("url", Text, nullable=False),
        sa.Column("secret", Text, nullable=False),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_index("webhooks_by_function", "webhooks", ["function_id"])
    op.create_table(
        "account_webhook_secrets",
        sa.Column("account_id", Text, primary_key=True, nullable=True),
        sa.Column("secret", Text, nullable=False),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_table(
        "run_callbacks",
        sa.Column("run_id", Text, primary_key=True, nullable=True),
        sa.Column("url", Text, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("seq", Seq, primary_key=True, nullable=True),
        sa.Column("delivery_id", Text, nullable=False, unique=True),
        sa.Column("run_id", Text, nullable=False),
        sa.Column("function_id", Text, nullable=False),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("target", Text, nullable=False),
        sa.Column("url", Text, nullable=False),
        sa.Column("secret", Text, nullable=False),
        sa.Column("payload", Text, nullable=False),
        sa.Column("status", Text, nullable=False),
        sa.Column("attempts", Data, nullable=False),
        sa.Column("next_attempt_at", Time),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.UniqueConstraint("run_id", "target"),
        sqlite_autoincrement=True,
    )
    pending = sa.text("status = 'pending'")
    op.create_index(
        "webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        sqlite_where=pending,
        postgresql_where=pending,
    )
    op.create_index("webhook_deliveries_by_function", "webhook_deliveries", ["function_id", "seq"])
    # secrets: ciphertext only (scope '' = the account's, else a function's id).
    op.create_table(
        "secrets",
        sa.Column("account_id", Text, primary_key=True),
        sa.Column("scope", Text, primary_key=True),
        sa.Column("name", Text, primary_key=True),
        sa.Column("ciphertext", Bytes, nullable=False),
    )
    # browser sessions and the heartbeats of the processes hosting them.
    op.create_table(
        "sessions",
        sa.Column("seq", Seq, primary_key=True, nullable=True),
        sa.Column("session_id", Text, nullable=False, unique=True),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("run_id", Text),
        sa.Column("owner_url", Text, nullable=False),
        sa.Column("options", Data, nullable=False),
        sa.Column("idle_timeout_min", sa.Integer, nullable=False),
        sa.Column("max_duration_min", sa.Integer, nullable=False),
        sa.Column("status", Text, nullable=False),
        sa.Column("close_reason", Text),
        sa.Column("closed_by", Text),
        sa.Column("steps", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("last_accessed_at", Time, nullable=False),
        sa.Column("closed_at", Time),
        sqlite_autoincrement=True,
    )
    op.create_index("sessions_by_account", "sessions", ["account_id", "seq"])
    status_active = sa.text("status = 'active'")
    op.create_index(
        "sessions_active_by_owner",
        "sessions",
        ["owner_url"],
        sqlite_where=status_active,
        postgresql_where=status_active,
    )
    has_run = sa.text("run_id IS NOT NULL")
    op.create_index("sessions_by_run", "sessions", ["run_id"], sqlite_where=has_run, postgresql_where=has_run)
    op.create_table(
        "session_hosts",
        sa.Column("owner_url", Text, primary_key=True, nullable=True),
        sa.Column("seen_at", Time, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("browserfn's schema only moves forward")
