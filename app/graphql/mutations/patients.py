"""createPatient, updatePatient, archivePatient, unarchivePatient."""

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any

import strawberry

from app.context import Context
from app.graphql.mutations.common import (
    CLIENT_MUTATION_ID,
    INPUT,
    Work,
    expected_updated_at_field,
    payload_type,
    run_mutation,
)
from app.graphql.patients import Patient, PhoneType
from app.services import patients as service
from app.services.base import input_id

Info = strawberry.Info[Context, None]
PatientPayload = payload_type("PatientPayload", "patient", Patient, "patient")
FIELDS = (
    "first_name",
    "last_name",
    "preferred_first_name",
    "title",
    "date_of_birth",
    "email",
    "phone_numbers",
)


@strawberry.input(description="One of a patient's phone numbers.")
class PhoneNumberInput:
    number: str = strawberry.field(description="The number as entered (at most 50 characters).")
    phone_type: PhoneType | None = strawberry.field(
        default=None, description="Mobile, home, work, fax or other."
    )


@strawberry.input(description="A new patient.")
class CreatePatientInput:
    first_name: str = strawberry.field(description="First name (required, at most 255 characters).")
    last_name: str = strawberry.field(description="Last name (required, at most 255 characters).")
    preferred_first_name: str | None = strawberry.field(
        default=None, description="The name the patient goes by (at most 255 characters)."
    )
    title: str | None = strawberry.field(
        default=None, description='Title, e.g. "Ms" (at most 255 characters).'
    )
    date_of_birth: date | None = strawberry.field(
        default=None, description="Date of birth; not in the future."
    )
    email: str | None = strawberry.field(
        default=None, description="A well-formed email address (at most 255 characters)."
    )
    phone_numbers: list[PhoneNumberInput] | None = strawberry.field(
        default=None, description="Phone numbers (at most 10)."
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(
    description="Change a patient; an omitted field stays as it is, an explicit null clears it."
)
class UpdatePatientInput:
    id: strawberry.ID = strawberry.field(description="The patient.")
    first_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="First name; cannot be cleared."
    )
    last_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Last name; cannot be cleared."
    )
    preferred_first_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="The name the patient goes by."
    )
    title: str | None = strawberry.field(default=strawberry.UNSET, description='Title, e.g. "Ms".')
    date_of_birth: date | None = strawberry.field(
        default=strawberry.UNSET, description="Date of birth; not in the future."
    )
    email: str | None = strawberry.field(
        default=strawberry.UNSET, description="A well-formed email address."
    )
    phone_numbers: list[PhoneNumberInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Phone numbers (at most 10); replaces the list."
    )
    expected_updated_at: datetime | None = expected_updated_at_field("patient")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Archive a patient (idempotent).")
class ArchivePatientInput:
    id: strawberry.ID = strawberry.field(description="The patient.")
    expected_updated_at: datetime | None = expected_updated_at_field("patient")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Bring an archived patient back.")
class UnarchivePatientInput:
    id: strawberry.ID = strawberry.field(description="The patient.")
    expected_updated_at: datetime | None = expected_updated_at_field("patient")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


def _fields(data: CreatePatientInput | UpdatePatientInput) -> dict[str, Any]:
    """The patient fields the input gives (every one on create), phone numbers as stored."""
    fields = {n: getattr(data, n) for n in FIELDS if getattr(data, n) is not strawberry.UNSET}
    if fields.get("phone_numbers") is not None:
        fields["phone_numbers"] = [
            {"number": p.number, "phone_type": p.phone_type.value if p.phone_type else None}
            for p in fields["phone_numbers"]
        ]
    return fields


def _patient_id(value: str) -> int:
    return input_id(value, {"Patient"}, "id")


def _by_id(
    data: ArchivePatientInput | UnarchivePatientInput, action: Callable[..., Awaitable[int]]
) -> Work:
    """Work that applies `action` (archive or unarchive) to the input's patient."""

    async def work(conn: Any, account_id: int, now: datetime) -> int:
        return await action(
            conn,
            account_id=account_id,
            patient_id=_patient_id(data.id),
            expected_updated_at=data.expected_updated_at,
            now=now,
        )

    return work


@strawberry.type
class PatientMutations:
    @strawberry.mutation(description="Create a patient.")
    async def create_patient(
        self, info: Info, input: Annotated[CreatePatientInput, INPUT]
    ) -> PatientPayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: datetime) -> int:
            return await service.create_patient(
                conn, account_id=account_id, **_fields(input), now=now
            )

        return await run_mutation(info, PatientPayload, input.client_mutation_id, work)

    @strawberry.mutation(description="Change a patient's names, date of birth or contact details.")
    async def update_patient(
        self, info: Info, input: Annotated[UpdatePatientInput, INPUT]
    ) -> PatientPayload:  # type: ignore[valid-type]
        async def work(conn: Any, account_id: int, now: datetime) -> int:
            patient_id = _patient_id(input.id)
            return await service.update_patient(
                conn,
                account_id=account_id,
                patient_id=patient_id,
                changes=_fields(input),
                expected_updated_at=input.expected_updated_at,
                now=now,
            )

        return await run_mutation(info, PatientPayload, input.client_mutation_id, work)

    @strawberry.mutation(description="Archive a patient (idempotent); sets archivedAt.")
    async def archive_patient(
        self, info: Info, input: Annotated[ArchivePatientInput, INPUT]
    ) -> PatientPayload:  # type: ignore[valid-type]
        return await run_mutation(
            info,
            PatientPayload,
            input.client_mutation_id,
            _by_id(input, service.archive_patient),
        )

    @strawberry.mutation(description="Bring an archived patient back; clears archivedAt.")
    async def unarchive_patient(
        self, info: Info, input: Annotated[UnarchivePatientInput, INPUT]
    ) -> PatientPayload:  # type: ignore[valid-type]
        return await run_mutation(
            info,
            PatientPayload,
            input.client_mutation_id,
            _by_id(input, service.unarchive_patient),
        )
