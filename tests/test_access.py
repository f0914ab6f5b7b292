"""Authentication (401 without a valid key, GraphiQL without one) and account isolation."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.factories import BASE_TIME, Factory, T, Tenant, gid

TYPENAME = "{ __typename }"
ATTENDEE_IDS = "query { attendees { nodes { id } } }"
MISSING = 2**62

NODE = "query($id: ID!) { node(id: $id) { id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
LOOKUP = "query($id: ID!) {{ item: {field}(id: $id) {{ id }} }}"
FILTERED = """
query($id: ID!) {{
  eq: {root}(filter: {{ {field}: {{ eq: $id }} {flags} }}) {{ totalCount nodes {{ id }} }}
  in: {root}(filter: {{ {field}: {{ in: [$id] }} {flags} }}) {{ totalCount nodes {{ id }} }}
}}
"""
NESTED_CASES = """
query($patient: ID!, $id: ID!) {
  patient(id: $patient) {
    patientCases(filter: { databaseId: { eq: $id }, includeArchived: true }) { totalCount nodes { id } }
  }
}
"""

EVERYTHING = """
query {
  attendees(filter: { includeArchived: true, includeCancelled: true, includeDeleted: true }) {
    totalCount nodes { id booking { id } patient { id } patientCase { id } }
  }
  bookings(filter: { includeArchived: true, includeCancelled: true, includeDeleted: true }) {
    totalCount
    nodes {
      id appointmentType { id } practitioner { id } repeatedFrom { id }
      repeats(first: 10) { totalCount nodes { id } }
      attendees(first: 10, filter: { includeArchived: true, includeCancelled: true, includeDeleted: true }) {
        totalCount nodes { id patient { id } }
      }
      ... on IndividualAppointment { patient { id } patientCase { id } }
    }
  }
  patients(filter: { includeArchived: true, includeDeleted: true }) {
    totalCount
    nodes {
      id
      attendees(first: 10, filter: { includeArchived: true, includeCancelled: true, includeDeleted: true }) {
        totalCount nodes { id booking { id } }
      }
      patientCases(first: 10, filter: { includeArchived: true }) {
        totalCount nodes { id patient { id } attendees(first: 10) { totalCount nodes { id } } }
      }
    }
  }
  appointmentTypes(filter: { includeArchived: true }) { totalCount nodes { id } }
  practitioners(filter: { includeArchived: true }) { totalCount nodes { id } }
}
"""

ALL_ATTENDEES = "includeArchived: true, includeCancelled: true, includeDeleted: true"
ALL_PATIENTS = "includeArchived: true, includeDeleted: true"
ALL_CATALOG = "includeArchived: true"
# (root list, filter field, the type of id it takes, flags that show every row)
FILTER_CASES = [
    ("attendees", "databaseId", "Attendee", ALL_ATTENDEES),
    ("attendees", "bookingId", "GroupAppointment", ALL_ATTENDEES),
    ("attendees", "patientId", "Patient", ALL_ATTENDEES),
    ("attendees", "patientCaseId", "PatientCase", ALL_ATTENDEES),
    ("bookings", "databaseId", "GroupAppointment", ALL_ATTENDEES),
    ("bookings", "practitionerId", "Practitioner", ALL_ATTENDEES),
    ("bookings", "appointmentTypeId", "AppointmentType", ALL_ATTENDEES),
    ("bookings", "patientId", "Patient", ALL_ATTENDEES),
    ("bookings", "repeatedFromId", "GroupAppointment", ALL_ATTENDEES),
    ("patients", "databaseId", "Patient", ALL_PATIENTS),
    ("appointmentTypes", "databaseId", "AppointmentType", ALL_CATALOG),
    ("practitioners", "databaseId", "Practitioner", ALL_CATALOG),
]
LOOKUP_CASES = [
    ("attendee", "Attendee"),
    ("booking", "GroupAppointment"),
    ("booking", "IndividualAppointment"),
    ("patient", "Patient"),
    ("patientCase", "PatientCase"),
    ("appointmentType", "AppointmentType"),
    ("practitioner", "Practitioner"),
]


def basic(username: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# --- authentication, in-process and over a real HTTP server ---------------------------


@pytest.fixture(params=["in-process", "live-server"])
async def http(request: pytest.FixtureRequest, app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for the app: through ASGI, or to a real uvicorn process."""
    if request.param == "in-process":
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    else:
        client = httpx.AsyncClient(base_url=request.getfixturevalue("live_server"))
    async with client:
        yield client


async def post(http: httpx.AsyncClient, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return await http.post("/graphql", json={"query": TYPENAME}, headers=headers)


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"]
    assert "Bearer" in response.headers.get("www-authenticate", "")


async def test_no_authorization_header_is_401_without_data(http):
    assert_unauthorized(await post(http, None))


async def test_a_wrong_key_is_401(http, factory):
    tenant = await factory.account()

    assert_unauthorized(await post(http, "Bearer agw_not-a-real-key"))
    assert_unauthorized(await post(http, "Bearer " + tenant.key[:-1]))
    assert_unauthorized(await post(http, basic("agw_not-a-real-key")))


async def test_a_bearer_key_works(http, factory):
    tenant = await factory.account()

    response = await post(http, f"Bearer {tenant.key}")

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_basic_with_the_key_as_username_and_empty_password_works(http, factory):
    tenant = await factory.account()

    response = await post(http, basic(tenant.key))

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_malformed_authorization_is_401(http, factory):
    tenant = await factory.account()
    malformed = [
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"\xff\xfe:").decode(),
        basic(""),
        "Bearer",
        f"Token {tenant.key}",
        tenant.key,
    ]

    for value in malformed:
        assert_unauthorized(await post(http, value))


async def test_browser_get_serves_graphiql_without_a_key(http):
    response = await http.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_get_query_without_a_key_is_401(http):
    response = await http.get(
        "/graphql", params={"query": TYPENAME}, headers={"Accept": "text/html"}
    )

    assert_unauthorized(response)


async def test_get_query_with_a_key_works(http, factory):
    tenant = await factory.account()

    response = await http.get(
        "/graphql", params={"query": TYPENAME}, headers={"Authorization": f"Bearer {tenant.key}"}
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


# --- tenancy ------------------------------------------------------------------------


@dataclass
class Clinic:
    """An account with a row of every type; `ids` maps each type name to its row ids."""

    tenant: Tenant
    ids: dict[str, list[int]]

    def one(self, type_name: str) -> int:
        return self.ids[type_name][0]

    def global_ids(self) -> set[str]:
        return {gid(t, i) for t, ids in self.ids.items() for i in ids}


async def make_clinic(factory: Factory) -> Clinic:
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    archived_patient = await factory.patient(tenant, archived_at=BASE_TIME)
    case = await factory.patient_case(tenant, patient)
    group = await factory.group(
        tenant, repeat_type="Weekly", number_of_repeats=1, repeating_interval=1
    )
    repeat = await factory.group(tenant, repeated_from_id=group)
    individual = await factory.individual(tenant, patient, patient_case_id=case)
    await factory.attendee(tenant, group, patient, patient_case_id=case)
    await factory.attendee(
        tenant, repeat, archived_patient, cancelled_at=BASE_TIME, cancellation_reason=50
    )
    return Clinic(
        tenant,
        {
            "Attendee": await attendee_ids(factory, tenant),
            "GroupAppointment": [group, repeat],
            "IndividualAppointment": [individual],
            "Patient": [patient, archived_patient],
            "PatientCase": [case],
            "AppointmentType": [tenant.appointment_type_id],
            "Practitioner": [tenant.practitioner_id],
        },
    )


async def attendee_ids(factory: Factory, tenant: Tenant) -> list[int]:
    """The account's attendees, read from the database (the ground truth)."""
    attendee = T["attendee"]
    async with factory.db.read.connect() as conn:
        result = await conn.execute(
            sa.select(attendee.c.id)
            .where(attendee.c.account_id == tenant.id)
            .order_by(attendee.c.id)
        )
        return list(result.scalars())


@pytest.fixture
async def clinics(factory: Factory) -> tuple[Clinic, Clinic]:
    """Two accounts, A and B, each with a row of every type."""
    return await make_clinic(factory), await make_clinic(factory)


async def body(client: Any, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post(query, variables)
    assert response.status_code == 200
    return response.json()


async def assert_foreign_like_missing(
    client: Any, query: str, variables: dict[str, Any], missing: dict[str, Any]
) -> Any:
    """B's whole answer for A's ids is exactly its answer for ids that do not exist."""
    foreign = await body(client, query, variables)
    assert "errors" not in foreign, foreign
    assert foreign == await body(client, query, missing), (query, variables)
    return foreign


def id_pairs(type_name: str, database_id: int) -> list[tuple[str, str]]:
    """(the id, a missing id of the same type), as global ids and as database ids."""
    return [
        (gid(type_name, database_id), gid(type_name, MISSING)),
        (str(database_id), str(MISSING)),
    ]


async def test_node_and_nodes_treat_another_accounts_ids_as_missing(clinics, client_for):
    a, b = clinics
    client = client_for(b.tenant.key)
    foreign = sorted(a.global_ids())
    missing = [gid(type_of(value), MISSING) for value in foreign]

    for value, absent in zip(foreign, missing, strict=True):
        found = await assert_foreign_like_missing(client, NODE, {"id": value}, {"id": absent})
        assert found == {"data": {"node": None}}
    found = await assert_foreign_like_missing(client, NODES, {"ids": foreign}, {"ids": missing})
    assert found == {"data": {"nodes": [None] * len(foreign)}}


async def test_typed_lookups_treat_another_accounts_ids_as_missing(clinics, client_for):
    a, b = clinics
    client = client_for(b.tenant.key)

    for field, type_name in LOOKUP_CASES:
        query = LOOKUP.format(field=field)
        for value, missing in id_pairs(type_name, a.one(type_name)):
            found = await assert_foreign_like_missing(client, query, {"id": value}, {"id": missing})
            assert found == {"data": {"item": None}}


async def test_id_filters_treat_another_accounts_ids_as_missing(clinics, client_for):
    a, b = clinics
    owner, other = client_for(a.tenant.key), client_for(b.tenant.key)
    empty = {"totalCount": 0, "nodes": []}

    for root, field, type_name, flags in FILTER_CASES:
        query = FILTERED.format(root=root, field=field, flags=flags)
        own = await owner.query(query, {"id": gid(type_name, a.one(type_name))})
        assert own["eq"]["totalCount"] > 0, (root, field)  # the filter does find A's rows for A
        for value, missing in id_pairs(type_name, a.one(type_name)):
            found = await assert_foreign_like_missing(other, query, {"id": value}, {"id": missing})
            assert found == {"data": {"eq": empty, "in": empty}}, (root, field)


async def test_nested_filter_treats_another_accounts_ids_as_missing(clinics, client_for):
    a, b = clinics
    client = client_for(b.tenant.key)
    own_patient = gid("Patient", b.one("Patient"))

    for value, missing in id_pairs("PatientCase", a.one("PatientCase")):
        found = await assert_foreign_like_missing(
            client,
            NESTED_CASES,
            {"patient": own_patient, "id": value},
            {"patient": own_patient, "id": missing},
        )
        assert found["data"]["patient"]["patientCases"] == {"totalCount": 0, "nodes": []}


async def test_lists_and_nested_lists_show_only_the_callers_rows(clinics, client_for):
    a, b = clinics

    for clinic, other in ((a, b), (b, a)):
        data = await client_for(clinic.tenant.key).query(EVERYTHING)

        seen = ids_in(data)
        assert seen == clinic.global_ids()
        assert not seen & other.global_ids()
        assert data["attendees"]["totalCount"] == len(clinic.ids["Attendee"])
        assert data["bookings"]["totalCount"] == 3
        assert data["patients"]["totalCount"] == 2
        assert data["appointmentTypes"]["totalCount"] == 1
        assert data["practitioners"]["totalCount"] == 1


def ids_in(data: object) -> set[str]:
    """Every `id` value anywhere in a response."""
    return set(re.findall(r'"id":"([^"]+)"', json.dumps(data, separators=(",", ":"))))


def type_of(global_id: str) -> str:
    return base64.b64decode(global_id).decode().partition(":")[0]
