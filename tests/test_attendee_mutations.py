"""createAttendee, updateAttendee, cancelAttendee, archiveAttendee (contract §4).

Every refused mutation is checked the same way (`Clinic.refuse`): a user error with its
code and input path, no top-level error, and not a single row changed in the account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import BASE_TIME, Factory, T, Tenant, gid, tick

MISSING = 2**62
Z_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")

ATTENDEE = """
id databaseId arrived notes
cancellationReason cancellationReasonDescription cancellationNote cancelledAt
archivedAt createdAt updatedAt
patient { id } patientCase { id }
booking { id ... on GroupAppointment { availableSeats } }
"""


def mutation(name: str, payload: str) -> str:
    """A one-mutation document: `name(input: $input)` aliased `result`."""
    input_type = name[0].upper() + name[1:] + "Input"
    return f"mutation($input: {input_type}!) {{ result: {name}(input: $input) {payload} }}"


PAYLOAD = "{{ {entity} {{ {fields} }} userErrors {{ field message code }} clientMutationId }}"
ATTENDEE_PAYLOAD = PAYLOAD.format(entity="attendee", fields=ATTENDEE)
CREATE = mutation("createAttendee", ATTENDEE_PAYLOAD)
UPDATE = mutation("updateAttendee", ATTENDEE_PAYLOAD)
CANCEL = mutation("cancelAttendee", ATTENDEE_PAYLOAD)
ARCHIVE = mutation("archiveAttendee", ATTENDEE_PAYLOAD)
READ = f"query($id: ID!) {{ attendee(id: $id) {{ {ATTENDEE} }} }}"
READ_MANY = """
query($ids: [ID!]!) { nodes(ids: $ids) { ... on Attendee { id cancelledAt cancellationReason } } }
"""
READ_ACTIVE = "query($id: ID!) { booking(id: $id) { attendees { nodes { id databaseId } } } }"
SEATS = "query($id: ID!) { booking(id: $id) { ... on GroupAppointment { availableSeats } } }"

REASONS = [
    ("FEELING_BETTER", "Feeling Better"),
    ("CONDITION_WORSE", "Condition Worse"),
    ("SICK", "Sick"),
    ("COVID_19_RELATED", "COVID-19 related"),
    ("AWAY", "Away"),
    ("OTHER", "Other"),
    ("WORK", "Work"),
]


def when(text: str) -> datetime:
    """A contract DateTime (UTC, `Z`), parsed."""
    assert Z_TIME.match(text), text
    return datetime.fromisoformat(text)


def ok(payload: dict[str, Any], entity: str = "attendee") -> Any:
    """The changed object of a successful mutation."""
    assert payload["userErrors"] == [], payload["userErrors"]
    assert payload[entity] is not None
    return payload[entity]


@dataclass
class Clinic:
    """One test's account: its factory rows, its API client, and the mutation helpers."""

    factory: Factory
    tenant: Tenant
    api: Any

    async def patient(self, **values: Any) -> int:
        return await self.factory.patient(self.tenant, **values)

    async def case(self, patient: int, **values: Any) -> int:
        return await self.factory.patient_case(self.tenant, patient, **values)

    async def group(self, **values: Any) -> int:
        return await self.factory.group(self.tenant, **values)

    async def individual(self, patient: int, **values: Any) -> int:
        return await self.factory.individual(self.tenant, patient, **values)

    async def attendee(self, booking: int, patient: int, **values: Any) -> int:
        return await self.factory.attendee(self.tenant, booking, patient, **values)

    async def seated(self, **values: Any) -> tuple[int, int, int]:
        """(booking, patient, attendee): a group appointment with one patient in it."""
        booking = await self.group(**values)
        patient = await self.patient()
        return booking, patient, await self.attendee(booking, patient)

    async def mutate(self, document: str, **fields: Any) -> dict[str, Any]:
        """A mutation's payload; the request itself must succeed (no top-level error)."""
        data = await self.api.query(document, {"input": fields})
        return data["result"]  # type: ignore[no-any-return]

    async def succeed(self, document: str, entity: str = "attendee", **fields: Any) -> Any:
        return ok(await self.mutate(document, **fields), entity)

    async def join(self, booking: int, patient: int, **fields: Any) -> dict[str, Any]:
        return await self.mutate(CREATE, bookingId=str(booking), patientId=str(patient), **fields)

    async def refuse_join(
        self, booking: int | str, patient: int, code: str, path: str, **fields: Any
    ) -> str:
        """createAttendee that must be refused (see `refuse`)."""
        fields = {"bookingId": str(booking), "patientId": str(patient), **fields}
        return await self.refuse(CREATE, code, path, **fields)

    async def cancel(self, attendee: int, reason: str = "SICK", **fields: Any) -> dict[str, Any]:
        return await self.mutate(CANCEL, id=str(attendee), cancellationReason=reason, **fields)

    async def refuse(self, document: str, code: str, path: str, **fields: Any) -> str:
        """Send a mutation that must be refused with `code` at ["input", *path]; nothing in
        the account may change. Returns the message."""
        before = await self.rows()
        payload = await self.mutate(document, **fields)
        errors = payload["userErrors"]
        assert [(e["code"], e["field"]) for e in errors] == [(code, ["input", *path.split(".")])]
        assert all(
            v is None for k, v in payload.items() if k not in {"userErrors", "clientMutationId"}
        )
        assert await self.rows() == before
        return errors[0]["message"]  # type: ignore[no-any-return]

    async def rows(self) -> tuple[Any, ...]:
        """What a write would change in this account: row counts, seats taken, last change."""
        booking, attendee = T["booking"], T["attendee"]
        queries = [
            sa.select(
                sa.func.count(),
                sa.func.sum(booking.c.active_attendees),
                sa.func.max(booking.c.updated_at),
            ).where(booking.c.account_id == self.tenant.id),
            sa.select(
                sa.func.count(),
                sa.func.max(attendee.c.updated_at),
                sa.func.count(attendee.c.cancelled_at),
            ).where(attendee.c.account_id == self.tenant.id),
        ]
        async with self.factory.db.read.connect() as conn:
            return tuple([tuple((await conn.execute(q)).one()) for q in queries])

    async def read(self, attendee: int) -> Any:
        return (await self.api.query(READ, {"id": str(attendee)}))["attendee"]

    async def seats(self, booking: int) -> int:
        data = await self.api.query(SEATS, {"id": str(booking)})
        return data["booking"]["availableSeats"]  # type: ignore[no-any-return]


async def open_clinic(factory: Factory, client_for: Any) -> Clinic:
    tenant = await factory.account()
    return Clinic(factory, tenant, client_for(tenant.key))


@pytest.fixture
async def clinic(factory: Factory, client_for: Any) -> Clinic:
    return await open_clinic(factory, client_for)


# createAttendee: success


async def test_create_attendee_returns_the_attendee_read_fresh(clinic):
    booking = await clinic.group(max_attendees=3)
    patient = await clinic.patient()
    case = await clinic.case(patient)
    started = datetime.now(UTC)

    payload = await clinic.mutate(
        CREATE,
        bookingId=gid("GroupAppointment", booking),
        patientId=gid("Patient", patient),
        patientCaseId=gid("PatientCase", case),
        arrived=True,
        notes="Bring a mat",
        clientMutationId="join-1",
    )

    attendee = ok(payload)
    assert payload["clientMutationId"] == "join-1"
    assert attendee["booking"] == {"id": gid("GroupAppointment", booking), "availableSeats": 2}
    assert attendee["patient"] == {"id": gid("Patient", patient)}
    assert attendee["patientCase"] == {"id": gid("PatientCase", case)}
    assert (attendee["arrived"], attendee["notes"]) == (True, "Bring a mat")
    assert attendee["id"] == gid("Attendee", int(attendee["databaseId"]))
    cancellation = ("cancellationReason", "cancellationReasonDescription", "cancellationNote")
    assert [attendee[k] for k in (*cancellation, "cancelledAt", "archivedAt")] == [None] * 5
    assert started <= when(attendee["createdAt"]) <= datetime.now(UTC)
    assert attendee["updatedAt"] == attendee["createdAt"]
    assert await clinic.read(int(attendee["databaseId"])) == attendee


async def test_create_attendee_takes_database_ids_and_defaults(clinic):
    booking = await clinic.group()
    patient = await clinic.patient()

    payload = await clinic.join(booking, patient)

    attendee = ok(payload)
    assert payload["clientMutationId"] is None
    assert (attendee["arrived"], attendee["notes"], attendee["patientCase"]) == (None, None, None)
    assert attendee["booking"]["availableSeats"] == 7


# NOT_FOUND and INVALID ids


async def test_unknown_and_other_accounts_ids_are_not_found_alike(clinic, factory, client_for):
    other = await open_clinic(factory, client_for)
    theirs_booking, theirs_patient, theirs_attendee = await other.seated()
    theirs_case = await other.case(theirs_patient)
    booking, patient, attendee = await clinic.seated()
    join = {"bookingId": str(booking), "patientId": str(patient)}
    cases = [
        (CREATE, "bookingId", {**join, "bookingId": gid("GroupAppointment", theirs_booking)}),
        (CREATE, "bookingId", {**join, "bookingId": gid("GroupAppointment", MISSING)}),
        (CREATE, "bookingId", {**join, "bookingId": str(MISSING)}),
        (CREATE, "patientId", {**join, "patientId": gid("Patient", theirs_patient)}),
        (CREATE, "patientId", {**join, "patientId": str(MISSING)}),
        (UPDATE, "patientCaseId", {"id": str(attendee), "patientCaseId": str(theirs_case)}),
        (UPDATE, "patientCaseId", {"id": str(attendee), "patientCaseId": str(MISSING)}),
    ]
    for document in (UPDATE, CANCEL, ARCHIVE):
        extra = {"cancellationReason": "SICK"} if document is CANCEL else {}
        cases += [
            (document, "id", {"id": gid("Attendee", theirs_attendee), **extra}),
            (document, "id", {"id": gid("Attendee", MISSING), **extra}),
        ]

    theirs_before = await other.rows()
    messages = {}
    for document, field, fields in cases:
        message = await clinic.refuse(document, "NOT_FOUND", field, **fields)
        messages.setdefault((document, field), set()).add(message)

    assert all(len(found) == 1 for found in messages.values()), messages
    assert await other.rows() == theirs_before


async def test_a_global_id_of_the_wrong_type_is_invalid(clinic):
    booking, patient, attendee = await clinic.seated()
    other_patient = await clinic.patient()
    join = {"bookingId": str(booking), "patientId": str(other_patient)}
    cases = [
        (CREATE, "bookingId", {**join, "bookingId": gid("Patient", patient)}),
        (CREATE, "bookingId", {**join, "bookingId": "not an id"}),
        (CREATE, "patientId", {**join, "patientId": gid("GroupAppointment", booking)}),
        (CREATE, "patientCaseId", {**join, "patientCaseId": gid("Patient", patient)}),
        (UPDATE, "id", {"id": gid("Patient", patient)}),
        (
            UPDATE,
            "patientCaseId",
            {"id": str(attendee), "patientCaseId": gid("Attendee", attendee)},
        ),
        (CANCEL, "id", {"id": gid("GroupAppointment", booking), "cancellationReason": "SICK"}),
        (ARCHIVE, "id", {"id": gid("Patient", patient)}),
    ]
    for document, field, fields in cases:
        await clinic.refuse(document, "INVALID", field, **fields)


async def test_a_case_of_another_patient_is_invalid(clinic):
    booking, patient, attendee = await clinic.seated()
    newcomer = await clinic.patient()
    foreign_case = await clinic.case(patient)
    own_case = await clinic.case(newcomer)

    await clinic.refuse_join(
        booking, newcomer, "INVALID", "patientCaseId", patientCaseId=str(foreign_case)
    )
    await clinic.refuse(
        UPDATE, "INVALID", "patientCaseId", id=str(attendee), patientCaseId=str(own_case)
    )

    assert (await clinic.read(attendee))["patientCase"] is None


# TOO_LONG


async def test_notes_longer_than_ten_thousand_characters_are_too_long(clinic):
    booking, _, attendee = await clinic.seated()
    newcomer = await clinic.patient()
    long, limit = "x" * 10_001, "y" * 10_000

    await clinic.refuse_join(booking, newcomer, "TOO_LONG", "notes", notes=long)
    await clinic.refuse(UPDATE, "TOO_LONG", "notes", id=str(attendee), notes=long)
    await clinic.refuse(
        CANCEL,
        "TOO_LONG",
        "cancellationNote",
        id=str(attendee),
        cancellationReason="SICK",
        cancellationNote=long,
    )

    assert ok(await clinic.join(booking, newcomer, notes=limit))["notes"] == limit
    assert (await clinic.succeed(UPDATE, id=str(attendee), notes=limit))["notes"] == limit


# Seats: BOOKING_FULL, ALREADY_ATTENDING, freed seats


async def test_a_full_group_appointment_refuses_another_patient(clinic):
    booking = await clinic.group(max_attendees=2)
    for _ in range(2):
        ok(await clinic.join(booking, await clinic.patient()))
    latecomer = await clinic.patient()

    await clinic.refuse_join(booking, latecomer, "BOOKING_FULL", "bookingId")

    assert await clinic.seats(booking) == 0


async def test_an_individual_appointment_takes_no_second_active_attendee(clinic):
    owner = await clinic.patient()
    booking = await clinic.individual(owner)
    stranger = await clinic.patient()

    await clinic.refuse_join(booking, stranger, "BOOKING_FULL", "bookingId")


async def test_an_individual_appointment_is_attended_by_its_own_patient_only(clinic):
    owner, stranger = await clinic.patient(), await clinic.patient()
    booking = await clinic.individual(owner)
    await clinic.succeed(ARCHIVE, id=(await sole_attendee(clinic, booking))["id"])

    await clinic.refuse_join(booking, stranger, "INVALID", "patientId")


async def test_a_patient_attends_a_booking_once_while_active(clinic):
    booking, patient, _ = await clinic.seated()
    owner = await clinic.patient()
    individual = await clinic.individual(owner)

    await clinic.refuse_join(booking, patient, "ALREADY_ATTENDING", "patientId")
    await clinic.refuse_join(individual, owner, "ALREADY_ATTENDING", "patientId")


async def test_cancelled_and_archived_attendees_free_their_seats(clinic):
    booking = await clinic.group(max_attendees=2)
    first, second = [
        int(ok(await clinic.join(booking, await clinic.patient()))["databaseId"]) for _ in range(2)
    ]
    third, fourth = await clinic.patient(), await clinic.patient()
    await clinic.refuse_join(booking, third, "BOOKING_FULL", "bookingId")

    assert (await clinic.cancel(first))["attendee"]["booking"]["availableSeats"] == 1
    assert ok(await clinic.join(booking, third))["booking"]["availableSeats"] == 0
    await clinic.refuse_join(booking, fourth, "BOOKING_FULL", "bookingId")
    assert (await clinic.succeed(ARCHIVE, id=str(second)))["booking"]["availableSeats"] == 1
    assert ok(await clinic.join(booking, fourth))["booking"]["availableSeats"] == 0


async def test_a_patient_can_rejoin_after_cancelling_or_archiving(clinic):
    booking, patient, attendee = await clinic.seated(max_attendees=3)
    owner = await clinic.patient()
    individual = await clinic.individual(owner)
    individual_attendee = await sole_attendee(clinic, individual)

    ok(await clinic.cancel(attendee))
    again = ok(await clinic.join(booking, patient))
    await clinic.succeed(ARCHIVE, id=individual_attendee["id"])
    rejoined = ok(await clinic.join(individual, owner))

    assert again["databaseId"] != str(attendee)
    assert again["booking"]["availableSeats"] == 2
    assert (await clinic.read(attendee))["cancelledAt"] is not None
    assert rejoined["id"] != individual_attendee["id"]


async def test_joining_a_cancelled_or_archived_booking_is_refused(clinic):
    patient = await clinic.patient()
    cancelled = await clinic.group(cancelled_at=tick(), cancellation_reason=30)
    archived = await clinic.group(archived_at=tick())

    await clinic.refuse_join(cancelled, patient, "ALREADY_CANCELLED", "bookingId")
    await clinic.refuse_join(archived, patient, "ARCHIVED", "bookingId")


async def test_archived_patients_and_cases_are_refused(clinic):
    booking, patient, attendee = await clinic.seated()
    archived_patient = await clinic.patient(archived_at=tick())
    newcomer = await clinic.patient()
    archived_case = await clinic.case(newcomer, archived_at=tick())
    own_archived_case = await clinic.case(patient, archived_at=tick())

    await clinic.refuse_join(booking, archived_patient, "ARCHIVED", "patientId")
    await clinic.refuse_join(
        booking,
        newcomer,
        "ARCHIVED",
        "patientCaseId",
        patientCaseId=str(archived_case),
    )
    await clinic.refuse(
        UPDATE, "ARCHIVED", "patientCaseId", id=str(attendee), patientCaseId=str(own_archived_case)
    )


# updateAttendee


async def test_update_leaves_omitted_fields_and_clears_explicit_nulls(clinic):
    booking = await clinic.group()
    patient = await clinic.patient()
    case, other_case = await clinic.case(patient), await clinic.case(patient, name="Shoulder")
    created = ok(
        await clinic.join(booking, patient, patientCaseId=str(case), arrived=False, notes="Mat")
    )
    attendee = created["databaseId"]

    notes_only = await clinic.succeed(UPDATE, id=attendee, notes="Towel")
    case_only = await clinic.succeed(
        UPDATE, id=attendee, patientCaseId=gid("PatientCase", other_case)
    )
    cleared = await clinic.succeed(
        UPDATE, id=attendee, arrived=None, patientCaseId=None, clientMutationId="u"
    )

    assert (notes_only["arrived"], notes_only["notes"], notes_only["patientCase"]) == (
        False,
        "Towel",
        {"id": gid("PatientCase", case)},
    )
    assert case_only["patientCase"] == {"id": gid("PatientCase", other_case)}
    assert (cleared["arrived"], cleared["notes"], cleared["patientCase"]) == (None, "Towel", None)
    assert cleared["booking"] == created["booking"] and cleared["patient"] == created["patient"]
    assert ok(await clinic.mutate(UPDATE, id=attendee, notes=None))["notes"] is None


async def test_update_cannot_move_an_attendee_to_another_booking_or_patient(clinic):
    booking, patient, attendee = await clinic.seated()
    other_booking, other_patient = await clinic.group(), await clinic.patient()

    for field, value in (("bookingId", other_booking), ("patientId", other_patient)):
        body = (
            await clinic.api.post(UPDATE, {"input": {"id": str(attendee), field: str(value)}})
        ).json()
        assert body.get("data") is None
        assert any(field in error["message"] for error in body["errors"]), body

    read = await clinic.read(attendee)
    assert read["booking"]["id"] == gid("GroupAppointment", booking)
    assert read["patient"] == {"id": gid("Patient", patient)}


# cancelAttendee


@pytest.mark.parametrize(("reason", "label"), REASONS)
async def test_cancel_records_the_reason_and_its_label(clinic, reason, label):
    booking, _, attendee = await clinic.seated(max_attendees=2)
    started = datetime.now(UTC)

    payload = await clinic.cancel(
        attendee, reason, cancellationNote="Rang at 8", clientMutationId="c"
    )

    cancelled = ok(payload)
    assert payload["clientMutationId"] == "c"
    assert (cancelled["cancellationReason"], cancelled["cancellationReasonDescription"]) == (
        reason,
        label,
    )
    assert cancelled["cancellationNote"] == "Rang at 8"
    assert started <= when(cancelled["cancelledAt"]) <= datetime.now(UTC)
    assert cancelled["updatedAt"] == cancelled["cancelledAt"]
    assert cancelled["booking"]["availableSeats"] == 2
    assert await clinic.seats(booking) == 2


async def test_cancelling_twice_is_already_cancelled(clinic):
    _, _, attendee = await clinic.seated()
    first = ok(await clinic.cancel(attendee, "AWAY"))

    await clinic.refuse(
        CANCEL, "ALREADY_CANCELLED", "id", id=str(attendee), cancellationReason="WORK"
    )

    assert await clinic.read(attendee) == first


async def sole_attendee(clinic: Clinic, booking: int) -> dict[str, str]:
    """The one active attendee of a booking (id, databaseId)."""
    data = await clinic.api.query(READ_ACTIVE, {"id": str(booking)})
    (attendee,) = data["booking"]["attendees"]["nodes"]
    return attendee  # type: ignore[no-any-return]


async def test_an_individual_appointments_attendee_is_cancelled_with_cancel_booking(clinic):
    patient = await clinic.patient()
    attendee = await sole_attendee(clinic, await clinic.individual(patient))

    message = await clinic.refuse(
        CANCEL, "NOT_GROUP_APPOINTMENT", "id", id=attendee["id"], cancellationReason="SICK"
    )

    assert "cancelBooking" in message
    assert (await clinic.read(int(attendee["databaseId"])))["cancelledAt"] is None


async def series(clinic: Clinic, occurrences: int, **values: Any) -> list[int]:
    """A weekly group series: the origin first, then its repeats, in start order."""
    start = BASE_TIME + timedelta(days=14)
    origin = await clinic.group(
        starts_at=start,
        repeat_type="Weekly",
        number_of_repeats=occurrences - 1,
        repeating_interval=1,
        **values,
    )
    repeats = [
        await clinic.group(starts_at=start + timedelta(weeks=n), repeated_from_id=origin, **values)
        for n in range(1, occurrences)
    ]
    return [origin, *repeats]


async def test_apply_to_repeats_cancels_this_and_later_occurrences_of_the_patient(clinic):
    bookings = await series(clinic, 4, max_attendees=5)
    patient, neighbour = await clinic.patient(), await clinic.patient()
    mine = [await clinic.attendee(b, patient) for b in bookings]
    theirs = [await clinic.attendee(b, neighbour) for b in bookings]
    elsewhere = await clinic.attendee(
        await clinic.group(starts_at=BASE_TIME + timedelta(days=60)), patient
    )

    cancelled = ok(await clinic.cancel(mine[1], "COVID_19_RELATED", applyToRepeats=True))

    ids = [gid("Attendee", a) for a in [*mine, *theirs, elsewhere]]
    rows = (await clinic.api.query(READ_MANY, {"ids": ids}))["nodes"]
    state = [(r["cancelledAt"], r["cancellationReason"]) for r in rows]
    at = cancelled["cancelledAt"]
    assert state[:4] == [(None, None)] + [(at, "COVID_19_RELATED")] * 3
    assert state[4:] == [(None, None)] * 5
    assert [await clinic.seats(b) for b in bookings] == [3, 4, 4, 4]


async def test_apply_to_repeats_from_the_origin_and_without_the_flag(clinic):
    bookings = await series(clinic, 3)
    patient = await clinic.patient()
    mine = [await clinic.attendee(b, patient) for b in bookings]

    ok(await clinic.cancel(mine[1]))
    ok(await clinic.cancel(mine[0], applyToRepeats=True))

    rows = (await clinic.api.query(READ_MANY, {"ids": [gid("Attendee", a) for a in mine]}))["nodes"]
    first, second, third = [when(r["cancelledAt"]) for r in rows]
    assert second < first == third


# archiveAttendee and timestamps


async def test_archive_is_idempotent_and_frees_the_seat_once(clinic):
    booking, _, attendee = await clinic.seated(max_attendees=2)
    ok(await clinic.join(booking, await clinic.patient()))

    first = await clinic.succeed(ARCHIVE, id=gid("Attendee", attendee), clientMutationId="a1")
    second = await clinic.mutate(ARCHIVE, id=str(attendee), clientMutationId="a2")

    assert first["booking"]["availableSeats"] == 1
    assert ok(second) == first
    assert second["clientMutationId"] == "a2"
    assert when(first["archivedAt"]) == when(first["updatedAt"])
    assert await clinic.seats(booking) == 1


async def test_updated_at_moves_on_every_change_and_created_at_never(clinic):
    booking = await clinic.group()
    created = ok(await clinic.join(booking, await clinic.patient()))
    attendee = created["databaseId"]

    updated = await clinic.succeed(UPDATE, id=attendee, arrived=True)
    cancelled = ok(await clinic.cancel(int(attendee)))
    archived = await clinic.succeed(ARCHIVE, id=attendee)
    again = await clinic.succeed(ARCHIVE, id=attendee)

    steps = [created, updated, cancelled, archived]
    assert {s["createdAt"] for s in [*steps, again]} == {created["createdAt"]}
    stamps = [when(s["updatedAt"]) for s in steps]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    assert again["updatedAt"] == archived["updatedAt"]
    assert all(when(archived[k]) for k in ("cancelledAt", "archivedAt", "createdAt"))
