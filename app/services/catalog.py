"""Practitioner and appointment type writes: create, update, archive.

The two differ only in their fields and checks; finding, inserting, updating and
archiving a row is written once for both (`Catalog`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import AppointmentType, Practitioner
from app.services.base import (
    MAX_NAME,
    Code,
    Failure,
    check_range,
    check_text,
    fetch_one,
    update_row,
)

PRACTITIONER_NAMES = {
    "first_name": ("firstName", True),
    "last_name": ("lastName", True),
    "title": ("title", False),
    "display_name": ("displayName", False),
}
RANGES = {
    "duration_in_minutes": ("durationInMinutes", 1, 1440),
    "max_attendees": ("maxAttendees", 1, 100),
}
Prepare = Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]]


def default_display_name(title: str | None, first_name: str, last_name: str) -> str:
    """The default display name: title, first and last name, leaving out blank parts."""
    parts = (part.strip() for part in (title or "", first_name, last_name))
    return " ".join(part for part in parts if part)[:MAX_NAME].rstrip()


def _practitioner(current: Mapping[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Checked columns; a display name given as null or blank is made from title and names."""
    for column, (field, required) in PRACTITIONER_NAMES.items():
        if column in fields:
            check_text(fields[column], field, limit=MAX_NAME, required=required)
    if "display_name" not in fields or (fields["display_name"] or "").strip():
        return fields
    new = {**current, **fields}
    name = default_display_name(new["title"], new["first_name"], new["last_name"])
    return {**fields, "display_name": name}


def _appointment_type(current: Mapping[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Checked columns: a name and both numbers in range, none of them null."""
    if "name" in fields:
        check_text(fields["name"], "name", limit=MAX_NAME, required=True)
    for column, (field, low, high) in RANGES.items():
        if column in fields:
            if fields[column] is None:
                raise Failure(Code.REQUIRED, field, f"{field} is required.")
            check_range(fields[column], field, low, high)
    return fields


@dataclass(frozen=True)
class Catalog:
    """One of the two tables: its rows are found, created, changed and archived alike."""

    table: sa.Table
    noun: str
    prepare: Prepare  # (current row or {}, given fields) -> the columns to write

    def _found(self, account_id: int, row_id: int) -> list[sa.ColumnElement[bool]]:
        return [self.table.c.id == row_id, self.table.c.account_id == account_id]

    async def find(self, conn: AsyncConnection, account_id: int, row_id: int) -> Any:
        row = await fetch_one(conn, sa.select(self.table).where(*self._found(account_id, row_id)))
        if row is None:
            raise Failure(Code.NOT_FOUND, "id", f"No {self.noun} with this id.")
        return row

    async def create(
        self, conn: AsyncConnection, account_id: int, fields: dict[str, Any], now: datetime
    ) -> int:
        values = self.prepare({}, fields)
        stmt = sa.insert(self.table).values(
            **values, account_id=account_id, created_at=now, updated_at=now
        )
        return int((await conn.execute(stmt.returning(self.table.c.id))).scalar_one())

    async def update(
        self,
        conn: AsyncConnection,
        account_id: int,
        row_id: int,
        changes: dict[str, Any],
        expected: datetime | None,
        now: datetime,
    ) -> int:
        """Change the given fields; nothing given leaves even updated_at as it is."""
        row = await self.find(conn, account_id, row_id)
        values = self.prepare(row._mapping, changes)
        return await self._write(conn, account_id, row_id, expected, values, now)

    async def archive(
        self,
        conn: AsyncConnection,
        account_id: int,
        row_id: int,
        expected: datetime | None,
        now: datetime,
    ) -> int:
        """Archive a row (idempotent: an archived row keeps its archivedAt)."""
        not_archived = self.table.c.archived_at.is_(None)
        values = {"archived_at": now}
        return await self._write(conn, account_id, row_id, expected, values, now, not_archived)

    async def _write(
        self,
        conn: AsyncConnection,
        account_id: int,
        row_id: int,
        expected: datetime | None,
        values: dict[str, Any],
        now: datetime,
        *only_if: sa.ColumnElement[bool],
    ) -> int:
        await update_row(
            conn,
            self.table,
            self._found(account_id, row_id),
            noun=self.noun,
            expected=expected,
            values={**values, "updated_at": now} if values else {},
            only_if=only_if,
        )
        return row_id


PRACTITIONERS = Catalog(Practitioner.__table__, "practitioner", _practitioner)  # type: ignore[attr-defined]
APPOINTMENT_TYPES = Catalog(AppointmentType.__table__, "appointment type", _appointment_type)  # type: ignore[attr-defined]


async def create_practitioner(
    conn: AsyncConnection,
    *,
    account_id: int,
    first_name: str,
    last_name: str,
    title: str | None,
    display_name: str | None,
    now: datetime,
) -> int:
    """Create a practitioner; without a display name, it is made from title and names."""
    fields = {
        "first_name": first_name,
        "last_name": last_name,
        "title": title,
        "display_name": display_name,
    }
    return await PRACTITIONERS.create(conn, account_id, fields, now)


async def update_practitioner(
    conn: AsyncConnection,
    *,
    account_id: int,
    practitioner_id: int,
    changes: dict[str, Any],
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Change the given fields; a null display name is made again from title and names."""
    return await PRACTITIONERS.update(
        conn, account_id, practitioner_id, changes, expected_updated_at, now
    )


async def archive_practitioner(
    conn: AsyncConnection,
    *,
    account_id: int,
    practitioner_id: int,
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Archive a practitioner (idempotent)."""
    return await PRACTITIONERS.archive(conn, account_id, practitioner_id, expected_updated_at, now)


async def create_appointment_type(
    conn: AsyncConnection,
    *,
    account_id: int,
    name: str,
    duration_in_minutes: int,
    max_attendees: int,
    now: datetime,
) -> int:
    """Create an appointment type; the new type's id."""
    fields = {
        "name": name,
        "duration_in_minutes": duration_in_minutes,
        "max_attendees": max_attendees,
    }
    return await APPOINTMENT_TYPES.create(conn, account_id, fields, now)


async def update_appointment_type(
    conn: AsyncConnection,
    *,
    account_id: int,
    appointment_type_id: int,
    changes: dict[str, Any],
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Change the given fields (none of them can be cleared)."""
    return await APPOINTMENT_TYPES.update(
        conn, account_id, appointment_type_id, changes, expected_updated_at, now
    )


async def archive_appointment_type(
    conn: AsyncConnection,
    *,
    account_id: int,
    appointment_type_id: int,
    expected_updated_at: datetime | None,
    now: datetime,
) -> int:
    """Archive an appointment type (idempotent)."""
    return await APPOINTMENT_TYPES.archive(
        conn, account_id, appointment_type_id, expected_updated_at, now
    )
