"""API key scopes (contract §9): read for queries, write for mutations, audit for the
audit trail; a refused document is FORBIDDEN before anything runs or changes."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import Factory, T, gid

CREATE_PATIENT = """
mutation($input: CreatePatientInput!) {
  createPatient(input: $input) { patient { id } userErrors { code } }
}
"""
PATIENTS = "query { patients { totalCount } }"
MUTATION_WITH_FRAGMENT = """
mutation { ...M }
fragment M on Mutation { createPatient(input: {firstName: "A", lastName: "B"}) { patient { id } } }
"""


async def _rows(factory: Factory, table: str, account_id: int) -> int:
    async with factory.db.write.connect() as conn:
        stmt = sa.select(sa.func.count()).select_from(T[table])
        return int(await conn.scalar(stmt.where(T[table].c.account_id == account_id)) or 0)


def _forbidden(response: Any, scope: str) -> None:
    body = response.json()
    assert response.status_code == 403, body
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert f"`{scope}`" in error["message"]


@pytest.mark.parametrize("document", [CREATE_PATIENT, MUTATION_WITH_FRAGMENT])
async def test_a_key_without_write_cannot_mutate_and_nothing_is_recorded(
    factory: Factory, client_for: Any, document: str
) -> None:
    tenant = await factory.account()
    reader = client_for(await factory.key(tenant, scopes="read"))
    before = (
        await _rows(factory, "patient", tenant.id),
        await _rows(factory, "audit_event", tenant.id),
    )
    response = await reader.post(document, {"input": {"firstName": "Ann", "lastName": "Lee"}})
    _forbidden(response, "write")
    assert reader.last_statements == 1  # the key check only: refused before any other SQL
    after = (
        await _rows(factory, "patient", tenant.id),
        await _rows(factory, "audit_event", tenant.id),
    )
    assert after == before
    assert (await reader.query(PATIENTS))["patients"]["totalCount"] == before[0]


async def test_graphql_response_json_keeps_the_403(factory: Factory, client_for: Any) -> None:
    tenant = await factory.account()
    reader = client_for(await factory.key(tenant, scopes="read"))
    response = await reader.post(
        CREATE_PATIENT,
        {"input": {"firstName": "A", "lastName": "B"}},
        headers={"Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_write_only_key_mutates_and_reads_the_payload_but_no_query_fields(
    factory: Factory, client_for: Any
) -> None:
    tenant = await factory.account()
    writer = client_for(await factory.key(tenant, scopes="write"))
    response = await writer.post(CREATE_PATIENT, {"input": {"firstName": "A", "lastName": "B"}})
    body = response.json()
    assert response.status_code == 200, body
    assert body["data"]["createPatient"]["patient"]["id"]
    _forbidden(await writer.post(PATIENTS), "read")
    _forbidden(await writer.post('query { ... on Query { patient(id: "1") { id } } }'), "read")
    # Introspection and __typename need no scope.
    assert (await writer.query("{ __typename __schema { queryType { name } } }"))["__typename"]


async def test_audit_events_need_the_audit_scope(factory: Factory, client_for: Any) -> None:
    tenant = await factory.account()
    plain = client_for(tenant.key)  # read + write, as every key made before scopes
    _forbidden(await plain.post("query { auditEvents { totalCount } }"), "audit")


async def test_without_read_an_audit_entity_shows_its_id_only(
    factory: Factory, client_for: Any
) -> None:
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    await factory.insert(
        "audit_event",
        account_id=tenant.id,
        operation="createPatient",
        entity_type="patient",
        entity_id=patient,
    )
    auditor = client_for(await factory.key(tenant, scopes="audit"))
    data = await auditor.query("query { auditEvents { nodes { entity { id __typename } } } }")
    assert data["auditEvents"]["nodes"] == [
        {"entity": {"id": gid("Patient", patient), "__typename": "Patient"}}
    ]
    leak = """
    query { auditEvents { edges { node { ...E } } } }
    fragment E on AuditEvent { entity { id ... on Patient { firstName } } }
    """
    _forbidden(await auditor.post(leak), "read")
    both = client_for(await factory.key(tenant, scopes="read audit"))
    data = await both.query(
        "query { auditEvents { nodes { entity { ... on Patient { firstName } } } } }"
    )
    assert data["auditEvents"]["nodes"] == [{"entity": {"firstName": "Pat"}}]
