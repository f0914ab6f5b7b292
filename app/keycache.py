"""The API keys this process has already checked, so most requests skip the key lookup.

Trusted only while the process listens for revocations: on PostgreSQL a connection of its
own runs `LISTEN api_key_revoked`, and `revoke_api_key` notifies in its transaction, so
every process forgets its keys when the revocation commits, before it answers another
request. While that connection is down (or on SQLite, which has no notifications) the
cache holds nothing and every request looks its key up. A lookup that raced a
revocation cannot store a stale answer: entries are stored only under the generation
they were read in, and every notification starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url

logger = logging.getLogger("app.keycache")

CHANNEL = "api_key_revoked"
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a valid API key speaks for, and what it may do (app/scopes.py)."""

    account_id: int
    key_id: int
    scopes: frozenset[str]


PING_SECONDS = 2.0  # how often the listening connection proves it is alive
RETRY_SECONDS = 1.0


class KeyCache:
    """key hash -> the key's Caller, for keys found valid since the last revocation."""

    def __init__(self, database_url: str, *, connect_timeout: float) -> None:
        url = make_url(database_url)
        self._dsn = (
            url.set(drivername="postgresql").render_as_string(hide_password=False)
            if url.get_backend_name() == "postgresql"
            else None
        )
        self._connect_timeout = connect_timeout
        self._entries: dict[str, Caller] = {}
        self._listening = False
        self.generation = 0
        self._task: asyncio.Task[None] | None = None
        # Others that share this listening connection (app/events/hub.py).
        self._channels: list[tuple[str, Callable[..., None]]] = []
        self._on_connect: list[Callable[[Any], Awaitable[None]]] = []

    def listen(self, channel: str, callback: Callable[..., None]) -> None:
        """Also call `callback` (asyncpg's listener signature) on `channel`'s notifications."""
        self._channels.append((channel, callback))

    def on_connect(self, hook: Callable[[Any], Awaitable[None]]) -> None:
        """Await `hook(connection)` each time the listening connection is (re)established."""
        self._on_connect.append(hook)

    def get(self, key_hash: str) -> Caller | None:
        return self._entries.get(key_hash)

    def put(self, key_hash: str, found: Caller, generation: int) -> None:
        """Remember a key read under `generation` (a later revocation voids it)."""
        if not self._listening or generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key_hash] = found

    def forget(self, *_args: Any) -> None:
        """Forget every key (a revocation, or the listener lost): a new generation."""
        self._entries.clear()
        self.generation += 1

    async def start(self) -> None:
        if self._dsn is not None and self._task is None:
            self._task = asyncio.create_task(self._listen())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        import asyncpg

        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=self._connect_timeout)
                await conn.add_listener(CHANNEL, self.forget)
                conn.add_termination_listener(self._lost)
                for channel, callback in self._channels:
                    await conn.add_listener(channel, callback)
                for hook in self._on_connect:
                    await hook(conn)
                self.forget()
                self._listening = True
                while True:
                    await asyncio.sleep(PING_SECONDS)
                    await conn.fetchval("SELECT 1", timeout=self._connect_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: look keys up until it is back
                logger.info("revocation listener down (%s); retrying", type(exc).__name__)
            finally:
                self._lost()
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(RETRY_SECONDS)

    def _lost(self, *_args: Any) -> None:
        self._listening = False
        self.forget()
