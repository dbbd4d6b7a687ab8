"""${message}

Revision ID: ${up_revision}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from browserfn.store.columns import Bytes, Flag, Float, JsonText, Seq, Text, Time

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    raise NotImplementedError("browserfn's schema only moves forward")
