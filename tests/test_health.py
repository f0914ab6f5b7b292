"""/healthz and /readyz (§8): no key, no data; readiness follows the database and its
migrations, and recovers by itself. (A database that does not answer: test_fault_proxy.py.)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from app.db import Database
from app.migrate import alembic_config
from tests.helpers_app import http_client

AT_HEAD = {"status": "ready"}


async def test_healthz_answers_without_a_key_or_the_database(app, database):
    async with http_client(app) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_says_pending_migrations_then_recovers(app, database: Database, database_url):
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    async with http_client(app) as http:
        assert (await http.get("/readyz")).json() == AT_HEAD
        await set_version(database, "0001")
        try:
            behind = await http.get("/readyz")
        finally:
            await set_version(database, head)
        again = await http.get("/readyz")

    assert behind.status_code == 503
    assert behind.json() == {
        "status": "unavailable",
        "reason": f"migrations pending: the database is at 0001, this code at {head}",
    }
    assert again.status_code == 200
    assert again.json() == AT_HEAD


async def set_version(database: Database, version: str) -> None:
    async with database.write.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": version})
