"""Large run payloads: a run's result, logs or variables too large to send inline, uploaded by
the client to a signed link before it reports the run (Notte's run payload references).

Revision ID: run_payloads_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from browserfn.store.columns import BigInteger, Bytes, Text, Time

revision = "run_payloads_0001"
down_revision = "0002_one_schema"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_payloads",
        sa.Column("upload_id", Text, primary_key=True),
        sa.Column("run_id", Text, nullable=False),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("field", Text, nullable=False),
        sa.Column("size_bytes", BigInteger, nullable=False),
        sa.Column("sha256", Text, nullable=False),
        sa.Column("content", Bytes),  # NULL until uploaded
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_index("run_payloads_by_run", "run_payloads", ["run_id"])


def downgrade() -> None:
    raise NotImplementedError("browserfn's schema only moves forward")
