"""One schema for both dialects, so every query is one text:
- JSON columns are TEXT on PostgreSQL too (they were JSONB): JSONB cannot hold NUL (\\u0000), so
  a run's variables or a schedule's could be refused on PostgreSQL and kept on SQLite; text JSON
  holds every value on both;
- SQLite's partial indexes on `active` say `WHERE active`, as the queries do (SQLite uses a
  partial index only when the query repeats its condition; PostgreSQL refuses `active = 1`), and
  SQLite gets the indexes PostgreSQL had: queued runs by account (queue admission) and `job_id`;
- the table that counted the hand-written migrations before Alembic goes.

Revision ID: 0002_one_schema
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_one_schema"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

JSON_COLUMNS = (
    ("runs", "variables"),
    ("function_versions", "parameters"),
    ("schedules", "variables"),
    ("sessions", "options"),
    ("webhook_deliveries", "attempts"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in JSON_COLUMNS:
            op.alter_column(table, column, type_=sa.Text(), postgresql_using=f"{column}::text")
        op.execute("DROP TABLE IF EXISTS browserfn_schema")
        return
    active = sa.text("active")
    op.add_column("runs", sa.Column("job_id", sa.BigInteger))
    op.drop_index("runs_active_by_function", "runs")
    op.drop_index("runs_by_account_state", "runs")
    op.create_index("runs_active_by_function", "runs", ["function_id", "seq"], sqlite_where=active)
    op.create_index("runs_queued_by_account", "runs", ["account_id", "seq"], sqlite_where=sa.text("state = 'queued'"))
    op.create_index("runs_active_by_account", "runs", ["account_id", "state"], sqlite_where=active)
    op.create_index("runs_by_job", "runs", ["job_id"], sqlite_where=sa.text("job_id IS NOT NULL"))


def downgrade() -> None:
    raise NotImplementedError("browserfn's schema only moves forward")
