"""Load-test a running gateway: requests/s, p50/p99 latency, errors, SQL per request.

    scripts/bench --url http://127.0.0.1:8000/graphql --key <API key>
                  [--duration 10] [--connections 8] [--warmup 3]
                  [--query first50|deep|nested|single|all] [--database-url URL]

Load comes from `wrk` with scripts/bench.lua (installed with apt-get when missing and we
are root); without wrk, an asyncio + httpx generator in this file stands in (slower: it
can saturate before the server does, so compare figures only within one generator).
Each query is first sent once to check it and to read `X-SQL-Statements`, then run for
`--warmup` seconds (discarded), then measured for `--duration` seconds.

"deep" is the first50 page 150,000 rows in (or half-way, for smaller lists). Its cursor
is walked to with `first: 100` pages, or, given `--database-url`, built from one row
read straight from the database with the app's own pagination code (no walking).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
DEEP_ROWS = 150_000
WALK_PAGE = 100


def deep_offset(total: int) -> int:
    """150,000 rows in when a full page follows there; the middle of a smaller list."""
    offset = DEEP_ROWS if total >= DEEP_ROWS + 50 else total // 2
    if offset < 1:
        sys.exit("bench: too few attendees for a deep page")
    return offset


ATTENDEE_PAGE = """query Bench($after: String) {
  attendees(first: 50, after: $after) { edges { cursor node {
    id arrived notes createdAt
    patient { firstName lastName }
    booking { startsAt endsAt }
  } } }
}"""
NESTED = """query Bench {
  bookings(first: 20, filter: {kind: GROUP}) { nodes {
    startsAt
    attendees(first: 20) { totalCount nodes { arrived patient { firstName } } }
  } }
}"""
SINGLE = """query Bench($id: ID!) {
  attendee(id: $id) { id arrived notes patient { firstName lastName } booking { startsAt } }
}"""
QUERY_NAMES = ("first50", "deep", "nested", "single")


class Api:
    """Plain requests for the set-up work (not the measured load)."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=120)

    def post(self, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(self.url, json=body)

    def data(self, query: str, **variables: Any) -> Any:
        resp = self.post({"query": query, "variables": variables})
        payload = (
            resp.json()
            if resp.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if resp.status_code != 200 or payload.get("errors"):
            sys.exit(f"bench: set-up query failed ({resp.status_code}): {resp.text[:500]}")
        return payload["data"]


# --- the deep cursor -----------------------------------------------------------------


def deep_cursor(api: Api, key: str, database_url: str | None) -> tuple[str, int, int]:
    """(cursor, rows before it, total rows) for the deep page."""
    if database_url:
        return asyncio.run(deep_cursor_from_db(database_url, key))
    total = api.data("{ attendees { totalCount } }")["attendees"]["totalCount"]
    target = deep_offset(total)
    walked, cursor, started = 0, None, time.monotonic()
    page = """query($n: Int!, $after: String) {
      attendees(first: $n, after: $after) { pageInfo { endCursor } }
    }"""
    while walked < target:
        size = min(WALK_PAGE, target - walked)
        cursor = api.data(page, n=size, after=cursor)["attendees"]["pageInfo"]["endCursor"]
        walked += size
        if walked % 10_000 == 0 or walked == target:
            rate = walked / (time.monotonic() - started)
            print(f"  deep: walked {walked:,} / {target:,} rows ({rate:,.0f} rows/s)", flush=True)
    assert cursor is not None
    return cursor, walked, total


async def deep_cursor_from_db(database_url: str, key: str) -> tuple[str, int, int]:
    sys.path.insert(0, str(HERE.parent))
    from app import pagination as pg
    from app.auth import authenticate
    from app.config import Settings
    from app.context import RequestDB
    from app.db import create_database
    from app.graphql.attendees import ATTENDEES as spec

    database = create_database(Settings(database_url=database_url))
    try:
        db = RequestDB(database.read, account_id=0)
        found = await authenticate(db, key)
        if found is None:
            sys.exit("bench: the API key is not in that database")
        db.account_id = found[0]
        keys = pg.ordering([], spec.default_order)  # attendees(first: 50): default order
        where = spec.where(None)
        total = await pg.count(db, spec.table, where)
        target = deep_offset(total)
        stmt = (
            db.select_from(spec.table, *(spec.table.c[name] for name, _ in keys))
            .where(*where)
            .order_by(*pg.order_clauses(spec.table, keys, forward=True))
            .offset(target - 1)
            .limit(1)
        )
        row = (await db.fetch(stmt))[0]
        fp = pg.fingerprint(spec.name, keys, None)
        await db.close()
        return pg.encode_cursor(fp, list(row)), target, total
    finally:
        await database.dispose()


# --- load generators -----------------------------------------------------------------


def find_wrk() -> str | None:
    if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: installing wrk (apt-get install -y wrk)", flush=True)
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if subprocess.run(install, **quiet).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], **quiet)
            subprocess.run(install, **quiet)
    return shutil.which("wrk")


def run_wrk(wrk: str, args: argparse.Namespace, body: bytes, seconds: float) -> dict[str, float]:
    threads = max(1, min(2, args.connections))
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{args.connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(HERE / "bench.lua"),
        args.url,
    ]
    env = {**os.environ, "BENCH_BODY": body.decode(), "BENCH_AUTH": f"Bearer {args.key}"}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"^BENCH (.*)$", out.stdout, re.M)
    if out.returncode != 0 or found is None:
        sys.exit(f"bench: wrk failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    fields = {k: float(v) for k, v in (kv.split("=") for kv in found.group(1).split())}
    return {
        "rps": fields["requests"] / (fields["duration_us"] / 1e6),
        "p50": fields["p50_us"] / 1000,
        "p99": fields["p99_us"] / 1000,
        "non200": fields["non200"],
        "graphql": fields["graphql"],
        "socket": fields["socket"],
    }


async def run_python(args: argparse.Namespace, body: bytes, seconds: float) -> dict[str, float]:
    """The fallback: `connections` workers, each sending one request at a time."""
    headers = {"Authorization": f"Bearer {args.key}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=args.connections)
    latencies: list[float] = []
    counts = {"non200": 0, "graphql": 0, "socket": 0}
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            while (sent := time.perf_counter()) < deadline:
                try:
                    resp = await client.post(args.url, content=body)
                except httpx.HTTPError:
                    counts["socket"] += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                if resp.status_code != 200:
                    counts["non200"] += 1
                elif b'"errors":' in resp.content:
                    counts["graphql"] += 1

        await asyncio.gather(*(worker() for _ in range(args.connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0
        )

    return {"rps": len(latencies) / elapsed, "p50": pct(0.50), "p99": pct(0.99), **counts}


# --- main ----------------------------------------------------------------------------


def bodies(api: Api, args: argparse.Namespace, names: list[str]) -> dict[str, dict[str, Any]]:
    """The request body of each chosen query (finding the deep cursor and an attendee id)."""
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        if name == "first50":
            out[name] = {"query": ATTENDEE_PAGE, "variables": {}}
        elif name == "deep":
            started = time.monotonic()
            cursor, offset, total = deep_cursor(api, args.key, args.database_url)
            how = "from the database" if args.database_url else "walked"
            print(
                f"deep: page starts at row offset {offset:,} of {total:,} "
                f"(cursor {how} in {time.monotonic() - started:.1f} s)",
                flush=True,
            )
            out[name] = {"query": ATTENDEE_PAGE, "variables": {"after": cursor}}
        elif name == "nested":
            out[name] = {"query": NESTED, "variables": {}}
        elif name == "single":
            nodes = api.data("{ attendees(first: 1) { nodes { id } } }")["attendees"]["nodes"]
            if not nodes:
                sys.exit("bench: no attendee to fetch")
            out[name] = {"query": SINGLE, "variables": {"id": nodes[0]["id"]}}
    return out


def check(api: Api, name: str, body: dict[str, Any]) -> str:
    """Send the query once: warn about a failure; return its X-SQL-Statements header."""
    resp = api.post(body)
    if resp.status_code != 200 or b'"errors":' in resp.content:
        print(f"bench: WARNING {name} answered {resp.status_code}: {resp.text[:300]}", flush=True)
    return resp.headers.get("x-sql-statements", "?")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--key", required=True, help="API key (sent as a Bearer token)")
    parser.add_argument("--duration", type=float, default=10, help="seconds measured per query")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of discarded load first")
    parser.add_argument("--query", choices=[*QUERY_NAMES, "all"], default="all")
    parser.add_argument("--database-url", help="read the deep cursor from this database")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()

    wrk = find_wrk() if args.generator != "python" else None
    if args.generator == "wrk" and wrk is None:
        sys.exit("bench: wrk is not installed")

    def load(body: bytes, seconds: float) -> dict[str, float]:
        if wrk is not None:
            return run_wrk(wrk, args, body, seconds)
        return asyncio.run(run_python(args, body, seconds))

    api = Api(args.url, args.key)
    names = list(QUERY_NAMES) if args.query == "all" else [args.query]
    chosen = bodies(api, args, names)
    print(
        f"{'wrk' if wrk else 'python (httpx) generator'}: {args.connections} connections, "
        f"{args.duration:g} s per query after {args.warmup:g} s warm-up, {args.url}",
        flush=True,
    )
    print(f"{'query':<8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'SQL/req':>8}")
    for name, body in chosen.items():
        statements = check(api, name, body)
        raw = httpx.Request("POST", args.url, json=body).content
        if args.warmup > 0:
            load(raw, args.warmup)
        r = load(raw, args.duration)
        errors = int(r["non200"] + r["graphql"] + r["socket"])
        line = f"{name:<8} {r['rps']:>9.1f} {r['p50']:>8.2f} {r['p99']:>8.2f} {errors:>7} {statements:>8}"
        if errors:
            line += f"  (non-200 {r['non200']:.0f}, GraphQL {r['graphql']:.0f}, socket {r['socket']:.0f})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
