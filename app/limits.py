"""Request limits, all checked before any SQL runs: tokens, depth, aliases, merging, list
lengths and cost.

Tokens are counted by the parser; depth, aliases and the work of graphql-core's check that
same-named fields can be merged are bounded by validation rules (cached with the validated
document); list lengths and cost are checked just before execution, when variable values
are known and before any of them is converted. Every check is linear in the document's size:
selections are walked with `app.selection`, which measures a fragment once however often it
is spread.

Cost counts the nodes a query may return: each connection's page size (first/last, or
the default) multiplied by the sizes of the connections above it (GitHub's node limit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OverlappingFieldsCanBeMergedRule,
    ValidationContext,
    ValidationRule,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    type_from_ast,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from graphql.utilities import value_from_ast_untyped
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import MaxTokensLimiter, SchemaExtension

from app.config import Settings
from app.graphql.common import MAX_IDS_PER_FILTER
from app.graphql.connection import MAX_ORDER_KEYS
from app.graphql.query import MAX_NODES
from app.selection import Aliases, Depth, Fold, Fragments, fragments_of
from app.services.patients import MAX_PHONE_NUMBERS

PAGE_ARGS = ("first", "last")
CONNECTION_SUFFIX = "Connection"
# Units of graphql-core's own budget for comparing same-named fields: its default, 500,000,
# takes seconds. The operations in graphql_schema/operations use under 40 units, and 30
# fragments side by side that all select `id` 3,500; 20,000 take well under 0.1 s.
MERGE_BUDGET = 20_000
TOO_MANY_MERGES = (
    "Too many fields share a response name to check that they can be merged; "
    "select each field once, or split the query."
)


@dataclass(frozen=True)
class ListBound:
    """The most items a list argument or input field of some name may hold."""

    limit: int
    items: str  # what the list holds, for the message


# Every list argument and list input field of the schema, by name (a test checks that none
# is missing), with the bounds declared beside the code that uses them.
LIST_BOUNDS = {
    "orderBy": ListBound(MAX_ORDER_KEYS, "sort keys"),
    "ids": ListBound(MAX_NODES, "ids"),
    "in": ListBound(MAX_IDS_PER_FILTER, "values"),
    "phoneNumbers": ListBound(MAX_PHONE_NUMBERS, "phone numbers"),
    "kinds": ListBound(5, "kinds"),  # ChangeKind has five values
}


def depth_rule(max_depth: int) -> type[ValidationRule]:
    """Root fields are depth 1; introspection fields count like any other."""

    class DepthLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.depth = Depth(fragments_of(context.document))

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            depth = self.depth(node.selection_set)
            if depth > max_depth:
                self.report_error(
                    GraphQLError(f"Query depth {depth} exceeds the limit of {max_depth}.", node)
                )

    return DepthLimit


def aliases_rule(max_aliases: int) -> type[ValidationRule]:
    """Strawberry's MaxAliasesLimiter rule (the same count and message: a fragment's aliases
    count at each spread), without walking a fragment once per spread."""

    class AliasLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            aliases = Aliases(fragments_of(context.document))
            total = sum(
                aliases(d.selection_set)
                for d in context.document.definitions
                if isinstance(d, OperationDefinitionNode)
            )
            if total > max_aliases:
                self.report_error(GraphQLError(f"{total} aliases found. Allowed: {max_aliases}"))

    return AliasLimit


class MergeLimit(OverlappingFieldsCanBeMergedRule):
    """graphql-core's rule that same-named fields can be merged, with a smaller budget: its
    work grows with the square of the fields (and fragments) that share a response name."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = MERGE_BUDGET

    def enter_selection_set(self, *args: Any) -> None:
        if self.rule_context.remaining_complexity_budget < 0:
            return  # spent, and reported once
        try:
            super().enter_selection_set(*args)
        except ValidationAbortedError:
            if self.rule_context.remaining_complexity_budget >= 0:
                raise  # the error limit, not the budget
            self.report_error(GraphQLError(TOO_MANY_MERGES))


class ValidationRules(SchemaExtension):
    """Our validation rules, and MergeLimit in place of graphql-core's merge rule."""

    def __init__(self, rules: list[type[ASTValidationRule]]) -> None:
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.validation_rules = (
            *(
                MergeLimit if r is OverlappingFieldsCanBeMergedRule else r
                for r in ctx.validation_rules
            ),
            *self.rules,
        )
        yield


class ListTooLongError(Exception):
    """Ends the walk of _ListLengths with the error to answer."""

    def __init__(self, error: GraphQLError) -> None:
        self.error = error


class _ListLengths(Fold[None]):
    """Visits every argument of an operation once, raising ListTooLongError at the first
    list longer than its bound: a literal, a variable's value (walked along the variable's
    declared type) or a variable's default. Only lengths are read, nothing is converted."""

    empty = None

    def __init__(
        self,
        fragments: Fragments,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
    ) -> None:
        super().__init__(fragments)
        self.schema = schema
        self.definitions = {d.variable.name.value: d for d in operation.variable_definitions or ()}
        self.variables = variables

    def combine(self, first: None, second: None) -> None:
        return None

    def field(self, node: FieldNode) -> None:
        for argument in node.arguments or ():
            self._literal(argument.value, (argument.name.value,), node.name.value)
        self(node.selection_set)

    def _literal(self, value: ValueNode, path: tuple[str, ...], field: str) -> None:
        stack = [(value, path)]
        while stack:
            value, path = stack.pop()
            if isinstance(value, ListValueNode):
                self._count(len(value.values), path, field, value)
                stack.extend((v, (*path, str(i))) for i, v in enumerate(value.values))
            elif isinstance(value, ObjectValueNode):
                stack.extend((f.value, (*path, f.name.value)) for f in value.fields)
            elif isinstance(value, VariableNode):
                self._variable(value, path, field)

    def _variable(self, node: VariableNode, path: tuple[str, ...], field: str) -> None:
        definition = self.definitions.get(node.name.value)
        if definition is None:
            return
        if node.name.value not in self.variables:
            if definition.default_value is not None:
                self._literal(definition.default_value, path, field)
            return
        declared: Any = type_from_ast(self.schema, definition.type)
        stack = [(self.variables[node.name.value], declared, path)]
        while stack:
            value, type_, path = stack.pop()
            type_ = get_nullable_type(type_)
            if isinstance(type_, GraphQLList):
                if not isinstance(value, list):  # coerced to a list of one
                    stack.append((value, type_.of_type, path))
                    continue
                self._count(len(value), path, field, node)
                stack.extend((v, type_.of_type, (*path, str(i))) for i, v in enumerate(value))
            elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
                stack.extend(
                    (value[name], f.type, (*path, name))
                    for name, f in type_.fields.items()
                    if name in value
                )

    def _count(self, length: int, path: tuple[str, ...], field: str, node: ValueNode) -> None:
        bound = LIST_BOUNDS.get(path[-1])
        if bound is not None and length > bound.limit:
            where = ".".join(path[:-1]) or field
            message = f"{where}: at most {bound.limit} {bound.items} are allowed in `{path[-1]}`."
            raise ListTooLongError(
                GraphQLError(message, node, extensions={"code": "BAD_USER_INPUT"})
            )


class ListBounds(SchemaExtension):
    """Refuses an operation with a list longer than its bound (LIST_BOUNDS), before any
    argument or variable is converted."""

    def on_execute(self) -> Iterator[None]:
        ctx, document = self.execution_context, self.execution_context.graphql_document
        operation = operation_of(document, ctx.operation_name)
        if document is not None and operation is not None:
            fragments = fragments_of(document)
            lengths = _ListLengths(fragments, ctx.schema._schema, operation, ctx.variables or {})
            try:
                lengths(operation.selection_set)
            except ListTooLongError as exc:
                ctx.result = GraphQLExecutionResult(data=None, errors=[exc.error])
        yield


class _Cost(Fold[int]):
    """The nodes a selection set may return for each node above it. A field's cost is
    linear in the page sizes above it, so a fragment's cost at 1 serves every spread."""

    empty = 0

    def __init__(self, fragments: Fragments, page_size: Callable[[FieldNode], int | None]):
        super().__init__(fragments)
        self.page_size = page_size

    def field(self, node: FieldNode) -> int:
        size = self.page_size(node)
        inner = self(node.selection_set)
        return inner if size is None else size * (1 + inner)

    def combine(self, first: int, second: int) -> int:
        return first + second


class CostLimit(SchemaExtension):
    """Refuses an operation whose node count exceeds the bound, before it executes."""

    def __init__(
        self, *, max_cost: int, default_page_size: int, connections: frozenset[str]
    ) -> None:
        self.max_cost = max_cost
        self.default_page_size = default_page_size
        self.connections = connections

    def on_execute(self) -> Iterator[None]:
        ctx, document = self.execution_context, self.execution_context.graphql_document
        operation = operation_of(document, ctx.operation_name)
        if document is not None and operation is not None and ctx.result is None:
            variables = {**_variable_defaults(operation), **(ctx.variables or {})}
            fragments = fragments_of(document)
            cost = _Cost(fragments, lambda field: self._page_size(field, variables))
            total = cost(operation.selection_set)
            if total > self.max_cost:
                message = f"Query cost {total} exceeds the limit of {self.max_cost} nodes; ask for smaller pages."
                ctx.result = GraphQLExecutionResult(
                    data=None, errors=[GraphQLError(message, operation)]
                )
        yield

    def _page_size(self, field: FieldNode, variables: dict[str, Any]) -> int | None:
        """The page size of a connection field (None for other fields)."""
        args = {a.name.value: a.value for a in field.arguments or ()}
        if field.name.value == "nodes" and "ids" in args:
            ids = value_from_ast_untyped(args["ids"], variables)
            return len(ids) if isinstance(ids, list) else 1
        if field.name.value not in self.connections:
            return None
        for name in PAGE_ARGS:
            if name in args:
                node = args[name]
                value = (
                    variables.get(node.name.value)
                    if isinstance(node, VariableNode)
                    else value_from_ast_untyped(node)
                )
                if isinstance(value, int) and value >= 0:
                    return value
        return self.default_page_size


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    """The defaults of the operation's variables (`$n: Int = 100`), which apply when the
    request leaves a variable out."""
    return {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }


def operation_of(document: Any, name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the one named, or the first."""
    operations = (
        [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if document
        else []
    )
    for operation in operations:
        if name is None or (operation.name and operation.name.value == name):
            return operation
    return None


def connection_fields(schema: GraphQLSchema) -> frozenset[str]:
    """Names of the fields that return a connection (their page sizes multiply)."""
    return frozenset(
        name
        for type_ in schema.type_map.values()
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType)
        for name, field in type_.fields.items()
        if get_named_type(field.type).name.endswith(CONNECTION_SUFFIX)
    )


def limit_extensions(settings: Settings, connections: frozenset[str]) -> list[Any]:
    """The schema extensions (as factories) that enforce the configured limits.

    The validation rule classes are made once here: the validation cache keys on them."""
    rules: list[type[ASTValidationRule]] = [
        depth_rule(settings.max_depth),
        aliases_rule(settings.max_aliases),
    ]
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ValidationRules(rules),
        ListBounds,
        lambda: CostLimit(
            max_cost=settings.max_cost,
            default_page_size=settings.default_page_size,
            connections=connections,
        ),
    ]
