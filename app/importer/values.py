"""Cliniko JSON values to column values. Every problem raises Reject with a reason that
names the field (and ids, codes or limits), never the value itself: values can be
patient data."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from app.timeutil import parse_datetime

MAX_ID = 2**63 - 1
Record = Mapping[str, Any]
_LINK_PATH = re.compile(r"/(?P<kind>[a-z_]+)/(?P<id>[0-9]+)/?$")


class Reject(Exception):
    """A record that cannot be imported; the message is safe to print."""


def to_id(value: Any, what: str = "id") -> int:
    """A 64-bit id from a JSON number or a string of digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise Reject(f"{what} is not an id")
    if not 1 <= number <= MAX_ID:
        raise Reject(f"{what} is out of range (1 to 2^63-1)")
    return number


def record_id(record: Record) -> int:
    if record.get("id") is None:
        raise Reject("id missing")
    return to_id(record["id"])


def link_id(
    record: Record, field: str, kinds: Collection[str], *, required: bool = False
) -> int | None:
    """The id at the end of `{"links": {"self": ".../<kind>/<id>"}}`; None when omitted."""
    link = record.get(field)
    if link is None:
        if required:
            raise Reject(f"{field} link missing")
        return None
    links = link.get("links") if isinstance(link, dict) else None
    url = links.get("self") if isinstance(links, dict) else None
    if not isinstance(url, str):
        raise Reject(f"{field} link has no links.self URL")
    match = _LINK_PATH.search(urlsplit(url).path)
    if match is None or match["kind"] not in kinds:
        wanted = " or ".join(f"/{kind}/ID" for kind in kinds)
        raise Reject(f"{field} link does not point to {wanted}")
    return to_id(match["id"], f"{field} link id")


def self_kind(record: Record) -> str | None:
    """The resource path segment of the record's own `links.self` (e.g. "patients")."""
    links = record.get("links")
    url = links.get("self") if isinstance(links, dict) else None
    if not isinstance(url, str):
        return None
    match = _LINK_PATH.search(urlsplit(url).path)
    return match["kind"] if match else None


def _blank(value: Any) -> bool:
    return value is None or value == ""


def timestamp(record: Record, field: str, *, required: bool = False) -> datetime | None:
    """An aware UTC datetime; `""` (old Cliniko payloads) counts as none."""
    value = record.get(field)
    if _blank(value):
        if required:
            raise Reject(f"{field} missing")
        return None
    if not isinstance(value, str):
        raise Reject(f"{field} is not a date-time")
    try:
        return parse_datetime(value)
    except ValueError:
        raise Reject(f"{field} is not an ISO-8601 date-time with a time zone") from None


def day(record: Record, field: str) -> date | None:
    value = record.get(field)
    if _blank(value):
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(field)
        return date.fromisoformat(value)
    except ValueError:
        raise Reject(f"{field} is not a YYYY-MM-DD date") from None


def text(
    record: Record, field: str, *, limit: int | None = None, required: bool = False
) -> str | None:
    """A string kept as given (`""` stays `""`); `required` refuses missing and blank."""
    value = record.get(field)
    if value is None or (required and isinstance(value, str) and not value.strip()):
        if required:
            raise Reject(f"{field} missing")
        return None
    if not isinstance(value, str):
        raise Reject(f"{field} is not a string")
    if limit is not None and len(value) > limit:
        raise Reject(f"{field} is longer than {limit} characters")
    return value


def boolean(record: Record, field: str) -> bool | None:
    value = record.get(field)
    if value is None or isinstance(value, bool):
        return value
    raise Reject(f"{field} is not true, false or null")


def integer(
    record: Record, field: str, low: int, high: int, *, required: bool = False
) -> int | None:
    """A whole number in [low, high] (a JSON number, or digits in a string)."""
    value = record.get(field)
    if value is None:
        if required:
            raise Reject(f"{field} missing")
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Reject(f"{field} is not a whole number")
    if not low <= value <= high:
        raise Reject(f"{field} {value} is outside {low} to {high}")
    return value


def code(record: Record, field: str, allowed: Collection[int]) -> int | None:
    """An enum code (an integer out of `allowed`), or None."""
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Reject(f"{field} is not an integer code")
    if value not in allowed:
        codes = ", ".join(str(c) for c in sorted(allowed))
        raise Reject(f"{field} {value} is not a valid code ({codes})")
    return value


def choice(record: Record, field: str, allowed: Collection[str]) -> str | None:
    value = record.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise Reject(f"{field} is not one of {', '.join(sorted(allowed))}")
    return str(value)
