"""OpenTelemetry tracing (§8): off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.

When on, spans go to that endpoint over OTLP/HTTP (protobuf), batched: one per request
(`POST /graphql`), per resolver that awaits something (`resolve Type.field`), per level of
a planned query (`plan level N table`), per SQL statement (`SELECT table`, from the
engines' cursor events, reads and writes alike) and per write transaction. The standard
OTEL_* variables apply (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS,
OTEL_EXPORTER_OTLP_COMPRESSION, OTEL_BSP_SCHEDULE_DELAY, ...).

Attributes name things, never values: no variables, arguments, document text, SQL text,
SQL parameters, rows or keys; a statement is known by its verb and its first table.
When off, this module imports nothing of OpenTelemetry, makes no span and registers no
listener: the hot path pays a few calls that return None (or a shared null context).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
from collections.abc import Callable
from inspect import isawaitable
from typing import TYPE_CHECKING, Any

from strawberry.extensions import SchemaExtension

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.db import Database

DEFAULT_SERVICE_NAME = "attendee-gateway"
_NULL = contextlib.nullcontext()
_SPAN = "app.tracing.span"  # where a statement's span waits for its end (execution context)
_TRANSACTION = "app.tracing.transaction"  # a write connection's open transaction span
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")

_provider: TracerProvider | None = None
_tracer: Tracer | None = None
_listeners: list[tuple[Any, str, Callable[..., Any]]] = []


def configured() -> bool:
    """Whether the environment asks for traces (the OTLP endpoint is set)."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    return bool(endpoint) and os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true"


def enabled() -> bool:
    return _tracer is not None


def start(database: Database) -> None:
    """Start the exporter and the statement spans, when configured (in each worker)."""
    global _provider, _tracer
    if _tracer is not None or not configured():
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": DEFAULT_SERVICE_NAME}))
    _provider = TracerProvider(resource=resource)
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _tracer = _provider.get_tracer("app")
    _instrument(database.read, transactions=False)
    _instrument(database.write, transactions=True)


def stop() -> None:
    """Send what is still batched, then stop."""
    global _provider, _tracer
    from sqlalchemy import event

    for target, name, listener in _listeners:
        event.remove(target, name, listener)
    _listeners.clear()
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = None


# --- requests -------------------------------------------------------------------------


def start_request(method: str, path: str, headers: Any) -> Span | None:
    """The request's span (continuing the caller's `traceparent`), or None when off."""
    if _tracer is None:
        return None
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind

    return _tracer.start_span(
        f"{method} {path}",
        context=propagate.extract(headers),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "url.path": path},
    )


def request_context(span: Span | None) -> contextvars.Context | None:
    """A context for the request's task in which `span` is current (None: the default)."""
    if span is None:
        return None
    from opentelemetry import context, trace

    ctx = contextvars.copy_context()
    ctx.run(context.attach, trace.set_span_in_context(span))
    return ctx


def end_request(span: Span | None, status: int, log: Any, statements: int) -> None:
    """Note what the request log notes (names and counts, never values), then end it."""
    if span is None:
        return
    from opentelemetry.trace import StatusCode

    span.set_attribute("http.response.status_code", status)
    span.set_attribute("gateway.execution", log.execution)
    span.set_attribute("gateway.sql_statements", statements)
    if log.operation:
        span.set_attribute("graphql.operation.name", log.operation)
    if status >= 500 or not status:
        span.set_status(StatusCode.ERROR)
    span.end()


# --- planned levels -------------------------------------------------------------------


def plan_level(level: Any) -> contextlib.AbstractContextManager[Any]:
    """A span around one level of a plan (its statements are its children)."""
    if _tracer is None:
        return _NULL
    return _tracer.start_as_current_span(
        f"plan level {level.index} {level.table.name}",
        attributes={
            "gateway.plan.level": level.index,
            "gateway.plan.kind": type(level.rule).__name__.lower(),
            "db.collection.name": level.table.name,
        },
    )


# --- resolvers ------------------------------------------------------------------------


class ResolverSpans(SchemaExtension):
    """A span per resolver that awaits something (so per field that reads or writes):
    named by type and field, with no argument, variable or document text."""

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any
    ) -> Any:
        result = _next(root, info, *args, **kwargs)
        if _tracer is None or not isawaitable(result):
            return result
        return _traced(result, f"{info.parent_type.name}.{info.field_name}")


async def _traced(awaitable: Any, field: str) -> Any:
    assert _tracer is not None
    with _tracer.start_as_current_span(f"resolve {field}", attributes={"graphql.field": field}):
        return await awaitable


# --- SQL statements -------------------------------------------------------------------


def _instrument(engine: AsyncEngine, *, transactions: bool) -> None:
    from sqlalchemy import event

    target = engine.sync_engine
    system = "postgresql" if engine.dialect.name == "postgresql" else engine.dialect.name
    listeners: dict[str, Callable[..., Any]] = {
        "before_cursor_execute": _before_statement(system),
        "after_cursor_execute": _after_statement,
        "handle_error": _statement_failed,
    }
    if transactions:
        listeners |= {"begin": _begin(system), "commit": _end_transaction, "rollback": _rollback}
    for name, listener in listeners.items():
        event.listen(target, name, listener)  # (SQLite's BEGIN IMMEDIATE runs just before)
        _listeners.append((target, name, listener))


def statement_name(statement: str, compiled: Any) -> tuple[str, str | None]:
    """(verb, first table) of a statement, from its construct when SQLAlchemy made it.
    Names only: a keyword and a table's name, never anything of a value."""
    from sqlalchemy.sql import util as sql_util
    from sqlalchemy.sql.dml import UpdateBase

    construct = getattr(compiled, "statement", None)
    if isinstance(construct, UpdateBase):
        table = getattr(construct, "table", None)
        return type(construct).__name__.upper(), getattr(table, "name", None)
    match = _FIRST_WORD.match(statement)
    verb = match.group(1).upper() if match else "SQL"
    if construct is not None:
        tables = sql_util.find_tables(construct, include_crud=True)
        return verb, tables[0].name if tables else None
    return verb, None


def _before_statement(system: str) -> Callable[..., None]:
    def before(
        conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if _tracer is None or context is None:
            return
        from opentelemetry import trace

        verb, table = statement_name(statement, context.compiled)
        transaction = conn.info.get(_TRANSACTION)
        attributes: dict[str, Any] = {"db.system.name": system, "db.operation.name": verb}
        if table:
            attributes["db.collection.name"] = table
        context.__dict__[_SPAN] = _tracer.start_span(
            f"{verb} {table}" if table else verb,
            context=trace.set_span_in_context(transaction) if transaction else None,
            kind=trace.SpanKind.CLIENT,
            attributes=attributes,
        )

    return before


def _after_statement(
    _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
) -> None:
    span = context.__dict__.pop(_SPAN, None) if context is not None else None
    if span is not None:
        span.end()


def _statement_failed(exception_context: Any) -> None:
    context = exception_context.execution_context
    span = context.__dict__.pop(_SPAN, None) if context is not None else None
    if span is not None:
        from opentelemetry.trace import StatusCode

        # the exception's type only: a driver's message can quote the values it refused
        span.set_attribute("error.type", type(exception_context.original_exception).__name__)
        span.set_status(StatusCode.ERROR)
        span.end()


def _begin(system: str) -> Callable[[Any], None]:
    def begin(conn: Any) -> None:
        if _tracer is not None:
            from opentelemetry.trace import SpanKind

            conn.info[_TRANSACTION] = _tracer.start_span(
                "transaction", kind=SpanKind.CLIENT, attributes={"db.system.name": system}
            )

    return begin


def _end_transaction(conn: Any, outcome: str = "commit") -> None:
    span = conn.info.pop(_TRANSACTION, None)
    if span is not None:
        span.set_attribute("gateway.transaction.outcome", outcome)
        span.end()


def _rollback(conn: Any) -> None:
    _end_transaction(conn, "rollback")
