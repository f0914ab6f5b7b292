"""Subscriptions under load: subscribers spread over server processes, a steady stream of
mutations; prints events/s delivered, commit-to-delivery latency and memory per idle
subscription.

    scripts/bench-subscriptions --database-url postgresql+asyncpg://postgres@127.0.0.1/bench
        [--subscribers 1000] [--processes 2] [--rate 5] [--duration 20]

The database must be migrated (`attendee-gateway migrate`). The script makes an account, a
class with patients and one API key per 50 subscribers (a front desk each), starts `--processes` `serve` processes on free ports
, opens `--subscribers` sockets spread over them, each
with one `attendeeEvents` subscription of the whole account, and measures the servers'
resident memory before and after (idle). It then sends `--rate` updateAttendee mutations a
second for `--duration` seconds, round-robin over the processes; every mutation is one event
for every subscriber. Latency is from the event's `occurredAt` (its commit, stamped by the
database on this machine) to its arrival at the client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
COMMAND = Path(sys.executable).parent / "attendee-gateway"
SUBSCRIPTION = "subscription { attendeeEvents { eventId occurredAt attendee { id arrived } } }"
UPDATE = "mutation($id: ID!, $n: String) { updateAttendee(input: {id: $id, notes: $n}) { userErrors { code } } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's worker)."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in found.read_text().split()] if found.exists() else []


async def setup(database_url: str, keys: int) -> list[str]:
    """An account with `keys` API keys (read and write)."""
    sys.path.insert(0, str(ROOT))
    from app.config import Settings
    from app.db import create_database
    from app.seed.base import create_account, create_api_key

    database = create_database(Settings(database_url=database_url))
    async with database.write.begin() as conn:
        account = await create_account(conn, name="Subscriptions Benchmark Clinic")
        made = [
            await create_api_key(conn, account_id=account, name=f"desk {n}") for n in range(keys)
        ]
    await database.dispose()
    return made


async def a_class(http: httpx.AsyncClient, url: str, key: str, attendees: int) -> list[str]:
    """Through the API: a practitioner, a class type, a class and its attendees' ids."""

    async def call(query: str, path: str) -> Any:
        response = await http.post(
            url, json={"query": query}, headers={"Authorization": f"Bearer {key}"}
        )
        data = response.json()["data"]
        for name in path.split("."):
            data = data[name]
        return data

    practitioner = await call(
        'mutation { createPractitioner(input: {firstName: "B", lastName: "B"}) { practitioner { id } } }',
        "createPractitioner.practitioner.id",
    )
    kind = await call(
        'mutation { createAppointmentType(input: {name: "Class", durationInMinutes: 60, maxAttendees: 100}) '
        "{ appointmentType { id } } }",
        "createAppointmentType.appointmentType.id",
    )
    booking = await call(
        f'mutation {{ createGroupAppointment(input: {{appointmentTypeId: "{kind}", practitionerId: "{practitioner}", '
        'startsAt: "2030-01-01T09:00:00Z"}) { booking { id } } }',
        "createGroupAppointment.booking.id",
    )
    ids = []
    for n in range(attendees):
        patient = await call(
            f'mutation {{ createPatient(input: {{firstName: "P{n}", lastName: "B"}}) {{ patient {{ id }} }} }}',
            "createPatient.patient.id",
        )
        ids.append(
            await call(
                f'mutation {{ createAttendee(input: {{bookingId: "{booking}", patientId: "{patient}"}}) '
                "{ attendee { id } } }",
                "createAttendee.attendee.id",
            )
        )
    return ids


def start_servers(ports: list[int], env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    command = [str(COMMAND), "serve", "--port"]
    out = open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "a")  # noqa: SIM115
    return [
        subprocess.Popen([*command, str(p)], cwd=ROOT, env=env, stdout=out, stderr=out)
        for p in ports
    ]


async def subscriber(
    url: str,
    key: str,
    ready: asyncio.Event,
    latencies: list[float],
    stop: asyncio.Event,
    retries: list[int],
) -> None:
    """One front desk: connects (retrying 1013 as graphql-ws does), subscribes, records the
    latency of every event until `stop`."""
    for attempt in range(10):
        try:
            await _follow(url, key, ready, latencies, stop)
            return
        except ConnectionClosed as closed:
            if closed.rcvd is None or closed.rcvd.code != 1013 or ready.is_set():
                raise
            retries.append(1)
            await asyncio.sleep(0.2 * (attempt + 1))


async def _follow(
    url: str, key: str, ready: asyncio.Event, latencies: list[float], stop: asyncio.Event
) -> None:
    async with connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}
        await ws.send(json.dumps(init))
        ack = json.loads(await ws.recv())
        if ack.get("type") != "connection_ack":
            raise SystemExit(f"not acknowledged: {ack}")
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
        await ws.send(json.dumps(subscribe))
        ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            arrived = time.time()
            message = json.loads(raw)
            if message.get("type") != "next":
                raise SystemExit(f"unexpected message: {message}")
            occurred = message["payload"]["data"]["attendeeEvents"]["occurredAt"]
            latencies.append(arrived - datetime.fromisoformat(occurred).timestamp())


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rate", type=float, default=5.0, help="mutations per second")
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()

    # One key per 50 subscribers, as front desks each with its own key (MAX_SOCKETS_PER_KEY).
    keys = await setup(args.database_url, -(-args.subscribers // 50))
    key = keys[0]
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "RATE_LIMIT": "1000000",
        "LOG_FORMAT": "plain",
    }
    ports = [free_port() for _ in range(args.processes)]
    servers = start_servers(ports, env)
    urls = [f"http://127.0.0.1:{p}/graphql" for p in ports]
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            for url in urls:
                for _ in range(100):
                    try:
                        await http.get(url.replace("/graphql", "/healthz"))
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
            attendees = await a_class(http, urls[0], key, 20)
            await asyncio.sleep(1.0)
            before = sum(rss_mib(s.pid) for s in servers)
            latencies: list[float] = []
            stop = asyncio.Event()
            retries: list[int] = []
            readies = []
            tasks = []
            for n in range(args.subscribers):
                ready = asyncio.Event()
                readies.append(ready)
                url = urls[n % len(urls)].replace("http://", "ws://")
                desk = keys[n % len(keys)]  # desks connect at their own times
                tasks.append(
                    asyncio.create_task(subscriber(url, desk, ready, latencies, stop, retries))
                )
                if n % 20 == 19:
                    await asyncio.sleep(0.1)
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
            await asyncio.sleep(3.0)
            idle = sum(rss_mib(s.pid) for s in servers)
            per_subscription_kib = (idle - before) * 1024 / args.subscribers
            print(
                f"subscribers: {args.subscribers} over {args.processes} processes "
                f"({len(retries)} connects retried after 1013 during the connect burst)"
            )
            print(
                f"server memory: {before:.0f} MiB before, {idle:.0f} MiB with every subscriber idle "
                f"({per_subscription_kib:.1f} KiB per idle subscription, socket included)"
            )

            sent = 0
            started = time.monotonic()
            while time.monotonic() - started < args.duration:
                target = started + sent / args.rate
                await asyncio.sleep(max(0.0, target - time.monotonic()))
                attendee = attendees[sent % len(attendees)]
                response = await http.post(
                    urls[sent % len(urls)],
                    json={"query": UPDATE, "variables": {"id": str(attendee), "n": str(sent)}},
                    headers={"Authorization": f"Bearer {key}"},
                )
                response.raise_for_status()
                sent += 1
            expected = sent * args.subscribers
            deadline = time.monotonic() + 60
            while len(latencies) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            elapsed = time.monotonic() - started
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        got = sorted(latencies)
        print(
            f"mutations: {sent} at {args.rate:g}/s; events delivered: {len(got)} of {expected} "
            f"in {elapsed:.1f} s = {len(got) / elapsed:.0f} events/s"
        )
        if got:
            p50 = statistics.median(got) * 1000
            p99 = got[min(len(got) - 1, int(len(got) * 0.99))] * 1000
            print(
                f"commit-to-delivery latency: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {got[-1] * 1000:.0f} ms"
            )
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            s.wait(timeout=20)


if __name__ == "__main__":
    asyncio.run(main())
