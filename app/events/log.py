"""The event log: one row per changed attendee or booking, written by database triggers
in the writer's own transaction (migration 0004), read here.

`seq` order is commit order (PostgreSQL: the seq is drawn at COMMIT under an advisory
lock from a sequence without a cache; SQLite: writers are serialized), so a reader that
has seen seq N has seen every committed event below it, and resuming is `seq > after`.
An `eventId` is "e" and 16 hex digits of seq: string order is event order.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.timeutil import UTCDateTime, utcnow

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_metadata = sa.MetaData()
EVENT_LOG = sa.Table(
    "event_log",
    _metadata,
    sa.Column("seq", BigId, primary_key=True),
    sa.Column("account_id", BigId, nullable=False),
    sa.Column("entity", sa.String(16), nullable=False),
    sa.Column("entity_id", BigId, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("booking_id", BigId),
    sa.Column("patient_id", BigId),
    sa.Column("practitioner_id", BigId),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
)
STATE = sa.Table(
    "event_log_state",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pruned_through", BigId, nullable=False),
)
CHANNEL = "gw_events"  # the triggers' pg_notify channel; the payload is the seq
PAGE = 1000
EVENT_ID = re.compile(r"^e[0-9a-f]{16}$")
PRUNE_LOCK = 7220002  # pg_try_advisory_xact_lock: one process prunes at a time
PRUNE_BATCH = 10_000


@dataclass(frozen=True)
class Event:
    """One log row, as the hub and the subscribers pass it around."""

    seq: int
    account_id: int
    entity: str
    entity_id: int
    kind: str
    booking_id: int | None
    patient_id: int | None
    practitioner_id: int | None
    occurred_at: datetime

    @property
    def event_id(self) -> str:
        return encode_event_id(self.seq)


@dataclass(frozen=True)
class EventFilter:
    """What a subscriber asked for; the same test in SQL (replay) and Python (live)."""

    entity: str
    booking_id: int | None = None
    patient_id: int | None = None
    practitioner_id: int | None = None
    kinds: frozenset[str] = field(default_factory=frozenset)

    def matches(self, event: Event) -> bool:
        return (
            event.entity == self.entity
            and (self.booking_id is None or event.booking_id == self.booking_id)
            and (self.patient_id is None or event.patient_id == self.patient_id)
            and (self.practitioner_id is None or event.practitioner_id == self.practitioner_id)
            and (not self.kinds or event.kind in self.kinds)
        )

    def where(self) -> list[Any]:
        t = EVENT_LOG.c
        terms: list[Any] = [t.entity == self.entity]
        if self.booking_id is not None:
            terms.append(t.booking_id == self.booking_id)
        if self.patient_id is not None:
            terms.append(t.patient_id == self.patient_id)
        if self.practitioner_id is not None:
            terms.append(t.practitioner_id == self.practitioner_id)
        if self.kinds:
            terms.append(t.kind.in_(sorted(self.kinds)))
        return terms


def encode_event_id(seq: int) -> str:
    return f"e{seq:016x}"


def _bad_cursor() -> GraphQLError:
    return GraphQLError(
        "`after` is not a valid cursor: pass an eventId this API returned.",
        extensions={"code": "BAD_USER_INPUT"},
    )


async def resume_point(engine: AsyncEngine, after: str | None) -> int | None:
    """The seq to resume after, checked against the database (a client may resume on a
    lagging process): BAD_USER_INPUT for a malformed or never-issued cursor,
    RESUME_TOO_OLD for one older than the retained log."""
    if after is None:
        return None
    if not EVENT_ID.match(after):
        raise _bad_cursor()
    seq = int(after[1:], 16)
    async with engine.connect() as conn:
        pruned = (await conn.execute(sa.select(STATE.c.pruned_through))).scalar_one()
        issued = await _last_issued(conn)
    if seq > issued:
        raise _bad_cursor()
    if seq < pruned:
        raise GraphQLError(
            "`after` is older than the events kept; reload the data and subscribe without it.",
            extensions={"code": "RESUME_TOO_OLD"},
        )
    return seq


async def _last_issued(conn: AsyncConnection) -> int:
    if conn.dialect.name == "postgresql":
        row = (await conn.execute(sa.text("SELECT last_value, is_called FROM event_log_seq"))).one()
        return int(row.last_value) if row.is_called else 0
    found = await conn.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'event_log'"))
    return int(found.scalar_one_or_none() or 0)


async def last_seq(engine: AsyncEngine) -> int:
    """The newest committed seq (0 for an empty log)."""
    async with engine.connect() as conn:
        found = (await conn.execute(sa.select(sa.func.max(EVENT_LOG.c.seq)))).scalar_one()
    return int(found or 0)


async def read_after(
    engine: AsyncEngine,
    seq: int,
    *,
    through: int | None = None,
    account_id: int | None = None,
    where: EventFilter | None = None,
    limit: int = PAGE,
) -> list[Event]:
    """Up to `limit` events after `seq` (through `through`), in order; with `account_id`
    and `where`, only that account's matching events."""
    t = EVENT_LOG.c
    stmt = sa.select(EVENT_LOG).where(t.seq > seq).order_by(t.seq).limit(limit)
    if through is not None:
        stmt = stmt.where(t.seq <= through)
    if account_id is not None:
        stmt = stmt.where(t.account_id == account_id)
    if where is not None:
        stmt = stmt.where(*where.where())
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    return [Event(**row._mapping) for row in rows]


async def prune(engine: AsyncEngine, retention: timedelta) -> int:
    """Delete events older than `retention` (plus a minute), in batches, one process at a
    time; the watermark tells a pruned cursor from one that never existed. Rows deleted."""
    deleted = 0
    cutoff = utcnow() - retention - timedelta(minutes=1)
    t = EVENT_LOG.c
    while True:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                lock = sa.select(sa.func.pg_try_advisory_xact_lock(PRUNE_LOCK))
                if not (await conn.execute(lock)).scalar_one():
                    return deleted
            bound = sa.select(t.seq).where(t.occurred_at < cutoff).order_by(t.seq)
            batch = (await conn.execute(bound.limit(PRUNE_BATCH))).scalars().all()
            if not batch:
                return deleted
            top = max(batch)
            result = await conn.execute(sa.delete(EVENT_LOG).where(t.seq <= top))
            await conn.execute(
                sa.update(STATE).values(
                    pruned_through=sa.case(
                        (STATE.c.pruned_through < top, top), else_=STATE.c.pruned_through
                    )
                )
            )
            deleted += result.rowcount


@asynccontextmanager
async def without_events(conn: AsyncConnection) -> AsyncIterator[None]:
    """Within the block, writes publish nothing (bulk synthetic data: `seed`). PostgreSQL:
    a transaction-local setting the triggers read; SQLite: the triggers are dropped and
    recreated in the same transaction (DDL is transactional there)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SET LOCAL gateway.events = 'off'"))
        yield
        return
    found = await conn.execute(
        sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN "
            "('attendee_created', 'attendee_changed', 'booking_created', 'booking_changed')"
        )
    )
    triggers = found.all()
    for name, _sql in triggers:
        await conn.execute(sa.text(f"DROP TRIGGER {name}"))
    yield
    for _name, sql in triggers:
        await conn.exec_driver_sql(sql)
