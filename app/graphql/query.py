"""The root Query: refetching by id and the root lists."""

import asyncio
from collections.abc import Collection
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError

from app.context import Context
from app.graphql.attendees import ATTENDEES, Attendee
from app.graphql.audit import AUDIT_EVENTS
from app.graphql.bookings import BOOKINGS, Booking
from app.graphql.catalog import APPOINTMENT_TYPES, PRACTITIONERS, AppointmentType, Practitioner
from app.graphql.common import Node
from app.graphql.connection import connection_field
from app.graphql.nodes import BOOKING_TYPES, load_typed, type_names
from app.graphql.patients import PATIENTS, Patient, PatientCase
from app.ids import InvalidIdError, from_global_id, lookup_key
from app.plan.rules import Fallback, Lookup, plan

Info = strawberry.Info[Context, None]
MAX_NODES = 100
IdArg = Annotated[
    strawberry.ID, strawberry.argument(description="A global id, or a database id (digits).")
]


def _bad_id(exc: InvalidIdError) -> GraphQLError:
    return GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT"})


async def _lookup(ctx: Context, value: str, types: Collection[str]) -> Any:
    """The node for a global or database id of one of `types`; None when not found."""
    try:
        type_name, database_id = lookup_key(value, types)
    except InvalidIdError as exc:
        raise _bad_id(exc) from None
    if type_name is not None:
        return await load_typed(ctx, type_name, database_id)
    for name in sorted(types):  # a database id: the row, whichever of `types` it is
        node = await load_typed(ctx, name, database_id)
        if node is not None:
            return node
    return None


def _node_id(value: str) -> tuple[str, int]:
    """(type name, database id) of a global id for `node`/`nodes`, or a clear error."""
    try:
        type_name, database_id = from_global_id(value)
    except InvalidIdError as exc:
        raise _bad_id(InvalidIdError(f"{exc} `node` takes global ids (the `id` field).")) from None
    if type_name not in type_names():
        raise _bad_id(InvalidIdError(f'"{value}" names an unknown type "{type_name}".'))
    return type_name, database_id


@strawberry.type(description="Read the clinic's attendees, bookings and patients.")
class Query:
    @strawberry.field(
        description="Refetch any object by its global id; null when not found.",
        metadata=plan(Fallback("any type by global id: not planned yet")),
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
    ) -> Node | None:
        return await load_typed(info.context, *_node_id(id))

    @strawberry.field(
        description="Refetch up to 100 objects by global id, in order; null where not found.",
        metadata=plan(Fallback("a list of any types by global id: not planned yet")),
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Global ids (at most 100).")
        ],
    ) -> list[Node | None]:
        # At most MAX_NODES ids: app/limits.py counts them before they are converted.
        parsed = [_node_id(value) for value in ids]  # every id checked before any load
        return list(await asyncio.gather(*(load_typed(info.context, *p) for p in parsed)))

    @strawberry.field(
        description="One attendee by id, whatever its state; null when not found.",
        metadata=plan(Lookup("attendee", frozenset({"Attendee"}))),
    )
    async def attendee(self, info: Info, id: IdArg) -> Attendee | None:
        return await _lookup(info.context, id, {"Attendee"})

    @strawberry.field(
        description="One booking by id, whatever its state; null when not found.",
        metadata=plan(Lookup("booking", BOOKING_TYPES)),
    )
    async def booking(self, info: Info, id: IdArg) -> Booking | None:
        return await _lookup(info.context, id, BOOKING_TYPES)

    @strawberry.field(
        description="One patient by id, whatever its state; null when not found.",
        metadata=plan(Lookup("patient", frozenset({"Patient"}))),
    )
    async def patient(self, info: Info, id: IdArg) -> Patient | None:
        return await _lookup(info.context, id, {"Patient"})

    @strawberry.field(
        description="One patient case by id; null when not found.",
        metadata=plan(Lookup("patient_case", frozenset({"PatientCase"}))),
    )
    async def patient_case(self, info: Info, id: IdArg) -> PatientCase | None:
        return await _lookup(info.context, id, {"PatientCase"})

    @strawberry.field(
        description="One appointment type by id; null when not found.",
        metadata=plan(Lookup("appointment_type", frozenset({"AppointmentType"}))),
    )
    async def appointment_type(self, info: Info, id: IdArg) -> AppointmentType | None:
        return await _lookup(info.context, id, {"AppointmentType"})

    @strawberry.field(
        description="One practitioner by id; null when not found.",
        metadata=plan(Lookup("practitioner", frozenset({"Practitioner"}))),
    )
    async def practitioner(self, info: Info, id: IdArg) -> Practitioner | None:
        return await _lookup(info.context, id, {"Practitioner"})

    attendees = connection_field(
        ATTENDEES,
        parent=None,
        description="Attendees; archived, cancelled and deleted ones are hidden unless the filter asks.",
    )
    bookings = connection_field(
        BOOKINGS,
        parent=None,
        description="Bookings; archived, cancelled and deleted ones are hidden unless the filter asks.",
    )
    patients = connection_field(
        PATIENTS,
        parent=None,
        description="Patients; archived and deleted ones are hidden unless the filter asks.",
    )
    appointment_types = connection_field(
        APPOINTMENT_TYPES, parent=None, description="Appointment types."
    )
    practitioners = connection_field(PRACTITIONERS, parent=None, description="Practitioners.")
    audit_events = connection_field(
        AUDIT_EVENTS,
        parent=None,
        description="The account's audit trail: one row per change made through the API, "
        "oldest first. Needs an API key with the `audit` scope.",
        rule=Fallback("audit rows: always the ordinary executor"),
    )
