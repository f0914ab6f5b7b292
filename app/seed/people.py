"""Synthetic patients and patient cases for the demo clinics."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from app.seed import names


@dataclass
class Person:
    """A bookable patient: what the booking generators need to know about them."""

    id: int
    created_at: datetime
    has_email: bool
    has_mobile: bool
    open_cases: list[int] = field(default_factory=list)


def between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    """A random instant in [lo, hi]; about half of them whole seconds."""
    if hi <= lo:
        return lo
    value = lo + (hi - lo) * rng.random()
    if rng.random() < 0.5:
        value = value.replace(microsecond=0)
    return max(value, lo)


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _phone(rng: random.Random, phone_type: str) -> dict[str, str]:
    digits = "".join(str(rng.randrange(10)) for _ in range(8))
    if phone_type == "Mobile":
        number = f"04{digits[:2]} {digits[2:5]} {digits[5:8]}"
    else:
        number = f"(0{rng.choice('2378')}) {digits[:4]} {digits[4:]}"
    return {"number": number, "phone_type": phone_type}


def _phones(rng: random.Random) -> list[dict[str, str]] | None:
    if rng.random() < 0.05:
        return None
    kinds = [k for k, p in (("Mobile", 0.85), ("Home", 0.3), ("Work", 0.15)) if rng.random() < p]
    kinds += [k for k in ("Fax", "Other") if rng.random() < 0.03]
    return [_phone(rng, kind) for kind in kinds]


def patient_rows(
    rng: random.Random,
    *,
    account_id: int,
    first_id: int,
    count: int,
    since: datetime,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[Person]]:
    """`count` patients (a few archived, a few deleted) and the bookable ones among them."""
    imported = min(40, count // 5)  # a data import at sign-up: one shared created_at
    stamps = sorted(between(rng, since, now - timedelta(days=1)) for _ in range(count - imported))
    stamps = [since] * imported + stamps
    archived = set(rng.sample(range(count), k=count // 25))
    deleted = set(rng.sample(sorted(set(range(count)) - archived), k=max(1, count // 100)))
    emails: set[str] = set()
    rows: list[dict[str, Any]] = []
    people: list[Person] = []
    for i, created in enumerate(stamps):
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        email = None
        if rng.random() < 0.88:
            local = f"{_ascii(first)}.{_ascii(last)}"
            while local in emails:
                local += str(rng.randrange(10))
            emails.add(local)
            email = f"{local}@{rng.choice(names.EMAIL_DOMAINS)}"
        phones = _phones(rng)
        archived_at = between(rng, created, now) if i in archived else None
        deleted_at = between(rng, created, now) if i in deleted else None
        updated = created if rng.random() < 0.3 else between(rng, created, now)
        born = date(1935, 1, 1) + timedelta(days=rng.randrange(83 * 365))
        row: dict[str, Any] = {
            "id": first_id + i,
            "account_id": account_id,
            "first_name": first,
            "last_name": last,
            "preferred_first_name": names.PREFERRED.get(first) if rng.random() < 0.6 else None,
            "title": rng.choice(names.TITLES) if rng.random() < 0.08 else None,
            "date_of_birth": None if rng.random() < 0.05 else born,
            "email": email,
            "patient_phone_numbers": phones,
            "archived_at": archived_at,
            "deleted_at": deleted_at,
            "created_at": created,
            "updated_at": max(updated, archived_at or updated, deleted_at or updated),
        }
        rows.append(row)
        if i not in archived and i not in deleted:
            mobile = any(p["phone_type"] == "Mobile" for p in phones or [])
            people.append(Person(row["id"], created, email is not None, mobile))
    return rows, people


def case_rows(
    rng: random.Random, *, account_id: int, first_id: int, people: list[Person], now: datetime
) -> list[dict[str, Any]]:
    """Patient cases for about one patient in six; open ones are recorded on the Person."""
    rows: list[dict[str, Any]] = []
    for person in rng.sample(people, k=len(people) // 6):
        for _ in range(2 if rng.random() < 0.1 else 1):
            created = between(rng, person.created_at, now - timedelta(days=2))
            closed = between(rng, created, now) if rng.random() < 0.2 else None
            archived = between(rng, created, now) if rng.random() < 0.05 else None
            issued = created.date()
            rows.append(
                {
                    "id": first_id + len(rows),
                    "account_id": account_id,
                    "patient_id": person.id,
                    "name": rng.choice(names.CASE_NAMES),
                    "notes": rng.choice(names.CASE_NOTES),
                    "issue_date": issued,
                    "expiry_date": issued + timedelta(days=rng.choice((90, 180, 365))),
                    "closed_at": closed,
                    "max_sessions": rng.choice((6, 8, 10, 12, 20, None)),
                    "archived_at": archived,
                    "created_at": created,
                    "updated_at": max(created, closed or created, archived or created),
                }
            )
            if closed is None and archived is None:
                person.open_cases.append(rows[-1]["id"])
    return rows
