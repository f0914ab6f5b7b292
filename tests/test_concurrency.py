"""Racing writers against a real uvicorn process: seats and the one-active-attendance rule
hold under simultaneous requests. `RACE_ROUNDS=20` repeats every race twenty times."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.factories import Factory, T, Tenant, gid
from tests.test_attendee_mutations import CREATE, SEATS
from tests.test_booking_mutations import UPDATE

ROUNDS = int(os.environ.get("RACE_ROUNDS", "1"))
each_round = pytest.mark.parametrize("race_round", range(1, ROUNDS + 1), ids=lambda n: f"round{n}")


async def race(live_server: str, key: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Send every (document, input) at once over HTTP; the payloads, in call order. No
    response may be a 5xx or carry a top-level error."""
    async with httpx.AsyncClient(
        base_url=live_server,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
        limits=httpx.Limits(max_connections=len(calls)),
    ) as http:
        responses = await asyncio.gather(
            *(
                http.post("/graphql", json={"query": doc, "variables": {"input": fields}})
                for doc, fields in calls
            )
        )
    failed = [(r.status_code, r.text[:300]) for r in responses if r.status_code != 200]
    assert failed == []
    bodies = [r.json() for r in responses]
    assert [b.get("errors") for b in bodies] == [None] * len(calls), bodies
    return [b["data"]["result"] for b in bodies]


def outcomes(payloads: list[Any]) -> Counter[str]:
    """How many calls succeeded ("OK") and how many failed with each user error code."""
    return Counter(p["userErrors"][0]["code"] if p["userErrors"] else "OK" for p in payloads)


async def seats_taken(factory: Factory, booking: int) -> tuple[int, int, int]:
    """(active attendee rows, the booking's seat counter, its maxAttendees) in the database."""
    attendee, table = T["attendee"], T["booking"]
    active = sa.select(sa.func.count()).where(
        attendee.c.booking_id == booking,
        attendee.c.cancelled_at.is_(None),
        attendee.c.archived_at.is_(None),
        attendee.c.deleted_at.is_(None),
    )
    counter = sa.select(table.c.active_attendees, table.c.max_attendees).where(
        table.c.id == booking
    )
    async with factory.db.read.connect() as conn:
        rows = (await conn.execute(active)).scalar_one()
        taken, capacity = (await conn.execute(counter)).one()
    return rows, taken, capacity


async def available_seats(live_server: str, tenant: Tenant, booking: int) -> int:
    async with httpx.AsyncClient(base_url=live_server) as http:
        response = await http.post(
            "/graphql",
            json={"query": SEATS, "variables": {"id": str(booking)}},
            headers={"Authorization": f"Bearer {tenant.key}"},
        )
    return response.json()["data"]["booking"]["availableSeats"]  # type: ignore[no-any-return]


async def patients(factory: Factory, tenant: Tenant, count: int) -> list[int]:
    return [await factory.patient(tenant, first_name=f"P{n}") for n in range(count)]


def joins(booking: int, patient_ids: list[int]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (CREATE, {"bookingId": gid("GroupAppointment", booking), "patientId": str(p)})
        for p in patient_ids
    ]


@each_round
async def test_fifty_patients_race_for_ten_seats(live_server, factory, race_round):
    tenant = await factory.account()
    booking = await factory.group(tenant, max_attendees=10)
    crowd = await patients(factory, tenant, 50)

    payloads = await race(live_server, tenant.key, joins(booking, crowd))

    assert outcomes(payloads) == {"OK": 10, "BOOKING_FULL": 40}
    assert await seats_taken(factory, booking) == (10, 10, 10)
    assert await available_seats(live_server, tenant, booking) == 0


@each_round
async def test_one_patient_joining_twenty_times_attends_once(live_server, factory, race_round):
    tenant = await factory.account()
    booking = await factory.group(tenant, max_attendees=30)
    (patient,) = await patients(factory, tenant, 1)

    payloads = await race(live_server, tenant.key, joins(booking, [patient] * 20))

    assert outcomes(payloads) == {"OK": 1, "ALREADY_ATTENDING": 19}
    assert await seats_taken(factory, booking) == (1, 1, 30)


@each_round
async def test_lowering_seats_while_patients_join_never_overbooks(live_server, factory, race_round):
    tenant = await factory.account()
    booking = await factory.group(tenant, max_attendees=10)
    lowerings = [(UPDATE, {"id": str(booking), "maxAttendees": m}) for m in (2, 3, 4, 5, 6, 7)]
    calls = joins(booking, await patients(factory, tenant, 20)) + lowerings
    random.Random(race_round).shuffle(calls)

    payloads = await race(live_server, tenant.key, calls)

    joined = [p for (doc, _), p in zip(calls, payloads, strict=True) if doc is CREATE]
    resized = [p for (doc, _), p in zip(calls, payloads, strict=True) if doc is UPDATE]
    assert set(outcomes(joined)) <= {"OK", "BOOKING_FULL"}
    assert set(outcomes(resized)) <= {"OK", "INVALID"}
    assert all(
        p["userErrors"][0]["field"] == ["input", "maxAttendees"] for p in resized if p["userErrors"]
    )
    rows, taken, capacity = await seats_taken(factory, booking)
    assert rows == taken == outcomes(joined)["OK"] <= capacity
    assert await available_seats(live_server, tenant, booking) == capacity - taken
