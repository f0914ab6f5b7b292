"""createPractitioner, updatePractitioner, archivePractitioner and the same for appointment
types (contract §4): enough to set up an empty account through the API alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.factories import Factory, gid
from tests.test_patient_mutations import LONG_AGO, MISSING, Desk, mutation, ok, open_desk

PRACTITIONER = "id databaseId firstName lastName title displayName archivedAt createdAt updatedAt"
APPOINTMENT_TYPE = (
    "id databaseId name durationInMinutes maxAttendees archivedAt createdAt updatedAt"
)
CREATE_PRACTITIONER = mutation(
    "createPractitioner", "CreatePractitionerInput", "practitioner", PRACTITIONER
)
UPDATE_PRACTITIONER = mutation(
    "updatePractitioner", "UpdatePractitionerInput", "practitioner", PRACTITIONER
)
ARCHIVE_PRACTITIONER = mutation(
    "archivePractitioner", "ArchivePractitionerInput", "practitioner", PRACTITIONER
)
CREATE_TYPE = mutation(
    "createAppointmentType", "CreateAppointmentTypeInput", "appointmentType", APPOINTMENT_TYPE
)
UPDATE_TYPE = mutation(
    "updateAppointmentType", "UpdateAppointmentTypeInput", "appointmentType", APPOINTMENT_TYPE
)
ARCHIVE_TYPE = mutation(
    "archiveAppointmentType", "ArchiveAppointmentTypeInput", "appointmentType", APPOINTMENT_TYPE
)
READ_PRACTITIONER = f"query($id: ID!) {{ node: practitioner(id: $id) {{ {PRACTITIONER} }} }}"
READ_TYPE = f"query($id: ID!) {{ node: appointmentType(id: $id) {{ {APPOINTMENT_TYPE} }} }}"
CREATE_CLASS = """
mutation($input: CreateGroupAppointmentInput!) {
  result: createGroupAppointment(input: $input) {
    node: booking {
      startsAt endsAt practitioner { id } appointmentType { id }
      ... on GroupAppointment { maxAttendees }
    }
    userErrors { field message code }
  }
}
"""
TABLES = ("practitioner", "appointment_type")
GRACE = {"firstName": "Grace", "lastName": "Hopper"}
PILATES = {"name": "Pilates", "durationInMinutes": 45, "maxAttendees": 6}


@pytest.fixture
async def desk(factory: Factory, client_for: Any) -> Desk:
    return await open_desk(factory, client_for, *TABLES)


async def old_practitioner(desk: Desk, **values: Any) -> int:
    """A practitioner last changed long ago, so that a change shows in updatedAt."""
    row = {"first_name": "Ada", "last_name": "Lovelace", "display_name": "Ada", **values}
    return await desk.factory.insert(
        "practitioner", account_id=desk.tenant.id, created_at=LONG_AGO, **row
    )


async def old_type(desk: Desk, **values: Any) -> int:
    """An appointment type last changed long ago."""
    row = {"name": "Yoga", "duration_in_minutes": 60, "max_attendees": 8, **values}
    return await desk.factory.insert(
        "appointment_type", account_id=desk.tenant.id, created_at=LONG_AGO, **row
    )


# Practitioners


async def test_create_practitioner_stores_every_field(desk):
    started = datetime.now(UTC)

    payload = await desk.mutate(
        CREATE_PRACTITIONER, **GRACE, title="Dr", displayName="Amazing Grace", clientMutationId="p1"
    )

    practitioner = ok(payload)
    assert payload["clientMutationId"] == "p1"
    assert practitioner["id"] == gid("Practitioner", int(practitioner["databaseId"]))
    fields = ("firstName", "lastName", "title", "displayName", "archivedAt")
    assert [practitioner[k] for k in fields] == ["Grace", "Hopper", "Dr", "Amazing Grace", None]
    assert started <= datetime.fromisoformat(practitioner["createdAt"]) <= datetime.now(UTC)
    assert practitioner["updatedAt"] == practitioner["createdAt"]
    assert await desk.read(READ_PRACTITIONER, practitioner["id"]) == practitioner


@pytest.mark.parametrize(
    ("given", "display_name"),
    [
        ({"title": "Dr"}, "Dr Grace Hopper"),
        ({}, "Grace Hopper"),
        ({"title": "  "}, "Grace Hopper"),
        ({"title": "Dr", "displayName": None}, "Dr Grace Hopper"),
        ({"title": "Dr", "displayName": " "}, "Dr Grace Hopper"),
        ({"firstName": " Grace ", "title": " Dr "}, "Dr Grace Hopper"),
    ],
)
async def test_the_display_name_defaults_to_title_and_names(desk, given, display_name):
    practitioner = await desk.succeed(CREATE_PRACTITIONER, **{**GRACE, **given})

    assert practitioner["displayName"] == display_name


async def test_a_default_display_name_is_cut_to_255_characters(desk):
    long = {"firstName": "f" * 200, "lastName": "l" * 200}

    practitioner = await desk.succeed(CREATE_PRACTITIONER, **long)

    assert practitioner["displayName"] == "f" * 200 + " " + "l" * 54


@pytest.mark.parametrize("field", ["firstName", "lastName"])
@pytest.mark.parametrize("blank", ["", "  "])
async def test_create_practitioner_requires_both_names(desk, field, blank):
    await desk.refuse(CREATE_PRACTITIONER, "REQUIRED", field, **{**GRACE, field: blank})


@pytest.mark.parametrize("field", ["firstName", "lastName", "title", "displayName"])
async def test_practitioner_text_longer_than_255_characters_is_too_long(desk, field):
    practitioner_id = await old_practitioner(desk)

    await desk.refuse(CREATE_PRACTITIONER, "TOO_LONG", field, **{**GRACE, field: "x" * 256})
    await desk.refuse(
        UPDATE_PRACTITIONER, "TOO_LONG", field, id=str(practitioner_id), **{field: "x" * 256}
    )

    created = await desk.succeed(CREATE_PRACTITIONER, **{**GRACE, field: "y" * 255})
    updated = await desk.succeed(UPDATE_PRACTITIONER, id=str(practitioner_id), **{field: "z" * 255})
    assert (created[field], updated[field]) == ("y" * 255, "z" * 255)


async def test_update_practitioner_changes_the_given_fields_and_keeps_the_omitted_ones(desk):
    practitioner_id = await old_practitioner(desk, title="Dr", display_name="Dr Ada")
    started = datetime.now(UTC)

    payload = await desk.mutate(
        UPDATE_PRACTITIONER, id=gid("Practitioner", practitioner_id), lastName="King", title=None
    )

    practitioner = ok(payload)
    assert payload["clientMutationId"] is None
    fields = ("firstName", "lastName", "title", "displayName")
    assert [practitioner[k] for k in fields] == ["Ada", "King", None, "Dr Ada"]
    assert practitioner["createdAt"] == "2020-01-01T00:00:00Z"
    assert started <= datetime.fromisoformat(practitioner["updatedAt"]) <= datetime.now(UTC)
    assert await desk.read(READ_PRACTITIONER, practitioner_id) == practitioner


async def test_a_null_display_name_is_made_again_from_the_new_names(desk):
    practitioner_id = await old_practitioner(desk, title="Dr", display_name="Ada")

    practitioner = await desk.succeed(
        UPDATE_PRACTITIONER, id=str(practitioner_id), firstName="Augusta", displayName=None
    )

    assert practitioner["displayName"] == "Dr Augusta Lovelace"


@pytest.mark.parametrize("field", ["firstName", "lastName"])
@pytest.mark.parametrize("value", [None, "", " "])
async def test_update_practitioner_cannot_clear_a_name(desk, field, value):
    practitioner_id = await old_practitioner(desk)

    await desk.refuse(
        UPDATE_PRACTITIONER, "REQUIRED", field, id=str(practitioner_id), **{field: value}
    )


async def test_archive_practitioner_sets_archived_at_once(desk):
    practitioner_id = await old_practitioner(desk)
    started = datetime.now(UTC)

    first = await desk.succeed(ARCHIVE_PRACTITIONER, id=str(practitioner_id))
    again = await desk.succeed(ARCHIVE_PRACTITIONER, id=gid("Practitioner", practitioner_id))

    assert started <= datetime.fromisoformat(first["archivedAt"]) <= datetime.now(UTC)
    assert (first["updatedAt"], first["createdAt"]) == (
        first["archivedAt"],
        "2020-01-01T00:00:00Z",
    )
    assert again == first
    assert await desk.read(READ_PRACTITIONER, practitioner_id) == first


# Appointment types


async def test_create_appointment_type_stores_every_field(desk):
    started = datetime.now(UTC)

    payload = await desk.mutate(CREATE_TYPE, **PILATES, clientMutationId="t1")

    appointment_type = ok(payload)
    assert payload["clientMutationId"] == "t1"
    assert appointment_type["id"] == gid("AppointmentType", int(appointment_type["databaseId"]))
    fields = ("name", "durationInMinutes", "maxAttendees", "archivedAt")
    assert [appointment_type[k] for k in fields] == ["Pilates", 45, 6, None]
    assert started <= datetime.fromisoformat(appointment_type["createdAt"]) <= datetime.now(UTC)
    assert appointment_type["updatedAt"] == appointment_type["createdAt"]
    assert await desk.read(READ_TYPE, appointment_type["id"]) == appointment_type


@pytest.mark.parametrize("blank", ["", "   "])
async def test_an_appointment_type_needs_a_name(desk, blank):
    type_id = await old_type(desk)

    await desk.refuse(CREATE_TYPE, "REQUIRED", "name", **{**PILATES, "name": blank})
    await desk.refuse(UPDATE_TYPE, "REQUIRED", "name", id=str(type_id), name=blank)
    await desk.refuse(UPDATE_TYPE, "REQUIRED", "name", id=str(type_id), name=None)


async def test_an_appointment_type_name_longer_than_255_characters_is_too_long(desk):
    type_id = await old_type(desk)

    await desk.refuse(CREATE_TYPE, "TOO_LONG", "name", **{**PILATES, "name": "x" * 256})
    await desk.refuse(UPDATE_TYPE, "TOO_LONG", "name", id=str(type_id), name="x" * 256)

    assert (await desk.succeed(CREATE_TYPE, **{**PILATES, "name": "y" * 255}))["name"] == "y" * 255


@pytest.mark.parametrize(
    ("field", "low", "high"), [("durationInMinutes", 1, 1440), ("maxAttendees", 1, 100)]
)
async def test_duration_and_seats_must_be_in_range(desk, field, low, high):
    type_id = await old_type(desk)

    for wrong in (low - 1, high + 1, -5):
        message = await desk.refuse(CREATE_TYPE, "INVALID", field, **{**PILATES, field: wrong})
        await desk.refuse(UPDATE_TYPE, "INVALID", field, id=str(type_id), **{field: wrong})
        assert field in message
    await desk.refuse(UPDATE_TYPE, "REQUIRED", field, id=str(type_id), **{field: None})

    for right in (low, high):
        created = await desk.succeed(CREATE_TYPE, **{**PILATES, field: right})
        updated = await desk.succeed(UPDATE_TYPE, id=str(type_id), **{field: right})
        assert created[field] == updated[field] == right


async def test_update_appointment_type_changes_the_given_fields_and_keeps_the_omitted_ones(desk):
    type_id = await old_type(desk)
    started = datetime.now(UTC)

    payload = await desk.mutate(
        UPDATE_TYPE, id=gid("AppointmentType", type_id), maxAttendees=12, clientMutationId="u"
    )

    appointment_type = ok(payload)
    assert payload["clientMutationId"] == "u"
    fields = ("name", "durationInMinutes", "maxAttendees")
    assert [appointment_type[k] for k in fields] == ["Yoga", 60, 12]
    assert appointment_type["createdAt"] == "2020-01-01T00:00:00Z"
    assert started <= datetime.fromisoformat(appointment_type["updatedAt"]) <= datetime.now(UTC)
    assert await desk.read(READ_TYPE, type_id) == appointment_type


async def test_archive_appointment_type_sets_archived_at_once(desk):
    type_id = await old_type(desk)

    first = await desk.succeed(ARCHIVE_TYPE, id=str(type_id))
    again = await desk.succeed(ARCHIVE_TYPE, id=gid("AppointmentType", type_id))

    assert first["archivedAt"] is not None
    assert (first["updatedAt"], first["createdAt"]) == (
        first["archivedAt"],
        "2020-01-01T00:00:00Z",
    )
    assert again == first


# Both


@pytest.mark.parametrize(
    ("document", "fields"),
    [(UPDATE_PRACTITIONER, {"title": "Prof"}), (UPDATE_TYPE, {"name": "Barre"})],
)
async def test_an_update_with_nothing_to_change_changes_nothing(desk, document, fields):
    row_ids = {UPDATE_PRACTITIONER: await old_practitioner(desk), UPDATE_TYPE: await old_type(desk)}
    before = await desk.rows()

    node = await desk.succeed(document, id=str(row_ids[document]))

    assert node["updatedAt"] == "2020-01-01T00:00:00Z"
    assert await desk.rows() == before
    changed = await desk.succeed(document, id=str(row_ids[document]), **fields)
    assert changed["updatedAt"] != "2020-01-01T00:00:00Z"


async def test_a_refused_update_changes_no_field_at_all(desk):
    practitioner_id = await old_practitioner(desk)
    type_id = await old_type(desk)

    await desk.refuse(
        UPDATE_PRACTITIONER,
        "TOO_LONG",
        "title",
        id=str(practitioner_id),
        firstName="B",
        title="x" * 256,
    )
    await desk.refuse(
        UPDATE_TYPE, "INVALID", "maxAttendees", id=str(type_id), name="Barre", maxAttendees=0
    )

    assert (await desk.read(READ_PRACTITIONER, practitioner_id))["firstName"] == "Ada"
    assert (await desk.read(READ_TYPE, type_id))["name"] == "Yoga"


async def test_unknown_and_other_accounts_ids_are_not_found(desk, factory, client_for):
    other = await open_desk(factory, client_for, *TABLES)
    theirs_before = await other.rows()
    cases = [
        (UPDATE_PRACTITIONER, "Practitioner", other.tenant.practitioner_id, {"title": "Dr"}),
        (ARCHIVE_PRACTITIONER, "Practitioner", other.tenant.practitioner_id, {}),
        (UPDATE_TYPE, "AppointmentType", other.tenant.appointment_type_id, {"name": "Mine"}),
        (ARCHIVE_TYPE, "AppointmentType", other.tenant.appointment_type_id, {}),
    ]

    for document, type_name, theirs, extra in cases:
        for row_id in (gid(type_name, theirs), str(theirs), gid(type_name, MISSING)):
            message = await desk.refuse(document, "NOT_FOUND", "id", id=row_id, **extra)
            assert message.startswith("No ")

    assert await other.rows() == theirs_before


@pytest.mark.parametrize(
    ("document", "wrong_type"),
    [
        (UPDATE_PRACTITIONER, "AppointmentType"),
        (ARCHIVE_PRACTITIONER, "Patient"),
        (UPDATE_TYPE, "Practitioner"),
        (ARCHIVE_TYPE, "GroupAppointment"),
    ],
)
async def test_an_id_of_another_type_or_no_id_at_all_is_invalid(desk, document, wrong_type):
    for wrong in (gid(wrong_type, desk.tenant.appointment_type_id), "nope", str(2**63)):
        await desk.refuse(document, "INVALID", "id", id=wrong)


async def test_an_empty_account_is_set_up_through_the_api(desk):
    practitioner = await desk.succeed(CREATE_PRACTITIONER, **GRACE, title="Dr")
    appointment_type = await desk.succeed(CREATE_TYPE, **PILATES)

    payload = await desk.mutate(
        CREATE_CLASS,
        appointmentTypeId=appointment_type["id"],
        practitionerId=practitioner["id"],
        startsAt="2026-06-01T09:00:00Z",
    )

    booking = ok(payload)
    assert booking["practitioner"] == {"id": practitioner["id"]}
    assert booking["appointmentType"] == {"id": appointment_type["id"]}
    assert (booking["endsAt"], booking["maxAttendees"]) == ("2026-06-01T09:45:00Z", 6)
