"""Rate limiting per API key (issue 4, item 5): 429 with Retry-After, recovery, separate
budgets per key, and one budget shared through Redis by several app instances.

The limiter counts fixed windows aligned to the clock, so each test first waits, when
needed, until the current window has at least a second left for its burst of requests.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.auth import generate_api_key, hash_api_key
from tests.helpers_app import serving

LIMIT = 3
WINDOW = 2
LIMITED = {"rate_limit": LIMIT, "rate_limit_window_seconds": WINDOW}
TYPENAME = "query { __typename }"
EXCEEDED = {"errors": [{"message": "Rate limit exceeded: 3 requests per 2 s per API key."}]}
REDIS_URL = "redis://127.0.0.1:6379/15"
REDIS_SERVER = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


async def fresh_window() -> None:
    """Wait for the next window unless the current one has a second or more left."""
    left = WINDOW - time.time() % WINDOW
    if left < 1:
        await asyncio.sleep(left + 0.01)


async def statuses(*clients: Any) -> list[int]:
    """One request per client, in order; their status codes."""
    return [(await client.post(TYPENAME)).status_code for client in clients]


async def answers(redis: Redis) -> bool:
    try:
        return bool(await redis.ping())
    except (RedisConnectionError, OSError):
        return False


@pytest.fixture
async def redis_db() -> AsyncIterator[Redis]:
    """Redis database 15, empty; the server is started when it does not answer."""
    redis = Redis.from_url(REDIS_URL)
    if not await answers(redis):
        await asyncio.to_thread(subprocess.run, REDIS_SERVER, check=True, capture_output=True)
        for _ in range(50):
            if await answers(redis):
                break
            await asyncio.sleep(0.1)
    await redis.flushdb()
    yield redis
    await redis.flushdb()
    await redis.aclose()


def assert_exceeded(response: Any, client: Any) -> None:
    """A 429 with the headers saying when to come back, a JSON error and no data."""
    assert response.status_code == 429
    assert response.json() == EXCEEDED
    retry_after = int(response.headers["retry-after"])
    reset = int(response.headers["x-ratelimit-reset"])
    assert 1 <= retry_after <= WINDOW
    assert reset % WINDOW == 0
    assert 0 < reset - time.time() <= WINDOW
    # The one statement is the API-key check: the limit is per key.
    assert client.last_statements == 1


async def test_the_request_over_the_limit_gets_429_then_the_window_recovers(settings, factory):
    tenant = await factory.account()

    async with serving(settings, **LIMITED) as served:
        api = served.client(tenant.key)
        await fresh_window()
        allowed = await statuses(api, api, api)
        refused = await api.post(TYPENAME)
        assert_exceeded(refused, api)
        await asyncio.sleep(int(refused.headers["retry-after"]))
        recovered = await api.post(TYPENAME)

    assert allowed == [200] * LIMIT
    assert recovered.json() == {"data": {"__typename": "Query"}}


async def test_two_keys_have_separate_budgets(settings, factory):
    tenant = await factory.account()
    other_key = generate_api_key()
    await factory.insert("api_key", account_id=tenant.id, key_hash=hash_api_key(other_key))

    async with serving(settings, **LIMITED) as served:
        first, second = served.client(tenant.key), served.client(other_key)
        await fresh_window()
        spent = await statuses(first, first, first, first)
        untouched = await statuses(second, second, second)

    assert spent == [200, 200, 200, 429]
    assert untouched == [200] * LIMIT


async def test_app_instances_share_one_budget_in_redis(settings, factory, redis_db):
    tenant = await factory.account()
    shared = {**LIMITED, "redis_url": REDIS_URL}

    async with serving(settings, **shared) as one, serving(settings, **shared) as two:
        a, b = one.client(tenant.key), two.client(tenant.key)
        await fresh_window()
        allowed = await statuses(a, b, a)
        for client in (b, a):
            assert_exceeded(await client.post(TYPENAME), client)

    assert allowed == [200] * LIMIT
    assert await redis_db.keys("agw:rate:*")
