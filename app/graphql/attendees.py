"""Attendee: one patient's place in one booking."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import strawberry

from app.context import Context
from app.graphql.common import (
    ArchivedFilter,
    CancellationReason,
    CancelledFilter,
    DeletedFilter,
    IdFilter,
    InvoiceStatus,
    Node,
    TimestampsFilter,
    TreatmentNoteStatus,
    cancellation_description_field,
    database_id_field,
    id_terms,
    order_input,
    state_terms,
    timestamp_order_fields,
)
from app.graphql.connection import ListSpec
from app.graphql.nodes import BOOKING_TYPES, node_from_row, register, related
from app.models import Attendee as AttendeeRow

if TYPE_CHECKING:
    from app.graphql.bookings import Booking
    from app.graphql.patients import Patient, PatientCase

TABLE: sa.Table = AttendeeRow.__table__  # type: ignore[attr-defined]
Info = strawberry.Info[Context, None]


@strawberry.type(
    description="One patient's place in one booking (a group or individual appointment)."
)
class Attendee(Node):
    booking_id: strawberry.Private[int]
    patient_id: strawberry.Private[int]
    patient_case_id: strawberry.Private[int | None]
    account_id: strawberry.Private[int]
    database_id: strawberry.ID = database_id_field()
    arrived: bool | None = strawberry.field(
        description="Whether the patient turned up; null when not recorded."
    )
    notes: str | None = strawberry.field(description="Notes on this attendance.")
    booking_ip_address: str | None = strawberry.field(
        description="IP address of an online booking."
    )
    online_booking_policy_accepted: bool | None = strawberry.field(
        description="Whether the patient accepted the online-booking policy."
    )
    cancellation_reason: CancellationReason | None = strawberry.field(
        description="Why it was cancelled; null when not cancelled."
    )
    cancellation_note: str | None = strawberry.field(
        description="Free-text note given on cancelling."
    )
    cancellation_url: str | None = strawberry.field(
        description="The patient-facing self-cancel link."
    )
    cancelled_at: datetime | None = strawberry.field(
        description="When it was cancelled (final; cannot be undone)."
    )
    archived_at: datetime | None = strawberry.field(description="When it was archived.")
    deleted_at: datetime | None = strawberry.field(description="When it was soft-deleted (legacy).")
    email_reminder_sent: bool | None = strawberry.field(
        description="Whether an email reminder went out."
    )
    sms_reminder_sent: bool | None = strawberry.field(
        description="Whether an SMS reminder went out."
    )
    sent_email_reminders_count: int | None = strawberry.field(
        description="Number of email reminders sent."
    )
    sent_sms_reminders_count: int | None = strawberry.field(
        description="Number of SMS reminders sent."
    )
    invoice_status: InvoiceStatus | None = strawberry.field(
        description="Invoice state of this attendance."
    )
    treatment_note_status: TreatmentNoteStatus | None = strawberry.field(
        description="Treatment-note state of this attendance."
    )
    telehealth_url: str | None = strawberry.field(
        description="The patient's telehealth link (usable by anyone who has it)."
    )
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")

    cancellation_reason_description: str | None = cancellation_description_field()
    booking = related(
        "booking",
        "booking_id",
        Annotated["Booking", strawberry.lazy("app.graphql.bookings")],
        "The booking attended.",
    )
    patient = related(
        "patient",
        "patient_id",
        Annotated["Patient", strawberry.lazy("app.graphql.patients")],
        "The patient attending.",
    )
    patient_case = related(
        "patient_case",
        "patient_case_id",
        Annotated["PatientCase", strawberry.lazy("app.graphql.patients")] | None,
        "The patient case this attendance counts toward, if any.",
    )


AttendeeOrderField = timestamp_order_fields("AttendeeOrderField", "attendee")
AttendeeOrder = order_input("AttendeeOrder", AttendeeOrderField, "attendee")


@strawberry.input(
    description="Narrow an attendee list (Cliniko's q[] filters). Archived, cancelled and deleted attendees are hidden unless asked for."
)
class AttendeeFilter(TimestampsFilter, ArchivedFilter, CancelledFilter, DeletedFilter):
    database_id: IdFilter | None = strawberry.field(default=None, description="By attendee id.")
    booking_id: IdFilter | None = strawberry.field(default=None, description="By booking.")
    patient_id: IdFilter | None = strawberry.field(default=None, description="By patient.")
    patient_case_id: IdFilter | None = strawberry.field(
        default=None, description="By patient case."
    )
    arrived: bool | None = strawberry.field(
        default=None,
        description="Recorded as arrived (true) or not (false); null rows match neither.",
    )
    include_deleted: bool = strawberry.field(
        default=False, description="Also list deleted attendees."
    )


def attendee_where(flt: AttendeeFilter | None) -> list[Any]:
    """WHERE terms for an AttendeeFilter (hidden states included)."""
    terms = state_terms(TABLE, flt, ("archived", "cancelled", "deleted"))
    if flt is None:
        return terms
    c = TABLE.c
    terms += id_terms(c.id, flt.database_id, {"Attendee"}, "databaseId")
    terms += id_terms(c.booking_id, flt.booking_id, BOOKING_TYPES, "bookingId")
    terms += id_terms(c.patient_id, flt.patient_id, {"Patient"}, "patientId")
    terms += id_terms(c.patient_case_id, flt.patient_case_id, {"PatientCase"}, "patientCaseId")
    if flt.arrived is not None:
        terms.append(c.arrived.is_(True) if flt.arrived else c.arrived.is_(False))
    return terms


ATTENDEES = ListSpec(
    name="attendees",
    table=TABLE,
    to_node=node_from_row(Attendee),
    node_type=Attendee,
    filter_type=AttendeeFilter,
    order_type=AttendeeOrder,
    where=attendee_where,
)
register(TABLE, ATTENDEES.to_node, {"Attendee": lambda n: True})
