"""Shared GraphQL pieces: the Node interface, scalars, enums and filter inputs."""

from collections.abc import Collection
from datetime import date, datetime
from enum import Enum, IntEnum
from typing import Any

import sqlalchemy as sa
import strawberry
from strawberry.schema.types.base_scalars import wrap_parser

from app.ids import InvalidIdError, parse_id
from app.plan.rules import Computed, GlobalId, plan
from app.timeutil import format_datetime, parse_datetime

MAX_IDS_PER_FILTER = 100

DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description="An instant in UTC, ISO-8601 with a Z suffix (`2019-08-24T14:15:22Z`).",
    serialize=format_datetime,
    parse_value=wrap_parser(parse_datetime, "DateTime"),
)
SCALAR_OVERRIDES: dict[object, Any] = {datetime: DateTimeScalar}


@strawberry.interface(description="An object with a global id, refetchable with `node(id:)`.")
class Node:
    id: strawberry.Private[int]
    global_id: strawberry.ID = strawberry.field(
        name="id",
        description="Opaque global id (encodes the type and id).",
        metadata=plan(GlobalId()),
    )


def database_id_field() -> Any:
    """`databaseId`: Cliniko's 64-bit integer id, as a string (filled in by `node_from_row`)."""
    return strawberry.field(
        description="Cliniko-style 64-bit database id, as a string.",
        metadata=plan(Computed(("id",), str)),
    )


@strawberry.enum(description="Why an attendance was cancelled (Cliniko's integer codes).")
class CancellationReason(IntEnum):
    FEELING_BETTER = 10
    CONDITION_WORSE = 20
    SICK = 30
    COVID_19_RELATED = 31
    AWAY = 40
    OTHER = 50
    WORK = 60


CANCELLATION_LABELS = {
    10: "Feeling Better",
    20: "Condition Worse",
    30: "Sick",
    31: "COVID-19 related",
    40: "Away",
    50: "Other",
    60: "Work",
}


def describe_cancellation(code: int | None) -> str | None:
    """Cliniko's label for a cancellation code; None when not cancelled."""
    return CANCELLATION_LABELS.get(code) if code else None


def cancellation_description_field() -> Any:
    """`cancellationReasonDescription`: Cliniko's label for the code, null when not cancelled."""

    def resolve(root: Any) -> str | None:
        return describe_cancellation(root.__dict__["cancellation_reason"])

    return strawberry.field(
        resolver=resolve,
        description="Cliniko's label for the cancellation reason; null when not cancelled.",
        metadata=plan(Computed(("cancellation_reason",), describe_cancellation)),
    )


@strawberry.enum(description="Invoice state of an attendance (Cliniko's codes).")
class InvoiceStatus(IntEnum):
    OPEN = 10
    PAID = 20
    CLOSED = 30
    OPEN_CREDIT = 40


@strawberry.enum(description="Treatment-note state of an attendance (Cliniko's codes).")
class TreatmentNoteStatus(IntEnum):
    DRAFT = 10
    FINAL = 90


def describe_values(enum_cls: Any, descriptions: dict[str, str]) -> None:
    """Give each value of a Strawberry enum its description (enum_value() is ignored on
    IntEnum members, so descriptions are set on the definition)."""
    for value in enum_cls.__strawberry_definition__.values:
        value.description = descriptions[value.name]


describe_values(
    CancellationReason,
    {k.name: f"{CANCELLATION_LABELS[k.value]} ({k.value})." for k in CancellationReason},
)
describe_values(
    InvoiceStatus,
    {
        "OPEN": "Open (10).",
        "PAID": "Paid (20).",
        "CLOSED": "Closed (30).",
        "OPEN_CREDIT": "Open credit (40).",
    },
)
describe_values(TreatmentNoteStatus, {"DRAFT": "Draft (10).", "FINAL": "Final (90)."})


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("asc", description="Ascending: oldest, smallest first.")
    DESC = strawberry.enum_value("desc", description="Descending: newest, largest first.")


@strawberry.input(description="Match an id: `eq` one id, or `in` a list (at most 100).")
class IdFilter:
    eq: strawberry.ID | None = strawberry.field(default=None, description="Equal to this id.")
    in_: list[strawberry.ID] | None = strawberry.field(
        default=None, name="in", description="One of these ids (global or database ids)."
    )


@strawberry.input(description="Match a text exactly: `eq` one value, or `in` a list (at most 100).")
class StringFilter:
    eq: str | None = strawberry.field(default=None, description="Equal to this text.")
    in_: list[str] | None = strawberry.field(
        default=None, name="in", description="One of these texts."
    )


@strawberry.input(description="Compare a timestamp; all given conditions must hold.")
class DateTimeFilter:
    gt: datetime | None = strawberry.field(default=None, description="Later than.")
    gte: datetime | None = strawberry.field(default=None, description="At or later than.")
    lt: datetime | None = strawberry.field(default=None, description="Earlier than.")
    lte: datetime | None = strawberry.field(default=None, description="At or earlier than.")
    is_null: bool | None = strawberry.field(
        default=None, description="true: no value; false: any value."
    )


@strawberry.input(description="Compare a date; all given conditions must hold.")
class DateFilter:
    eq: date | None = strawberry.field(default=None, description="On this date.")
    gt: date | None = strawberry.field(default=None, description="After.")
    gte: date | None = strawberry.field(default=None, description="On or after.")
    lt: date | None = strawberry.field(default=None, description="Before.")
    lte: date | None = strawberry.field(default=None, description="On or before.")
    is_null: bool | None = strawberry.field(
        default=None, description="true: no value; false: any value."
    )


@strawberry.input(description="Filters on when a row was created and last changed.")
class TimestampsFilter:
    created_at: DateTimeFilter | None = strawberry.field(
        default=None, description="By creation time."
    )
    updated_at: DateTimeFilter | None = strawberry.field(
        default=None, description="By last change."
    )


@strawberry.input(description="Archived rows: hidden unless asked for.")
class ArchivedFilter:
    archived_at: DateTimeFilter | None = strawberry.field(
        default=None, description="By archive time; brings back the archived rows it matches."
    )
    include_archived: bool = strawberry.field(default=False, description="Also list archived rows.")


@strawberry.input(description="Cancelled rows: hidden unless asked for.")
class CancelledFilter:
    cancelled_at: DateTimeFilter | None = strawberry.field(
        default=None, description="By cancel time; brings back the cancelled rows it matches."
    )
    include_cancelled: bool = strawberry.field(
        default=False, description="Also list cancelled rows."
    )


@strawberry.input(description="Deleted rows: hidden unless asked for.")
class DeletedFilter:
    deleted_at: DateTimeFilter | None = strawberry.field(
        default=None, description="By delete time; brings back the deleted rows it matches."
    )
    include_deleted: bool = strawberry.field(default=False, description="Also list deleted rows.")


def state_terms(table: sa.Table, flt: Any, states: tuple[str, ...]) -> list[Any]:
    """The hidden-state terms, and the timestamp filters of TimestampsFilter and the
    state filters (`archived_at`, ...) a filter type has."""
    terms = hidden_terms(table, flt, states)
    if flt is not None:
        for name in ("created_at", "updated_at", *(f"{state}_at" for state in states)):
            terms += range_terms(table.c[name], getattr(flt, name, None))
    return terms


class FilterError(ValueError):
    """A filter value that cannot be used (the message names the filter field)."""


def filter_text(value: str, name: str) -> str:
    """A text filter value; NUL characters are refused (PostgreSQL cannot compare them)."""
    if "\x00" in value:
        raise FilterError(f"filter.{name} must not contain NUL characters.")
    return value


def id_terms(col: Any, flt: IdFilter | None, expected: Collection[str], name: str) -> list[Any]:
    """WHERE terms for an IdFilter; InvalidIdError names the filter field."""
    if flt is None:
        return []
    terms = []
    try:
        if flt.eq is not None:
            terms.append(col == parse_id(flt.eq, expected))
        if flt.in_ is not None:  # at most MAX_IDS_PER_FILTER: app/limits.py counts them
            terms.append(col.in_([parse_id(v, expected) for v in flt.in_]))
    except InvalidIdError as exc:
        raise InvalidIdError(f"filter.{name}: {exc}") from None
    return terms


def text_terms(col: Any, flt: StringFilter | None, name: str) -> list[Any]:
    """WHERE terms for a StringFilter; FilterError names the filter field."""
    if flt is None:
        return []
    terms = []
    if flt.eq is not None:
        terms.append(col == filter_text(flt.eq, name))
    if flt.in_ is not None:  # at most MAX_IDS_PER_FILTER: app/limits.py counts every `in`
        terms.append(col.in_([filter_text(v, name) for v in flt.in_]))
    return terms


def range_terms(col: Any, flt: DateTimeFilter | DateFilter | None) -> list[Any]:
    """WHERE terms for a DateTimeFilter or DateFilter."""
    if flt is None:
        return []
    terms = []
    for op in ("eq", "gt", "gte", "lt", "lte"):
        value = getattr(flt, op, None)
        if value is not None:
            terms.append(getattr(col, f"__{op.replace('gte', 'ge').replace('lte', 'le')}__")(value))
    if flt.is_null is not None:
        terms.append(col.is_(None) if flt.is_null else col.is_not(None))
    return terms


def hidden_terms(table: sa.Table, flt: Any, states: tuple[str, ...]) -> list[Any]:
    """Hide archived/cancelled/deleted rows unless the include flag or a filter on the
    stamp asks for them; each flag lifts only its own condition."""
    terms = []
    for state in states:  # "archived", "cancelled", "deleted"
        column = f"{state}_at"
        include = flt is not None and getattr(flt, f"include_{state}", False)
        filtered = flt is not None and getattr(flt, column, None) is not None
        if not include and not filtered:
            terms.append(table.c[column].is_(None))
    return terms


def order_input(name: str, fields: type[Enum], noun: str) -> Any:
    """An `<Name>Order` input: a sort field and a direction."""
    namespace = {
        "__annotations__": {"field": fields, "direction": OrderDirection},
        "field": strawberry.field(description=f"The {noun} field to sort on."),
        "direction": strawberry.field(default=OrderDirection.ASC, description="ASC or DESC."),
    }
    return strawberry.input(type(name, (), namespace), description=f"One sort key for {noun}s.")


def timestamp_order_fields(name: str, noun: str, extra: dict[str, str] | None = None) -> Any:
    """An enum of sortable columns: CREATED_AT, UPDATED_AT, ID and any extra ones."""
    columns = {**(extra or {}), "CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "ID": "id"}
    members = {
        name: strawberry.enum_value(column, description=f"Sort on `{column}`.")
        for name, column in columns.items()
    }
    return strawberry.enum(Enum(name, members), description=f"Columns {noun}s can be sorted on.")  # type: ignore[call-overload]
