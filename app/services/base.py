"""What every write shares: the transaction, the expected-failure exception, validation,
and the one conditional UPDATE that changes a row (optimistic concurrency included)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.ids import InvalidIdError, parse_id
from app.timeutil import format_datetime

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 255
MAX_TEXT = 10_000


class Code(Enum):
    """Why an expected failure happened (the GraphQL UserErrorCode)."""

    NOT_FOUND = "NOT_FOUND"
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    BOOKING_FULL = "BOOKING_FULL"
    ALREADY_ATTENDING = "ALREADY_ATTENDING"
    ALREADY_CANCELLED = "ALREADY_CANCELLED"
    ARCHIVED = "ARCHIVED"
    NOT_GROUP_APPOINTMENT = "NOT_GROUP_APPOINTMENT"
    STALE = "STALE"


@dataclass
class Failure(Exception):
    """An expected failure: the transaction rolls back and the caller gets a user error."""

    code: Code
    field: str | None
    message: str

    def __str__(self) -> str:
        return self.message


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction: committed when the block ends, rolled back on any exception."""
    async with engine.begin() as conn:
        yield conn


def optional_id(value: str | None, expected: Any, field: str) -> int | None:
    """`input_id` for an optional input; None stays None."""
    return None if value is None else input_id(value, expected, field)


def input_id(value: str, expected: Any, field: str) -> int:
    """A database id from an input id (global or digits); INVALID names the field."""
    try:
        return parse_id(value, expected)
    except InvalidIdError as exc:
        raise Failure(Code.INVALID, field, str(exc)) from None


def check_text(
    value: str | None, field: str, *, limit: int = MAX_TEXT, required: bool = False
) -> None:
    """REQUIRED for a blank required value, TOO_LONG past `limit` characters."""
    if required and (value is None or not value.strip()):
        raise Failure(Code.REQUIRED, field, f"{field} is required.")
    if value is not None and len(value) > limit:
        raise Failure(Code.TOO_LONG, field, f"{field} must be at most {limit} characters.")
    if value is not None and "\x00" in value:
        raise Failure(Code.INVALID, field, f"{field} must not contain NUL characters.")


def check_email(value: str | None, field: str = "email") -> None:
    check_text(value, field, limit=MAX_NAME)
    if value and not EMAIL.match(value):
        raise Failure(Code.INVALID, field, f"{field} is not a valid email address.")


def check_range(value: int | None, field: str, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise Failure(Code.INVALID, field, f"{field} must be between {low} and {high}.")


async def fetch_one(conn: AsyncConnection, stmt: sa.Executable) -> Any:
    return (await conn.execute(stmt)).first()


def is_unique_violation(exc: sa.exc.IntegrityError, index: str, sqlite_columns: str) -> bool:
    """Whether an IntegrityError comes from a given unique index (PostgreSQL names it;
    SQLite names the columns)."""
    text = str(exc.orig)
    return index in text or f"UNIQUE constraint failed: {sqlite_columns}" in text


async def update_row(
    conn: AsyncConnection,
    table: sa.Table,
    found: Sequence[sa.ColumnElement[bool]],
    *,
    noun: str,
    expected: datetime | None,
    values: Mapping[str, Any],
    only_if: Sequence[sa.ColumnElement[bool]] = (),
    returning: Sequence[sa.ColumnElement[Any]] = (),
) -> Any:
    """The one statement that changes a row: UPDATE it where `found` (its id, account, not
    deleted) and `only_if` hold and, when `expected` is given, its updated_at is still
    exactly `expected` (bound through the column's type). Returns the `returning` row.

    When it matched nothing (or `values` is empty), one read in the same transaction says
    why: NOT_FOUND, STALE (field `expectedUpdatedAt`), or None for `only_if` (the caller's
    own refusal, or an idempotent no-op)."""
    unchanged = [] if expected is None else [table.c.updated_at == expected]
    if values:
        stmt = sa.update(table).where(*found, *only_if, *unchanged).values(**values)
        row = await fetch_one(conn, stmt.returning(table.c.id, *returning))
        if row is not None:
            return row
    fresh = [(table.c.updated_at == expected).label("fresh")] if expected is not None else []
    state = await fetch_one(conn, sa.select(table.c.updated_at, *fresh).where(*found))
    if state is None:
        raise Failure(Code.NOT_FOUND, "id", f"No {noun} with this id.")
    if expected is not None and not state.fresh:
        raise Failure(
            Code.STALE,
            "expectedUpdatedAt",
            f"The {noun} changed since {format_datetime(expected)}: its updatedAt is now "
            f"{format_datetime(state.updated_at)}. Reload it and try again.",
        )
    return None
