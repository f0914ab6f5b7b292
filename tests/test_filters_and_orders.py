"""Every filter, include flag and sort order of the root lists.

Expected orders are computed in Python from the rows' sort values, with the id breaking
ties in the direction of the last sort key (the contract's rule), so that a DESC list is
exactly the reverse of its ASC list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.factories import gid

LIST = """
query (
  $filter: {filter}, $orderBy: [{order}!],
  $first: Int, $after: String, $last: Int, $before: String
) {{
  {field}(filter: $filter, orderBy: $orderBy, first: $first, after: $after,
          last: $last, before: $before) {{
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    nodes {{ databaseId }}
  }}
}}
"""
QUERIES = {
    field: LIST.format(field=field, filter=filter_type, order=order_type)
    for field, filter_type, order_type in [
        ("attendees", "AttendeeFilter", "AttendeeOrder"),
        ("bookings", "BookingFilter", "BookingOrder"),
        ("patients", "PatientFilter", "PatientOrder"),
        ("appointmentTypes", "CatalogFilter", "AppointmentTypeOrder"),
        ("practitioners", "CatalogFilter", "PractitionerOrder"),
    ]
}
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """A timestamp `minutes` after T0, with a fraction (precision matters at the bounds)."""
    return T0 + timedelta(minutes=minutes, microseconds=250_000)


def iso(minutes: float) -> str:
    return at(minutes).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def order(*keys: str) -> list[dict[str, str]]:
    """`order("UPDATED_AT DESC", "CREATED_AT")` as an orderBy value."""
    return [dict(zip(("field", "direction"), (*k.split(), "ASC")[:2], strict=True)) for k in keys]


def expected_order(rows: list[dict[str, int]], order_by: list[dict[str, str]]) -> list[int]:
    """Row ids sorted by the keys, ties broken by id in the last key's direction."""
    sign = {"ASC": 1, "DESC": -1}
    keys = [(o["field"], sign[o["direction"]]) for o in order_by] + [
        ("ID", sign[order_by[-1]["direction"]])
    ]
    return [r["ID"] for r in sorted(rows, key=lambda r: [r[f] * s for f, s in keys])]


@dataclass
class Lists:
    """Reads the root lists of one account, as lists of database ids."""

    client: Any

    async def page(self, field: str, **args: Any) -> dict[str, Any]:
        return (await self.client.query(QUERIES[field], args))[field]  # type: ignore[no-any-return]

    async def ids(self, field: str = "attendees", **args: Any) -> list[int]:
        page = await self.page(field, **{"first": 100, **args})
        return [int(n["databaseId"]) for n in page["nodes"]]

    async def errors(self, field: str = "attendees", **args: Any) -> list[str]:
        return await self.client.errors(QUERIES[field], args)  # type: ignore[no-any-return]

    async def walk(self, field: str, forward: bool, **args: Any) -> list[int]:
        """Every id of the list, fetched two at a time forward (`after`) or backward."""
        size, cursor, more_key = (
            ("first", "after", "hasNextPage") if forward else ("last", "before", "hasPreviousPage")
        )
        pages: list[list[int]] = []
        page = await self.page(field, **{size: 2}, **args)
        while True:
            ids = [int(n["databaseId"]) for n in page["nodes"]]
            pages.insert(len(pages) if forward else 0, ids)
            if not page["pageInfo"][more_key]:
                return [i for p in pages for i in p]
            end = page["pageInfo"]["endCursor" if forward else "startCursor"]
            page = await self.page(field, **{size: 2, cursor: end}, **args)


async def given_lists(factory, client_for):
    tenant = await factory.account()
    return tenant, Lists(client_for(tenant.key))


async def add_attendee(factory, tenant, booking: int, **values: Any) -> int:
    """An attendee of `booking` for a new patient (a patient attends a booking once)."""
    return await factory.attendee(tenant, booking, await factory.patient(tenant), **values)


# --- attendees: id filters ---

ID_FILTERS = {
    # filter: (type of its ids, eq target, eq matches, in targets, in matches)
    "bookingId": ("GroupAppointment", "b1", ["a1", "a2"], ["b1", "b2"], ["a1", "a2", "a3"]),
    "patientId": ("Patient", "p1", ["a1", "a3"], ["p1", "p2"], ["a1", "a2", "a3"]),
    "patientCaseId": ("PatientCase", "c1", ["a1"], ["c1", "c2"], ["a1", "a2"]),
    "databaseId": ("Attendee", "a2", ["a2"], ["a2", "a4"], ["a2", "a4"]),
}


async def given_links(factory, tenant) -> dict[str, int]:
    """a1 = (b1, p1, c1), a2 = (b1, p2, c2), a3 = (b2, p1), a4 = (b3, p3)."""
    w: dict[str, int] = {}
    for name in ("p1", "p2", "p3"):
        w[name] = await factory.patient(tenant)
    for n in ("1", "2"):
        w["c" + n] = await factory.patient_case(tenant, w["p" + n])
    for name in ("b1", "b2", "b3"):
        w[name] = await factory.group(tenant)
    for name, (b, p, c) in {
        "a1": ("b1", "p1", "c1"),
        "a2": ("b1", "p2", "c2"),
        "a3": ("b2", "p1", None),
        "a4": ("b3", "p3", None),
    }.items():
        w[name] = await factory.attendee(tenant, w[b], w[p], patient_case_id=w.get(c or ""))
    return w


@pytest.mark.parametrize("name", ID_FILTERS)
@pytest.mark.parametrize("form", ["global", "database"])
async def test_id_filters_match_with_eq_and_in(factory, client_for, name, form):
    tenant, lists = await given_lists(factory, client_for)
    w = await given_links(factory, tenant)
    type_name, eq, eq_matches, in_targets, in_matches = ID_FILTERS[name]

    def ref(key: str) -> str:
        return gid(type_name, w[key]) if form == "global" else str(w[key])

    by_eq = await lists.ids(filter={name: {"eq": ref(eq)}})
    by_in = await lists.ids(filter={name: {"in": [ref(k) for k in in_targets]}})
    by_both = await lists.ids(filter={name: {"eq": ref(eq), "in": [ref(k) for k in in_targets]}})

    assert by_eq == [w[k] for k in eq_matches]
    assert by_in == [w[k] for k in in_matches]
    assert by_both == by_eq
    assert await lists.ids(filter={name: {"in": []}}) == []
    assert await lists.ids(filter={name: {"eq": "999999999"}}) == []


async def test_a_booking_filter_takes_either_kind_of_booking_id(factory, client_for):
    tenant, lists = await given_lists(factory, client_for)
    patient = await factory.patient(tenant)
    individual = await factory.individual(tenant, patient)

    found = await lists.ids(filter={"bookingId": {"eq": gid("IndividualAppointment", individual)}})

    assert found == await lists.ids(filter={"patientId": {"eq": str(patient)}})
    assert len(found) == 1


WRONG_IDS = [
    (
        "attendees",
        {"bookingId": {"eq": gid("Patient", 7)}},
        f'filter.bookingId: "{gid("Patient", 7)}" is a global id of type Patient; '
        "expected the id of a GroupAppointment or IndividualAppointment.",
    ),
    (
        "attendees",
        {"patientId": {"in": ["7", gid("GroupAppointment", 7)]}},
        f'filter.patientId: "{gid("GroupAppointment", 7)}" is a global id of type '
        "GroupAppointment; expected the id of a Patient.",
    ),
    (
        "attendees",
        {"databaseId": {"eq": "not-an-id"}},
        'filter.databaseId: "not-an-id" is not a valid global id.',
    ),
    (
        "bookings",
        {"practitionerId": {"eq": gid("AppointmentType", 7)}},
        f'filter.practitionerId: "{gid("AppointmentType", 7)}" is a global id of type '
        "AppointmentType; expected the id of a Practitioner.",
    ),
    (
        "attendees",
        {"patientId": {"in": [str(i) for i in range(1, 102)]}},
        "filter.patientId: at most 100 values are allowed in `in`.",
    ),
    (
        "bookings",
        {"databaseId": {"in": [str(i) for i in range(1, 102)]}},
        "filter.databaseId: at most 100 values are allowed in `in`.",
    ),
]


@pytest.mark.parametrize(("field", "flt", "message"), WRONG_IDS)
async def test_a_wrong_id_in_a_filter_is_a_clear_error(factory, client_for, field, flt, message):
    _, lists = await given_lists(factory, client_for)

    assert await lists.errors(field, filter=flt) == [message]


async def test_in_takes_up_to_100_ids(factory, client_for):
    tenant, lists = await given_lists(factory, client_for)
    patient = await factory.patient(tenant)
    attendee = await factory.attendee(tenant, await factory.group(tenant), patient)

    found = await lists.ids(
        filter={"patientId": {"in": [str(i) for i in range(1, 100)] + [str(patient)]}}
    )

    assert attendee in found


# --- attendees: arrived and timestamps ---


async def test_arrived_matches_only_recorded_values(factory, client_for):
    tenant, lists = await given_lists(factory, client_for)
    booking = await factory.group(tenant)
    came, missed, unknown = [
        await add_attendee(factory, tenant, booking, arrived=v) for v in (True, False, None)
    ]

    assert await lists.ids(filter={"arrived": True}) == [came]
    assert await lists.ids(filter={"arrived": False}) == [missed]
    assert await lists.ids(filter={"arrived": None}) == [came, missed, unknown]


RANGES = [
    ({"gt": 1}, [2, 3]),
    ({"gte": 1}, [1, 2, 3]),
    ({"lt": 2}, [0, 1]),
    ({"lte": 2}, [0, 1, 2]),
    ({"gte": 1, "lt": 3}, [1, 2]),
    ({"gt": 3}, []),
    ({"isNull": False}, [0, 1, 2, 3]),
    ({"isNull": True}, []),
]


def range_filter(condition: dict[str, Any], offset: float) -> dict[str, Any]:
    """A DateTimeFilter with minute bounds turned into timestamps."""
    return {op: v if op == "isNull" else iso(v + offset) for op, v in condition.items()}


@pytest.mark.parametrize(("condition", "matches"), RANGES, ids=str)
@pytest.mark.parametrize(("name", "offset"), [("createdAt", 0), ("updatedAt", 10)])
async def test_created_and_updated_ranges(factory, client_for, condition, matches, name, offset):
    tenant, lists = await given_lists(factory, client_for)
    booking = await factory.group(tenant)
    rows = [
        await add_attendee(factory, tenant, booking, created_at=at(i), updated_at=at(10 + i))
        for i in range(4)
    ]

    found = await lists.ids(filter={name: range_filter(condition, offset)})

    assert found == [rows[i] for i in matches]


STATES = {
    "archivedAt": {"archived_at": True},
    "cancelledAt": {"cancelled_at": True, "cancellation_reason": 50},
    "deletedAt": {"deleted_at": True},
}


def stamped(state: str, minutes: float) -> dict[str, Any]:
    """Column values that put an attendee in `state` (a filter name) at `minutes`."""
    return {k: at(minutes) if v is True else v for k, v in STATES[state].items()}


@pytest.mark.parametrize("state", STATES)
async def test_a_state_stamp_filter_brings_back_the_rows_it_matches(factory, client_for, state):
    tenant, lists = await given_lists(factory, client_for)
    booking = await factory.group(tenant)
    active = await add_attendee(factory, tenant, booking)
    early, late = [
        await add_attendee(factory, tenant, booking, **stamped(state, m)) for m in (1, 2)
    ]

    assert await lists.ids() == [active]
    assert await lists.ids(filter={state: {"isNull": False}}) == [early, late]
    assert await lists.ids(filter={state: {"gt": iso(1)}}) == [late]
    assert await lists.ids(filter={state: {"lte": iso(1)}}) == [early]
    assert await lists.ids(filter={state: {"isNull": True}}) == [active]


# --- attendees: what a list hides ---

VISIBILITY = [
    ({}, ["active"]),
    ({"includeArchived": True}, ["active", "archived"]),
    ({"includeCancelled": True}, ["active", "cancelled"]),
    ({"includeDeleted": True}, ["active", "deleted"]),
    (
        {"includeArchived": True, "includeCancelled": True},
        ["active", "archived", "cancelled", "both"],
    ),
    (
        {"includeArchived": True, "includeCancelled": True, "includeDeleted": True},
        ["active", "archived", "cancelled", "deleted", "both"],
    ),
    ({"archivedAt": {"isNull": False}}, ["archived"]),
    ({"archivedAt": {"isNull": False}, "includeCancelled": True}, ["archived", "both"]),
    ({"cancelledAt": {"lt": iso(9)}, "includeArchived": True}, ["cancelled", "both"]),
]
IN_EVERY_STATE = {
    "active": [],
    "archived": ["archivedAt"],
    "cancelled": ["cancelledAt"],
    "deleted": ["deletedAt"],
    "both": ["cancelledAt", "archivedAt"],
}


@pytest.mark.parametrize(("flt", "visible"), VISIBILITY, ids=str)
async def test_each_include_flag_lifts_only_its_own_condition(factory, client_for, flt, visible):
    tenant, lists = await given_lists(factory, client_for)
    booking = await factory.group(tenant)
    rows = {}
    for name, states in IN_EVERY_STATE.items():
        values = {k: v for s in states for k, v in stamped(s, 1).items()}
        rows[name] = await add_attendee(factory, tenant, booking, **values)

    assert await lists.ids(filter=flt) == [rows[name] for name in visible]


# --- attendees: orders ---

ATTENDEE_ORDERS = [
    order("CREATED_AT"),
    order("CREATED_AT DESC"),
    order("UPDATED_AT"),
    order("UPDATED_AT DESC"),
    order("ID"),
    order("ID DESC"),
    order("UPDATED_AT DESC", "CREATED_AT"),
    order("UPDATED_AT", "CREATED_AT DESC"),
]
# created/updated minutes of six attendees, with ties on both columns
CREATED = [3, 1, 1, 0, 2, 3]
UPDATED = [5, 5, 2, 2, 9, 5]


async def given_sortable_attendees(factory, client_for) -> tuple[Lists, list[dict[str, int]]]:
    tenant, lists = await given_lists(factory, client_for)
    booking = await factory.group(tenant)
    rows = []
    for created, updated in zip(CREATED, UPDATED, strict=True):
        row_id = await add_attendee(
            factory, tenant, booking, created_at=at(created), updated_at=at(updated)
        )
        rows.append({"ID": row_id, "CREATED_AT": created, "UPDATED_AT": updated})
    return lists, rows


def order_id(order_by: list[dict[str, str]]) -> str:
    return ",".join(f"{o['field']} {o['direction']}" for o in order_by)


@pytest.mark.parametrize("order_by", ATTENDEE_ORDERS, ids=order_id)
async def test_attendee_orders_and_paging_agree(factory, client_for, order_by):
    lists, rows = await given_sortable_attendees(factory, client_for)
    expected = expected_order(rows, order_by)

    assert await lists.ids(orderBy=order_by) == expected
    assert await lists.walk("attendees", forward=True, orderBy=order_by) == expected
    assert await lists.walk("attendees", forward=False, orderBy=order_by) == expected


@pytest.mark.parametrize(
    ("ascending", "descending"),
    [(ATTENDEE_ORDERS[i], ATTENDEE_ORDERS[i + 1]) for i in range(0, len(ATTENDEE_ORDERS), 2)],
    ids=lambda o: order_id(o),
)
async def test_desc_is_exactly_the_reverse_of_asc(factory, client_for, ascending, descending):
    lists, _ = await given_sortable_attendees(factory, client_for)

    assert await lists.ids(orderBy=descending) == list(reversed(await lists.ids(orderBy=ascending)))


async def test_the_default_order_is_created_at_ascending(factory, client_for):
    lists, rows = await given_sortable_attendees(factory, client_for)

    assert await lists.ids() == expected_order(rows, order("CREATED_AT"))
    assert await lists.ids(orderBy=[]) == expected_order(rows, order("CREATED_AT"))


# --- bookings ---


async def given_bookings(factory, tenant) -> dict[str, int]:
    """g1 (repeated by g3), g2 (other practitioner and type, q attended and cancelled),
    i1 (individual, patient p); starting at minutes 0, 60, 120 and 30."""
    w = {"p": await factory.patient(tenant), "q": await factory.patient(tenant)}
    w["pr2"] = await factory.insert(
        "practitioner", account_id=tenant.id, first_name="Bo", last_name="Li"
    )
    w["at2"] = await factory.insert(
        "appointment_type",
        account_id=tenant.id,
        name="Yoga",
        duration_in_minutes=30,
        max_attendees=5,
    )
    w["g1"] = await factory.group(tenant, starts_at=at(0))
    w["g2"] = await factory.group(
        tenant, starts_at=at(60), practitioner_id=w["pr2"], appointment_type_id=w["at2"]
    )
    w["g3"] = await factory.group(tenant, starts_at=at(120), repeated_from_id=w["g1"])
    w["i1"] = await factory.individual(tenant, w["p"], starts_at=at(30))
    await factory.attendee(tenant, w["g2"], w["q"], **stamped("cancelledAt", 1))
    return w


BOOKING_FILTERS = [
    ({"kind": "GROUP"}, ["g1", "g2", "g3"]),
    ({"kind": "INDIVIDUAL"}, ["i1"]),
    ({"practitionerId": {"eq": ("Practitioner", "pr2")}}, ["g2"]),
    (
        {"practitionerId": {"in": [("Practitioner", "pr2"), ("Practitioner", "pr1")]}},
        ["g1", "g2", "g3", "i1"],
    ),
    ({"appointmentTypeId": {"eq": ("AppointmentType", "at2")}}, ["g2"]),
    ({"appointmentTypeId": {"eq": "at2"}, "kind": "INDIVIDUAL"}, []),
    ({"patientId": {"eq": ("Patient", "p")}}, ["i1"]),
    ({"patientId": {"eq": "q"}}, ["g2"]),
    ({"patientId": {"in": ["q", "p"]}}, ["g2", "i1"]),
    ({"repeatedFromId": {"eq": ("GroupAppointment", "g1")}}, ["g3"]),
    ({"repeatedFromId": {"eq": "g3"}}, []),
    ({"startsAt": {"gte": 30}}, ["g2", "g3", "i1"]),
    ({"startsAt": {"gt": 30, "lte": 60}}, ["g2"]),
    ({"endsAt": {"lt": 90}}, ["g1", "i1"]),
    ({"endsAt": {"isNull": False}, "startsAt": {"lt": 30}}, ["g1"]),
]


def resolve_refs(value: Any, w: dict[str, int]) -> Any:
    """Fill a filter template: "name" → database id, ("Type", "name") → global id,
    a number under startsAt/endsAt → a timestamp."""
    if isinstance(value, dict):
        return {k: resolve_refs(v, w) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, w) for v in value]
    if isinstance(value, tuple):
        return gid(value[0], w[value[1]])
    if isinstance(value, str) and value in w:
        return str(w[value])
    if isinstance(value, int) and not isinstance(value, bool):
        return iso(value)
    return value


@pytest.mark.parametrize(("flt", "matches"), BOOKING_FILTERS, ids=str)
async def test_booking_filters(factory, client_for, flt, matches):
    tenant, lists = await given_lists(factory, client_for)
    w = {"pr1": tenant.practitioner_id, **await given_bookings(factory, tenant)}

    found = await lists.ids("bookings", filter=resolve_refs(flt, w))

    assert found == [w[name] for name in matches]


BOOKING_VISIBILITY = [
    ({}, ["active"]),
    ({"includeArchived": True}, ["active", "archived"]),
    ({"includeCancelled": True}, ["active", "cancelled"]),
    ({"includeDeleted": True}, ["active", "deleted"]),
    (
        {"includeArchived": True, "includeCancelled": True},
        ["active", "archived", "cancelled", "both"],
    ),
    ({"cancelledAt": {"isNull": False}}, ["cancelled"]),
]


@pytest.mark.parametrize(("flt", "visible"), BOOKING_VISIBILITY, ids=str)
async def test_booking_include_flags(factory, client_for, flt, visible):
    tenant, lists = await given_lists(factory, client_for)
    rows = {}
    for name, states in IN_EVERY_STATE.items():
        values = {k: v for s in states for k, v in stamped(s, 1).items()}
        rows[name] = await factory.group(tenant, **values)

    assert await lists.ids("bookings", filter=flt) == [rows[name] for name in visible]


# start minute and length of four bookings: a tie on starts, ends in another order
STARTS = [30, 10, 20, 10]
LENGTHS = [5, 60, 10, 30]
BOOKING_ORDERS = [
    order(k)
    for k in ("STARTS_AT", "STARTS_AT DESC", "ENDS_AT", "ENDS_AT DESC", "UPDATED_AT", "ID DESC")
] + [order("STARTS_AT DESC", "ENDS_AT")]


@pytest.mark.parametrize("order_by", BOOKING_ORDERS, ids=order_id)
async def test_booking_orders_and_paging_agree(factory, client_for, order_by):
    tenant, lists = await given_lists(factory, client_for)
    rows = []
    for i, (start, length) in enumerate(zip(STARTS, LENGTHS, strict=True)):
        booking = await factory.group(
            tenant, starts_at=at(start), ends_at=at(start + length), updated_at=at(i // 2)
        )
        row = {"ID": booking, "STARTS_AT": start, "ENDS_AT": start + length, "UPDATED_AT": i // 2}
        rows.append(row)
    expected = expected_order(rows, order_by)

    assert await lists.ids("bookings", orderBy=order_by) == expected
    assert await lists.walk("bookings", forward=True, orderBy=order_by) == expected
    assert await lists.walk("bookings", forward=False, orderBy=order_by) == expected


# --- patients ---

PEOPLE = {
    "rosa": {
        "first_name": "Rosa",
        "last_name": "Nguyen",
        "preferred_first_name": "Rosie",
        "email": "R.Nguyen@Example.com",
    },
    "percent": {"first_name": "Fifty%Off", "last_name": "Smith", "email": "fifty@clinic.test"},
    "no_percent": {"first_name": "FiftyXOff", "last_name": "Smith", "email": "fiftyx@clinic.test"},
    "underscore": {"first_name": "Ann", "last_name": "Under_score", "email": "ann@clinic.test"},
    "no_underscore": {"first_name": "Ann", "last_name": "UnderXscore", "email": "annx@clinic.test"},
}
SEARCHES = [
    ("rosa", ["rosa"]),
    ("NGUYEN", ["rosa"]),
    ("rOsIe", ["rosa"]),
    ("example.COM", ["rosa"]),
    ("smith", ["percent", "no_percent"]),
    ("fifty%", ["percent"]),
    ("%", ["percent"]),
    ("r_s", ["underscore"]),
    ("_", ["underscore"]),
    ("ann", ["underscore", "no_underscore"]),
    ("nobody", []),
    ("", list(PEOPLE)),
]


@pytest.mark.parametrize(("search", "matches"), SEARCHES, ids=str)
async def test_patient_search(factory, client_for, search, matches):
    tenant, lists = await given_lists(factory, client_for)
    people = {name: await factory.patient(tenant, **values) for name, values in PEOPLE.items()}

    found = await lists.ids("patients", filter={"search": search})

    assert found == [people[name] for name in matches]


async def test_patient_email_is_exact_and_case_insensitive(factory, client_for):
    tenant, lists = await given_lists(factory, client_for)
    rosa = await factory.patient(tenant, **PEOPLE["rosa"])

    assert await lists.ids("patients", filter={"email": "r.nguyen@EXAMPLE.com"}) == [rosa]
    assert await lists.ids("patients", filter={"email": "nguyen@example.com"}) == []


DATES_OF_BIRTH = [
    ({"eq": "1990-06-15"}, [1]),
    ({"gt": "1980-01-01"}, [1]),
    ({"gte": "1980-01-01"}, [0, 1]),
    ({"lt": "1990-06-15"}, [0]),
    ({"lte": "1990-06-15"}, [0, 1]),
    ({"isNull": True}, [2]),
    ({"isNull": False}, [0, 1]),
]


@pytest.mark.parametrize(("condition", "matches"), DATES_OF_BIRTH, ids=str)
async def test_patient_date_of_birth(factory, client_for, condition, matches):
    tenant, lists = await given_lists(factory, client_for)
    born = [date(1980, 1, 1), date(1990, 6, 15), None]
    patients = [await factory.patient(tenant, date_of_birth=d) for d in born]

    found = await lists.ids("patients", filter={"dateOfBirth": condition})

    assert found == [patients[i] for i in matches]


async def test_archived_and_deleted_patients_are_hidden_unless_asked(factory, client_for):
    tenant, lists = await given_lists(factory, client_for)
    active = await factory.patient(tenant)
    archived = await factory.patient(tenant, archived_at=at(1))
    deleted = await factory.patient(tenant, deleted_at=at(1))

    assert await lists.ids("patients") == [active]
    assert await lists.ids("patients", filter={"includeArchived": True}) == [active, archived]
    assert await lists.ids("patients", filter={"includeDeleted": True}) == [active, deleted]


# --- appointment types and practitioners ---


@pytest.mark.parametrize(
    ("field", "table", "values"),
    [
        (
            "appointmentTypes",
            "appointment_type",
            {"name": "Old", "duration_in_minutes": 30, "max_attendees": 1},
        ),
        ("practitioners", "practitioner", {"first_name": "Old", "last_name": "Timer"}),
    ],
)
async def test_archived_catalog_rows_are_hidden_unless_asked(
    factory, client_for, field, table, values
):
    tenant, lists = await given_lists(factory, client_for)
    existing = {
        "appointmentTypes": tenant.appointment_type_id,
        "practitioners": tenant.practitioner_id,
    }[field]
    archived = await factory.insert(table, account_id=tenant.id, archived_at=at(1), **values)

    assert await lists.ids(field) == [existing]
    assert await lists.ids(field, filter={"includeArchived": True}) == [existing, archived]
