"""Rows -> response dicts, the builders a plan is made of.

Every builder is `build(value, rt)`: `value` is a level's row (a tuple; every source of
the level reads its own positions of it), a page, or a computed value; `rt` holds the
request's fetched levels. Keys are the response keys in graphql-core's order, leaves go
through the schema's own serializers (with shortcuts only where the serializer is the
identity). Where graphql-core would report an error (a null in a non-null field, a value
a serializer refuses), the builder raises NeedsFallback and the ordinary executor answers
the whole request instead: error messages, paths and null bubbling are then its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLString,
)

from app import pagination as pg
from app.ids import to_global_id

Builder = Callable[[Any, Any], Any]
MIN_INT, MAX_INT = -(2**31), 2**31 - 1


class NeedsFallback(Exception):
    """The ordinary executor would report an error here: let it answer the request."""


class Page:
    """One connection's page for one parent, with what its scaffolding needs."""

    __slots__ = ("fp", "has_more", "has_next", "has_previous", "key_positions", "rows", "total")

    def __init__(self, rows: list[Any], has_more: bool, fp: str, key_positions: list[int]) -> None:
        self.rows = rows
        self.has_more = has_more
        self.fp = fp
        self.key_positions = key_positions
        self.total: int | None = None
        self.has_next: bool | None = None
        self.has_previous: bool | None = None

    def cursor(self, row: Any) -> str:
        return pg.encode_cursor(self.fp, [row[p] for p in self.key_positions])


def _serializer(type_: Any) -> tuple[Callable[[Any], Any], bool]:
    """(serialize, non-null) for a leaf type."""
    nonnull = isinstance(type_, GraphQLNonNull)
    named = type_.of_type if nonnull else type_
    if not isinstance(named, GraphQLScalarType | GraphQLEnumType):
        raise TypeError(f"not a leaf: {named}")
    serialize = named.serialize
    if named is GraphQLString or named is GraphQLID or named is GraphQLBoolean:
        identity: type = bool if named is GraphQLBoolean else str
        checked = _checking(serialize, identity)
        checked.identity = identity  # type: ignore[attr-defined]
        return checked, nonnull
    if named is GraphQLInt:

        def integer(value: Any) -> Any:
            if value.__class__ is int and MIN_INT <= value <= MAX_INT:
                return value
            return _checked(serialize, value)

        return integer, nonnull
    return (lambda value: _checked(serialize, value)), nonnull


def _checking(serialize: Callable[[Any], Any], identity: type) -> Callable[[Any], Any]:
    """The serializer, short-cut where it is the identity (a str for String and ID, a
    bool for Boolean)."""

    def checked(value: Any) -> Any:
        return value if value.__class__ is identity else _checked(serialize, value)

    return checked


def _checked(serialize: Callable[[Any], Any], value: Any) -> Any:
    try:
        result = serialize(value)
    except Exception:
        raise NeedsFallback from None
    if result is None:
        raise NeedsFallback
    return result


def leaf(pos: int, type_: Any) -> Builder:
    """A column of the row."""
    serialize, nonnull = _serializer(type_)

    def build(row: Any, rt: Any) -> Any:
        value = row[pos]
        if value is None:
            if nonnull:
                raise NeedsFallback
            return None
        return serialize(value)

    build.inline = (pos, serialize, nonnull)  # type: ignore[attr-defined]
    return build


def attribute(name: str, type_: Any) -> Builder:
    """A plain attribute of a computed value."""
    serialize, nonnull = _serializer(type_)

    def build(value: Any, rt: Any) -> Any:
        found = getattr(value, name)
        if found is None:
            if nonnull:
                raise NeedsFallback
            return None
        return serialize(found)

    return build


def computed(positions: list[int], fn: Callable[..., Any], type_: Any) -> Builder:
    serialize, nonnull = _serializer(type_)

    def build(row: Any, rt: Any) -> Any:
        value = fn(*[row[p] for p in positions])
        if value is None:
            if nonnull:
                raise NeedsFallback
            return None
        return serialize(value)

    return build


def computed_object(
    positions: list[int], fn: Callable[..., Any], type_: Any, item: Builder
) -> Builder:
    """A computed object, or list of objects, whose fields are plain attributes."""
    nonnull = isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if nonnull else type_
    is_list = hasattr(inner, "of_type")
    item_nonnull = is_list and isinstance(inner.of_type, GraphQLNonNull)
    if is_list and hasattr(inner.of_type, "of_type") and hasattr(inner.of_type.of_type, "of_type"):
        raise TypeError("nested lists")

    def build(row: Any, rt: Any) -> Any:
        value = fn(*[row[p] for p in positions])
        if value is None:
            if nonnull:
                raise NeedsFallback
            return None
        if not is_list:
            return item(value, rt)
        result: list[Any] = []
        for element in value:
            if element is None:
                if item_nonnull:
                    raise NeedsFallback
                result.append(None)
            else:
                result.append(item(element, rt))
        return result

    return build


def global_id(type_name: str, pos: int) -> Builder:
    def build(row: Any, rt: Any) -> Any:
        return to_global_id(type_name, row[pos])

    build.global_id = (type_name, pos)  # type: ignore[attr-defined]
    return build


def constant(value: str) -> Builder:
    return lambda row, rt: value


def obj(parts: list[tuple[str, Builder]]) -> Builder:
    """An object's dict, as one generated function: columns and global ids are read inline,
    other parts called. Only names and positions enter the source; keys and values are
    passed in as constants."""
    namespace: dict[str, Any] = {"_null": _null, "_gid": to_global_id}
    items = []
    for n, (key, part) in enumerate(parts):
        namespace[f"k{n}"] = key
        inline = getattr(part, "inline", None)
        gid = getattr(part, "global_id", None)
        if inline is not None:
            pos, serialize, nonnull = inline
            namespace[f"s{n}"] = serialize
            identity = getattr(serialize, "identity", None)
            on_none = "_null()" if nonnull else "None"
            if identity is not None:
                namespace[f"c{n}"] = identity
                value = f"(v if (v := row[{pos:d}]).__class__ is c{n} else ({on_none} if v is None else s{n}(v)))"
            else:
                value = f"({on_none} if (v := row[{pos:d}]) is None else s{n}(v))"
        elif gid is not None:
            namespace[f"t{n}"] = gid[0]
            value = f"_gid(t{n}, row[{gid[1]:d}])"
        else:
            namespace[f"p{n}"] = part
            value = f"p{n}(row, rt)"
        items.append(f"k{n}: {value}")
    source = "def build(row, rt):\n    return {" + ", ".join(items) + "}\n"
    exec(compile(source, "<plan output>", "exec"), namespace)
    built: Builder = namespace["build"]
    return built


def _null() -> Any:
    raise NeedsFallback


def nullable_row(id_pos: int, build_obj: Builder, nonnull: bool) -> Builder:
    """An object from a source whose id may be null (a LEFT JOIN that found nothing)."""

    def build(row: Any, rt: Any) -> Any:
        if row[id_pos] is None:
            if nonnull:
                raise NeedsFallback
            return None
        return build_obj(row, rt)

    return build


def variant(id_pos: int, kind_pos: int, by_kind: dict[Any, Builder], nonnull: bool) -> Builder:
    """An interface's row, built as its concrete type (`Variants`)."""

    def build(row: Any, rt: Any) -> Any:
        if row[id_pos] is None:
            if nonnull:
                raise NeedsFallback
            return None
        found = by_kind.get(row[kind_pos])
        if found is None:
            raise NeedsFallback
        return found(row, rt)

    return build


def relation(fk_pos: int, node: Builder, type_: Any) -> Builder:
    """A to-one relation: null when the foreign key is (a non-null field falls back)."""
    return nullable_row(fk_pos, node, isinstance(type_, GraphQLNonNull))


# --- connections ---------------------------------------------------------------------


def root_connection(index: int, connection: Builder) -> Builder:
    return lambda row, rt: connection(rt.data[index][None], rt)


def child_connection(index: int, id_pos: int, connection: Builder) -> Builder:
    return lambda row, rt: connection(rt.data[index][row[id_pos]], rt)


def connection(parts: list[tuple[str, Builder]]) -> Builder:
    def build(page: Page, rt: Any) -> dict[str, Any]:
        return {key: part(page, rt) for key, part in parts}

    return build


def total_count(page: Page, rt: Any) -> Any:
    return page.total


def page_nodes(node: Builder) -> Builder:
    def build(page: Page, rt: Any) -> list[Any]:
        return [node(row, rt) for row in page.rows]

    return build


def edge_cursor(row: Any, rt: Any) -> Any:  # a marker: edges() encodes the cursor
    raise AssertionError("edge_cursor is not called")


def edges(parts: list[tuple[str, Builder]]) -> Builder:
    cursor_keys = [key for key, part in parts if part is edge_cursor]
    others = [(key, part) for key, part in parts if part is not edge_cursor]
    if not cursor_keys:

        def plain(page: Page, rt: Any) -> list[Any]:
            return [{key: part(row, rt) for key, part in others} for row in page.rows]

        return plain

    def build(page: Page, rt: Any) -> list[Any]:
        result = []
        for row in page.rows:
            cursor = page.cursor(row)
            edge = {}
            for key, part in parts:
                edge[key] = cursor if part is edge_cursor else part(row, rt)
            result.append(edge)
        return result

    return build


def page_info(parts: list[tuple[str, Builder]]) -> Builder:
    def build(page: Page, rt: Any) -> dict[str, Any]:
        return {key: part(page, rt) for key, part in parts}

    return build


def page_info_part(part: str) -> Builder:
    if part == "hasNextPage":
        return lambda page, rt: page.has_next
    if part == "hasPreviousPage":
        return lambda page, rt: page.has_previous
    if part == "startCursor":
        return lambda page, rt: page.cursor(page.rows[0]) if page.rows else None
    if part == "endCursor":
        return lambda page, rt: page.cursor(page.rows[-1]) if page.rows else None
    raise ValueError(part)
