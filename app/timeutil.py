"""UTC time: the one column type for timestamps, and the contract's text format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """ISO-8601 in UTC with a `Z`; the fraction only when there is one."""
    if value.tzinfo is not UTC:
        value = as_utc(value)
    return value.isoformat()[:-6] + "Z"  # isoformat drops a zero fraction; cut "+00:00"


def parse_datetime(text: str) -> datetime:
    """Parse ISO-8601 with a zone (`Z` or an offset) into aware UTC; refuse naive text."""
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; send UTC with a Z suffix")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores UTC (timestamptz on PostgreSQL) and always returns aware UTC datetimes."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)
