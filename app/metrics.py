"""Prometheus metrics (contract §8): GET /metrics, on with METRICS=true.

Under `attendee-gateway serve` the values live in prometheus-client's multiprocess files
(PROMETHEUS_MULTIPROC_DIR, a fresh directory that `serve` makes for each run), so a scrape
answered by any worker sums every worker. Without that directory (in-process, or plain
uvicorn) a scrape sees its own process.

Labels only ever take values from small fixed sets (operation kind, HTTP status, execution
path, pool): never an operation name, an id or a variable, so a caller cannot grow the
label space or read request values from the exposition.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope
from strawberry.extensions import SchemaExtension

from app.context import Context, RequestLog
from app.db import Database

KINDS = ("query", "mutation")  # anything else (no operation reached, or unknown): "other"
KIND_KEY = "gateway.operation_kind"  # where OperationKind leaves the kind, in the ASGI scope
PATHS = ("planned", "standard")

REGISTRY = CollectorRegistry()  # this process's metrics when not in multiprocess mode
REQUESTS = Counter(
    "gateway_requests",
    "GraphQL HTTP requests answered, by operation kind and HTTP status.",
    ["kind", "status"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "gateway_request_duration_seconds",
    "Time from a request's arrival to its answer, by operation kind.",
    ["kind"],
    registry=REGISTRY,
)
STATEMENTS = Histogram(
    "gateway_sql_statements_per_request",
    "SQL statements one request ran (its X-SQL-Statements header), by operation kind.",
    ["kind"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100),
    registry=REGISTRY,
)
EXECUTIONS = Counter(
    "gateway_executions",
    "GraphQL operations executed, by the path that answered: planned (app.plan) or standard.",
    ["path"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "gateway_rate_limited",
    "Requests refused with 429 by the per-key rate limit.",
    registry=REGISTRY,
)
POOL_CHECKED_OUT = Gauge(
    "gateway_db_pool_checked_out",
    "Database connections checked out of the read and write pools.",
    ["pool"],
    multiprocess_mode="livesum",  # summed over the live workers
    registry=REGISTRY,
)

# Subscriptions (app/events): updated whether or not /metrics is served (cheap counters).
OPEN_SOCKETS = Gauge(
    "gateway_open_sockets",
    "WebSocket connections acknowledged and open.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
SUBSCRIPTIONS = Gauge(
    "gateway_subscriptions",
    "Subscriptions running (replaying or live).",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
EVENTS_DELIVERED = Counter(
    "gateway_events_delivered",
    "Change events sent to subscribers (one per subscriber and event).",
    registry=REGISTRY,
)


class OperationKind(SchemaExtension):
    """Notes whether the request's operation was a query or a mutation."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        if not isinstance(context, Context):
            return
        try:
            kind = self.execution_context.operation_type.value
        except RuntimeError:  # no document, or no operation of that name
            return
        if kind in KINDS:  # a subscription (over HTTP: refused) stays "other"
            context.request.scope[KIND_KEY] = kind


class Metrics:
    """The metrics of one application: its pools' gauges and the per-request series."""

    def __init__(self, database: Database, schema: Any) -> None:
        schema.extensions = (*schema.extensions, OperationKind)
        for name, engine in (("read", database.read), ("write", database.write)):
            gauge = POOL_CHECKED_OUT.labels(name)
            event.listen(engine.sync_engine, "checkout", _adder(gauge, 1))
            event.listen(engine.sync_engine, "checkin", _adder(gauge, -1))
        # The label children, made once: the per-request cost is a dict lookup.
        kinds = (*KINDS, "other")
        self._duration = {kind: DURATION.labels(kind) for kind in kinds}
        self._statements = {kind: STATEMENTS.labels(kind) for kind in kinds}
        self._executions = {path: EXECUTIONS.labels(path) for path in PATHS}
        self._requests: dict[tuple[str, int], Any] = {}

    def observe(
        self, scope: Scope, log: RequestLog, status: int, seconds: float, statements: int
    ) -> None:
        """One request's end (GraphQLEndpoint's request log line)."""
        kind = scope.get(KIND_KEY, "other")
        requests = self._requests.get((kind, status))
        if requests is None:  # statuses come from the gateway's own small set
            requests = self._requests[kind, status] = REQUESTS.labels(kind, str(status))
        requests.inc()
        self._duration[kind].observe(seconds)
        self._statements[kind].observe(statements)
        if kind != "other":  # an operation was found: one of the two paths answered it
            self._executions[log.execution].inc()

    @staticmethod
    def rate_limited() -> None:
        RATE_LIMITED.inc()

    @staticmethod
    async def endpoint(_request: Request) -> Response:
        """GET /metrics: the Prometheus text format (0.0.4)."""
        return Response(await run_in_threadpool(exposition), media_type=CONTENT_TYPE_PLAIN_0_0_4)


def exposition() -> bytes:
    """Every worker's series in multiprocess mode, else this process's."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _adder(gauge: Any, amount: int) -> Any:
    def listener(*_args: Any) -> None:
        gauge.inc(amount)

    return listener
