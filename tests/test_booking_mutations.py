"""createGroupAppointment, createIndividualAppointment, updateBooking, cancelBooking,
archiveBooking (contract §4). Refusals go through `Clinic.refuse`, which also proves that
the account's booking and attendee rows are exactly as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import Factory, gid, tick
from tests.test_attendee_mutations import (
    PAYLOAD,
    Clinic,
    mutation,
    ok,
    open_clinic,
    when,
)

BOOKING = """
__typename id databaseId startsAt endsAt notes cancelledAt archivedAt createdAt updatedAt
repeatRule { repeatType numberOfRepeats repeatingInterval }
repeatedFrom { id }
attendees(filter: { includeCancelled: true }) {
  totalCount
  nodes {
    patient { id } patientCase { id } cancelledAt cancellationReason cancellationReasonDescription
  }
}
... on GroupAppointment { maxAttendees availableSeats }
... on IndividualAppointment {
  patient { id } patientCase { id }
  cancellationReason cancellationReasonDescription cancellationNote
}
"""
BOOKING_PAYLOAD = PAYLOAD.format(entity="booking", fields=BOOKING)
CREATE_GROUP = mutation("createGroupAppointment", BOOKING_PAYLOAD)
CREATE_INDIVIDUAL = mutation("createIndividualAppointment", BOOKING_PAYLOAD)
UPDATE = mutation("updateBooking", BOOKING_PAYLOAD)
CANCEL = mutation("cancelBooking", BOOKING_PAYLOAD)
ARCHIVE = mutation("archiveBooking", BOOKING_PAYLOAD)
REPEATS = """
query($id: ID!) {
  booking(id: $id) {
    repeats(first: 100, orderBy: [{ field: STARTS_AT }]) {
      totalCount
      nodes {
        id startsAt endsAt repeatedFrom { id } attendees { totalCount nodes { patient { id } } }
        ... on GroupAppointment { maxAttendees availableSeats }
      }
    }
  }
}
"""
BOOKINGS = f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Booking {{ {BOOKING} }} }} }}"

START = "2026-03-02T23:30:00Z"  # a DST change follows in most zones: the series must stay in UTC


async def book_group(clinic: Clinic, **fields: Any) -> Any:
    """A new group appointment via the API; the payload's booking."""
    return await clinic.succeed(CREATE_GROUP, "booking", **catalog(clinic), **fields)


async def book_individual(clinic: Clinic, patient: int, **fields: Any) -> Any:
    return await clinic.succeed(
        CREATE_INDIVIDUAL, "booking", **catalog(clinic), patientId=str(patient), **fields
    )


def catalog(clinic: Clinic) -> dict[str, str]:
    return {
        "appointmentTypeId": gid("AppointmentType", clinic.tenant.appointment_type_id),
        "practitionerId": gid("Practitioner", clinic.tenant.practitioner_id),
        "startsAt": START,
    }


def shifted(text: str, **delta: float) -> str:
    return (when(text) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def repeats(clinic: Clinic, booking: Any) -> Any:
    return (await clinic.api.query(REPEATS, {"id": booking["id"]}))["booking"]["repeats"]


async def read_bookings(clinic: Clinic, bookings: list[Any]) -> list[Any]:
    data = await clinic.api.query(BOOKINGS, {"ids": [b["id"] for b in bookings]})
    return data["nodes"]  # type: ignore[no-any-return]


@pytest.fixture
async def clinic(factory: Factory, client_for: Any) -> Clinic:
    return await open_clinic(factory, client_for)


# createGroupAppointment


async def test_a_group_appointment_takes_its_end_and_seats_from_the_type(clinic):
    short_class = await clinic.factory.insert(
        "appointment_type",
        account_id=clinic.tenant.id,
        name="Short class",
        duration_in_minutes=25,
        max_attendees=13,
    )
    started = datetime.now(UTC)

    payload = await clinic.mutate(
        CREATE_GROUP,
        **{**catalog(clinic), "appointmentTypeId": str(short_class)},
        clientMutationId="g1",
    )

    booking = ok(payload, "booking")
    assert payload["clientMutationId"] == "g1"
    assert booking["__typename"] == "GroupAppointment"
    assert (booking["startsAt"], booking["endsAt"]) == (START, "2026-03-02T23:55:00Z")
    assert (booking["maxAttendees"], booking["availableSeats"]) == (13, 13)
    assert (booking["repeatRule"], booking["repeatedFrom"], booking["notes"]) == (None, None, None)
    assert booking["attendees"]["totalCount"] == 0
    assert started <= when(booking["createdAt"]) <= datetime.now(UTC)
    assert booking["updatedAt"] == booking["createdAt"]


async def test_a_group_appointment_keeps_explicit_values(clinic):
    booking = await book_group(
        clinic, endsAt="2026-03-03T01:15:00+01:00", maxAttendees=12, notes="Bring mats"
    )

    assert booking["endsAt"] == "2026-03-03T00:15:00Z"
    assert (booking["maxAttendees"], booking["availableSeats"]) == (12, 12)
    assert booking["notes"] == "Bring mats"


@pytest.mark.parametrize(
    ("repeat_type", "interval", "expected"),
    [
        ("DAILY", 2, ["2026-03-04", "2026-03-06", "2026-03-08"]),
        ("WEEKLY", 1, ["2026-03-09", "2026-03-16", "2026-03-23"]),
        ("MONTHLY", 3, ["2026-06-02", "2026-09-02", "2026-12-02"]),
    ],
)
async def test_a_repeat_rule_creates_the_occurrences_in_utc(
    clinic, repeat_type, interval, expected
):
    rule = {"repeatType": repeat_type, "numberOfRepeats": 3, "repeatingInterval": interval}

    origin = await book_group(clinic, maxAttendees=5, repeatRule=rule)

    assert origin["repeatRule"] == rule
    series = await repeats(clinic, origin)
    assert series["totalCount"] == 3
    assert [n["startsAt"] for n in series["nodes"]] == [f"{day}T23:30:00Z" for day in expected]
    assert [n["endsAt"] for n in series["nodes"]] == [
        shifted(n["startsAt"], hours=1) for n in series["nodes"]
    ]
    assert {
        (n["repeatedFrom"]["id"], n["maxAttendees"], n["availableSeats"]) for n in series["nodes"]
    } == {(origin["id"], 5, 5)}


async def test_the_largest_repeat_rule_is_accepted(clinic):
    rule = {"repeatType": "DAILY", "numberOfRepeats": 51, "repeatingInterval": 100}

    origin = await book_group(clinic, repeatRule=rule)

    series = await repeats(clinic, origin)
    assert series["totalCount"] == 51
    assert series["nodes"][-1]["startsAt"] == shifted(START, days=5100)


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"repeatType": "WEEKLY", "numberOfRepeats": 52}, "repeatRule.numberOfRepeats"),
        (
            {"repeatType": "DAILY", "numberOfRepeats": 2, "repeatingInterval": 101},
            "repeatRule.repeatingInterval",
        ),
    ],
)
async def test_a_repeat_rule_over_the_limits_is_invalid_and_creates_nothing(clinic, rule, path):
    await clinic.refuse(CREATE_GROUP, "INVALID", path, **catalog(clinic), repeatRule=rule)
    await clinic.refuse(
        CREATE_INDIVIDUAL,
        "INVALID",
        path,
        **catalog(clinic),
        patientId=str(await clinic.patient()),
        repeatRule=rule,
    )


async def test_a_group_appointment_with_bad_references_is_refused(clinic, factory, client_for):
    other = await open_clinic(factory, client_for)
    theirs = gid("Practitioner", other.tenant.practitioner_id)

    await clinic.refuse(
        CREATE_GROUP, "NOT_FOUND", "practitionerId", **{**catalog(clinic), "practitionerId": theirs}
    )
    await clinic.refuse(
        CREATE_GROUP,
        "INVALID",
        "appointmentTypeId",
        **{**catalog(clinic), "appointmentTypeId": theirs},
    )
    await clinic.refuse(CREATE_GROUP, "TOO_LONG", "notes", **catalog(clinic), notes="x" * 10_001)
    await clinic.refuse(
        CREATE_GROUP, "INVALID", "endsAt", **catalog(clinic), endsAt="2026-03-02T23:00:00Z"
    )


# createIndividualAppointment


async def test_an_individual_appointment_comes_with_its_attendee(clinic):
    patient = await clinic.patient()
    case = await clinic.case(patient)

    booking = await book_individual(clinic, patient, patientCaseId=gid("PatientCase", case))

    me = {"id": gid("Patient", patient)}
    assert booking["__typename"] == "IndividualAppointment"
    assert (booking["patient"], booking["patientCase"]) == (me, {"id": gid("PatientCase", case)})
    assert booking["endsAt"] == "2026-03-03T00:30:00Z"
    assert booking["attendees"] == {
        "totalCount": 1,
        "nodes": [
            {
                "patient": me,
                "patientCase": {"id": gid("PatientCase", case)},
                "cancelledAt": None,
                "cancellationReason": None,
                "cancellationReasonDescription": None,
            }
        ],
    }


async def test_an_individual_series_gives_every_occurrence_its_attendee(clinic):
    patient = await clinic.patient()
    rule = {"repeatType": "WEEKLY", "numberOfRepeats": 2, "repeatingInterval": 2}

    origin = await book_individual(clinic, patient, repeatRule=rule)

    series = await repeats(clinic, origin)
    me = {"id": gid("Patient", patient)}
    assert [n["startsAt"] for n in series["nodes"]] == [
        "2026-03-16T23:30:00Z",
        "2026-03-30T23:30:00Z",
    ]
    assert [n["attendees"] for n in series["nodes"]] == [
        {"totalCount": 1, "nodes": [{"patient": me}]}
    ] * 2


async def test_an_individual_appointment_for_an_archived_patient_or_a_foreign_case_is_refused(
    clinic,
):
    archived = await clinic.patient(archived_at=tick())
    patient, stranger = await clinic.patient(), await clinic.patient()
    strangers_case = await clinic.case(stranger)
    rule = {"repeatType": "DAILY", "numberOfRepeats": 3}

    await clinic.refuse(
        CREATE_INDIVIDUAL,
        "ARCHIVED",
        "patientId",
        **catalog(clinic),
        patientId=str(archived),
        repeatRule=rule,
    )
    await clinic.refuse(
        CREATE_INDIVIDUAL,
        "INVALID",
        "patientCaseId",
        **catalog(clinic),
        patientId=str(patient),
        patientCaseId=str(strangers_case),
        repeatRule=rule,
    )
    await clinic.refuse(
        CREATE_INDIVIDUAL,
        "INVALID",
        "patientId",
        **catalog(clinic),
        patientId=gid("PatientCase", strangers_case),
    )


async def test_a_series_failing_after_its_first_inserts_leaves_no_rows(clinic):
    """Daily from 9999-12-25, the seventh repeat is past year 9999: by then the origin, six
    repeats and their attendees are inserted (six repeats alone succeed). Nothing stays."""
    patient = await clinic.patient()
    late = {**catalog(clinic), "startsAt": "9999-12-25T00:00:00Z", "patientId": str(patient)}
    rule = {"repeatType": "DAILY", "numberOfRepeats": 10}

    await clinic.refuse(CREATE_INDIVIDUAL, "INVALID", "repeatRule", **late, repeatRule=rule)

    last = await clinic.succeed(
        CREATE_INDIVIDUAL, "booking", **late, repeatRule={**rule, "numberOfRepeats": 6}
    )
    assert (await repeats(clinic, last))["nodes"][-1]["startsAt"] == "9999-12-31T00:00:00Z"


async def test_times_past_the_calendar_are_user_errors(clinic):
    """A booking that would end after 9999-12-31 is refused, never an unexpected error."""
    booking = await book_group(clinic)
    late = {**catalog(clinic), "startsAt": "9999-12-31T23:30:00Z"}
    calls = [
        (CREATE_GROUP, {**late, "startsAt": "9999-11-01T00:00:00Z", "repeatRule": MONTHLY}),
        (CREATE_GROUP, late),
        (CREATE_GROUP, {**late, "startsAt": "9999-12-30T23:30:00Z", "repeatRule": DAILY}),
        (CREATE_INDIVIDUAL, {**late, "patientId": str(await clinic.patient())}),
        (UPDATE, {"id": booking["id"], "startsAt": late["startsAt"]}),
    ]
    for document, fields in calls:
        before = await clinic.rows()

        payload = await clinic.mutate(document, **fields)

        (error,) = payload["userErrors"]
        assert error["code"] == "INVALID"
        assert error["field"][1] in {"startsAt", "endsAt", "repeatRule"}
        assert await clinic.rows() == before


MONTHLY = {"repeatType": "MONTHLY", "numberOfRepeats": 3}
DAILY = {"repeatType": "DAILY", "numberOfRepeats": 1}


# updateBooking


async def test_update_booking_never_drops_seats_below_the_active_attendees(clinic):
    booking = await book_group(clinic, maxAttendees=4)
    for _ in range(3):
        ok(await clinic.join(int(booking["databaseId"]), await clinic.patient()))

    await clinic.refuse(UPDATE, "INVALID", "maxAttendees", id=booking["id"], maxAttendees=2)
    exact = await clinic.succeed(UPDATE, "booking", id=booking["id"], maxAttendees=3)
    await clinic.refuse_join(booking["id"], await clinic.patient(), "BOOKING_FULL", "bookingId")

    assert (exact["maxAttendees"], exact["availableSeats"]) == (3, 0)


async def test_update_booking_moves_the_start_and_keeps_the_duration(clinic):
    booking = await book_group(clinic, endsAt="2026-03-03T00:15:00Z", notes="Mats")

    moved = await clinic.succeed(
        UPDATE, "booking", id=booking["id"], startsAt="2026-03-05T08:00:00Z"
    )

    assert (moved["startsAt"], moved["endsAt"]) == ("2026-03-05T08:00:00Z", "2026-03-05T08:45:00Z")
    assert (moved["notes"], moved["maxAttendees"]) == ("Mats", 8)
    assert moved["createdAt"] == booking["createdAt"]
    assert when(moved["updatedAt"]) > when(booking["updatedAt"])


async def test_update_booking_recomputes_a_null_end_from_the_type(clinic):
    booking = await book_group(clinic, endsAt="2026-03-03T03:00:00Z")

    reset = await clinic.succeed(UPDATE, "booking", id=booking["id"], endsAt=None, notes="Short")
    both = await clinic.succeed(
        UPDATE, "booking", id=booking["id"], startsAt="2026-04-01T10:00:00Z", endsAt=None
    )

    assert (reset["startsAt"], reset["endsAt"], reset["notes"]) == (
        START,
        "2026-03-03T00:30:00Z",
        "Short",
    )
    assert (both["startsAt"], both["endsAt"]) == ("2026-04-01T10:00:00Z", "2026-04-01T11:00:00Z")


async def test_update_booking_refusals(clinic, factory, client_for):
    other = await open_clinic(factory, client_for)
    theirs = await other.group()
    booking = await book_group(clinic)
    individual = await book_individual(clinic, await clinic.patient())

    await clinic.refuse(UPDATE, "NOT_FOUND", "id", id=gid("GroupAppointment", theirs), notes="x")
    await clinic.refuse(UPDATE, "INVALID", "id", id=gid("Patient", 1), notes="x")
    await clinic.refuse(
        UPDATE, "INVALID", "endsAt", id=booking["id"], endsAt="2026-03-02T23:00:00Z"
    )
    await clinic.refuse(UPDATE, "INVALID", "maxAttendees", id=individual["id"], maxAttendees=2)
    await clinic.refuse(UPDATE, "TOO_LONG", "notes", id=booking["id"], notes="x" * 10_001)


# cancelBooking


async def test_cancelling_an_individual_appointment_cancels_its_attendee(clinic):
    booking = await book_individual(clinic, await clinic.patient())
    started = datetime.now(UTC)

    cancelled = await clinic.succeed(
        CANCEL,
        "booking",
        id=booking["id"],
        cancellationReason="CONDITION_WORSE",
        cancellationNote="Flare-up",
    )

    assert started <= when(cancelled["cancelledAt"]) <= datetime.now(UTC)
    assert (cancelled["cancellationReason"], cancelled["cancellationReasonDescription"]) == (
        "CONDITION_WORSE",
        "Condition Worse",
    )
    assert cancelled["cancellationNote"] == "Flare-up"
    (attendee,) = cancelled["attendees"]["nodes"]
    assert attendee["cancelledAt"] == cancelled["cancelledAt"]
    assert (attendee["cancellationReason"], attendee["cancellationReasonDescription"]) == (
        "CONDITION_WORSE",
        "Condition Worse",
    )
    await clinic.refuse(
        CANCEL, "ALREADY_CANCELLED", "id", id=booking["id"], cancellationReason="SICK"
    )
    await clinic.refuse_join(
        booking["id"], await clinic.patient(), "ALREADY_CANCELLED", "bookingId"
    )


async def test_cancel_booking_applies_to_later_occurrences_only(clinic):
    rule = {"repeatType": "WEEKLY", "numberOfRepeats": 3}
    origin = await book_individual(clinic, await clinic.patient(), repeatRule=rule)
    occurrences = [origin, *(await repeats(clinic, origin))["nodes"]]

    await clinic.succeed(
        CANCEL, "booking", id=occurrences[2]["id"], cancellationReason="AWAY", applyToRepeats=True
    )

    after = await read_bookings(clinic, occurrences)
    assert [b["cancellationReasonDescription"] for b in after] == [None, None, "Away", "Away"]
    assert [b["attendees"]["nodes"][0]["cancellationReason"] for b in after] == [
        None,
        None,
        "AWAY",
        "AWAY",
    ]
    assert len({b["cancelledAt"] for b in after[2:]}) == 1


# archiveBooking


async def test_archive_booking_is_idempotent_and_closes_the_booking(clinic):
    booking = await book_group(clinic)

    first = await clinic.succeed(ARCHIVE, "booking", id=booking["id"], clientMutationId="a1")
    second = await clinic.mutate(ARCHIVE, id=booking["databaseId"], clientMutationId="a2")

    assert when(first["archivedAt"]) == when(first["updatedAt"]) > when(booking["updatedAt"])
    assert ok(second, "booking") == first
    assert second["clientMutationId"] == "a2"
    await clinic.refuse_join(booking["id"], await clinic.patient(), "ARCHIVED", "bookingId")
