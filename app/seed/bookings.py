"""Synthetic bookings and attendees in every state, with exact seat counters."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.seed import names
from app.seed.people import Person, between

REASONS = (10, 20, 30, 31, 40, 50, 60)
ACTIVE = "active"
STATES = (ACTIVE, "cancelled", "archived", "deleted", "cancelled+archived")
_PAST_WEIGHTS = (80, 11, 3, 3, 3)
_FUTURE_WEIGHTS = (88, 9, 2, 1, 0)
_INVOICE = (20, 20, 20, 20, 20, 20, 10, 10, 30, 40)


@dataclass
class Kind:
    """An appointment type as the generator sees it."""

    id: int
    minutes: int
    max_attendees: int
    telehealth: bool = False


@dataclass
class BookingMaker:
    """Builds booking and attendee rows (explicit ids) for one clinic."""

    rng: random.Random
    now: datetime
    account_id: int
    site: str
    ids: dict[str, int]
    bookings: list[dict[str, Any]] = field(default_factory=list)
    attendees: list[dict[str, Any]] = field(default_factory=list)
    reasons_due: list[int] = field(default_factory=lambda: list(REASONS))

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table] - 1

    def _token(self) -> str:
        return "".join(self.rng.choices(string.ascii_letters + string.digits, k=12))

    def draw_state(self, *, past: bool) -> str:
        """A state for a new attendee, mostly active."""
        return self.rng.choices(STATES, _PAST_WEIGHTS if past else _FUTURE_WEIGHTS)[0]

    def _reason(self) -> int:
        """Each reason once first (so every code shows up), then random ones."""
        return self.reasons_due.pop(0) if self.reasons_due else self.rng.choice(REASONS)

    def booking(
        self,
        *,
        appointment: Kind,
        kind: str,
        practitioner: int,
        starts: datetime,
        created: datetime,
        **extra: Any,
    ) -> dict[str, Any]:
        """A booking row; the caller sets kind-specific fields and active_attendees."""
        row: dict[str, Any] = dict.fromkeys(_BOOKING_FIELDS)
        row.update(
            id=self._next("booking"),
            account_id=self.account_id,
            kind=kind,
            appointment_type_id=appointment.id,
            practitioner_id=practitioner,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=appointment.minutes),
            active_attendees=0,
            created_at=created,
            updated_at=created,
        )
        row.update(extra)
        self.bookings.append(row)
        return row

    def attendee(
        self,
        booking: dict[str, Any],
        person: Person,
        state: str,
        *,
        case_id: int | None = None,
        after: datetime | None = None,
        telehealth: bool = False,
    ) -> dict[str, Any]:
        """An attendee row for `person` in `booking`, in `state`, with consistent times."""
        rng, now, starts = self.rng, self.now, booking["starts_at"]
        past = booking["ends_at"] < now
        hi = min(starts - timedelta(hours=2), now - timedelta(minutes=30))
        lo = max(
            booking["created_at"],
            after or booking["created_at"],
            min(starts - timedelta(days=21), hi),
        )
        created = between(rng, lo, hi)
        row: dict[str, Any] = dict.fromkeys(_ATTENDEE_FIELDS)
        row.update(
            id=self._next("attendee"),
            account_id=self.account_id,
            booking_id=booking["id"],
            patient_id=person.id,
            patient_case_id=case_id,
            created_at=created,
        )
        stamps = [created]
        if state.startswith("cancelled"):
            reason = self._reason()
            row["cancellation_reason"] = reason
            row["cancellation_note"] = (
                names.CANCELLATION_NOTES[reason] if rng.random() < 0.8 else None
            )
            row["cancelled_at"] = between(rng, created, min(starts, now))
            stamps.append(row["cancelled_at"])
        if state.endswith("archived"):
            row["archived_at"] = between(rng, stamps[-1], now)
            stamps.append(row["archived_at"])
        if state == "deleted":
            row["deleted_at"] = between(rng, created, now)
            stamps.append(row["deleted_at"])
        if state == ACTIVE and past:
            row["arrived"] = rng.choices((True, False, None), (75, 10, 15))[0]
            if row["arrived"] is not None:
                stamps.append(min(now, booking["ends_at"] + timedelta(minutes=rng.randint(5, 90))))
        self._details(row, booking, person, state, telehealth=telehealth)
        row["updated_at"] = max(stamps)
        booking["updated_at"] = max(booking["updated_at"], row["updated_at"])
        booking["active_attendees"] += state == ACTIVE
        self.attendees.append(row)
        return row

    def _details(
        self, row: dict[str, Any], booking: dict[str, Any], person: Person, state: str, **kw: bool
    ) -> None:
        """Notes, online booking, reminders, invoice and treatment-note state."""
        rng = self.rng
        if rng.random() < 0.12:
            row["notes"] = rng.choice(names.ATTENDEE_NOTES)
        if rng.random() < 0.25:
            host = rng.choice(("203.0.113", "198.51.100", "192.0.2"))
            ip = f"{host}.{rng.randint(1, 254)}"
            row["booking_ip_address"] = (
                f"2001:db8::{rng.randint(1, 0xFFFF):x}" if rng.random() < 0.1 else ip
            )
            row["online_booking_policy_accepted"] = True
            row["cancellation_url"] = f"https://{self.site}/bookings/{self._token()}/cancel"
        if kw.get("telehealth"):
            row["telehealth_url"] = f"https://{self.site}/telehealth/{self._token()}"
        due = booking["starts_at"] - timedelta(days=1) <= self.now
        email = due and person.has_email and state != "deleted"
        sms = due and person.has_mobile and state != "deleted" and rng.random() < 0.7
        row["email_reminder_sent"], row["sms_reminder_sent"] = email, sms
        row["sent_email_reminders_count"] = (1 + (rng.random() < 0.1)) if email else 0
        row["sent_sms_reminders_count"] = 1 if sms else 0
        if rng.random() < 0.05:  # legacy rows without reminder data
            row["email_reminder_sent"] = row["sent_email_reminders_count"] = None
        if row["arrived"] is True:
            row["invoice_status"] = rng.choice(_INVOICE)
            row["treatment_note_status"] = 90 if rng.random() < 0.8 else 10
        elif row["arrived"] is False and rng.random() < 0.3:
            row["invoice_status"] = 10  # a did-not-arrive fee
        elif state.startswith("cancelled") and rng.random() < 0.1:
            row["invoice_status"] = 30


_BOOKING_FIELDS = (
    "notes", "repeat_type", "number_of_repeats", "repeating_interval", "repeated_from_id",
    "max_attendees", "patient_id", "patient_case_id", "patient_arrived", "did_not_arrive",
    "cancellation_reason", "cancellation_note", "archived_at", "cancelled_at", "deleted_at",
)  # fmt: skip
_ATTENDEE_FIELDS = (
    "arrived", "notes", "booking_ip_address", "online_booking_policy_accepted",
    "cancellation_reason", "cancellation_note", "cancellation_url", "cancelled_at",
    "archived_at", "deleted_at", "email_reminder_sent", "sms_reminder_sent",
    "sent_email_reminders_count", "sent_sms_reminders_count", "invoice_status",
    "treatment_note_status", "telehealth_url",
)  # fmt: skip
