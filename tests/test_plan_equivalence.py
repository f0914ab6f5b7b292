"""The planned path against the ordinary executor: the same documents, the same data,
byte-identical responses; the covered documents really planned, with no more statements.

Two apps over one database: EXECUTION=standard and EXECUTION=planned. Every document is
sent to both; `app.plan.extension.STATS` says whether the planner answered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import FragmentDefinitionNode, FragmentSpreadNode, parse, print_ast, visit
from graphql.language import Visitor

from app.config import Settings
from app.main import create_app
from app.plan.compile import uncovered
from app.plan.extension import STATS
from app.schema import schema
from scripts.bench import ATTENDEE_PAGE, NESTED, SINGLE
from tests.factories import BASE_TIME, Factory, Tenant, gid

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql_schema" / "operations"


class Pair:
    """Posts the same request to the standard and the planned app."""

    def __init__(self, standard: Any, planned: Any) -> None:
        self.clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://test")
            for a in (standard, planned)
        ]

    async def both(
        self, key: str, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[httpx.Response, httpx.Response, bool]:
        body = {"query": query, "variables": variables or {}}
        headers = {"Authorization": f"Bearer {key}"}
        standard = await self.clients[0].post("/graphql", json=body, headers=headers)
        before = STATS["planned"]
        planned = await self.clients[1].post("/graphql", json=body, headers=headers)
        return standard, planned, STATS["planned"] > before

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


EVERY_ATTENDEE_FIELD = {  # an attendee with every optional column set (not its case)
    "arrived": True,
    "notes": "front row",
    "booking_ip_address": "203.0.113.9",
    "online_booking_policy_accepted": True,
    "email_reminder_sent": True,
    "sms_reminder_sent": False,
    "sent_email_reminders_count": 2,
    "sent_sms_reminders_count": 0,
    "invoice_status": 20,
    "treatment_note_status": 90,
    "telehealth_url": "https://example.com/t/1",
    "cancellation_url": "https://example.com/c/1",
}


@pytest.fixture(scope="module")
async def pair(settings: Settings) -> AsyncIterator[Pair]:
    apps = [create_app(dataclasses.replace(settings, execution=e)) for e in ("standard", "planned")]
    async with (
        apps[0].router.lifespan_context(apps[0]),
        apps[1].router.lifespan_context(apps[1]),
    ):
        made = Pair(*apps)
        yield made
        await made.aclose()


@dataclasses.dataclass
class World:
    tenant: Tenant
    other: Tenant
    ids: dict[str, int]


@pytest.fixture(scope="module")
async def world(database: Any) -> World:
    """A tenant with bookings of both kinds, attendees in every state, patients with and
    without optional values; and another tenant whose ids must behave as missing."""
    f = Factory(database)
    t = await f.account("Planned Clinic")
    ids: dict[str, int] = {}
    ids["full"] = await f.patient(
        t,
        first_name="Ada",
        last_name="Byron",
        preferred_first_name="Addy",
        title="Ms",
        date_of_birth=BASE_TIME.date() - timedelta(days=12000),
        patient_phone_numbers=[
            {"number": "0400 000 000", "phone_type": "Mobile"},
            {"number": "03 9000 0000"},
        ],
    )
    ids["bare"] = await f.patient(t, first_name="Bo", last_name="Zed", email=None)
    ids["archived_patient"] = await f.patient(
        t, first_name="Cy", last_name="Old", archived_at=BASE_TIME
    )
    ids["case"] = await f.patient_case(
        t,
        ids["full"],
        notes="left knee",
        issue_date=BASE_TIME.date(),
        expiry_date=BASE_TIME.date() + timedelta(days=90),
        max_sessions=10,
    )
    ids["class"] = await f.group(
        t, notes="Bring a mat", repeat_type="Weekly", number_of_repeats=2, repeating_interval=1
    )
    ids["repeat"] = await f.group(
        t, repeated_from_id=ids["class"], starts_at=BASE_TIME + timedelta(days=14)
    )
    ids["cancelled_class"] = await f.group(t, cancelled_at=BASE_TIME, max_attendees=4)
    ids["solo"] = await f.individual(t, ids["full"], patient_case_id=ids["case"])
    ids["solo_cancelled"] = await f.individual(
        t,
        ids["bare"],
        cancelled_at=BASE_TIME,
        cancellation_reason=30,
        cancellation_note="flu",
        did_not_arrive=True,
    )
    ids["arrived"] = await f.attendee(
        t,
        ids["class"],
        ids["full"],
        patient_case_id=ids["case"],
        **EVERY_ATTENDEE_FIELD,
    )
    ids["not_arrived"] = await f.attendee(t, ids["class"], ids["bare"], arrived=False)
    ids["cancelled"] = await f.attendee(
        t,
        ids["class"],
        ids["archived_patient"],
        cancelled_at=BASE_TIME,
        cancellation_reason=31,
        cancellation_note="isolating",
    )
    ids["archived"] = await f.attendee(t, ids["repeat"], ids["bare"], archived_at=BASE_TIME)
    ids["deleted"] = await f.attendee(t, ids["repeat"], ids["full"], deleted_at=BASE_TIME)
    ids["both"] = await f.attendee(
        t, ids["repeat"], ids["archived_patient"], cancelled_at=BASE_TIME, archived_at=BASE_TIME
    )
    ids["plain"] = await f.attendee(t, ids["repeat"], ids["archived_patient"])
    for n in range(4):
        patient = await f.patient(t, first_name=f"P{n}", last_name="Many")
        await f.attendee(t, ids["cancelled_class"], patient, arrived=n % 2 == 0)

    other = await f.account("Other Clinic")
    ids["foreign_patient"] = await f.patient(other, first_name="Eve")
    ids["foreign_class"] = await f.group(other)
    ids["foreign_attendee"] = await f.attendee(other, ids["foreign_class"], ids["foreign_patient"])
    return World(t, other, ids)


# --- documents --------------------------------------------------------------------------

ATTENDEE_FIELDS = """
  __typename id databaseId arrived notes bookingIpAddress onlineBookingPolicyAccepted
  cancellationReason cancellationReasonDescription cancellationNote cancellationUrl
  cancelledAt archivedAt deletedAt emailReminderSent smsReminderSent
  sentEmailRemindersCount sentSmsRemindersCount invoiceStatus treatmentNoteStatus
  telehealthUrl createdAt updatedAt
"""
PATIENT_FIELDS = """
  __typename id databaseId firstName lastName preferredFirstName title dateOfBirth email
  phoneNumbers { __typename number phoneType } archivedAt deletedAt createdAt updatedAt
"""
BOOKING_FIELDS = """
  __typename id databaseId startsAt endsAt notes archivedAt cancelledAt deletedAt createdAt
  updatedAt repeatRule { repeatType numberOfRepeats repeatingInterval }
  appointmentType { id databaseId name durationInMinutes maxAttendees archivedAt createdAt updatedAt }
  practitioner { id databaseId firstName lastName title displayName archivedAt createdAt updatedAt }
  repeatedFrom { id startsAt }
  ... on GroupAppointment { maxAttendees availableSeats }
  ... on IndividualAppointment {
    patientArrived didNotArrive cancellationReason cancellationNote cancellationReasonDescription
    patient { id firstName } patientCase { id name }
  }
"""
CASE_FIELDS = """
  __typename id databaseId name notes issueDate expiryDate closedAt maxSessions archivedAt
  createdAt updatedAt patient { id lastName }
"""
EVERYTHING = f"""
query Everything {{
  attendees(filter: {{includeCancelled: true, includeArchived: true, includeDeleted: true}}) {{
    __typename totalCount
    pageInfo {{ __typename hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ __typename cursor node {{
      {ATTENDEE_FIELDS}
      patient {{ {PATIENT_FIELDS} }}
      booking {{ {BOOKING_FIELDS} }}
      patientCase {{ {CASE_FIELDS} }}
    }} }}
  }}
}}
"""
BOOKINGS_EVERYTHING = f"""
query {{
  bookings(filter: {{includeCancelled: true}}, orderBy: [{{field: STARTS_AT, direction: DESC}}]) {{
    totalCount
    nodes {{
      {BOOKING_FIELDS}
      attendees(filter: {{includeCancelled: true}}) {{ totalCount nodes {{ id arrived }} }}
      repeats {{ totalCount edges {{ cursor node {{ __typename id startsAt }} }} }}
    }}
  }}
}}
"""
PATIENTS_EVERYTHING = f"""
query {{
  patients(first: 10, filter: {{includeArchived: true}}, orderBy: [{{field: UPDATED_AT, direction: DESC}}]) {{
    totalCount
    nodes {{
      {PATIENT_FIELDS}
      attendees(first: 2, filter: {{includeArchived: true}}) {{
        totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ id booking {{ id }} }}
      }}
      patientCases(first: 5) {{
        totalCount nodes {{ {CASE_FIELDS} attendees(first: 5) {{ totalCount nodes {{ id }} }} }}
      }}
    }}
  }}
}}
"""
FRAGMENTS = """
query Fragments($withNotes: Boolean!, $skipPatient: Boolean = false) {
  list: attendees(first: 3, orderBy: [{field: ID, direction: DESC}]) {
    nodes { ...Row booking { ...Summary } }
    again: nodes { id notes @include(if: $withNotes) }
  }
  first: attendees(first: 1) { edges { node { id } } }
}
fragment Row on Attendee {
  id arrived notes @include(if: $withNotes)
  who: patient @skip(if: $skipPatient) { ...Names }
  patient { id }
}
fragment Names on Patient { firstName lastName }
fragment Summary on Booking {
  __typename id
  ... on GroupAppointment { seats: availableSeats maxAttendees }
  ... on IndividualAppointment { patient { ...Names } }
  ... on Node { id nodeId: id }
}
"""
PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $filter: AttendeeFilter, $order: [AttendeeOrder!]) {
  attendees(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id createdAt } }
  }
}
"""
NESTED_PAGE = """
query NestedPage($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  booking(id: $id) {
    id
    attendees(first: $first, after: $after, last: $last, before: $before, filter: {includeCancelled: true}) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id } }
    }
  }
}
"""
LOOKUPS = """
query Lookups($a: ID!, $b: ID!, $p: ID!, $c: ID!, $t: ID!, $r: ID!) {
  __typename
  attendee(id: $a) { id patient { id } }
  booking(id: $b) { __typename id ... on GroupAppointment { availableSeats } }
  patient(id: $p) { id firstName }
  patientCase(id: $c) { id attendees { nodes { id } } }
  appointmentType(id: $t) { id name }
  practitioner(id: $r) { id displayName }
}
"""
BOOKING_FILTERS = """
query BookingFilters($filter: BookingFilter, $order: [BookingOrder!]) {
  bookings(filter: $filter, orderBy: $order) { totalCount nodes { __typename id startsAt } }
}
"""
CATALOG = """
{
  appointmentTypes { totalCount nodes { id name } }
  practitioners(first: 1) { pageInfo { hasNextPage } nodes { displayName } }
}
"""
DEEP = """
{
  attendees(first: 2) { nodes { booking { attendees(first: 1) { totalCount nodes {
    patient { attendees(first: 2) { totalCount nodes { id booking { __typename startsAt } } } }
  } } } } }
}
"""


def _operation_documents() -> list[tuple[str, str]]:
    """Every query in graphql_schema/operations/, with the fragments it uses."""
    fragments = {
        d.name.value: d
        for path in OPERATIONS.glob("*.graphql")
        for d in parse(path.read_text()).definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    found = []
    for path in sorted(OPERATIONS.glob("*.graphql")):
        for definition in parse(path.read_text()).definitions:
            if isinstance(definition, FragmentDefinitionNode):
                continue
            if definition.operation.value != "query":  # type: ignore[attr-defined]
                continue
            used: dict[str, Any] = {}
            todo = [definition]
            while todo:
                spreads = _Spreads()
                visit(todo.pop(), spreads)
                for name in spreads.names - used.keys():
                    used[name] = fragments[name]
                    todo.append(fragments[name])
            text = "\n".join(print_ast(d) for d in [definition, *used.values()])
            found.append((definition.name.value, text))  # type: ignore[attr-defined]
    return found


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: Any) -> None:
        self.names.add(node.name.value)


async def _first_cursor(pair: Pair, key: str, query: str, variables: dict[str, Any]) -> Any:
    standard, _, _ = await pair.both(key, query, variables)
    return standard.json()


def documents(w: World) -> list[tuple[str, str, dict[str, Any], bool]]:
    """(name, query, variables, must be planned)."""
    i = w.ids
    a = gid("Attendee", i["arrived"])
    docs: list[tuple[str, str, dict[str, Any], bool]] = [
        ("first50", ATTENDEE_PAGE, {}, True),
        ("single", SINGLE, {"id": a}, True),
        ("single by database id", SINGLE, {"id": str(i["arrived"])}, True),
        ("single foreign", SINGLE, {"id": gid("Attendee", i["foreign_attendee"])}, True),
        ("single missing", SINGLE, {"id": "999999999"}, True),
        ("single bad id", SINGLE, {"id": "not an id"}, False),
        ("single wrong type", SINGLE, {"id": gid("Patient", i["full"])}, False),
        ("nested", NESTED, {}, True),
        ("everything", EVERYTHING, {}, True),
        ("bookings everything", BOOKINGS_EVERYTHING, {}, True),
        ("patients everything", PATIENTS_EVERYTHING, {}, True),
        ("fragments", FRAGMENTS, {"withNotes": True}, True),
        ("fragments skipped", FRAGMENTS, {"withNotes": False, "skipPatient": True}, True),
        ("fragments bad variable", FRAGMENTS, {"withNotes": "yes"}, False),
        ("deep", DEEP, {}, True),
        ("catalog", CATALOG, {}, True),
        ("typename", "{ __typename }", {}, True),
        ("introspection", "{ __schema { queryType { name } } }", {}, False),
        ("node", "query($id: ID!) { node(id: $id) { id } }", {"id": a}, False),
        (
            "lookups",
            LOOKUPS,
            {
                "a": str(i["not_arrived"]),
                "b": gid("GroupAppointment", i["class"]),
                "p": gid("Patient", i["bare"]),
                "c": str(i["case"]),
                "t": str(w.tenant.appointment_type_id),
                "r": gid("Practitioner", w.tenant.practitioner_id),
            },
            True,
        ),
        (
            "lookups across kinds and accounts",
            LOOKUPS,
            {
                "a": gid("Attendee", i["foreign_attendee"]),
                "b": gid("IndividualAppointment", i["class"]),
                "p": str(i["foreign_patient"]),
                "c": "12345678",
                "t": str(w.other.appointment_type_id),
                "r": "1",
            },
            True,
        ),
        ("booking by database id", LOOKUPS.replace("$b: ID!", "$b: ID!"), {}, False),
        (
            "a chain of 13 interface-typed relations",
            "query($id: ID!) { booking(id: $id) { "
            + "repeatedFrom { " * 13
            + "id"
            + " }" * 13
            + " } }",
            {"id": str(i["repeat"])},
            True,
        ),
        (
            "aliased lookups of one table",
            "query($a: ID!, $b: ID!) { x: attendee(id: $a) { id patient { id } } "
            "y: attendee(id: $b) { notes } z: attendee(id: $a) { arrived } }",
            {"a": a, "b": str(i["deleted"])},
            True,
        ),
        ("page", PAGE, {"first": 2}, True),
        ("page last", PAGE, {"last": 2}, True),
        ("page default size, all states", PAGE, {"filter": {"includeCancelled": True}}, True),
        (
            "page ordered",
            PAGE,
            {"first": 3, "order": [{"field": "UPDATED_AT", "direction": "DESC"}]},
            True,
        ),
        ("page filtered arrived", PAGE, {"filter": {"arrived": True}}, True),
        ("page filtered not arrived", PAGE, {"filter": {"arrived": False}}, True),
        (
            "page filtered by booking",
            PAGE,
            {"filter": {"bookingId": {"in": [gid("GroupAppointment", i["class"])]}}},
            True,
        ),
        (
            "page filtered by time",
            PAGE,
            {"filter": {"createdAt": {"gt": "2026-03-02T09:00:05Z"}, "includeArchived": True}},
            True,
        ),
        ("page too big", PAGE, {"first": 101}, False),
        ("page negative", PAGE, {"last": -1}, False),
        ("page both", PAGE, {"first": 1, "last": 1}, False),
        ("page bad cursor", PAGE, {"first": 1, "after": "nope"}, False),
        ("page bad filter id", PAGE, {"filter": {"bookingId": {"eq": "xyz"}}}, False),
        ("page bad variable", PAGE, {"first": "two"}, False),
        (
            "booking filters",
            BOOKING_FILTERS,
            {"filter": {"kind": "INDIVIDUAL", "includeCancelled": True}},
            True,
        ),
        (
            "booking filters by patient",
            BOOKING_FILTERS,
            {
                "filter": {"patientId": {"eq": str(i["full"])}},
                "order": [{"field": "ENDS_AT", "direction": "ASC"}],
            },
            True,
        ),
        (
            "booking filters by time",
            BOOKING_FILTERS,
            {"filter": {"startsAt": {"gte": "2026-03-10T00:00:00Z"}}},
            True,
        ),
        ("nested page", NESTED_PAGE, {"id": str(i["class"]), "first": 1}, True),
        ("nested page last", NESTED_PAGE, {"id": str(i["class"]), "last": 2}, True),
        ("nested page too big", NESTED_PAGE, {"id": str(i["class"]), "first": 500}, False),
    ]
    docs = [d for d in docs if d[0] != "booking by database id"]
    docs.append(
        (
            "booking by database id",
            "query($id: ID!) { booking(id: $id) { __typename id } }",
            {"id": str(i["solo"])},
            True,
        )
    )
    for name, text in _operation_documents():
        variables: dict[str, Any] = {
            "AttendeeList": {"first": 3, "filter": {"includeCancelled": True}},
            "BookingWithAttendees": {"id": gid("GroupAppointment", i["class"]), "first": 2},
            "PatientSearch": {"search": "a"},
        }[name]
        docs.append((name, text, variables, True))
    docs.append(
        (
            "BookingWithAttendees individual",
            dict(_operation_documents())["BookingWithAttendees"],
            {"id": str(i["solo_cancelled"])},
            True,
        )
    )
    return docs


async def _compare(
    pair: Pair, key: str, name: str, query: str, variables: dict[str, Any], must_plan: bool
) -> dict[str, Any]:
    standard, planned, was_planned = await pair.both(key, query, variables)
    assert planned.status_code == standard.status_code, name
    assert planned.content == standard.content, (name, standard.json(), planned.json())
    if must_plan:
        assert was_planned, f"{name}: not planned"
        assert int(planned.headers["x-sql-statements"]) <= int(
            standard.headers["x-sql-statements"]
        ), name
    else:
        assert not was_planned, f"{name}: planned"
    return standard.json()  # type: ignore[no-any-return]


async def test_every_document_answers_the_same(pair: Pair, world: World) -> None:
    for name, query, variables, must_plan in documents(world):
        await _compare(pair, world.tenant.key, name, query, variables, must_plan)


async def test_pages_forward_and_backward_with_cursors(pair: Pair, world: World) -> None:
    key = world.tenant.key
    every = {"includeCancelled": True, "includeArchived": True, "includeDeleted": True}
    for order in (None, [{"field": "CREATED_AT", "direction": "DESC"}]):
        base = {"filter": every, "order": order}
        first = await _compare(pair, key, "first page", PAGE, {**base, "first": 3}, True)
        info = first["data"]["attendees"]["pageInfo"]
        for variables in (
            {"first": 3, "after": info["endCursor"]},
            {"first": 2, "after": info["startCursor"]},
            {"last": 2, "before": info["endCursor"]},
            {"last": 5, "before": info["endCursor"]},
            {"first": 1, "before": info["endCursor"]},
            {"last": 1, "after": info["startCursor"]},
            {"first": 0},
        ):
            await _compare(pair, key, f"page {variables}", PAGE, {**base, **variables}, True)
        # A cursor of another ordering or filter is refused the same way.
        await _compare(pair, key, "foreign", PAGE, {"first": 1, "after": info["endCursor"]}, False)
    booking = str(world.ids["class"])
    first = await _compare(pair, key, "nested", NESTED_PAGE, {"id": booking, "first": 1}, True)
    end = first["data"]["booking"]["attendees"]["pageInfo"]["endCursor"]
    for variables in ({"first": 1, "after": end}, {"last": 1, "before": end}, {"after": end}):
        await _compare(
            pair, key, f"nested {variables}", NESTED_PAGE, {"id": booking, **variables}, True
        )


async def test_the_other_tenant_sees_only_its_rows(pair: Pair, world: World) -> None:
    for name, query, variables, must_plan in documents(world)[:12]:
        await _compare(pair, world.other.key, name, query, variables, must_plan)


async def test_limits_refuse_before_planning(pair: Pair, world: World) -> None:
    query = "{ attendees(first: 100) { nodes { booking { attendees(first: 100) { nodes { booking { attendees(first: 100) { nodes { id } } } } } } } } }"
    await _compare(pair, world.tenant.key, "too costly", query, {}, False)


def test_every_field_has_a_rule_or_is_a_column() -> None:
    assert uncovered(schema._schema) == []


@pytest.mark.parametrize("size", [1])
def test_the_plan_cache_is_bounded(size: int) -> None:
    from app.plan.extension import Planner

    planner = Planner(size=size)
    for n in range(5):
        document = parse(f"{{ a{n}: __typename }}")
        planner._entry(f"q{n}", document, None)
    assert len(planner._entries) == size


async def test_a_cursor_from_either_path_is_accepted_by_the_other(pair: Pair, world: World) -> None:
    key = world.tenant.key
    headers = {"Authorization": f"Bearer {key}"}
    standard_client, planned_client = pair.clients
    body = {"query": PAGE, "variables": {"first": 2}}
    pages = [
        (await client.post("/graphql", json=body, headers=headers)).json()
        for client in (standard_client, planned_client)
    ]
    cursors = [p["data"]["attendees"]["pageInfo"]["endCursor"] for p in pages]
    assert cursors[0] == cursors[1]
    for made_by, sent_to in ((0, 1), (1, 0)):
        body = {"query": PAGE, "variables": {"first": 2, "after": cursors[made_by]}}
        response = await pair.clients[sent_to].post("/graphql", json=body, headers=headers)
        assert "errors" not in response.json()
        assert response.json()["data"]["attendees"]["pageInfo"]["hasPreviousPage"] is True
