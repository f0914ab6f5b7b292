"""The planned path as a Strawberry SchemaExtension.

Registered after the limit extensions: its `on_execute` runs once they have let the
operation through (a refused one already has its result) and, when it can, sets the
result itself, so graphql-core never runs. Plans are cached per (document, operation,
values of the variables that @skip/@include read), in a bounded LRU: a flood of distinct
documents evicts old plans instead of growing memory.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    VariableNode,
    visit,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.values import get_variable_values
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

from app.context import Context
from app.plan.compile import Plan, compile_plan
from app.plan.execute import Arguments, run

logger = logging.getLogger("app.plan")
PLAN_CACHE_SIZE = 256
PLANS_PER_DOCUMENT = 16  # plans kept per document and operation (by @skip/@include values)
STATS: Counter[str] = Counter()  # planned / fallback:<why>, for tests and diagnostics


class _DirectiveVariables(Visitor):
    """The variables that @skip/@include arguments read."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: Any, *_args: Any) -> None:
        if node.name.value in ("skip", "include"):
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    self.names.add(argument.value.name.value)
                elif not isinstance(argument.value, BooleanValueNode):
                    self.names.add("")  # not a plain literal: never planned


class _Entry:
    """A (document, operation)'s parts, and its plans by @skip/@include values."""

    __slots__ = ("directive_variables", "fragments", "operation", "plans")

    def __init__(
        self,
        operation: OperationDefinitionNode | None,
        fragments: dict[str, FragmentDetails],
        directive_variables: tuple[str, ...],
    ) -> None:
        self.operation = operation
        self.fragments = fragments
        self.directive_variables = directive_variables
        self.plans: dict[tuple[Any, ...], Plan | None] = {}


class Planner:
    """The plan cache of one schema, and answering a request from it."""

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str | None], _Entry] = OrderedDict()
        self._arguments: Arguments | None = None

    def _entry(self, query: str, document: DocumentNode, name: str | None) -> _Entry:
        key = (query, name)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found
        found = self._entries[key] = _analyse(document, name)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return found

    async def answer(self, execution_context: Any) -> dict[str, Any] | None:
        """The response data for a query the planner covers; None otherwise."""
        ctx = execution_context.context
        document = execution_context.graphql_document
        query = execution_context.query
        if not isinstance(ctx, Context) or document is None or not query:
            return None
        entry = self._entry(query, document, execution_context.operation_name)
        operation = entry.operation
        if operation is None or "" in entry.directive_variables:
            STATS["fallback:operation"] += 1
            return None
        strawberry_schema = execution_context.schema
        schema: GraphQLSchema = strawberry_schema._schema
        variables = get_variable_values(
            schema, operation.variable_definitions or (), execution_context.variables or {}
        )
        if isinstance(variables, list):  # coercion errors: graphql-core reports them
            STATS["fallback:variables"] += 1
            return None
        plan_key = tuple(variables.coerced.get(n) for n in entry.directive_variables)
        if plan_key in entry.plans:
            plan = entry.plans[plan_key]
        else:
            if len(entry.plans) >= PLANS_PER_DOCUMENT:  # 2^n @skip/@include combinations
                entry.plans.clear()
            plan = entry.plans[plan_key] = compile_plan(
                schema, entry.fragments, variables, operation
            )
        if plan is None:
            STATS["fallback:unplanned"] += 1
            return None
        if self._arguments is None:
            self._arguments = Arguments(
                strawberry_schema.schema_converter.scalar_registry, strawberry_schema.config
            )
        data = await run(plan, ctx.db, ctx.settings, variables, self._arguments)
        if data is None:
            STATS["fallback:request"] += 1
            return None
        STATS["planned"] += 1
        ctx.log.execution = "planned"
        return data


def _analyse(document: DocumentNode, name: str | None) -> _Entry:
    """The operation graphql-core would run (None when it would refuse), its fragments,
    and the variables its @skip/@include read."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        operation = operations[0] if len(operations) == 1 else None
    else:
        operation = next((o for o in operations if o.name and o.name.value == name), None)
    fragments = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                operation = None  # fragment variables: not planned
            fragments[definition.name.value] = FragmentDetails(definition, None)
    finder = _DirectiveVariables()
    visit(document, finder)
    return _Entry(operation, fragments, tuple(sorted(finder.names)))


class PlannedExecution(SchemaExtension):
    """Answers covered queries from their plan before graphql-core runs."""

    def __init__(self, *, planner: Planner) -> None:
        self.planner = planner

    async def on_execute(self) -> AsyncIterator[None]:
        execution_context = self.execution_context
        if execution_context.result is None:  # not refused by a limit
            try:
                data = await self.planner.answer(execution_context)
            except Exception as exc:  # a fault (or a planner bug): the ordinary path answers
                STATS["fallback:error"] += 1
                # The type only: a database error's text can hold SQL and patient values.
                logger.debug("planned execution failed (%s); falling back", type(exc).__name__)
                data = None
            if data is not None:
                execution_context.result = GraphQLExecutionResult(data=data, errors=None)
        yield


def planned_extensions(execution: str) -> list[Any]:
    """The extension factories for the EXECUTION setting (after the limits)."""
    if execution != "planned":
        return []
    planner = Planner()
    return [lambda: PlannedExecution(planner=planner)]
