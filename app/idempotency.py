"""Idempotency-Key (contract §9): a retried mutation request answers what the first did.

A POST carrying the header runs all its mutations in one transaction on one write
connection. Its first mutation claims the key there (`INSERT ... ON CONFLICT DO NOTHING`
on the unique (API key, key) pair), each mutation then runs in a savepoint, the payloads
are read on the same connection, and the response is stored in the claimed row before
the commit: the row exists exactly when the change committed.

A repeat (same API key, same Idempotency-Key, same body, within 24 hours) is answered
with the stored response, without running. Two identical requests at the same moment,
on any processes: the database decides. The second claim waits on the unique index
until the first commits (then it finds the row and replays it) or rolls back (then it
claims the key and runs). The same key with another body is refused with 422.

Rows older than the retention period no longer count, and `prune` deletes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

import orjson
import sqlalchemy as sa
from graphql import GraphQLError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.context import RequestDB
from app.keycache import Caller
from app.models import IdempotencyKey
from app.timeutil import utcnow

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)
VALID = re.compile(r"[\x20-\x7e]{1,255}")
INVALID_MESSAGE = "Idempotency-Key must be 1 to 255 printable ASCII characters."
REUSED_MESSAGE = (
    "This Idempotency-Key was already used with a different request body; "
    "send a new key for a new request."
)
TABLE: sa.Table = IdempotencyKey.__table__  # type: ignore[attr-defined]


class Replayed(GraphQLError):
    """A concurrent request with the same key committed first: this one's mutations do
    not run, and the endpoint answers with the stored response instead."""

    def __init__(self) -> None:
        super().__init__("A concurrent request with this Idempotency-Key answered first.")


class KeyReused(Exception):
    """The key was used with another body (HTTP 422)."""


@dataclass(frozen=True)
class Stored:
    status_code: int
    content_type: str
    body: bytes


def request_hash(body: bytes) -> str:
    """The body's fingerprint: its JSON with keys sorted, so that the same request sent by
    another JSON encoder still counts as the same (a body that is not JSON: its bytes)."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class Idempotency:
    """One request's Idempotency-Key: the stored answer, or the claim and its transaction."""

    def __init__(self, key: str, body: bytes, caller: Caller, engine: AsyncEngine) -> None:
        self.key = key
        self.hash = request_hash(body)
        self.caller = caller
        self.engine = engine
        self.conn: AsyncConnection | None = None
        self.replay = False  # a concurrent request claimed the key first
        self.changed = False  # a mutation's savepoint was released

    def _this_key(self) -> sa.ColumnElement[bool]:
        return sa.and_(TABLE.c.api_key_id == self.caller.key_id, TABLE.c.key == self.key)

    async def stored(self, db: RequestDB) -> Stored | None:
        """The live stored response for this key; KeyReused when its body differs."""
        cutoff = utcnow() - RETENTION
        rows = await db.fetch(
            sa.select(
                TABLE.c.request_hash, TABLE.c.status_code, TABLE.c.content_type, TABLE.c.response
            ).where(self._this_key(), TABLE.c.created_at > cutoff)
        )
        if not rows:
            return None
        row = rows[0]
        if row.request_hash != self.hash:
            raise KeyReused(REUSED_MESSAGE)
        return Stored(row.status_code, row.content_type, bytes(row.response))

    async def connection(self) -> AsyncConnection:
        """The request's write connection, in a transaction that holds the claimed key;
        Replayed when another request holds it."""
        if self.replay:
            raise Replayed()
        if self.conn is None:
            conn = await self.engine.connect()
            try:
                await conn.begin()
                claimed = await self._claim(conn)
            except BaseException:
                await _close(conn)
                raise
            if not claimed:
                await _close(conn)
                self.replay = True
                raise Replayed()
            self.conn = conn
        return self.conn

    async def _claim(self, conn: AsyncConnection) -> bool:
        now = utcnow()
        # A row past the retention period no longer counts: this request starts afresh.
        await conn.execute(
            sa.delete(TABLE).where(self._this_key(), TABLE.c.created_at <= now - RETENTION)
        )
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = (
            insert(TABLE)
            .values(
                account_id=self.caller.account_id,
                api_key_id=self.caller.key_id,
                key=self.key,
                request_hash=self.hash,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["api_key_id", "key"])
            .returning(TABLE.c.id)
        )
        return (await conn.execute(stmt)).first() is not None

    async def commit(self, answer: Stored) -> None:
        """Store the response with the claim and commit both with the change."""
        assert self.conn is not None
        conn, self.conn = self.conn, None
        try:
            await conn.execute(
                sa.update(TABLE)
                .where(self._this_key())
                .values(
                    status_code=answer.status_code,
                    content_type=answer.content_type,
                    response=answer.body,
                )
            )
            await conn.commit()
        finally:
            await _close(conn)

    async def abandon(self) -> None:
        """Roll back the claim and every change of the request (nothing is stored)."""
        if self.conn is not None:
            conn, self.conn = self.conn, None
            await _close(conn)


async def _close(conn: AsyncConnection) -> None:
    """Give a connection back; closing rolls back what was not committed. A connection
    in an unknown state (cancelled mid-statement) is thrown away instead."""
    try:
        await conn.close()
    except BaseException:
        with contextlib.suppress(Exception):
            await conn.invalidate()
        raise


async def prune(conn: AsyncConnection) -> int:
    """Delete the keys older than the retention period; how many."""
    result = await conn.execute(sa.delete(TABLE).where(TABLE.c.created_at <= utcnow() - RETENTION))
    return int(result.rowcount or 0)
