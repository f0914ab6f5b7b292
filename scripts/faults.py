"""Break the database under a running gateway and print how requests were answered.

    scripts/faults --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB
                   [--workers 2] [--fault-seconds 5] [--clients 4]

It starts `attendee-gateway serve` on the given (migrated) PostgreSQL database, with a TCP
proxy (tests/faultproxy.py) between the two, makes an account and key of its own, and
keeps `--clients` clients sending a query or a mutation (createPatient) each, in turn,
through three scenarios:

- outage:  connections reset and new ones refused for --fault-seconds, then restored;
- restart: every connection reset at once, the link back at once (a PostgreSQL restart);
- stall:   bytes held for --fault-seconds (a database that stopped answering).

Per scenario and phase it prints how requests were answered (status and error code,
latency p50/max), the patients written whose mutation was not answered 200 (must be
0: a refused mutation changes nothing), and how long
recovery took: from the restore to the first answer of each kind that succeeded, and to
the point from which every answer succeeded. A benchmark of behaviour, not a test: the
assertions are in tests/test_fault_proxy.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faultproxy import FaultProxy  # noqa: E402

QUERY = "query Page { attendees(first: 10) { nodes { id arrived } } }"
CREATE = """mutation Create($input: CreatePatientInput!) {
  createPatient(input: $input) { patient { id } userErrors { code } }
}"""
COUNT = "query Count { patients { totalCount } }"
DEADLINES = {
    "REQUEST_TIMEOUT_SECONDS": "3",
    "DB_STATEMENT_TIMEOUT_SECONDS": "2",
    "DB_CONNECT_TIMEOUT_SECONDS": "2",
    "DB_POOL_TIMEOUT_SECONDS": "2",
}


@dataclass
class Answer:
    at: float  # seconds since the scenario started
    kind: str  # query or mutation
    outcome: str  # "200", "503 SERVICE_UNAVAILABLE", "transport error", ...
    latency_ms: float


@dataclass
class Scenario:
    name: str
    started: float = field(default_factory=time.monotonic)
    restored_at: float | None = None
    answers: list[Answer] = field(default_factory=list)


def outcome(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} (not JSON: {response.headers.get('content-type')})"
    codes = sorted({e.get("extensions", {}).get("code", "-") for e in body.get("errors") or []})
    return f"{response.status_code} {','.join(codes)}".strip()


async def load(url: str, key: str, scenario: Scenario, clients: int, seconds: float) -> None:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(client_loop(url, key, scenario, stop, n)) for n in range(clients)]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)


async def client_loop(url: str, key: str, scenario: Scenario, stop: asyncio.Event, n: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    sequence = 0
    async with httpx.AsyncClient(timeout=30, headers=headers) as http:
        while not stop.is_set():
            sequence += 1
            kind = "mutation" if sequence % 2 == 0 else "query"
            payload: dict[str, Any] = (
                {
                    "query": CREATE,
                    "variables": {"input": {"firstName": f"F{n}x{sequence}", "lastName": "Fault"}},
                }
                if kind == "mutation"
                else {"query": QUERY}
            )
            started = time.monotonic()
            try:
                response = await http.post(url, json=payload)
                result = outcome(response)
            except httpx.TransportError as exc:
                result = f"transport error ({type(exc).__name__})"
            now = time.monotonic()
            scenario.answers.append(
                Answer(now - scenario.started, kind, result, (now - started) * 1000)
            )
            await asyncio.sleep(0.05)


def report(scenario: Scenario, *, unconfirmed_writes: int) -> None:
    restored = scenario.restored_at or 0.0
    print(f"\n{scenario.name}: fault for {restored:.1f} s, then restored")
    print(f"  {'phase':<9} {'kind':<9} {'answers':>7}  {'p50 ms':>7} {'max ms':>7}  outcomes")
    for phase, chosen in (
        ("during", [a for a in scenario.answers if a.at <= restored]),
        ("after", [a for a in scenario.answers if a.at > restored]),
    ):
        for kind in ("query", "mutation"):
            rows = [a for a in chosen if a.kind == kind]
            if not rows:
                continue
            latencies = [a.latency_ms for a in rows]
            outcomes = ", ".join(
                f"{o} ×{c}" for o, c in Counter(a.outcome for a in rows).most_common()
            )
            print(
                f"  {phase:<9} {kind:<9} {len(rows):>7}  {statistics.median(latencies):>7.1f} "
                f"{max(latencies):>7.1f}  {outcomes}"
            )
    after = [a for a in scenario.answers if a.at > restored]
    for kind in ("query", "mutation"):
        first = next((a for a in after if a.kind == kind and a.outcome == "200"), None)
        shown = f"{first.at - restored:.2f} s" if first else "never"
        print(f"  recovery: first {kind} answered 200 after {shown}")
    failures = [a for a in after if a.outcome != "200"]
    steady = (failures[-1].at - restored) if failures else 0.0
    print(f"  recovery: every answer 200 from {steady:.2f} s after the restore")
    print(f"  patients written whose mutation was not answered 200: {unconfirmed_writes}")


async def count_patients(url: str, key: str) -> int:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            url, json={"query": COUNT}, headers={"Authorization": f"Bearer {key}"}
        )
        return int(response.json()["data"]["patients"]["totalCount"])


def make_key(database_url: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    cli = str(Path(sys.executable).parent / "attendee-gateway")
    account = subprocess.run(
        [cli, "create-account", "Fault drill"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    return subprocess.run(
        [cli, "create-api-key", "--account", account],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]


def run(args: argparse.Namespace) -> None:
    url = make_url(args.database_url)
    if url.get_backend_name() != "postgresql":
        sys.exit("faults: a PostgreSQL DATABASE_URL is needed (SQLite has no link to break)")
    key = make_key(args.database_url)
    with FaultProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        port = proxy.port + 1 if proxy.port < 65000 else 18123
        env = {**os.environ, **DEADLINES, "DATABASE_URL": proxied, "RATE_LIMIT": "0"}
        env.pop("REDIS_URL", None)
        cli = str(Path(sys.executable).parent / "attendee-gateway")
        command = [cli, "serve", "--port", str(port), "--workers", str(args.workers)]
        with (
            tempfile.TemporaryFile(mode="w+") as log,
            subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT) as server,
        ):
            try:
                asyncio.run(drill(f"http://127.0.0.1:{port}/graphql", key, proxy, args, log))
            finally:
                server.terminate()
                server.wait(timeout=15)


async def drill(url: str, key: str, proxy: FaultProxy, args: argparse.Namespace, log: Any) -> None:
    for _ in range(300):
        try:
            await count_patients(url, key)
            break
        except (httpx.TransportError, KeyError, ValueError):
            await asyncio.sleep(0.1)
    print(f"faults: {args.workers} worker(s), {args.clients} clients, deadlines {DEADLINES}")
    scenarios = [
        ("outage", proxy.cut, args.fault_seconds),
        ("restart", proxy.cut, 0.0),
        ("stall", proxy.stall, args.fault_seconds),
    ]
    for name, fault, seconds in scenarios:
        await load(url, key, Scenario("warm-up"), args.clients, 1.0)  # pools are warm
        before = await count_patients(url, key)
        scenario = Scenario(name)
        stop = asyncio.Event()
        clients = [
            asyncio.create_task(client_loop(url, key, scenario, stop, n))
            for n in range(args.clients)
        ]
        fault()
        await asyncio.sleep(seconds)
        proxy.restore()
        scenario.restored_at = time.monotonic() - scenario.started
        await asyncio.sleep(args.fault_seconds)
        stop.set()
        await asyncio.gather(*clients)
        written = await count_patients(url, key) - before
        confirmed = sum(1 for a in scenario.answers if a.kind == "mutation" and a.outcome == "200")
        report(scenario, unconfirmed_writes=written - confirmed)
    log.seek(0)
    text = log.read()
    leaked = [
        word for word in ("SELECT", "INSERT", "[parameters", "Traceback", key) if word in text
    ]
    print(
        f"\nserver log: {text.count('database unavailable')} fault lines, leaked: {leaked or 'nothing'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--fault-seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    run(args)


if __name__ == "__main__":
    main()
