"""`auditEvents`: the account's audit trail through the API (contract §9).

Mutations made through the API are listed oldest first, as a keyset connection like every
other list; filters narrow it by entity, kind, operation and time; another account's rows
and ids never show. Every test runs under both executions (EXECUTION=standard and planned:
the planned path hands auditEvents to the ordinary executor), and the list runs the same
statements whatever its page size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.auth import generate_api_key, hash_api_key
from app.ids import from_global_id
from tests.conftest import GraphQLClient
from tests.executions import on_both_executions
from tests.factories import BASE_TIME, Factory, T, Tenant, gid
from tests.test_audit import CANCEL_ATTENDEE, CREATE_ATTENDEE, CREATE_GROUP, CREATE_PATIENT, mutate
from tests.test_patient_mutations import mutation

AUDIT_SCOPES = "read write audit"
ID = "databaseId"
CREATE_PRACTITIONER = mutation("createPractitioner", "CreatePractitionerInput", "practitioner", ID)
CREATE_TYPE = mutation("createAppointmentType", "CreateAppointmentTypeInput", "appointmentType", ID)

EVENT = "databaseId occurredAt operation entityType apiKeyName entity { id }"
LIST = f"""
query(
  $first: Int, $after: String, $last: Int, $before: String,
  $orderBy: [AuditEventOrder!], $filter: AuditEventFilter
) {{
  auditEvents(
    first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: $filter
  ) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {EVENT} }} }}
  }}
}}
"""
ENTITIES = """
query($filter: AuditEventFilter) {
  auditEvents(filter: $filter) {
    nodes {
      operation
      entity {
        id
        __typename
        ... on Attendee { notes cancellationReason }
        ... on Patient { firstName }
      }
    }
  }
}
"""
WITH_ENTITIES = """
query($n: Int!) {
  auditEvents(first: $n) {
    totalCount
    nodes { operation occurredAt apiKeyName entity { id ... on Attendee { notes } } }
  }
}
"""
MIXED = """
query {
  practitioners { nodes { id firstName } }
  auditEvents(last: 4, orderBy: [{field: OCCURRED_AT}]) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { databaseId occurredAt operation entityType apiKeyName
      entity { id ... on Booking { startsAt } ... on Patient { lastName } } } }
  }
}
"""
FOREIGN = (
    "This cursor was made for another list, ordering or filter; fetch the list again without it."
)
apps, execution, client_for = on_both_executions()


@dataclass
class Trail:
    """An account whose changes were made through the API, and a client that may audit it."""

    tenant: Tenant
    auditor: GraphQLClient
    ids: dict[str, str]  # database ids of the objects made, by type name
    rows: list[tuple[str, str, str]]  # (operation, entityType, entity's global id), in order


async def trail_through_api(factory: Factory, client_for: Any) -> Trail:
    """Six mutations by the tenant's key (named "test"), each one audit row."""
    tenant = await factory.account()
    api = client_for(tenant.key)
    patient = (await mutate(api, CREATE_PATIENT, firstName="Grace", lastName="Hopper"))[ID]
    practitioner = (await mutate(api, CREATE_PRACTITIONER, firstName="Ada", lastName="Byron"))[ID]
    kind = (await mutate(api, CREATE_TYPE, name="Yoga", durationInMinutes=45, maxAttendees=5))[ID]
    booking = (
        await mutate(
            api,
            CREATE_GROUP,
            appointmentTypeId=kind,
            practitionerId=practitioner,
            startsAt="2026-05-04T09:00:00Z",
        )
    )[ID]
    attendee = (
        await mutate(api, CREATE_ATTENDEE, bookingId=booking, patientId=patient, notes="first")
    )[ID]
    await mutate(api, CANCEL_ATTENDEE, id=attendee, cancellationReason="FEELING_BETTER")
    auditor = client_for(await factory.key(tenant, scopes=AUDIT_SCOPES, name="auditor"))
    return Trail(
        tenant,
        auditor,
        {
            "Patient": patient,
            "Booking": booking,
            "Attendee": attendee,
            "Practitioner": practitioner,
        },
        [
            ("createPatient", "PATIENT", gid("Patient", int(patient))),
            ("createPractitioner", "PRACTITIONER", gid("Practitioner", int(practitioner))),
            ("createAppointmentType", "APPOINTMENT_TYPE", gid("AppointmentType", int(kind))),
            ("createGroupAppointment", "BOOKING", gid("GroupAppointment", int(booking))),
            ("createAttendee", "ATTENDEE", gid("Attendee", int(attendee))),
            ("cancelAttendee", "ATTENDEE", gid("Attendee", int(attendee))),
        ],
    )


async def events(client: GraphQLClient, **args: Any) -> dict[str, Any]:
    """The auditEvents connection for these arguments."""
    return (await client.query(LIST, args))["auditEvents"]  # type: ignore[no-any-return]


def rows_of(conn: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (e["node"]["operation"], e["node"]["entityType"], e["node"]["entity"]["id"])
        for e in conn["edges"]
    ]


def ids_of(conn: dict[str, Any]) -> list[int]:
    return [int(e["node"][ID]) for e in conn["edges"]]


async def bad_input(client: GraphQLClient, query: str, variables: dict[str, Any]) -> list[str]:
    """The messages of a request refused with BAD_USER_INPUT."""
    body = (await client.post(query, variables)).json()
    assert body.get("errors"), body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}, body
    return [e["message"] for e in body["errors"]]


async def audit_rows(factory: Factory, tenant: Tenant, rows: list[dict[str, Any]]) -> list[int]:
    """Audit rows written directly (as the mutations would write them), in order."""
    return [
        await factory.insert("audit_event", account_id=tenant.id, **{"api_key_id": None, **row})
        for row in rows
    ]


# --- the trail ---


async def test_mutations_through_the_api_are_listed_oldest_first(factory, client_for):
    trail = await trail_through_api(factory, client_for)

    conn = await events(trail.auditor)

    assert rows_of(conn) == trail.rows
    assert conn["totalCount"] == 6
    assert {e["node"]["apiKeyName"] for e in conn["edges"]} == {"test"}
    times = [e["node"]["occurredAt"] for e in conn["edges"]]
    assert all(t.endswith("Z") for t in times)
    assert times == sorted(times)
    assert ids_of(conn) == sorted(ids_of(conn))


async def test_an_entity_is_the_object_as_it_is_now(factory, client_for):
    trail = await trail_through_api(factory, client_for)

    data = await trail.auditor.query(ENTITIES, {"filter": {"entityType": "ATTENDEE"}})
    booking = await trail.auditor.query(ENTITIES, {"filter": {"entityType": "BOOKING"}})
    patient = await trail.auditor.query(ENTITIES, {"filter": {"entityType": "PATIENT"}})

    attendee = {
        "id": gid("Attendee", int(trail.ids["Attendee"])),
        "__typename": "Attendee",
        "notes": "first",
        "cancellationReason": "FEELING_BETTER",
    }
    assert data["auditEvents"]["nodes"] == [
        {"operation": "createAttendee", "entity": attendee},
        {"operation": "cancelAttendee", "entity": attendee},
    ]
    assert booking["auditEvents"]["nodes"][0]["entity"]["__typename"] == "GroupAppointment"
    assert patient["auditEvents"]["nodes"][0]["entity"]["firstName"] == "Grace"


async def test_an_entity_that_is_gone_is_null(factory, client_for):
    tenant = await factory.account()
    await audit_rows(
        factory,
        tenant,
        [{"operation": "createPatient", "entity_type": "patient", "entity_id": 2**62}],
    )
    auditor = client_for(await factory.key(tenant, scopes=AUDIT_SCOPES))

    conn = await events(auditor)

    assert [(e["node"]["entityType"], e["node"]["entity"]) for e in conn["edges"]] == [
        ("PATIENT", None)
    ]


async def test_api_key_name_is_the_keys_name_or_null(factory, client_for):
    tenant = await factory.account()
    nameless = generate_api_key()
    await factory.insert(
        "api_key", account_id=tenant.id, key_hash=hash_api_key(nameless), name=None
    )
    await mutate(client_for(tenant.key), CREATE_PATIENT, firstName="A", lastName="Named")
    await mutate(client_for(nameless), CREATE_PATIENT, firstName="B", lastName="Nameless")
    patient = await factory.patient(tenant)
    await audit_rows(
        factory,
        tenant,
        [
            {
                "operation": "updatePatient",
                "entity_type": "patient",
                "entity_id": patient,
                "created_at": datetime.now(UTC),  # a row without a key, after the others
            }
        ],
    )
    auditor = client_for(await factory.key(tenant, scopes=AUDIT_SCOPES))

    conn = await events(auditor)

    assert [e["node"]["apiKeyName"] for e in conn["edges"]] == ["test", None, None]


# --- pages ---


async def given_rows(factory: Factory, client_for: Any, n: int) -> tuple[GraphQLClient, list[int]]:
    """`n` audit rows, two of each instant (ties broken by id); their ids in list order."""
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    ids = await audit_rows(
        factory,
        tenant,
        [
            {
                "operation": "updatePatient",
                "entity_type": "patient",
                "entity_id": patient,
                "created_at": BASE_TIME + timedelta(minutes=i // 2),
            }
            for i in range(n)
        ],
    )
    return client_for(await factory.key(tenant, scopes=AUDIT_SCOPES)), ids


async def walk(client: GraphQLClient, size: int, *, forward: bool, **args: Any) -> list[int]:
    """Every row's id, page by page, in list order (a backward walk put back in order)."""
    pages = []
    cursor = None
    while True:
        if forward:
            conn = await events(client, first=size, after=cursor, **args)
        else:
            conn = await events(client, last=size, before=cursor, **args)
        pages.append(ids_of(conn))
        info = conn["pageInfo"]
        assert len(pages[-1]) <= size
        if not (info["hasNextPage"] if forward else info["hasPreviousPage"]):
            break
        cursor = info["endCursor"] if forward else info["startCursor"]
    ordered = pages if forward else pages[::-1]
    return [i for page in ordered for i in page]


@pytest.mark.parametrize(
    "order",
    [
        None,
        [{"field": "OCCURRED_AT", "direction": "ASC"}],
        [{"field": "OCCURRED_AT", "direction": "DESC"}],
        [{"field": "ID", "direction": "DESC"}],
    ],
    ids=["default", "asc", "desc", "id-desc"],
)
async def test_walking_either_way_visits_every_row_once_in_order(factory, client_for, order):
    client, ids = await given_rows(factory, client_for, 7)
    expected = ids[::-1] if order and order[0]["direction"] == "DESC" else ids

    assert await walk(client, 3, forward=True, orderBy=order) == expected
    assert await walk(client, 3, forward=False, orderBy=order) == expected
    assert ids_of(await events(client, orderBy=order)) == expected


async def test_a_page_knows_its_place_and_its_total(factory, client_for):
    client, ids = await given_rows(factory, client_for, 5)
    first = await events(client, first=2)

    middle = await events(client, first=2, after=first["pageInfo"]["endCursor"])
    before = await events(client, last=1, before=middle["pageInfo"]["startCursor"])

    assert ids_of(middle) == ids[2:4]
    assert middle["pageInfo"]["hasNextPage"] and middle["pageInfo"]["hasPreviousPage"]
    assert middle["totalCount"] == 5
    assert ids_of(before) == ids[1:2]
    assert [e["cursor"] for e in first["edges"]][-1] == first["pageInfo"]["endCursor"]


async def test_a_cursor_from_another_ordering_filter_or_list_is_refused(factory, client_for):
    client, _ = await given_rows(factory, client_for, 3)
    cursor = (await events(client, first=1))["pageInfo"]["endCursor"]
    practitioners = await client.query("{ practitioners { pageInfo { endCursor } } }")

    by_id = [{"field": "ID"}]
    assert await bad_input(client, LIST, {"after": cursor, "orderBy": by_id}) == [FOREIGN]
    assert await bad_input(
        client, LIST, {"after": cursor, "filter": {"operation": {"eq": "updatePatient"}}}
    ) == [FOREIGN]
    foreign = practitioners["practitioners"]["pageInfo"]["endCursor"]
    assert await bad_input(client, LIST, {"after": foreign}) == [FOREIGN]
    assert await bad_input(client, LIST, {"after": "not-a-cursor"}) == [
        '"not-a-cursor" is not a valid cursor.'
    ]
    spelled_out = [{"field": "OCCURRED_AT", "direction": "ASC"}, {"field": "ID"}]
    assert len((await events(client, after=cursor, orderBy=spelled_out))["edges"]) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"first": 101}, "`first` must be at most 100 (got 101)."),
        ({"last": -1}, "`last` must not be negative (got -1)."),
        ({"first": 1, "last": 1}, "Pass either `first` or `last`, not both."),
    ],
)
async def test_bad_page_sizes_are_clear_errors(factory, client_for, args, message):
    client, _ = await given_rows(factory, client_for, 1)

    assert await bad_input(client, LIST, args) == [message]


async def test_the_default_page_is_50_rows(factory, client_for):
    client, ids = await given_rows(factory, client_for, 51)

    conn = await events(client)

    assert ids_of(conn) == ids[:50]
    assert conn["pageInfo"]["hasNextPage"]


# --- filters ---


async def test_filters_by_entity_kind_operation_and_time(factory, client_for):
    trail = await trail_through_api(factory, client_for)
    attendee, patient = trail.ids["Attendee"], trail.ids["Patient"]
    at = [r[2] for r in trail.rows]
    client = trail.auditor
    everything = await events(client)
    times = [e["node"]["occurredAt"] for e in everything["edges"]]

    async def matching(flt: dict[str, Any]) -> list[tuple[str, str, str]]:
        conn = await events(client, filter=flt)
        assert conn["totalCount"] == len(conn["edges"])
        return rows_of(conn)

    assert await matching({"entityId": {"eq": gid("Attendee", int(attendee))}}) == trail.rows[4:]
    # a database id matches every kind of object with that id
    assert await matching({"entityId": {"eq": attendee}}) == [
        r for r in trail.rows if from_global_id(r[2])[1] == int(attendee)
    ]
    assert await matching({"entityId": {"in": [gid("Patient", int(patient)), at[3]]}}) == [
        trail.rows[0],
        trail.rows[3],
    ]
    assert await matching({"entityType": "ATTENDEE"}) == trail.rows[4:]
    assert await matching({"entityType": "APPOINTMENT_TYPE"}) == [trail.rows[2]]
    assert await matching({"operation": {"eq": "cancelAttendee"}}) == [trail.rows[5]]
    assert await matching({"operation": {"in": ["createPatient", "createAttendee", "nope"]}}) == [
        trail.rows[0],
        trail.rows[4],
    ]
    assert await matching({"operation": {"eq": "createattendee"}}) == []
    assert await matching({"occurredAt": {"gte": times[2], "lt": times[4]}}) == trail.rows[2:4]
    assert await matching({"occurredAt": {"gt": times[5]}}) == []
    assert (
        await matching({"entityType": "ATTENDEE", "operation": {"eq": "createAttendee"}})
        == trail.rows[4:5]
    )
    assert await matching({"entityId": {"in": []}}) == []


async def test_a_global_id_matches_its_own_kind_and_a_database_id_any_kind(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    same_number = [
        {"operation": "createPatient", "entity_type": "patient", "entity_id": patient},
        {"operation": "createAttendee", "entity_type": "attendee", "entity_id": patient},
        {"operation": "createGroupAppointment", "entity_type": "booking", "entity_id": patient},
    ]
    ids = await audit_rows(factory, tenant, same_number)
    client = client_for(await factory.key(tenant, scopes=AUDIT_SCOPES))

    async def matching(value: str) -> list[int]:
        return ids_of(await events(client, filter={"entityId": {"eq": value}}))

    assert await matching(gid("Patient", patient)) == ids[:1]
    assert await matching(gid("Attendee", patient)) == ids[1:2]
    assert await matching(gid("IndividualAppointment", patient)) == ids[2:]
    assert await matching(str(patient)) == ids


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        (
            {"entityId": {"eq": gid("PatientCase", 1)}},
            f'filter.entityId: "{gid("PatientCase", 1)}" is a global id of type PatientCase; '
            "expected the id of an AppointmentType or Attendee or GroupAppointment or "
            "IndividualAppointment or Patient or Practitioner.",
        ),
        ({"entityId": {"in": ["x!"]}}, 'filter.entityId: "x!" is not a valid global id.'),
        ({"operation": {"eq": "a\x00"}}, "filter.operation must not contain NUL characters."),
    ],
    ids=["wrong-type", "malformed", "nul"],
)
async def test_a_bad_filter_value_is_a_clear_error(factory, client_for, flt, message):
    client, _ = await given_rows(factory, client_for, 1)

    assert await bad_input(client, LIST, {"filter": flt}) == [message]


@pytest.mark.parametrize("field", ["entityId", "operation"])
async def test_in_lists_are_bounded_at_100(factory, client_for, field):
    client, _ = await given_rows(factory, client_for, 1)

    assert await bad_input(client, LIST, {"filter": {field: {"in": ["1"] * 101}}}) == [
        f"filter.{field}: at most 100 values are allowed in `in`."
    ]
    assert (await events(client, filter={field: {"in": ["1"] * 100}}))["totalCount"] == 0


# --- tenancy ---


async def test_another_accounts_rows_and_ids_never_show(factory, client_for):
    mine = await trail_through_api(factory, client_for)
    theirs = await trail_through_api(factory, client_for)

    conn = await events(mine.auditor)

    assert rows_of(conn) == mine.rows
    assert conn["totalCount"] == len(mine.rows)
    for *_, global_id in theirs.rows:
        assert (await events(mine.auditor, filter={"entityId": {"eq": global_id}}))["edges"] == []
    database_id = theirs.ids["Patient"]
    assert (
        await events(
            mine.auditor, filter={"entityId": {"eq": database_id}, "entityType": "PATIENT"}
        )
    )["totalCount"] == 0


async def test_an_entity_of_another_account_is_null(factory, client_for):
    """A row can only point at its own account's objects; should one not, it shows nothing."""
    tenant, other = await factory.account(), await factory.account("Other Clinic")
    foreign = await factory.patient(other, first_name="Secret")
    await audit_rows(
        factory,
        tenant,
        [{"operation": "updatePatient", "entity_type": "patient", "entity_id": foreign}],
    )
    client = client_for(await factory.key(tenant, scopes=AUDIT_SCOPES))

    data = await client.query(ENTITIES, {})

    assert data["auditEvents"]["nodes"] == [{"operation": "updatePatient", "entity": None}]


# --- executions and statements ---


async def test_both_executions_answer_byte_identically(factory, apps, client_for):
    """Whichever app made the trail, the two apps answer the same bytes."""
    trail = await trail_through_api(factory, client_for)
    key = await factory.key(trail.tenant, scopes=AUDIT_SCOPES)
    bodies = []
    for app in apps.values():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            response = await client.post(
                "/graphql", json={"query": MIXED}, headers={"Authorization": f"Bearer {key}"}
            )
            assert response.status_code == 200
            bodies.append(response.content)

    assert bodies[0] == bodies[1]
    assert b'"errors"' not in bodies[0]
    assert b"createAttendee" in bodies[0] and b"startsAt" in bodies[0]


# 9 statements for any page size: the API-key lookup, the page, the count, one statement
# per entity table (attendee, booking, patient, practitioner, appointment_type) and one
# for the key names. The planned path hands the document to the ordinary executor.
STATEMENTS = 9


async def test_a_page_runs_the_same_statements_for_any_size(factory, client_for):
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    booking = await factory.group(tenant)
    attendee = await factory.attendee(tenant, booking, patient)
    await factory.key(tenant, name="second")
    keys = [None, *await key_ids(factory, tenant)]
    entities = [
        ("attendee", attendee),
        ("booking", booking),
        ("patient", patient),
        ("practitioner", tenant.practitioner_id),
        ("appointment_type", tenant.appointment_type_id),
    ]
    await audit_rows(
        factory,
        tenant,
        [
            {
                "operation": "update",
                "entity_type": entities[i % 5][0],
                "entity_id": entities[i % 5][1],
                "api_key_id": keys[i % len(keys)],
            }
            for i in range(60)
        ],
    )
    client = client_for(await factory.key(tenant, scopes=AUDIT_SCOPES))

    counts = []
    for n in (5, 60):
        data = await client.query(WITH_ENTITIES, {"n": n})
        counts.append(client.last_statements)
        nodes = data["auditEvents"]["nodes"]
        assert len(nodes) == n
        assert all(node["entity"] is not None for node in nodes)
        assert {node["apiKeyName"] for node in nodes} == {None, "test", "second"}

    assert counts == [STATEMENTS, STATEMENTS]


async def key_ids(factory: Factory, tenant: Tenant) -> list[int]:
    """The ids of the tenant's API keys."""
    async with factory.db.read.connect() as conn:
        found = await conn.execute(
            sa.select(T["api_key"].c.id)
            .where(T["api_key"].c.account_id == tenant.id)
            .order_by(T["api_key"].c.id)
        )
        return list(found.scalars())
