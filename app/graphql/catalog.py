"""Link targets: appointment types and practitioners."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import strawberry

from app.graphql.common import (
    ArchivedFilter,
    IdFilter,
    Node,
    TimestampsFilter,
    database_id_field,
    id_terms,
    order_input,
    state_terms,
    timestamp_order_fields,
)
from app.graphql.connection import ListSpec
from app.graphql.nodes import node_from_row, register
from app.models import AppointmentType as AppointmentTypeRow
from app.models import Practitioner as PractitionerRow

TYPE_TABLE: sa.Table = AppointmentTypeRow.__table__  # type: ignore[attr-defined]
PRACTITIONER_TABLE: sa.Table = PractitionerRow.__table__  # type: ignore[attr-defined]


@strawberry.type(
    description="A kind of appointment; supplies a booking's default duration and seats."
)
class AppointmentType(Node):
    account_id: strawberry.Private[int]
    database_id: strawberry.ID = database_id_field()
    name: str = strawberry.field(description='Name, e.g. "Clinical Pilates Class".')
    duration_in_minutes: int = strawberry.field(description="Default length of a booking (1–1440).")
    max_attendees: int = strawberry.field(
        description="Default seats of a group appointment (1–100)."
    )
    archived_at: datetime | None = strawberry.field(description="When it was archived.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")


@strawberry.type(description="A practitioner who holds appointments.")
class Practitioner(Node):
    account_id: strawberry.Private[int]
    database_id: strawberry.ID = database_id_field()
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    title: str | None = strawberry.field(description='Title, e.g. "Dr".')
    display_name: str | None = strawberry.field(description="Name as shown to patients.")
    archived_at: datetime | None = strawberry.field(description="When it was archived.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")


@strawberry.input(description="Narrow a list of appointment types or practitioners.")
class CatalogFilter(TimestampsFilter, ArchivedFilter):
    database_id: IdFilter | None = strawberry.field(default=None, description="By id.")


def _where(table: sa.Table, type_name: str) -> Any:
    def where(flt: CatalogFilter | None) -> list[Any]:
        terms = state_terms(table, flt, ("archived",))
        if flt is not None:
            terms += id_terms(table.c.id, flt.database_id, {type_name}, "databaseId")
        return terms

    return where


AppointmentTypeOrderField = timestamp_order_fields("AppointmentTypeOrderField", "appointment type")
PractitionerOrderField = timestamp_order_fields("PractitionerOrderField", "practitioner")
_to_type, _to_practitioner = node_from_row(AppointmentType), node_from_row(Practitioner)

APPOINTMENT_TYPES = ListSpec(
    name="appointmentTypes",
    table=TYPE_TABLE,
    to_node=_to_type,
    node_type=AppointmentType,
    filter_type=CatalogFilter,
    order_type=order_input("AppointmentTypeOrder", AppointmentTypeOrderField, "appointment type"),
    where=_where(TYPE_TABLE, "AppointmentType"),
)
PRACTITIONERS = ListSpec(
    name="practitioners",
    table=PRACTITIONER_TABLE,
    to_node=_to_practitioner,
    node_type=Practitioner,
    filter_type=CatalogFilter,
    order_type=order_input("PractitionerOrder", PractitionerOrderField, "practitioner"),
    where=_where(PRACTITIONER_TABLE, "Practitioner"),
)
register(TYPE_TABLE, _to_type, {"AppointmentType": lambda n: True})
register(PRACTITIONER_TABLE, _to_practitioner, {"Practitioner": lambda n: True})
