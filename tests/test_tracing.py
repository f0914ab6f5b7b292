"""Tracing (§8) through a real OTLP/HTTP receiver: a `serve` process sends its spans to a
small HTTP server in this test, which decodes them with the collector's protobuf types.

A query (planned) and a mutation (the ordinary executor) with distinctive values: each
request is one trace whose root is the request's span, with the plan levels or resolvers
under it and the SQL statements under those; and no value of a variable, no row, no SQL
parameter and no key appears in any attribute, name or anywhere else in what was sent.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from sqlalchemy import event

from app import tracing
from app.config import Settings
from app.main import create_app
from tests.factories import Factory, gid
from tests.gateway_process import gateway

SEARCH = "Zanzibar7731"  # a patient search text
FIRST, LAST = "Quillonius", "Vexbridgeworth"  # the found patient's row
EMAIL = "quillonius.vexbridgeworth@example.org"
NEW_FIRST, NEW_LAST = "Ottoline", "Marrowstaff"  # the mutation's input
NEW_EMAIL = "ottoline.marrowstaff@example.net"
PHONE = "+61 400 987 654"

QUERY = """
query FindPatients($search: String!, $id: ID!) {
  patients(first: 5, filter: { search: $search }) { nodes { id firstName lastName email } }
  patient(id: $id) { id firstName lastName }
}
"""
MUTATION = """
mutation AddPatient($input: CreatePatientInput!) {
  createPatient(input: $input) { patient { id firstName } userErrors { message } }
}
"""


@dataclass
class Receiver:
    """An OTLP/HTTP trace receiver: POST /v1/traces, protobuf, possibly gzipped."""

    url: str
    bodies: list[bytes] = field(default_factory=list)
    spans: list[tuple[dict[str, Any], Span]] = field(default_factory=list)  # (resource, span)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            self.bodies.append(body)
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend((resource, span) for span in scope_spans.spans)

    def wait_for(self, names: list[str], count: int, timeout: float = 15) -> list[Span]:
        """The spans so far, once `count` spans with each of these names have arrived."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                spans = [span for _, span in self.spans]
            if all(sum(s.name == n for s in spans) >= count for n in names):
                return spans
            if time.monotonic() > deadline:
                pytest.fail(f"spans {names} did not arrive; got {[s.name for s in spans]}")
            time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path != "/v1/traces":
                self.send_error(404)
                return
            found.receive(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    return getattr(any_value, kind) if kind else None


def attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: value(pair.value) for pair in pairs}


def every_attribute(span: Span) -> list[KeyValue]:
    return [
        *span.attributes,
        *(a for e in span.events for a in e.attributes),
        *(a for link in span.links for a in link.attributes),
    ]


def post(url: str, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        url,
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def children(spans: list[Span], parent: Span) -> list[Span]:
    return [s for s in spans if s.parent_span_id == parent.span_id]


def descendants(spans: list[Span], parent: Span) -> list[Span]:
    found = children(spans, parent)
    return [d for c in found for d in (c, *descendants(spans, c))]


async def test_spans_reach_an_otlp_receiver_without_values(
    database_url: str, factory: Factory, receiver: Receiver
) -> None:
    tenant = await factory.account()
    patient_id = await factory.patient(
        tenant, first_name=FIRST, last_name=f"{LAST} {SEARCH}", email=EMAIL
    )
    patient_gid = gid("Patient", patient_id)
    otel = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "gateway-under-test",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
    }
    with gateway(database_url, **otel) as served:
        data = post(served.url, tenant.key, QUERY, {"search": SEARCH, "id": patient_gid})
        assert data["patients"]["nodes"][0]["firstName"] == FIRST  # rows were read
        assert data["patient"]["id"] == patient_gid
        patient = {
            "firstName": NEW_FIRST,
            "lastName": NEW_LAST,
            "email": NEW_EMAIL,
            "phoneNumbers": [{"number": PHONE, "phoneType": "MOBILE"}],
        }
        created = post(served.url, tenant.key, MUTATION, {"input": patient})
        assert created["createPatient"]["userErrors"] == []
        new_gid = created["createPatient"]["patient"]["id"]
        spans = receiver.wait_for(["POST /graphql"], 2)

    assert {resource["service.name"] for resource, _ in receiver.spans} == {"gateway-under-test"}
    requests = {
        attributes(s.attributes).get("graphql.operation.name"): s
        for s in spans
        if s.name == "POST /graphql"
    }
    assert set(requests) >= {"FindPatients", "AddPatient"}, requests

    # The query: planned, one span per level, its statements under the levels.
    query = requests["FindPatients"]
    assert query.kind == Span.SPAN_KIND_SERVER
    assert query.parent_span_id == b""
    query_attributes = attributes(query.attributes)
    assert query_attributes["gateway.execution"] == "planned"
    assert query_attributes["http.response.status_code"] == 200
    levels = [s for s in children(spans, query) if s.name.startswith("plan level ")]
    assert {attributes(s.attributes)["db.collection.name"] for s in levels} == {"patient"}
    assert len(levels) == 2  # the patients page, the patient lookup
    for level in levels:
        statements = children(spans, level)
        assert statements, f"no statement under {level.name}"
        for statement in statements:
            assert statement.name == "SELECT patient"
            assert statement.kind == Span.SPAN_KIND_CLIENT
            assert attributes(statement.attributes)["db.operation.name"] == "SELECT"
    in_query = descendants(spans, query)
    assert all(s.trace_id == query.trace_id for s in in_query)
    statement_count = sum(s.name.startswith("SELECT ") for s in in_query)
    # every statement the request ran is in the trace (the key check may be cached)
    assert statement_count >= query_attributes["gateway.sql_statements"] - 1

    # The mutation: the ordinary executor's resolver, its transaction and statements.
    mutation = requests["AddPatient"]
    assert attributes(mutation.attributes)["gateway.execution"] == "standard"
    [resolver] = [s for s in children(spans, mutation) if s.name.startswith("resolve ")]
    assert resolver.name == "resolve Mutation.createPatient"
    transactions = [s for s in children(spans, resolver) if s.name == "transaction"]
    assert transactions
    assert any(
        attributes(t.attributes)["gateway.transaction.outcome"] == "commit" for t in transactions
    )
    written = [s.name for t in transactions for s in children(spans, t)]
    assert "INSERT patient" in written, written
    assert all(s.trace_id == mutation.trace_id for s in descendants(spans, mutation))
    assert mutation.trace_id != query.trace_id

    # Nothing of a value anywhere: not in attributes, not in names, not in the bytes sent.
    secrets = [SEARCH, FIRST, LAST, EMAIL, NEW_FIRST, NEW_LAST, NEW_EMAIL, PHONE, patient_gid]
    secrets += [new_gid, tenant.key, tenant.key[-12:]]
    for span in spans:
        texts = [span.name, span.status.message]
        texts += [str(value(a.value)) for a in every_attribute(span)]
        for text in texts:
            assert not any(secret.lower() in text.lower() for secret in secrets), (span.name, text)
            assert " FROM " not in text.upper(), (span.name, text)  # no SQL text at all
    for body in receiver.bodies:
        for secret in secrets:
            assert secret.encode() not in body, secret
    allowed = {
        "http.request.method",
        "url.path",
        "http.response.status_code",
        "gateway.execution",
        "gateway.sql_statements",
        "graphql.operation.name",
        "graphql.field",
        "gateway.plan.level",
        "gateway.plan.kind",
        "db.system.name",
        "db.operation.name",
        "db.collection.name",
        "gateway.transaction.outcome",
        "error.type",
    }
    assert {a.key for s in spans for a in every_attribute(s)} <= allowed


async def test_with_tracing_off_no_exporter_starts(
    database_url: str, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """Off: no provider, no export thread, no statement listener, no span; then the same
    app with the endpoint set does start them (so the checks can see them)."""
    settings = Settings(database_url=database_url)
    for on in (False, True):
        if on:
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        else:
            monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
            monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            engine = app.state.database.read.sync_engine
            threads = [t.name for t in threading.enumerate() if t.name.startswith("OtelBatch")]
            listening = event.contains(engine, "after_cursor_execute", tracing._after_statement)
            span = tracing.start_request("POST", "/graphql", {})
            assert tracing.enabled() is on
            assert bool(threads) is on
            assert listening is on
            assert (span is not None) is on
            if span is not None:
                span.end()
        assert not tracing.enabled()
