"""Idempotency-Key (contract §9): a retried mutation request returns the first response and
changes nothing more, even when identical requests race on two server processes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.config import Settings
from app.housekeeping import housekeeping
from app.idempotency import prune
from app.main import create_app
from app.timeutil import utcnow
from tests.factories import Factory, T, Tenant, gid
from tests.gateway_process import gateway

CREATE = """
mutation($input: CreateAttendeeInput!) {
  createAttendee(input: $input) {
    attendee { id notes booking { ... on GroupAppointment { availableSeats } } }
    userErrors { code field }
  }
}
"""
TWO = """
mutation($a: CreateAttendeeInput!, $b: CreateAttendeeInput!) {
  a: createAttendee(input: $a) { attendee { id } userErrors { code } }
  b: createAttendee(input: $b) { attendee { id } userErrors { code } }
}
"""


async def _count(factory: Factory, table: str, account_id: int) -> int:
    async with factory.db.write.connect() as conn:
        stmt = sa.select(sa.func.count()).select_from(T[table])
        return int(await conn.scalar(stmt.where(T[table].c.account_id == account_id)) or 0)


async def _setup(factory: Factory) -> tuple[Tenant, dict[str, Any]]:
    tenant = await factory.account()
    booking = await factory.group(tenant, max_attendees=3)
    patient = await factory.patient(tenant)
    fields = {"bookingId": gid("GroupAppointment", booking), "patientId": gid("Patient", patient)}
    return tenant, fields


async def test_a_retried_create_returns_the_first_response_and_books_once(
    factory: Factory, client_for: Any
) -> None:
    tenant, fields = await _setup(factory)
    client = client_for(tenant.key)
    headers = {"Idempotency-Key": "retry-1"}
    first = await client.post(CREATE, {"input": {**fields, "notes": "first"}}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["data"]["createAttendee"]["userErrors"] == []
    assert "idempotent-replayed" not in first.headers
    again = await client.post(CREATE, {"input": {**fields, "notes": "first"}}, headers=headers)
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await _count(factory, "attendee", tenant.id) == 1
    assert await _count(factory, "audit_event", tenant.id) == 1
    # Without the header, the same request runs: the rule makes it ALREADY_ATTENDING.
    plain = await client.post(CREATE, {"input": {**fields, "notes": "first"}})
    assert plain.json()["data"]["createAttendee"]["userErrors"][0]["code"] == "ALREADY_ATTENDING"


async def test_the_same_key_with_another_body_is_422_and_changes_nothing(
    factory: Factory, client_for: Any
) -> None:
    tenant, fields = await _setup(factory)
    client = client_for(tenant.key)
    headers = {"Idempotency-Key": "k"}
    await client.post(CREATE, {"input": fields}, headers=headers)
    other = await client.post(CREATE, {"input": {**fields, "notes": "x"}}, headers=headers)
    assert other.status_code == 422
    assert "different request body" in other.json()["errors"][0]["message"]
    assert await _count(factory, "attendee", tenant.id) == 1
    # The same JSON with its keys in another order is the same request.
    reordered = {"input": {"patientId": fields["patientId"], "bookingId": fields["bookingId"]}}
    assert (await client.post(CREATE, reordered, headers=headers)).status_code == 200


@pytest.mark.parametrize("key", [b"", b"x" * 256, b"tab\there", "caf\u00e9".encode()])
async def test_a_malformed_key_is_400(factory: Factory, client_for: Any, key: bytes) -> None:
    tenant, fields = await _setup(factory)
    client = client_for(tenant.key)
    response = await client.post(
        CREATE,
        {"input": fields},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"][0]["message"]
    assert await _count(factory, "attendee", tenant.id) == 0


async def test_a_refusal_is_stored_and_replayed_too(factory: Factory, client_for: Any) -> None:
    tenant, fields = await _setup(factory)
    client = client_for(tenant.key)
    await client.post(CREATE, {"input": fields})  # attends already
    headers = {"Idempotency-Key": "refused"}
    first = await client.post(CREATE, {"input": fields}, headers=headers)
    assert first.json()["data"]["createAttendee"]["userErrors"][0]["code"] == "ALREADY_ATTENDING"
    again = await client.post(CREATE, {"input": fields}, headers=headers)
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"


async def test_every_mutation_of_a_request_commits_with_its_key(
    factory: Factory, client_for: Any
) -> None:
    tenant, fields = await _setup(factory)
    other = await factory.patient(tenant)
    client = client_for(tenant.key)
    second = {**fields, "patientId": gid("Patient", other)}
    variables = {"a": fields, "b": second}
    headers = {"Idempotency-Key": "two"}
    first = await client.post(TWO, variables, headers=headers)
    data = first.json()["data"]
    assert data["a"]["userErrors"] == [] and data["b"]["userErrors"] == []
    again = await client.post(TWO, variables, headers=headers)
    assert again.content == first.content
    assert await _count(factory, "attendee", tenant.id) == 2


async def test_a_key_is_per_api_key_and_a_query_stores_nothing(
    factory: Factory, client_for: Any
) -> None:
    tenant, fields = await _setup(factory)
    headers = {"Idempotency-Key": "shared"}
    response = await client_for(tenant.key).post(
        "query { patients { totalCount } }", headers=headers
    )
    assert response.status_code == 200
    assert await _count(factory, "idempotency_key", tenant.id) == 0
    first = await client_for(tenant.key).post(CREATE, {"input": fields}, headers=headers)
    assert first.json()["data"]["createAttendee"]["userErrors"] == []
    # Another API key of the same account: its own key space, so this one runs.
    other = client_for(await factory.key(tenant))
    second = await other.post(CREATE, {"input": fields}, headers=headers)
    assert second.json()["data"]["createAttendee"]["userErrors"][0]["code"] == "ALREADY_ATTENDING"


async def test_a_key_older_than_24_hours_runs_again_and_is_pruned(
    factory: Factory, client_for: Any
) -> None:
    tenant, fields = await _setup(factory)
    client = client_for(tenant.key)
    headers = {"Idempotency-Key": "old"}
    await client.post(CREATE, {"input": fields}, headers=headers)
    table = T["idempotency_key"]
    async with factory.db.write.begin() as conn:
        await conn.execute(
            sa.update(table)
            .where(table.c.account_id == tenant.id)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    again = await client.post(CREATE, {"input": fields}, headers=headers)
    assert "idempotent-replayed" not in again.headers
    assert again.json()["data"]["createAttendee"]["userErrors"][0]["code"] == "ALREADY_ATTENDING"
    async with factory.db.write.begin() as conn:
        await conn.execute(
            sa.update(table)
            .where(table.c.account_id == tenant.id)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
        assert await prune(conn) >= 1
    assert await _count(factory, "idempotency_key", tenant.id) == 0


async def test_a_key_with_a_forbidden_or_invalid_request_stores_nothing(
    factory: Factory, client_for: Any
) -> None:
    tenant, fields = await _setup(factory)
    reader = client_for(await factory.key(tenant, scopes="read"))
    headers = {"Idempotency-Key": "nothing"}
    assert (await reader.post(CREATE, {"input": fields}, headers=headers)).status_code == 403
    bad = await client_for(tenant.key).post("mutation { nope }", headers=headers)
    assert bad.json()["errors"]
    assert await _count(factory, "idempotency_key", tenant.id) == 0


async def test_twenty_identical_requests_on_two_processes_change_once(
    factory: Factory, database_url: str
) -> None:
    tenant, fields = await _setup(factory)
    headers = {"Authorization": f"Bearer {tenant.key}", "Idempotency-Key": "race"}
    body = {"query": CREATE, "variables": {"input": {**fields, "notes": "raced"}}}
    # Ten connections per pool at most: the twenty requests queue for them as in production.
    with (
        gateway(database_url, DB_POOL_SIZE="5") as one,
        gateway(database_url, DB_POOL_SIZE="5") as two,
    ):
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=20)) as http:
            responses = await asyncio.gather(
                *(http.post((one, two)[i % 2].url, json=body, headers=headers) for i in range(20))
            )
        logs = one.log() + two.log()
    assert [r.status_code for r in responses] == [200] * 20, logs
    assert len({r.content for r in responses}) == 1  # every answer is the first one's
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    payload = responses[0].json()["data"]["createAttendee"]
    assert payload["userErrors"] == [] and payload["attendee"]["notes"] == "raced"
    assert await _count(factory, "attendee", tenant.id) == 1
    assert await _count(factory, "audit_event", tenant.id) == 1


@pytest.mark.parametrize("execution", ["planned", "standard"])
async def test_trusted_documents_on_either_path_are_idempotent_too(
    factory: Factory, database_url: str, tmp_path: Path, execution: str
) -> None:
    tenant, fields = await _setup(factory)
    digest = hashlib.sha256(CREATE.encode()).hexdigest()
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({f"sha256:{digest}": CREATE}))
    settings = Settings(
        database_url=database_url,
        persisted_documents_path=str(manifest),
        trusted_documents_only=True,
        execution=execution,
    )
    application = create_app(settings)
    body = {"documentId": f"sha256:{digest}", "variables": {"input": fields}}
    headers = {"Authorization": f"Bearer {tenant.key}", "Idempotency-Key": "trusted"}
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as http,
    ):
        first = await http.post("/graphql", json=body, headers=headers)
        again = await http.post("/graphql", json=body, headers=headers)
    assert first.json()["data"]["createAttendee"]["userErrors"] == []
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert await _count(factory, "attendee", tenant.id) == 1


async def test_every_process_prunes_expired_keys_in_the_background(
    factory: Factory, client_for: Any, database: Any
) -> None:
    tenant, fields = await _setup(factory)
    await client_for(tenant.key).post(CREATE, {"input": fields}, headers={"Idempotency-Key": "bg"})
    table = T["idempotency_key"]
    async with factory.db.write.begin() as conn:
        old = utcnow() - timedelta(hours=25)
        await conn.execute(
            sa.update(table).where(table.c.account_id == tenant.id).values(created_at=old)
        )
    cleaner = asyncio.create_task(housekeeping(database, interval=0.02))
    try:
        for _ in range(200):
            if await _count(factory, "idempotency_key", tenant.id) == 0:
                break
            await asyncio.sleep(0.02)
    finally:
        cleaner.cancel()
    assert await _count(factory, "idempotency_key", tenant.id) == 0
