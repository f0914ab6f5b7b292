"""What writes other than mutations publish: the Cliniko import publishes every attendee
and booking it creates or changes (nothing for unchanged records); `seed --attendees`
(synthetic data) publishes nothing and leaves the triggers in place. Both databases, each
on a fresh one (the import keeps Cliniko's ids)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.config import Settings
from app.db import Database, create_database
from app.events.log import EVENT_LOG
from app.importer import import_cliniko
from app.seed import seed_bulk
from tests.conftest import BACKENDS, migrated_database
from tests.factories import Factory, T

FIXTURES = Path(__file__).parent / "fixtures" / "cliniko"


@pytest.fixture(params=BACKENDS)
async def fresh(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    async with migrated_database(request.param, "agw_events") as url:
        database = create_database(Settings(database_url=url))
        yield database
        await database.dispose()


async def _events(database: Database, account_id: int) -> Counter[tuple[str, str]]:
    async with database.read.connect() as conn:
        rows = await conn.execute(
            sa.select(EVENT_LOG.c.entity, EVENT_LOG.c.kind).where(
                EVENT_LOG.c.account_id == account_id
            )
        )
        return Counter((entity, kind) for entity, kind in rows)


async def _count(database: Database, table: str, account_id: int) -> int:
    async with database.read.connect() as conn:
        stmt = sa.select(sa.func.count()).where(T[table].c.account_id == account_id)
        return int((await conn.execute(stmt)).scalar_one())


async def test_the_import_publishes_what_it_creates_and_nothing_when_unchanged(
    fresh: Database,
) -> None:
    tenant = await Factory(fresh).account("Imported Clinic")
    await import_cliniko(fresh, FIXTURES, account_id=tenant.id)
    first = await _events(fresh, tenant.id)
    assert first[("attendee", "CREATED")] == await _count(fresh, "attendee", tenant.id) > 0
    assert first[("booking", "CREATED")] == await _count(fresh, "booking", tenant.id) > 0
    await import_cliniko(fresh, FIXTURES, account_id=tenant.id)  # the same export again
    assert await _events(fresh, tenant.id) == first


async def test_seeding_benchmark_data_publishes_nothing(fresh: Database) -> None:
    async with fresh.read.connect() as conn:
        before = (await conn.execute(sa.select(sa.func.count()).select_from(EVENT_LOG))).scalar()
    await seed_bulk(fresh, attendees=200, account_id=None, progress=False)
    async with fresh.read.connect() as conn:
        after = (await conn.execute(sa.select(sa.func.count()).select_from(EVENT_LOG))).scalar()
        assert await _count(fresh, "attendee", 1) >= 200
    assert after == before
    # the triggers are still there: the next write publishes
    tenant = await Factory(fresh).account()
    await Factory(fresh).group(tenant)
    assert await _events(fresh, tenant.id) == Counter({("booking", "CREATED"): 1})
