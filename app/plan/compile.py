"""(document, operation) -> Plan, or None when any selected field has no rule.

Fields are collected with graphql-core's own `collect_fields`/`collect_subfields`, so
@skip/@include, fragments, type conditions and response-key merging are exactly the
executor's. A plan is a tree of levels: one statement each (a connection's page for
every parent at once, or a lookup by id), with the to-one relations its rows ask for
joined into it; and for each selection an output builder (app.plan.output).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    Visitor,
    get_named_type,
    visit,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues

from app.models import metadata
from app.plan import output as out
from app.plan.rules import (
    Computed,
    Fallback,
    GlobalId,
    Listing,
    Lookup,
    Relation,
    Scaffold,
    Variants,
    has_resolver,
    python_name,
    rule_of,
    variants_of,
)

logger = logging.getLogger("app.plan")
ALLOWED_DIRECTIVES = frozenset({"skip", "include"})
Builder = Callable[[Any, Any], Any]


class Unplannable(Exception):
    """The operation selects something the planner does not cover."""


@dataclass
class Source:
    """A table in a level's FROM: the level's own table (index 0) or a joined to-one
    relation hanging from `parent` by its `column`."""

    table: sa.Table
    parent: int | None = None
    column: str | None = None


@dataclass
class Level:
    """One statement's rows: a connection's pages (all parents at once) or a lookup."""

    index: int
    table: sa.Table
    rule: Listing | Lookup
    field_def: GraphQLField
    field_node: FieldNode
    parent_level: Level | None = None
    parent_id_pos: int | None = None  # where the parent's id sits in the parent level's rows
    sources: list[Source] = field(default_factory=list)
    columns: list[tuple[int, str]] = field(default_factory=list)  # position -> (source, name)
    positions: dict[tuple[int, str], int] = field(default_factory=dict)
    joins: dict[tuple[int, str], int] = field(default_factory=dict)  # (source, column) -> source
    children: list[Level] = field(default_factory=list)
    wants_count: bool = False
    wants_has_next: bool = False
    wants_has_previous: bool = False
    kind: tuple[int, Any] | None = None  # a lookup of an interface: (position, Variants.types)
    literal: bool = False  # its arguments use no variables: bound once, then reused
    bound: Any = None  # the binding of literal arguments, once made
    # A lookup level: every root lookup of its table (one statement, as the loader does).
    members: list[Member] = field(default_factory=list)
    # Filled by app.plan.sql: statements by shape, built once.
    statements: dict[Any, Any] = field(default_factory=dict)

    def column(self, source: int, name: str) -> int:
        """The position of a column of a source in this level's rows (added on first use)."""
        key = (source, name)
        found = self.positions.get(key)
        if found is None:
            if name not in self.sources[source].table.c:
                raise Unplannable(f"{self.sources[source].table.name} has no column {name}")
            found = self.positions[key] = len(self.columns)
            self.columns.append(key)
        return found

    def join(self, source: int, relation: Relation) -> int:
        """The source of a to-one relation from `source` (joined once per level)."""
        key = (source, relation.column)
        found = self.joins.get(key)
        if found is None:
            self.column(source, relation.column)
            table = metadata.tables[relation.table]
            self.sources.append(Source(table, source, relation.column))
            found = self.joins[key] = len(self.sources) - 1
        return found

    @property
    def parent(self) -> str | None:
        return self.rule.parent if isinstance(self.rule, Listing) else None


@dataclass
class Member:
    """One root lookup field (an alias) answered from a lookup level."""

    rule: Lookup
    field_def: GraphQLField
    field_node: FieldNode
    literal: bool


@dataclass
class RootField:
    key: str
    level: Level | None  # None: a constant (__typename)
    build: Builder


@dataclass
class Plan:
    levels: list[Level]
    roots: list[RootField]


class Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        variables: VariableValues,
        operation: OperationDefinitionNode,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.operation = operation
        self.levels: list[Level] = []
        self._children: dict[tuple[Any, ...], Builder] = {}
        self._lookups: dict[str, Level] = {}
        self._nodes: dict[tuple[Any, ...], Builder] = {}

    # --- collection -------------------------------------------------------------------

    def _check(self, grouped: dict[str, list[FieldDetails]]) -> None:
        for details in grouped.values():
            for detail in details:
                if detail.defer_usage is not None or detail.fragment_variable_values is not None:
                    raise Unplannable("@defer or fragment variables")
                for directive in detail.node.directives or ():
                    if directive.name.value not in ALLOWED_DIRECTIVES:
                        raise Unplannable(f"@{directive.name.value}")

    def subfields(
        self, type_: GraphQLObjectType, details: list[FieldDetails]
    ) -> dict[str, list[FieldDetails]]:
        collected = collect_subfields(
            self.schema, self.fragments, self.variables, self.operation, type_, details
        )
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            raise Unplannable("@defer")
        grouped = dict(collected.grouped_field_set)
        self._check(grouped)
        return grouped

    # --- the operation ----------------------------------------------------------------

    def compile(self) -> Plan:
        root_type = self.schema.query_type
        if root_type is None or self.operation.operation.value != "query":
            raise Unplannable("not a query")
        collected = collect_fields(
            self.schema, self.fragments, self.variables, root_type, self.operation
        )
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            raise Unplannable("@defer")
        grouped = dict(collected.grouped_field_set)
        self._check(grouped)
        roots = []
        for key, details in grouped.items():
            name = details[0].node.name.value
            if name == "__typename":
                roots.append(RootField(key, None, out.constant(root_type.name)))
                continue
            field_def = root_type.fields.get(name)
            if field_def is None:
                raise Unplannable(name)  # __schema, __type
            rule = rule_of(field_def)
            if isinstance(rule, Lookup):
                level = self._lookups.get(rule.table)
                if level is None:
                    table = metadata.tables[rule.table]
                    level = self._lookups[rule.table] = self._level(rule, table, field_def, details)
                node = details[0].node
                level.members.append(Member(rule, field_def, node, not _has_variables(node)))
                build = self._lookup_output(level, len(level.members) - 1, field_def, details)
            elif isinstance(rule, Listing) and rule.parent is None:
                level = self._level(rule, rule.spec.table, field_def, details)
                build = out.root_connection(
                    level.index, self._connection(level, field_def.type, details)
                )
            else:
                raise Unplannable(f"Query.{name}")
            roots.append(RootField(key, level, build))
        return Plan(self.levels, roots)

    def _level(
        self,
        rule: Listing | Lookup,
        table: sa.Table,
        field_def: GraphQLField,
        details: list[FieldDetails],
        parent: Level | None = None,
        parent_id_pos: int | None = None,
    ) -> Level:
        level = Level(
            len(self.levels), table, rule, field_def, details[0].node, parent, parent_id_pos
        )
        level.sources.append(Source(table))
        level.literal = not _has_variables(details[0].node)
        level.column(0, "id")
        if isinstance(rule, Listing):
            if rule.parent is not None:
                level.column(0, rule.parent)
            for name in self._order_columns(field_def, rule):
                level.column(0, name)
        self.levels.append(level)
        if parent is not None:
            parent.children.append(level)
        return level

    def _order_columns(self, field_def: GraphQLField, rule: Listing) -> list[str]:
        """Every column the list may be sorted on (a cursor encodes the sort values)."""
        names = [name for name, _ in rule.spec.default_order]
        order_arg = field_def.args.get("orderBy")
        if order_arg is not None:
            order_type = get_named_type(order_arg.type)
            assert isinstance(order_type, GraphQLInputObjectType)
            enum = get_named_type(order_type.fields["field"].type)
            assert isinstance(enum, GraphQLEnumType)
            values = [value.value for value in enum.values.values()]
            names += [str(getattr(value, "value", value)) for value in values]
        return names

    # --- outputs ----------------------------------------------------------------------

    def _lookup_output(
        self, level: Level, member: int, field_def: GraphQLField, details: list[FieldDetails]
    ) -> Builder:
        node_type = field_def.type
        if isinstance(node_type, GraphQLNonNull):
            raise Unplannable("a non-null lookup")
        variants = variants_of(node_type)
        if variants is not None:
            level.kind = (level.column(0, variants.column), variants.types)
        node = self._node(level, 0, node_type, details)
        index = level.index

        def lookup(row: Any, rt: Any) -> Any:
            found = rt.data[index][member]
            return None if found is None else node(found, rt)

        return lookup

    def _connection(self, level: Level, type_: Any, details: list[FieldDetails]) -> Builder:
        nonnull = isinstance(type_, GraphQLNonNull)
        conn_type = type_.of_type if nonnull else type_
        if not nonnull or not isinstance(conn_type, GraphQLObjectType):
            raise Unplannable("connection type")
        parts: list[tuple[str, Builder]] = []
        for key, sub in self.subfields(conn_type, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                parts.append((key, out.constant(conn_type.name)))
                continue
            sub_def = conn_type.fields[name]
            rule = rule_of(sub_def)
            if not isinstance(rule, Scaffold):
                raise Unplannable(f"{conn_type.name}.{name}")
            if rule.part == "totalCount":
                level.wants_count = True
                parts.append((key, out.total_count))
            elif rule.part == "nodes":
                item = _list_item(sub_def.type)
                node = self._node(level, 0, item, sub)
                parts.append((key, out.page_nodes(node)))
            elif rule.part == "edges":
                parts.append((key, self._edges(level, sub_def.type, sub)))
            elif rule.part == "pageInfo":
                parts.append((key, self._page_info(level, sub_def.type, sub)))
            else:
                raise Unplannable(rule.part)
        return out.connection(parts)

    def _edges(self, level: Level, type_: Any, details: list[FieldDetails]) -> Builder:
        edge_type = get_named_type(type_)
        _list_item(type_)
        assert isinstance(edge_type, GraphQLObjectType)
        parts: list[tuple[str, Any]] = []
        for key, sub in self.subfields(edge_type, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                parts.append((key, out.constant(edge_type.name)))
                continue
            sub_def = edge_type.fields[name]
            rule = rule_of(sub_def)
            if not isinstance(rule, Scaffold):
                raise Unplannable(f"{edge_type.name}.{name}")
            if rule.part == "cursor":
                parts.append((key, out.edge_cursor))
            elif rule.part == "node":
                parts.append((key, self._node(level, 0, _nonnull(sub_def.type), sub)))
            else:
                raise Unplannable(rule.part)
        return out.edges(parts)

    def _page_info(self, level: Level, type_: Any, details: list[FieldDetails]) -> Builder:
        info_type = _nonnull(type_)
        assert isinstance(info_type, GraphQLObjectType)
        parts: list[tuple[str, Builder]] = []
        for key, sub in self.subfields(info_type, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                parts.append((key, out.constant(info_type.name)))
                continue
            rule = rule_of(info_type.fields[name])
            if not isinstance(rule, Scaffold):
                raise Unplannable(f"PageInfo.{name}")
            if rule.part == "hasNextPage":
                level.wants_has_next = True
            elif rule.part == "hasPreviousPage":
                level.wants_has_previous = True
            parts.append((key, out.page_info_part(rule.part)))
        return out.page_info(parts)

    def _node(self, level: Level, source: int, type_: Any, details: list[FieldDetails]) -> Any:
        """The builder of an object (or interface) selection on a source's row; raises
        out.NeedsFallback at run time where graphql-core would report an error.

        Memoised: the concrete types of an interface share the relations selected on it
        (one joined source each), so without it a chain of n interface-typed relations
        would be compiled 2^n times."""
        key = (level.index, source, str(type_), tuple(id(d.node) for d in details))
        found = self._nodes.get(key)
        if found is None:
            found = self._nodes[key] = self._node_uncached(level, source, type_, details)
        return found

    def _node_uncached(
        self, level: Level, source: int, type_: Any, details: list[FieldDetails]
    ) -> Any:
        nonnull = isinstance(type_, GraphQLNonNull)
        named = type_.of_type if nonnull else type_
        if isinstance(named, GraphQLUnionType):
            raise Unplannable("union")
        id_pos = level.column(source, "id")
        if isinstance(named, GraphQLInterfaceType):
            variants = variants_of(named)
            if variants is None:
                raise Unplannable(f"{named.name} has no variants")
            kind_pos = level.column(source, variants.column)
            by_kind = {
                value: self._object(level, source, self._object_type(name), details)
                for value, name in variants.types.items()
            }
            return out.variant(id_pos, kind_pos, by_kind, nonnull)
        if not isinstance(named, GraphQLObjectType):
            raise Unplannable(str(named))
        variants = variants_of(named)
        if variants is not None:  # a concrete type of an interface: rows of others are null
            kind_pos = level.column(source, variants.column)
            kinds = {value for value, name in variants.types.items() if name == named.name}
            obj = self._object(level, source, named, details)
            return out.variant(id_pos, kind_pos, dict.fromkeys(kinds, obj), nonnull)
        return out.nullable_row(id_pos, self._object(level, source, named, details), nonnull)

    def _object_type(self, name: str) -> GraphQLObjectType:
        found = self.schema.type_map.get(name)
        assert isinstance(found, GraphQLObjectType)
        return found

    def _object(
        self,
        level: Level,
        source: int,
        type_: GraphQLObjectType,
        details: list[FieldDetails],
    ) -> Builder:
        parts: list[tuple[str, Builder]] = []
        for key, sub in self.subfields(type_, details).items():
            parts.append((key, self._field(level, source, type_, sub)))
        return out.obj(parts)

    def _field(
        self, level: Level, source: int, type_: GraphQLObjectType, details: list[FieldDetails]
    ) -> Builder:
        name = details[0].node.name.value
        if name == "__typename":
            return out.constant(type_.name)
        field_def = type_.fields[name]
        if field_def.args and not isinstance(rule_of(field_def), Listing):
            raise Unplannable(f"{type_.name}.{name} takes arguments")
        rule = rule_of(field_def)
        if rule is None:
            column = python_name(field_def)
            if column is None or has_resolver(field_def):
                raise Unplannable(f"{type_.name}.{name}")
            return out.leaf(level.column(source, column), field_def.type)
        if isinstance(rule, GlobalId):
            return out.global_id(type_.name, level.column(source, "id"))
        if isinstance(rule, Computed):
            positions = [level.column(source, c) for c in rule.columns]
            named = get_named_type(field_def.type)
            if isinstance(named, GraphQLObjectType):
                return out.computed_object(
                    positions, rule.fn, field_def.type, self._value_object(named, details)
                )
            return out.computed(positions, rule.fn, field_def.type)
        if isinstance(rule, Relation):
            joined = level.join(source, rule)
            fk_pos = level.column(source, rule.column)
            node = self._node(level, joined, field_def.type, details)
            return out.relation(fk_pos, node, field_def.type)
        if isinstance(rule, Listing) and rule.parent is not None:
            # The concrete types of an interface share the selections made on it: one level.
            key = (level.index, source, tuple(id(d.node) for d in details))
            found = self._children.get(key)
            if found is None:
                id_pos = level.column(source, "id")
                child = self._level(rule, rule.spec.table, field_def, details, level, id_pos)
                connection = self._connection(child, field_def.type, details)
                found = self._children[key] = out.child_connection(child.index, id_pos, connection)
            return found
        raise Unplannable(f"{type_.name}.{name}: {rule}")

    def _value_object(self, type_: GraphQLObjectType, details: list[FieldDetails]) -> Builder:
        """A selection on a computed value (RepeatRule, PhoneNumber): plain attributes."""
        parts: list[tuple[str, Builder]] = []
        for key, sub in self.subfields(type_, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                parts.append((key, out.constant(type_.name)))
                continue
            sub_def = type_.fields[name]
            attr = python_name(sub_def)
            if rule_of(sub_def) is not None or has_resolver(sub_def) or attr is None:
                raise Unplannable(f"{type_.name}.{name}")
            if isinstance(get_named_type(sub_def.type), GraphQLObjectType):
                raise Unplannable(f"{type_.name}.{name}")
            parts.append((key, out.attribute(attr, sub_def.type)))
        return out.obj(parts)


def _has_variables(node: FieldNode) -> bool:
    found = False

    class Finder(Visitor):
        def enter_variable(self, *_args: Any) -> None:
            nonlocal found
            found = True

    for argument in node.arguments or ():
        visit(argument, Finder())
    return found


def _nonnull(type_: Any) -> Any:
    if not isinstance(type_, GraphQLNonNull):
        raise Unplannable("nullable scaffolding")
    return type_.of_type


def _list_item(type_: Any) -> Any:
    """The item type of `[X!]!` (anything else is not a connection's list)."""
    inner = _nonnull(type_)
    if not isinstance(inner, GraphQLList) or not isinstance(inner.of_type, GraphQLNonNull):
        raise Unplannable("list type")
    return inner.of_type


def compile_plan(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDetails],
    variables: VariableValues,
    operation: OperationDefinitionNode,
) -> Plan | None:
    """The plan of an operation, or None when it selects anything not covered."""
    try:
        return Compiler(schema, fragments, variables, operation).compile()
    except (Unplannable, TypeError) as exc:  # TypeError: a leaf builder on a non-leaf type
        logger.debug("not planned: %s", exc)
        return None


# --- coverage: every field of the query side is either plannable or marked ---------------


def uncovered(schema: GraphQLSchema) -> list[str]:
    """Fields reachable from Query that the planner cannot answer and that carry no
    explicit Fallback: a plain field must be a column of its type's table (or, on a
    computed value type, a plain attribute)."""
    problems: list[str] = []
    tables: dict[str, sa.Table] = {}
    values: set[str] = set()
    scaffolds: set[str] = set()
    seen: set[str] = set()
    query = schema.query_type
    assert query is not None
    queue: list[tuple[Any, sa.Table | None, str]] = [(query, None, "root")]

    def reach(type_: Any, table: sa.Table | None, role: str) -> None:
        named = get_named_type(type_)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for possible in _possible(schema, named):
                queue.append((possible, table, role))

    while queue:
        type_, table, role = queue.pop()
        if role == "table":
            assert table is not None
            known = tables.setdefault(type_.name, table)
            if known is not table:
                problems.append(f"{type_.name} is reached from two tables")
        elif role == "value":
            values.add(type_.name)
        elif role == "scaffold":
            scaffolds.add(type_.name)
        key = f"{type_.name}/{role}"
        if key in seen:
            continue
        seen.add(key)
        for name, field_def in type_.fields.items():
            where = f"{type_.name}.{name}"
            rule = rule_of(field_def)
            if isinstance(rule, Fallback):
                continue
            if isinstance(rule, Lookup):
                reach(field_def.type, metadata.tables[rule.table], "table")
            elif isinstance(rule, Listing):
                reach(field_def.type, rule.spec.table, "scaffold")
            elif isinstance(rule, Relation):
                reach(field_def.type, metadata.tables[rule.table], "table")
            elif isinstance(rule, Scaffold):
                if rule.part in ("edges", "node", "nodes", "pageInfo"):
                    reach(
                        field_def.type,
                        table,
                        "table" if rule.part in ("node", "nodes") else "scaffold",
                    )
            elif isinstance(rule, Computed):
                assert table is not None
                missing = [c for c in rule.columns if c not in table.c]
                if missing:
                    problems.append(f"{where}: computed from unknown columns {missing}")
                reach(field_def.type, None, "value")
            elif isinstance(rule, GlobalId):
                pass
            elif rule is None and role == "table":
                assert table is not None
                column = python_name(field_def)
                if has_resolver(field_def) or column is None or column not in table.c:
                    problems.append(f"{where}: neither a rule nor a column of {table.name}")
            elif rule is None and role == "value":
                if has_resolver(field_def):
                    problems.append(f"{where}: a resolver on a value type")
            else:
                problems.append(f"{where}: no plan rule ({role})")
    return problems


def _possible(schema: GraphQLSchema, named: Any) -> list[Any]:
    if isinstance(named, GraphQLInterfaceType):
        return [named, *schema.get_possible_types(named)]
    return [named]


__all__ = ["Level", "Plan", "RootField", "Source", "Unplannable", "Variants", "compile_plan"]
