"""The per-request context: the caller's account, its database handle and fresh loaders."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from aiodataloader import DataLoader
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.config import Settings

ACCOUNT_PARAM = "tenant"  # the bind parameter RequestDB.fetch fills with the caller's account


class RequestDB:
    """A request's reads: one pooled connection, statements run one at a time, counted.

    It is also the one place account scoping lives: every query starts from
    `select_from(table)`, which already limits rows to the caller's account.
    """

    def __init__(self, engine: AsyncEngine, account_id: int) -> None:
        self.account_id = account_id
        self.statements = 0
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._shared: AsyncConnection | None = None  # see share()

    def select_from(self, table: sa.Table, *columns: Any) -> sa.Select[Any]:
        """SELECT the table's (or the given) columns, limited to the caller's account."""
        stmt = sa.select(*columns) if columns else sa.select(table)
        return stmt.where(table.c.account_id == self.account_id)

    @staticmethod
    def in_account(table: Any) -> Any:
        """`account_id = :tenant` for statements built once and run with `params`:
        `fetch` supplies the caller's account (a statement without it cannot run)."""
        return table.c.account_id == sa.bindparam(ACCOUNT_PARAM)

    def share(self, conn: AsyncConnection) -> None:
        """Run the request's reads on `conn` from now on: an Idempotency-Key request's
        write transaction (app/idempotency.py), whose changes its payloads must see."""
        self._shared = conn

    async def fetch(
        self, stmt: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """Run one statement. A pooled connection that turns out dead (the database
        restarted since it was opened) is dropped and the statement retried once on a
        fresh one: reads are safe to repeat, and the pool then discards its other
        connections of that age too."""
        async with self._lock:
            if self._closed:
                raise RuntimeError("the request is over; its database handle is closed")
            self.statements += 1
            if self._shared is not None:  # not retried: the transaction is at stake
                return (await self._shared.execute(stmt, self._params(params))).all()
            try:
                for attempt in (1, 2):
                    if self._conn is None:
                        self._conn = await self._engine.connect()
                    try:
                        result = await self._conn.execute(stmt, self._params(params))
                        return result.all()
                    except DBAPIError as exc:
                        await self._discard()
                        if attempt == 2 or not exc.connection_invalidated:
                            raise
                    except BaseException:
                        await self._discard()  # cancelled or timed out mid-statement
                        raise
                raise AssertionError("unreachable")
            finally:
                if self._closed:  # the request ended while this straggler ran
                    await self._release()

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return None if params is None else {**params, ACCOUNT_PARAM: self.account_id}

    async def _discard(self) -> None:
        """Throw the connection away rather than pool it: its state is unknown."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                with contextlib.suppress(Exception):
                    await conn.invalidate()
            finally:  # even when cancelled again meanwhile: the pool must get it back
                with contextlib.suppress(Exception):
                    await conn.close()

    async def close(self) -> None:
        """Give the connection back; a straggling resolver cannot open another one, and
        one still running gives the connection back itself when its statement ends."""
        self._closed = True
        if not self._lock.locked():
            await self._release()

    async def release(self) -> None:
        """Give the connection back to the pool now; a later read takes one again."""
        async with self._lock:
            await self._release()

    async def _release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()


@dataclass
class RequestLog:
    """What the request log line says of the GraphQL side: never values, never rows."""

    operation: str | None = None
    error_ids: list[str] = field(default_factory=list)
    execution: str = "standard"  # which path answered: "planned" (app.plan) or "standard"
    phase: str = "request"  # where the request is: body, auth, ratelimit, execute, commit
    unavailable: str | None = None  # the error id, once the database was found unavailable


@dataclass
class Context:
    """What every resolver gets as `info.context`."""

    db: RequestDB
    settings: Settings
    write: AsyncEngine | None = None
    key_id: int | None = None
    scopes: frozenset[str] = frozenset()  # the key's scopes (app/scopes.py)
    idempotency: Any = None  # an Idempotency-Key request's app.idempotency.Idempotency
    log: RequestLog = field(default_factory=RequestLog)
    request: Any = None
    response: Any = None
    _loaders: dict[Any, DataLoader[Any, Any]] = field(default_factory=dict)
    # Nodes already loaded by id, (table, id) -> node or None: relation fields answer
    # from here without an awaitable when a connection prefetched them.
    loaded: dict[tuple[str, int], Any] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)  # per-request memo of derived values

    @property
    def account_id(self) -> int:
        return self.db.account_id

    def loader(self, key: Any, batch: Callable[[list[Any]], Any]) -> DataLoader[Any, Any]:
        """The request's loader for `key`, made on first use from `batch`."""
        found = self._loaders.get(key)
        if found is None:
            found = self._loaders[key] = DataLoader(batch_load_fn=batch)
        return found

    def reset_loaders(self) -> None:
        """Forget every loaded row (after a write, so later fields read the new state)."""
        self._loaders.clear()
        self.loaded.clear()

    def by_id(self, table: sa.Table, to_node: Callable[[sa.Row[Any]], Any]) -> DataLoader[Any, Any]:
        """A loader of `table` rows by id, as nodes, None for a missing (or foreign) id."""
        key = ("by_id", table.name)
        found = self._loaders.get(key)
        if found is not None:
            return found

        async def batch(ids: list[int]) -> list[Any]:
            rows = await self.db.fetch(self.db.select_from(table).where(table.c.id.in_(ids)))
            found: Mapping[int, Any] = {row.id: to_node(row) for row in rows}
            nodes = [found.get(i) for i in ids]
            self.loaded.update(zip([(table.name, i) for i in ids], nodes, strict=True))
            return nodes

        return self.loader(key, batch)
