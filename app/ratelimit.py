"""Rate limiting per API key: N requests per window (Cliniko: 200 a minute per user).

Fixed windows, counted in this process by default, or in Redis when REDIS_URL is set so
that several server processes share one budget per key.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets
    reset_at: int  # UNIX time of the reset (Cliniko's X-RateLimit-Reset)


class Counter(Protocol):
    async def hit(self, key: str, window: int) -> int: ...

    async def close(self) -> None: ...


class MemoryCounter:
    """Counts in this process; old windows are dropped as time moves on."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._window_start: int | None = None

    async def hit(self, key: str, window: int) -> int:
        start = int(key.rsplit(":", 1)[1])
        if start != self._window_start:
            self._counts, self._window_start = {}, start
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]

    async def close(self) -> None:
        self._counts.clear()


class RedisCounter:
    """Counts in Redis: INCR and EXPIRE in one round trip."""

    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url)

    async def hit(self, key: str, window: int) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count, _ = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    """`check(key_id)` counts one request of that key and says whether it may go on."""

    def __init__(self, *, limit: int, window_seconds: int, redis_url: str | None) -> None:
        self.limit = limit
        self.window = window_seconds
        self.counter: Counter = RedisCounter(redis_url) if redis_url else MemoryCounter()

    async def check(self, key_id: int) -> Verdict:
        now = time.time()
        start = int(now // self.window) * self.window
        reset_at = start + self.window
        retry_after = max(1, math.ceil(reset_at - now))
        if self.limit <= 0:
            return Verdict(True, retry_after, reset_at)
        count = await self.counter.hit(f"agw:rate:{key_id}:{start}", self.window)
        return Verdict(count <= self.limit, retry_after, reset_at)

    @property
    def refusal(self) -> str:
        """What a refused request is told (over HTTP and on a WebSocket alike)."""
        return f"Rate limit exceeded: {self.limit} requests per {self.window} s per API key."

    async def close(self) -> None:
        await self.counter.close()
