"""Write safety: API key scopes, stored Idempotency-Key responses, audit list indexes.

Existing keys keep what they could do before scopes existed: read and write.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(
            sa.Column("scopes", sa.String(length=64), nullable=False, server_default="read write")
        )
    op.create_table(
        "idempotency_key",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("api_key_id", ID, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("response", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("api_key_id", "key", name="uq_idempotency_key_api_key_id_key"),
    )
    op.create_index("ix_idempotency_key_created_at", "idempotency_key", ["created_at"])
    op.drop_index("ix_audit_event_account_id_created_at", table_name="audit_event")
    op.create_index(
        "ix_audit_event_account_id_created_at_id",
        "audit_event",
        ["account_id", "created_at", "id"],
    )
    op.create_index(
        "ix_audit_event_account_id_entity_id", "audit_event", ["account_id", "entity_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_event_account_id_entity_id", table_name="audit_event")
    op.drop_index("ix_audit_event_account_id_created_at_id", table_name="audit_event")
    op.create_index(
        "ix_audit_event_account_id_created_at", "audit_event", ["account_id", "created_at"]
    )
    op.drop_index("ix_idempotency_key_created_at", table_name="idempotency_key")
    op.drop_table("idempotency_key")
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("scopes")
