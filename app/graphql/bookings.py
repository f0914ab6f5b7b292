"""Bookings: the Booking interface with GroupAppointment and IndividualAppointment."""

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import strawberry

from app.context import Context
from app.graphql.attendees import ATTENDEES
from app.graphql.attendees import TABLE as ATTENDEE_TABLE
from app.graphql.catalog import AppointmentType, Practitioner
from app.graphql.common import (
    ArchivedFilter,
    CancellationReason,
    CancelledFilter,
    DateTimeFilter,
    DeletedFilter,
    IdFilter,
    Node,
    TimestampsFilter,
    cancellation_description_field,
    database_id_field,
    id_terms,
    order_input,
    range_terms,
    state_terms,
    timestamp_order_fields,
)
from app.graphql.connection import ListSpec, connection_field
from app.graphql.nodes import BOOKING_TYPES, node_from_row, register, related
from app.models import Booking as BookingRow
from app.plan.rules import Computed, Variants, plan

if TYPE_CHECKING:
    from app.graphql.patients import Patient, PatientCase

TABLE: sa.Table = BookingRow.__table__  # type: ignore[attr-defined]
Info = strawberry.Info[Context, None]


@strawberry.enum(description="How a booking repeats.")
class RepeatType(Enum):
    DAILY = strawberry.enum_value("Daily", description="Every N days.")
    WEEKLY = strawberry.enum_value("Weekly", description="Every N weeks.")
    MONTHLY = strawberry.enum_value(
        "Monthly", description="Every N months (same day, clamped to the month's end)."
    )


@strawberry.enum(description="The kind of a booking.")
class BookingKind(Enum):
    GROUP = strawberry.enum_value("group", description="Group appointments (classes).")
    INDIVIDUAL = strawberry.enum_value("individual", description="Individual appointments.")


@strawberry.type(
    description="How a booking repeats: occurrences are the start plus n × interval, in UTC."
)
class RepeatRule:
    repeat_type: RepeatType | None = strawberry.field(description="Daily, weekly or monthly.")
    number_of_repeats: int | None = strawberry.field(
        description="Occurrences after the first (at most 51)."
    )
    repeating_interval: int | None = strawberry.field(
        description="Every N days, weeks or months (at most 100)."
    )


BookingOrderField = timestamp_order_fields(
    "BookingOrderField", "booking", {"STARTS_AT": "starts_at", "ENDS_AT": "ends_at"}
)
BookingOrder = order_input("BookingOrder", BookingOrderField, "booking")


@strawberry.input(
    description="Narrow a booking list. Archived, cancelled and deleted bookings are hidden unless asked for."
)
class BookingFilter(TimestampsFilter, ArchivedFilter, CancelledFilter, DeletedFilter):
    database_id: IdFilter | None = strawberry.field(default=None, description="By booking id.")
    kind: BookingKind | None = strawberry.field(
        default=None, description="Group or individual appointments only."
    )
    practitioner_id: IdFilter | None = strawberry.field(
        default=None, description="By practitioner."
    )
    appointment_type_id: IdFilter | None = strawberry.field(
        default=None, description="By appointment type."
    )
    patient_id: IdFilter | None = strawberry.field(
        default=None, description="Bookings the patient has an attendance in (in any state)."
    )
    repeated_from_id: IdFilter | None = strawberry.field(
        default=None, description="Occurrences of a repeat series, by its first booking."
    )
    starts_at: DateTimeFilter | None = strawberry.field(default=None, description="By start.")
    ends_at: DateTimeFilter | None = strawberry.field(default=None, description="By end.")
    include_deleted: bool = strawberry.field(
        default=False, description="Also list deleted bookings."
    )


def booking_where(flt: BookingFilter | None) -> list[Any]:
    """WHERE terms for a BookingFilter (hidden states included)."""
    terms = state_terms(TABLE, flt, ("archived", "cancelled", "deleted"))
    if flt is None:
        return terms
    c = TABLE.c
    terms += id_terms(c.id, flt.database_id, BOOKING_TYPES, "databaseId")
    terms += id_terms(c.practitioner_id, flt.practitioner_id, {"Practitioner"}, "practitionerId")
    terms += id_terms(
        c.appointment_type_id, flt.appointment_type_id, {"AppointmentType"}, "appointmentTypeId"
    )
    terms += id_terms(c.repeated_from_id, flt.repeated_from_id, BOOKING_TYPES, "repeatedFromId")
    patient_terms = id_terms(ATTENDEE_TABLE.c.patient_id, flt.patient_id, {"Patient"}, "patientId")
    if patient_terms:
        a = ATTENDEE_TABLE.c
        terms.append(
            sa.exists().where(a.booking_id == c.id, a.account_id == c.account_id, *patient_terms)
        )
    if flt.kind is not None:
        terms.append(c.kind == flt.kind.value)
    terms += range_terms(c.starts_at, flt.starts_at) + range_terms(c.ends_at, flt.ends_at)
    return terms


BOOKINGS = ListSpec(
    name="bookings",
    table=TABLE,
    to_node=lambda row: to_booking(row),
    node_type=Annotated["Booking", strawberry.lazy("app.graphql.bookings")],
    filter_type=BookingFilter,
    order_type=BookingOrder,
    where=booking_where,
)


AttendeeConnectionField = connection_field(
    ATTENDEES,
    parent="booking_id",
    description="The booking's attendees (active ones unless the filter asks).",
)


def repeat_rule(
    repeat_type: str | None, number_of_repeats: int | None, repeating_interval: int | None
) -> RepeatRule | None:
    """How a booking repeats, from its columns; None when it does not."""
    if repeat_type is None:
        return None
    return RepeatRule(
        repeat_type=RepeatType(repeat_type),
        number_of_repeats=number_of_repeats,
        repeating_interval=repeating_interval,
    )


def available_seats(max_attendees: int, active_attendees: int) -> int:
    return int(max_attendees - active_attendees)


# The kind column tells a booking row's GraphQL type (both executors read this).
BOOKING_VARIANTS = Variants(
    "kind", {"group": "GroupAppointment", "individual": "IndividualAppointment"}
)


@strawberry.interface(description="A group or individual appointment in a practitioner's diary.")
class Booking(Node):
    __plan__ = BOOKING_VARIANTS
    account_id: strawberry.Private[int]
    appointment_type_id: strawberry.Private[int]
    practitioner_id: strawberry.Private[int]
    repeated_from_id: strawberry.Private[int | None]
    kind: strawberry.Private[str]
    database_id: strawberry.ID = database_id_field()
    starts_at: datetime = strawberry.field(description="Start (UTC).")
    ends_at: datetime = strawberry.field(
        description="End (UTC); defaults to start + the type's duration."
    )
    notes: str | None = strawberry.field(description="Notes on the booking.")
    archived_at: datetime | None = strawberry.field(description="When it was archived.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    deleted_at: datetime | None = strawberry.field(description="When it was soft-deleted (legacy).")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    attendees = AttendeeConnectionField
    repeats = connection_field(
        BOOKINGS,
        parent="repeated_from_id",
        description="The occurrences generated from this booking.",
    )

    appointment_type = related(
        "appointment_type", "appointment_type_id", AppointmentType, "The appointment type."
    )
    practitioner = related(
        "practitioner", "practitioner_id", Practitioner, "The practitioner holding the booking."
    )

    @strawberry.field(
        description="How this booking repeats; null when it does not.",
        metadata=plan(
            Computed(("repeat_type", "number_of_repeats", "repeating_interval"), repeat_rule)
        ),
    )
    def repeat_rule(self) -> RepeatRule | None:
        row: dict[str, Any] = self.__dict__
        return repeat_rule(row["repeat_type"], row["number_of_repeats"], row["repeating_interval"])

    repeated_from = related(
        "booking",
        "repeated_from_id",
        Annotated["Booking", strawberry.lazy("app.graphql.bookings")] | None,
        "The booking this occurrence was generated from.",
    )


@strawberry.type(description="A class with several attendees, capped by maxAttendees.")
class GroupAppointment(Booking):
    max_attendees: int = strawberry.field(description="Seats in the class.")

    @strawberry.field(
        description="Seats not taken by an active attendee.",
        metadata=plan(Computed(("max_attendees", "active_attendees"), available_seats)),
    )
    def available_seats(self) -> int:
        return available_seats(self.max_attendees, self.__dict__["active_attendees"])


@strawberry.type(description="An appointment with exactly one patient.")
class IndividualAppointment(Booking):
    patient_id: strawberry.Private[int]
    patient_case_id: strawberry.Private[int | None]
    patient_arrived: bool | None = strawberry.field(description="Whether the patient arrived.")
    did_not_arrive: bool | None = strawberry.field(description="No-show flag.")
    cancellation_reason: CancellationReason | None = strawberry.field(
        description="Why it was cancelled."
    )
    cancellation_note: str | None = strawberry.field(description="Note given on cancelling.")

    cancellation_reason_description: str | None = cancellation_description_field()
    patient = related(
        "patient",
        "patient_id",
        Annotated["Patient", strawberry.lazy("app.graphql.patients")],
        "The patient.",
    )
    patient_case = related(
        "patient_case",
        "patient_case_id",
        Annotated["PatientCase", strawberry.lazy("app.graphql.patients")] | None,
        "The patient case, if any.",
    )


_BY_TYPE = {
    "GroupAppointment": node_from_row(GroupAppointment),
    "IndividualAppointment": node_from_row(IndividualAppointment),
}
_BY_KIND = {kind: _BY_TYPE[name] for kind, name in BOOKING_VARIANTS.types.items()}


def to_booking(row: sa.Row[Any]) -> Booking:
    return _BY_KIND[row.kind](row)


register(
    TABLE,
    to_booking,
    {
        "GroupAppointment": lambda n: isinstance(n, GroupAppointment),
        "IndividualAppointment": lambda n: isinstance(n, IndividualAppointment),
    },
)
