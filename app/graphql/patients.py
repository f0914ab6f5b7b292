"""Patients, their phone numbers and their patient cases."""

from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

import sqlalchemy as sa
import strawberry

from app.context import Context
from app.graphql.attendees import ATTENDEES
from app.graphql.common import (
    ArchivedFilter,
    DateFilter,
    DeletedFilter,
    IdFilter,
    Node,
    TimestampsFilter,
    database_id_field,
    filter_text,
    id_terms,
    order_input,
    range_terms,
    state_terms,
    timestamp_order_fields,
)
from app.graphql.connection import ListSpec, connection_field
from app.graphql.nodes import node_from_row, register, related
from app.models import Patient as PatientRow
from app.models import PatientCase as PatientCaseRow
from app.plan.rules import Computed, plan

TABLE: sa.Table = PatientRow.__table__  # type: ignore[attr-defined]
CASE_TABLE: sa.Table = PatientCaseRow.__table__  # type: ignore[attr-defined]
Info = strawberry.Info[Context, None]
MAX_SEARCH_LENGTH = 255


@strawberry.enum(description="Kind of a phone number (Cliniko's values).")
class PhoneType(Enum):
    FAX = strawberry.enum_value("Fax", description="Fax.")
    HOME = strawberry.enum_value("Home", description="Home.")
    MOBILE = strawberry.enum_value("Mobile", description="Mobile.")
    OTHER = strawberry.enum_value("Other", description="Other.")
    WORK = strawberry.enum_value("Work", description="Work.")


@strawberry.type(description="One of a patient's phone numbers.")
class PhoneNumber:
    number: str = strawberry.field(description="The number as entered.")
    phone_type: PhoneType | None = strawberry.field(description="Mobile, home, work, fax or other.")


def phone_numbers(raw: list[dict[str, str]] | None) -> list[PhoneNumber]:
    """A patient's phone numbers from the JSON column."""
    return [
        PhoneNumber(
            number=item.get("number", ""),
            phone_type=PhoneType(item["phone_type"]) if item.get("phone_type") else None,
        )
        for item in raw or []
    ]


@strawberry.input(
    description="Narrow a patient case list. Archived cases are hidden unless asked for."
)
class PatientCaseFilter(TimestampsFilter, ArchivedFilter):
    database_id: IdFilter | None = strawberry.field(default=None, description="By patient case id.")


def case_where(flt: PatientCaseFilter | None) -> list[Any]:
    terms = state_terms(CASE_TABLE, flt, ("archived",))
    if flt is not None:
        terms += id_terms(CASE_TABLE.c.id, flt.database_id, {"PatientCase"}, "databaseId")
    return terms


@strawberry.type(description="A course of treatment that a patient's attendances count toward.")
class PatientCase(Node):
    account_id: strawberry.Private[int]
    patient_id: strawberry.Private[int]
    database_id: strawberry.ID = database_id_field()
    name: str = strawberry.field(description="Name of the case.")
    notes: str | None = strawberry.field(description="Notes.")
    issue_date: date | None = strawberry.field(description="Date issued.")
    expiry_date: date | None = strawberry.field(description="Date it expires.")
    closed_at: datetime | None = strawberry.field(description="When it was closed.")
    max_sessions: int | None = strawberry.field(description="Sessions allowed (1–200).")
    archived_at: datetime | None = strawberry.field(description="When it was archived.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    attendees = connection_field(
        ATTENDEES, parent="patient_case_id", description="Attendances linked to this case."
    )

    patient = related(
        "patient",
        "patient_id",
        Annotated["Patient", strawberry.lazy("app.graphql.patients")],
        "The patient the case belongs to.",
    )


_to_case = node_from_row(PatientCase)
PATIENT_CASES = ListSpec(
    name="patientCases",
    table=CASE_TABLE,
    to_node=_to_case,
    node_type=PatientCase,
    filter_type=PatientCaseFilter,
    order_type=order_input(
        "PatientCaseOrder",
        timestamp_order_fields("PatientCaseOrderField", "patient case"),
        "patient case",
    ),
    where=case_where,
)


@strawberry.type(description="A patient: identity and contact details.")
class Patient(Node):
    account_id: strawberry.Private[int]
    database_id: strawberry.ID = database_id_field()
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    preferred_first_name: str | None = strawberry.field(description="The name the patient goes by.")
    title: str | None = strawberry.field(description='Title, e.g. "Ms".')
    date_of_birth: date | None = strawberry.field(description="Date of birth.")
    email: str | None = strawberry.field(description="Email address.")
    archived_at: datetime | None = strawberry.field(description="When the patient was archived.")
    deleted_at: datetime | None = strawberry.field(
        description="When the patient was soft-deleted (legacy)."
    )
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    attendees = connection_field(
        ATTENDEES, parent="patient_id", description="The patient's attendances."
    )
    patient_cases = connection_field(
        PATIENT_CASES, parent="patient_id", description="The patient's cases."
    )

    @strawberry.field(
        description="Phone numbers.",
        metadata=plan(Computed(("patient_phone_numbers",), phone_numbers)),
    )
    def phone_numbers(self) -> list[PhoneNumber]:
        return phone_numbers(self.__dict__["patient_phone_numbers"])


PatientOrderField = timestamp_order_fields("PatientOrderField", "patient")


@strawberry.input(
    description="Narrow a patient list. Archived and deleted patients are hidden unless asked for."
)
class PatientFilter(TimestampsFilter, ArchivedFilter, DeletedFilter):
    database_id: IdFilter | None = strawberry.field(default=None, description="By patient id.")
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive match on first, last or preferred name, or email.",
    )
    date_of_birth: DateFilter | None = strawberry.field(
        default=None, description="By date of birth."
    )
    email: str | None = strawberry.field(
        default=None, description="Exact email (case-insensitive)."
    )
    include_deleted: bool = strawberry.field(
        default=False, description="Also list deleted patients."
    )


def _contains(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def patient_where(flt: PatientFilter | None) -> list[Any]:
    terms = state_terms(TABLE, flt, ("archived", "deleted"))
    if flt is None:
        return terms
    c = TABLE.c
    terms += id_terms(c.id, flt.database_id, {"Patient"}, "databaseId")
    if flt.search:
        pattern = _contains(filter_text(flt.search, "search")[:MAX_SEARCH_LENGTH])
        cols = (c.first_name, c.last_name, c.preferred_first_name, c.email)
        terms.append(sa.or_(*[sa.func.lower(col).like(pattern, escape="\\") for col in cols]))
    if flt.email is not None:
        terms.append(sa.func.lower(c.email) == filter_text(flt.email, "email").lower())
    terms += range_terms(c.date_of_birth, flt.date_of_birth)
    return terms


_to_patient = node_from_row(Patient)
PATIENTS = ListSpec(
    name="patients",
    table=TABLE,
    to_node=_to_patient,
    node_type=Patient,
    filter_type=PatientFilter,
    order_type=order_input("PatientOrder", PatientOrderField, "patient"),
    where=patient_where,
)
register(TABLE, _to_patient, {"Patient": lambda n: True})
register(CASE_TABLE, _to_case, {"PatientCase": lambda n: True})
