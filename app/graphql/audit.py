"""The audit trail through the API: `auditEvents`, the account's audit rows as a connection.

An audit row names the mutation, the table and id of the object it changed, and the API
key that ran it. It shows nothing else of the object: `entity` is the object itself, read
like any other node of the caller's account. The `audit` scope is checked once, for the
whole document, in app/scopes.py; this is the only field that reaches audit rows.
"""

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
import strawberry

from app.context import Context
from app.graphql.common import (
    DateTimeFilter,
    IdFilter,
    Node,
    StringFilter,
    order_input,
    range_terms,
    text_terms,
)
from app.graphql.connection import ListSpec
from app.graphql.nodes import BOOKING_TYPES, load_node
from app.ids import InvalidIdError, lookup_key
from app.models import ApiKey
from app.models import AuditEvent as AuditRow

TABLE: sa.Table = AuditRow.__table__  # type: ignore[attr-defined]
KEY_TABLE: sa.Table = ApiKey.__table__  # type: ignore[attr-defined]
Info = strawberry.Info[Context, None]

# The table that holds each node type an audit row can point at.
ENTITY_TABLES = {
    "Attendee": "attendee",
    **{name: "booking" for name in BOOKING_TYPES},
    "Patient": "patient",
    "Practitioner": "practitioner",
    "AppointmentType": "appointment_type",
}


@strawberry.enum(description="The kind of object a change was made to.")
class AuditEntityType(Enum):
    ATTENDEE = strawberry.enum_value("attendee", description="An attendee.")
    BOOKING = strawberry.enum_value(
        "booking", description="A booking (group or individual appointment)."
    )
    PATIENT = strawberry.enum_value("patient", description="A patient.")
    PRACTITIONER = strawberry.enum_value("practitioner", description="A practitioner.")
    APPOINTMENT_TYPE = strawberry.enum_value("appointment_type", description="An appointment type.")


@strawberry.type(
    description="One change made through the API: which mutation changed which object, when, "
    "and with which API key. The row holds the object's kind and id only; `entity` reads the "
    "object itself."
)
class AuditEvent:
    id: strawberry.Private[int]
    entity_table: strawberry.Private[str]
    entity_id: strawberry.Private[int]
    api_key_id: strawberry.Private[int | None]
    database_id: strawberry.ID = strawberry.field(
        description="The audit row's 64-bit database id, as a string."
    )
    occurred_at: datetime = strawberry.field(
        description="When the change was made (UTC); the list's default order."
    )
    operation: str = strawberry.field(
        description='The mutation that made the change, e.g. "createAttendee".'
    )
    entity_type: AuditEntityType = strawberry.field(description="The kind of object changed.")

    @strawberry.field(
        description="The object changed, as it is now, read under your account; null when it no "
        "longer exists. A key without the `read` scope may select only `id` and `__typename` here."
    )
    async def entity(self, info: Info) -> Node | None:
        return await load_node(info.context, self.entity_table, self.entity_id)

    @strawberry.field(
        description="The name of the API key that made the change; null when the key has no name."
    )
    async def api_key_name(self, info: Info) -> str | None:
        if self.api_key_id is None:
            return None
        return await _key_names(info.context).load(self.api_key_id)


def _key_names(ctx: Context) -> Any:
    """The request's loader of API key names by id, in the caller's account."""

    async def batch(ids: list[int]) -> list[str | None]:
        stmt = ctx.db.select_from(KEY_TABLE, KEY_TABLE.c.id, KEY_TABLE.c.name)
        rows = await ctx.db.fetch(stmt.where(KEY_TABLE.c.id.in_(ids)))
        names = {row.id: row.name for row in rows}
        return [names.get(i) for i in ids]

    return ctx.loader(("api_key_name",), batch)


def _to_event(row: sa.Row[Any]) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        entity_table=row.entity_type,
        entity_id=row.entity_id,
        api_key_id=row.api_key_id,
        database_id=strawberry.ID(str(row.id)),
        occurred_at=row.created_at,
        operation=row.operation,
        entity_type=AuditEntityType(row.entity_type),
    )


@strawberry.input(description="Narrow the audit trail; all given conditions must hold.")
class AuditEventFilter:
    entity_id: IdFilter | None = strawberry.field(
        default=None,
        description="By the changed object's id: a global id (which also fixes its kind) or a "
        "database id (of any kind).",
    )
    entity_type: AuditEntityType | None = strawberry.field(
        default=None, description="By the kind of object changed."
    )
    operation: StringFilter | None = strawberry.field(
        default=None, description='By mutation name, e.g. {eq: "cancelAttendee"}.'
    )
    occurred_at: DateTimeFilter | None = strawberry.field(
        default=None, description="By when the change was made."
    )


def _entity_match(values: Sequence[str]) -> Any:
    """Rows about any of these ids: a global id matches its own table's rows only."""
    by_table: dict[str | None, list[int]] = {}
    for value in values:
        type_name, database_id = lookup_key(value, ENTITY_TABLES)
        table = None if type_name is None else ENTITY_TABLES[type_name]
        by_table.setdefault(table, []).append(database_id)
    c = TABLE.c
    matches = [
        c.entity_id.in_(ids)
        if table is None
        else sa.and_(c.entity_type == table, c.entity_id.in_(ids))
        for table, ids in by_table.items()
    ]
    return sa.or_(*matches) if matches else sa.false()


def _entity_terms(flt: IdFilter | None, name: str) -> list[Any]:
    """WHERE terms for the `entityId` filter; InvalidIdError names the filter field."""
    if flt is None:
        return []
    lists: list[Sequence[str]] = [[flt.eq]] if flt.eq is not None else []
    if flt.in_ is not None:  # at most 100 ids: app/limits.py counts every `in`
        lists.append(flt.in_)
    try:
        return [_entity_match(values) for values in lists]
    except InvalidIdError as exc:
        raise InvalidIdError(f"filter.{name}: {exc}") from None


def audit_where(flt: AuditEventFilter | None) -> list[Any]:
    """WHERE terms for an AuditEventFilter."""
    if flt is None:
        return []
    c = TABLE.c
    terms = _entity_terms(flt.entity_id, "entityId")
    if flt.entity_type is not None:
        terms.append(c.entity_type == flt.entity_type.value)
    terms += text_terms(c.operation, flt.operation, "operation")
    return terms + range_terms(c.created_at, flt.occurred_at)


@strawberry.enum(description="Columns audit events can be sorted on.")
class AuditEventOrderField(Enum):
    OCCURRED_AT = strawberry.enum_value("created_at", description="Sort on `occurredAt`.")
    ID = strawberry.enum_value("id", description="Sort on the audit row's id.")


AUDIT_EVENTS = ListSpec(
    name="auditEvents",
    table=TABLE,
    to_node=_to_event,
    node_type=AuditEvent,
    filter_type=AuditEventFilter,
    order_type=order_input("AuditEventOrder", AuditEventOrderField, "audit event"),
    where=audit_where,
)
