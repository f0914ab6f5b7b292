"""One Cliniko record to one row: Cliniko's field names are our column names.

Fields we have no column for (addresses, `business`, `patient_ids`, `label`, deprecated
ones such as `gender`) are ignored; `cancellation_reason_description` is derived from the
code, so it is not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.importer.values import (
    Record,
    Reject,
    boolean,
    choice,
    code,
    day,
    integer,
    link_id,
    record_id,
    text,
    timestamp,
)

NAME = 255
REASONS = (10, 20, 30, 31, 40, 50, 60)
INVOICE_STATUSES = (10, 20, 30, 40)
NOTE_STATUSES = (10, 90)
PHONE_TYPES = ("Fax", "Home", "Mobile", "Other", "Work")
REPEAT_TYPES = ("Daily", "Weekly", "Monthly")
BOOKING_PATHS = ("bookings", "group_appointments", "individual_appointments")
MAX_COUNT = 2**31 - 1


@dataclass
class Row:
    """What one record becomes: a table row (without account_id), and for an individual
    appointment the values of the attendee made for it when the export has none."""

    table: str
    id: int
    values: dict[str, Any]
    standin: dict[str, Any] | None = None


def _stamps(r: Record) -> dict[str, Any]:
    return {
        "created_at": timestamp(r, "created_at", required=True),
        "updated_at": timestamp(r, "updated_at", required=True),
    }


def practitioner(r: Record) -> Row:
    """Cliniko has `active` but no archive stamp: an inactive practitioner is archived
    as of its `updated_at` (an `archived_at`, when present, wins)."""
    stamps = _stamps(r)
    archived = timestamp(r, "archived_at")
    if archived is None and boolean(r, "active") is False:
        archived = stamps["updated_at"]
    values = {
        "first_name": text(r, "first_name", limit=NAME, required=True),
        "last_name": text(r, "last_name", limit=NAME, required=True),
        "title": text(r, "title", limit=NAME),
        "display_name": text(r, "display_name", limit=NAME),
        "archived_at": archived,
        **stamps,
    }
    return Row("practitioner", record_id(r), values)


def appointment_type(r: Record) -> Row:
    """A type without `max_attendees` (null) seats one patient."""
    values = {
        "name": text(r, "name", limit=NAME, required=True),
        "duration_in_minutes": integer(r, "duration_in_minutes", 1, 1440, required=True),
        "max_attendees": integer(r, "max_attendees", 1, 100) or 1,
        "archived_at": timestamp(r, "archived_at"),
        **_stamps(r),
    }
    return Row("appointment_type", record_id(r), values)


def _phone_numbers(r: Record) -> list[dict[str, Any]] | None:
    """`[{number, phone_type}]`; Cliniko's `normalized_number` is dropped."""
    items = r.get("patient_phone_numbers")
    if items is None:
        return None
    if not isinstance(items, list):
        raise Reject("patient_phone_numbers is not a list")
    numbers = []
    for index, item in enumerate(items):
        field = f"patient_phone_numbers[{index}]"
        if not isinstance(item, dict):
            raise Reject(f"{field} is not an object")
        number = text(item, "number", limit=NAME, required=True)
        numbers.append({"number": number, "phone_type": choice(item, "phone_type", PHONE_TYPES)})
    return numbers


def patient(r: Record) -> Row:
    values = {
        "first_name": text(r, "first_name", limit=NAME, required=True),
        "last_name": text(r, "last_name", limit=NAME, required=True),
        "preferred_first_name": text(r, "preferred_first_name", limit=NAME),
        "title": text(r, "title", limit=NAME),
        "date_of_birth": day(r, "date_of_birth"),
        "email": text(r, "email", limit=NAME),
        "patient_phone_numbers": _phone_numbers(r),
        "archived_at": timestamp(r, "archived_at"),
        "deleted_at": timestamp(r, "deleted_at"),
        **_stamps(r),
    }
    return Row("patient", record_id(r), values)


def patient_case(r: Record) -> Row:
    """The deprecated `closed: true` without `closed_at` closes the case at `updated_at`."""
    stamps = _stamps(r)
    closed = timestamp(r, "closed_at")
    if closed is None and boolean(r, "closed") is True:
        closed = stamps["updated_at"]
    values = {
        "patient_id": link_id(r, "patient", ("patients",), required=True),
        "name": text(r, "name", limit=NAME, required=True),
        "notes": text(r, "notes"),
        "issue_date": day(r, "issue_date"),
        "expiry_date": day(r, "expiry_date"),
        "closed_at": closed,
        "max_sessions": integer(r, "max_sessions", 1, 200),
        "archived_at": timestamp(r, "archived_at"),
        **stamps,
    }
    return Row("patient_case", record_id(r), values)


def _repeat_rule(r: Record) -> dict[str, Any]:
    """`repeat_rule` (`{}` or null when the booking does not repeat) as three columns."""
    rule = r.get("repeat_rule")
    if rule is None:
        rule = {}
    if not isinstance(rule, dict):
        raise Reject("repeat_rule is not an object")
    try:
        return {
            "repeat_type": choice(rule, "repeat_type", REPEAT_TYPES),
            "number_of_repeats": integer(rule, "number_of_repeats", 1, 51),
            "repeating_interval": integer(rule, "repeating_interval", 1, 100),
        }
    except Reject as error:
        raise Reject(f"repeat_rule.{error}") from None


def _booking(r: Record, kind: str) -> Row:
    values: dict[str, Any] = {
        "kind": kind,
        "appointment_type_id": link_id(
            r, "appointment_type", ("appointment_types",), required=True
        ),
        "practitioner_id": link_id(r, "practitioner", ("practitioners",), required=True),
        "starts_at": timestamp(r, "starts_at", required=True),
        "ends_at": timestamp(r, "ends_at", required=True),
        "notes": text(r, "notes"),
        **_repeat_rule(r),
        "repeated_from_id": link_id(r, "repeated_from", BOOKING_PATHS),
        "max_attendees": None,
        "patient_id": None,
        "patient_case_id": None,
        "patient_arrived": boolean(r, "patient_arrived"),
        "did_not_arrive": boolean(r, "did_not_arrive"),
        "cancellation_reason": code(r, "cancellation_reason", REASONS),
        "cancellation_note": text(r, "cancellation_note"),
        "cancelled_at": timestamp(r, "cancelled_at"),
        "archived_at": timestamp(r, "archived_at"),
        "deleted_at": timestamp(r, "deleted_at"),
        **_stamps(r),
    }
    if values["ends_at"] < values["starts_at"]:
        raise Reject("ends_at is before starts_at")
    return Row("booking", record_id(r), values)


def group_appointment(r: Record) -> Row:
    row = _booking(r, "group")
    row.values["max_attendees"] = integer(r, "max_attendees", 1, 100, required=True)
    return row


def individual_appointment(r: Record) -> Row:
    """Its patient and patient case go on the booking; its attendee-level fields are kept
    for the attendee made from it when the export has no attendee for it."""
    row = _booking(r, "individual")
    v = row.values
    v["patient_id"] = link_id(r, "patient", ("patients",), required=True)
    v["patient_case_id"] = link_id(r, "patient_case", ("patient_cases",))
    row.standin = {
        "booking_id": row.id,
        "patient_id": v["patient_id"],
        "patient_case_id": v["patient_case_id"],
        "arrived": v["patient_arrived"],
        "booking_ip_address": text(r, "booking_ip_address", limit=45),
        "online_booking_policy_accepted": boolean(r, "online_booking_policy_accepted"),
        **{k: v[k] for k in ("cancellation_reason", "cancellation_note", "cancelled_at")},
        "archived_at": v["archived_at"],
        "deleted_at": v["deleted_at"],
        "email_reminder_sent": boolean(r, "email_reminder_sent"),
        "sms_reminder_sent": boolean(r, "sms_reminder_sent"),
        "invoice_status": code(r, "invoice_status", INVOICE_STATUSES),
        "treatment_note_status": code(r, "treatment_note_status", NOTE_STATUSES),
        "created_at": v["created_at"],
        "updated_at": v["updated_at"],
    }
    return row


def attendee(r: Record) -> Row:
    values = {
        "booking_id": link_id(r, "booking", BOOKING_PATHS, required=True),
        "patient_id": link_id(r, "patient", ("patients",), required=True),
        "patient_case_id": link_id(r, "patient_case", ("patient_cases",)),
        "arrived": boolean(r, "arrived"),
        "notes": text(r, "notes"),
        "booking_ip_address": text(r, "booking_ip_address", limit=45),
        "online_booking_policy_accepted": boolean(r, "online_booking_policy_accepted"),
        "cancellation_reason": code(r, "cancellation_reason", REASONS),
        "cancellation_note": text(r, "cancellation_note"),
        "cancellation_url": text(r, "cancellation_url"),
        "cancelled_at": timestamp(r, "cancelled_at"),
        "archived_at": timestamp(r, "archived_at"),
        "deleted_at": timestamp(r, "deleted_at"),
        "email_reminder_sent": boolean(r, "email_reminder_sent"),
        "sms_reminder_sent": boolean(r, "sms_reminder_sent"),
        "sent_email_reminders_count": integer(r, "sent_email_reminders_count", 0, MAX_COUNT),
        "sent_sms_reminders_count": integer(r, "sent_sms_reminders_count", 0, MAX_COUNT),
        "invoice_status": code(r, "invoice_status", INVOICE_STATUSES),
        "treatment_note_status": code(r, "treatment_note_status", NOTE_STATUSES),
        "telehealth_url": text(r, "telehealth_url"),
        **_stamps(r),
    }
    return Row("attendee", record_id(r), values)


MAPPERS: dict[str, Callable[[Record], Row]] = {
    "practitioners": practitioner,
    "appointment_types": appointment_type,
    "patients": patient,
    "patient_cases": patient_case,
    "group_appointments": group_appointment,
    "individual_appointments": individual_appointment,
    "attendees": attendee,
}
TABLE_OF = {
    "practitioners": "practitioner",
    "appointment_types": "appointment_type",
    "patients": "patient",
    "patient_cases": "patient_case",
    "group_appointments": "booking",
    "individual_appointments": "booking",
    "attendees": "attendee",
}
