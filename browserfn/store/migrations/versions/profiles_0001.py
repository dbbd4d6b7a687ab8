"""Browser profiles: a saved browser state (cookies, local and session storage) per account,
put into the sessions started with it, and the lease of the one session that may write it back.

Revision ID: profiles_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from browserfn.store.columns import JsonText, Seq, Text, Time

revision = "profiles_0001"
down_revision = "0002_one_schema"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("profile_id", Text, nullable=False, unique=True),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("name", Text),
        sa.Column("state", JsonText, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.Column("writer_session_id", Text),  # the session holding the write lease, if any
        sa.Column("writer_since", Time),
        sqlite_autoincrement=True,
    )
    op.create_index("profiles_by_account", "profiles", ["account_id", "seq"])


def downgrade() -> None:
    raise NotImplementedError("browserfn's schema only moves forward")
