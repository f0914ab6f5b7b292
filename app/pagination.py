"""Keyset (cursor) pagination, written once for every connection, root or nested.

A cursor is base64url(JSON [fingerprint, [sort values..., id]]). The fingerprint is
a hash of the connection, its ordering and its filter, so a cursor made under another
ordering or filter is refused. Pages are fetched with `WHERE (keys) > (cursor keys)`
and `LIMIT n + 1`: rows are never skipped by count, so a deep page costs what the first
one costs.
Nested connections load one page per parent for all parents in one statement
(row_number() partitioned by the parent).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from app.context import RequestDB
from app.timeutil import UTCDateTime, as_utc

Key = tuple[str, bool]  # (column name, descending)


class PaginationError(ValueError):
    """Bad page arguments: sizes out of range, both first and last, a foreign cursor."""


@dataclass(frozen=True)
class Window:
    """Validated page arguments; `after`/`before` are decoded key values."""

    first: int | None
    last: int | None
    after: tuple[Any, ...] | None
    before: tuple[Any, ...] | None

    @property
    def forward(self) -> bool:
        return self.last is None

    @property
    def size(self) -> int:
        return self.last if self.first is None and self.last is not None else self.first or 0


def ordering(requested: Sequence[Key], default: Sequence[Key]) -> tuple[Key, ...]:
    """The sort keys, ending with the id in the direction of the last key."""
    keys: list[Key] = []
    for name, desc in requested or default:
        if name not in {k for k, _ in keys}:
            keys.append((name, desc))
        if name == "id":
            return tuple(keys)
    return (*keys, ("id", keys[-1][1] if keys else False))


def _canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {  # fields left at their default are left out: `{}` means no filter
            f.name: _canonical(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) not in (None, f.default)
            and not _unset(getattr(value, f.name))
        }
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _unset(value: Any) -> bool:
    return type(value).__name__ == "UnsetType"


def canonical(connection: str, keys: Sequence[Key], filter_input: Any) -> bytes:
    """The connection, its ordering and its filter as canonical JSON: equal exactly when
    they select and order the same rows."""
    return orjson.dumps(
        [connection, keys, _canonical(filter_input) or None], option=orjson.OPT_SORT_KEYS
    )


def fingerprint(connection: str, keys: Sequence[Key], filter_input: Any) -> str:
    """A short hash that ties a cursor to its connection, ordering and filter."""
    return fingerprint_of(canonical(connection, keys, filter_input))


def fingerprint_of(canonical_json: bytes) -> str:
    return hashlib.sha256(canonical_json).hexdigest()[:12]


def encode_cursor(fp: str, values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(orjson.dumps([fp, plain])).decode().rstrip("=")


def decode_cursor(cursor: str, fp: str, table: sa.Table, keys: Sequence[Key]) -> tuple[Any, ...]:
    """The key values of a cursor; PaginationError when it is malformed or foreign."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        got_fp, values = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
        raise PaginationError(f'"{cursor}" is not a valid cursor.') from None
    if got_fp != fp:
        raise PaginationError(
            "This cursor was made for another list, ordering or filter; "
            "fetch the list again without it."
        )
    if not isinstance(values, list) or len(values) != len(keys):
        raise PaginationError(f'"{cursor}" is not a valid cursor.')
    try:
        return tuple(
            _decode_value(table.c[name].type, v) for (name, _), v in zip(keys, values, strict=True)
        )
    except (ValueError, TypeError, OverflowError):  # overflow: a time past year 9999 in UTC
        raise PaginationError(f'"{cursor}" is not a valid cursor.') from None


def _decode_value(col_type: sa.types.TypeEngine[Any], value: Any) -> Any:
    # Explicit by column type: SQLModel's column types do not all report a python_type.
    if isinstance(col_type, UTCDateTime):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(value)
        return as_utc(parsed)
    if isinstance(col_type, sa.Integer):
        if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**63:
            raise TypeError(value)
        return value
    if isinstance(col_type, sa.Date):
        return date.fromisoformat(value)
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def window(
    *,
    first: int | None,
    last: int | None,
    after: str | None,
    before: str | None,
    default_size: int,
    max_size: int,
    fp: str,
    table: sa.Table,
    keys: Sequence[Key],
) -> Window:
    """Validate the Relay page arguments (the one place these rules live)."""
    if first is not None and last is not None:
        raise PaginationError("Pass either `first` or `last`, not both.")
    for name, size in (("first", first), ("last", last)):
        if size is not None and size < 0:
            raise PaginationError(f"`{name}` must not be negative (got {size}).")
        if size is not None and size > max_size:
            raise PaginationError(f"`{name}` must be at most {max_size} (got {size}).")
    if first is None and last is None:
        first = default_size
    return Window(
        first=first,
        last=last,
        after=decode_cursor(after, fp, table, keys) if after is not None else None,
        before=decode_cursor(before, fp, table, keys) if before is not None else None,
    )


def beyond(table: sa.Table, keys: Sequence[Key], values: Sequence[Any], *, forward: bool) -> Any:
    """Rows strictly after (forward) or strictly before the position `values` (plain
    values, or SQL expressions such as bind parameters)."""
    cols = [table.c[name] for name, _ in keys]
    params = [
        v if isinstance(v, sa.ColumnElement) else sa.literal(v, type_=c.type)
        for c, v in zip(cols, values, strict=True)
    ]
    greater = [desc != forward for _, desc in keys]  # True: the next rows have greater values
    if all(greater) or not any(greater):
        lhs, rhs = sa.tuple_(*cols), sa.tuple_(*params)
        return lhs > rhs if greater[0] else lhs < rhs
    clauses = []
    for i, col in enumerate(cols):
        step = col > params[i] if greater[i] else col < params[i]
        clauses.append(sa.and_(*[c == p for c, p in zip(cols[:i], params[:i], strict=True)], step))
    return sa.or_(*clauses)


def order_clauses(table: sa.FromClause, keys: Sequence[Key], *, forward: bool) -> list[Any]:
    return [table.c[name].desc() if desc == forward else table.c[name].asc() for name, desc in keys]


def bounds(table: sa.Table, keys: Sequence[Key], win: Window) -> list[Any]:
    """The WHERE terms that the after/before cursors add."""
    terms = []
    if win.after is not None:
        terms.append(beyond(table, keys, win.after, forward=True))
    if win.before is not None:
        terms.append(beyond(table, keys, win.before, forward=False))
    return terms


@dataclass
class Slice:
    """The rows of one page (in list order) and whether the fetch found one more."""

    rows: list[sa.Row[Any]]
    has_more: bool


async def fetch_page(
    db: RequestDB, table: sa.Table, where: list[Any], keys: Sequence[Key], win: Window
) -> Slice:
    """One page of a root list: one statement."""
    stmt = (
        db.select_from(table)
        .where(*where, *bounds(table, keys, win))
        .order_by(*order_clauses(table, keys, forward=win.forward))
        .limit(win.size + 1)
    )
    rows = list(await db.fetch(stmt))
    return slice_page(rows, win)


def slice_page(rows: list[Any], win: Window) -> Slice:
    """The page from the rows fetched with LIMIT size + 1, in list order."""
    has_more = len(rows) > win.size
    rows = rows[: win.size]
    if not win.forward:
        rows.reverse()
    return Slice(rows=rows, has_more=has_more)


async def fetch_pages(
    db: RequestDB,
    table: sa.Table,
    parent: str,
    parent_ids: Sequence[int],
    where: list[Any],
    keys: Sequence[Key],
    win: Window,
) -> dict[int, Slice]:
    """One page per parent for all `parent_ids`: one statement (row_number per parent)."""
    rank = sa.func.row_number().over(
        partition_by=table.c[parent], order_by=order_clauses(table, keys, forward=win.forward)
    )
    inner = (
        db.select_from(table)
        .add_columns(rank.label("_rank"))
        .where(table.c[parent].in_(parent_ids), *where, *bounds(table, keys, win))
        .subquery()
    )
    stmt = (
        sa.select(*[inner.c[c.name] for c in table.c])
        .where(inner.c._rank <= win.size + 1)
        .order_by(inner.c[parent], inner.c._rank)
    )
    grouped: dict[int, list[sa.Row[Any]]] = {pid: [] for pid in parent_ids}
    for row in await db.fetch(stmt):
        grouped[row._mapping[parent]].append(row)
    return {pid: slice_page(rows, win) for pid, rows in grouped.items()}


async def count(db: RequestDB, table: sa.Table, where: list[Any]) -> int:
    rows = await db.fetch(db.select_from(table, sa.func.count()).where(*where))
    return int(rows[0][0])


async def count_per_parent(
    db: RequestDB, table: sa.Table, parent: str, parent_ids: Sequence[int], where: list[Any]
) -> dict[int, int]:
    col = table.c[parent]
    stmt = (
        db.select_from(table, col, sa.func.count()).where(col.in_(parent_ids), *where).group_by(col)
    )
    return {row[0]: int(row[1]) for row in await db.fetch(stmt)}


async def parents_with_rows(
    db: RequestDB, table: sa.Table, parent: str | None, parent_ids: Sequence[int], where: list[Any]
) -> set[int | None]:
    """The parents (None for a root list) that have at least one row matching `where`."""
    if parent is None:
        rows = await db.fetch(db.select_from(table, table.c.id).where(*where).limit(1))
        return {None} if rows else set()
    col = table.c[parent]
    stmt = db.select_from(table, col).where(col.in_(parent_ids), *where).distinct()
    return {row[0] for row in await db.fetch(stmt)}
