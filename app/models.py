"""The database tables (SQLModel), with Cliniko's snake_case column names.

Every row carries its account. Children reference parents through composite foreign
keys on (account_id, id), so the database itself refuses a link across accounts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.timeutil import UTCDateTime

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = "archived_at IS NULL AND cancelled_at IS NULL AND deleted_at IS NULL"
CANCELLATION_REASONS = "(10, 20, 30, 31, 40, 50, 60)"


def _pk() -> Any:
    return Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))


def _account() -> Any:
    return Field(sa_column=sa.Column(BigId, sa.ForeignKey("account.id"), nullable=False))


def _ref(nullable: bool = False) -> Any:
    """A plain id column for a composite foreign key declared in __table_args__."""
    return Field(default=None, sa_column=sa.Column(BigId, nullable=nullable))


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable))


def _text(length: int | None = None, nullable: bool = True) -> Any:
    col_type = sa.String(length) if length else sa.Text()
    return Field(default=None, sa_column=sa.Column(col_type, nullable=nullable))


def _fk(cols: list[str], target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["account_id", *cols], [f"{target}.account_id", f"{target}.id"])


def _keyset(table: str, *lead: str) -> list[sa.Index]:
    """Indexes that serve the keyset orders of a root list (and per-parent lists)."""
    return [
        sa.Index(f"ix_{table}_{'_'.join(lead)}_{col}", *lead, col, "id")
        for col in ("created_at", "updated_at")
    ]


class Account(SQLModel, table=True):
    """A clinic: the tenant every other row belongs to."""

    id: int | None = _pk()
    name: str = _text(255, nullable=False)
    created_at: datetime = _ts(nullable=False)


class ApiKey(SQLModel, table=True):
    """An API key, stored as a SHA-256 hash; the key itself is shown once."""

    __tablename__ = "api_key"
    id: int | None = _pk()
    account_id: int = _account()
    name: str | None = _text(255)
    key_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    # What the key may do, space-separated: "read", "write", "audit" (app/scopes.py).
    scopes: str = Field(
        default="read write",
        sa_column=sa.Column(sa.String(64), nullable=False, server_default="read write"),
    )
    created_at: datetime = _ts(nullable=False)
    revoked_at: datetime | None = _ts()


class Practitioner(SQLModel, table=True):
    """A practitioner who holds appointments."""

    __table_args__ = (
        sa.UniqueConstraint("account_id", "id"),
        *_keyset("practitioner", "account_id"),
    )
    id: int | None = _pk()
    account_id: int = _account()
    first_name: str = _text(255, nullable=False)
    last_name: str = _text(255, nullable=False)
    title: str | None = _text(255)
    display_name: str | None = _text(255)
    archived_at: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class AppointmentType(SQLModel, table=True):
    """A kind of appointment; supplies the duration and seat defaults of bookings."""

    __tablename__ = "appointment_type"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "id"),
        sa.CheckConstraint("duration_in_minutes BETWEEN 1 AND 1440", name="duration_range"),
        sa.CheckConstraint("max_attendees BETWEEN 1 AND 100", name="max_attendees_range"),
        *_keyset("appointment_type", "account_id"),
    )
    id: int | None = _pk()
    account_id: int = _account()
    name: str = _text(255, nullable=False)
    duration_in_minutes: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    max_attendees: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    archived_at: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class Patient(SQLModel, table=True):
    """A patient: identity and contact fields."""

    __table_args__ = (
        sa.UniqueConstraint("account_id", "id"),
        *_keyset("patient", "account_id"),
        sa.Index("ix_patient_account_id_last_name", "account_id", "last_name"),
    )
    id: int | None = _pk()
    account_id: int = _account()
    first_name: str = _text(255, nullable=False)
    last_name: str = _text(255, nullable=False)
    preferred_first_name: str | None = _text(255)
    title: str | None = _text(255)
    date_of_birth: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    email: str | None = _text(255)
    patient_phone_numbers: list[dict[str, str]] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON)
    )
    archived_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class PatientCase(SQLModel, table=True):
    """A course of treatment a patient's attendances can be linked to."""

    __tablename__ = "patient_case"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "id"),
        sa.UniqueConstraint("account_id", "patient_id", "id"),
        _fk(["patient_id"], "patient"),
        sa.CheckConstraint("max_sessions BETWEEN 1 AND 200", name="max_sessions_range"),
        *_keyset("patient_case", "account_id"),
        *_keyset("patient_case", "patient_id"),
    )
    id: int | None = _pk()
    account_id: int = _account()
    patient_id: int = _ref()
    name: str = _text(255, nullable=False)
    notes: str | None = _text()
    issue_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    expiry_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    closed_at: datetime | None = _ts()
    max_sessions: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    archived_at: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class Booking(SQLModel, table=True):
    """A group appointment or an individual appointment (`kind` tells which)."""

    __table_args__ = (
        sa.UniqueConstraint("account_id", "id"),
        _fk(["appointment_type_id"], "appointment_type"),
        _fk(["practitioner_id"], "practitioner"),
        _fk(["repeated_from_id"], "booking"),
        _fk(["patient_id"], "patient"),
        sa.ForeignKeyConstraint(
            ["account_id", "patient_id", "patient_case_id"],
            ["patient_case.account_id", "patient_case.patient_id", "patient_case.id"],
        ),
        sa.CheckConstraint(
            "(kind = 'group' AND max_attendees BETWEEN 1 AND 100 AND patient_id IS NULL)"
            " OR (kind = 'individual' AND max_attendees IS NULL AND patient_id IS NOT NULL)",
            name="kind_fields",
        ),
        sa.CheckConstraint(
            "active_attendees >= 0 AND active_attendees <= COALESCE(max_attendees, 1)",
            name="seats",
        ),
        sa.CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        sa.CheckConstraint("repeat_type IN ('Daily', 'Weekly', 'Monthly')", name="repeat_type"),
        sa.CheckConstraint("number_of_repeats BETWEEN 1 AND 51", name="number_of_repeats"),
        sa.CheckConstraint("repeating_interval BETWEEN 1 AND 100", name="repeating_interval"),
        sa.CheckConstraint(f"cancellation_reason IN {CANCELLATION_REASONS}", name="reason"),
        *_keyset("booking", "account_id"),
        sa.Index("ix_booking_account_id_starts_at", "account_id", "starts_at", "id"),
        sa.Index("ix_booking_account_id_ends_at", "account_id", "ends_at", "id"),
        *_keyset("booking", "repeated_from_id"),
        sa.Index("ix_booking_practitioner_id", "practitioner_id"),
        sa.Index("ix_booking_appointment_type_id", "appointment_type_id"),
        sa.Index("ix_booking_patient_id", "patient_id"),
    )
    id: int | None = _pk()
    account_id: int = _account()
    kind: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    appointment_type_id: int = _ref()
    practitioner_id: int = _ref()
    starts_at: datetime = _ts(nullable=False)
    ends_at: datetime = _ts(nullable=False)
    notes: str | None = _text()
    repeat_type: str | None = _text(10)
    number_of_repeats: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    repeating_interval: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    repeated_from_id: int | None = _ref(nullable=True)
    max_attendees: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    active_attendees: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    patient_id: int | None = _ref(nullable=True)
    patient_case_id: int | None = _ref(nullable=True)
    patient_arrived: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean))
    did_not_arrive: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean))
    cancellation_reason: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    cancellation_note: str | None = _text()
    archived_at: datetime | None = _ts()
    cancelled_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class Attendee(SQLModel, table=True):
    """One patient's place in one booking (every field of Cliniko's attendee)."""

    __table_args__ = (
        sa.UniqueConstraint("account_id", "id"),
        _fk(["booking_id"], "booking"),
        _fk(["patient_id"], "patient"),
        sa.ForeignKeyConstraint(
            ["account_id", "patient_id", "patient_case_id"],
            ["patient_case.account_id", "patient_case.patient_id", "patient_case.id"],
        ),
        sa.CheckConstraint(f"cancellation_reason IN {CANCELLATION_REASONS}", name="reason"),
        sa.CheckConstraint("invoice_status IN (10, 20, 30, 40)", name="invoice_status"),
        sa.CheckConstraint("treatment_note_status IN (10, 90)", name="treatment_note_status"),
        *_keyset("attendee", "account_id"),
        sa.Index(
            "ix_attendee_active_account_id_created_at",
            "account_id",
            "created_at",
            "id",
            sqlite_where=sa.text(ACTIVE),
            postgresql_where=sa.text(ACTIVE),
        ),
        *_keyset("attendee", "booking_id"),
        *_keyset("attendee", "patient_id"),
        *_keyset("attendee", "patient_case_id"),
        sa.Index(
            "uq_attendee_active_patient_per_booking",
            "booking_id",
            "patient_id",
            unique=True,
            sqlite_where=sa.text(ACTIVE),
            postgresql_where=sa.text(ACTIVE),
        ),
    )
    id: int | None = _pk()
    account_id: int = _account()
    booking_id: int = _ref()
    patient_id: int = _ref()
    patient_case_id: int | None = _ref(nullable=True)
    arrived: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean))
    notes: str | None = _text()
    booking_ip_address: str | None = _text(45)
    online_booking_policy_accepted: bool | None = Field(
        default=None, sa_column=sa.Column(sa.Boolean)
    )
    cancellation_reason: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    cancellation_note: str | None = _text()
    cancellation_url: str | None = _text()
    cancelled_at: datetime | None = _ts()
    archived_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()
    email_reminder_sent: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean))
    sms_reminder_sent: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean))
    sent_email_reminders_count: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    sent_sms_reminders_count: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    invoice_status: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    treatment_note_status: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    telehealth_url: str | None = _text()
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


metadata = SQLModel.metadata


class AuditEvent(SQLModel, table=True):
    """One row per successful mutation, written in the mutation's own transaction."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_account_id_created_at_id", "account_id", "created_at", "id"),
        sa.Index("ix_audit_event_account_id_entity_id", "account_id", "entity_id"),
    )
    id: int | None = _pk()
    account_id: int = _account()
    api_key_id: int | None = Field(
        default=None, sa_column=sa.Column(BigId, sa.ForeignKey("api_key.id"), nullable=True)
    )
    operation: str = _text(64, nullable=False)
    entity_type: str = _text(64, nullable=False)
    entity_id: int = Field(sa_column=sa.Column(BigId, nullable=False))
    created_at: datetime = _ts(nullable=False)


class IdempotencyKey(SQLModel, table=True):
    """A mutation request's Idempotency-Key and its stored response (app/idempotency.py).
    The row is claimed in the mutation's own transaction, so it exists exactly when the
    change committed."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        sa.UniqueConstraint("api_key_id", "key", name="uq_idempotency_key_api_key_id_key"),
        sa.Index("ix_idempotency_key_created_at", "created_at"),
    )
    id: int | None = _pk()
    account_id: int = _account()
    api_key_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("api_key.id"), nullable=False))
    key: str = _text(255, nullable=False)
    request_hash: str = _text(64, nullable=False)
    status_code: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    content_type: str | None = _text(100)
    response: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary))
    created_at: datetime = _ts(nullable=False)
