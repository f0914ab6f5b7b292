"""Booking writes: create group and individual appointments (with repeats), update,
cancel and archive."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import AppointmentType, Practitioner
from app.services.attendees import A, B, active_patient, check_case
from app.services.base import Code, Failure, check_range, check_text, fetch_one, update_row

T: sa.Table = AppointmentType.__table__  # type: ignore[attr-defined]
PR: sa.Table = Practitioner.__table__  # type: ignore[attr-defined]
MAX_REPEATS = 51
MAX_INTERVAL = 100


@dataclass(frozen=True)
class Repeat:
    """A repeat rule: `number_of_repeats` occurrences after the first, every `interval`."""

    repeat_type: str  # Daily | Weekly | Monthly
    number_of_repeats: int
    interval: int


@dataclass(frozen=True)
class NewBooking:
    """What a create mutation asks for; None means "use the default"."""

    appointment_type_id: int
    practitioner_id: int
    starts_at: datetime
    ends_at: datetime | None = None
    notes: str | None = None
    max_attendees: int | None = None
    patient_id: int | None = None
    patient_case_id: int | None = None
    repeat: Repeat | None = None


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def end_of(start: datetime, duration: timedelta) -> datetime:
    """start + duration; INVALID when that is past the calendar's end (year 9999)."""
    try:
        return start + duration
    except OverflowError:
        raise Failure(
            Code.INVALID, "endsAt", "The booking would end after the year 9999."
        ) from None


def occurrence_start(start: datetime, repeat: Repeat, n: int) -> datetime:
    """The n-th occurrence: the start plus n times the interval, in UTC."""
    if repeat.repeat_type == "Monthly":
        return _add_months(start, n * repeat.interval)
    unit = timedelta(days=1 if repeat.repeat_type == "Daily" else 7)
    return start + n * repeat.interval * unit


async def _usable(
    conn: AsyncConnection, table: sa.Table, account_id: int, row_id: int, field: str, noun: str
) -> Any:
    row = await fetch_one(
        conn, sa.select(table).where(table.c.id == row_id, table.c.account_id == account_id)
    )
    if row is None:
        raise Failure(Code.NOT_FOUND, field, f"No {noun} with this id.")
    if row.archived_at is not None:
        raise Failure(Code.ARCHIVED, field, f"The {noun} is archived.")
    return row


def _check_repeat(repeat: Repeat | None) -> None:
    if repeat is not None:
        check_range(repeat.number_of_repeats, "repeatRule.numberOfRepeats", 1, MAX_REPEATS)
        check_range(repeat.interval, "repeatRule.repeatingInterval", 1, MAX_INTERVAL)


async def create_booking(
    conn: AsyncConnection, *, account_id: int, new: NewBooking, now: datetime
) -> int:
    """Create a group (no patient) or individual appointment and its repeat occurrences;
    an individual appointment gets its single attendee in the same transaction."""
    check_text(new.notes, "notes")
    check_range(new.max_attendees, "maxAttendees", 1, 100)
    _check_repeat(new.repeat)
    kind = "group" if new.patient_id is None else "individual"
    appointment_type = await _usable(
        conn, T, account_id, new.appointment_type_id, "appointmentTypeId", "appointment type"
    )
    await _usable(conn, PR, account_id, new.practitioner_id, "practitionerId", "practitioner")
    if new.patient_id is not None:
        await active_patient(conn, account_id, new.patient_id)
        if new.patient_case_id is not None:
            await check_case(conn, account_id, new.patient_case_id, new.patient_id)
    duration = (
        new.ends_at - new.starts_at
        if new.ends_at is not None
        else timedelta(minutes=appointment_type.duration_in_minutes)
    )
    if duration < timedelta(0):
        raise Failure(Code.INVALID, "endsAt", "endsAt must not be before startsAt.")
    base = {
        "account_id": account_id,
        "kind": kind,
        "appointment_type_id": new.appointment_type_id,
        "practitioner_id": new.practitioner_id,
        "notes": new.notes,
        "patient_id": new.patient_id,
        "patient_case_id": new.patient_case_id,
        "created_at": now,
        "updated_at": now,
        "max_attendees": (new.max_attendees or appointment_type.max_attendees)
        if kind == "group"
        else None,
        "active_attendees": 1 if kind == "individual" else 0,
    }
    origin = await _insert_booking(conn, base, new.starts_at, duration, repeat=new.repeat)
    if new.repeat is not None:
        for n in range(1, new.repeat.number_of_repeats + 1):
            try:
                start = occurrence_start(new.starts_at, new.repeat, n)
            except (OverflowError, ValueError):
                raise Failure(
                    Code.INVALID, "repeatRule", "The series runs past the year 9999."
                ) from None
            await _insert_booking(
                conn, {**base, "repeated_from_id": origin}, start, duration, repeat=None
            )
    return origin


async def _insert_booking(
    conn: AsyncConnection,
    base: dict[str, Any],
    start: datetime,
    duration: timedelta,
    *,
    repeat: Repeat | None,
) -> int:
    rule = (
        {
            "repeat_type": repeat.repeat_type,
            "number_of_repeats": repeat.number_of_repeats,
            "repeating_interval": repeat.interval,
        }
        if repeat
        else {}
    )
    values = {**base, **rule, "starts_at": start, "ends_at": end_of(start, duration)}
    booking_id = int(
        (await conn.execute(sa.insert(B).values(**values).returning(B.c.id))).scalar_one()
    )
    if base["kind"] == "individual":
        attendee = {
            k: base[k]
            for k in ("account_id", "patient_id", "patient_case_id", "created_at", "updated_at")
        }
        await conn.execute(sa.insert(A).values(**attendee, booking_id=booking_id))
    return booking_id


def _found(account_id: int, booking_id: int) -> list[sa.ColumnElement[bool]]:
    return [B.c.id == booking_id, B.c.account_id == account_id, B.c.deleted_at.is_(None)]


async def _booking(conn: AsyncConnection, account_id: int, booking_id: int) -> Any:
    row = await fetch_one(conn, sa.select(B).where(*_found(account_id, booking_id)))
    if row is None:
        raise Failure(Code.NOT_FOUND, "id", "No booking with this id.")
    return row


async def update_booking(
    conn: AsyncConnection,
    *,
    account_id: int,
    booking_id: int,
    changes: dict[str, Any],
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Change start, end, notes or seats; a new start alone keeps the duration, a null end
    is recomputed from the appointment type; seats never drop below the active attendees."""
    row = await _booking(conn, account_id, booking_id)
    check_text(changes.get("notes"), "notes")
    values = dict(changes)
    if "max_attendees" in values:
        if row.kind != "group":
            raise Failure(
                Code.INVALID, "maxAttendees", "Only group appointments have maxAttendees."
            )
        if values["max_attendees"] is None:
            raise Failure(Code.REQUIRED, "maxAttendees", "maxAttendees cannot be cleared.")
        check_range(values["max_attendees"], "maxAttendees", 1, 100)
    if "starts_at" in values and values["starts_at"] is None:
        raise Failure(Code.REQUIRED, "startsAt", "startsAt cannot be cleared.")
    starts = values.get("starts_at", row.starts_at)
    if "ends_at" not in values and "starts_at" in values:
        values["ends_at"] = end_of(starts, row.ends_at - row.starts_at)
    elif "ends_at" in values and values["ends_at"] is None:
        minutes = (
            await fetch_one(
                conn, sa.select(T.c.duration_in_minutes).where(T.c.id == row.appointment_type_id)
            )
        )[0]
        values["ends_at"] = end_of(starts, timedelta(minutes=minutes))
    if values.get("ends_at", row.ends_at) < starts:
        raise Failure(Code.INVALID, "endsAt", "endsAt must not be before startsAt.")
    seats = values.get("max_attendees")
    changed = await update_row(
        conn,
        B,
        _found(account_id, booking_id),
        noun="booking",
        expected=expected_updated_at,
        values={**values, "updated_at": now} if values else {},
        # atomic with concurrent joins: the seats check is in the UPDATE
        only_if=[B.c.active_attendees <= seats] if seats is not None else [],
    )
    if changed is None and seats is not None:
        raise Failure(
            Code.INVALID,
            "maxAttendees",
            "maxAttendees cannot be below the number of active attendees.",
        )
    return booking_id


async def cancel_booking(
    conn: AsyncConnection,
    *,
    account_id: int,
    booking_id: int,
    reason: int,
    note: str | None,
    apply_to_repeats: bool,
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Cancel a booking and its attendees (final); with `apply_to_repeats`, also every
    later occurrence of its series. The booking's own conditional UPDATE comes first, so
    a refusal (ALREADY_CANCELLED, STALE) happens before anything else is written."""
    check_text(note, "cancellationNote")
    row = await _booking(conn, account_id, booking_id)
    cancel = {
        "cancelled_at": now,
        "cancellation_reason": reason,
        "cancellation_note": note,
        "updated_at": now,
    }
    cancelled = await update_row(
        conn,
        B,
        _found(account_id, booking_id),
        noun="booking",
        expected=expected_updated_at,
        values={**cancel, "active_attendees": 0},
        only_if=[B.c.cancelled_at.is_(None)],
    )
    if cancelled is None:
        raise Failure(Code.ALREADY_CANCELLED, "id", "The booking is already cancelled.")
    targets = [booking_id]
    if apply_to_repeats:
        series = row.repeated_from_id or row.id
        later = (
            sa.update(B)
            .where(
                B.c.account_id == account_id,
                sa.or_(B.c.id == series, B.c.repeated_from_id == series),
                B.c.starts_at > row.starts_at,
                B.c.cancelled_at.is_(None),
            )
            .values(**cancel, active_attendees=0)
            .returning(B.c.id)
        )
        targets += [r[0] for r in (await conn.execute(later)).all()]
    await conn.execute(
        sa.update(A).where(A.c.booking_id.in_(targets), A.c.cancelled_at.is_(None)).values(**cancel)
    )
    return booking_id


async def archive_booking(
    conn: AsyncConnection,
    *,
    account_id: int,
    booking_id: int,
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Archive a booking (idempotent); it takes no new attendees."""
    await update_row(
        conn,
        B,
        _found(account_id, booking_id),
        noun="booking",
        expected=expected_updated_at,
        values={"archived_at": now, "updated_at": now},
        only_if=[B.c.archived_at.is_(None)],
    )
    return booking_id
