"""The audit trail and key revocation (issue 4, item 6).

Every successful mutation writes one audit_event row in its own transaction; a refused
mutation, or one that fails after its change, leaves neither the change nor the row. A
revoked key (by the command line or `revoke_api_key`) gets 401 on the very next request.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import app.graphql.mutations.common as mutations_common
from app.auth import generate_api_key, hash_api_key, revoke_api_key
from app.db import Database
from tests.conftest import key_lookup_cached
from tests.factories import Factory, T, Tenant, gid
from tests.test_patient_mutations import mutation

ID = "databaseId"
CREATE_PATIENT = mutation("createPatient", "CreatePatientInput", "patient", ID)
CREATE_GROUP = mutation("createGroupAppointment", "CreateGroupAppointmentInput", "booking", ID)
CREATE_ATTENDEE = mutation("createAttendee", "CreateAttendeeInput", "attendee", ID)
CANCEL_ATTENDEE = mutation("cancelAttendee", "CancelAttendeeInput", "attendee", ID)
TYPENAME = "query { __typename }"
CHANGED_TABLES = ("patient", "booking", "attendee", "audit_event")
AUDIT = T["audit_event"]


async def account_rows(db: Database, tenant: Tenant, tables: tuple[str, ...]) -> dict[str, Any]:
    """Every row of the account in `tables`, as stored."""
    async with db.read.connect() as conn:
        return {
            name: (
                await conn.execute(
                    sa.select(T[name])
                    .where(T[name].c.account_id == tenant.id)
                    .order_by(T[name].c.id)
                )
            ).all()
            for name in tables
        }


async def audit_trail(db: Database, tenant: Tenant) -> list[tuple[Any, ...]]:
    """The account's audit rows, oldest first, without their ids."""
    columns = [c for c in AUDIT.c if c.name not in ("id", "account_id")]
    async with db.read.connect() as conn:
        rows = await conn.execute(
            sa.select(*columns).where(AUDIT.c.account_id == tenant.id).order_by(AUDIT.c.id)
        )
        return [tuple(row) for row in rows]


async def key_id(db: Database, key: str) -> int:
    api_key = T["api_key"]
    async with db.read.connect() as conn:
        found = await conn.execute(
            sa.select(api_key.c.id).where(api_key.c.key_hash == hash_api_key(key))
        )
        return int(found.scalar_one())


async def mutate(api: Any, document: str, **fields: Any) -> dict[str, Any]:
    """The payload of a mutation that must succeed; returns its node."""
    payload = (await api.query(document, {"input": fields}))["result"]
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload["node"]  # type: ignore[no-any-return]


# audit rows


async def test_every_successful_mutation_writes_one_audit_row(factory, client_for):
    tenant = await factory.account()
    api = client_for(tenant.key)
    started = datetime.now(UTC)

    patient = await mutate(api, CREATE_PATIENT, firstName="Grace", lastName="Hopper")
    booking = await mutate(
        api,
        CREATE_GROUP,
        appointmentTypeId=gid("AppointmentType", tenant.appointment_type_id),
        practitionerId=gid("Practitioner", tenant.practitioner_id),
        startsAt="2026-05-04T09:00:00Z",
    )
    attendee = await mutate(
        api, CREATE_ATTENDEE, bookingId=booking[ID], patientId=patient[ID], notes="first visit"
    )
    await mutate(api, CANCEL_ATTENDEE, id=attendee[ID], cancellationReason="FEELING_BETTER")

    trail = await audit_trail(factory.db, tenant)
    key = await key_id(factory.db, tenant.key)
    assert [row[:-1] for row in trail] == [
        (key, "createPatient", "patient", int(patient[ID])),
        (key, "createGroupAppointment", "booking", int(booking[ID])),
        (key, "createAttendee", "attendee", int(attendee[ID])),
        (key, "cancelAttendee", "attendee", int(attendee[ID])),
    ]
    times = [row[-1] for row in trail]
    assert started <= times[0] <= times[1] <= times[2] <= times[3] <= datetime.now(UTC)


async def test_a_refused_mutation_changes_nothing_and_is_not_audited(factory, client_for):
    tenant = await factory.account()
    booking = await factory.group(tenant, max_attendees=1)
    await factory.attendee(tenant, booking, await factory.patient(tenant))
    latecomer = await factory.patient(tenant, first_name="Late")
    before = await account_rows(factory.db, tenant, CHANGED_TABLES)

    payload = (
        await client_for(tenant.key).query(
            CREATE_ATTENDEE, {"input": {"bookingId": str(booking), "patientId": str(latecomer)}}
        )
    )["result"]

    assert [e["code"] for e in payload["userErrors"]] == ["BOOKING_FULL"]
    assert await account_rows(factory.db, tenant, CHANGED_TABLES) == before
    assert before["audit_event"] == []


async def patient_input(factory: Factory, tenant: Tenant) -> dict[str, Any]:
    return {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"}


async def attendee_input(factory: Factory, tenant: Tenant) -> dict[str, Any]:
    booking = await factory.group(tenant)
    return {"bookingId": str(booking), "patientId": str(await factory.patient(tenant))}


@pytest.mark.parametrize(
    ("document", "table", "make_input"),
    [
        pytest.param(CREATE_PATIENT, "patient", patient_input, id="createPatient"),
        pytest.param(CREATE_ATTENDEE, "attendee", attendee_input, id="createAttendee"),
    ],
)
async def test_a_mutation_failing_after_its_change_leaves_no_trace(
    factory, client_for, monkeypatch, document, table, make_input
):
    tenant = await factory.account()
    fields = await make_input(factory, tenant)
    before = await account_rows(factory.db, tenant, CHANGED_TABLES)
    seen: list[int] = []

    async def failing_record(conn: Any, *, entity_id: int, **_: Any) -> None:
        """The change is in the transaction (and visible in it) when the audit fails."""
        found = await conn.execute(sa.select(T[table].c.id).where(T[table].c.id == entity_id))
        seen.extend(found.scalars())
        raise RuntimeError("the audit store is down")

    monkeypatch.setattr(mutations_common, "record", failing_record)

    body = (await client_for(tenant.key).post(document, {"input": fields})).json()

    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["Unexpected error."]
    assert len(seen) == 1
    assert await account_rows(factory.db, tenant, CHANGED_TABLES) == before


# revocation


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `attendee-gateway` (the venv's console script) against `database_url`."""
    command = shutil.which("attendee-gateway", path=str(Path(sys.executable).parent))
    assert command, "the attendee-gateway console script is not installed"
    return subprocess.run(
        [command, *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


Revoke = Callable[[str, Database, str, int], Awaitable[None]]


async def revoke_by_cli_key(url: str, _db: Database, key: str, key_id: int) -> None:
    done = await asyncio.to_thread(cli, url, "revoke-api-key", key)
    assert (done.returncode, done.stdout) == (
        0,
        f"Revoked API key {key_id}; requests with it now get 401.\n",
    )


async def revoke_by_cli_id(url: str, _db: Database, key: str, key_id: int) -> None:
    done = await asyncio.to_thread(cli, url, "revoke-api-key", "--id", str(key_id))
    assert done.returncode == 0, done.stderr
    again = await asyncio.to_thread(cli, url, "revoke-api-key", "--id", str(key_id))
    assert again.returncode == 2
    assert "no such API key, or it is already revoked" in again.stderr


async def revoke_in_process(_url: str, db: Database, key: str, key_id: int) -> None:
    async with db.write.begin() as conn:
        assert await revoke_api_key(conn, key=key, key_id=None) == key_id


@pytest.mark.parametrize("revoke", [revoke_by_cli_key, revoke_by_cli_id, revoke_in_process])
async def test_a_revoked_key_gets_401_on_the_very_next_request(
    settings, factory, client_for, revoke: Revoke
):
    tenant = await factory.account()
    other_key = generate_api_key()
    await factory.insert("api_key", account_id=tenant.id, key_hash=hash_api_key(other_key))
    api, other = client_for(tenant.key), client_for(other_key)
    assert (await api.post(TYPENAME)).status_code == 200

    await revoke(
        settings.database_url, factory.db, tenant.key, await key_id(factory.db, tenant.key)
    )
    # PostgreSQL: the process's key cache empties when the revocation's NOTIFY arrives,
    # milliseconds after the commit (later on a loaded machine); SQLite caches nothing.
    for _ in range(100):
        if not key_lookup_cached(api.app, tenant.key):
            break
        await asyncio.sleep(0.01)
    response = await api.post(TYPENAME)

    assert response.status_code == 401
    assert "data" not in response.json()
    assert (await other.post(TYPENAME)).status_code == 200
