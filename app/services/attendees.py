"""Attendee writes: join a booking, update, cancel, archive.

Seats and the one-active-attendance rule are guaranteed by the database, not by a read
before the write: a seat is taken by a conditional UPDATE of the booking's counter
(checked by its row count), and a partial unique index refuses a second active attendance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Attendee, Booking, Patient, PatientCase
from app.services.base import (
    Code,
    Failure,
    check_text,
    fetch_one,
    is_unique_violation,
    update_row,
)

A: sa.Table = Attendee.__table__  # type: ignore[attr-defined]
B: sa.Table = Booking.__table__  # type: ignore[attr-defined]
P: sa.Table = Patient.__table__  # type: ignore[attr-defined]
PC: sa.Table = PatientCase.__table__  # type: ignore[attr-defined]
ACTIVE_INDEX = "uq_attendee_active_patient_per_booking"
NOT_GROUP = (
    "Only attendees of group appointments can be cancelled this way; individual "
    "appointments are cancelled through their own endpoint: use cancelBooking."
)


def _active(table: sa.Table) -> list[Any]:
    return [
        table.c.archived_at.is_(None),
        table.c.cancelled_at.is_(None),
        table.c.deleted_at.is_(None),
    ]


async def joinable_booking(conn: AsyncConnection, account_id: int, booking_id: int) -> Any:
    """The booking, if new attendees may join it; otherwise the failure that says why."""
    row = await fetch_one(
        conn, sa.select(B).where(B.c.id == booking_id, B.c.account_id == account_id)
    )
    if row is None or row.deleted_at is not None:
        raise Failure(Code.NOT_FOUND, "bookingId", "No booking with this id.")
    if row.archived_at is not None:
        raise Failure(
            Code.ARCHIVED, "bookingId", "The booking is archived and takes no new attendees."
        )
    if row.cancelled_at is not None:
        raise Failure(
            Code.ALREADY_CANCELLED,
            "bookingId",
            "The booking is cancelled and takes no new attendees.",
        )
    return row


async def active_patient(
    conn: AsyncConnection, account_id: int, patient_id: int, field: str = "patientId"
) -> Any:
    row = await fetch_one(
        conn, sa.select(P).where(P.c.id == patient_id, P.c.account_id == account_id)
    )
    if row is None or row.deleted_at is not None:
        raise Failure(Code.NOT_FOUND, field, "No patient with this id.")
    if row.archived_at is not None:
        raise Failure(Code.ARCHIVED, field, "The patient is archived.")
    return row


async def check_case(conn: AsyncConnection, account_id: int, case_id: int, patient_id: int) -> None:
    """The patient case must exist, belong to the patient and not be archived."""
    row = await fetch_one(
        conn, sa.select(PC).where(PC.c.id == case_id, PC.c.account_id == account_id)
    )
    if row is None:
        raise Failure(Code.NOT_FOUND, "patientCaseId", "No patient case with this id.")
    if row.patient_id != patient_id:
        raise Failure(Code.INVALID, "patientCaseId", "The patient case belongs to another patient.")
    if row.archived_at is not None:
        raise Failure(Code.ARCHIVED, "patientCaseId", "Case has been archived.")


async def take_seat(conn: AsyncConnection, account_id: int, booking_id: int) -> bool:
    """Take a seat if one is free (an individual appointment has one); False when full."""
    result = await conn.execute(
        sa.update(B)
        .where(
            B.c.id == booking_id,
            B.c.account_id == account_id,
            B.c.active_attendees < sa.func.coalesce(B.c.max_attendees, 1),
            *_active(B),
        )
        .values(active_attendees=B.c.active_attendees + 1)
    )
    return bool(result.rowcount == 1)


async def free_seat(conn: AsyncConnection, booking_id: int) -> None:
    await conn.execute(
        sa.update(B)
        .where(B.c.id == booking_id, B.c.active_attendees > 0)
        .values(active_attendees=B.c.active_attendees - 1)
    )


async def create_attendee(
    conn: AsyncConnection,
    *,
    account_id: int,
    booking_id: int,
    patient_id: int,
    patient_case_id: int | None,
    arrived: bool | None,
    notes: str | None,
    now: datetime,
) -> int:
    """Add a patient to a booking; the new attendee's id."""
    check_text(notes, "notes")
    booking = await joinable_booking(conn, account_id, booking_id)
    await active_patient(conn, account_id, patient_id)
    attending = sa.select(A.c.id).where(
        A.c.booking_id == booking_id, A.c.patient_id == patient_id, *_active(A)
    )
    if await fetch_one(conn, attending) is not None:
        raise _already_attending()
    if not await take_seat(conn, account_id, booking_id):
        await joinable_booking(conn, account_id, booking_id)  # changed meanwhile? say how
        raise Failure(Code.BOOKING_FULL, "bookingId", "The booking has no free seat.")
    # Checked after the seat, so a full appointment says BOOKING_FULL whoever asks.
    if booking.kind == "individual" and booking.patient_id != patient_id:
        raise Failure(
            Code.INVALID, "patientId", "An individual appointment's attendee is its own patient."
        )
    if patient_case_id is not None:
        await check_case(conn, account_id, patient_case_id, patient_id)
    values = {
        "account_id": account_id,
        "booking_id": booking_id,
        "patient_id": patient_id,
        "patient_case_id": patient_case_id,
        "arrived": arrived,
        "notes": notes,
        "created_at": now,
        "updated_at": now,
    }
    try:
        result = await conn.execute(sa.insert(A).values(**values).returning(A.c.id))
    except sa.exc.IntegrityError as exc:
        if is_unique_violation(exc, ACTIVE_INDEX, "attendee.booking_id, attendee.patient_id"):
            raise _already_attending() from None
        raise
    return int(result.scalar_one())


def _already_attending() -> Failure:
    return Failure(Code.ALREADY_ATTENDING, "patientId", "The patient already attends this booking.")


async def _attendee(conn: AsyncConnection, account_id: int, attendee_id: int) -> Any:
    stmt = (
        sa.select(A, B.c.kind, B.c.starts_at, B.c.repeated_from_id)
        .join(B, B.c.id == A.c.booking_id)
        .where(A.c.id == attendee_id, A.c.account_id == account_id)
    )
    row = await fetch_one(conn, stmt)
    if row is None:
        raise Failure(Code.NOT_FOUND, "id", "No attendee with this id.")
    return row


def _found(account_id: int, attendee_id: int) -> list[sa.ColumnElement[bool]]:
    return [A.c.id == attendee_id, A.c.account_id == account_id]


async def update_attendee(
    conn: AsyncConnection,
    *,
    account_id: int,
    attendee_id: int,
    changes: dict[str, Any],
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Change `arrived`, `notes` and/or `patient_case_id` (a None value clears it)."""
    row = await _attendee(conn, account_id, attendee_id)
    check_text(changes.get("notes"), "notes")
    if changes.get("patient_case_id") is not None:
        await check_case(conn, account_id, changes["patient_case_id"], row.patient_id)
    values = {**changes, "updated_at": now} if changes else {}
    await update_row(
        conn,
        A,
        _found(account_id, attendee_id),
        noun="attendee",
        expected=expected_updated_at,
        values=values,
    )
    return attendee_id


async def _cancel_one(
    conn: AsyncConnection,
    account_id: int,
    attendee_id: int,
    values: dict[str, Any],
    expected: datetime | None = None,
) -> bool:
    """Cancel one attendee unless already cancelled (False then); frees its seat if it held
    one. STALE when `expected` is given and the attendee changed since."""
    row = await update_row(
        conn,
        A,
        _found(account_id, attendee_id),
        noun="attendee",
        expected=expected,
        values=values,
        only_if=[A.c.cancelled_at.is_(None)],
        returning=[A.c.booking_id, A.c.archived_at, A.c.deleted_at],
    )
    if row is None:
        return False
    if row.archived_at is None and row.deleted_at is None:
        await free_seat(conn, row.booking_id)
    return True


async def cancel_attendee(
    conn: AsyncConnection,
    *,
    account_id: int,
    attendee_id: int,
    reason: int,
    note: str | None,
    apply_to_repeats: bool,
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Cancel a group appointment's attendee (final), and with `apply_to_repeats` the same
    patient's attendance in every later occurrence of the series."""
    check_text(note, "cancellationNote")
    row = await _attendee(conn, account_id, attendee_id)
    if row.kind != "group":
        raise Failure(Code.NOT_GROUP_APPOINTMENT, "id", NOT_GROUP)
    values = {
        "cancelled_at": now,
        "cancellation_reason": reason,
        "cancellation_note": note,
        "updated_at": now,
    }
    # The attendee's own conditional UPDATE comes first: a refusal leaves nothing to undo.
    if not await _cancel_one(conn, account_id, attendee_id, values, expected_updated_at):
        raise Failure(Code.ALREADY_CANCELLED, "id", "The attendee is already cancelled.")
    if apply_to_repeats:
        series = row.repeated_from_id or row.booking_id
        later = (
            sa.select(A.c.id)
            .join(B, B.c.id == A.c.booking_id)
            .where(
                A.c.account_id == account_id,
                A.c.patient_id == row.patient_id,
                *_active(A),
                sa.or_(B.c.id == series, B.c.repeated_from_id == series),
                B.c.starts_at > row.starts_at,
            )
        )
        for (later_id,) in (await conn.execute(later)).all():
            await _cancel_one(conn, account_id, later_id, values)
    return attendee_id


async def archive_attendee(
    conn: AsyncConnection,
    *,
    account_id: int,
    attendee_id: int,
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Archive an attendee (idempotent); an active one frees its seat."""
    row = await update_row(
        conn,
        A,
        _found(account_id, attendee_id),
        noun="attendee",
        expected=expected_updated_at,
        values={"archived_at": now, "updated_at": now},
        only_if=[A.c.archived_at.is_(None)],
        returning=[A.c.booking_id, A.c.cancelled_at, A.c.deleted_at],
    )
    if row is not None and row.cancelled_at is None and row.deleted_at is None:
        await free_seat(conn, row.booking_id)
    return attendee_id
