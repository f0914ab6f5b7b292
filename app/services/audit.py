"""The audit trail: who changed what, written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import AuditEvent

AUDIT: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]


async def record(
    conn: AsyncConnection,
    *,
    account_id: int,
    api_key_id: int | None,
    operation: str,
    entity_type: str,
    entity_id: int,
    now: datetime,
) -> None:
    """One audit row; it commits or rolls back with the change it describes."""
    await conn.execute(
        sa.insert(AUDIT).values(
            account_id=account_id,
            api_key_id=api_key_id,
            operation=operation,
            entity_type=entity_type,
            entity_id=entity_id,
            created_at=now,
        )
    )
