"""Request limits, all checked before any SQL runs: tokens, depth, aliases and cost.

Tokens are counted by the parser, depth and aliases by validation rules (cached with the
validated document), and cost just before execution, when variable values are known.
Cost counts the nodes a query may return: each connection's page size (first/last, or
the default) multiplied by the sizes of the connections above it (GitHub's node limit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from graphql.utilities import value_from_ast_untyped
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_rule

from app.config import Settings

PAGE_ARGS = ("first", "last")
CONNECTION_SUFFIX = "Connection"


def _depth(
    selection_set: SelectionSetNode | None, fragments: dict[str, Any], seen: frozenset[str]
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                inner = seen | {selection.name.value}
                deepest = max(deepest, _depth(fragment.selection_set, fragments, inner))
    return deepest


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def depth_rule(max_depth: int) -> type[ValidationRule]:
    """Root fields are depth 1; introspection fields count like any other."""

    class DepthLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            context: ValidationContext = self.context
            depth = _depth(node.selection_set, _fragments(context.document), frozenset())
            if depth > max_depth:
                context.report_error(
                    GraphQLError(f"Query depth {depth} exceeds the limit of {max_depth}.", node)
                )

    return DepthLimit


class CostLimit(SchemaExtension):
    """Refuses an operation whose node count exceeds the bound, before it executes."""

    def __init__(
        self, *, max_cost: int, default_page_size: int, connections: frozenset[str]
    ) -> None:
        self.max_cost = max_cost
        self.default_page_size = default_page_size
        self.connections = connections

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        operation = _operation(ctx.graphql_document, ctx.operation_name)
        if operation is not None:
            variables = {**_variable_defaults(operation), **(ctx.variables or {})}
            cost = self._cost(operation.selection_set, 1, variables, ctx.graphql_document)
            if cost > self.max_cost:
                message = f"Query cost {cost} exceeds the limit of {self.max_cost} nodes; ask for smaller pages."
                ctx.result = GraphQLExecutionResult(
                    data=None, errors=[GraphQLError(message, operation)]
                )
        yield

    def _cost(
        self,
        selection_set: SelectionSetNode | None,
        multiplier: int,
        variables: dict[str, Any],
        document: Any,
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in _fields(selection_set, document):
            size = self._page_size(selection, variables)
            if size is None:
                total += self._cost(selection.selection_set, multiplier, variables, document)
            else:
                total += multiplier * size + self._cost(
                    selection.selection_set, multiplier * size, variables, document
                )
        return total

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


def _fields(selection_set: SelectionSetNode, document: Any) -> Iterator[FieldNode]:
    fragments = _fragments(document)
    stack = list(selection_set.selections)
    seen: set[str] = set()
    while stack:
        selection = stack.pop()
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            stack.extend(selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                stack.extend(fragment.selection_set.selections)


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    """The defaults of the operation's variables (`$n: Int = 100`), which apply when the
    request leaves a variable out."""
    return {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
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
        lambda: AddValidationRules(rules),
        lambda: CostLimit(
            max_cost=settings.max_cost,
            default_page_size=settings.default_page_size,
            connections=connections,
        ),
    ]
