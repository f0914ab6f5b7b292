"""The `attendee-gateway` command: serve, migrate, seed, accounts and keys, schema export,
Cliniko import."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import copy
import functools
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings, load_settings
from app.db import Database, create_database
from app.seed.base import AccountNotFound, SeedError

T = TypeVar("T")
SCHEMA_PATH = Path("graphql_schema") / "schema.graphql"
ADMIN_STATEMENT_TIMEOUT_SECONDS = 6 * 3600.0


class CliError(Exception):
    """A problem to report on one line, with the process exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database, run `work`, and close it again. Seeding a million rows or an
    import runs long statements: the server's statement deadline does not apply here."""

    async def run() -> T:
        db = create_database(
            replace(settings, db_statement_timeout_seconds=ADMIN_STATEMENT_TIMEOUT_SECONDS)
        )
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
        "json": {"()": "app.logs.JsonLines"},
    },
    # Library loggers (SQLAlchemy's pool, asyncio) may attach exceptions whose text holds
    # SQL and parameters: the filter logs their type instead.
    "filters": {"no_exception_text": {"()": "app.logs.NoExceptionText"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_exception_text"],
        }
    },
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "app": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def _demo_key_file(path: str, host: str, settings: Settings) -> dict[str, str]:
    """--demo-key-file: on a loopback host only, and only seed-demo's own key."""
    from app.demo import demo_key_problem, is_loopback, read_key, serve_environment

    if not is_loopback(host):
        raise CliError(
            f"--demo-key-file puts the demo API key into the GraphiQL page, so serve refuses it "
            f"on {host}: use it only on 127.0.0.1, ::1 or localhost",
            code=2,
        )
    try:
        key = read_key(path)
    except OSError as error:
        raise CliError(f"--demo-key-file: cannot read {path}: {error.strerror}", code=2) from None

    async def check(db: Database) -> str | None:
        async with db.read.connect() as conn:
            return await demo_key_problem(conn, key)

    problem = _with_db(settings, check) if key else "the file is empty"
    if problem is not None:
        raise CliError(f"--demo-key-file {path}: {problem}", code=2)
    return serve_environment(path, key)


def _metrics_directory(settings: Settings) -> None:
    """METRICS=true: prometheus-client's multiprocess mode. Every worker writes its series
    to files in this directory and a scrape answered by any worker reads them all. A fresh
    directory per run (the counters start at zero), removed when serve exits; it must be
    in the environment before anything imports prometheus-client."""
    if settings.metrics:
        directory = tempfile.mkdtemp(prefix="attendee-gateway-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        # A single process stopped by SIGTERM: uvicorn shuts down, puts back the handler it
        # found (this one) and raises the signal again, which ends the process without
        # atexit. This handler removes the directory, then lets the signal end the process.
        signal.signal(signal.SIGTERM, functools.partial(_remove_then_die, directory))


def _remove_then_die(directory: str, signum: int, _frame: object) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


SQLITE_WORKERS = (
    "SQLite with --workers: each process polls the event log every 0.5 s for the others' "
    "changes (subscribers see them within a second) and counts the per-key socket limit "
    "on its own; use PostgreSQL to serve from several processes in production."
)


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from app.demo import DEMO_ENVIRONMENT

    host = args.host or settings.host
    if settings.is_sqlite and args.workers > 1:  # subscriptions: app/events/hub.py
        sys.stderr.write(SQLITE_WORKERS + "\n")
    # The server processes learn the key's file from the environment (never the key itself);
    # without the option no page carries a key, whatever the calling shell had set.
    for name in DEMO_ENVIRONMENT:
        os.environ.pop(name, None)
    if args.demo_key_file is not None:
        os.environ.update(_demo_key_file(args.demo_key_file, host, settings))
    log_config = copy.deepcopy(LOG_CONFIG)
    log_config["handlers"]["stderr"]["formatter"] = settings.log_format
    _metrics_directory(settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=args.port or settings.port,
        workers=args.workers,
        access_log=False,  # it would log GET query strings, which can hold patient data
        log_config=log_config,
        # What slow or hostile clients can hold in one process (README: Reliability).
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=settings.keep_alive_seconds,
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        # uvicorn kills a worker that has not answered its health ping within this; a worker
        # starting on a busy machine can take longer than the default 5 s to answer the first
        # (seen: `--workers 2` killed and respawned its workers in a loop under load).
        timeout_worker_healthcheck=30,
    )


def _migrate(_args: argparse.Namespace, settings: Settings) -> None:
    from alembic.util import CommandError

    from app.migrate import upgrade_to_head

    try:
        upgrade_to_head(settings.database_url)
    except CommandError as error:
        raise CliError(f"migration failed: {error}") from None
    _out(f"Database schema is up to date ({_safe_url(settings.database_url)}).")


def _seed_demo(_args: argparse.Namespace, settings: Settings) -> None:
    from app.seed import seed_demo

    key = _with_db(settings, seed_demo)
    _out("Seeded the demo clinics 'Harbourside Physio' (main) and 'Northside Pilates'.")
    _out("API key of 'Harbourside Physio' (shown once, stored hashed):")
    _out(key)


def _seed(args: argparse.Namespace, settings: Settings) -> None:
    from app.seed import seed_bulk

    started = time.perf_counter()
    key = _with_db(
        settings,
        lambda db: seed_bulk(
            db, attendees=args.attendees, account_id=args.account, progress=sys.stderr.isatty()
        ),
    )
    _out(f"Inserted {args.attendees:,} attendees in {time.perf_counter() - started:.1f} s.")
    _out("API key for the benchmark account (shown once, stored hashed):")
    _out(key)


def _create_account(args: argparse.Namespace, settings: Settings) -> None:
    from app.seed import create_account

    async def work(db: Database) -> int:
        async with db.write.begin() as conn:
            return await create_account(conn, name=args.name)

    if not args.name.strip():
        raise CliError("the account name must not be empty", code=2)
    account_id = _with_db(settings, work)
    _out(f"Created account {args.name!r}; its id:")
    _out(str(account_id))


def _create_api_key(args: argparse.Namespace, settings: Settings) -> None:
    from app.scopes import DEFAULT_SCOPES, SCOPES
    from app.seed import create_api_key

    scopes = [scope for scope in SCOPES if scope in (args.scope or DEFAULT_SCOPES)]

    async def work(db: Database) -> str:
        async with db.write.begin() as conn:
            return await create_api_key(
                conn, account_id=args.account, name=args.name, scopes=scopes
            )

    key = _with_db(settings, work)
    _out(
        f"API key for account {args.account}, scopes {' '.join(scopes)} (shown once, stored hashed):"
    )
    _out(key)


def _revoke_api_key(args: argparse.Namespace, settings: Settings) -> None:
    from app.auth import revoke_api_key

    if (args.key is None) == (args.id is None):
        raise CliError("give either the key or --id ID", code=2)

    async def work(db: Database) -> int | None:
        async with db.write.begin() as conn:
            return await revoke_api_key(conn, key=args.key, key_id=args.id)

    revoked = _with_db(settings, work)
    if revoked is None:
        raise CliError("no such API key, or it is already revoked", code=2)
    _out(f"Revoked API key {revoked}; requests with it now get 401.")


def _export_schema(args: argparse.Namespace, _settings: Settings) -> None:
    from strawberry.printer import print_schema

    try:
        from app.schema import schema
    except ModuleNotFoundError as error:
        raise CliError(f"cannot load the GraphQL schema: {error}") from None

    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(print_schema(schema) + "\n", encoding="utf-8")
    _out(f"Wrote {path}.")


def _import_cliniko(args: argparse.Namespace, settings: Settings) -> None:
    from app.importer import SourceError, import_cliniko

    path = Path(args.path)
    try:
        report = _with_db(
            settings,
            lambda db: import_cliniko(
                db, path, account_id=args.account, progress=sys.stderr.isatty()
            ),
        )
    except SourceError as error:
        raise CliError(str(error), code=2) from None
    for line in report.notes + report.problems:
        _out(line)
    _out(f"Imported {path} into account {args.account}:")
    for line in report.summary():
        _out(line)
    if report.rejected:
        raise CliError(
            f"{report.rejected} rejected (listed above); everything else was imported", code=3
        )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attendee-gateway", description="GraphQL gateway over Cliniko-shaped clinic data."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the server under uvicorn")
    serve.add_argument("--host", help="address to bind (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=_positive, help="port (default: PORT or 8000)")
    serve.add_argument("--workers", type=_positive, default=1, help="worker processes")
    serve.add_argument(
        "--demo-key-file",
        metavar="PATH",
        help="local demo only (scripts/run): GraphiQL opens with the demo key in this file; "
        "refused unless the host is loopback",
    )
    serve.set_defaults(run=_serve)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        run=_migrate
    )
    sub.add_parser("seed-demo", help="fill an empty database with demo data").set_defaults(
        run=_seed_demo
    )
    seed = sub.add_parser("seed", help="add bulk synthetic data for benchmarks")
    seed.add_argument("--attendees", type=_positive, required=True, metavar="N")
    seed.add_argument("--account", type=_positive, metavar="ID", help="existing account to fill")
    seed.set_defaults(run=_seed)
    account = sub.add_parser("create-account", help="create an account; prints its id")
    account.add_argument("name", metavar="NAME")
    account.set_defaults(run=_create_account)
    key = sub.add_parser("create-api-key", help="create an API key; prints it once")
    key.add_argument("--account", type=_positive, required=True, metavar="ID")
    key.add_argument("--name", metavar="LABEL", help="a label to recognise the key by")
    key.add_argument(
        "--scope",
        action="append",
        choices=("read", "write", "audit"),
        help="what the key may do; repeat for several (default: --scope read --scope write)",
    )
    key.set_defaults(run=_create_api_key)
    revoke = sub.add_parser("revoke-api-key", help="revoke an API key at once")
    revoke.add_argument("key", nargs="?", metavar="KEY", help="the key itself")
    revoke.add_argument("--id", type=_positive, metavar="ID", help="or the key's id")
    revoke.set_defaults(run=_revoke_api_key)
    cliniko = sub.add_parser("import-cliniko", help="import Cliniko API JSON (file or folder)")
    cliniko.add_argument("path", metavar="PATH", help="a JSON file, or a folder of them")
    cliniko.add_argument("--account", type=_positive, required=True, metavar="ID")
    cliniko.set_defaults(run=_import_cliniko)
    export = sub.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default=str(SCHEMA_PATH), metavar="PATH")
    export.set_defaults(run=_export_schema)
    return parser


def _explain(error: SQLAlchemyError | OSError) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return f"{text} (run `attendee-gateway migrate` first)"
    return text


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    settings = load_settings()
    try:
        args.run(args, settings)
    except CliError as error:
        _fail(str(error), error.code)
    except (SQLAlchemyError, OSError) as error:
        _fail(f"database error: {_explain(error)}", 1)
    except SeedError as error:
        _fail(str(error), 2 if isinstance(error, AccountNotFound) else 1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"attendee-gateway: error: {message}\n")
    raise SystemExit(code)
