"""createAttendee, updateAttendee, cancelAttendee, archiveAttendee."""

from datetime import datetime
from typing import Annotated, Any

import strawberry

from app.context import Context
from app.graphql.attendees import Attendee
from app.graphql.common import CancellationReason
from app.graphql.mutations.common import (
    CLIENT_MUTATION_ID,
    INPUT,
    expected_updated_at_field,
    payload_type,
    run_mutation,
)
from app.graphql.nodes import BOOKING_TYPES
from app.services import attendees as service
from app.services.base import input_id, optional_id

Info = strawberry.Info[Context, None]
AttendeePayload = payload_type("AttendeePayload", "attendee", Attendee, "attendee")


@strawberry.input(description="Add a patient to a booking.")
class CreateAttendeeInput:
    booking_id: strawberry.ID = strawberry.field(
        description="The group or individual appointment to join."
    )
    patient_id: strawberry.ID = strawberry.field(description="The patient.")
    patient_case_id: strawberry.ID | None = strawberry.field(
        default=None, description="A case of the same patient."
    )
    arrived: bool | None = strawberry.field(
        default=None, description="Whether the patient arrived."
    )
    notes: str | None = strawberry.field(default=None, description="Notes on the attendance.")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(
    description="Change an attendee; an omitted field stays as it is, an explicit null clears it."
)
class UpdateAttendeeInput:
    id: strawberry.ID = strawberry.field(description="The attendee.")
    arrived: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether the patient arrived."
    )
    notes: str | None = strawberry.field(
        default=strawberry.UNSET, description="Notes on the attendance."
    )
    patient_case_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A case of the same patient."
    )
    expected_updated_at: datetime | None = expected_updated_at_field("attendee")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Cancel a group appointment's attendee (final).")
class CancelAttendeeInput:
    id: strawberry.ID = strawberry.field(description="The attendee.")
    cancellation_reason: CancellationReason = strawberry.field(description="Why.")
    cancellation_note: str | None = strawberry.field(default=None, description="Free-text note.")
    apply_to_repeats: bool = strawberry.field(
        default=False,
        description="Also cancel the patient's attendance in every later occurrence of the series.",
    )
    expected_updated_at: datetime | None = expected_updated_at_field("attendee")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Archive an attendee (idempotent).")
class ArchiveAttendeeInput:
    id: strawberry.ID = strawberry.field(description="The attendee.")
    expected_updated_at: datetime | None = expected_updated_at_field("attendee")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.type
class AttendeeMutations:
    @strawberry.mutation(
        description="Add a patient to a booking (a free seat and no active attendance of the same patient required)."
    )
    async def create_attendee(
        self, info: Info, input: Annotated[CreateAttendeeInput, INPUT]
    ) -> AttendeePayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: Any) -> int:
            return await service.create_attendee(
                conn,
                account_id=account_id,
                booking_id=input_id(input.booking_id, BOOKING_TYPES, "bookingId"),
                patient_id=input_id(input.patient_id, {"Patient"}, "patientId"),
                patient_case_id=optional_id(
                    input.patient_case_id, {"PatientCase"}, "patientCaseId"
                ),
                arrived=input.arrived,
                notes=input.notes,
                now=now,
            )

        return await run_mutation(info, AttendeePayload, input.client_mutation_id, work)

    @strawberry.mutation(description="Change an attendee's arrived, notes or patient case.")
    async def update_attendee(
        self, info: Info, input: Annotated[UpdateAttendeeInput, INPUT]
    ) -> AttendeePayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: Any) -> int:
            changes: dict[str, Any] = {}
            if input.arrived is not strawberry.UNSET:
                changes["arrived"] = input.arrived
            if input.notes is not strawberry.UNSET:
                changes["notes"] = input.notes
            if input.patient_case_id is not strawberry.UNSET:
                changes["patient_case_id"] = optional_id(
                    input.patient_case_id, {"PatientCase"}, "patientCaseId"
                )
            attendee_id = input_id(input.id, {"Attendee"}, "id")
            return await service.update_attendee(
                conn,
                account_id=account_id,
                attendee_id=attendee_id,
                changes=changes,
                expected_updated_at=input.expected_updated_at,
                now=now,
            )

        return await run_mutation(info, AttendeePayload, input.client_mutation_id, work)

    @strawberry.mutation(
        description="Cancel an attendee of a group appointment; individual appointments are cancelled with cancelBooking."
    )
    async def cancel_attendee(
        self, info: Info, input: Annotated[CancelAttendeeInput, INPUT]
    ) -> AttendeePayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: Any) -> int:
            return await service.cancel_attendee(
                conn,
                account_id=account_id,
                attendee_id=input_id(input.id, {"Attendee"}, "id"),
                reason=int(input.cancellation_reason),
                note=input.cancellation_note,
                apply_to_repeats=input.apply_to_repeats,
                expected_updated_at=input.expected_updated_at,
                now=now,
            )

        return await run_mutation(info, AttendeePayload, input.client_mutation_id, work)

    @strawberry.mutation(
        description="Archive an attendee (idempotent); an active attendee frees its seat."
    )
    async def archive_attendee(
        self, info: Info, input: Annotated[ArchiveAttendeeInput, INPUT]
    ) -> AttendeePayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: Any) -> int:
            attendee_id = input_id(input.id, {"Attendee"}, "id")
            return await service.archive_attendee(
                conn,
                account_id=account_id,
                attendee_id=attendee_id,
                expected_updated_at=input.expected_updated_at,
                now=now,
            )

        return await run_mutation(info, AttendeePayload, input.client_mutation_id, work)
