"""Global ids (Relay): base64 of `TypeName:databaseId`, and the one parser for id arguments."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection

MAX_DATABASE_ID = 2**63 - 1


class InvalidIdError(ValueError):
    """An id argument that is malformed or names another type."""


def to_global_id(type_name: str, database_id: int) -> str:
    return base64.b64encode(f"{type_name}:{database_id}".encode()).decode()


def from_global_id(value: str) -> tuple[str, int]:
    """(type name, database id) of a global id; InvalidIdError when it is not one."""
    try:
        decoded = base64.b64decode(value, validate=True).decode()
        type_name, _, raw = decoded.partition(":")
        database_id = _database_id(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidIdError(f'"{value}" is not a valid global id.') from None
    if not type_name:
        raise InvalidIdError(f'"{value}" is not a valid global id.')
    return type_name, database_id


def with_article(noun: str) -> str:
    """`an Attendee`, `a Patient`: the noun with its indefinite article."""
    return ("an " if noun[0].lower() in "aeiou" else "a ") + noun


def _database_id(raw: str) -> int:
    """Digits in canonical form (no sign, no leading zero), within the 64-bit range."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or raw.startswith("0"):
        raise ValueError(raw)
    value = int(raw)
    if not 0 < value <= MAX_DATABASE_ID:
        raise ValueError(raw)
    return value


def lookup_key(value: str, types: Collection[str]) -> tuple[str | None, int]:
    """What an id argument of a lookup asks for: the type the row must have (None: any
    of `types`, for a database id) and the database id; InvalidIdError when it is bad."""
    if value.isascii() and value.isdigit():
        return None, parse_id(value, types)
    type_name, database_id = from_global_id(value)
    parse_id(value, types)
    return type_name, database_id


def parse_id(value: str, expected: Collection[str]) -> int:
    """A database id from a global id of one of `expected` types, or from a string of digits."""
    if value.isascii() and value.isdigit():
        try:
            return _database_id(value)
        except ValueError:
            raise InvalidIdError(f'"{value}" is out of range for an id.') from None
    type_name, database_id = from_global_id(value)
    if type_name not in expected:
        wanted = " or ".join(sorted(expected))
        raise InvalidIdError(
            f'"{value}" is a global id of type {type_name}; expected the id of {with_article(wanted)}.'
        )
    return database_id
