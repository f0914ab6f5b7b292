"""Engines and per-dialect setup: SQLite pragmas and transactions, the PostgreSQL pool.

Two engines share one database: `read` runs each statement on its own (autocommit, no
BEGIN/ROLLBACK round trips), `write` opens real transactions. On SQLite the driver's
implicit transactions are turned off and every write transaction starts with
`BEGIN IMMEDIATE`, so racing writers queue on the busy timeout instead of failing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.config import Settings

SQLITE_BUSY_TIMEOUT_MS = 10_000

# aiosqlite logs every call, SQL parameters (patient values) included, at DEBUG; like
# SQLAlchemy's own loggers it stays quiet unless configured on purpose.
if logging.getLogger("aiosqlite").level == logging.NOTSET:
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


@dataclass
class Database:
    """The two engines of one database."""

    read: AsyncEngine
    write: AsyncEngine

    async def dispose(self) -> None:
        await self.read.dispose()
        await self.write.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Turn off the driver's own transaction handling; SQLAlchemy's begin event decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_engine(url: str, *, write: bool) -> AsyncEngine:
    engine = create_async_engine(url, json_serializer=_json_dumps, json_deserializer=orjson.loads)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    if write:

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_database(settings: Settings) -> Database:
    """Open the engines for the configured DATABASE_URL."""
    url = settings.database_url
    if make_url(url).get_backend_name() == "sqlite":
        return Database(
            read=_sqlite_engine(url, write=False), write=_sqlite_engine(url, write=True)
        )
    # Separate pools: a request holds its read connection while it waits for a write
    # connection, so one shared pool could be drained by readers waiting on writers.
    options: dict[str, Any] = {
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
    }
    return Database(
        read=create_async_engine(url, isolation_level="AUTOCOMMIT", **options),
        write=create_async_engine(url, **options),
    )
