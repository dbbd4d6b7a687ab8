"""Vaults (credentials per site, one card each, their secrets sealed) and personas (identities
with an inbox) with the mail they received.

Revision ID: identities_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from browserfn.store.columns import Bytes, Flag, Seq, Text, Time

revision = "identities_0001"
down_revision = "0002_one_schema"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vaults",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("vault_id", Text, nullable=False, unique=True),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("name", Text, nullable=False),
        sa.Column("for_persona", Flag, nullable=False, server_default=sa.false()),
        sa.Column("created_at", Time, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("vaults_by_account", "vaults", ["account_id", "seq"])
    op.create_table(
        "vault_credentials",
        sa.Column("vault_id", Text, nullable=False),
        sa.Column("url", Text, nullable=False),  # the site's registrable domain
        sa.Column("email", Text),
        sa.Column("username", Text),
        sa.Column("sealed", Bytes, nullable=False),  # password and MFA secret, encrypted (secrets.Sealer)
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("vault_id", "url"),
    )
    op.create_table(
        "vault_cards",
        sa.Column("vault_id", Text, primary_key=True),
        sa.Column("sealed", Bytes, nullable=False),  # the card, encrypted
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_table(
        "personas",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("persona_id", Text, nullable=False, unique=True),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("name", Text),
        sa.Column("first_name", Text, nullable=False),
        sa.Column("last_name", Text, nullable=False),
        sa.Column("email", Text, nullable=False, unique=True),
        sa.Column("internal_email", Text, nullable=False, unique=True),
        sa.Column("vault_id", Text),
        sa.Column("status", Text, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("personas_by_account", "personas", ["account_id", "seq"])
    op.create_index("personas_by_vault", "personas", ["vault_id"])
    op.create_table(
        "persona_emails",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("email_id", Text, nullable=False, unique=True),
        sa.Column("persona_id", Text, nullable=False),
        sa.Column("account_id", Text, nullable=False),
        sa.Column("received_at", Time, nullable=False),
        sa.Column("sender_email", Text),
        sa.Column("sender_name", Text),
        sa.Column("subject", Text, nullable=False),
        sa.Column("text_content", Text),
        sa.Column("html_content", Text),
        sa.Column("seen", Flag, nullable=False, server_default=sa.false()),
        sqlite_autoincrement=True,
    )
    op.create_index("persona_emails_by_persona", "persona_emails", ["persona_id", "seq"])


def downgrade() -> None:
    raise NotImplementedError("browserfn's schema only moves forward")
