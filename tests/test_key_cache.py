"""The per-process API-key cache (app/keycache.py): a key checked once is not looked up
again, and a revocation reaches every server process before its next request is
answered (test_fault_proxy.py: even one whose link to PostgreSQL was cut meanwhile)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.factories import Factory
from tests.gateway_process import gateway

QUERY = "query Page { attendees(first: 1) { nodes { id } } }"
CLI = str(Path(sys.executable).parent / "attendee-gateway")


def ask(url: str, key: str) -> httpx.Response:
    return httpx.post(
        url, json={"query": QUERY}, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def statements(response: httpx.Response) -> int:
    return int(response.headers["x-sql-statements"])


def revoke(database_url: str, key: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run([CLI, "revoke-api-key", key], env=env, check=True, capture_output=True)


async def test_a_revocation_reaches_every_process_before_its_next_answer(
    database_url: str, factory: Factory
) -> None:
    tenant = await factory.account()
    with gateway(database_url) as one, gateway(database_url) as two:
        for served in (one, two):
            first, second = ask(served.url, tenant.key), ask(served.url, tenant.key)
            assert first.status_code == second.status_code == 200
            if database_url.startswith("postgresql"):
                # The second request skipped the key lookup: the process's cache answered.
                assert statements(second) == statements(first) - 1
            else:
                # SQLite has no notifications, so nothing is cached: every request looks.
                assert statements(second) == statements(first)

        await asyncio.to_thread(revoke, database_url, tenant.key)

        for served in (one, two, one, two):
            assert ask(served.url, tenant.key).status_code == 401
