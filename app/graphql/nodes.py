"""The node registry: which GraphQL type lives in which table, and loading nodes by id.

Domain modules register their tables at import; loaders come from the request context,
so every load is scoped to the caller's account.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import strawberry

from app.context import Context
from app.ids import to_global_id
from app.plan.rules import Relation, plan

BOOKING_TYPES = frozenset({"GroupAppointment", "IndividualAppointment"})


@dataclass(frozen=True)
class _Entry:
    table: sa.Table
    to_node: Callable[[sa.Row[Any]], Any]


_TABLES: dict[str, _Entry] = {}
_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {}


def node_from_row(cls: Any) -> Callable[[sa.Row[Any]], Any]:
    """Build instances of a Strawberry type straight from a row's columns, with the ids
    precomputed: plain attributes resolve far faster than resolver functions."""
    type_name = cls.__strawberry_definition__.name

    def to_node(row: sa.Row[Any]) -> Any:
        node = cls.__new__(cls)
        attrs = node.__dict__
        attrs.update(zip(row._fields, row, strict=True))
        attrs["global_id"] = to_global_id(type_name, attrs["id"])
        attrs["database_id"] = str(attrs["id"])
        return node

    return to_node


def register(
    table: sa.Table,
    to_node: Callable[[sa.Row[Any]], Any],
    types: dict[str, Callable[[Any], bool]],
) -> None:
    """Declare the GraphQL type names stored in `table`, each with a check of the node."""
    _TABLES[table.name] = _Entry(table, to_node)
    for type_name, check in types.items():
        _TYPES[type_name] = (table.name, check)


def type_names() -> frozenset[str]:
    return frozenset(_TYPES)


# The to-one relation fields, by GraphQL name: (table, column holding the id). Every type
# names a relation the same way, so a connection can prefetch what its nodes ask for.
RELATIONS = {
    "booking": ("booking", "booking_id"),
    "patient": ("patient", "patient_id"),
    "patientCase": ("patient_case", "patient_case_id"),
    "appointmentType": ("appointment_type", "appointment_type_id"),
    "practitioner": ("practitioner", "practitioner_id"),
    "repeatedFrom": ("booking", "repeated_from_id"),
}
_MISSING = object()


async def prefetch(ctx: Context, nodes: list[Any], field_names: frozenset[str]) -> None:
    """Load, in one batch per table, the relations `field_names` asks for on `nodes`, so
    their fields resolve without an awaitable each (much cheaper for graphql-core)."""
    loads = []
    for name in field_names & RELATIONS.keys():
        table_name, column = RELATIONS[name]
        keys = {node.__dict__.get(column) for node in nodes} - {None}
        if keys:
            entry = _TABLES[table_name]
            loads.append(ctx.by_id(entry.table, entry.to_node).load_many(sorted(keys)))
    if loads:
        await asyncio.gather(*loads)


def related(table_name: str, column: str, returns: Any, description: str) -> Any:
    """A field that loads the row `column` points at (batched per request), null when the
    column is null. It returns the loader's future: no coroutine per field."""

    def resolve(root: Any, info: strawberry.Info[Context, None]) -> Any:
        key = root.__dict__[column]
        if key is None:
            return None
        ctx = info.context
        node = ctx.loaded.get((table_name, key), _MISSING)
        if node is not _MISSING:
            return node
        entry = _TABLES[table_name]
        return ctx.by_id(entry.table, entry.to_node).load(key)

    resolve.__annotations__["return"] = returns
    return strawberry.field(
        resolver=resolve, description=description, metadata=plan(Relation(table_name, column))
    )


async def load_node(ctx: Context, table_name: str, database_id: int) -> Any:
    """The node with this id in the caller's account, or None."""
    entry = _TABLES[table_name]
    return await ctx.by_id(entry.table, entry.to_node).load(database_id)


async def load_typed(ctx: Context, type_name: str, database_id: int) -> Any:
    """The node of this GraphQL type and id, or None (also when the row is another kind)."""
    table_name, check = _TYPES[type_name]
    node = await load_node(ctx, table_name, database_id)
    return node if node is not None and check(node) else None
