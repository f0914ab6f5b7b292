"""Clean-up every server process runs in the background: rows kept for a while only.

Today: Idempotency-Keys past their 24 hours (app/idempotency.py), and change events past
EVENT_RETENTION_HOURS (app/events/log.py). Several processes pruning at once is harmless
(each DELETE removes what is still there).
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from app.db import Database
from app.events.log import prune as prune_events
from app.idempotency import prune

logger = logging.getLogger("app.housekeeping")
INTERVAL_SECONDS = 600.0


async def housekeeping(
    database: Database,
    interval: float = INTERVAL_SECONDS,
    event_retention: timedelta = timedelta(hours=48),
) -> None:
    """Prune now and then until cancelled; a failure is logged as its type and retried
    at the next round (the database may be down for a while)."""
    while True:
        await asyncio.sleep(interval * random.uniform(0.5, 1.0))  # processes spread out
        try:
            async with database.write.begin() as conn:
                pruned = await prune(conn)
            if pruned:
                logger.info("pruned %d expired idempotency keys", pruned)
            if events := await prune_events(database.write, event_retention):
                logger.info("pruned %d change events", events)
        except Exception as exc:  # the next round retries
            logger.warning("housekeeping failed: %s", type(exc).__name__)
