"""Initial schema: every table, constraint and index of app/models.py.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Written to run unchanged on SQLite and PostgreSQL: ids are BIGINT on PostgreSQL and
INTEGER (the rowid alias, so they autoincrement) on SQLite; partial indexes carry both
dialects' WHERE clauses.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
ACTIVE = sa.text("archived_at IS NULL AND cancelled_at IS NULL AND deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_key",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "appointment_type",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("duration_in_minutes", sa.Integer(), nullable=False),
        sa.Column("max_attendees", sa.Integer(), nullable=False),
        sa.Column("archived_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("duration_in_minutes BETWEEN 1 AND 1440", name="duration_range"),
        sa.CheckConstraint("max_attendees BETWEEN 1 AND 100", name="max_attendees_range"),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "id"),
    )
    op.create_index(
        "ix_appointment_type_account_id_created_at",
        "appointment_type",
        ["account_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_appointment_type_account_id_updated_at",
        "appointment_type",
        ["account_id", "updated_at", "id"],
        unique=False,
    )
    op.create_table(
        "patient",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=False),
        sa.Column("last_name", sa.String(length=255), nullable=False),
        sa.Column("preferred_first_name", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("patient_phone_numbers", sa.JSON(), nullable=True),
        sa.Column("archived_at", TS, nullable=True),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "id"),
    )
    op.create_index(
        "ix_patient_account_id_created_at",
        "patient",
        ["account_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_patient_account_id_last_name", "patient", ["account_id", "last_name"], unique=False
    )
    op.create_index(
        "ix_patient_account_id_updated_at",
        "patient",
        ["account_id", "updated_at", "id"],
        unique=False,
    )
    op.create_table(
        "practitioner",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=False),
        sa.Column("last_name", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("archived_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "id"),
    )
    op.create_index(
        "ix_practitioner_account_id_created_at",
        "practitioner",
        ["account_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_practitioner_account_id_updated_at",
        "practitioner",
        ["account_id", "updated_at", "id"],
        unique=False,
    )
    op.create_table(
        "patient_case",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("max_sessions", sa.Integer(), nullable=True),
        sa.Column("archived_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("max_sessions BETWEEN 1 AND 200", name="max_sessions_range"),
        sa.ForeignKeyConstraint(["account_id", "patient_id"], ["patient.account_id", "patient.id"]),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "id"),
        sa.UniqueConstraint("account_id", "patient_id", "id"),
    )
    op.create_index(
        "ix_patient_case_account_id_created_at",
        "patient_case",
        ["account_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_patient_case_account_id_updated_at",
        "patient_case",
        ["account_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_patient_case_patient_id_created_at",
        "patient_case",
        ["patient_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_patient_case_patient_id_updated_at",
        "patient_case",
        ["patient_id", "updated_at", "id"],
        unique=False,
    )
    op.create_table(
        "booking",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("appointment_type_id", ID, nullable=False),
        sa.Column("practitioner_id", ID, nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("repeat_type", sa.String(length=10), nullable=True),
        sa.Column("number_of_repeats", sa.Integer(), nullable=True),
        sa.Column("repeating_interval", sa.Integer(), nullable=True),
        sa.Column("repeated_from_id", ID, nullable=True),
        sa.Column("max_attendees", sa.Integer(), nullable=True),
        sa.Column("active_attendees", sa.Integer(), server_default="0", nullable=False),
        sa.Column("patient_id", ID, nullable=True),
        sa.Column("patient_case_id", ID, nullable=True),
        sa.Column("patient_arrived", sa.Boolean(), nullable=True),
        sa.Column("did_not_arrive", sa.Boolean(), nullable=True),
        sa.Column("cancellation_reason", sa.Integer(), nullable=True),
        sa.Column("cancellation_note", sa.Text(), nullable=True),
        sa.Column("archived_at", TS, nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "(kind = 'group' AND max_attendees BETWEEN 1 AND 100 AND patient_id IS NULL)"
            " OR (kind = 'individual' AND max_attendees IS NULL AND patient_id IS NOT NULL)",
            name="kind_fields",
        ),
        sa.CheckConstraint("repeat_type IN ('Daily', 'Weekly', 'Monthly')", name="repeat_type"),
        sa.CheckConstraint(
            "active_attendees >= 0 AND active_attendees <= COALESCE(max_attendees, 1)", name="seats"
        ),
        sa.CheckConstraint("cancellation_reason IN (10, 20, 30, 31, 40, 50, 60)", name="reason"),
        sa.CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        sa.CheckConstraint("number_of_repeats BETWEEN 1 AND 51", name="number_of_repeats"),
        sa.CheckConstraint("repeating_interval BETWEEN 1 AND 100", name="repeating_interval"),
        sa.ForeignKeyConstraint(
            ["account_id", "appointment_type_id"],
            ["appointment_type.account_id", "appointment_type.id"],
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "patient_id", "patient_case_id"],
            ["patient_case.account_id", "patient_case.patient_id", "patient_case.id"],
        ),
        sa.ForeignKeyConstraint(["account_id", "patient_id"], ["patient.account_id", "patient.id"]),
        sa.ForeignKeyConstraint(
            ["account_id", "practitioner_id"], ["practitioner.account_id", "practitioner.id"]
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "repeated_from_id"], ["booking.account_id", "booking.id"]
        ),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "id"),
    )
    op.create_index(
        "ix_booking_account_id_created_at",
        "booking",
        ["account_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_booking_account_id_ends_at", "booking", ["account_id", "ends_at", "id"], unique=False
    )
    op.create_index(
        "ix_booking_account_id_starts_at",
        "booking",
        ["account_id", "starts_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_booking_account_id_updated_at",
        "booking",
        ["account_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_booking_appointment_type_id", "booking", ["appointment_type_id"], unique=False
    )
    op.create_index("ix_booking_patient_id", "booking", ["patient_id"], unique=False)
    op.create_index("ix_booking_practitioner_id", "booking", ["practitioner_id"], unique=False)
    op.create_index(
        "ix_booking_repeated_from_id_created_at",
        "booking",
        ["repeated_from_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_booking_repeated_from_id_updated_at",
        "booking",
        ["repeated_from_id", "updated_at", "id"],
        unique=False,
    )
    op.create_table(
        "attendee",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("booking_id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("patient_case_id", ID, nullable=True),
        sa.Column("arrived", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("booking_ip_address", sa.String(length=45), nullable=True),
        sa.Column("online_booking_policy_accepted", sa.Boolean(), nullable=True),
        sa.Column("cancellation_reason", sa.Integer(), nullable=True),
        sa.Column("cancellation_note", sa.Text(), nullable=True),
        sa.Column("cancellation_url", sa.Text(), nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("archived_at", TS, nullable=True),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("email_reminder_sent", sa.Boolean(), nullable=True),
        sa.Column("sms_reminder_sent", sa.Boolean(), nullable=True),
        sa.Column("sent_email_reminders_count", sa.Integer(), nullable=True),
        sa.Column("sent_sms_reminders_count", sa.Integer(), nullable=True),
        sa.Column("invoice_status", sa.Integer(), nullable=True),
        sa.Column("treatment_note_status", sa.Integer(), nullable=True),
        sa.Column("telehealth_url", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("cancellation_reason IN (10, 20, 30, 31, 40, 50, 60)", name="reason"),
        sa.CheckConstraint("invoice_status IN (10, 20, 30, 40)", name="invoice_status"),
        sa.CheckConstraint("treatment_note_status IN (10, 90)", name="treatment_note_status"),
        sa.ForeignKeyConstraint(["account_id", "booking_id"], ["booking.account_id", "booking.id"]),
        sa.ForeignKeyConstraint(
            ["account_id", "patient_id", "patient_case_id"],
            ["patient_case.account_id", "patient_case.patient_id", "patient_case.id"],
        ),
        sa.ForeignKeyConstraint(["account_id", "patient_id"], ["patient.account_id", "patient.id"]),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "id"),
    )
    op.create_index(
        "ix_attendee_account_id_created_at",
        "attendee",
        ["account_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_attendee_account_id_updated_at",
        "attendee",
        ["account_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_attendee_active_account_id_created_at",
        "attendee",
        ["account_id", "created_at", "id"],
        unique=False,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index(
        "ix_attendee_booking_id_created_at",
        "attendee",
        ["booking_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_attendee_booking_id_updated_at",
        "attendee",
        ["booking_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_attendee_patient_case_id_created_at",
        "attendee",
        ["patient_case_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_attendee_patient_case_id_updated_at",
        "attendee",
        ["patient_case_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_attendee_patient_id_created_at",
        "attendee",
        ["patient_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_attendee_patient_id_updated_at",
        "attendee",
        ["patient_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index(
        "uq_attendee_active_patient_per_booking",
        "attendee",
        ["booking_id", "patient_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_table("attendee")
    op.drop_table("booking")
    op.drop_table("patient_case")
    op.drop_table("practitioner")
    op.drop_table("patient")
    op.drop_table("appointment_type")
    op.drop_table("api_key")
    op.drop_table("account")
