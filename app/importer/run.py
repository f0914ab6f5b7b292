"""The import itself: stage by stage, a savepoint per record, a commit every BATCH."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from tqdm import tqdm

from app.db import Database
from app.importer.records import MAPPERS, TABLE_OF
from app.importer.report import STANDINS, Report
from app.importer.source import NOT_IMPORTED, STAGES, Item, load
from app.importer.values import Reject, to_id
from app.importer.writer import Writer
from app.seed.base import ensure_account

BATCH = 500  # records per transaction: a long import does not hold the write lock throughout
PROGRESS_FROM = 500  # records in a stage before a progress bar is worth showing


def constraint_reason(error: sa.exc.DBAPIError) -> str:
    """Which rule the database enforced: for an IntegrityError its first line (which names
    the constraint; PostgreSQL's DETAIL lines can hold values), for a DataError nothing."""
    if not isinstance(error, sa.exc.IntegrityError):
        return "refused by the database: a value does not fit its column"
    lines = str(error.orig).strip().splitlines() or ["constraint violation"]
    return f"refused by the database: {lines[0].split('>: ', 1)[-1]}"


class _Run:
    def __init__(self, db: Database, account_id: int, progress: bool) -> None:
        self.db, self.progress = db, progress
        self.writer = Writer(account_id)
        self.report = Report()
        self.standins: dict[int, tuple[Item, dict[str, Any]]] = {}

    def _bar(self, stage: str, total: int) -> tqdm[Any]:
        return tqdm(
            total=total,
            desc=stage,
            unit="record",
            file=sys.stderr,
            disable=not self.progress or total < PROGRESS_FROM,
        )

    async def stage(self, stage: str, items: Sequence[Item]) -> None:
        with self._bar(stage, len(items)) as bar:
            for start in range(0, len(items), BATCH):
                batch = items[start : start + BATCH]
                async with self.db.write.begin() as conn:
                    await self._prefetch(conn, batch)
                    for item in batch:
                        await self._record(conn, item)
                        bar.update()

    async def _prefetch(self, conn: AsyncConnection, batch: Sequence[Item]) -> None:
        """The rows the batch's records may update, read in one query per table."""
        ids: dict[str, list[int]] = {}
        for item in batch:
            table = TABLE_OF.get(item.kind or "")
            if table is not None and isinstance(item.record, dict):
                with contextlib.suppress(Reject, KeyError):
                    ids.setdefault(table, []).append(to_id(item.record["id"]))
        await self.writer.prefetch(conn, ids)

    async def _record(self, conn: AsyncConnection, item: Item) -> None:
        kind = item.kind or item.stage
        if kind == NOT_IMPORTED:
            self.report.tally(kind).skipped += 1
            return
        try:
            if item.kind is None:
                raise Reject("cannot tell a group appointment from an individual appointment")
            row = MAPPERS[item.kind](item.record) if isinstance(item.record, dict) else None
            if row is None:
                raise Reject("not a JSON object")
            outcome = await self.writer.upsert(conn, row)
        except Reject as error:
            self.report.reject(kind, item.label, str(error))
            return
        except (sa.exc.IntegrityError, sa.exc.DataError) as error:
            self.report.reject(kind, item.label, constraint_reason(error))
            return
        self.report.tally(kind).add(outcome)
        if row.standin is not None:
            self.standins[row.id] = (item, row.standin)

    async def standins_stage(self) -> None:
        """An attendee for each individual appointment the export has none for."""
        pending = [(b, s) for b, s in self.standins.items() if b not in self.writer.attended]
        for start in range(0, len(pending), BATCH):
            async with self.db.write.begin() as conn:
                await self.writer.prefetch(conn, {})  # forget the last batch's rows
                for booking_id, (item, values) in pending[start : start + BATCH]:
                    try:
                        async with conn.begin_nested():
                            outcome = await self.writer.standin(conn, booking_id, values)
                    except Reject as error:
                        self.report.reject(STANDINS, item.label, f"its attendee: {error}")
                        continue
                    except (sa.exc.IntegrityError, sa.exc.DataError) as error:
                        self.report.reject(
                            STANDINS, item.label, f"its attendee: {constraint_reason(error)}"
                        )
                        continue
                    if outcome is not None:
                        self.report.tally(STANDINS).add(outcome)

    async def recount(self) -> None:
        async with self.db.write.begin() as conn:
            await self.writer.recount(conn, self.writer.touched)


async def import_cliniko(
    db: Database, path: Path, *, account_id: int, progress: bool = False
) -> Report:
    """Import a Cliniko export (a JSON file, or a directory of them) into an account.

    Raises SourceError when the path cannot be read, AccountNotFound for an unknown
    account; everything about single records or files is in the returned Report."""
    async with db.write.begin() as conn:
        await ensure_account(conn, account_id=account_id)
    source = load(path)
    run = _Run(db, account_id, progress)
    for name, reason in source.problems:
        run.report.reject("files", name, reason)
    run.report.notes += source.notes
    if source.notes:
        run.report.tally("files").skipped += len(source.notes)
    for stage in STAGES:
        await run.stage(stage, source.stages[stage])
        if stage == "attendees":
            await run.standins_stage()
    await run.recount()
    return run.report
