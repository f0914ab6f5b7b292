"""Database faults answer in the contract's shape (§10), on both databases.

The faults are real: another connection holds a lock the request needs, so the
statement runs into its deadline (PostgreSQL's statement_timeout, SQLite's busy timeout).
Network faults (a cut or stalled link, a restart) are in test_fault_proxy.py.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tests.factories import Factory
from tests.helpers_app import serving

ATTENDEES = "query Attendees { attendees(first: 5) { nodes { id arrived } } }"
CREATE = """mutation Create($input: CreatePatientInput!) {
  createPatient(input: $input) { patient { id } userErrors { code } }
}"""
COUNT = "query Count { patients { totalCount } }"
UNAVAILABLE = "The database is unavailable; retry shortly."
DEADLINE = 1.0  # seconds, each statement


@contextlib.asynccontextmanager
async def holding_lock(database_url: str, table: str) -> AsyncIterator[AsyncConnection]:
    """Another client of the database holds `table` (PostgreSQL: ACCESS EXCLUSIVE on it;
    SQLite: the database's write lock) until the block ends."""
    sqlite = database_url.startswith("sqlite")
    engine = create_async_engine(database_url, isolation_level=None if sqlite else "READ COMMITTED")
    try:
        async with engine.connect() as conn:
            if sqlite:
                await conn.exec_driver_sql("BEGIN EXCLUSIVE")
            else:
                await conn.exec_driver_sql("BEGIN")
                await conn.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            try:
                yield conn
            finally:
                await conn.exec_driver_sql("ROLLBACK")
    finally:
        await engine.dispose()


def assert_unavailable(response: object, *, media_type: str = "application/json") -> str:
    """The contract's 503; returns its error id."""
    assert response.status_code == 503, response.text  # type: ignore[attr-defined]
    assert response.headers["retry-after"].isdigit()  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(media_type)  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    [error] = body["errors"]
    assert body["data"] is None
    assert error["message"] == UNAVAILABLE
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert re.fullmatch(r"[0-9a-f]{12}", error["extensions"]["errorId"])
    return str(error["extensions"]["errorId"])


async def test_a_query_past_its_statement_deadline_answers_503(settings, factory: Factory, caplog):
    caplog.set_level(logging.INFO)
    tenant = await factory.account()
    if settings.is_sqlite:  # SQLite readers never wait (WAL): a write shows the deadline
        document, variables, table = CREATE, {"input": {"firstName": "Ada", "lastName": "Ng"}}, ""
    else:
        document, variables, table = ATTENDEES, {}, "attendee"
    async with serving(settings, db_statement_timeout_seconds=DEADLINE) as served:
        client = served.client(tenant.key)
        async with holding_lock(settings.database_url, table or "patient"):
            started = time.monotonic()
            response = await client.post(document, variables)
            waited = time.monotonic() - started
        error_id = assert_unavailable(response)
        assert waited < DEADLINE + 3  # the statement deadline, not the request's (10 s)
        # The lock is gone: the same request now succeeds on the same process.
        again = await client.post(document, variables)
        assert again.status_code == 200, again.text
        assert "errors" not in again.json()

    phase = "mutation" if settings.is_sqlite else "execute"
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert f"database unavailable id={error_id} type=" in log
    assert f"phase={phase}" in log
    assert "status=503 duration_ms=" in log and f"error_ids={error_id}" in log
    for detail in ("SELECT", "INSERT", "attendee.", "key_hash", "Traceback", "[SQL", "Ada"):
        assert detail not in log
        assert detail not in response.text


async def test_a_mutation_that_cannot_write_changes_nothing(settings, factory: Factory):
    tenant = await factory.account()
    variables = {"input": {"firstName": "Grace", "lastName": "Okafor"}}
    async with serving(settings, db_statement_timeout_seconds=DEADLINE) as served:
        client = served.client(tenant.key)
        async with holding_lock(settings.database_url, "patient"):
            response = await client.post(CREATE, variables)
        assert_unavailable(response)
        assert (await client.query(COUNT))["patients"]["totalCount"] == 0
        assert (await client.query(CREATE, variables))["createPatient"]["userErrors"] == []
        assert (await client.query(COUNT))["patients"]["totalCount"] == 1


async def test_the_503_speaks_the_negotiated_media_type(settings, factory: Factory):
    tenant = await factory.account()
    variables = {"input": {"firstName": "Ida", "lastName": "Berg"}}
    accept = {"Accept": "application/graphql-response+json, application/json"}
    async with (
        serving(settings, db_statement_timeout_seconds=DEADLINE) as served,
        holding_lock(settings.database_url, "patient"),
    ):
        response = await served.client(tenant.key).post(CREATE, variables, headers=accept)
    assert_unavailable(response, media_type="application/graphql-response+json")


async def test_the_whole_request_has_a_deadline(settings, factory: Factory):
    """Each statement waits less than its own deadline, but the request as a whole runs
    past REQUEST_TIMEOUT_SECONDS: it is answered at the deadline, with the 503."""
    tenant = await factory.account()
    variables = {"input": {"firstName": "Lin", "lastName": "Moreau"}}
    async with serving(
        settings, db_statement_timeout_seconds=5.0, request_timeout_seconds=1.0
    ) as served:
        client = served.client(tenant.key)
        async with holding_lock(settings.database_url, "patient"):
            started = time.monotonic()
            response = await client.post(CREATE, variables)
            waited = time.monotonic() - started
        assert_unavailable(response)
        assert 0.9 < waited < 2.5
        # The handler cut off at the deadline rolled back: nothing was written.
        assert (await client.query(COUNT))["patients"]["totalCount"] == 0
