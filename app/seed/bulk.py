"""`seed --attendees N`: synthetic benchmark data (COPY on PostgreSQL, executemany on SQLite)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from tqdm import tqdm

from app.db import Database
from app.events.log import without_events
from app.seed import names
from app.seed.base import (
    DATA_TABLES,
    TABLES,
    SeedError,
    create_account,
    create_api_key,
    next_ids,
    sync_sequences,
)
from app.timeutil import utcnow

BATCH = 20_000
SEATS = 20
REASONS = (10, 20, 30, 31, 40, 50, 60)
PATIENT_COLUMNS = (
    "id", "account_id", "first_name", "last_name", "title", "date_of_birth", "email",
    "patient_phone_numbers", "archived_at", "created_at", "updated_at",
)  # fmt: skip
BOOKING_COLUMNS = (
    "id", "account_id", "kind", "appointment_type_id", "practitioner_id", "starts_at",
    "ends_at", "max_attendees", "active_attendees", "created_at", "updated_at",
)  # fmt: skip
ATTENDEE_COLUMNS = (
    "id", "account_id", "booking_id", "patient_id", "arrived", "cancellation_reason",
    "cancellation_note", "cancelled_at", "archived_at", "deleted_at", "email_reminder_sent",
    "sms_reminder_sent", "sent_email_reminders_count", "sent_sms_reminders_count",
    "invoice_status", "treatment_note_status", "created_at", "updated_at",
)  # fmt: skip
_STAFF_COLUMNS = (
    "id", "account_id", "first_name", "last_name", "title", "display_name",
    "created_at", "updated_at",
)  # fmt: skip
_KIND_COLUMNS = (
    "id", "account_id", "name", "duration_in_minutes", "max_attendees", "created_at", "updated_at",
)  # fmt: skip
Row = tuple[Any, ...]
_HOUR = timedelta(hours=1)


class _Writer:
    """Appends rows to a table: asyncpg COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.copy = conn.dialect.name == "postgresql"
        self._raw: Any = None
        self._dropped: list[sa.Index] = []

    async def defer_indexes(self, table: str, *, existing: int, adding: int) -> None:
        """PostgreSQL: when a load at least doubles a table, drop its secondary indexes now
        and rebuild them in `finish` (one sorted build beats a million index inserts)."""
        if not self.copy or adding < existing:
            return
        await self.conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        for index in sorted(TABLES[table].indexes, key=lambda ix: str(ix.name)):
            await self.conn.execute(sa.schema.DropIndex(index))
            self._dropped.append(index)

    @property
    def rebuilds(self) -> bool:
        """Whether `finish` has indexes to build."""
        return bool(self._dropped)

    async def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        if not rows:
            return
        if not self.copy:
            await self.conn.execute(
                TABLES[table].insert(), [dict(zip(columns, r, strict=True)) for r in rows]
            )
            return
        if self._raw is None:  # the same connection, inside the transaction already begun
            self._raw = (await self.conn.get_raw_connection()).driver_connection
        await self._raw.copy_records_to_table(table, records=rows, columns=list(columns))

    async def finish(self) -> None:
        """Rebuild the indexes dropped by `defer_indexes`."""
        for index in self._dropped:
            await self.conn.execute(sa.schema.CreateIndex(index))


class _Generator:
    """Deterministic synthetic rows with explicit ids."""

    def __init__(
        self, rng: random.Random, now: datetime, account_id: int, ids: dict[str, int], *, size: int
    ) -> None:
        self.rng, self.now, self.account_id, self.ids = rng, now, account_id, ids
        # Bookings run from 280 days ago to 80 days ahead in start order, so ids, starts and
        # creation times grow together (as in a real clinic) and index inserts stay cheap.
        self.first_start = (now - timedelta(days=280)).replace(second=0, microsecond=0)
        self.step = timedelta(days=360) / max(1, size // 10)
        self.count = 0
        self.practitioners: list[int] = []
        self.kinds: list[tuple[int, timedelta]] = []
        self.first_patient, self.patients = ids["patient"], 0

    def _take(self, table: str, count: int = 1) -> int:
        first = self.ids[table]
        self.ids[table] += count
        return first

    def staff(self) -> tuple[list[Row], list[Row]]:
        """Five practitioners and three group appointment types."""
        now, account = self.now, self.account_id
        practitioners = []
        for i in range(5):
            row_id = self._take("practitioner")
            self.practitioners.append(row_id)
            first, last = names.FIRST_NAMES[i * 7], names.LAST_NAMES[i * 5]
            practitioners.append(
                (row_id, account, first, last, "Dr", f"Dr {first} {last}", now, now)
            )
        kinds = []
        for minutes in (30, 45, 60):
            row_id = self._take("appointment_type")
            self.kinds.append((row_id, timedelta(minutes=minutes)))
            kinds.append(
                (row_id, account, f"Group class ({minutes} min)", minutes, SEATS, now, now)
            )
        return practitioners, kinds

    def patients_rows(self, count: int, *, as_json: bool) -> Iterator[list[Row]]:
        """`count` patients in batches; phone lists as JSON text when `as_json`."""
        rng, account = self.rng, self.account_id
        first_id = self._take("patient", count)
        self.first_patient, self.patients = first_id, count
        oldest = self.now - timedelta(days=730)
        step = timedelta(days=720) / count
        for start in range(0, count, BATCH):
            batch = []
            for i in range(start, min(count, start + BATCH)):
                created = oldest + step * i
                phones: Any = [{"number": f"04{i:08d}"[:10], "phone_type": "Mobile"}]
                birth = date(1940, 1, 1) + timedelta(days=rng.randrange(27_000))
                batch.append(
                    (first_id + i, account, rng.choice(names.FIRST_NAMES),
                     rng.choice(names.LAST_NAMES), None, birth,
                     f"patient{first_id + i}@example.com",
                     json.dumps(phones) if as_json else phones,
                     created if rng.random() < 0.02 else None, created, created)
                )  # fmt: skip
            yield batch

    def bookings_rows(self, target: int) -> tuple[list[Row], list[Row]]:
        """Group bookings holding `target` attendees in all, with exact seat counters."""
        rng, now, account, patients = self.rng, self.now, self.account_id, self.patients
        bookings: list[Row] = []
        attendees: list[Row] = []
        day, minute = timedelta(days=1), timedelta(minutes=1)
        while len(attendees) < target:
            size = min(target - len(attendees), rng.randint(5, 15))
            booking_id = self._take("booking")
            attendee_id = self._take("attendee", size)
            kind_id, duration = rng.choice(self.kinds)
            starts = (self.first_start + self.step * self.count).replace(second=0, microsecond=0)
            self.count += 1
            ends, past = starts + duration, starts + duration < now
            created = min(starts, now + 80 * day) - 81 * day - minute * rng.randrange(2 * 24 * 60)
            base, stride = rng.randrange(patients), 1 + rng.randrange(max(1, patients // SEATS))
            active = 0
            for j in range(size):
                made = created + 53 * minute * j + timedelta(microseconds=rng.randrange(10**6))
                patient = self.first_patient + (base + j * stride) % patients
                row, is_active = _attendee(rng, attendee_id + j, booking_id, patient, made, past)
                attendees.append((row[0], account, *row[1:]))
                active += is_active
            bookings.append(
                (booking_id, account, "group", kind_id, rng.choice(self.practitioners), starts,
                 ends, SEATS, active, created, created)
            )  # fmt: skip
        return bookings, attendees


def _attendee(
    rng: random.Random, row_id: int, booking: int, patient: int, made: datetime, past: bool
) -> tuple[Row, bool]:
    """One attendee row (without the account id) and whether it is active."""
    r, r2 = rng.random(), rng.random()
    reason = note = cancelled = archived = deleted = arrived = invoice = note_status = None
    if r < 0.85 and past:  # active, in the past
        arrived = True if r2 < 0.75 else (False if r2 < 0.85 else None)
        if arrived:
            invoice, note_status = 20, 90
    if 0.85 <= r < 0.93 or r >= 0.99:  # cancelled (the last 1% also archived)
        reason, note, cancelled = REASONS[int(r2 * 7)], "Synthetic cancellation", made + _HOUR
    if 0.93 <= r < 0.97 or r >= 0.99:
        archived = made + 2 * _HOUR
    if 0.97 <= r < 0.99:
        deleted = made + 3 * _HOUR
    updated = max(made, cancelled or made, archived or made, deleted or made)
    row = (row_id, booking, patient, arrived, reason, note, cancelled, archived, deleted,
           past, past, int(past), int(past), invoice, note_status, made, updated)  # fmt: skip
    return row, r < 0.85


async def _load_bookings(
    writer: _Writer, generator: _Generator, *, attendees: int, bar: tqdm[Any]
) -> None:
    """Write bookings and attendees batch by batch, building the next batch in a thread
    while the database takes the current one."""

    def build(done: int) -> asyncio.Task[tuple[list[Row], list[Row]]]:
        size = min(BATCH, attendees - done)
        return asyncio.create_task(asyncio.to_thread(generator.bookings_rows, size))

    done, pending = 0, build(0)
    while done < attendees:
        bookings, rows = await pending
        done += len(rows)
        if done < attendees:
            pending = build(done)
        await writer.write("booking", BOOKING_COLUMNS, bookings)
        await writer.write("attendee", ATTENDEE_COLUMNS, rows)
        bar.update(len(rows))


async def seed_bulk(
    db: Database, *, attendees: int, account_id: int | None, progress: bool, seed: int = 7
) -> str:
    """Add benchmark data (about attendees/10 patients and bookings); return a new API key."""
    if attendees < 1:
        raise SeedError("--attendees must be at least 1")
    rng, now = random.Random(seed), utcnow()
    async with db.write.begin() as conn, contextlib.AsyncExitStack() as quiet:
        if account_id is None:
            account_id = await create_account(conn, name=f"Benchmark Clinic ({attendees:,})")
        key = await create_api_key(conn, account_id=account_id, name="benchmark")
        if conn.dialect.name == "postgresql":  # explicit ids: keep other writers out meanwhile
            tables = ", ".join(DATA_TABLES)
            await conn.execute(sa.text(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE"))
        ids = await next_ids(conn, DATA_TABLES)
        generator = _Generator(rng, now, account_id, ids, size=attendees)
        writer = _Writer(conn)
        patients = max(SEATS, attendees // 10)
        await quiet.enter_async_context(without_events(conn))  # synthetic rows: no events
        for table, adding in (
            ("patient", patients),
            ("booking", patients),
            ("attendee", attendees),
        ):
            await writer.defer_indexes(table, existing=ids[table] - 1, adding=adding)
        practitioners, kinds = generator.staff()
        await writer.write("practitioner", _STAFF_COLUMNS, practitioners)
        await writer.write("appointment_type", _KIND_COLUMNS, kinds)
        for batch in generator.patients_rows(patients, as_json=writer.copy):
            await writer.write("patient", PATIENT_COLUMNS, batch)
        with tqdm(total=attendees, unit="attendee", unit_scale=True, disable=not progress) as bar:
            await _load_bookings(writer, generator, attendees=attendees, bar=bar)
            if writer.rebuilds:
                bar.set_postfix_str("building indexes")
            await writer.finish()
        await sync_sequences(conn, DATA_TABLES)
    if writer.copy:
        async with db.read.connect() as conn:
            await conn.execute(sa.text(f"ANALYZE {', '.join(DATA_TABLES)}"))
    return key
