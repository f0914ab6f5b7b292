"""createGroupAppointment, createIndividualAppointment, updateBooking, cancelBooking, archiveBooking."""

from datetime import datetime
from typing import Annotated, Any

import strawberry

from app.context import Context
from app.graphql.bookings import Booking, RepeatType
from app.graphql.common import CancellationReason
from app.graphql.mutations.common import (
    CLIENT_MUTATION_ID,
    INPUT,
    expected_updated_at_field,
    payload_type,
    run_mutation,
)
from app.graphql.nodes import BOOKING_TYPES
from app.services import bookings as service
from app.services.base import input_id, optional_id

Info = strawberry.Info[Context, None]
BookingPayload = payload_type("BookingPayload", "booking", Booking, "booking")


@strawberry.input(
    description="Repeat a new booking: numberOfRepeats occurrences after the first, every repeatingInterval days, weeks or months."
)
class RepeatRuleInput:
    repeat_type: RepeatType = strawberry.field(description="Daily, weekly or monthly.")
    number_of_repeats: int = strawberry.field(description="Occurrences after the first (1–51).")
    repeating_interval: int = strawberry.field(
        default=1, description="Every N days, weeks or months (1–100)."
    )


@strawberry.input(description="A new group appointment (a class).")
class CreateGroupAppointmentInput:
    appointment_type_id: strawberry.ID = strawberry.field(description="The appointment type.")
    practitioner_id: strawberry.ID = strawberry.field(description="The practitioner.")
    starts_at: datetime = strawberry.field(description="Start (UTC).")
    ends_at: datetime | None = strawberry.field(
        default=None, description="End; defaults to start + the type's duration."
    )
    max_attendees: int | None = strawberry.field(
        default=None, description="Seats (1–100); defaults to the type's."
    )
    notes: str | None = strawberry.field(default=None, description="Notes.")
    repeat_rule: RepeatRuleInput | None = strawberry.field(
        default=None, description="Create a repeat series."
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(
    description="A new individual appointment; its single attendee is created with it."
)
class CreateIndividualAppointmentInput:
    appointment_type_id: strawberry.ID = strawberry.field(description="The appointment type.")
    practitioner_id: strawberry.ID = strawberry.field(description="The practitioner.")
    patient_id: strawberry.ID = strawberry.field(description="The patient.")
    patient_case_id: strawberry.ID | None = strawberry.field(
        default=None, description="A case of the same patient."
    )
    starts_at: datetime = strawberry.field(description="Start (UTC).")
    ends_at: datetime | None = strawberry.field(
        default=None, description="End; defaults to start + the type's duration."
    )
    notes: str | None = strawberry.field(default=None, description="Notes.")
    repeat_rule: RepeatRuleInput | None = strawberry.field(
        default=None, description="Create a repeat series."
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(
    description="Change a booking; an omitted field stays as it is. A null endsAt is recomputed from the appointment type."
)
class UpdateBookingInput:
    id: strawberry.ID = strawberry.field(description="The booking.")
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="New start; alone, it keeps the duration."
    )
    ends_at: datetime | None = strawberry.field(default=strawberry.UNSET, description="New end.")
    notes: str | None = strawberry.field(default=strawberry.UNSET, description="Notes.")
    max_attendees: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Seats of a group appointment; never below its active attendees.",
    )
    expected_updated_at: datetime | None = expected_updated_at_field("booking")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Cancel a booking and its attendees (final).")
class CancelBookingInput:
    id: strawberry.ID = strawberry.field(description="The booking.")
    cancellation_reason: CancellationReason = strawberry.field(description="Why.")
    cancellation_note: str | None = strawberry.field(default=None, description="Free-text note.")
    apply_to_repeats: bool = strawberry.field(
        default=False, description="Also cancel every later occurrence of the series."
    )
    expected_updated_at: datetime | None = expected_updated_at_field("booking")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Archive a booking (idempotent).")
class ArchiveBookingInput:
    id: strawberry.ID = strawberry.field(description="The booking.")
    expected_updated_at: datetime | None = expected_updated_at_field("booking")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


def _repeat(rule: RepeatRuleInput | None) -> service.Repeat | None:
    if rule is None:
        return None
    return service.Repeat(
        str(rule.repeat_type.value), rule.number_of_repeats, rule.repeating_interval
    )


def _new_booking(data: Any, **extra: Any) -> service.NewBooking:
    return service.NewBooking(
        appointment_type_id=input_id(
            data.appointment_type_id, {"AppointmentType"}, "appointmentTypeId"
        ),
        practitioner_id=input_id(data.practitioner_id, {"Practitioner"}, "practitionerId"),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        notes=data.notes,
        repeat=_repeat(data.repeat_rule),
        **extra,
    )


def _changes(data: UpdateBookingInput) -> dict[str, Any]:
    names = ("starts_at", "ends_at", "notes", "max_attendees")
    return {n: getattr(data, n) for n in names if getattr(data, n) is not strawberry.UNSET}


@strawberry.type
class BookingMutations:
    @strawberry.mutation(
        description="Create a group appointment, and its occurrences when it repeats."
    )
    async def create_group_appointment(
        self, info: Info, input: Annotated[CreateGroupAppointmentInput, INPUT]
    ) -> BookingPayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: datetime) -> int:
            new = _new_booking(input, max_attendees=input.max_attendees)
            return await service.create_booking(conn, account_id=account_id, new=new, now=now)

        return await run_mutation(info, BookingPayload, input.client_mutation_id, work)

    @strawberry.mutation(
        description="Create an individual appointment with its attendee, and its occurrences when it repeats."
    )
    async def create_individual_appointment(
        self, info: Info, input: Annotated[CreateIndividualAppointmentInput, INPUT]
    ) -> BookingPayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: datetime) -> int:
            new = _new_booking(
                input,
                patient_id=input_id(input.patient_id, {"Patient"}, "patientId"),
                patient_case_id=optional_id(
                    input.patient_case_id, {"PatientCase"}, "patientCaseId"
                ),
            )
            return await service.create_booking(conn, account_id=account_id, new=new, now=now)

        return await run_mutation(info, BookingPayload, input.client_mutation_id, work)

    @strawberry.mutation(description="Change a booking's times, notes or seats.")
    async def update_booking(
        self, info: Info, input: Annotated[UpdateBookingInput, INPUT]
    ) -> BookingPayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: datetime) -> int:
            booking_id = input_id(input.id, BOOKING_TYPES, "id")
            return await service.update_booking(
                conn,
                account_id=account_id,
                booking_id=booking_id,
                changes=_changes(input),
                expected_updated_at=input.expected_updated_at,
                now=now,
            )

        return await run_mutation(info, BookingPayload, input.client_mutation_id, work)

    @strawberry.mutation(
        description="Cancel a booking and its attendees; for an individual appointment, the appointment and its attendee."
    )
    async def cancel_booking(
        self, info: Info, input: Annotated[CancelBookingInput, INPUT]
    ) -> BookingPayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: datetime) -> int:
            return await service.cancel_booking(
                conn,
                account_id=account_id,
                booking_id=input_id(input.id, BOOKING_TYPES, "id"),
                reason=int(input.cancellation_reason),
                note=input.cancellation_note,
                apply_to_repeats=input.apply_to_repeats,
                expected_updated_at=input.expected_updated_at,
                now=now,
            )

        return await run_mutation(info, BookingPayload, input.client_mutation_id, work)

    @strawberry.mutation(description="Archive a booking (idempotent).")
    async def archive_booking(
        self, info: Info, input: Annotated[ArchiveBookingInput, INPUT]
    ) -> BookingPayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: datetime) -> int:
            booking_id = input_id(input.id, BOOKING_TYPES, "id")
            return await service.archive_booking(
                conn,
                account_id=account_id,
                booking_id=booking_id,
                expected_updated_at=input.expected_updated_at,
                now=now,
            )

        return await run_mutation(info, BookingPayload, input.client_mutation_id, work)
