"""One subscriber's events: replay from the log after `after`, then live, exactly once and
in order.

The subscriber registers with the hub first and notes `live_from`, the hub's last seq, in
the same tick: every later event reaches its queue, in order. It then replays the log's
matching events in (after, live_from] and reads the queue, skipping any seq it already
sent (when `after` is beyond `live_from` because this process lags). Nothing is missed,
because seq order is commit order (app/events/log.py), and nothing is repeated, because
of the seq guard.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from app.events.log import Event, EventFilter, last_seq, read_after, resume_point

REPLAY_PAGE = 100


async def event_stream(
    ctx: Any, where: EventFilter, after: str | None
) -> AsyncGenerator[Event, None]:
    """The stream for `ctx`'s account; raises (before streaming) for a bad `after`."""
    hub = ctx.hub  # a LiveContext: transport.SubscriptionGuard refused it over HTTP
    start = await resume_point(hub.database.read, after)
    if start is None:  # live from now: the log's end, even if this process lags behind it
        return _events(hub, ctx, where, await last_seq(hub.database.read))
    return _events(hub, ctx, where, start)


async def _events(
    hub: Any, ctx: Any, where: EventFilter, start: int
) -> AsyncGenerator[Event, None]:
    subscriber = hub.subscribe(ctx.account_id, where, ctx.socket, start)
    try:
        sent = start
        while sent < subscriber.live_from:
            page = await read_after(
                hub.database.read,
                sent,
                through=subscriber.live_from,
                account_id=ctx.account_id,
                where=where,
                limit=REPLAY_PAGE,
            )
            if not page:
                break
            for event in page:
                yield event
                sent = event.seq
        while True:
            event = await subscriber.queue.get()
            if event.seq > sent:
                yield event
                sent = event.seq
    finally:
        hub.unsubscribe(subscriber)
