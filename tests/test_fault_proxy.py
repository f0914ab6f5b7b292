"""Network faults between a real `attendee-gateway serve` and PostgreSQL (§10).

A TCP proxy (tests/faultproxy.py) stands between the server and the database and is cut
(connections reset, new ones refused: an outage or a restart) or stalled (bytes held: a
hung database). Requests get the contract's 503 within the deadline, mutations during the
fault change nothing, and once the database is back the first query, mutation and query
all succeed, in every worker process. The log holds no SQL, parameters or key material.
PostgreSQL only: SQLite is a file, with no link to break (its faults: test_faults.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import generate_api_key, hash_api_key
from app.config import Settings
from app.db import create_database
from tests.conftest import _pg_url, migrated_database
from tests.factories import Factory, Tenant
from tests.faultproxy import FaultProxy
from tests.gateway_process import Gateway, gateway
from tests.helpers_app import serving

QUERY = "query Page { attendees(first: 3) { nodes { id } } }"
CREATE = """mutation Create($input: CreatePatientInput!) {
  createPatient(input: $input) { patient { id firstName } userErrors { code } }
}"""
COUNT = "query Count { patients { totalCount } }"
DEADLINES = {
    "REQUEST_TIMEOUT_SECONDS": "3",
    "DB_STATEMENT_TIMEOUT_SECONDS": "1",
    "DB_CONNECT_TIMEOUT_SECONDS": "1",
    "DB_POOL_TIMEOUT_SECONDS": "1",
}
ANSWER_WITHIN = 3.5  # the request deadline, and a little for the HTTP round trip
CLI = str(Path(sys.executable).parent / "attendee-gateway")
ROUNDS = 6  # requests of each kind per phase: with two workers, both get some


@pytest.fixture(scope="module")
async def pg_database() -> AsyncIterator[str]:
    """The name of a fresh, migrated PostgreSQL database."""
    async with migrated_database("postgresql", "agw_fault") as url:
        yield url.rsplit("/", 1)[1]


@pytest.fixture(scope="module")
async def tenant(pg_database: str) -> AsyncIterator[Tenant]:
    database = create_database(Settings(database_url=_pg_url(pg_database)))
    try:
        made = await Factory(database).account()
        await Factory(database).patient(made)
        yield made
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def proxy() -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", 5432) as running:
        yield running


def through(proxy: FaultProxy, database: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{database}"


class Calls:
    """Requests to the gateway, each on a new connection (so workers share them)."""

    def __init__(self, served: Gateway, key: str) -> None:
        self.url = served.url
        self.headers = {"Authorization": f"Bearer {key}"}

    def post(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        response = httpx.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers=self.headers,
            timeout=30,
        )
        return response, time.monotonic() - started

    def ok(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response, _ = self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    def create(self, first_name: str) -> tuple[httpx.Response, float]:
        return self.post(CREATE, {"input": {"firstName": first_name, "lastName": "Fault"}})

    def patients(self) -> int:
        return int(self.ok(COUNT)["patients"]["totalCount"])


def assert_503(response: httpx.Response, waited: float) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == "The database is unavailable; retry shortly."
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert re.fullmatch(r"[0-9a-f]{12}", error["extensions"]["errorId"])
    assert waited < ANSWER_WITHIN


def assert_recovers(calls: Calls, served: Gateway, tag: str) -> None:
    """The first query, mutation and query after the fault all succeed, in every worker."""
    mark = len(served.log())
    for n in range(ROUNDS):
        calls.ok(QUERY)
        created = calls.ok(CREATE, {"input": {"firstName": f"{tag}{n}", "lastName": "Back"}})
        assert created["createPatient"]["userErrors"] == []
        calls.ok(QUERY)
    answered = re.findall(r"\[(\d+)\] method=POST path=/graphql status=(\d+)", served.log()[mark:])
    assert {status for _, status in answered} == {"200"}


def assert_log_is_clean(served: Gateway, key: str) -> None:
    log = served.log()
    assert "database unavailable id=" in log
    for secret in (
        "SELECT",
        "INSERT",
        "api_key",
        "key_hash",
        "[parameters",
        key,
        hash_api_key(key),
    ):
        assert secret not in log, secret
    assert "Traceback" not in log


@pytest.mark.parametrize("workers", [1, 2])
def test_an_outage_answers_503_then_every_worker_recovers(
    proxy: FaultProxy, pg_database: str, tenant: Tenant, workers: int
) -> None:
    with gateway(through(proxy, pg_database), workers=workers, **DEADLINES) as served:
        calls = Calls(served, tenant.key)
        assert_recovers(calls, served, "Warm")  # every worker holds pooled connections
        before = calls.patients()

        proxy.cut()
        try:
            for n in range(ROUNDS):
                assert_503(*calls.post(QUERY))
                assert_503(*calls.create(f"Lost{n}"))
        finally:
            proxy.restore()

        assert calls.patients() == before  # nothing written during the outage
        assert_recovers(calls, served, "After")
        pids = set(re.findall(r"\[(\d+)\] method=POST", served.log()))
        assert len(pids) == workers
        assert_log_is_clean(served, tenant.key)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stalled_database_answers_503_within_the_deadline(
    proxy: FaultProxy, pg_database: str, tenant: Tenant, workers: int
) -> None:
    with gateway(through(proxy, pg_database), workers=workers, **DEADLINES) as served:
        calls = Calls(served, tenant.key)
        assert_recovers(calls, served, "Warm")
        before = calls.patients()

        proxy.stall()
        try:
            for n in range(3):
                assert_503(*calls.post(QUERY))
                assert_503(*calls.create(f"Held{n}"))
        finally:
            proxy.restore()

        assert_recovers(calls, served, "Resumed")
        # Held statements may have reached the database once the bytes flowed again, but
        # each was refused by its deadline first: none of the stalled creates committed.
        assert calls.patients() == before + ROUNDS
        assert_log_is_clean(served, tenant.key)


def test_a_restart_leaves_no_stale_connection(
    proxy: FaultProxy, pg_database: str, tenant: Tenant
) -> None:
    """Every pooled connection dies at once (as when PostgreSQL restarts) while the
    server is idle: the next requests of every kind succeed, none sees the dead ones."""
    with gateway(through(proxy, pg_database), workers=2, **DEADLINES) as served:
        calls = Calls(served, tenant.key)
        assert_recovers(calls, served, "Before")
        proxy.cut()
        proxy.restore()
        assert_recovers(calls, served, "Restarted")


def test_a_revocation_missed_while_the_listener_was_down_still_counts(
    proxy: FaultProxy, pg_database: str, tenant: Tenant
) -> None:
    """The key cache (app/keycache.py) is emptied when its listening connection breaks:
    a revocation that commits while the link is cut, unheard by the listener, is still
    enforced on the first request once the link is back."""
    key = generate_api_key()
    env = {**os.environ, "DATABASE_URL": _pg_url(pg_database)}
    with gateway(through(proxy, pg_database), **DEADLINES) as served:
        calls = Calls(served, key)
        asyncio.run(add_key(pg_database, tenant.id, key))
        calls.ok(QUERY)
        assert calls.post(QUERY)[0].headers["x-sql-statements"] == "1"  # cached: query only

        proxy.cut()
        try:
            subprocess.run([CLI, "revoke-api-key", key], env=env, check=True, capture_output=True)
            assert_503(*calls.post(QUERY))
        finally:
            proxy.restore()

        assert calls.post(QUERY)[0].status_code == 401


async def add_key(database: str, account_id: int, key: str) -> None:
    db = create_database(Settings(database_url=_pg_url(database)))
    try:
        await Factory(db).insert("api_key", account_id=account_id, key_hash=hash_api_key(key))
    finally:
        await db.dispose()


async def test_readyz_follows_the_database_link(proxy: FaultProxy, pg_database: str) -> None:
    settings = Settings(database_url=through(proxy, pg_database))
    async with serving(settings) as served, served.http() as http:
        assert (await http.get("/readyz")).status_code == 200
        proxy.cut()
        try:
            down = await http.get("/readyz")
        finally:
            proxy.restore()
        back = await http.get("/readyz")
    assert down.status_code == 503
    assert down.json() == {"status": "unavailable", "reason": "the database does not answer"}
    assert back.status_code == 200
