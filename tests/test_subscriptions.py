"""Subscriptions (contract §7) against real `serve` processes: two on one PostgreSQL
database (a mutation sent to A reaches a subscriber on B), one on SQLite."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from websockets.exceptions import ConnectionClosed

from app.auth import revoke_api_key
from app.config import Settings
from app.db import Database, create_database
from app.events.log import EVENT_LOG, Event, EventFilter, prune, read_after
from tests.conftest import migrated_database
from tests.factories import Factory, Tenant
from tests.frontend_tools import compiled, node
from tests.gateway_process import gateway
from tests.live_client import live

ATTENDEE_EVENTS = """subscription Attendees($after: String, $filter: AttendeeEventFilter) {
  attendeeEvents(after: $after, filter: $filter) {
    eventId kind occurredAt attendee { databaseId arrived notes patient { firstName } }
  }
}"""
BOOKING_EVENTS = """subscription Bookings($after: String, $filter: BookingEventFilter) {
  bookingEvents(after: $after, filter: $filter) {
    eventId kind booking { databaseId ... on GroupAppointment { availableSeats } }
  }
}"""
CREATE_ATTENDEE = """mutation Join($booking: ID!, $patient: ID!) {
  createAttendee(input: {bookingId: $booking, patientId: $patient}) {
    attendee { databaseId } userErrors { code }
  }
}"""
UPDATE_ATTENDEE = """mutation Arrive($id: ID!, $notes: String) {
  updateAttendee(input: {id: $id, arrived: true, notes: $notes}) { userErrors { code } }
}"""
CANCEL_ATTENDEE = """mutation Cancel($id: ID!) {
  cancelAttendee(input: {id: $id, cancellationReason: SICK, applyToRepeats: true}) {
    userErrors { code }
  }
}"""
CREATE_SERIES = """mutation Series($type: ID!, $practitioner: ID!, $at: DateTime!) {
  createGroupAppointment(input: {appointmentTypeId: $type, practitionerId: $practitioner,
    startsAt: $at, repeatRule: {repeatType: MONTHLY, numberOfRepeats: 5, repeatingInterval: 1}}) {
    userErrors { code }
  }
}"""
LIMITS = {
    "MAX_SUBSCRIPTIONS_PER_SOCKET": "3",
    "MAX_SOCKETS_PER_KEY": "3",
    "CONNECTION_INIT_TIMEOUT_SECONDS": "1",
    "SUBSCRIPTION_BUFFER": "5",
}


@dataclass
class Stack:
    backend: str
    database_url: str
    a: str  # /graphql of process A
    b: str  # /graphql of process B (A itself on SQLite)
    db: Database
    factory: Factory
    logs: list[Any]

    async def mutate(self, key: str, query: str, **variables: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                self.a,
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {key}"},
            )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
async def stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    async with migrated_database(request.param, "agw_live") as url:
        database = create_database(Settings(database_url=url))
        with ExitStack() as servers:
            a = servers.enter_context(gateway(url, **LIMITS))
            b = servers.enter_context(gateway(url, **LIMITS)) if request.param != "sqlite" else a
            yield Stack(request.param, url, a.url, b.url, database, Factory(database), [a, b])
        await database.dispose()


@pytest.fixture
async def tenant(stack: Stack) -> Tenant:
    return await stack.factory.account()


async def _class_with_patient(stack: Stack, tenant: Tenant, seats: int = 8) -> tuple[int, int]:
    booking = await stack.factory.group(tenant, max_attendees=seats)
    patient = await stack.factory.patient(tenant, first_name="Ada")
    return booking, patient


async def test_a_mutation_on_a_reaches_b_within_a_second(stack: Stack, tenant: Tenant) -> None:
    # given a subscriber of each kind on B, and another account's subscriber
    booking, patient = await _class_with_patient(stack, tenant)
    other = await stack.factory.account("Other Clinic")
    async with (
        live(stack.b, tenant.key) as mine,
        live(stack.b, other.key) as theirs,
    ):
        await mine.subscribe("a", ATTENDEE_EVENTS)
        await mine.subscribe("b", BOOKING_EVENTS)
        await theirs.subscribe("a", ATTENDEE_EVENTS)
        await theirs.subscribe("f", ATTENDEE_EVENTS, filter={"bookingId": str(booking)})
        await asyncio.sleep(0.2)
        # when a patient takes a seat through A
        started = time.monotonic()
        joined = await stack.mutate(
            tenant.key, CREATE_ATTENDEE, booking=str(booking), patient=str(patient)
        )
        # then B delivers an attendee CREATED and a booking UPDATED within a second
        got = {m["id"]: m["payload"]["data"] for m in await mine.events(2, within=1.0)}
        assert time.monotonic() - started < 1.5
        attendee = got["a"]["attendeeEvents"]
        assert attendee["kind"] == "CREATED"
        assert (
            attendee["attendee"]["databaseId"] == joined["createAttendee"]["attendee"]["databaseId"]
        )
        assert attendee["attendee"]["patient"] == {"firstName": "Ada"}  # nested, read at delivery
        assert attendee["occurredAt"].endswith("Z")
        assert got["b"]["bookingEvents"]["kind"] == "UPDATED"
        assert got["b"]["bookingEvents"]["booking"] == {
            "databaseId": str(booking),
            "availableSeats": 7,
        }
        # and the other account gets nothing, not even filtering on this booking's id
        await theirs.nothing(1.0)


async def test_refused_or_failed_mutations_publish_nothing(stack: Stack, tenant: Tenant) -> None:
    booking, patient = await _class_with_patient(stack, tenant, seats=1)
    second = await stack.factory.patient(tenant)
    async with live(stack.b, tenant.key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS)
        await client.subscribe("b", BOOKING_EVENTS)
        await asyncio.sleep(0.2)
        await stack.mutate(tenant.key, CREATE_ATTENDEE, booking=str(booking), patient=str(patient))
        assert len(await client.events(2)) == 2
        # when the class is full: BOOKING_FULL, and nothing is published
        refused = await stack.mutate(
            tenant.key, CREATE_ATTENDEE, booking=str(booking), patient=str(second)
        )
        assert refused["createAttendee"]["userErrors"] == [{"code": "BOOKING_FULL"}]
        # a series whose fifth month is past the year 9999 fails after inserting bookings
        failed = await stack.mutate(
            tenant.key,
            CREATE_SERIES,
            type=str(tenant.appointment_type_id),
            practitioner=str(tenant.practitioner_id),
            at="9999-09-01T09:00:00Z",
        )
        assert failed["createGroupAppointment"]["userErrors"] == [{"code": "INVALID"}]
        # and a transaction that wrote rows and then rolled back
        async with stack.db.write.connect() as conn:
            await conn.execute(
                sa.text("UPDATE booking SET notes = 'x' WHERE id = :id"), {"id": booking}
            )
            await conn.rollback()
        await client.nothing(1.5)


async def test_resume_after_a_disconnect_gets_each_missed_event_once_in_order(
    stack: Stack, tenant: Tenant
) -> None:
    booking, patient = await _class_with_patient(stack, tenant)
    joined = await stack.mutate(
        tenant.key, CREATE_ATTENDEE, booking=str(booking), patient=str(patient)
    )
    attendee = joined["createAttendee"]["attendee"]["databaseId"]
    async with live(stack.b, tenant.key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS, filter={"bookingId": str(booking)})
        await asyncio.sleep(0.2)
        await stack.mutate(tenant.key, UPDATE_ATTENDEE, id=attendee, notes="first")
        [first] = await client.events(1)
    seen = first["payload"]["data"]["attendeeEvents"]["eventId"]
    # while disconnected, three changes
    for n in range(3):
        await stack.mutate(tenant.key, UPDATE_ATTENDEE, id=attendee, notes=f"missed {n}")
    # resuming on the other process replays them in order, exactly once, then goes live
    async with live(stack.a, tenant.key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS, after=seen, filter={"bookingId": str(booking)})
        replayed = [m["payload"]["data"]["attendeeEvents"] for m in await client.events(3)]
        ids = [e["eventId"] for e in replayed]
        assert ids == sorted(ids) and seen < ids[0] and len(set(ids)) == 3
        assert [e["kind"] for e in replayed] == ["UPDATED"] * 3
        # read at delivery: every replayed event shows the attendee as it is now
        assert {e["attendee"]["notes"] for e in replayed} == {"missed 2"}
        await stack.mutate(tenant.key, UPDATE_ATTENDEE, id=attendee, notes="live")
        [live_event] = await client.events(1)
        assert live_event["payload"]["data"]["attendeeEvents"]["eventId"] > ids[-1]
        await client.nothing(0.5)


async def test_racing_writers_and_resuming_readers_see_each_event_once_in_order(
    stack: Stack, tenant: Tenant
) -> None:
    """Writers on both processes; readers that drop their socket at random points and
    resume on a random process: each ends with exactly the log's events, in order."""
    booking = await stack.factory.group(tenant, max_attendees=20)
    attendees = [
        await stack.factory.attendee(tenant, booking, await stack.factory.patient(tenant))
        for _ in range(8)
    ]
    async with stack.db.read.connect() as conn:
        base = (await conn.execute(sa.select(sa.func.max(EVENT_LOG.c.seq)))).scalar_one()
    writes, writers = 30, 4
    done = asyncio.Event()
    rng = random.Random(7)

    async def writer(n: int) -> None:
        async with httpx.AsyncClient(timeout=20) as http:
            for i in range(writes):
                url = (stack.a, stack.b)[(n + i) % 2]
                variables = {"id": str(attendees[(n + i) % len(attendees)]), "notes": f"{n}.{i}"}
                response = await http.post(
                    url,
                    json={"query": UPDATE_ATTENDEE, "variables": variables},
                    headers={"Authorization": f"Bearer {tenant.key}"},
                )
                assert response.json()["data"]["updateAttendee"]["userErrors"] == []

    async def reader(key: str) -> list[str]:
        received: list[str] = []
        after = f"e{base:016x}"
        while True:
            async with live(rng.choice((stack.a, stack.b)), key) as client:
                await client.subscribe("a", ATTENDEE_EVENTS, after=after)
                for _ in range(rng.randint(3, 15)):
                    try:
                        [message] = await client.events(1, within=1.5)
                    except TimeoutError:
                        if done.is_set():
                            return received
                        continue
                    except ConnectionClosed as closed:  # fell behind its buffer of 5: resume
                        assert closed.rcvd is not None and closed.rcvd.code == 1013
                        break
                    received.append(message["payload"]["data"]["attendeeEvents"]["eventId"])
                    after = received[-1]

    keys = [await stack.factory.key(tenant) for _ in range(3)]  # a reconnect may overlap
    readers = [asyncio.create_task(reader(key)) for key in keys]
    await asyncio.gather(*(writer(n) for n in range(writers)))
    done.set()
    results = await asyncio.gather(*readers)
    async with stack.db.read.connect() as conn:
        logged = (
            await conn.execute(
                sa.select(EVENT_LOG.c.seq)
                .where(EVENT_LOG.c.seq > base, EVENT_LOG.c.account_id == tenant.id)
                .where(EVENT_LOG.c.entity == "attendee")
                .order_by(EVENT_LOG.c.seq)
            )
        ).scalars()
        expected = [f"e{seq:016x}" for seq in logged]
    assert len(expected) == writes * writers
    for received in results:
        assert received == expected


async def test_apply_to_repeats_publishes_one_event_per_cancelled_attendance(
    stack: Stack, tenant: Tenant
) -> None:
    patient = await stack.factory.patient(tenant)
    first = await stack.factory.group(tenant)
    bookings = [first] + [
        await stack.factory.group(tenant, repeated_from_id=first, starts_at=_week(n))
        for n in range(1, 5)
    ]
    attendees = [await stack.factory.attendee(tenant, b, patient) for b in bookings]
    async with live(stack.b, tenant.key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS, filter={"kinds": ["CANCELLED"]})
        await asyncio.sleep(0.2)
        await stack.mutate(tenant.key, CANCEL_ATTENDEE, id=str(attendees[0]))
        got = [m["payload"]["data"]["attendeeEvents"] for m in await client.events(5)]
        assert sorted(int(e["attendee"]["databaseId"]) for e in got) == attendees
        await client.nothing(0.5)


def _week(n: int) -> Any:
    from tests.factories import BASE_TIME

    return BASE_TIME + timedelta(days=7 + 7 * n)


async def test_bad_missing_and_revoked_keys_close_4403(stack: Stack, tenant: Tenant) -> None:
    async with live(stack.a, init=False) as client:
        await client.send_init("agw_not-a-key")
        assert (await client.closed())[0] == 4403
    async with live(stack.a, init=False) as client:
        await client.send_init(None)
        assert (await client.closed())[0] == 4403
    # the upgrade request's header works too
    async with live(stack.a, init=False, headers={"Authorization": f"Bearer {tenant.key}"}) as c:
        assert (await c.init(None))["type"] == "connection_ack"
    # a key revoked while connected closes its sockets in every process within a second
    key = await stack.factory.key(tenant)
    async with live(stack.a, key) as on_a, live(stack.b, key) as on_b:
        await on_a.subscribe("a", ATTENDEE_EVENTS)
        await on_b.subscribe("a", ATTENDEE_EVENTS)
        await asyncio.sleep(0.2)
        async with stack.db.write.begin() as conn:
            await revoke_api_key(conn, key=key, key_id=None)
        started = time.monotonic()
        assert (await on_a.closed(within=2))[0] == 4403
        assert (await on_b.closed(within=2))[0] == 4403
        assert time.monotonic() - started < 1.0


async def test_a_subscription_needs_the_read_scope(stack: Stack, tenant: Tenant) -> None:
    key = await stack.factory.key(tenant, scopes="write")
    async with live(stack.b, key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS)
        refused = await client.receive()
        assert refused["type"] == "next" and refused["payload"]["data"] is None, refused
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_lost_listener_reconnects_and_catches_up(stack: Stack, tenant: Tenant) -> None:
    booking, patient = await _class_with_patient(stack, tenant)
    joined = await stack.mutate(
        tenant.key, CREATE_ATTENDEE, booking=str(booking), patient=str(patient)
    )
    attendee = joined["createAttendee"]["attendee"]["databaseId"]
    async with live(stack.b, tenant.key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS, filter={"bookingId": str(booking)})
        await asyncio.sleep(0.2)
        if stack.backend == "postgresql":  # every process's listening connection dies
            async with stack.db.write.begin() as conn:
                killed = await conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name LIKE 'agw-listener:%' "
                        "AND datname = current_database()"
                    )
                )
                assert len(killed.all()) == 2
        for n in range(5):
            await stack.mutate(tenant.key, UPDATE_ATTENDEE, id=attendee, notes=f"during {n}")
        got = [
            m["payload"]["data"]["attendeeEvents"]["eventId"]
            for m in await client.events(5, within=8)
        ]
        assert got == sorted(set(got))
        await client.nothing(0.5)
    if stack.backend == "postgresql":  # both listeners are back (the next tests count on them)
        assert await _listeners(stack) == 2


async def _listeners(stack: Stack) -> int:
    found = 0
    for _ in range(50):
        async with stack.db.read.connect() as conn:
            count = await conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name LIKE 'agw-listener:%'"
                )
            )
            found = int(count.scalar_one())
        if found == 2:
            break
        await asyncio.sleep(0.2)
    return found


async def test_query_limits_apply_to_subscriptions(stack: Stack, tenant: Tenant) -> None:
    deep = "databaseId"
    for _ in range(8):
        deep = f"booking {{ attendees(first: 2) {{ nodes {{ {deep} }} }} }}"
    async with live(stack.a, tenant.key) as client:
        await client.subscribe(
            "a", f"subscription {{ attendeeEvents {{ attendee {{ {deep} }} }} }}"
        )
        refused = await client.receive()
        assert refused["type"] == "error", refused
        assert "depth" in refused["payload"][0]["message"].lower()
        costly = "id"
        for _ in range(3):
            costly = f"booking {{ attendees(first: 100) {{ nodes {{ {costly} }} }} }}"
        await client.subscribe(
            "b", f"subscription {{ attendeeEvents {{ attendee {{ {costly} }} }} }}"
        )
        refused = await client.receive()  # the extension's refusal: a result with errors
        assert refused["type"] == "next" and refused["payload"]["data"] is None, refused
        assert "cost" in refused["payload"]["errors"][0]["message"].lower()
        assert (await client.receive()) == {"id": "b", "type": "complete"}


async def test_a_subscription_over_http_is_a_clear_error(stack: Stack, tenant: Tenant) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            stack.a,
            json={"query": ATTENDEE_EVENTS},
            headers={"Authorization": f"Bearer {tenant.key}"},
        )
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "WebSocket" in error["message"]


async def test_the_filter_means_the_same_in_sql_and_in_python(stack: Stack, tenant: Tenant) -> None:
    """Replay filters in SQL, live delivery in Python: both choose the same events."""
    booking, patient = await _class_with_patient(stack, tenant)
    other = await stack.factory.group(tenant)
    for target in (booking, other):
        for _ in range(3):
            await stack.factory.attendee(tenant, target, await stack.factory.patient(tenant))
    joined = await stack.mutate(
        tenant.key, CREATE_ATTENDEE, booking=str(booking), patient=str(patient)
    )
    attendee = joined["createAttendee"]["attendee"]["databaseId"]
    await stack.mutate(tenant.key, CANCEL_ATTENDEE, id=attendee)
    async with stack.db.read.connect() as conn:
        rows = (await conn.execute(sa.select(EVENT_LOG).order_by(EVENT_LOG.c.seq))).all()
    events = [Event(**row._mapping) for row in rows]
    filters = [
        EventFilter("attendee"),
        EventFilter("booking"),
        EventFilter("attendee", booking_id=booking),
        EventFilter("attendee", patient_id=patient, kinds=frozenset({"CANCELLED"})),
        EventFilter(
            "booking", practitioner_id=tenant.practitioner_id, kinds=frozenset({"CREATED"})
        ),
        EventFilter("booking", booking_id=booking, kinds=frozenset({"CANCELLED", "UPDATED"})),
    ]
    for where in filters:
        in_sql = await read_after(stack.db.read, 0, account_id=tenant.id, where=where)
        in_python = [e for e in events if e.account_id == tenant.id and where.matches(e)]
        assert in_sql == in_python and in_sql, where


async def test_connection_init_must_come_in_time(stack: Stack) -> None:
    async with live(stack.a, init=False) as client:
        assert (await client.closed(within=3))[0] == 4408


async def test_subscription_and_socket_limits(stack: Stack, tenant: Tenant) -> None:
    # per socket: the 4th subscription (limit 3) is refused with an error message
    async with live(stack.a, tenant.key) as client:
        for n in range(3):
            await client.subscribe(str(n), ATTENDEE_EVENTS)
        await client.subscribe("3", ATTENDEE_EVENTS)
        refused = await client.receive()
        assert refused["type"] == "error" and refused["id"] == "3"
        assert "limit" in refused["payload"][0]["message"]
    # per key, across processes: the 4th socket (limit 3) closes with 4429 (another key:
    # the server may not have counted the socket above as closed yet)
    key = await stack.factory.key(tenant)
    async with (
        live(stack.a, key),
        live(stack.b, key),
        live(stack.a, key),
        live(stack.b, key, init=False) as fourth,
    ):
        await fourth.send_init(key)
        assert (await fourth.closed())[0] == 4429
    # once they are closed, the key may open sockets again
    for _ in range(20):
        async with live(stack.b, key, init=False) as again:
            if (await again.init(key))["type"] == "connection_ack":
                break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the key's closed sockets still count")


async def test_a_subscriber_that_falls_behind_is_closed_and_can_resume(
    stack: Stack, tenant: Tenant
) -> None:
    booking, _ = await _class_with_patient(stack, tenant, seats=100)
    patients = [await stack.factory.patient(tenant) for _ in range(20)]
    attendees = [await stack.factory.attendee(tenant, booking, p) for p in patients]
    async with live(stack.b, tenant.key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS, filter={"bookingId": str(booking)})
        await asyncio.sleep(0.2)
        await stack.mutate(tenant.key, UPDATE_ATTENDEE, id=str(attendees[0]), notes="before")
        [before] = await client.events(1)
        # a burst of 20 events, more than its buffer of 5, in one transaction
        async with stack.db.write.begin() as conn:
            await conn.execute(
                sa.text("UPDATE attendee SET notes = 'burst' WHERE booking_id = :b"), {"b": booking}
            )
        code, _reason = await client.closed()
        assert code == 1013
    seen = before["payload"]["data"]["attendeeEvents"]["eventId"]
    async with live(stack.b, tenant.key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS, after=seen, filter={"bookingId": str(booking)})
        got = [m["payload"]["data"]["attendeeEvents"]["attendee"] for m in await client.events(20)]
        assert sorted(int(a["databaseId"]) for a in got) == attendees
        await client.nothing(0.5)


async def test_a_reader_that_stops_reading_is_closed_not_buffered(
    stack: Stack, tenant: Tenant
) -> None:
    """The client reads nothing while 300 events of 50 kB come, one per transaction (never
    a burst beyond the buffer). Once the socket's buffers are full the server cannot send,
    its queue of 5 fills and it closes 1013: the client then finds fewer than 300 events
    before the close, not all of them kept for it."""
    booking, patient = await _class_with_patient(stack, tenant)
    attendee = await stack.factory.attendee(tenant, booking, patient)
    big = "x" * 50_000  # each event carries its attendee's notes
    update = sa.text("UPDATE attendee SET notes = :notes WHERE id = :id")
    # No compression (the notes are one letter repeated), and the client queues one message.
    async with live(stack.b, tenant.key, max_queue=1, compression=None) as client:
        await client.subscribe("a", ATTENDEE_EVENTS, filter={"bookingId": str(booking)})
        await asyncio.sleep(0.2)
        for n in range(300):
            async with stack.db.write.begin() as conn:
                await conn.execute(update, {"notes": f"{n}{big}", "id": attendee})
            await asyncio.sleep(0.005)
        await asyncio.sleep(1.0)
        received = 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                try:
                    await client.receive(within=30)
                except TimeoutError:
                    raise AssertionError(f"no close after {received} events") from None
                received += 1
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    assert received < 250


async def test_resume_cursors_bad_and_too_old(stack: Stack, tenant: Tenant) -> None:
    booking, patient = await _class_with_patient(stack, tenant)
    async with live(stack.a, tenant.key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS, after="e00000000zzzzzzz")
        bad = await client.receive()
        assert bad["type"] == "error"
        assert bad["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        await client.subscribe("b", ATTENDEE_EVENTS, after="effffffffffffff0")  # never issued
        assert (await client.receive())["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # events older than the retention are pruned; resuming before them is RESUME_TOO_OLD
    await stack.mutate(tenant.key, CREATE_ATTENDEE, booking=str(booking), patient=str(patient))
    async with stack.db.write.begin() as conn:
        oldest = (await conn.execute(sa.text("SELECT min(seq) FROM event_log"))).scalar_one()
        await conn.execute(
            sa.update(EVENT_LOG)
            .where(EVENT_LOG.c.seq <= oldest + 1)
            .values(occurred_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    assert await prune(stack.db.write, timedelta(hours=48)) >= 2
    async with live(stack.b, tenant.key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS, after=f"e{oldest:016x}")
        error = await client.receive()
        assert error["type"] == "error"
        assert error["payload"][0]["extensions"]["code"] == "RESUME_TOO_OLD"
        assert "Traceback" not in str(error)


async def test_commits_out_of_id_order_are_delivered_and_resumed_exactly_once(
    stack: Stack, tenant: Tenant
) -> None:
    booking, patient = await _class_with_patient(stack, tenant)
    x = await stack.factory.attendee(tenant, booking, patient)
    y = await stack.factory.attendee(tenant, booking, await stack.factory.patient(tenant))
    update = sa.text("UPDATE attendee SET notes = :n WHERE id = :id")
    if stack.backend == "sqlite":
        await _sqlite_writers_queue(stack, update, x, y)
        return
    async with live(stack.b, tenant.key) as client:
        await client.subscribe("a", ATTENDEE_EVENTS, filter={"bookingId": str(booking)})
        await asyncio.sleep(0.2)
        async with stack.db.write.connect() as one, stack.db.write.connect() as two:
            # tx1 writes first (its xid and row are older), tx2 writes and commits first
            await one.execute(update, {"n": "one", "id": x})
            await two.execute(update, {"n": "two", "id": y})
            await two.commit()
            [e2] = await client.events(1, within=1.0)
            await one.commit()
            [e1] = await client.events(1, within=1.0)
    first, second = (e["payload"]["data"]["attendeeEvents"] for e in (e2, e1))
    assert first["attendee"]["databaseId"] == str(y) and second["attendee"]["databaseId"] == str(x)
    assert first["eventId"] < second["eventId"]
    # resuming after tx2's event on the other process gets tx1's, once
    async with live(stack.a, tenant.key) as client:
        await client.subscribe(
            "a", ATTENDEE_EVENTS, after=first["eventId"], filter={"bookingId": str(booking)}
        )
        [again] = await client.events(1)
        assert again["payload"]["data"]["attendeeEvents"]["eventId"] == second["eventId"]
        await client.nothing(0.5)
    # and a publisher holds the others back until its commit: seq order is commit order
    async with stack.db.write.connect() as one, stack.db.write.connect() as two:
        await one.execute(update, {"n": "held", "id": x})
        await one.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))  # publishes now, holds the lock
        await two.execute(update, {"n": "waiting", "id": y})
        pending = asyncio.create_task(two.commit())
        await asyncio.sleep(0.3)
        assert not pending.done()
        await one.commit()
        await pending


async def _sqlite_writers_queue(stack: Stack, update: Any, x: int, y: int) -> None:
    """SQLite: a second writer waits for the first one's COMMIT (BEGIN IMMEDIATE), so
    transactions cannot commit out of seq order there."""
    async with stack.db.write.connect() as one, stack.db.write.connect() as two:
        await one.execute(update, {"n": "one", "id": x})
        second = asyncio.create_task(two.execute(update, {"n": "two", "id": y}))
        await asyncio.sleep(0.3)
        assert not second.done()
        await one.commit()
        await second
        await two.commit()
    async with stack.db.read.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT entity_id FROM event_log WHERE entity = 'attendee' ORDER BY seq DESC LIMIT 2"
            )
        )
        assert [r[0] for r in rows] == [y, x]


async def test_trusted_documents_apply_over_websocket(
    stack: Stack, tenant: Tenant, tmp_path: Any
) -> None:
    digest = hashlib.sha256(ATTENDEE_EVENTS.encode()).hexdigest()
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({f"sha256:{digest}": ATTENDEE_EVENTS}))
    only = {"PERSISTED_DOCUMENTS_PATH": str(manifest), "TRUSTED_DOCUMENTS_ONLY": "true"}
    with gateway(stack.database_url, **only) as served:
        async with live(served.url, tenant.key) as client:
            await client.subscribe("a", BOOKING_EVENTS)
            refused = await client.receive()
            assert refused["type"] == "error" and "trusted documents" in str(refused)
            payload = {"documentId": f"sha256:{digest}", "variables": {}}
            await client.send({"id": "b", "type": "subscribe", "payload": payload})
            await client.nothing(0.5)  # accepted: waiting for events
            booking, patient = await _class_with_patient(stack, tenant)
            await stack.mutate(
                tenant.key, CREATE_ATTENDEE, booking=str(booking), patient=str(patient)
            )
            [event] = await client.events(1)
            assert event["id"] == "b"


async def test_operations_on_a_socket_count_against_the_rate_limit(
    stack: Stack, tenant: Tenant
) -> None:
    with gateway(stack.database_url, RATE_LIMIT="3") as served:
        async with live(served.url, tenant.key) as client:
            for n in range(3):
                await client.subscribe(str(n), ATTENDEE_EVENTS)
            await client.nothing(0.3)  # all three accepted
            await client.subscribe("3", ATTENDEE_EVENTS)
            refused = await client.receive()
            assert refused["type"] == "error" and refused["id"] == "3"
            assert refused["payload"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_the_npm_graphql_ws_client(stack: Stack, tenant: Tenant) -> None:
    """graphql_schema/codegen/src/live.ts: typed FrontDesk subscription on B, a booking
    through A, and a refused key that the client does not retry."""
    booking, patient = await _class_with_patient(stack, tenant)
    dist = await asyncio.to_thread(compiled)
    config = {
        "url": stack.b,
        "mutateUrl": stack.a,
        "key": tenant.key,
        "bookingId": str(booking),
        "patientId": str(patient),
    }
    report = await asyncio.to_thread(node, dist / "src" / "live.js", config)
    assert report["failure"] is None
    [event] = report["events"]
    assert event["kind"] == "CREATED" and event["attendee"]["id"] == report["attendeeId"]
    assert event["attendee"]["patient"] == {"firstName": "Ada"}
    assert report["latencyMs"] < 1000
    assert report["refused"] == [4403]  # closed once, not retried


async def test_metrics_count_sockets_subscriptions_and_deliveries(
    stack: Stack, tenant: Tenant
) -> None:
    booking, patient = await _class_with_patient(stack, tenant)
    with gateway(stack.database_url, METRICS="true") as served:
        async with live(served.url, tenant.key) as client, httpx.AsyncClient() as http:
            await client.subscribe("a", ATTENDEE_EVENTS)
            await client.subscribe("b", BOOKING_EVENTS)
            await asyncio.sleep(0.2)
            await stack.mutate(
                tenant.key, CREATE_ATTENDEE, booking=str(booking), patient=str(patient)
            )
            await client.events(2)
            text = (await http.get(served.url.replace("/graphql", "/metrics"))).text
        assert "gateway_open_sockets 1.0" in text
        assert "gateway_subscriptions 2.0" in text
        assert "gateway_events_delivered_total 2.0" in text


async def test_sigterm_closes_sockets_with_1001(stack: Stack, tenant: Tenant) -> None:
    with gateway(stack.database_url) as served:
        async with live(served.url, tenant.key) as client:
            await client.subscribe("a", ATTENDEE_EVENTS)
            await asyncio.sleep(0.2)
            served.process.terminate()
            assert (await client.closed())[0] == 1001
        await asyncio.to_thread(served.process.wait, 15)  # uvicorn re-raises SIGTERM: -15
        assert "Application shutdown complete" in served.log()


async def test_sqlite_with_workers_says_what_it_does_and_delivers(tmp_path: Any) -> None:
    async with migrated_database("sqlite") as url:
        database = create_database(Settings(database_url=url))
        factory = Factory(database)
        tenant = await factory.account()
        booking = await factory.group(tenant)
        patients = [await factory.patient(tenant) for _ in range(4)]
        with gateway(url, workers=2) as served:
            assert "each process polls the event log every 0.5 s" in served.log()
            async with live(served.url, tenant.key) as client:
                await client.subscribe("a", ATTENDEE_EVENTS)
                await asyncio.sleep(0.2)
                async with httpx.AsyncClient(timeout=10) as http:
                    for patient in patients:  # new connections: both workers take some
                        await http.post(
                            served.url,
                            json={
                                "query": CREATE_ATTENDEE,
                                "variables": {"booking": str(booking), "patient": str(patient)},
                            },
                            headers={
                                "Authorization": f"Bearer {tenant.key}",
                                "Connection": "close",
                            },
                        )
                got = await client.events(4, within=2.0)
                assert len({m["payload"]["data"]["attendeeEvents"]["eventId"] for m in got}) == 4
        await database.dispose()
