"""Writing rows: idempotent upserts within one account, checked before they are written.

An id that exists in another account is refused, never overwritten. References must
resolve within the account. Seats and the one-active-attendance rule are checked before
an attendee is written (the database's constraints stay the last word), and the
booking's `active_attendees` is recounted in the same savepoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.importer.records import Row
from app.importer.values import Reject
from app.models import metadata

TABLES = metadata.tables
A, B = TABLES["attendee"], TABLES["booking"]
CACHED = ("practitioner", "appointment_type", "patient", "patient_case", "booking")
# Attendee columns an attendee made from an individual appointment leaves empty.
_STANDIN_EMPTY = (
    "notes",
    "cancellation_url",
    "sent_email_reminders_count",
    "sent_sms_reminders_count",
    "telehealth_url",
)


def active(table: sa.Table) -> list[Any]:
    return [
        table.c.archived_at.is_(None),
        table.c.cancelled_at.is_(None),
        table.c.deleted_at.is_(None),
    ]


# Built once (per-record statements are compiled once and cached, not rebuilt).
_ACTIVE_COUNT = (
    sa.select(sa.func.count())
    .select_from(A)
    .where(A.c.booking_id == B.c.id, *active(A))
    .scalar_subquery()
)
RECOUNT = (
    sa.update(B)
    .where(
        B.c.id.in_(sa.bindparam("b_ids", expanding=True)),
        B.c.account_id == sa.bindparam("b_account"),
        B.c.active_attendees != _ACTIVE_COUNT,
    )
    .values(active_attendees=_ACTIVE_COUNT)
)
SEATS = sa.select(
    sa.func.count(), sa.func.max(sa.case((A.c.patient_id == sa.bindparam("patient"), A.c.id)))
).where(A.c.booking_id == sa.bindparam("booking"), A.c.id != sa.bindparam("attendee"), *active(A))


def _is_active(values: dict[str, Any]) -> bool:
    return all(values[c] is None for c in ("archived_at", "cancelled_at", "deleted_at"))


def _bind(table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
    """SQL NULL (not JSON null) for an empty JSON column."""
    return {
        k: sa.null() if v is None and isinstance(table.c[k].type, sa.JSON) else v
        for k, v in values.items()
    }


def _changes(row: Row, current: Any) -> dict[str, Any]:
    return {k: v for k, v in row.values.items() if getattr(current, k) != v}


class Writer:
    """Upserts rows of one account, remembering which bookings it touched."""

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        self.touched: set[int] = set()  # bookings whose seats to recount at the end
        self.attended: set[int] = set()  # bookings that got an attendee from the export
        self._cache: dict[tuple[str, int], Any] = {}
        self._prefetched: dict[tuple[str, int], Any] = {}

    async def prefetch(self, conn: AsyncConnection, ids: dict[str, list[int]]) -> None:
        """Read the rows a batch of records may update, one query per table and 500 ids
        (`current` uses each once; what the batch does not use is dropped with the next)."""
        self._prefetched.clear()
        for table, table_ids in ids.items():
            t, wanted = TABLES[table], sorted(set(table_ids))
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = await conn.execute(sa.select(t).where(t.c.id.in_(chunk)))
                found = {r.id: r for r in rows}
                self._prefetched.update({(table, i): found.get(i) for i in chunk})

    async def find(self, conn: AsyncConnection, table: str, row_id: int) -> Any:
        """The account's row with this id, or None (reference targets are cached)."""
        key = (table, row_id)
        if key in self._cache:
            return self._cache[key]
        t = TABLES[table]
        stmt = sa.select(t).where(t.c.id == row_id, t.c.account_id == self.account_id)
        found = (await conn.execute(stmt)).first()
        if found is not None and table in CACHED:
            self._cache[key] = found
        return found

    async def need(self, conn: AsyncConnection, table: str, row_id: int, field: str) -> Any:
        found = await self.find(conn, table, row_id)
        if found is None:
            raise Reject(f"{field} {row_id} not found in this account")
        return found

    async def current(self, conn: AsyncConnection, row: Row) -> Any:
        """The row this record updates, or None; Reject when the id is another account's."""
        t, key = TABLES[row.table], (row.table, row.id)
        if key in self._prefetched:
            found = self._prefetched.pop(key)
        else:
            found = (await conn.execute(sa.select(t).where(t.c.id == row.id))).first()
        if found is not None and found.account_id != self.account_id:
            raise Reject(f"id {row.id} belongs to another account; not imported")
        return found

    async def write(self, conn: AsyncConnection, row: Row, current: Any) -> str:
        """Insert or update; "new", "updated" or "unchanged"."""
        t = TABLES[row.table]
        if current is None:
            values = {**row.values, "id": row.id, "account_id": self.account_id}
            # An empty JSON column is left out, so it is SQL NULL (not JSON null).
            empty = [k for k, v in values.items() if v is None and isinstance(t.c[k].type, sa.JSON)]
            await conn.execute(t.insert(), {k: v for k, v in values.items() if k not in empty})
            outcome = "new"
        else:
            changed = _changes(row, current)
            if not changed:
                return "unchanged"
            await conn.execute(sa.update(t).where(t.c.id == row.id).values(**_bind(t, changed)))
            outcome = "updated"
        self._cache.pop((row.table, row.id), None)
        return outcome

    async def upsert(self, conn: AsyncConnection, row: Row) -> str:
        """Check and write one row in a SAVEPOINT: all of it lands, or none of it. A row
        that is already as the record says is left alone (nothing to check)."""
        current = await self.current(conn, row)
        if current is None or _changes(row, current):
            async with conn.begin_nested():
                if row.table == "patient_case":
                    await self.need(conn, "patient", row.values["patient_id"], "patient")
                elif row.table == "booking":
                    await self._check_booking(conn, row, current)
                elif row.table == "attendee":
                    await self._check_attendee(conn, row)
                outcome = await self.write(conn, row, current)
                if row.table == "attendee":
                    bookings = {row.values["booking_id"]}
                    if current is not None:
                        bookings.add(current.booking_id)  # an attendee moved: both recounted
                    await self.recount(conn, bookings)
        else:
            outcome = "unchanged"
        if row.table == "booking":
            self.touched.add(row.id)
        elif row.table == "attendee":
            self.touched.add(row.values["booking_id"])
            self.attended.add(row.values["booking_id"])
        return outcome

    async def _case(self, conn: AsyncConnection, case_id: int | None, patient_id: int) -> None:
        if case_id is not None:
            case = await self.need(conn, "patient_case", case_id, "patient_case")
            if case.patient_id != patient_id:
                raise Reject(f"patient_case {case_id} belongs to another patient")

    async def _check_booking(self, conn: AsyncConnection, row: Row, current: Any) -> None:
        v = row.values
        await self.need(conn, "appointment_type", v["appointment_type_id"], "appointment_type")
        await self.need(conn, "practitioner", v["practitioner_id"], "practitioner")
        if v["repeated_from_id"] not in (None, row.id):
            await self.need(conn, "booking", v["repeated_from_id"], "repeated_from booking")
        if v["patient_id"] is not None:
            await self.need(conn, "patient", v["patient_id"], "patient")
            await self._case(conn, v["patient_case_id"], v["patient_id"])
        if current is None:
            return
        if current.kind != v["kind"]:
            raise Reject(
                f"booking {row.id} is a {current.kind} appointment; its kind cannot change"
            )
        if current.active_attendees > (v["max_attendees"] or 1):
            raise Reject(
                f"max_attendees {v['max_attendees']} is below the booking's "
                f"{current.active_attendees} active attendees"
            )
        if v["kind"] == "individual" and v["patient_id"] != current.patient_id:
            others = sa.select(A.c.id).where(
                A.c.booking_id == row.id, A.c.id != row.id, A.c.patient_id != v["patient_id"]
            )
            if (await conn.execute(others.limit(1))).first() is not None:
                raise Reject("the patient differs from the patient of its attendee")

    async def _check_attendee(self, conn: AsyncConnection, row: Row) -> None:
        v = row.values
        booking = await self.need(conn, "booking", v["booking_id"], "booking")
        await self.need(conn, "patient", v["patient_id"], "patient")
        await self._case(conn, v["patient_case_id"], v["patient_id"])
        if booking.kind == "individual":
            if booking.patient_id != v["patient_id"]:
                raise Reject(
                    f"the patient is not the patient of individual appointment {booking.id}"
                )
            if row.id != booking.id:  # Cliniko's attendee replaces the one made for it
                await conn.execute(
                    sa.delete(A).where(A.c.id == booking.id, A.c.booking_id == booking.id)
                )
                self._prefetched.pop(("attendee", booking.id), None)
        if _is_active(v):
            await self._check_seat(conn, row, booking)

    async def _check_seat(self, conn: AsyncConnection, row: Row, booking: Any) -> None:
        """One query: the other active attendees, and one of them for the same patient."""
        params = {"patient": row.values["patient_id"], "booking": booking.id, "attendee": row.id}
        taken, twin_id = (await conn.execute(SEATS, params)).one()
        if twin_id is not None:
            raise Reject(
                f"the patient already attends booking {booking.id} (attendee {twin_id}); "
                "one active attendance per patient and booking"
            )
        seats = booking.max_attendees or 1
        if taken >= seats:
            raise Reject(f"booking {booking.id} is full ({seats} of {seats} seats taken)")

    async def recount(self, conn: AsyncConnection, booking_ids: Iterable[int]) -> None:
        """Set active_attendees to the number of active attendees (only where it differs)."""
        ids = sorted(booking_ids)
        for start in range(0, len(ids), 500):
            params = {"b_ids": ids[start : start + 500], "b_account": self.account_id}
            await conn.execute(RECOUNT, params)

    async def standin(
        self, conn: AsyncConnection, booking_id: int, values: dict[str, Any]
    ) -> str | None:
        """Make (or bring up to date) the attendee of an individual appointment that the
        export has no attendee for: its id is the appointment's. None when the booking
        already has another attendee."""
        ids = (await conn.execute(sa.select(A.c.id).where(A.c.booking_id == booking_id))).all()
        if any(found.id != booking_id for found in ids):
            return None
        row = Row("attendee", booking_id, {**dict.fromkeys(_STANDIN_EMPTY), **values})
        current = await self.current(conn, row)
        if current is not None and current.booking_id != booking_id:
            raise Reject(f"id {booking_id} is taken by an attendee of another booking")
        outcome = await self.write(conn, row, current)
        await self.recount(conn, [booking_id])
        self.touched.add(booking_id)
        return outcome
