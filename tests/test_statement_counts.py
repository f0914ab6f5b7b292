"""Pinned SQL statement counts: a request costs the same whatever the page sizes (no N+1).

`client.last_statements` is every statement the request ran, the API-key lookup included.
Every test runs under both executions (EXECUTION=standard and planned): the planned path
joins the to-one relations into each level's statement, so its counts are lower.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.executions import on_both_executions
from tests.factories import BASE_TIME, Factory, T, Tenant, gid, tick

DEEP = """
query($n: Int!) {
  attendees(first: $n) {
    totalCount
    edges {
      cursor
      node {
        patient { firstName }
        booking {
          startsAt
          attendees(first: $n) { totalCount nodes { arrived patient { lastName } } }
        }
      }
    }
  }
}
"""
DEEP_WITHOUT_ROOT_COUNT = DEEP.replace("    totalCount\n    edges", "    edges", 1)
DEEP_WITHOUT_COUNTS = DEEP_WITHOUT_ROOT_COUNT.replace("{ totalCount nodes", "{ nodes")

PATIENT_CHAIN = """
query($n: Int!) {
  patients(first: $n) {
    nodes {
      firstName
      attendees(first: $n) {
        totalCount
        nodes { booking { startsAt repeats(first: $n) { totalCount nodes { startsAt } } } }
      }
      patientCases(first: $n) { totalCount nodes { name } }
    }
  }
}
"""

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"

BOOKINGS_WITH_ATTENDEES = """
query($n: Int!) { bookings(first: $n) { nodes { attendees { nodes { arrived } } } } }
"""


apps, execution, client_for = on_both_executions()


async def bulk(factory: Factory, table: str, rows: list[dict[str, Any]]) -> list[int]:
    """Insert many rows in one statement, stamped like the factory's (ascending created_at)."""
    stamped = []
    for row in rows:
        now = tick()
        stamped.append({"created_at": now, "updated_at": now, **row})
    stmt = sa.insert(T[table]).returning(T[table].c.id, sort_by_parameter_order=True)
    async with factory.db.write.begin() as conn:
        return list((await conn.execute(stmt, stamped)).scalars())


async def bulk_attendees(factory: Factory, tenant: Tenant, pairs: list[tuple[int, int]]) -> None:
    """Active attendees for (booking, patient) pairs, with the bookings' seat counters updated."""
    await bulk(
        factory,
        "attendee",
        [{"account_id": tenant.id, "booking_id": b, "patient_id": p} for b, p in pairs],
    )
    booking, attendee = T["booking"], T["attendee"]
    taken = (
        sa.select(sa.func.count())
        .where(
            attendee.c.booking_id == booking.c.id,
            attendee.c.cancelled_at.is_(None),
            attendee.c.archived_at.is_(None),
            attendee.c.deleted_at.is_(None),
        )
        .scalar_subquery()
    )
    async with factory.db.write.begin() as conn:
        await conn.execute(
            sa.update(booking)
            .where(booking.c.account_id == tenant.id)
            .values(active_attendees=taken)
        )


async def patients(factory: Factory, tenant: Tenant, count: int) -> list[int]:
    return await bulk(
        factory,
        "patient",
        [
            {"account_id": tenant.id, "first_name": f"P{i}", "last_name": f"L{i}"}
            for i in range(count)
        ],
    )


async def deep_clinic(factory: Factory) -> Tenant:
    """107 attendees: 2 individual appointments first, then 35 patients each in 3 classes,
    created patient by patient (round robin), so that for both N=5 and N=100 the nested
    pages hold attendees beyond the root page, whose patients the root did not load."""
    tenant = await factory.account()
    people = await patients(factory, tenant, 35)
    for patient in people[:2]:
        await factory.individual(tenant, patient)
    classes = [await factory.group(tenant, max_attendees=40) for _ in range(3)]
    await bulk_attendees(factory, tenant, [(c, p) for p in people for c in classes])
    return tenant


async def statements(client: Any, query: str, n: int) -> int:
    await client.query(query, {"n": n})
    return int(client.last_statements)


# The deep query runs 8 statements, for any N:
#   1 the API-key lookup          2 the root attendee page       3 the root count
#   4 patients of the root page   5 bookings of the root page
#   6 the nested attendee pages of every booking (one row_number() statement)
#   7 the nested counts of every booking (one GROUP BY statement)
#   8 patients of the nested attendees that the root page had not loaded already
# (the patient loader caches per request: a patient already loaded costs nothing).
# Planned, 4: the key lookup, the root page with its patients and bookings joined, the
# root count, the nested pages with their patients joined and their counts (a window
# count in the same statement).
DEEP_STATEMENTS = {"standard": 8, "planned": 4}
# Without the root count; without either count (the planned nested count is free).
DEEP_WITHOUT_ROOT_COUNT_STATEMENTS = {"standard": 7, "planned": 3}
DEEP_WITHOUT_COUNTS_STATEMENTS = {"standard": 6, "planned": 3}


async def test_deep_query_runs_the_same_statements_for_any_page_size(
    factory, client_for, execution
):
    tenant = await deep_clinic(factory)
    client = client_for(tenant.key)

    small = await client.query(DEEP, {"n": 5})
    small_count = client.last_statements
    large = await client.query(DEEP, {"n": 100})
    large_count = client.last_statements

    expected = DEEP_STATEMENTS[execution]
    assert (small_count, large_count) == (expected, expected)
    assert len(small["attendees"]["edges"]) == 5
    assert len(large["attendees"]["edges"]) == 100
    assert small["attendees"]["totalCount"] == large["attendees"]["totalCount"] == 107
    nested = [e["node"]["booking"]["attendees"] for e in large["attendees"]["edges"]]
    assert {n["totalCount"] for n in nested} == {1, 35}
    assert max(len(n["nodes"]) for n in nested) == 35


async def test_an_unselected_total_count_runs_no_count_statement(factory, client_for, execution):
    tenant = await deep_clinic(factory)
    client = client_for(tenant.key)

    without_root = DEEP_WITHOUT_ROOT_COUNT_STATEMENTS[execution]
    without_any = DEEP_WITHOUT_COUNTS_STATEMENTS[execution]
    for n in (5, 100):
        assert await statements(client, DEEP_WITHOUT_ROOT_COUNT, n) == without_root
        assert await statements(client, DEEP_WITHOUT_COUNTS, n) == without_any


# patients → attendees → booking → repeats, and patients → patientCases: 9 statements:
#   key lookup, patient page, nested attendee pages, their counts, bookings,
#   repeat pages, their counts, patient case pages, their counts.
# The large N is 30, not 100: three nested pages of 100 exceed the 50,000-node cost bound.
# Planned, 5: the bookings are joined into the nested attendee pages, and each nested
# level counts its parents' rows in its own statement.
PATIENT_CHAIN_STATEMENTS = {"standard": 9, "planned": 5}


async def test_patient_chains_run_the_same_statements_for_any_page_size(
    factory, client_for, execution
):
    tenant = await factory.account()
    people = await patients(factory, tenant, 8)
    classes = [await factory.group(tenant, max_attendees=10) for _ in range(2)]
    for series in classes:
        await bulk(
            factory,
            "booking",
            [
                {
                    "account_id": tenant.id,
                    "kind": "group",
                    "appointment_type_id": tenant.appointment_type_id,
                    "practitioner_id": tenant.practitioner_id,
                    "starts_at": tick(),
                    "ends_at": tick(),
                    "max_attendees": 10,
                    "repeated_from_id": series,
                }
                for _ in range(3)
            ],
        )
    await bulk_attendees(factory, tenant, [(c, p) for p in people for c in classes])
    await bulk(
        factory,
        "patient_case",
        [
            {"account_id": tenant.id, "patient_id": p, "name": f"Case {i}"}
            for p in people
            for i in range(2)
        ],
    )
    client = client_for(tenant.key)

    counts = [await statements(client, PATIENT_CHAIN, n) for n in (5, 30)]

    expected = PATIENT_CHAIN_STATEMENTS[execution]
    assert counts == [expected, expected]
    data = await client.query(PATIENT_CHAIN, {"n": 30})
    first = data["patients"]["nodes"][0]
    assert first["attendees"]["totalCount"] == 2
    assert first["attendees"]["nodes"][0]["booking"]["repeats"]["totalCount"] == 3
    assert first["patientCases"]["totalCount"] == 2


async def test_a_nested_connection_for_50_parents_is_one_statement(factory, client_for):
    tenant = await factory.account()
    (patient,) = await patients(factory, tenant, 1)
    classes = [await factory.group(tenant) for _ in range(50)]
    await bulk_attendees(factory, tenant, [(c, patient) for c in classes])
    client = client_for(tenant.key)

    one = await statements(client, BOOKINGS_WITH_ATTENDEES, 1)
    data = await client.query(BOOKINGS_WITH_ATTENDEES, {"n": 50})
    fifty = client.last_statements

    # key lookup, the booking page, and one statement for the 50 nested attendee pages
    assert (one, fifty) == (3, 3)
    assert [len(b["attendees"]["nodes"]) for b in data["bookings"]["nodes"]] == [1] * 50


async def test_nodes_loads_each_table_in_one_statement(factory, client_for):
    tenant = await factory.account()
    people = await patients(factory, tenant, 10)
    booking = await factory.group(tenant)
    gone = await bulk(
        factory,
        "attendee",
        [
            {
                "account_id": tenant.id,
                "booking_id": booking,
                "patient_id": p,
                "archived_at": BASE_TIME,
            }
            for p in people
        ],
    )
    ids = [gid("Attendee", a) for a in gone] + [gid("Patient", p) for p in people]
    client = client_for(tenant.key)

    await client.query(NODES, {"ids": ids})

    # key lookup, the attendees, the patients
    assert client.last_statements == 3
