"""Refetching by id (`node`, `nodes`, typed lookups) and every field reading back what was stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from tests.factories import Factory, Tenant, gid

REF = """
fragment Ref on Node {
  __typename
  id
  ... on Attendee { databaseId }
  ... on Booking { databaseId }
  ... on Patient { databaseId }
  ... on PatientCase { databaseId }
  ... on AppointmentType { databaseId }
  ... on Practitioner { databaseId }
}
"""

IDS_FROM_LISTS = """
query {
  attendees { nodes { id } }
  bookings { nodes { id } }
  patients { nodes { id patientCases { nodes { id } } } }
  appointmentTypes { nodes { id } }
  practitioners { nodes { id } }
}
"""

NODE = "query($id: ID!) { node(id: $id) { ...Ref } }" + REF
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { ...Ref } }" + REF

TYPED_FIELDS = ("attendee", "booking", "patient", "patientCase", "appointmentType", "practitioner")
LOOKUP = {
    field: f"query($id: ID!) {{ item: {field}(id: $id) {{ ...Ref }} }}" + REF
    for field in TYPED_FIELDS
}

ATTENDEE = """
query($id: ID!) {
  attendee(id: $id) {
    id databaseId arrived notes bookingIpAddress onlineBookingPolicyAccepted
    cancellationReason cancellationReasonDescription cancellationNote cancellationUrl
    cancelledAt archivedAt deletedAt emailReminderSent smsReminderSent
    sentEmailRemindersCount sentSmsRemindersCount invoiceStatus treatmentNoteStatus
    telehealthUrl createdAt updatedAt
    booking { id } patient { id } patientCase { id }
  }
}
"""

ATTENDEE_ENUMS = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Attendee {
      cancellationReason cancellationReasonDescription invoiceStatus treatmentNoteStatus
    }
  }
}
"""

ATTENDEE_TIMES = """
query($ids: [ID!]!) { nodes(ids: $ids) { ... on Attendee { createdAt updatedAt } } }
"""

BOOKING_FIELDS = """
fragment BookingFields on Booking {
  __typename id databaseId startsAt endsAt notes archivedAt cancelledAt deletedAt createdAt updatedAt
  appointmentType { id } practitioner { id }
  repeatRule { repeatType numberOfRepeats repeatingInterval }
  repeatedFrom { id }
  attendees { totalCount nodes { id } }
}
"""

GROUP_BOOKING = (
    """
query($id: ID!) {
  booking(id: $id) {
    ...BookingFields
    repeats { totalCount nodes { id startsAt repeatedFrom { id } } }
    ... on GroupAppointment { maxAttendees availableSeats }
  }
}
"""
    + BOOKING_FIELDS
)

INDIVIDUAL_BOOKING = (
    """
query($id: ID!) {
  booking(id: $id) {
    ...BookingFields
    repeats { totalCount }
    ... on IndividualAppointment {
      patient { id } patientCase { id } patientArrived didNotArrive
      cancellationReason cancellationNote cancellationReasonDescription
    }
  }
}
"""
    + BOOKING_FIELDS
)

PATIENT = """
query($id: ID!) {
  patient(id: $id) {
    id databaseId firstName lastName preferredFirstName title dateOfBirth email
    phoneNumbers { number phoneType }
    archivedAt deletedAt createdAt updatedAt
    patientCases { nodes { id } }
  }
}
"""

PATIENT_CASE = """
query($id: ID!) {
  patientCase(id: $id) {
    id databaseId name notes issueDate expiryDate closedAt maxSessions archivedAt createdAt updatedAt
    patient { id }
    attendees { totalCount nodes { id } }
  }
}
"""

CATALOG = """
query($type: ID!, $practitioner: ID!) {
  appointmentType(id: $type) {
    id databaseId name durationInMinutes maxAttendees archivedAt createdAt updatedAt
  }
  practitioner(id: $practitioner) {
    id databaseId firstName lastName title displayName archivedAt createdAt updatedAt
  }
}
"""

REASONS = {
    10: ("FEELING_BETTER", "Feeling Better"),
    20: ("CONDITION_WORSE", "Condition Worse"),
    30: ("SICK", "Sick"),
    31: ("COVID_19_RELATED", "COVID-19 related"),
    40: ("AWAY", "Away"),
    50: ("OTHER", "Other"),
    60: ("WORK", "Work"),
}
INVOICE_STATUSES = {10: "OPEN", 20: "PAID", 30: "CLOSED", 40: "OPEN_CREDIT"}
TREATMENT_NOTE_STATUSES = {10: "DRAFT", 90: "FINAL"}
MISSING = 2**62


def at(day: int, hour: int = 9, micro: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, 30, 0, micro, tzinfo=UTC)


@dataclass
class World:
    """One row of every type in one account."""

    tenant: Tenant
    patient: int
    case: int
    group: int
    individual: int
    attendee: int

    def expected(self) -> dict[str, int]:
        return {
            "Attendee": self.attendee,
            "GroupAppointment": self.group,
            "IndividualAppointment": self.individual,
            "Patient": self.patient,
            "PatientCase": self.case,
            "AppointmentType": self.tenant.appointment_type_id,
            "Practitioner": self.tenant.practitioner_id,
        }


async def make_world(factory: Factory) -> World:
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    case = await factory.patient_case(tenant, patient)
    group = await factory.group(tenant)
    attendee = await factory.attendee(tenant, group, patient, patient_case_id=case)
    individual = await factory.individual(tenant, patient)
    return World(tenant, patient, case, group, individual, attendee)


def ref(type_name: str, database_id: int) -> dict[str, str]:
    return {
        "__typename": type_name,
        "id": gid(type_name, database_id),
        "databaseId": str(database_id),
    }


def ids_in(value: object) -> list[str]:
    """Every `id` in a response, depth first."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "id"] + [
            i for k, v in value.items() if k != "id" for i in ids_in(v)
        ]
    if isinstance(value, list):
        return [i for v in value for i in ids_in(v)]
    return []


# --- node and nodes ---------------------------------------------------------------


async def test_node_refetches_every_type_by_the_id_the_api_returned(factory, client_for):
    world = await make_world(factory)
    client = client_for(world.tenant.key)
    listed = ids_in(await client.query(IDS_FROM_LISTS))

    refetched = [(await client.query(NODE, {"id": i}))["node"] for i in listed]

    assert [r["id"] for r in refetched] == listed
    assert all(r["databaseId"].isdigit() for r in refetched)
    assert {r["__typename"] for r in refetched} == set(world.expected())
    for type_name, database_id in world.expected().items():
        assert ref(type_name, database_id) in refetched


async def test_nodes_keeps_order_and_gives_null_for_missing_ids(factory, client_for):
    world = await make_world(factory)
    found = [(gid(t, i), ref(t, i)) for t, i in reversed(world.expected().items())]
    asked = [
        *found[:3],
        (gid("Attendee", MISSING), None),
        *found[3:],
        (gid("Patient", MISSING), None),
    ]

    data = await client_for(world.tenant.key).query(NODES, {"ids": [i for i, _ in asked]})

    assert data["nodes"] == [expected for _, expected in asked]


async def test_nodes_refuses_more_than_100_ids(factory, client_for):
    tenant = await factory.account()
    ids = [gid("Attendee", MISSING - n) for n in range(101)]

    messages = await client_for(tenant.key).errors(NODES, {"ids": ids})

    assert any("100" in m for m in messages), messages


async def test_nodes_accepts_exactly_100_ids(factory, client_for):
    tenant = await factory.account()
    ids = [gid("Attendee", MISSING - n) for n in range(100)]

    data = await client_for(tenant.key).query(NODES, {"ids": ids})

    assert data["nodes"] == [None] * 100


async def test_node_refuses_a_database_id_or_garbage_clearly(factory, client_for):
    world = await make_world(factory)
    client = client_for(world.tenant.key)

    database_id_messages = await client.errors(NODE, {"id": str(world.attendee)})
    assert "global id" in database_id_messages[0], database_id_messages
    for bad in (str(world.attendee), "not an id!", "", gid("Nope", 1), gid("Attendee", 0)):
        messages = await client.errors(NODE, {"id": bad})
        assert len(messages) == 1, messages
        assert f'"{bad}"' in messages[0], messages


async def test_node_never_confuses_group_and_individual_appointments(factory, client_for):
    world = await make_world(factory)
    client = client_for(world.tenant.key)
    crossed = [gid("GroupAppointment", world.individual), gid("IndividualAppointment", world.group)]

    for wrong in crossed:
        assert (await client.query(NODE, {"id": wrong}))["node"] is None
        assert (await client.query(LOOKUP["booking"], {"id": wrong}))["item"] is None


# --- typed lookups -----------------------------------------------------------------


async def test_typed_lookups_take_global_and_database_ids_whatever_the_state(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    group = await factory.group(tenant)
    attendees = [
        await factory.attendee(tenant, group, patient, archived_at=at(3)),
        await factory.attendee(tenant, group, patient, cancelled_at=at(3), cancellation_reason=30),
        await factory.attendee(tenant, group, patient, deleted_at=at(3)),
    ]
    groups = [
        await factory.group(tenant, archived_at=at(4)),
        await factory.group(tenant, cancelled_at=at(4)),
    ]
    individual = await factory.individual(tenant, patient, deleted_at=at(4))
    patients = [
        await factory.patient(tenant, archived_at=at(5)),
        await factory.patient(tenant, deleted_at=at(5)),
    ]
    case = await factory.patient_case(tenant, patient, archived_at=at(6))
    old_type = await factory.insert(
        "appointment_type",
        account_id=tenant.id,
        name="Old",
        duration_in_minutes=30,
        max_attendees=4,
        archived_at=at(2),
    )
    old_hand = await factory.insert(
        "practitioner", account_id=tenant.id, first_name="Old", last_name="Hand", archived_at=at(2)
    )
    records = [
        *[("attendee", "Attendee", a) for a in attendees],
        *[("booking", "GroupAppointment", g) for g in groups],
        ("booking", "IndividualAppointment", individual),
        *[("patient", "Patient", p) for p in patients],
        ("patientCase", "PatientCase", case),
        ("appointmentType", "AppointmentType", old_type),
        ("practitioner", "Practitioner", old_hand),
    ]
    client = client_for(tenant.key)

    for field, type_name, database_id in records:
        for value in (gid(type_name, database_id), str(database_id)):
            data = await client.query(LOOKUP[field], {"id": value})
            assert data["item"] == ref(type_name, database_id), (field, value)


async def test_typed_lookups_give_null_for_missing_ids(factory, client_for):
    tenant = await factory.account()
    client = client_for(tenant.key)
    types = (
        "Attendee",
        "GroupAppointment",
        "Patient",
        "PatientCase",
        "AppointmentType",
        "Practitioner",
    )

    for field, type_name in zip(TYPED_FIELDS, types, strict=True):
        for value in (gid(type_name, MISSING), str(MISSING)):
            assert (await client.query(LOOKUP[field], {"id": value}))["item"] is None


async def test_typed_lookups_refuse_a_global_id_of_another_type(factory, client_for):
    world = await make_world(factory)
    cases = [
        ("attendee", gid("Patient", world.patient), ["Attendee"]),
        ("booking", gid("Attendee", world.attendee), ["GroupAppointment", "IndividualAppointment"]),
        ("patient", gid("PatientCase", world.case), ["Patient"]),
        ("patientCase", gid("Patient", world.patient), ["PatientCase"]),
        ("appointmentType", gid("Practitioner", world.tenant.practitioner_id), ["AppointmentType"]),
        (
            "practitioner",
            gid("AppointmentType", world.tenant.appointment_type_id),
            ["Practitioner"],
        ),
    ]
    client = client_for(world.tenant.key)

    for field, wrong, expected_types in cases:
        messages = await client.errors(LOOKUP[field], {"id": wrong})
        assert len(messages) == 1, messages
        assert all(t in messages[0] for t in expected_types), (field, messages)


# --- fields read back what was stored ------------------------------------------------


async def test_every_attendee_field_reads_back(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    case = await factory.patient_case(tenant, patient)
    booking = await factory.group(tenant)
    attendee = await factory.attendee(
        tenant,
        booking,
        patient,
        patient_case_id=case,
        arrived=True,
        notes="Brought own mat",
        booking_ip_address="2001:db8::7",
        online_booking_policy_accepted=True,
        cancellation_reason=31,
        cancellation_note="Isolating",
        cancellation_url="https://c.example/x",
        cancelled_at=at(10),
        archived_at=at(11, micro=120000),
        deleted_at=at(12, micro=5),
        email_reminder_sent=True,
        sms_reminder_sent=False,
        sent_email_reminders_count=2,
        sent_sms_reminders_count=0,
        invoice_status=40,
        treatment_note_status=90,
        telehealth_url="https://meet.example/abc",
        created_at=at(1, micro=123456),
        updated_at=at(9, hour=23),
    )

    data = await client_for(tenant.key).query(ATTENDEE, {"id": str(attendee)})

    assert data["attendee"] == {
        "id": gid("Attendee", attendee),
        "databaseId": str(attendee),
        "arrived": True,
        "notes": "Brought own mat",
        "bookingIpAddress": "2001:db8::7",
        "onlineBookingPolicyAccepted": True,
        "cancellationReason": "COVID_19_RELATED",
        "cancellationReasonDescription": "COVID-19 related",
        "cancellationNote": "Isolating",
        "cancellationUrl": "https://c.example/x",
        "cancelledAt": "2026-01-10T09:30:00Z",
        "archivedAt": "2026-01-11T09:30:00.120000Z",
        "deletedAt": "2026-01-12T09:30:00.000005Z",
        "emailReminderSent": True,
        "smsReminderSent": False,
        "sentEmailRemindersCount": 2,
        "sentSmsRemindersCount": 0,
        "invoiceStatus": "OPEN_CREDIT",
        "treatmentNoteStatus": "FINAL",
        "telehealthUrl": "https://meet.example/abc",
        "createdAt": "2026-01-01T09:30:00.123456Z",
        "updatedAt": "2026-01-09T23:30:00Z",
        "booking": {"id": gid("GroupAppointment", booking)},
        "patient": {"id": gid("Patient", patient)},
        "patientCase": {"id": gid("PatientCase", case)},
    }


async def test_an_attendee_without_optional_values_reads_nulls(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    attendee = await factory.attendee(tenant, await factory.group(tenant), patient)

    data = (await client_for(tenant.key).query(ATTENDEE, {"id": str(attendee)}))["attendee"]

    filled = {"id", "databaseId", "createdAt", "updatedAt", "booking", "patient"}
    assert {k: v for k, v in data.items() if k not in filled} == dict.fromkeys(set(data) - filled)


async def test_attendee_enums_read_back_every_code(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    booking = await factory.group(tenant)
    invoice_codes, note_codes = list(INVOICE_STATUSES), list(TREATMENT_NOTE_STATUSES)
    ids = [
        await factory.attendee(
            tenant,
            booking,
            patient,
            cancelled_at=at(5),
            cancellation_reason=code,
            invoice_status=invoice_codes[n % 4],
            treatment_note_status=note_codes[n % 2],
        )
        for n, code in enumerate(REASONS)
    ]
    ids.append(await factory.attendee(tenant, booking, patient))

    data = await client_for(tenant.key).query(
        ATTENDEE_ENUMS, {"ids": [gid("Attendee", i) for i in ids]}
    )

    expected = [
        {
            "cancellationReason": name,
            "cancellationReasonDescription": label,
            "invoiceStatus": INVOICE_STATUSES[invoice_codes[n % 4]],
            "treatmentNoteStatus": TREATMENT_NOTE_STATUSES[note_codes[n % 2]],
        }
        for n, (name, label) in enumerate(REASONS.values())
    ]
    expected.append(dict.fromkeys(expected[0]))
    assert data["nodes"] == expected


async def test_datetimes_are_utc_with_z_and_a_fraction_only_when_stored(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    booking = await factory.group(tenant)
    plus_ten = timezone(timedelta(hours=10))
    stamps = [
        (at(1), "2026-01-01T09:30:00Z"),
        (at(1, micro=1), "2026-01-01T09:30:00.000001Z"),
        (at(1, micro=500000), "2026-01-01T09:30:00.500000Z"),
        (datetime(2026, 1, 1, 19, 30, tzinfo=plus_ten), "2026-01-01T09:30:00Z"),
    ]
    ids = [
        await factory.attendee(
            tenant, booking, patient, created_at=value, updated_at=value, archived_at=value
        )
        for value, _ in stamps
    ]

    data = await client_for(tenant.key).query(
        ATTENDEE_TIMES, {"ids": [gid("Attendee", i) for i in ids]}
    )

    assert data["nodes"] == [{"createdAt": text, "updatedAt": text} for _, text in stamps]


async def test_group_appointment_fields_with_repeats_and_seats(factory, client_for):
    tenant = await factory.account()
    rule = {"repeat_type": "Weekly", "number_of_repeats": 2, "repeating_interval": 1}
    first = await factory.group(
        tenant,
        starts_at=at(5, hour=18),
        ends_at=at(5, hour=19),
        notes="Bring water",
        max_attendees=8,
        created_at=at(1),
        updated_at=at(2, micro=42),
        **rule,
    )
    repeats = [
        await factory.group(
            tenant, starts_at=at(5 + 7 * n, hour=18), repeated_from_id=first, **rule
        )
        for n in (1, 2)
    ]
    patients = [await factory.patient(tenant) for _ in range(3)]
    active = [await factory.attendee(tenant, first, p) for p in patients[:2]]
    await factory.attendee(tenant, first, patients[2], cancelled_at=at(4), cancellation_reason=10)

    data = await client_for(tenant.key).query(GROUP_BOOKING, {"id": gid("GroupAppointment", first)})

    assert data["booking"] == {
        **ref("GroupAppointment", first),
        "startsAt": "2026-01-05T18:30:00Z",
        "endsAt": "2026-01-05T19:30:00Z",
        "notes": "Bring water",
        "archivedAt": None,
        "cancelledAt": None,
        "deletedAt": None,
        "createdAt": "2026-01-01T09:30:00Z",
        "updatedAt": "2026-01-02T09:30:00.000042Z",
        "appointmentType": {"id": gid("AppointmentType", tenant.appointment_type_id)},
        "practitioner": {"id": gid("Practitioner", tenant.practitioner_id)},
        "repeatRule": {"repeatType": "WEEKLY", "numberOfRepeats": 2, "repeatingInterval": 1},
        "repeatedFrom": None,
        "attendees": {"totalCount": 2, "nodes": [{"id": gid("Attendee", a)} for a in active]},
        "repeats": {
            "totalCount": 2,
            "nodes": [
                {
                    "id": gid("GroupAppointment", r),
                    "startsAt": f"2026-01-{5 + 7 * n:02d}T18:30:00Z",
                    "repeatedFrom": {"id": gid("GroupAppointment", first)},
                }
                for n, r in enumerate(repeats, start=1)
            ],
        },
        "maxAttendees": 8,
        "availableSeats": 6,
    }


async def test_individual_appointment_fields(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    case = await factory.patient_case(tenant, patient)
    booking = await factory.individual(
        tenant,
        patient,
        patient_case_id=case,
        starts_at=at(7, hour=14),
        ends_at=at(7, hour=15),
        patient_arrived=False,
        did_not_arrive=True,
        cancellation_reason=40,
        cancellation_note="Overseas",
        cancelled_at=at(6, micro=9),
        created_at=at(1),
        updated_at=at(6),
    )

    data = await client_for(tenant.key).query(INDIVIDUAL_BOOKING, {"id": str(booking)})

    result = data["booking"]
    attendee_ids = [n["id"] for n in result.pop("attendees")["nodes"]]
    assert len(attendee_ids) == 1
    assert result == {
        **ref("IndividualAppointment", booking),
        "startsAt": "2026-01-07T14:30:00Z",
        "endsAt": "2026-01-07T15:30:00Z",
        "notes": None,
        "archivedAt": None,
        "cancelledAt": "2026-01-06T09:30:00.000009Z",
        "deletedAt": None,
        "createdAt": "2026-01-01T09:30:00Z",
        "updatedAt": "2026-01-06T09:30:00Z",
        "appointmentType": {"id": gid("AppointmentType", tenant.appointment_type_id)},
        "practitioner": {"id": gid("Practitioner", tenant.practitioner_id)},
        "repeatRule": None,
        "repeatedFrom": None,
        "repeats": {"totalCount": 0},
        "patient": {"id": gid("Patient", patient)},
        "patientCase": {"id": gid("PatientCase", case)},
        "patientArrived": False,
        "didNotArrive": True,
        "cancellationReason": "AWAY",
        "cancellationNote": "Overseas",
        "cancellationReasonDescription": "Away",
    }


async def test_individual_appointment_not_cancelled_has_no_reason_description(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    booking = await factory.individual(tenant, patient)

    data = await client_for(tenant.key).query(INDIVIDUAL_BOOKING, {"id": str(booking)})

    fields = (
        "cancellationReason",
        "cancellationReasonDescription",
        "patientCase",
        "patientArrived",
    )
    assert {f: data["booking"][f] for f in fields} == dict.fromkeys(fields)


async def test_patient_fields_with_phone_numbers_and_date_of_birth(factory, client_for):
    tenant = await factory.account()
    phones = [
        {"number": "0412 345 678", "phone_type": "Mobile"},
        {"number": "03 9123 4567", "phone_type": "Home"},
        {"number": "+61 2 5550 1234"},
    ]
    patient = await factory.patient(
        tenant,
        first_name="Rosa",
        last_name="Parks",
        preferred_first_name="Ro",
        title="Ms",
        date_of_birth=date(1987, 11, 3),
        email="rosa@example.com",
        patient_phone_numbers=phones,
        archived_at=at(20, micro=250),
        deleted_at=at(21),
        created_at=at(1),
        updated_at=at(21),
    )
    cases = [await factory.patient_case(tenant, patient) for _ in range(2)]

    data = await client_for(tenant.key).query(PATIENT, {"id": gid("Patient", patient)})

    assert data["patient"] == {
        "id": gid("Patient", patient),
        "databaseId": str(patient),
        "firstName": "Rosa",
        "lastName": "Parks",
        "preferredFirstName": "Ro",
        "title": "Ms",
        "dateOfBirth": "1987-11-03",
        "email": "rosa@example.com",
        "phoneNumbers": [
            {"number": "0412 345 678", "phoneType": "MOBILE"},
            {"number": "03 9123 4567", "phoneType": "HOME"},
            {"number": "+61 2 5550 1234", "phoneType": None},
        ],
        "archivedAt": "2026-01-20T09:30:00.000250Z",
        "deletedAt": "2026-01-21T09:30:00Z",
        "createdAt": "2026-01-01T09:30:00Z",
        "updatedAt": "2026-01-21T09:30:00Z",
        "patientCases": {"nodes": [{"id": gid("PatientCase", c)} for c in cases]},
    }


async def test_patient_without_phone_numbers_or_birth_date(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)

    data = await client_for(tenant.key).query(PATIENT, {"id": str(patient)})

    assert data["patient"]["phoneNumbers"] == []
    assert data["patient"]["dateOfBirth"] is None


async def test_patient_case_fields_and_patient(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    case = await factory.patient_case(
        tenant,
        patient,
        name="Shoulder",
        notes="Post-op",
        issue_date=date(2026, 1, 2),
        expiry_date=date(2026, 7, 1),
        closed_at=at(30, micro=7),
        max_sessions=12,
        created_at=at(2),
        updated_at=at(30),
    )
    booking = await factory.group(tenant)
    attendee = await factory.attendee(tenant, booking, patient, patient_case_id=case)

    data = await client_for(tenant.key).query(PATIENT_CASE, {"id": gid("PatientCase", case)})

    assert data["patientCase"] == {
        "id": gid("PatientCase", case),
        "databaseId": str(case),
        "name": "Shoulder",
        "notes": "Post-op",
        "issueDate": "2026-01-02",
        "expiryDate": "2026-07-01",
        "closedAt": "2026-01-30T09:30:00.000007Z",
        "maxSessions": 12,
        "archivedAt": None,
        "createdAt": "2026-01-02T09:30:00Z",
        "updatedAt": "2026-01-30T09:30:00Z",
        "patient": {"id": gid("Patient", patient)},
        "attendees": {"totalCount": 1, "nodes": [{"id": gid("Attendee", attendee)}]},
    }


async def test_appointment_type_and_practitioner_fields(factory, client_for):
    tenant = await factory.account()
    type_id = await factory.insert(
        "appointment_type",
        account_id=tenant.id,
        name="Reformer",
        duration_in_minutes=55,
        max_attendees=6,
        archived_at=at(3),
        created_at=at(1),
        updated_at=at(3),
    )
    practitioner = await factory.insert(
        "practitioner",
        account_id=tenant.id,
        first_name="Grace",
        last_name="Hopper",
        created_at=at(1, micro=1),
        updated_at=at(1, micro=1),
    )
    variables = {"type": str(type_id), "practitioner": gid("Practitioner", practitioner)}

    data = await client_for(tenant.key).query(CATALOG, variables)

    assert data == {
        "appointmentType": {
            "id": gid("AppointmentType", type_id),
            "databaseId": str(type_id),
            "name": "Reformer",
            "durationInMinutes": 55,
            "maxAttendees": 6,
            "archivedAt": "2026-01-03T09:30:00Z",
            "createdAt": "2026-01-01T09:30:00Z",
            "updatedAt": "2026-01-03T09:30:00Z",
        },
        "practitioner": {
            "id": gid("Practitioner", practitioner),
            "databaseId": str(practitioner),
            "firstName": "Grace",
            "lastName": "Hopper",
            "title": None,
            "displayName": None,
            "archivedAt": None,
            "createdAt": "2026-01-01T09:30:00.000001Z",
            "updatedAt": "2026-01-01T09:30:00.000001Z",
        },
    }
