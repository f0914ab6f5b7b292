"""`seed-demo`: two believable clinics, with attendees in every state."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from app.db import Database
from app.scopes import SCOPES
from app.seed.base import (
    DATA_TABLES,
    SeedError,
    create_account,
    create_api_key,
    has_accounts,
    insert_rows,
    next_ids,
    sync_sequences,
)
from app.seed.bookings import ACTIVE, BookingMaker, Kind
from app.seed.clinics import MAIN, SECOND, Clinic, Series
from app.seed.people import Person, between, case_rows, patient_rows
from app.timeutil import utcnow

Rows = dict[str, list[dict[str, Any]]]


class _Builder:
    """Fills `rows` for one clinic."""

    def __init__(
        self,
        *,
        rng: random.Random,
        now: datetime,
        clinic: Clinic,
        account_id: int,
        since: datetime,
        ids: dict[str, int],
        rows: Rows,
    ) -> None:
        self.rng, self.now, self.clinic, self.since, self.rows = rng, now, clinic, since, rows
        self.account_id, self.ids = account_id, ids
        self.maker = BookingMaker(rng, now, account_id, clinic.site, ids)
        self.monday = (now - timedelta(days=now.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        self.practitioners: list[int] = []
        self.kinds: dict[str, Kind] = {}
        self.people: list[Person] = []

    def build(self) -> None:
        self._staff()
        self._patients()
        for series in self.clinic.series:
            self._series(series)
        self._individuals()
        if self.clinic.extras:
            self._extras()
        self.rows["booking"] += self.maker.bookings
        self.rows["attendee"] += self.maker.attendees

    def _stamp(self, hours: float) -> tuple[datetime, datetime]:
        created = between(self.rng, self.since, self.since + timedelta(hours=hours))
        updated = created if self.rng.random() < 0.5 else between(self.rng, created, self.now)
        return created, updated

    def _staff(self) -> None:
        for title, first, last, display, archived in self.clinic.practitioners:
            created, updated = self._stamp(48)
            row_id = self._take("practitioner")
            self.rows["practitioner"].append(
                {
                    "id": row_id,
                    "account_id": self.account_id,
                    "first_name": first,
                    "last_name": last,
                    "title": title,
                    "display_name": display,
                    "archived_at": updated if archived else None,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
            if not archived:
                self.practitioners.append(row_id)
        for name, minutes, seats, telehealth, archived in self.clinic.kinds:
            created, updated = self._stamp(72)
            row_id = self._take("appointment_type")
            self.rows["appointment_type"].append(
                {
                    "id": row_id,
                    "account_id": self.account_id,
                    "name": name,
                    "duration_in_minutes": minutes,
                    "max_attendees": seats,
                    "archived_at": updated if archived else None,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
            if not archived:
                self.kinds[name] = Kind(row_id, minutes, seats, telehealth)

    def _take(self, table: str, count: int = 1) -> int:
        first = self.ids[table]
        self.ids[table] += count
        return first

    def _patients(self) -> None:
        count = self.clinic.patients
        rows, self.people = patient_rows(
            self.rng,
            account_id=self.account_id,
            first_id=self._take("patient", count),
            count=count,
            since=self.since,
            now=self.now,
        )
        cases = case_rows(
            self.rng,
            account_id=self.account_id,
            first_id=self.ids["patient_case"],
            people=self.people,
            now=self.now,
        )
        self._take("patient_case", len(cases))
        self.rows["patient"] += rows
        self.rows["patient_case"] += cases

    def _case(self, person: Person, chance: float) -> int | None:
        if person.open_cases and self.rng.random() < chance:
            return self.rng.choice(person.open_cases)
        return None

    def _series(self, series: Series) -> None:
        kind, rng, now = self.kinds[series.kind], self.rng, self.now
        seats = series.max_attendees or kind.max_attendees
        first = self.monday + timedelta(
            weeks=-series.weeks_back,
            days=series.weekday,
            hours=series.time[0],
            minutes=series.time[1],
        )
        created = between(rng, first - timedelta(days=21), first - timedelta(days=7))
        roster = rng.sample(self.people, k=seats + 3)
        origin: int | None = None
        for week in range(series.repeats + 1):
            starts = first + timedelta(weeks=week)
            rule: dict[str, Any] = {"repeated_from_id": origin}
            if origin is None:
                rule = {
                    "repeat_type": "Weekly",
                    "number_of_repeats": series.repeats,
                    "repeating_interval": 1,
                }
            booking = self.maker.booking(
                appointment=kind,
                kind="group",
                practitioner=self.practitioners[series.practitioner],
                starts=starts,
                created=created,
                max_attendees=seats,
                notes=series.notes,
                **rule,
            )
            origin = origin or booking["id"]
            weeks_ahead = max(0.0, (starts - now) / timedelta(weeks=1) - 1)
            self._fill(booking, roster, seats, chance=max(0.2, 0.85 - 0.15 * weeks_ahead))

    def _fill(
        self, booking: dict[str, Any], roster: list[Person], seats: int, chance: float
    ) -> None:
        past = booking["ends_at"] < self.now
        for person in roster:
            if self.rng.random() >= chance:
                continue
            state = self.maker.draw_state(past=past)
            if state == ACTIVE and booking["active_attendees"] >= seats:
                continue  # class full
            first = self.maker.attendee(booking, person, state, case_id=self._case(person, 0.3))
            rebook = state == "cancelled" and not past and self.rng.random() < 0.3
            if rebook and booking["active_attendees"] < seats:
                self.maker.attendee(booking, person, ACTIVE, after=first["cancelled_at"])

    def _individual(
        self, kind: Kind, practitioner: int, person: Person, starts: datetime, **rule: Any
    ) -> dict[str, Any]:
        lo = max(self.since, starts - timedelta(days=30))
        created = between(
            self.rng, lo, min(starts - timedelta(days=1), self.now - timedelta(hours=1))
        )
        case_id = self._case(person, 0.6)
        booking = self.maker.booking(
            appointment=kind,
            kind="individual",
            practitioner=practitioner,
            starts=starts,
            created=created,
            patient_id=person.id,
            patient_case_id=case_id,
            **rule,
        )
        state = self.maker.draw_state(past=booking["ends_at"] < self.now)
        row = self.maker.attendee(
            booking, person, state, case_id=case_id, telehealth=kind.telehealth
        )
        row["created_at"] = created  # an individual appointment and its attendee are made together
        for field in (
            "cancelled_at",
            "cancellation_reason",
            "cancellation_note",
            "archived_at",
            "deleted_at",
        ):
            booking[field] = row[field]
        if row["arrived"] is not None:
            booking["patient_arrived"], booking["did_not_arrive"] = (
                row["arrived"],
                not row["arrived"],
            )
        return booking

    def _individuals(self) -> None:
        kinds = [k for k in self.kinds.values() if k.max_attendees == 1]
        taken: set[tuple[int, datetime]] = set()
        while len(taken) < self.clinic.individuals:
            day = self.monday + timedelta(days=self.rng.randint(-42, 21))
            if day.weekday() >= 5:
                continue
            starts = day + timedelta(
                hours=self.rng.randint(8, 17), minutes=self.rng.choice((0, 30))
            )
            practitioner = self.rng.choice(self.practitioners)
            if (practitioner, starts) in taken:
                continue
            taken.add((practitioner, starts))
            kind = self.rng.choices(kinds, (25, 55, 20)[: len(kinds)])[0]
            self._individual(kind, practitioner, self.rng.choice(self.people), starts)

    def _extras(self) -> None:
        """A repeating individual series, an empty upcoming class, an archived class."""
        person = next(p for p in self.people if p.open_cases)
        first = self.monday + timedelta(weeks=-1, days=4, hours=15)
        origin = self._individual(
            self.kinds["Standard Consultation"],
            self.practitioners[0],
            person,
            first,
            repeat_type="Weekly",
            number_of_repeats=3,
            repeating_interval=1,
        )
        for week in range(1, 4):
            self._individual(
                self.kinds["Standard Consultation"],
                self.practitioners[0],
                person,
                first + timedelta(weeks=week),
                repeated_from_id=origin["id"],
            )
        pilates, hydro = self.kinds["Clinical Pilates Class"], self.kinds["Hydrotherapy Group"]
        starts = self.monday + timedelta(days=13, hours=10)
        self.maker.booking(
            appointment=pilates,
            kind="group",
            practitioner=self.practitioners[0],
            starts=starts,
            created=self.now - timedelta(days=2),
            max_attendees=8,
            notes="Open day: free intro class.",
        )
        starts = self.monday + timedelta(weeks=-2, days=1, hours=10)
        closed = self.maker.booking(
            appointment=hydro,
            kind="group",
            practitioner=self.practitioners[3],
            starts=starts,
            created=starts - timedelta(days=14),
            max_attendees=6,
            notes="Pool closed for maintenance.",
            archived_at=starts - timedelta(days=1),
        )
        for i, person in enumerate(self.rng.sample(self.people, k=4)):
            state = "cancelled+archived" if i == 0 else "archived"
            self.maker.attendee(closed, person, state)
        closed["updated_at"] = max(closed["updated_at"], closed["archived_at"])


async def seed_demo(db: Database, *, now: datetime | None = None, seed: int = 20240601) -> str:
    """Fill an empty database with the two demo clinics; return the main clinic's API key."""
    now = now or utcnow()
    rng = random.Random(seed)
    async with db.write.begin() as conn:
        if await has_accounts(conn):
            raise SeedError("the database already has accounts; seed-demo needs an empty database")
        ids = await next_ids(conn, DATA_TABLES)
        rows: Rows = {name: [] for name in DATA_TABLES}
        keys = []
        for clinic in (MAIN, SECOND):
            since = (now - timedelta(days=clinic.age_days)).replace(microsecond=0)
            account_id = await create_account(conn, name=clinic.name, now=since)
            # The demo key may do everything, auditEvents included, so GraphiQL shows it all.
            key = await create_api_key(
                conn, account_id=account_id, name="Demo key", scopes=SCOPES, now=now
            )
            keys.append(key)
            _Builder(
                rng=rng,
                now=now,
                clinic=clinic,
                account_id=account_id,
                since=since,
                ids=ids,
                rows=rows,
            ).build()
        for name in DATA_TABLES:
            await insert_rows(conn, name, rows[name])
        await sync_sequences(conn, DATA_TABLES)
    return keys[0]
