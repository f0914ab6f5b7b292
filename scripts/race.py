"""Race the gateway against PostGraphile 5 on the same database and machine, in one run.

    scripts/race --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/<db>
                 [--key <API key> | --account <id>]
                 [--variant NAME:KEY=VALUE[,KEY=VALUE...]]... [--env KEY=VALUE]...
                 [--query first50|deep|nested|single|all]
                 [--duration 10] [--warmup 3] [--connections 8]
                 [--peer-dir ~/.cache/attendee-gateway/postgraphile] [--no-peer-sql]

For a database seeded by `attendee-gateway seed --attendees N` (one account). Without
`--key`, a fresh key is made with `attendee-gateway create-api-key` for `--account`, or for
the account that owns the most attendees. Then, in order:

1. creates the indexes PostGraphile needs (IF NOT EXISTS; see
   ../shared/peers/postgraphile/README.md beside the repository) and runs ANALYZE;
2. installs the PostGraphile peer once into `--peer-dir` (`npm ci`, cached by the lock
   file's hash) and starts it on a free port over the same database;
3. starts each gateway variant in turn (`attendee-gateway serve`, one process,
   RATE_LIMIT=0, the variant's environment, e.g. `--variant planned:EXECUTION=planned`);
4. per shape, checks that both servers return the same rows (database ids and values of
   the page, not the encodings of ids, cursors or times) and refuses to race a shape whose
   rows differ;
5. per shape, runs wrk (scripts/bench.py's driver and scripts/bench.lua) against
   PostGraphile and then against the gateway, never both at once, `--warmup` seconds
   discarded and `--duration` seconds measured each; the ratio compares these two adjacent
   runs, so slow drift of the machine affects both sides alike;
6. prints the table and a summary of gateway/PostGraphile ratios, and stops everything.

Shapes: the documents in the peer's README (read from it at start) on the PostGraphile
side, the same selections on the gateway's. "first50" is a page of 50 attendees with
patient names and booking times; "deep" the same page 150,000 rows in (half-way for
smaller lists), each side's cursor built from the database; "nested" 20 bookings x 20
attendees with patients and totalCount; "single" one attendee by id (the first row of the
deep page).

SQL/req is the gateway's X-SQL-Statements. For PostGraphile it is estimated from the
database's transaction counter (pg_stat_database; each of its statements is a
transaction of its own) over 100 sequential requests, which needs ~11 s of quiet per shape
for the counter to be flushed: `--no-peer-sql` skips it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402  (scripts/bench.py: the wrk driver and the deep-cursor code)

# The peer's set-up, in the shared folder beside the repository (PEER_SOURCE overrides).
PEER_SOURCE = Path(
    os.environ.get("PEER_SOURCE")
    or Path(__file__).resolve().parents[2] / "shared" / "peers" / "postgraphile"
)
PEER_FILES = ("package.json", "package-lock.json", "graphile.config.mjs")
DEFAULT_PEER_DIR = Path.home() / ".cache" / "attendee-gateway" / "postgraphile"
SHAPES = ("first50", "deep", "nested", "single")
PEER_SQL_REQUESTS = 100
STATS_FLUSH_SECONDS = 11.5  # an idle backend reports its counters within 10 s (PG 15)

# What PostGraphile needs to offer the orderBy/condition/relations the documents use (the
# peer README's list): (table, what follows "USING" in pg_indexes.indexdef, a name).
PEER_INDEXES = (
    ("attendee", "btree (created_at, id) WHERE (cancelled_at IS NULL)", "race_attendee_active"),
    ("attendee", "btree (account_id, booking_id)", "race_attendee_account_id_booking_id"),
    ("booking", "btree (created_at, id)", "race_booking_created_at_id"),
)
ACTIVE = "cancelled_at IS NULL AND archived_at IS NULL AND deleted_at IS NULL"

# --- the documents: the peer README's on one side, the same selections on the other ---

PEER_QUERIES = {"Attendees": "page", "AttendeeById": "single", "Classes": "nested"}


def peer_documents() -> dict[str, str]:
    """The peer README's PostGraphile documents (its ```graphql block), by role."""
    text = (PEER_SOURCE / "README.md").read_text()
    found = re.search(r"^```graphql\n(.*?)^```", text, re.M | re.S)
    if found is None:
        fail(f"no ```graphql block in {PEER_SOURCE / 'README.md'}")
    parts = re.split(r"^(?=query )", found.group(1), flags=re.M)
    documents = {}
    for part in parts:
        name = re.match(r"query (\w+)", part)
        if name and name.group(1) in PEER_QUERIES:
            documents[PEER_QUERIES[name.group(1)]] = part.strip()
    missing = set(PEER_QUERIES.values()) - set(documents)
    if missing:
        fail(f"the peer README lacks the {', '.join(sorted(missing))} document(s)")
    return documents


GATEWAY_PAGE = """query Attendees($first: Int!, $after: String) {
  attendees(first: $first, after: $after) {
  edges { cursor node { id arrived notes createdAt patient { firstName lastName } booking { startsAt endsAt } } }
  pageInfo { hasNextPage endCursor } } }"""
GATEWAY_SINGLE = """query AttendeeById($id: ID!) { attendee(id: $id) {
  id arrived notes createdAt patient { firstName lastName } booking { startsAt endsAt } } }"""
GATEWAY_NESTED = """query Classes { bookings(first: 20) { nodes { id startsAt
  attendees(first: 20) { totalCount nodes { id arrived patient { firstName lastName } } } } } }"""


def say(text: str) -> None:
    print(text, flush=True)


def machine_load() -> str:
    """Other work on the machine skews both sides: say how busy it was."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)"


def fail(text: str) -> None:
    sys.exit(f"race: {text}")


# --- database ------------------------------------------------------------------------


def plain_dsn(database_url: str) -> str:
    """postgresql+asyncpg://... as the postgresql://... that asyncpg and PostGraphile take."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        fail(f"--database-url must be a PostgreSQL URL, got {url.drivername}")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def sql(dsn: str, work: Any) -> Any:
    """Run `await work(connection)` on a fresh connection."""

    async def run() -> Any:
        conn = await asyncpg.connect(dsn)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def prepare_database(dsn: str) -> None:
    """Create the indexes PostGraphile needs unless an equal one exists; ANALYZE."""

    async def work(conn: asyncpg.Connection) -> list[str]:
        made = []
        for table, definition, name in PEER_INDEXES:
            exists = await conn.fetchval(
                "SELECT 1 FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1"
                " AND split_part(indexdef, ' USING ', 2) = $2",
                table,
                definition,
            )
            if not exists:
                await conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {definition}"
                )
                made.append(name)
        await conn.execute("ANALYZE")
        return made

    began = time.monotonic()
    made = sql(dsn, work)
    note = f"created {', '.join(made)}" if made else "PostGraphile's indexes were there"
    say(f"database: {note}; ANALYZE done ({time.monotonic() - began:.1f} s)")


def busiest_account(dsn: str) -> int:
    async def work(conn: asyncpg.Connection) -> int | None:
        return await conn.fetchval(
            "SELECT account_id FROM attendee GROUP BY account_id ORDER BY count(*) DESC LIMIT 1"
        )

    found = sql(dsn, work)
    if found is None:
        fail("the database has no attendees: seed it first (attendee-gateway seed)")
    return int(found)


def peer_deep_rows(dsn: str, offset: int) -> tuple[str, int, int]:
    """(created_at as text, id) of the row before the deep page, and the page's first id, in
    PostGraphile's list: every account's active attendees by (created_at, id)."""

    async def work(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        return await conn.fetch(
            f"SELECT to_json(created_at) #>> '{{}}' AS created_at, id FROM attendee"
            f" WHERE {ACTIVE} ORDER BY created_at, id OFFSET $1 LIMIT 2",
            offset - 1,
        )

    rows = sql(dsn, work)
    if len(rows) < 2:
        fail("too few attendees for a deep page")
    return rows[0]["created_at"], rows[0]["id"], rows[1]["id"]


def transactions(dsn: str) -> int:
    async def work(conn: asyncpg.Connection) -> int:
        return await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        )

    return int(sql(dsn, work))


# --- processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A process this script started (in its own process group) and its log file."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join("    " + line for line in text[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group this script created
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start(
    name: str, cmd: list[str], cwd: Path, env: dict[str, str], port: int, logs: Path, key: str
) -> Server | None:
    """Start a server and wait until it answers a GraphQL request; None when it does not."""
    log = logs / f"{name.replace('/', '_').replace(' ', '_')}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, f"http://127.0.0.1:{port}/graphql", proc, log)
    deadline = time.monotonic() + 90
    headers = {"Authorization": f"Bearer {key}"}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            say(f"race: {name} exited with {proc.returncode} while starting:\n{server.log_tail()}")
            return None
        with contextlib.suppress(httpx.HTTPError):
            resp = httpx.post(
                server.url, json={"query": "{ __typename }"}, headers=headers, timeout=5
            )
            if resp.status_code == 200:
                return server
        time.sleep(0.3)
    say(f"race: {name} did not answer within 90 s:\n{server.log_tail()}")
    server.stop()
    return None


def install_peer(peer_dir: Path) -> None:
    """Copy the peer's files into `peer_dir` and `npm ci` there, once per lock file."""
    if shutil.which("npm") is None:
        fail("npm is not installed (PostGraphile runs on Node)")
    peer_dir.mkdir(parents=True, exist_ok=True)
    for name in PEER_FILES:
        source = PEER_SOURCE / name
        if not source.exists():
            fail(f"{source} is missing")
        if not (peer_dir / name).exists() or (peer_dir / name).read_bytes() != source.read_bytes():
            shutil.copyfile(source, peer_dir / name)
    lock_hash = hashlib.sha256((peer_dir / "package-lock.json").read_bytes()).hexdigest()
    stamp = peer_dir / "node_modules" / ".race-installed"
    if stamp.exists() and stamp.read_text().strip() == lock_hash:
        return
    say(f"peer: npm ci in {peer_dir} (once; ~480 MB)")
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=peer_dir, capture_output=True, text=True
    )
    if done.returncode != 0:
        fail(f"npm ci failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    stamp.write_text(lock_hash + "\n")


def gateway_key(args: argparse.Namespace, dsn: str) -> str:
    if args.key:
        return args.key
    account = args.account or busiest_account(dsn)
    cmd = [str(ROOT / ".venv" / "bin" / "attendee-gateway"), "create-api-key"]
    cmd += ["--account", str(account), "--name", "scripts/race"]
    env = {**os.environ, "DATABASE_URL": args.database_url}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"create-api-key failed: {done.stderr.strip() or done.stdout.strip()}")
    say(f"gateway: made an API key for account {account}")
    return done.stdout.strip().splitlines()[-1]


# --- comparing answers ---------------------------------------------------------------


def row_id(value: str) -> int:
    """The database id in either side's global id: the gateway's base64("Type:id"),
    PostGraphile's base64('["Type","id"]'). Type names differ (GroupAppointment vs
    Booking), so only the id is compared."""
    text = base64.b64decode(value + "=" * (-len(value) % 4)).decode()
    if text.startswith("["):
        return int(json.loads(text)[-1])
    return int(text.rpartition(":")[2])


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def attendee_row(node: dict[str, Any]) -> tuple[Any, ...]:
    patient, booking = node["patient"], node["booking"]
    return (
        row_id(node["id"]),
        node["arrived"],
        node["notes"],
        when(node["createdAt"]),
        (patient["firstName"], patient["lastName"]),
        (when(booking["startsAt"]), when(booking["endsAt"])),
    )


def rows(shape: str, data: dict[str, Any]) -> Any:
    """What a shape's answer says, independent of how each server encodes it."""
    if shape in ("first50", "deep"):
        page = data["attendees"]
        edges = [attendee_row(edge["node"]) for edge in page["edges"]]
        return {"rows": edges, "hasNextPage": page["pageInfo"]["hasNextPage"]}
    if shape == "single":
        return data["attendee"] and attendee_row(data["attendee"])
    return [
        (
            row_id(booking["id"]),
            when(booking["startsAt"]),
            booking["attendees"]["totalCount"],
            [
                (row_id(a["id"]), a["arrived"], a["patient"]["firstName"], a["patient"]["lastName"])
                for a in booking["attendees"]["nodes"]
            ],
        )
        for booking in data["bookings"]["nodes"]
    ]


def first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return first_difference(a.get(k), b.get(k), f"{path}.{k}")
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path or 'answer'}: {len(a)} items on the gateway, {len(b)} on PostGraphile"
    return f"{path or 'answer'}: gateway {a!r}, PostGraphile {b!r}"


def size(shape: str, found: Any) -> str:
    if shape in ("first50", "deep"):
        return f"{len(found['rows'])} attendees"
    if shape == "single":
        return "1 attendee" if found else "no attendee"
    return f"{len(found)} bookings, {sum(len(b[3]) for b in found)} attendees"


# --- the race ------------------------------------------------------------------------


@dataclass
class Shape:
    name: str
    gateway: dict[str, Any]  # request bodies
    peer: dict[str, Any]
    peer_sql: float | None = None
    results: dict[str, Any] = field(default_factory=dict)


def post(url: str, key: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.post(url, json=body, headers=headers, timeout=120)


def answer(url: str, key: str, body: dict[str, Any], who: str) -> tuple[dict[str, Any], str]:
    """(data, X-SQL-Statements) of one request; exits on an error answer."""
    resp = post(url, key, body)
    try:
        payload = resp.json()
    except ValueError:
        payload = {}
    if resp.status_code != 200 or payload.get("errors") or "data" not in payload:
        fail(f"{who} answered {resp.status_code}: {resp.text[:500]}")
    return payload["data"], resp.headers.get("x-sql-statements", "?")


def build_shapes(
    names: list[str], args: argparse.Namespace, dsn: str, key: str, peer_url: str
) -> list[Shape]:
    """Request bodies per shape for both sides: the deep cursors and the single id."""
    first = {"first": 50}
    peer = peer_documents()
    shapes = {
        "first50": Shape(
            "first50",
            {"query": GATEWAY_PAGE, "variables": first},
            {"query": peer["page"], "variables": first},
        ),
        "nested": Shape("nested", {"query": GATEWAY_NESTED}, {"query": peer["nested"]}),
    }
    if "deep" in names or "single" in names:
        started = time.monotonic()
        cursor, offset, total = bench.deep_cursor(None, key, args.database_url)  # type: ignore[arg-type]
        created_at, before_id, single_id = peer_deep_rows(dsn, offset)
        # PostGraphile's cursor: base64 of [digest of the ordering, created_at, id]; the digest
        # is read from a cursor of its own first page.
        page, _ = answer(peer_url, key, {"query": peer["page"], "variables": first}, "PostGraphile")
        edges = page["attendees"]["edges"]
        if not edges:
            fail("PostGraphile lists no attendees")
        digest = json.loads(base64.b64decode(edges[0]["cursor"]))[0]
        plain = json.dumps([digest, created_at, str(before_id)], separators=(",", ":"))
        peer_cursor = base64.b64encode(plain.encode()).decode()
        say(
            f"deep: the page starts at row offset {offset:,} of {total:,}; cursors built from"
            f" the database in {time.monotonic() - started:.1f} s"
        )
        shapes["deep"] = Shape(
            "deep",
            {"query": GATEWAY_PAGE, "variables": {**first, "after": cursor}},
            {"query": peer["page"], "variables": {**first, "after": peer_cursor}},
        )
        # The single attendee: the first row of the deep page. PostGraphile's global id comes
        # from PostGraphile (its deep page); the gateway's is base64("Attendee:<id>").
        deep_page, _ = answer(peer_url, key, shapes["deep"].peer, "PostGraphile")
        peer_edges = deep_page["attendees"]["edges"]
        if not peer_edges or row_id(peer_edges[0]["node"]["id"]) != single_id:
            fail("PostGraphile's deep page does not start at the row the database says")
        gateway_id = base64.b64encode(f"Attendee:{single_id}".encode()).decode()
        shapes["single"] = Shape(
            "single",
            {"query": GATEWAY_SINGLE, "variables": {"id": gateway_id}},
            {"query": peer["single"], "variables": {"id": peer_edges[0]["node"]["id"]}},
        )
        say(f"single: attendee {single_id} (the deep page's first row)")
    return [shapes[name] for name in names]


def measure_peer_sql(shapes: list[Shape], dsn: str, peer_url: str, key: str) -> None:
    """PostGraphile's statements per request, from the database's transaction counter."""
    say(
        f"peer SQL/req: {PEER_SQL_REQUESTS} requests per shape, {STATS_FLUSH_SECONDS:g} s quiet each"
    )
    time.sleep(STATS_FLUSH_SECONDS)
    before = transactions(dsn)
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        for shape in shapes:
            for _ in range(PEER_SQL_REQUESTS):
                client.post(peer_url, json=shape.peer)
            time.sleep(STATS_FLUSH_SECONDS)
            after = transactions(dsn)
            # less the reading connection's own transaction
            shape.peer_sql = (after - before - 1) / PEER_SQL_REQUESTS
            before = after


def load(wrk: str, args: argparse.Namespace, url: str, key: str, body: dict[str, Any]) -> Any:
    raw = httpx.Request("POST", url, json=body).content
    options = SimpleNamespace(url=url, key=key, connections=args.connections)
    if args.warmup > 0:
        bench.run_wrk(wrk, options, raw, args.warmup)  # type: ignore[arg-type]
    return bench.run_wrk(wrk, options, raw, args.duration)  # type: ignore[arg-type]


HEADER = (
    f"{'shape':<8} {'server':<22} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'errors':>6} {'SQL/req':>7} {'gw/PG5':>7}"
)


def line(shape: str, server: str, r: dict[str, float], statements: str, ratio: str = "") -> str:
    errors = int(r["non200"] + r["graphql"] + r["socket"])
    return (
        f"{shape:<8} {server:<22} {r['rps']:>9.1f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
        f"{errors:>6} {statements:>7} {ratio:>7}"
    )


def race_variant(
    variant: str,
    gateway: Server,
    peer: Server,
    shapes: list[Shape],
    wrk: str,
    key: str,
    args: argparse.Namespace,
) -> bool:
    """Check then race every shape against one gateway variant; False if any was refused."""
    all_ok = True
    for shape in shapes:
        gateway_data, statements = answer(gateway.url, key, shape.gateway, f"gateway {variant}")
        peer_data, _ = answer(peer.url, key, shape.peer, "PostGraphile")
        ours, theirs = rows(shape.name, gateway_data), rows(shape.name, peer_data)
        if ours != theirs:
            say(
                f"{shape.name:<8} REFUSED for {variant}: the rows differ"
                f" ({first_difference(ours, theirs)})"
            )
            shape.results[variant] = None
            all_ok = False
            continue
        if not ours or (isinstance(ours, dict) and not ours["rows"]):
            say(f"{shape.name:<8} warning: both sides answer an empty {shape.name}")
        peer_run = load(wrk, args, peer.url, key, shape.peer)
        peer_sql = "?" if shape.peer_sql is None else f"~{shape.peer_sql:.1f}"
        say(line(shape.name, "postgraphile", peer_run, peer_sql))
        gateway_run = load(wrk, args, gateway.url, key, shape.gateway)
        ratio = gateway_run["rps"] / peer_run["rps"] if peer_run["rps"] else 0.0
        shape.results[variant] = (ratio, gateway_run, peer_run)
        say(line(shape.name, f"gateway[{variant}]", gateway_run, statements, f"{ratio:.2f}x"))
        say(f"{'':<8} (same rows: {size(shape.name, ours)})")
    return all_ok


def parse_env(pairs: list[str], what: str) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"{what}: expected KEY=VALUE, got {pair!r}")
        env[name.strip()] = value
    return env


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, settings = text.partition(":")
    if not name:
        fail(f"--variant: expected NAME:KEY=VALUE[,KEY=VALUE...], got {text!r}")
    return name, parse_env([p for p in settings.split(",") if p], f"--variant {name}")


@contextlib.contextmanager
def started(servers: list[Server]) -> Iterator[None]:
    try:
        yield
    finally:
        for server in reversed(servers):
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="postgresql+asyncpg://... URL")
    parser.add_argument("--key", help="an API key of the seeded account")
    parser.add_argument("--account", type=int, help="without --key: make a key for this account")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE[,...]",
        help="a gateway variant to race (repeatable); default: one, with no extra settings",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="for every variant"
    )
    parser.add_argument("--query", choices=[*SHAPES, "all"], default="all")
    parser.add_argument("--duration", type=float, default=10, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds discarded first")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--peer-dir", type=Path, default=DEFAULT_PEER_DIR)
    parser.add_argument(
        "--no-peer-sql", action="store_true", help="skip estimating PostGraphile's SQL/req"
    )
    args = parser.parse_args()

    dsn = plain_dsn(args.database_url)
    common = parse_env(args.env, "--env")
    variants = [parse_variant(v) for v in args.variant] or [("default", {})]
    if len({name for name, _ in variants}) != len(variants):
        fail("two variants have the same name")
    names = list(SHAPES) if args.query == "all" else [args.query]
    wrk = bench.find_wrk()
    if wrk is None:
        fail("wrk is not installed (apt-get install wrk)")

    prepare_database(dsn)
    key = gateway_key(args, dsn)
    install_peer(args.peer_dir)
    logs = Path(tempfile.mkdtemp(prefix="agw-race-"))
    servers: list[Server] = []
    refused = False
    with started(servers):
        port = free_port()
        peer = start(
            "postgraphile",
            ["npm", "start"],
            args.peer_dir,
            {"PG5_DSN": dsn, "PORT": str(port)},
            port,
            logs,
            key,
        )
        if peer is None:
            fail("PostGraphile did not start")
        servers.append(peer)
        say(f"peer: PostGraphile 5 at {peer.url} (log {peer.log})")
        shapes = build_shapes(names, args, dsn, key, peer.url)
        if not args.no_peer_sql:
            measure_peer_sql(shapes, dsn, peer.url, key)
        say(
            f"wrk: {args.connections} connections, {args.duration:g} s measured after"
            f" {args.warmup:g} s warm-up, one server at a time; logs in {logs}"
        )
        raced: list[str] = []
        for variant, env in variants:
            port = free_port()
            settings = {
                "DATABASE_URL": args.database_url,
                "RATE_LIMIT": "0",
                **common,
                **env,
            }
            described = " ".join(f"{k}={v}" for k, v in {**common, **env}.items()) or "defaults"
            cmd = [str(ROOT / ".venv" / "bin" / "attendee-gateway"), "serve", "--port", str(port)]
            gateway = start(f"gateway-{variant}", cmd, ROOT, settings, port, logs, key)
            if gateway is None:
                say(f"race: skipping variant {variant} ({described})")
                refused = True
                continue
            servers.append(gateway)
            say(f"\ngateway[{variant}]: {described}, at {gateway.url} ({machine_load()})")
            say(HEADER)
            refused |= not race_variant(variant, gateway, peer, shapes, wrk, key, args)
            gateway.stop()
            servers.remove(gateway)
            raced.append(variant)

    if raced:
        say(f"\nrequests/s, gateway / PostGraphile 5 (adjacent runs; {machine_load()}):")
        say(f"{'shape':<8} " + " ".join(f"{v:>12}" for v in raced))
        for shape in shapes:
            cells = []
            for v in raced:
                result = shape.results.get(v)
                cells.append(f"{result[0]:>11.2f}x" if result else f"{'refused':>12}")
            say(f"{shape.name:<8} " + " ".join(cells))
    if refused or not raced:
        sys.exit(1)


if __name__ == "__main__":
    main()
