"""Subscription: attendeeEvents and bookingEvents (contract §7). Thin: the filter is
parsed here, the stream comes from app.events.stream, the object is read at delivery."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError

from app.context import Context, RequestDB
from app.events.log import Event, EventFilter
from app.events.stream import event_stream
from app.graphql.attendees import Attendee
from app.graphql.bookings import Booking
from app.graphql.common import describe_values
from app.graphql.nodes import BOOKING_TYPES, load_node
from app.ids import InvalidIdError, parse_id
from app.metrics import EVENTS_DELIVERED

Info = strawberry.Info[Context, None]


@strawberry.enum(description="What happened to the row.")
class ChangeKind(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    CANCELLED = "CANCELLED"
    ARCHIVED = "ARCHIVED"
    UNARCHIVED = "UNARCHIVED"


describe_values(
    ChangeKind,
    {
        "CREATED": "The row was created.",
        "UPDATED": "Any other change (arrived, notes, times, seats taken or freed...).",
        "CANCELLED": "The row was cancelled.",
        "ARCHIVED": "The row was archived.",
        "UNARCHIVED": "The row was unarchived.",
    },
)


@strawberry.input(description="Which attendee events to receive; all of them when omitted.")
class AttendeeEventFilter:
    booking_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only attendees of this booking."
    )
    patient_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only attendees of this patient."
    )
    kinds: list[ChangeKind] | None = strawberry.field(
        default=None, description="Only these kinds of change."
    )


@strawberry.input(description="Which booking events to receive; all of them when omitted.")
class BookingEventFilter:
    booking_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this booking."
    )
    practitioner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this practitioner's bookings."
    )
    kinds: list[ChangeKind] | None = strawberry.field(
        default=None, description="Only these kinds of change."
    )


EVENT_ID = "An opaque, ordered cursor: pass it as `after` to resume after this event."
OCCURRED_AT = "When the change committed."


@strawberry.type(description="A change to an attendee in your account.")
class AttendeeEvent:
    event_id: str = strawberry.field(description=EVENT_ID)
    kind: ChangeKind = strawberry.field(description="What happened.")
    occurred_at: datetime = strawberry.field(description=OCCURRED_AT)
    attendee: Attendee = strawberry.field(description="The attendee as it is when delivered.")


@strawberry.type(description="A change to a booking in your account.")
class BookingEvent:
    event_id: str = strawberry.field(description=EVENT_ID)
    kind: ChangeKind = strawberry.field(description="What happened.")
    occurred_at: datetime = strawberry.field(description=OCCURRED_AT)
    booking: Booking = strawberry.field(description="The booking as it is when delivered.")


AFTER = strawberry.argument(
    description="Resume after this eventId: first every matching event since, in order, then live."
)


def _id(value: strawberry.ID | None, types: frozenset[str] | set[str]) -> int | None:
    try:
        return None if value is None else parse_id(value, types)
    except InvalidIdError as exc:
        raise GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT"}) from None


def _kinds(kinds: list[ChangeKind] | None) -> frozenset[str]:
    return frozenset(k.value for k in kinds or ())


async def _deliver(
    info: Info, events: AsyncIterator[Event], table: str, make: Callable[[Event, Any], Any]
) -> AsyncGenerator[Any, None]:
    """Each event with its object read now, under the subscriber's account; nested fields
    on a fresh database handle and loaders (closed when the next event is asked for). The
    object itself is read once per process for all the account's subscribers."""
    ctx: Any = info.context

    async def read(event: Event) -> Any:
        db = RequestDB(ctx.hub.database.read, event.account_id)
        try:
            return await load_node(Context(db=db, settings=ctx.settings), table, event.entity_id)
        finally:
            await db.close()

    async for event in events:
        if event.account_id != ctx.account_id:  # never: the hub and the log filter by account
            continue
        db = ctx.fresh_db()
        try:
            node = await ctx.hub.reads.get(event.seq, lambda e=event: read(e))
            if node is not None:
                EVENTS_DELIVERED.inc()
                yield make(event, node)
        finally:
            await db.close()


async def _subscribe(
    info: Info, where: EventFilter, after: str | None, event_type: Any
) -> AsyncGenerator[Any, None]:
    """The stream of `event_type` (its object field is named after the entity) for `where`;
    a bad `after` raises here, before the stream starts."""
    events = await event_stream(info.context, where, after)
    return _deliver(
        info,
        events,
        where.entity,
        lambda e, node: event_type(
            event_id=e.event_id,
            kind=ChangeKind(e.kind),
            occurred_at=e.occurred_at,
            **{where.entity: node},
        ),
    )


@strawberry.type(description="Live changes, over GraphQL over WebSocket (graphql-transport-ws).")
class Subscription:
    @strawberry.subscription(
        description="Changes to attendees (arrivals, bookings, cancellations)."
    )
    async def attendee_events(
        self,
        info: Info,
        filter: Annotated[
            AttendeeEventFilter | None, strawberry.argument(description="Which events.")
        ] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> AsyncGenerator[AttendeeEvent, None]:
        f = filter or AttendeeEventFilter()
        where = EventFilter(
            "attendee",
            booking_id=_id(f.booking_id, BOOKING_TYPES),
            patient_id=_id(f.patient_id, {"Patient"}),
            kinds=_kinds(f.kinds),
        )
        return await _subscribe(info, where, after, AttendeeEvent)

    @strawberry.subscription(description="Changes to bookings (seats taken, times, cancellations).")
    async def booking_events(
        self,
        info: Info,
        filter: Annotated[
            BookingEventFilter | None, strawberry.argument(description="Which events.")
        ] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> AsyncGenerator[BookingEvent, None]:
        f = filter or BookingEventFilter()
        where = EventFilter(
            "booking",
            booking_id=_id(f.booking_id, BOOKING_TYPES),
            practitioner_id=_id(f.practitioner_id, {"Practitioner"}),
            kinds=_kinds(f.kinds),
        )
        return await _subscribe(info, where, after, BookingEvent)
