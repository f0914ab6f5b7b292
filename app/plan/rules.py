"""The planner's vocabulary: what a field declaration tells the planned path.

A rule rides on the Strawberry field as metadata (`strawberry.field(metadata=plan(rule))`)
and reaches the built graphql-core field as
`field.extensions["strawberry-definition"].metadata`, so the planner reads the schema it
executes and never imports the modules that declare the types. A field without a rule
reads the column of its own (Python) name from its type's table. This module imports no
other app module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PLAN_KEY = "plan"
DEFINITION = "strawberry-definition"


@dataclass(frozen=True)
class GlobalId:
    """The Relay global id of the row, typed by its concrete GraphQL type."""


@dataclass(frozen=True)
class Computed:
    """A pure function of some columns of the row: `fn(*values)`. The resolver of the
    ordinary path calls the same function, so one body serves both executors. When the
    field's type is an object type (or a list of one), the value's fields are read as
    plain attributes."""

    columns: tuple[str, ...]
    fn: Callable[..., Any]


@dataclass(frozen=True)
class Relation:
    """A to-one relation: the row of `table` whose id is in this row's `column`."""

    table: str
    column: str


@dataclass(frozen=True)
class Listing:
    """A connection over `spec` (an `app.graphql.connection.ListSpec`), paginated per
    parent by the `parent` column (None for a root list)."""

    spec: Any
    parent: str | None


@dataclass(frozen=True)
class Lookup:
    """A root field that finds one row of `table` by a global or database id of `types`."""

    table: str
    types: frozenset[str]


@dataclass(frozen=True)
class Scaffold:
    """A part of the generic connection types: edges, nodes, pageInfo, totalCount (on the
    connection), node, cursor (on an edge), the four pageInfo fields."""

    part: str


@dataclass(frozen=True)
class Fallback:
    """Always answered by the ordinary executor (an operation that selects it is not
    planned)."""

    reason: str


@dataclass(frozen=True)
class Variants:
    """Which concrete type a row of an interface's table is: `types[row[column]]`.
    Declared once, on the interface class as `__plan__`; the ordinary path's node
    construction reads the same mapping."""

    column: str
    types: Mapping[str, str] = field(default_factory=dict)


Rule = GlobalId | Computed | Relation | Listing | Lookup | Scaffold | Fallback


def plan(rule: Rule) -> dict[str, Any]:
    """The field metadata that carries `rule`."""
    return {PLAN_KEY: rule}


def rule_of(graphql_field: Any) -> Rule | None:
    """The rule declared on a graphql-core field (None: a plain column or attribute)."""
    definition = (graphql_field.extensions or {}).get(DEFINITION)
    metadata = getattr(definition, "metadata", None)
    return metadata.get(PLAN_KEY) if metadata else None


def python_name(graphql_field: Any) -> str | None:
    """The Python name of the Strawberry field behind a graphql-core field."""
    definition = (graphql_field.extensions or {}).get(DEFINITION)
    return getattr(definition, "python_name", None)


def has_resolver(graphql_field: Any) -> bool:
    definition = (graphql_field.extensions or {}).get(DEFINITION)
    return getattr(definition, "base_resolver", None) is not None


def variants_of(graphql_type: Any) -> Variants | None:
    """The `Variants` declared on an interface's class (or None)."""
    definition = (graphql_type.extensions or {}).get(DEFINITION)
    origin = getattr(definition, "origin", None)
    found = getattr(origin, "__plan__", None)
    return found if isinstance(found, Variants) else None
