"""API key scopes: what a key may do, and the one check of a document against them.

A key has any of three scopes (stored space-separated in `api_key.scopes`):

- `read`: query fields and subscriptions (introspection needs no scope);
- `write`: mutations (with or without `read`: a mutation's payload is the changed object);
- `audit`: `auditEvents`. Without `read`, an audit row's `entity` shows its `id` only.

Keys made before scopes existed have `read` and `write`. A document that needs a scope the
key lacks is refused as a whole with FORBIDDEN, before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from app.context import Context
from app.limits import operation_of
from app.selection import Fold, fragments_of

SCOPES = ("read", "write", "audit")
ALL_SCOPES = frozenset(SCOPES)
DEFAULT_SCOPES = ("read", "write")
FORBIDDEN_STATUS = 403
AUDIT_FIELD = "auditEvents"
ENTITY_FIELD = "entity"
ANYONE = frozenset({"__typename", "__schema", "__type"})  # no scope needed
ENTITY_WITHOUT_READ = frozenset({"id", "__typename"})


class ScopeError(ValueError):
    """A scope name that does not exist (the CLI shows it as one line)."""


def parse_scopes(names: Iterable[str]) -> frozenset[str]:
    """The scopes named (the stored form or the CLI's flags), checked against SCOPES."""
    scopes = frozenset(name for each in names for name in each.split())
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        raise ScopeError(f"unknown scope {unknown[0]!r}: choose from {', '.join(SCOPES)}")
    return scopes


def stored(scopes: Iterable[str]) -> str:
    """The column value for `scopes`, in a fixed order."""
    chosen = set(scopes)
    return " ".join(scope for scope in SCOPES if scope in chosen)


class _Names(Fold[frozenset[str]]):
    """The names of the fields at a selection set's own level (through fragments)."""

    empty: frozenset[str] = frozenset()

    def field(self, node: FieldNode) -> frozenset[str]:
        return frozenset({node.name.value})

    def combine(self, first: frozenset[str], second: frozenset[str]) -> frozenset[str]:
        return first | second


class _EntityNames(_Names):
    """The names selected directly under every `entity` field, at any depth."""

    def field(self, node: FieldNode) -> frozenset[str]:
        inner = self(node.selection_set)
        if node.name.value == ENTITY_FIELD:
            return inner | _Names(self.fragments)(node.selection_set)
        return inner


def missing_scope(
    scopes: frozenset[str], operation_type: OperationType, root_names: Iterable[str]
) -> str | None:
    """The first scope an operation needs that `scopes` lacks, from its root fields."""
    if operation_type == OperationType.MUTATION:
        return None if "write" in scopes else "write"
    for name in root_names:
        if name in ANYONE:
            continue
        needed = "audit" if name == AUDIT_FIELD else "read"
        if needed not in scopes:
            return needed
    return None


def forbidden(scope: str, what: str) -> GraphQLError:
    return GraphQLError(
        f"This API key lacks the `{scope}` scope needed for {what}.",
        extensions={"code": "FORBIDDEN"},
    )


WHAT = {"read": "queries and subscriptions", "write": "mutations", "audit": "auditEvents"}


class ScopeCheck(SchemaExtension):
    """Refuses a document the caller's key may not run, before any other check runs it."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        ctx, document = execution.context, execution.graphql_document
        if not isinstance(ctx, Context) or ctx.scopes >= ALL_SCOPES or execution.result is not None:
            yield
            return
        operation = operation_of(document, execution.operation_name)
        if document and operation:
            error = self._check(ctx.scopes, operation, document)
            if error is not None:
                execution.result = GraphQLExecutionResult(data=None, errors=[error])
                if ctx.response is not None:
                    ctx.response.status_code = FORBIDDEN_STATUS
        yield

    @staticmethod
    def _check(
        scopes: frozenset[str], operation: OperationDefinitionNode, document: DocumentNode
    ) -> GraphQLError | None:
        fragments = fragments_of(document)
        selection = operation.selection_set
        root = _Names(fragments)(selection)
        scope = missing_scope(scopes, operation.operation, root)
        if scope is not None:
            return forbidden(scope, WHAT[scope])
        if AUDIT_FIELD in root and "read" not in scopes:
            beyond = _EntityNames(fragments)(selection) - ENTITY_WITHOUT_READ
            if beyond:
                return forbidden("read", "fields of an audit event's entity other than `id`")
        return None
