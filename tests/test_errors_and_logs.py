"""Masked errors, logs without patient data, and the introspection switch (contract §5).

An unexpected fault reaches the caller as "Unexpected error." with an error id; the log
has the id and the exception's type, never SQL or values. The request log line has the
method, status, duration, operation, account and statement count, and nothing a caller
sent or a row holds. With introspection off, validation errors make no suggestions.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.config import Settings
from app.db import Database, create_database
from app.migrate import upgrade_to_head
from tests.factories import Factory, Tenant, gid
from tests.helpers_app import serving

PATIENT_NAMES = "query Names { patients { nodes { id firstName lastName } } }"
CREATE_PATIENT = """
mutation CreatePatient($input: CreatePatientInput!) {
  createPatient(input: $input) { patient { id firstName lastName email dateOfBirth } }
}
"""
CREATE_ATTENDEE = """
mutation CreateAttendee($input: CreateAttendeeInput!) {
  createAttendee(input: $input) { attendee { id notes } userErrors { message } }
}
"""
FIND_PATIENT = """
query FindPatient($email: String!) {
  bySearch: patients(filter: { search: "Quackenbush" }) { nodes { id lastName } }
  byEmail: patients(filter: { email: $email }) { nodes { id email } }
}
"""
PATIENT = {
    "firstName": "Zebulon",
    "lastName": "Quackenbush",
    "email": "zeb.quackenbush@private.example",
    "dateOfBirth": "1961-07-04",
    "phoneNumbers": [{"number": "0412 987 654", "phoneType": "MOBILE"}],
}
NOTES = "Discloses a penicillin allergy and recent cardiology referral"
SECRETS = ["Zebulon", "Quackenbush", "zeb.quackenbush", "1961-07-04", "0412 987 654", "penicillin"]
REQUEST_LINE = re.compile(
    r"method=POST path=/graphql status=200 duration_ms=\d+\.\d "
    r"operation=(?P<operation>\w+) execution=(?:planned|standard) account=(?P<account>\d+) "
    r"statements=(?P<statements>\d+) error_ids=-"
)

INTROSPECTION_OFF = (
    "GraphQL introspection has been disabled, but the requested query contained the field '{}'."
)
MISSPELT = [
    pytest.param("query { attendes { nodes { id } } }", {}, id="field"),
    pytest.param("query { attendees(frist: 1) { nodes { id } } }", {}, id="argument"),
    pytest.param("query($n: Itn) { attendees(first: $n) { nodes { id } } }", {}, id="type"),
    pytest.param(
        "query { patients(orderBy: [{ field: CREATED_A }]) { nodes { id } } }", {}, id="enum"
    ),
    pytest.param(
        CREATE_PATIENT,
        {"input": {"firstNme": "Ada", "lastName": "Byron"}},
        id="input-field-in-variables",
    ),
]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything captured, formatted as a handler would (tracebacks included)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, str]]:
    lines = [r.getMessage() for r in caplog.records if r.name == "app.requests"]
    matches = [REQUEST_LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    return [m.groupdict() for m in matches if m]


# masked errors


@dataclass
class Broken:
    settings: Settings
    tenant: Tenant


@pytest.fixture
async def broken(tmp_path: Path) -> AsyncIterator[Broken]:
    """A throwaway SQLite database with a patient, whose patient.first_name column was
    renamed behind the app's back: listing patients fails inside the database."""
    url = f"sqlite+aiosqlite:///{tmp_path}/broken.db"
    await asyncio.to_thread(upgrade_to_head, url)
    database: Database = create_database(Settings(database_url=url))
    try:
        factory = Factory(database)
        tenant = await factory.account()
        await factory.patient(tenant, first_name="Rosalind", last_name="Quenby")
        async with database.write.begin() as conn:
            await conn.execute(
                sa.text("ALTER TABLE patient RENAME COLUMN first_name TO given_name")
            )
        yield Broken(Settings(database_url=url), tenant)
    finally:
        await database.dispose()


async def test_a_database_error_is_masked_and_logged_without_detail(broken, caplog):
    caplog.set_level(logging.INFO)

    async with serving(broken.settings) as served:
        response = await served.client(broken.tenant.key).post(PATIENT_NAMES)

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    error_id = error["extensions"]["errorId"]
    assert error == {
        "message": "Unexpected error.",
        "locations": [{"line": 1, "column": 15}],
        "path": ["patients"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
    }
    assert re.fullmatch(r"[0-9a-f]{12}", error_id)
    log = logged(caplog)
    assert f"id={error_id} type=OperationalError path=patients" in log
    assert f"error_ids={error_id}" in log
    for detail in ("SELECT", "first_name", "given_name", "no such column", "Rosalind", "Quenby"):
        assert detail not in response.text
        assert detail not in log
    for detail in ("Traceback", "sqlite", "OperationalError", 'File "'):
        assert detail not in response.text


# logs


async def test_logs_carry_no_patient_data_and_one_line_per_request(factory, client_for, caplog):
    tenant = await factory.account()
    booking = await factory.group(tenant)
    api = client_for(tenant.key)
    caplog.set_level(logging.DEBUG)  # the root logger: every logger without its own level

    created = await api.query(CREATE_PATIENT, {"input": PATIENT})
    counts = [api.last_run]
    patient = created["createPatient"]["patient"]
    enrolment = {"bookingId": gid("GroupAppointment", booking), "patientId": patient["id"]}
    attendee = await api.query(CREATE_ATTENDEE, {"input": {**enrolment, "notes": NOTES}})
    counts.append(api.last_run)
    found = await api.query(FIND_PATIENT, {"email": PATIENT["email"]})
    counts.append(api.last_run)

    assert attendee["createAttendee"]["attendee"]["notes"] == NOTES
    assert found["bySearch"]["nodes"] == [{"id": patient["id"], "lastName": "Quackenbush"}]
    log = logged(caplog)
    for secret in SECRETS:
        assert secret not in log, f"{secret!r} was logged"
    assert request_lines(caplog) == [
        {"operation": name, "account": str(tenant.id), "statements": str(count)}
        for name, count in zip(
            ("CreatePatient", "CreateAttendee", "FindPatient"), counts, strict=True
        )
    ]


# introspection switch


@pytest.fixture(scope="module")
async def private(settings: Settings) -> AsyncIterator[Any]:
    """The app with introspection turned off (for the module)."""
    async with serving(settings, introspection=False) as served:
        yield served


@pytest.mark.parametrize(
    ("field", "document"),
    [
        ("__schema", "query { __schema { queryType { name } } }"),
        ("__type", 'query { __type(name: "Query") { name } }'),
    ],
)
async def test_introspection_off_refuses_schema_queries(factory, private, field, document):
    tenant = await factory.account()
    api = private.client(tenant.key)

    messages = await api.errors(document)

    assert messages[0] == INTROSPECTION_OFF.format(field)
    assert api.last_statements == 1  # the API-key lookup only


async def test_introspection_off_still_answers_typename(factory, private):
    tenant = await factory.account()

    assert await private.client(tenant.key).query("query { __typename }") == {"__typename": "Query"}


@pytest.mark.parametrize(("document", "variables"), MISSPELT)
async def test_introspection_off_suggests_nothing(
    factory, client_for, private, document, variables
):
    tenant = await factory.account()
    with_introspection = await client_for(tenant.key).errors(document, variables)
    assert any("Did you mean" in m for m in with_introspection), with_introspection

    messages = await private.client(tenant.key).errors(document, variables)

    assert not [m for m in messages if "Did you mean" in m]
