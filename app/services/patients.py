"""Patient writes: create, update, archive, unarchive.

A deleted patient (a legacy state the API cannot reach) is as good as missing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Patient
from app.services.base import MAX_NAME, Code, Failure, check_email, check_text, update_row

P: sa.Table = Patient.__table__  # type: ignore[attr-defined]
MAX_PHONE_NUMBERS = 10
MAX_PHONE_NUMBER = 50
LATEST_OFFSET = timedelta(hours=14)  # UTC+14: where the date is furthest ahead
NAMES = {
    "first_name": "firstName",
    "last_name": "lastName",
    "preferred_first_name": "preferredFirstName",
    "title": "title",
}
REQUIRED = {"first_name", "last_name"}
PhoneNumbers = list[dict[str, str | None]] | None


def _phone_numbers(numbers: PhoneNumbers) -> Any:
    """The JSON column's value: the list as given (SQL NULL for none), once it is valid."""
    if numbers is None:
        return sa.null()
    if len(numbers) > MAX_PHONE_NUMBERS:
        raise Failure(
            Code.INVALID,
            "phoneNumbers",
            f"A patient has at most {MAX_PHONE_NUMBERS} phone numbers.",
        )
    for index, item in enumerate(numbers):
        check_text(
            item["number"], f"phoneNumbers.{index}.number", limit=MAX_PHONE_NUMBER, required=True
        )
    return numbers


def _values(fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The columns to write for the given fields (a subset on update), once they are valid."""
    values = dict(fields)
    for column, field in NAMES.items():
        if column in values:
            check_text(values[column], field, limit=MAX_NAME, required=column in REQUIRED)
    if "email" in values:
        check_email(values["email"])
    born: date | None = values.get("date_of_birth")
    if born is not None and born > (now + LATEST_OFFSET).date():
        raise Failure(Code.INVALID, "dateOfBirth", "dateOfBirth cannot be in the future.")
    if "phone_numbers" in values:
        values["patient_phone_numbers"] = _phone_numbers(values.pop("phone_numbers"))
    return values


async def create_patient(
    conn: AsyncConnection,
    *,
    account_id: int,
    first_name: str,
    last_name: str,
    preferred_first_name: str | None,
    title: str | None,
    date_of_birth: date | None,
    email: str | None,
    phone_numbers: PhoneNumbers,
    now: datetime,
) -> int:
    """Create a patient; the new patient's id."""
    fields = {
        "first_name": first_name,
        "last_name": last_name,
        "preferred_first_name": preferred_first_name,
        "title": title,
        "date_of_birth": date_of_birth,
        "email": email,
        "phone_numbers": phone_numbers,
    }
    values = {**_values(fields, now), "account_id": account_id, "created_at": now}
    result = await conn.execute(sa.insert(P).values(**values, updated_at=now).returning(P.c.id))
    return int(result.scalar_one())


async def _set(
    conn: AsyncConnection,
    account_id: int,
    patient_id: int,
    expected: datetime | None,
    values: dict[str, Any],
    *only_if: sa.ColumnElement[bool],
) -> int:
    """UPDATE the patient where `only_if` holds (NOT_FOUND, STALE: see `update_row`)."""
    found = [P.c.id == patient_id, P.c.account_id == account_id, P.c.deleted_at.is_(None)]
    await update_row(
        conn, P, found, noun="patient", expected=expected, values=values, only_if=only_if
    )
    return patient_id


async def update_patient(
    conn: AsyncConnection,
    *,
    account_id: int,
    patient_id: int,
    changes: dict[str, Any],
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Change the given fields (named as create_patient's); None clears one, but the names
    cannot be cleared. Nothing given: nothing changes, not even updated_at."""
    values = _values(changes, now)
    if values:
        values["updated_at"] = now
    return await _set(conn, account_id, patient_id, expected_updated_at, values)


async def archive_patient(
    conn: AsyncConnection,
    *,
    account_id: int,
    patient_id: int,
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Archive a patient (idempotent: an archived patient keeps its archivedAt)."""
    values = {"archived_at": now, "updated_at": now}
    not_archived = P.c.archived_at.is_(None)
    return await _set(conn, account_id, patient_id, expected_updated_at, values, not_archived)


async def unarchive_patient(
    conn: AsyncConnection,
    *,
    account_id: int,
    patient_id: int,
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Bring an archived patient back (a patient that is not archived stays as it is)."""
    values = {"archived_at": None, "updated_at": now}
    archived = P.c.archived_at.is_not(None)
    return await _set(conn, account_id, patient_id, expected_updated_at, values, archived)
