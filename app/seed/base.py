"""Shared by the seeders and the CLI: accounts, API keys, explicit ids, sequences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth import generate_api_key, hash_api_key
from app.models import metadata
from app.timeutil import utcnow

TABLES = metadata.tables
ACCOUNT = TABLES["account"]
API_KEY = TABLES["api_key"]
# Insert order: every table after the tables it references.
DATA_TABLES = ("practitioner", "appointment_type", "patient", "patient_case", "booking", "attendee")


class SeedError(Exception):
    """A refusal the CLI shows as one line (for example: the database is not empty)."""


class AccountNotFound(SeedError):
    """The given account id does not exist."""


async def create_account(conn: AsyncConnection, *, name: str, now: datetime | None = None) -> int:
    """Insert an account and return its id."""
    stmt = ACCOUNT.insert().values(name=name, created_at=now or utcnow()).returning(ACCOUNT.c.id)
    return int((await conn.execute(stmt)).scalar_one())


async def ensure_account(conn: AsyncConnection, *, account_id: int) -> None:
    """Raise AccountNotFound unless the account exists."""
    found = await conn.scalar(sa.select(ACCOUNT.c.id).where(ACCOUNT.c.id == account_id))
    if found is None:
        raise AccountNotFound(f"account {account_id} does not exist")


async def create_api_key(
    conn: AsyncConnection,
    *,
    account_id: int,
    name: str | None,
    scopes: Sequence[str] = ("read", "write"),
    now: datetime | None = None,
) -> str:
    """Store a new key's hash for an existing account; return the key (shown once)."""
    await ensure_account(conn, account_id=account_id)
    key = generate_api_key()
    await conn.execute(
        API_KEY.insert().values(
            account_id=account_id,
            name=name,
            key_hash=hash_api_key(key),
            scopes=" ".join(scopes),
            created_at=now or utcnow(),
        )
    )
    return key


async def key_account(conn: AsyncConnection, *, key: str) -> int | None:
    """The account of an unrevoked API key, or None (scripts/run checks its saved demo key)."""
    found = await conn.scalar(
        sa.select(API_KEY.c.account_id).where(
            API_KEY.c.key_hash == hash_api_key(key), API_KEY.c.revoked_at.is_(None)
        )
    )
    return None if found is None else int(found)


async def has_accounts(conn: AsyncConnection) -> bool:
    """Whether any account exists."""
    return (await conn.scalar(sa.select(ACCOUNT.c.id).limit(1))) is not None


async def next_ids(conn: AsyncConnection, names: Iterable[str]) -> dict[str, int]:
    """The first free id of each table (explicit ids; call sync_sequences afterwards)."""
    ids = {}
    for name in names:
        table = TABLES[name]
        ids[name] = int(await conn.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1
    return ids


async def insert_rows(
    conn: AsyncConnection, name: str, rows: Sequence[Mapping[str, Any]], *, batch: int = 5000
) -> None:
    """Insert dict rows in executemany batches (every row must have the same keys)."""
    for start in range(0, len(rows), batch):
        await conn.execute(TABLES[name].insert(), list(rows[start : start + batch]))


async def sync_sequences(conn: AsyncConnection, names: Iterable[str]) -> None:
    """PostgreSQL: move each id sequence past the largest id inserted explicitly."""
    if conn.dialect.name != "postgresql":
        return
    for name in names:
        await conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) "
                f"FROM {name} HAVING max(id) IS NOT NULL"
            )
        )
