"""Engines and per-dialect setup: SQLite pragmas and transactions, the PostgreSQL pool.

Two engines share one database: `read` runs each statement on its own (autocommit, no
BEGIN/ROLLBACK round trips), `write` opens real transactions. On SQLite the driver's
implicit transactions are turned off and every write transaction starts with
`BEGIN IMMEDIATE`, so racing writers queue on the busy timeout instead of failing.

Every wait is bounded (§10): connecting, waiting for a pooled connection, and each
statement (PostgreSQL's `statement_timeout`, with a client-side timeout a little longer
for a database that stopped answering altogether; SQLite's busy timeout). Stale pooled
connections after a database restart: the write engine pings on checkout (a mutation's
extra round trip is small beside its transaction); reads retry once on a fresh
connection instead (`RequestDB.fetch`), so the hot path pays no ping.
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

# How much longer than the server's statement_timeout the client waits for any answer.
CLIENT_TIMEOUT_GRACE_SECONDS = 1.0

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


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Turn off the driver's own transaction handling; SQLAlchemy's begin event decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_engine(url: str, settings: Settings, *, write: bool) -> AsyncEngine:
    engine = create_async_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    busy_timeout_ms = int(settings.db_statement_timeout_seconds * 1000)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_timeout_ms))
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
            read=_sqlite_engine(url, settings, write=False),
            write=_sqlite_engine(url, settings, write=True),
        )
    # Separate pools: a request holds its read connection while it waits for a write
    # connection, so one shared pool could be drained by readers waiting on writers.
    options: dict[str, Any] = {
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
        "pool_timeout": settings.db_pool_timeout_seconds,
        "connect_args": {
            "timeout": settings.db_connect_timeout_seconds,
            "command_timeout": settings.db_statement_timeout_seconds + CLIENT_TIMEOUT_GRACE_SECONDS,
            "server_settings": {
                "statement_timeout": str(int(settings.db_statement_timeout_seconds * 1000))
            },
        },
    }
    return Database(
        read=create_async_engine(url, isolation_level="AUTOCOMMIT", **options),
        write=create_async_engine(url, pool_pre_ping=True, **options),
    )
