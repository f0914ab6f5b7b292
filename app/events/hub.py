"""The per-process hub: learns of new events, fans them out to this process's subscribers,
and closes sockets whose key was revoked or whose subscriber fell behind.

On PostgreSQL it shares the API-key cache's listening connection (app/keycache.py): the
triggers' NOTIFY on `gw_events` (sent only when a change commits) rings the doorbell, and
the drain task reads the log after the last seq it saw; a reconnected listener drains too,
so nothing is missed while it was away. Revocations arrive on the key cache's channel. On
SQLite (one process) a commit of this process rings the doorbell, and a poll every half
second catches writes of other processes (the CLI's import, revocations).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy import event as sa_event

from app.config import Settings
from app.db import Database
from app.events.log import CHANNEL, PAGE, Event, EventFilter, last_seq, read_after
from app.events.sockets import LiveSocket, SocketRegistry
from app.keycache import CHANNEL as REVOKED_CHANNEL
from app.keycache import KeyCache
from app.metrics import SUBSCRIPTIONS

logger = logging.getLogger("app.events")
POLL_SECONDS = 0.5  # SQLite: other processes' writes and revocations
CLOSE_SLOW = 1013  # graphql-ws retries it: the client resumes with `after`


class Subscriber:
    """One subscription's bounded queue of live events."""

    def __init__(
        self, account_id: int, where: EventFilter, socket: LiveSocket, size: int, start: int
    ):
        self.account_id = account_id
        self.start = start  # it has (or replays) everything through this seq
        self.where = where
        self.socket = socket
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=size)
        self.live_from = 0  # events above this seq come through the queue


class SharedReads:
    """The object of a recent event, read once per process: every subscriber of the
    account that delivers it within `fresh_seconds` awaits the same read (same account,
    same moment); later ones read it again."""

    def __init__(self, size: int = 1024, fresh_seconds: float = 0.5) -> None:
        self.size = size
        self.fresh_seconds = fresh_seconds
        self._reads: dict[int, tuple[float, asyncio.Future[Any]]] = {}

    def get(self, seq: int, read: Callable[[], Coroutine[Any, Any, Any]]) -> Awaitable[Any]:
        now = time.monotonic()
        at, found = self._reads.get(seq, (0.0, None))
        failed = found is not None and found.done() and (found.cancelled() or found.exception())
        if found is None or failed or now - at > self.fresh_seconds:
            found = asyncio.ensure_future(read())
            self._reads.pop(seq, None)
            self._reads[seq] = (now, found)
            while len(self._reads) > self.size:
                del self._reads[next(iter(self._reads))]
        return asyncio.shield(found)  # a cancelled subscriber leaves the read to the others


class Hub:
    """Event fan-out and socket control for one server process."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.process = str(uuid.uuid4())
        self.sockets = SocketRegistry(database, settings, self.process)
        self.last = 0
        self.reads = SharedReads()
        self._subscribers: dict[int, set[Subscriber]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, keys: KeyCache) -> None:
        self._loop = asyncio.get_running_loop()
        self.last = await last_seq(self.database.read)
        if self.settings.is_sqlite:
            self._ring_after_commits()
            self._spawn(self._poll)
        else:
            keys.listen(CHANNEL, self._doorbell)
            keys.listen(REVOKED_CHANNEL, self._revoked)
            keys.on_connect(self._listener_up)
        self._spawn(self._drain)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def subscribe(
        self, account_id: int, where: EventFilter, socket: LiveSocket, start: int
    ) -> Subscriber:
        """Register a subscriber that has every event through `start`; every later event
        above its `live_from` reaches its queue."""
        size = self.settings.subscription_buffer
        subscriber = Subscriber(account_id, where, socket, size, start)
        subscriber.live_from = self.last  # in the same tick as the registration
        self._subscribers.setdefault(account_id, set()).add(subscriber)
        SUBSCRIPTIONS.inc()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        found = self._subscribers.get(subscriber.account_id)
        if found is not None and subscriber in found:
            found.discard(subscriber)
            SUBSCRIPTIONS.dec()
            if not found:
                del self._subscribers[subscriber.account_id]

    def _spawn(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._tasks.append(asyncio.create_task(work()))

    async def _drain(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while True:
                    page = await read_after(self.database.read, self.last)
                    self._dispatch(page)  # no await between reading and advancing `last`
                    if len(page) < PAGE:
                        break
            except Exception as exc:  # the database is away: the next doorbell retries
                logger.info("event drain failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
                self._wake.set()

    def _dispatch(self, page: list[Event]) -> None:
        for event in page:
            for subscriber in list(self._subscribers.get(event.account_id, ())):
                if event.seq <= subscriber.start or not subscriber.where.matches(event):
                    continue
                try:
                    subscriber.queue.put_nowait(event)
                except asyncio.QueueFull:
                    self.unsubscribe(subscriber)
                    subscriber.socket.close_soon(
                        CLOSE_SLOW, "Subscriber too slow; resume with `after`."
                    )
            self.last = event.seq

    def _doorbell(self, *_args: Any) -> None:
        self._wake.set()

    def _revoked(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self.sockets.revoked(int(payload))

    async def _listener_up(self, conn: Any) -> None:
        """The listening connection (re)connected: name it for the per-key socket count,
        and catch up on whatever was committed while it was away."""
        await conn.execute(f"SET application_name = '{self.sockets.listener_name}'")
        self._wake.set()
        if self._tasks:  # a reconnect, not the first connection
            self._spawn(self.sockets.reclaim)

    def _ring_after_commits(self) -> None:
        """SQLite: ring once a write transaction of this process has committed (the pool
        gets the connection back after COMMIT returned)."""
        engine = self.database.write.sync_engine

        def committed(conn: Any) -> None:
            conn.info["events.committed"] = True

        def checked_in(_dbapi: Any, record: Any) -> None:
            if record.info.pop("events.committed", False) and self._loop is not None:
                self._loop.call_soon_threadsafe(self._wake.set)

        sa_event.listen(engine, "commit", committed)
        sa_event.listen(engine, "checkin", checked_in)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            self._wake.set()
            try:
                await self.sockets.check_revoked()
            except Exception as exc:
                logger.info("revocation check failed (%s)", type(exc).__name__)
