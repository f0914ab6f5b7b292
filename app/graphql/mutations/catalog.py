"""createPractitioner, updatePractitioner, archivePractitioner, and the same for
appointment types."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import strawberry

from app.context import Context
from app.graphql.catalog import AppointmentType, Practitioner
from app.graphql.mutations.common import (
    CLIENT_MUTATION_ID,
    INPUT,
    expected_updated_at_field,
    payload_type,
    run_mutation,
)
from app.services import catalog as service
from app.services.base import input_id

Info = strawberry.Info[Context, None]
PractitionerPayload = payload_type(
    "PractitionerPayload", "practitioner", Practitioner, "practitioner"
)
AppointmentTypePayload = payload_type(
    "AppointmentTypePayload", "appointment_type", AppointmentType, "appointment type"
)


@dataclass(frozen=True)
class _Target:
    """What the mutations of one entity share: its id type, table, payload and fields.
    The table's name is also the payload's field and, with `_id`, the service's id argument."""

    type_name: str
    table: str
    payload: Any
    fields: tuple[str, ...]

    async def run(
        self,
        info: Info,
        data: Any,
        action: Callable[..., Awaitable[int]],
        row_id: str | None = None,
        **args: Any,
    ) -> Any:
        """Call the service `action` through run_mutation; with `row_id`, for that row (and
        the input's expectedUpdatedAt)."""

        async def work(conn: Any, account_id: int, now: datetime) -> int:
            if row_id is not None:
                args[f"{self.table}_id"] = input_id(row_id, {self.type_name}, "id")
                args["expected_updated_at"] = data.expected_updated_at
            return await action(conn, account_id=account_id, now=now, **args)

        return await run_mutation(info, self.payload, data.client_mutation_id, work)

    def given(self, data: Any) -> dict[str, Any]:
        """The entity's fields the input gives (every one on create)."""
        values = {n: getattr(data, n) for n in self.fields}
        return {n: v for n, v in values.items() if v is not strawberry.UNSET}


PRACTITIONER = _Target(
    "Practitioner",
    "practitioner",
    PractitionerPayload,
    ("first_name", "last_name", "title", "display_name"),
)
APPOINTMENT_TYPE = _Target(
    "AppointmentType",
    "appointment_type",
    AppointmentTypePayload,
    ("name", "duration_in_minutes", "max_attendees"),
)
DISPLAY_NAME = "Name as shown to patients (at most 255 characters); "


@strawberry.input(description="A new practitioner.")
class CreatePractitionerInput:
    first_name: str = strawberry.field(description="First name (required, at most 255 characters).")
    last_name: str = strawberry.field(description="Last name (required, at most 255 characters).")
    title: str | None = strawberry.field(
        default=None, description='Title, e.g. "Dr" (at most 255 characters).'
    )
    display_name: str | None = strawberry.field(
        default=None, description=DISPLAY_NAME + 'defaults to "<title> <first> <last>".'
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Change a practitioner; an omitted field stays as it is.")
class UpdatePractitionerInput:
    id: strawberry.ID = strawberry.field(description="The practitioner.")
    first_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="First name; cannot be cleared."
    )
    last_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Last name; cannot be cleared."
    )
    title: str | None = strawberry.field(
        default=strawberry.UNSET, description='Title, e.g. "Dr"; null clears it.'
    )
    display_name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description=DISPLAY_NAME + 'null sets it to "<title> <first> <last>" again.',
    )
    expected_updated_at: datetime | None = expected_updated_at_field("practitioner")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Archive a practitioner (idempotent).")
class ArchivePractitionerInput:
    id: strawberry.ID = strawberry.field(description="The practitioner.")
    expected_updated_at: datetime | None = expected_updated_at_field("practitioner")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="A new appointment type.")
class CreateAppointmentTypeInput:
    name: str = strawberry.field(description="Name (required, at most 255 characters).")
    duration_in_minutes: int = strawberry.field(description="Default length of a booking (1–1440).")
    max_attendees: int = strawberry.field(
        description="Default seats of a group appointment (1–100)."
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(
    description="Change an appointment type; an omitted field stays as it is, none can be cleared."
)
class UpdateAppointmentTypeInput:
    id: strawberry.ID = strawberry.field(description="The appointment type.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Name (at most 255 characters)."
    )
    duration_in_minutes: int | None = strawberry.field(
        default=strawberry.UNSET, description="Default length of a booking (1–1440)."
    )
    max_attendees: int | None = strawberry.field(
        default=strawberry.UNSET, description="Default seats of a group appointment (1–100)."
    )
    expected_updated_at: datetime | None = expected_updated_at_field("appointment type")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Archive an appointment type (idempotent).")
class ArchiveAppointmentTypeInput:
    id: strawberry.ID = strawberry.field(description="The appointment type.")
    expected_updated_at: datetime | None = expected_updated_at_field("appointment type")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(description="Create a practitioner.")
    async def create_practitioner(
        self, info: Info, input: Annotated[CreatePractitionerInput, INPUT]
    ) -> PractitionerPayload:  # type: ignore[valid-type]
        fields = PRACTITIONER.given(input)
        return await PRACTITIONER.run(info, input, service.create_practitioner, **fields)

    @strawberry.mutation(description="Change a practitioner's names or title.")
    async def update_practitioner(
        self, info: Info, input: Annotated[UpdatePractitionerInput, INPUT]
    ) -> PractitionerPayload:  # type: ignore[valid-type]
        changes = PRACTITIONER.given(input)
        return await PRACTITIONER.run(
            info, input, service.update_practitioner, input.id, changes=changes
        )

    @strawberry.mutation(description="Archive a practitioner (idempotent); sets archivedAt.")
    async def archive_practitioner(
        self, info: Info, input: Annotated[ArchivePractitionerInput, INPUT]
    ) -> PractitionerPayload:  # type: ignore[valid-type]
        return await PRACTITIONER.run(info, input, service.archive_practitioner, input.id)

    @strawberry.mutation(description="Create an appointment type.")
    async def create_appointment_type(
        self, info: Info, input: Annotated[CreateAppointmentTypeInput, INPUT]
    ) -> AppointmentTypePayload:  # type: ignore[valid-type]
        fields = APPOINTMENT_TYPE.given(input)
        return await APPOINTMENT_TYPE.run(info, input, service.create_appointment_type, **fields)

    @strawberry.mutation(description="Change an appointment type's name, duration or seats.")
    async def update_appointment_type(
        self, info: Info, input: Annotated[UpdateAppointmentTypeInput, INPUT]
    ) -> AppointmentTypePayload:  # type: ignore[valid-type]
        changes = APPOINTMENT_TYPE.given(input)
        return await APPOINTMENT_TYPE.run(
            info, input, service.update_appointment_type, input.id, changes=changes
        )

    @strawberry.mutation(description="Archive an appointment type (idempotent); sets archivedAt.")
    async def archive_appointment_type(
        self, info: Info, input: Annotated[ArchiveAppointmentTypeInput, INPUT]
    ) -> AppointmentTypePayload:  # type: ignore[valid-type]
        return await APPOINTMENT_TYPE.run(info, input, service.archive_appointment_type, input.id)
