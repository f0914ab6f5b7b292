"""expectedUpdatedAt on every update, cancel and (un)archive input (contract §9).

A matching value (the `updatedAt` the API answered, sent back as it is) lets the change
through; any other value, even one microsecond off, is a STALE user error at
["input", "expectedUpdatedAt"] and changes nothing at all: not the row, not the seats or
the other attendees a cancel would reach, not the audit trail. Without the field, every
mutation behaves as before. The check is part of the one conditional UPDATE that changes
the row, so two writers holding the same updatedAt cannot both win.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.timeutil import format_datetime
from tests.factories import BASE_TIME, Factory, T, gid, tick
from tests.test_attendee_mutations import Clinic, open_clinic
from tests.test_concurrency import each_round, outcomes, race

STALE = ("STALE", ["input", "expectedUpdatedAt"])
ONE_MICROSECOND = timedelta(microseconds=1)
# What a mutation could touch in an account (api keys and stored idempotent responses
# belong to the request machinery, not to the change).
TABLES = ("attendee", "booking", "patient", "patient_case", "practitioner", "appointment_type")
READ = """
query($id: ID!) {
  node(id: $id) {
    ... on Attendee { updatedAt } ... on Booking { updatedAt } ... on Patient { updatedAt }
    ... on Practitioner { updatedAt } ... on AppointmentType { updatedAt }
  }
}
"""


def document(name: str, entity: str) -> str:
    """`name(input: $input)` aliased `result`, answering the entity's id and updatedAt."""
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation($input: {input_type}!) {{ result: {name}(input: $input) "
        f"{{ {entity} {{ id updatedAt }} userErrors {{ field message code }} }} }}"
    )


def stamp(microsecond: int = 123_457) -> datetime:
    """A fresh updated_at with a microsecond fraction (the precision the check must keep)."""
    return tick().replace(microsecond=microsecond)


@dataclass(frozen=True)
class Target:
    """The row a mutation is about and the input's other fields."""

    type_name: str
    row_id: int
    fields: dict[str, Any]

    @property
    def id(self) -> str:
        return gid(self.type_name, self.row_id)


Setup = Callable[[Clinic], Awaitable[Target]]


@dataclass(frozen=True)
class Case:
    mutation: str
    entity: str
    setup: Setup

    @property
    def document(self) -> str:
        return document(self.mutation, self.entity)

    @property
    def table(self) -> str:
        return re.sub(r"([A-Z])", r"_\1", self.entity).lower()


async def series(clinic: Clinic, *, kind: str = "group") -> tuple[int, int]:
    """Three weekly occurrences of a series with the same patient in each, and one more
    attendee in each group occurrence (seats the cancels must leave alone when refused).
    The first occurrence and, for a group, the patient's attendance of it."""
    start, patient = BASE_TIME + timedelta(days=7), await clinic.patient()
    rule = {"repeat_type": "Weekly", "number_of_repeats": 2, "repeating_interval": 1}
    bookings: list[int] = []
    attendees: list[int] = []
    for n in range(3):
        link = rule if n == 0 else {"repeated_from_id": bookings[0]}
        values = {**link, "starts_at": start + timedelta(weeks=n), "updated_at": stamp()}
        if kind == "individual":
            bookings.append(await clinic.individual(patient, **values))
            continue
        bookings.append(await clinic.group(**values))
        attendees.append(await clinic.attendee(bookings[-1], patient, updated_at=stamp()))
        await clinic.attendee(bookings[-1], await clinic.patient())
    return bookings[0], attendees[0] if attendees else 0


async def _attendee(clinic: Clinic) -> int:
    booking = await clinic.group()
    return await clinic.attendee(booking, await clinic.patient(), updated_at=stamp())


async def update_attendee(clinic: Clinic) -> Target:
    return Target("Attendee", await _attendee(clinic), {"arrived": True, "notes": "Mat"})


async def cancel_attendee(clinic: Clinic) -> Target:
    """The first occurrence's attendee, cancelled with applyToRepeats."""
    _, attendee = await series(clinic)
    return Target("Attendee", attendee, {"cancellationReason": "SICK", "applyToRepeats": True})


async def archive_attendee(clinic: Clinic) -> Target:
    return Target("Attendee", await _attendee(clinic), {})


async def update_booking(clinic: Clinic) -> Target:
    booking = await clinic.group(updated_at=stamp())
    return Target("GroupAppointment", booking, {"notes": "Water", "maxAttendees": 5})


async def cancel_group_series(clinic: Clinic) -> Target:
    first, _ = await series(clinic)
    fields = {"cancellationReason": "AWAY", "applyToRepeats": True}
    return Target("GroupAppointment", first, fields)


async def cancel_individual_series(clinic: Clinic) -> Target:
    """An individual appointment (cancelling it cancels its attendee), with its series."""
    first, _ = await series(clinic, kind="individual")
    fields = {"cancellationReason": "AWAY", "applyToRepeats": True}
    return Target("IndividualAppointment", first, fields)


async def archive_booking(clinic: Clinic) -> Target:
    return Target("GroupAppointment", await clinic.group(updated_at=stamp()), {})


async def update_patient(clinic: Clinic) -> Target:
    return Target("Patient", await clinic.patient(updated_at=stamp()), {"firstName": "Ada"})


async def archive_patient(clinic: Clinic) -> Target:
    return Target("Patient", await clinic.patient(updated_at=stamp()), {})


async def unarchive_patient(clinic: Clinic) -> Target:
    patient = await clinic.patient(archived_at=tick(), updated_at=stamp())
    return Target("Patient", patient, {})


async def _practitioner(clinic: Clinic) -> int:
    return await clinic.factory.insert(
        "practitioner",
        account_id=clinic.tenant.id,
        first_name="Grace",
        last_name="Hopper",
        updated_at=stamp(),
    )


async def _appointment_type(clinic: Clinic) -> int:
    return await clinic.factory.insert(
        "appointment_type",
        account_id=clinic.tenant.id,
        name="Yoga",
        duration_in_minutes=30,
        max_attendees=4,
        updated_at=stamp(),
    )


async def update_practitioner(clinic: Clinic) -> Target:
    return Target("Practitioner", await _practitioner(clinic), {"title": "Prof"})


async def archive_practitioner(clinic: Clinic) -> Target:
    return Target("Practitioner", await _practitioner(clinic), {})


async def update_appointment_type(clinic: Clinic) -> Target:
    fields = {"name": "Hatha Yoga", "maxAttendees": 6}
    return Target("AppointmentType", await _appointment_type(clinic), fields)


async def archive_appointment_type(clinic: Clinic) -> Target:
    return Target("AppointmentType", await _appointment_type(clinic), {})


CASES = {
    "updateAttendee": Case("updateAttendee", "attendee", update_attendee),
    "cancelAttendee": Case("cancelAttendee", "attendee", cancel_attendee),
    "archiveAttendee": Case("archiveAttendee", "attendee", archive_attendee),
    "updateBooking": Case("updateBooking", "booking", update_booking),
    "cancelBooking-group": Case("cancelBooking", "booking", cancel_group_series),
    "cancelBooking-individual": Case("cancelBooking", "booking", cancel_individual_series),
    "archiveBooking": Case("archiveBooking", "booking", archive_booking),
    "updatePatient": Case("updatePatient", "patient", update_patient),
    "archivePatient": Case("archivePatient", "patient", archive_patient),
    "unarchivePatient": Case("unarchivePatient", "patient", unarchive_patient),
    "updatePractitioner": Case("updatePractitioner", "practitioner", update_practitioner),
    "archivePractitioner": Case("archivePractitioner", "practitioner", archive_practitioner),
    "updateAppointmentType": Case(
        "updateAppointmentType", "appointmentType", update_appointment_type
    ),
    "archiveAppointmentType": Case(
        "archiveAppointmentType", "appointmentType", archive_appointment_type
    ),
}
every_input = pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())


async def updated_at(clinic: Clinic, global_id: str) -> str:
    """The row's updatedAt, as the API answers it."""
    data = await clinic.api.query(READ, {"id": global_id})
    return str(data["node"]["updatedAt"])


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def shifted(text: str, delta: timedelta) -> str:
    """The DateTime `delta` away from `text`, formatted as the API formats it."""
    return format_datetime(instant(text) + delta)


async def snapshot(clinic: Clinic) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the account a mutation could change, in full."""
    rows = {}
    async with clinic.factory.db.read.connect() as conn:
        for name in TABLES:
            table = T[name]
            stmt = sa.select(table).where(table.c.account_id == clinic.tenant.id)
            rows[name] = [tuple(r) for r in (await conn.execute(stmt.order_by(table.c.id))).all()]
    return rows


async def audit_count(clinic: Clinic) -> int:
    audit = T["audit_event"]
    stmt = sa.select(sa.func.count()).where(audit.c.account_id == clinic.tenant.id)
    async with clinic.factory.db.read.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


def errors(payload: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def refused_as_stale(
    clinic: Clinic, case: Case, target: Target, expected: str
) -> dict[str, Any]:
    """Send `expected`; the answer must be STALE and nothing in the account may change."""
    before, audits = await snapshot(clinic), await audit_count(clinic)

    payload = await clinic.mutate(
        case.document, id=target.id, expectedUpdatedAt=expected, **target.fields
    )

    assert errors(payload) == [STALE]
    assert payload[case.entity] is None
    assert await snapshot(clinic) == before
    assert await audit_count(clinic) == audits
    return payload


@pytest.fixture
async def clinic(factory: Factory, client_for: Any) -> Clinic:
    return await open_clinic(factory, client_for)


# Every input: matching, stale, omitted


@every_input
async def test_a_matching_expected_updated_at_applies_the_change(clinic, case):
    target = await case.setup(clinic)
    expected = await updated_at(clinic, target.id)
    audits = await audit_count(clinic)

    payload = await clinic.mutate(
        case.document, id=target.id, expectedUpdatedAt=expected, **target.fields
    )

    assert errors(payload) == []
    assert payload[case.entity]["id"] == target.id
    assert instant(payload[case.entity]["updatedAt"]) > instant(expected)
    assert await audit_count(clinic) == audits + 1


@every_input
@pytest.mark.parametrize("offset", [-ONE_MICROSECOND, ONE_MICROSECOND], ids=["before", "after"])
async def test_a_stale_expected_updated_at_changes_nothing(clinic, case, offset):
    target = await case.setup(clinic)
    current = await updated_at(clinic, target.id)

    payload = await refused_as_stale(clinic, case, target, shifted(current, offset))

    message = payload["userErrors"][0]["message"]
    assert current in message and "Reload" in message
    assert await updated_at(clinic, target.id) == current


@every_input
async def test_without_expected_updated_at_the_change_applies_as_before(clinic, case):
    target = await case.setup(clinic)
    before = await updated_at(clinic, target.id)

    payload = await clinic.mutate(case.document, id=target.id, **target.fields)

    assert errors(payload) == []
    assert instant(payload[case.entity]["updatedAt"]) > instant(before)


@every_input
async def test_the_check_is_part_of_the_update_that_changes_the_row(clinic, case):
    """No read-then-write window: the first write to an entity table is the row's own
    UPDATE, and its WHERE clause compares updated_at."""
    target = await case.setup(clinic)
    expected = await updated_at(clinic, target.id)

    with writes_to_entity_tables() as writes:
        payload = await clinic.mutate(
            case.document, id=target.id, expectedUpdatedAt=expected, **target.fields
        )

    assert errors(payload) == []
    first = writes[0]
    assert re.match(rf"UPDATE {case.table}\b", first), writes
    assert f"{case.table}.updated_at = " in first.split(" WHERE ", 1)[1], first


@contextmanager
def writes_to_entity_tables() -> Iterator[list[str]]:
    """The INSERT, UPDATE and DELETE statements on entity tables run inside the block."""
    seen: list[str] = []
    pattern = re.compile(rf"^\s*(INSERT INTO|UPDATE|DELETE FROM) ({'|'.join(TABLES)})\b")

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if pattern.match(statement):
            seen.append(statement.strip())

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


# Precision


@pytest.mark.parametrize("microsecond", [0, 1, 500_000, 999_999])
async def test_the_comparison_is_exact_to_the_microsecond(clinic, microsecond):
    target = Target("Patient", await clinic.patient(updated_at=stamp(microsecond)), {})
    update = CASES["updatePatient"]
    current = await updated_at(clinic, target.id)
    assert datetime.fromisoformat(current).microsecond == microsecond

    for offset in (-ONE_MICROSECOND, ONE_MICROSECOND):
        await refused_as_stale(clinic, update, target, shifted(current, offset))
    # The same instant written with another offset is the same instant.
    plus_two = datetime.fromisoformat(current).astimezone(timezone(timedelta(hours=2)))
    payload = await clinic.mutate(
        update.document, id=target.id, firstName="Ada", expectedUpdatedAt=plus_two.isoformat()
    )

    assert errors(payload) == []


# Idempotent and repeated operations


IDEMPOTENT = [
    "archiveAttendee",
    "archiveBooking",
    "archivePatient",
    "unarchivePatient",
    "archivePractitioner",
    "archiveAppointmentType",
]


@pytest.mark.parametrize("name", IDEMPOTENT)
async def test_an_idempotent_repeat_checks_expected_updated_at_too(clinic, name):
    case = CASES[name]
    target = await case.setup(clinic)
    done = await clinic.mutate(case.document, id=target.id)
    current = done[case.entity]["updatedAt"]

    await refused_as_stale(clinic, case, target, shifted(current, -ONE_MICROSECOND))
    before = await snapshot(clinic)
    again = await clinic.mutate(case.document, id=target.id, expectedUpdatedAt=current)

    assert errors(again) == []
    assert again[case.entity]["updatedAt"] == current
    assert await snapshot(clinic) == before


@pytest.mark.parametrize(
    "case", [CASES["cancelAttendee"], CASES["cancelBooking-group"]], ids=["attendee", "booking"]
)
async def test_cancelling_twice_is_stale_first_and_already_cancelled_when_current(clinic, case):
    target = await case.setup(clinic)
    first = await clinic.mutate(case.document, id=target.id, **target.fields)
    assert errors(first) == []
    current = first[case.entity]["updatedAt"]

    await refused_as_stale(clinic, case, target, shifted(current, -ONE_MICROSECOND))
    again = await clinic.mutate(
        case.document, id=target.id, expectedUpdatedAt=current, **target.fields
    )

    assert errors(again) == [("ALREADY_CANCELLED", ["input", "id"])]


async def test_an_update_with_nothing_to_change_still_checks(clinic):
    update = CASES["updatePatient"]
    target = Target("Patient", await clinic.patient(updated_at=stamp()), {})
    current = await updated_at(clinic, target.id)

    await refused_as_stale(clinic, update, target, shifted(current, ONE_MICROSECOND))
    payload = await clinic.mutate(update.document, id=target.id, expectedUpdatedAt=current)

    assert errors(payload) == []
    assert payload["patient"]["updatedAt"] == current


async def test_a_missing_row_is_not_found_whatever_expected_updated_at_says(clinic):
    update = CASES["updatePatient"]

    payload = await clinic.mutate(
        update.document, id=gid("Patient", 2**62), expectedUpdatedAt="2026-01-01T00:00:00Z"
    )

    assert errors(payload) == [("NOT_FOUND", ["input", "id"])]


# Real concurrency


@each_round
async def test_of_concurrent_updates_with_the_same_expected_updated_at_one_wins(
    live_server, factory, race_round
):
    tenant = await factory.account()
    last_read = stamp()
    patient = await factory.patient(tenant, updated_at=last_read)
    names = [f"Writer{n}" for n in range(8)]
    calls = [
        (
            CASES["updatePatient"].document,
            {
                "id": gid("Patient", patient),
                "firstName": name,
                "expectedUpdatedAt": format_datetime(last_read),
            },
        )
        for name in names
    ]

    payloads = await race(live_server, tenant.key, calls)

    assert outcomes(payloads) == {"OK": 1, "STALE": len(names) - 1}
    assert {tuple(e["field"]) for p in payloads for e in p["userErrors"]} == {
        ("input", "expectedUpdatedAt")
    }
    (winner,) = [name for name, p in zip(names, payloads, strict=True) if not p["userErrors"]]
    table, audit = T["patient"], T["audit_event"]
    async with factory.db.read.connect() as conn:
        row = (await conn.execute(sa.select(table).where(table.c.id == patient))).one()
        changes = (
            await conn.execute(
                sa.select(sa.func.count()).where(
                    audit.c.account_id == tenant.id, audit.c.entity_id == patient
                )
            )
        ).scalar_one()
    assert row.first_name == winner
    assert row.updated_at > last_read
    assert changes == 1
