"""Open WebSockets: the per-key limit across processes, and closing on revocation.

On PostgreSQL each open socket is a `ws_socket` row naming its process; a socket is
counted only while its process's listening connection is alive (its application_name in
`pg_stat_activity`), so a crashed process's rows stop counting at once and are deleted by
the next open of the same key. A process whose listener was only reconnecting puts its
rows back once it is connected again. Count and insert run under an advisory lock on the
key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from starlette.websockets import WebSocket, WebSocketState

from app.config import Settings
from app.db import Database
from app.metrics import OPEN_SOCKETS
from app.models import ApiKey
from app.timeutil import utcnow

logger = logging.getLogger("app.events")
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY_SOCKETS = 4429
SOCKET_LOCK = 7220003  # pg_advisory_xact_lock(SOCKET_LOCK, key id)
REVOKED_MEMORY_SECONDS = 60.0  # a revocation racing a key lookup is still caught
LISTENER_PREFIX = "agw-listener:"
# The rows are bookkeeping of live processes: one lost in a crash is of a process that is
# gone anyway, so their transactions need not wait for the WAL flush (a connect burst of
# one key's sockets is serialized on its lock; each claim then costs no fsync).
NO_FSYNC = sa.text("SET LOCAL synchronous_commit = off")
_api_key: sa.Table = ApiKey.__table__  # type: ignore[attr-defined]
WS_SOCKET = sa.Table(
    "ws_socket",
    sa.MetaData(),
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("api_key_id", sa.BigInteger),
    sa.Column("process", sa.String(36)),
    sa.Column("opened_at", sa.DateTime(timezone=True)),
)


class Refused(Exception):
    """Close the socket with this code and reason instead of acknowledging it."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(eq=False)
class LiveSocket:
    """One accepted WebSocket, once its key is known."""

    websocket: WebSocket
    account_id: int = 0
    key_id: int = 0
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    closing: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        return self.websocket.application_state == WebSocketState.CONNECTED

    async def close(self, code: int, reason: str) -> None:
        """Close unless already closed. To a client that stopped reading, the close frame
        goes out once it reads again (or uvicorn's ping timeout drops the connection)."""
        if not self.is_open:
            return
        with contextlib.suppress(Exception):
            await self.websocket.close(code, reason)

    def close_soon(self, code: int, reason: str) -> None:
        """Close in the background: the hub never waits for a socket."""
        if self.closing is None:
            self.closing = asyncio.create_task(self.close(code, reason))


class SocketRegistry:
    """This process's open sockets by API key."""

    def __init__(self, database: Database, settings: Settings, process: str) -> None:
        self.database = database
        self.limit = settings.max_sockets_per_key
        self.process = process
        self.listener_name = LISTENER_PREFIX + process
        self._by_key: dict[int, set[LiveSocket]] = {}
        self._revoked: dict[int, float] = {}

    async def open(self, socket: LiveSocket) -> None:
        """Count the socket against its key's limit; Refused when over it or revoked."""
        self._check_not_revoked(socket.key_id)
        mine = self._by_key.setdefault(socket.key_id, set())
        if self.database.write.dialect.name == "postgresql":
            await self._claim(socket)
        elif len(mine) >= self.limit:
            raise _too_many(self.limit)
        mine.add(socket)
        OPEN_SOCKETS.inc()
        self._check_not_revoked(socket.key_id)  # revoked while the claim ran

    async def close(self, socket: LiveSocket) -> None:
        mine = self._by_key.get(socket.key_id)
        if mine is None or socket not in mine:
            return
        mine.discard(socket)
        OPEN_SOCKETS.dec()
        if not mine:
            del self._by_key[socket.key_id]
        if self.database.write.dialect.name == "postgresql":
            try:
                async with self.database.write.begin() as conn:
                    await conn.execute(NO_FSYNC)
                    await conn.execute(sa.delete(WS_SOCKET).where(WS_SOCKET.c.id == socket.id))
            except Exception as exc:  # the row stops counting when this process stops
                logger.info("could not remove a closed socket's row (%s)", type(exc).__name__)

    def close_all(self, code: int, reason: str) -> None:
        for sockets in list(self._by_key.values()):
            for socket in list(sockets):
                socket.close_soon(code, reason)

    def revoked(self, key_id: int) -> None:
        """Close the key's sockets with 4403, now and for a minute of late registrations."""
        now = time.monotonic()
        self._revoked[key_id] = now
        for stale in [k for k, at in self._revoked.items() if now - at > REVOKED_MEMORY_SECONDS]:
            del self._revoked[stale]
        for socket in list(self._by_key.get(key_id, ())):
            socket.close_soon(CLOSE_FORBIDDEN, "API key revoked")

    async def reclaim(self) -> None:
        """PostgreSQL, after the listener reconnected: another process may have deleted this
        one's rows meanwhile (it looked dead); put back those of its open sockets."""
        mine = [socket for sockets in self._by_key.values() for socket in sockets]
        if not mine:
            return
        try:
            async with self.database.write.begin() as conn:
                known = await conn.execute(
                    sa.select(WS_SOCKET.c.id).where(WS_SOCKET.c.process == self.process)
                )
                present = set(known.scalars())
                rows = [self._row(s) for s in mine if s.id not in present]
                if rows:
                    await conn.execute(sa.insert(WS_SOCKET), rows)
        except Exception as exc:  # counted low until the next reconnect: never too many
            logger.info("could not restore this process's socket rows (%s)", type(exc).__name__)

    def _row(self, socket: LiveSocket) -> dict[str, Any]:
        return {
            "id": socket.id,
            "api_key_id": socket.key_id,
            "process": self.process,
            "opened_at": utcnow(),
        }

    async def check_revoked(self) -> None:
        """SQLite: ask the database which open sockets' keys were revoked."""
        if not self._by_key:
            return
        stmt = sa.select(_api_key.c.id).where(
            _api_key.c.id.in_(list(self._by_key)), _api_key.c.revoked_at.is_not(None)
        )
        async with self.database.read.connect() as conn:
            for key_id in (await conn.execute(stmt)).scalars():
                self.revoked(int(key_id))

    def _check_not_revoked(self, key_id: int) -> None:
        if key_id in self._revoked:
            raise Refused(CLOSE_FORBIDDEN, "API key revoked")

    async def _claim(self, socket: LiveSocket) -> None:
        s = WS_SOCKET.c
        live = sa.select(
            sa.func.substr(sa.column("application_name"), len(LISTENER_PREFIX) + 1)
        ).select_from(sa.table("pg_stat_activity", sa.column("application_name")))
        live = live.where(sa.column("application_name").like(LISTENER_PREFIX + "%"))
        async with self.database.write.begin() as conn:
            await conn.execute(NO_FSYNC)
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SOCKET_LOCK, socket.key_id)))
            await conn.execute(
                sa.delete(WS_SOCKET).where(
                    s.api_key_id == socket.key_id, s.process != self.process, s.process.not_in(live)
                )
            )
            count = sa.select(sa.func.count()).where(
                s.api_key_id == socket.key_id,
                sa.or_(s.process == self.process, s.process.in_(live)),
            )
            if (await conn.execute(count)).scalar_one() >= self.limit:
                raise _too_many(self.limit)
            await conn.execute(sa.insert(WS_SOCKET).values(**self._row(socket)))


def _too_many(limit: int) -> Refused:
    return Refused(
        CLOSE_TOO_MANY_SOCKETS, f"Too many open sockets for this API key (limit {limit})."
    )
