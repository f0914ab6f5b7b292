"""Test fixtures: every test runs on SQLite and on PostgreSQL, migrated by Alembic.

Each database is created fresh for the session. Tests isolate themselves by account:
a test that writes makes its own account (`make_account`), so no test sees another's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from app.auth import hash_api_key
from app.config import Settings
from app.db import Database, create_database
from app.main import create_app
from app.migrate import upgrade_to_head
from tests.factories import Factory

PG_ADMIN_URL = os.environ.get(
    "TEST_PG_ADMIN_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",")


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def _pg_admin(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(sql))
    await engine.dispose()


@contextlib.asynccontextmanager
async def migrated_database(backend: str, prefix: str = "agw_test") -> AsyncIterator[str]:
    """A fresh database of `backend` ("sqlite" or "postgresql") at the newest migration;
    yields its URL, and removes it afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/{prefix}.db"
            await asyncio.to_thread(upgrade_to_head, url)
            yield url
        return
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        url = _pg_url(name)
        await asyncio.to_thread(upgrade_to_head, url)
        yield url
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A freshly migrated database of each backend."""
    async with migrated_database(request.param) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = create_database(settings)
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def factory(database: Database) -> Factory:
    """Inserts rows with believable defaults; `await factory.account()` starts a tenant."""
    return Factory(database)


def key_lookup_cached(app: Any, key: str | None) -> bool:
    """Whether `app`'s key cache will answer for `key` (no lookup statement will run)."""
    return key is not None and app.state.keys.get(hash_api_key(key)) is not None


class GraphQLClient:
    """Posts GraphQL to the app in-process (httpx's ASGI transport) with an API key."""

    def __init__(self, app: Any, key: str | None) -> None:
        self.app = app
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        )
        self.key = key
        self.last_statements = 0
        self.last_run = 0

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        # `last_statements` counts the API-key check as one statement whether the
        # process's key cache answered it or the database did, so that counts do not
        # depend on the backend (only PostgreSQL caches) or on which request came first.
        cached = key_lookup_cached(self.app, self.key)
        headers.update(kw.pop("headers", {}))
        response = await self._client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers, **kw
        )
        self.last_run = int(response.headers.get("x-sql-statements", "0"))  # as logged
        self.last_statements = self.last_run + int(cached)
        return response

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a query that must succeed without errors."""
        response = await self.post(query, variables)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    async def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        """The error messages of a query that must fail."""
        body = (await self.post(query, variables)).json()
        assert body.get("errors"), body
        return [e["message"] for e in body["errors"]]

    async def aclose(self) -> None:
        await self._client.aclose()


@pytest.fixture
async def client_for(app: Any) -> AsyncIterator[Any]:
    """`client_for(key)`: a GraphQL client sending that API key."""
    made: list[GraphQLClient] = []

    def make(key: str | None) -> GraphQLClient:
        made.append(GraphQLClient(app, key))
        return made[-1]

    yield make
    for c in made:
        await c.aclose()


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[str]:
    """A real uvicorn process serving the app; yields its base URL."""
    import socket
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/graphql", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
