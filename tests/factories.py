"""Row factories for tests: believable defaults, every constraint respected."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app import models
from app.auth import generate_api_key, hash_api_key
from app.db import Database
from app.ids import to_global_id

T = {t.name: t for t in models.metadata.sorted_tables}
BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_clock = itertools.count(1)


def tick() -> datetime:
    """Distinct, increasing timestamps (with a microsecond fraction now and then)."""
    n = next(_clock)
    return BASE_TIME + timedelta(seconds=n, microseconds=(n * 37) % 1000 if n % 3 else 0)


def gid(type_name: str, row_id: int) -> str:
    return to_global_id(type_name, row_id)


@dataclass
class Tenant:
    """An account with an API key and the link targets bookings need."""

    id: int
    key: str
    practitioner_id: int
    appointment_type_id: int


class Factory:
    def __init__(self, database: Database) -> None:
        self.db = database

    async def insert(self, table: str, **values: Any) -> int:
        now = tick()
        if "created_at" in T[table].c and "created_at" not in values:
            values["created_at"] = now
        if "updated_at" in T[table].c and "updated_at" not in values:
            values["updated_at"] = values["created_at"]
        async with self.db.write.begin() as conn:
            result = await conn.execute(
                sa.insert(T[table]).values(**values).returning(T[table].c.id)
            )
            return int(result.scalar_one())

    async def account(self, name: str = "Test Clinic") -> Tenant:
        account_id = await self.insert("account", name=name)
        key = generate_api_key()
        await self.insert("api_key", account_id=account_id, key_hash=hash_api_key(key), name="test")
        practitioner = await self.insert(
            "practitioner",
            account_id=account_id,
            first_name="Ada",
            last_name="Lovelace",
            title="Dr",
            display_name="Dr Ada Lovelace",
        )
        appointment_type = await self.insert(
            "appointment_type",
            account_id=account_id,
            name="Pilates Class",
            duration_in_minutes=60,
            max_attendees=8,
        )
        return Tenant(account_id, key, practitioner, appointment_type)

    async def key(self, tenant: Tenant, scopes: str = "read write", name: str = "scoped") -> str:
        """Another API key of `tenant`'s account, with `scopes` (space-separated)."""
        key = generate_api_key()
        await self.insert(
            "api_key", account_id=tenant.id, key_hash=hash_api_key(key), name=name, scopes=scopes
        )
        return key

    async def patient(self, tenant: Tenant, **values: Any) -> int:
        defaults = {"first_name": "Pat", "last_name": "Example", "email": "pat@example.com"}
        return await self.insert("patient", account_id=tenant.id, **{**defaults, **values})

    async def patient_case(self, tenant: Tenant, patient_id: int, **values: Any) -> int:
        return await self.insert(
            "patient_case",
            account_id=tenant.id,
            patient_id=patient_id,
            **{"name": "Knee rehab", **values},
        )

    async def group(self, tenant: Tenant, **values: Any) -> int:
        starts = values.pop("starts_at", BASE_TIME + timedelta(days=7))
        defaults = {
            "kind": "group",
            "appointment_type_id": tenant.appointment_type_id,
            "practitioner_id": tenant.practitioner_id,
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=1),
            "max_attendees": 8,
        }
        return await self.insert("booking", account_id=tenant.id, **{**defaults, **values})

    async def individual(self, tenant: Tenant, patient_id: int, **values: Any) -> int:
        starts = values.pop("starts_at", BASE_TIME + timedelta(days=3))
        defaults = {
            "kind": "individual",
            "appointment_type_id": tenant.appointment_type_id,
            "practitioner_id": tenant.practitioner_id,
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=45),
            "patient_id": patient_id,
        }
        booking_id = await self.insert("booking", account_id=tenant.id, **{**defaults, **values})
        await self.attendee(tenant, booking_id, patient_id)
        return booking_id

    async def attendee(
        self, tenant: Tenant, booking_id: int, patient_id: int, **values: Any
    ) -> int:
        """An attendee; an active one takes a seat (the booking's counter moves with it)."""
        attendee_id = await self.insert(
            "attendee", account_id=tenant.id, booking_id=booking_id, patient_id=patient_id, **values
        )
        if not any(values.get(k) for k in ("cancelled_at", "archived_at", "deleted_at")):
            booking = T["booking"]
            async with self.db.write.begin() as conn:
                await conn.execute(
                    sa.update(booking)
                    .where(booking.c.id == booking_id)
                    .values(active_attendees=booking.c.active_attendees + 1)
                )
        return attendee_id
