"""The committed SDL matches the code, and the schema documents itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
)
from strawberry.printer import print_schema

from app.schema import schema

SDL_PATH = Path(__file__).resolve().parent.parent / "graphql_schema" / "schema.graphql"
BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def test_committed_sdl_matches_the_schema():
    expected = print_schema(schema) + "\n"

    committed = SDL_PATH.read_text(encoding="utf-8") if SDL_PATH.exists() else ""

    assert committed == expected, (
        f"{SDL_PATH.name} is stale: run `attendee-gateway export-schema` and commit the result."
    )


def _own_types() -> Iterator[GraphQLNamedType]:
    for name, named in schema._schema.type_map.items():
        if not name.startswith("__") and name not in BUILT_IN_SCALARS:
            yield named


def _undocumented(named: GraphQLNamedType) -> Iterator[str]:
    """Paths (`Type`, `Type.field`, `Type.field(arg)`, `Enum.VALUE`) without a description."""
    name = named.name
    if not (named.description or "").strip():
        yield name
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, field in named.fields.items():
            if not (field.description or "").strip():
                yield f"{name}.{field_name}"
            for arg_name, arg in field.args.items():
                if not (arg.description or "").strip():
                    yield f"{name}.{field_name}({arg_name})"
    elif isinstance(named, GraphQLInputObjectType):
        for field_name, field in named.fields.items():
            if not (field.description or "").strip():
                yield f"{name}.{field_name}"
    elif isinstance(named, GraphQLEnumType):
        for value_name, value in named.values.items():
            if not (value.description or "").strip():
                yield f"{name}.{value_name}"


def test_every_type_field_argument_and_enum_value_has_a_description():
    missing = [path for named in _own_types() for path in _undocumented(named)]

    assert not missing, "undocumented in the schema:\n  " + "\n  ".join(missing)


def test_the_description_check_covers_every_kind_of_schema_element():
    kinds = (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType, GraphQLEnumType)

    for kind in kinds:
        assert any(isinstance(named, kind) for named in _own_types()), kind.__name__
