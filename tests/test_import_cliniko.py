"""import-cliniko: Cliniko API JSON in (the fixtures keep the API's exact shapes), the same
ids out through GraphQL; idempotent, per-record rejections, tenancy (both databases).

The tests of this module share one import (module fixture `imported`) and run in order:
the last one changes records and imports them again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.db import Database
from app.importer import Report, SourceError, import_cliniko
from app.importer.source import booking_kind, detect
from app.importer.values import Reject, link_id, timestamp, to_id
from app.seed.base import DATA_TABLES
from tests.factories import Factory, T, Tenant

FIXTURES = Path(__file__).parent / "fixtures" / "cliniko"
CLI = Path(sys.executable).parent / "attendee-gateway"
PR2 = 1390053863163176769
P1, P2, P3, P4, P6 = (1390710863102485699 + n for n in (0, 1, 2, 3, 5))
CASE = 1390800000000000001
G1, G2, G3 = (1391000000000000001 + n for n in range(3))
I1, I2, I3, I4 = (1392000000000000001 + n for n in range(4))
MAX_ID = 2**63 - 1


def aid(n: int) -> int:
    return 1394000000000000000 + n


FIRST = {  # new, updated, unchanged, rejected, skipped
    "files": (0, 0, 0, 1, 1),
    "practitioners": (2, 0, 0, 0, 0),
    "appointment_types": (2, 0, 0, 0, 0),
    "patients": (4, 0, 0, 2, 0),
    "patient_cases": (1, 0, 0, 0, 0),
    "group_appointments": (3, 0, 0, 1, 0),
    "individual_appointments": (4, 0, 0, 0, 0),
    "unavailable_blocks": (0, 0, 0, 0, 1),
    "attendees": (9, 0, 0, 10, 0),
    "attendees (made from appointments)": (3, 0, 0, 0, 0),
}
PATIENT_VALUES = (
    "Peter",
    "Patientman",
    "peter@example",
    "Zoë",
    "Ó Briain",
    "Left knee",
    "Last minute",
    "Travelling",
)


def counts(report: Report) -> dict[str, tuple[int, ...]]:
    return {
        kind: (t.new, t.updated, t.unchanged, t.rejected, t.skipped)
        for kind, t in report.tallies.items()
    }


def unchanged(expected: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """What a second import of the same export reports: every landed record unchanged."""
    return {k: (0, 0, n + u + c, r, s) for k, (n, u, c, r, s) in expected.items()}


@dataclass
class Imported:
    tenant: Tenant
    other: Tenant
    report: Report


@pytest.fixture(scope="module")
async def imported(database: Database) -> Imported:
    factory = Factory(database)
    other = await factory.account("Other Clinic")
    await factory.patient(other, id=P4, first_name="Kept", last_name="Elsewhere")
    tenant = await factory.account("Harbourside Physio")
    report = await import_cliniko(database, FIXTURES, account_id=tenant.id)
    return Imported(tenant, other, report)


async def snapshot(database: Database, account_id: int) -> dict[str, list[Any]]:
    """Every data row of an account, in id order."""
    async with database.read.connect() as conn:
        return {
            name: list(
                (
                    await conn.execute(
                        sa.select(T[name])
                        .where(T[name].c.account_id == account_id)
                        .order_by(T[name].c.id)
                    )
                ).all()
            )
            for name in DATA_TABLES
        }


async def row(database: Database, table: str, row_id: int) -> Any:
    async with database.read.connect() as conn:
        return (await conn.execute(sa.select(T[table]).where(T[table].c.id == row_id))).one()


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [str(CLI), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


# -- values and detection (no database) -------------------------------------------------


def test_ids_strings_numbers_and_range() -> None:
    assert to_id("1390726237298631770") == to_id(1390726237298631770) == 1390726237298631770
    assert to_id(str(MAX_ID)) == MAX_ID
    for bad in (MAX_ID + 1, 0, -5, "12a", "", True, 1.0, None, "１２"):
        with pytest.raises(Reject):
            to_id(bad)


def test_links_resolve_to_ids() -> None:
    record = {
        "patient": {"links": {"self": "https://api.au1.cliniko.com/v1/patients/82"}},
        "booking": {"links": {"self": "https://api.au1.cliniko.com/v1/group_appointments/1011"}},
        "odd": {"links": {"self": "https://api.au1.cliniko.com/v1/patients/82/attendees"}},
        "bare": {"self": "https://api.au1.cliniko.com/v1/patients/82"},
    }
    assert link_id(record, "patient", ("patients",)) == 82
    assert link_id(record, "booking", ("bookings", "group_appointments")) == 1011
    assert link_id(record, "patient_case", ("patient_cases",)) is None
    for field in ("odd", "bare"):
        with pytest.raises(Reject):
            link_id(record, field, ("patients",))
    with pytest.raises(Reject, match="patient_case link missing"):
        link_id(record, "patient_case", ("patient_cases",), required=True)


def test_timestamps_are_aware_utc() -> None:
    parsed = timestamp({"t": "2024-01-11T10:00:00+10:00"}, "t")
    assert parsed == datetime(2024, 1, 11, tzinfo=UTC) and parsed.tzinfo is UTC
    assert timestamp({"t": ""}, "t") is None
    with pytest.raises(Reject, match="time zone"):
        timestamp({"t": "2024-01-11T10:00:00"}, "t")


def test_kinds_are_told_from_fields() -> None:
    bookings = json.loads((FIXTURES / "bookings.json").read_text())["bookings"]
    assert [booking_kind(b) for b in bookings] == ["individual_appointments", "unavailable_blocks"]
    groups = json.loads((FIXTURES / "group_appointments.json").read_text())
    assert booking_kind({**groups["group_appointments"][0], "links": {}}) == "group_appointments"
    assert detect(json.loads((FIXTURES / "patient_case.json").read_text())) == "patient_cases"
    patient = json.loads((FIXTURES / "patients.json").read_text())["patients"][0]
    del patient["links"]
    assert detect(patient) == "patients"
    assert detect({"first_name": "A", "display_name": "A"}) == "practitioners"
    assert detect({"something": 1}) is None


# -- the import --------------------------------------------------------------------------


async def test_first_import_counts(imported: Imported) -> None:
    assert counts(imported.report) == FIRST
    assert imported.report.notes == ["invoices.json: skipped: invoices are not imported"]


async def test_malformed_records_are_reported_by_position_and_skipped(imported: Imported) -> None:
    problems = imported.report.problems
    expected = [
        "broken.json: not valid JSON (line 3, column 1)",
        f"patients.json: patients[3] (id {P4}): id {P4} belongs to another account; not imported",
        f"patients.json: patients[4] (id {P4 + 1}): last_name missing",
        "group_appointments.json: group_appointments[3] (id 1391000000000000004): "
        "repeat_rule.repeat_type is not one of Daily, Monthly, Weekly",
        f"attendees.json: attendees[5] (id {aid(6)}): booking {G3} is full (2 of 2 seats taken)",
        f"attendees.json: attendees[6] (id {aid(7)}): the patient already attends booking {G1} "
        f"(attendee {aid(1)}); one active attendance per patient and booking",
        f"attendees.json: attendees[7] (id {aid(8)}): patient link missing",
        f"attendees.json: attendees[8] (id {aid(9)}): "
        "cancellation_reason 0 is not a valid code (10, 20, 30, 31, 40, 50, 60)",
        f"attendees.json: attendees[9] (id {aid(10)}): "
        "invoice_status 15 is not a valid code (10, 20, 30, 40)",
        f"attendees.json: attendees[10] (id {aid(11)}): booking 999 not found in this account",
        f"attendees.json: attendees[11] (id {aid(12)}): patient {P4 + 1} not found in this account",
        f"attendees.json: attendees[13] (id {aid(14)}): "
        f"the patient is not the patient of individual appointment {I1}",
        f"attendees.json: attendees[15] (id {aid(16)}): patient link does not point to /patients/ID",
        f"attendees.json: attendees[17] (id {aid(18)}): patient {P4} not found in this account",
    ]
    assert problems == expected
    assert not any(value in line for line in problems for value in PATIENT_VALUES)


async def test_rows_keep_clinikos_ids_and_fields(imported: Imported, database: Database) -> None:
    rows = await snapshot(database, imported.tenant.id)
    imported_ids = {r.id for r in rows["attendee"]}
    assert imported_ids == {aid(n) for n in (1, 2, 3, 4, 5, 13, 15, 17)} | {MAX_ID, I2, I3, I4}
    peter = await row(database, "patient", P1)
    assert peter.patient_phone_numbers == [
        {"number": "0444 444 444", "phone_type": "Mobile"},
        {"number": "(03) 9999 9999", "phone_type": "Home"},
    ]
    assert peter.archived_at is None and peter.deleted_at is None  # "" in the export
    assert peter.updated_at == datetime(2024, 3, 1, 9, 30, 0, 250000, tzinfo=UTC)
    hana = await row(database, "patient", P3)
    assert hana.created_at == datetime(2024, 1, 11, tzinfo=UTC)  # +10:00 in the export
    assert (await row(database, "patient", P2)).date_of_birth is None
    tomas = await row(database, "practitioner", PR2)  # "active": false
    assert tomas.archived_at == tomas.updated_at == datetime(2024, 6, 30, 7, tzinfo=UTC)
    case = await row(database, "patient_case", CASE)
    assert (case.patient_id, case.max_sessions, case.closed_at) == (P1, 10, None)
    origin, repeat = await row(database, "booking", G1), await row(database, "booking", G2)
    assert (origin.repeat_type, origin.number_of_repeats, origin.repeating_interval) == (
        "Weekly",
        1,
        1,
    )
    assert (repeat.repeat_type, repeat.repeated_from_id) == (None, G1)
    individual = await row(database, "booking", I1)
    assert (individual.kind, individual.patient_id, individual.patient_case_id) == (
        "individual",
        P1,
        CASE,
    )
    cancelled = await row(database, "attendee", aid(2))
    assert (cancelled.cancellation_reason, cancelled.invoice_status) == (50, 30)
    made = await row(database, "attendee", I2)  # made from the appointment (none exported)
    assert (made.booking_id, made.patient_id, made.arrived, made.invoice_status) == (
        I2,
        P6,
        True,
        20,
    )
    assert (await row(database, "attendee", I3)).cancellation_reason == 40
    seats = {b.id: b.active_attendees for b in rows["booking"]}
    assert seats == {G1: 2, G2: 1, G3: 2, I1: 1, I2: 1, I3: 0, I4: 1}


async def test_active_attendees_match_the_attendees(imported: Imported, database: Database) -> None:
    rows = await snapshot(database, imported.tenant.id)
    for booking in rows["booking"]:
        active = [
            a
            for a in rows["attendee"]
            if a.booking_id == booking.id
            and a.cancelled_at is None
            and a.archived_at is None
            and a.deleted_at is None
        ]
        assert booking.active_attendees == len(active), booking.id


async def test_another_accounts_row_is_untouched(imported: Imported, database: Database) -> None:
    kept = await row(database, "patient", P4)
    assert (kept.account_id, kept.first_name, kept.last_name) == (
        imported.other.id,
        "Kept",
        "Elsewhere",
    )
    other = await snapshot(database, imported.other.id)
    assert [r.id for r in other["patient"]] == [P4]
    assert other["attendee"] == [] and other["booking"] == []


GRAPHQL = """
query($p1: ID!, $g1: ID!, $i3: ID!, $max: ID!) {
  patient(id: $p1) { databaseId phoneNumbers { number phoneType } }
  group: booking(id: $g1) {
    __typename databaseId
    ... on GroupAppointment {
      maxAttendees availableSeats repeatRule { repeatType numberOfRepeats repeatingInterval }
      attendees { nodes { databaseId patient { databaseId } } }
    }
  }
  individual: booking(id: $i3) {
    __typename databaseId
    ... on IndividualAppointment { patient { databaseId } cancellationReason }
  }
  deleted: attendee(id: $max) { databaseId deletedAt booking { databaseId } }
  patients(first: 50) { nodes { databaseId } }
  bookings(first: 50, filter: {includeCancelled: true}) { nodes { __typename databaseId } }
  attendees(first: 50, filter: {includeCancelled: true, includeArchived: true}) {
    nodes { databaseId }
  }
}
"""


async def test_graphql_serves_clinikos_ids(imported: Imported, client_for: Any) -> None:
    client = client_for(imported.tenant.key)
    ids = {"p1": str(P1), "g1": str(G1), "i3": str(I3), "max": str(MAX_ID)}
    data = await client.query(GRAPHQL, ids)
    assert data["patient"] == {
        "databaseId": str(P1),
        "phoneNumbers": [
            {"number": "0444 444 444", "phoneType": "MOBILE"},
            {"number": "(03) 9999 9999", "phoneType": "HOME"},
        ],
    }
    group = data["group"]
    assert (group["__typename"], group["databaseId"], group["maxAttendees"]) == (
        "GroupAppointment",
        str(G1),
        8,
    )
    assert group["availableSeats"] == 6
    assert group["repeatRule"] == {
        "repeatType": "WEEKLY",
        "numberOfRepeats": 1,
        "repeatingInterval": 1,
    }
    assert {(a["databaseId"], a["patient"]["databaseId"]) for a in group["attendees"]["nodes"]} == {
        (str(aid(1)), str(P1)),
        (str(aid(3)), str(P6)),
    }
    assert data["individual"] == {
        "__typename": "IndividualAppointment",
        "databaseId": str(I3),
        "patient": {"databaseId": str(P2)},
        "cancellationReason": "AWAY",
    }
    assert data["deleted"]["databaseId"] == str(MAX_ID)
    assert data["deleted"]["booking"] == {"databaseId": str(G3)}
    tenant_patients = {n["databaseId"] for n in data["patients"]["nodes"]}
    assert tenant_patients == {str(p) for p in (P1, P2, P6)}  # P3 is archived
    bookings = {(n["__typename"], n["databaseId"]) for n in data["bookings"]["nodes"]}
    assert bookings == {("GroupAppointment", str(g)) for g in (G1, G2, G3)} | {
        ("IndividualAppointment", str(i)) for i in (I1, I2, I3, I4)
    }
    attendees = {n["databaseId"] for n in data["attendees"]["nodes"]}
    assert attendees == {str(a) for a in (*map(aid, (1, 2, 3, 4, 5, 13, 15, 17)), I2, I3, I4)}


async def test_reimport_through_the_cli_changes_nothing(
    imported: Imported, database: Database, database_url: str
) -> None:
    before = await snapshot(database, imported.tenant.id)
    result = run_cli(
        database_url, "import-cliniko", str(FIXTURES), "--account", str(imported.tenant.id)
    )
    assert result.returncode == 3, result.stderr
    assert f"{imported.report.rejected} rejected (listed above)" in result.stderr
    out = result.stdout.splitlines()
    assert out[: len(imported.report.problems) + 1] == [
        *imported.report.notes,
        *imported.report.problems,
    ]
    table = out[out.index(f"Imported {FIXTURES} into account {imported.tenant.id}:") + 1 :]
    lines = {" ".join(line.split()[:-5]): tuple(map(int, line.split()[-5:])) for line in table[1:]}
    expected = unchanged(FIRST)
    assert lines.pop("total") == tuple(sum(c[i] for c in expected.values()) for i in range(5))
    assert lines == expected
    assert not any(value in result.stdout + result.stderr for value in PATIENT_VALUES)
    assert await snapshot(database, imported.tenant.id) == before


async def test_single_file_and_cli_errors(
    imported: Imported, database: Database, database_url: str, tmp_path: Path
) -> None:
    report = await import_cliniko(
        database, FIXTURES / "patient_case.json", account_id=imported.tenant.id
    )
    assert counts(report) == {"patient_cases": (0, 0, 1, 0, 0)}
    with pytest.raises(SourceError):
        await import_cliniko(database, tmp_path / "missing", account_id=imported.tenant.id)
    missing = run_cli(
        database_url,
        "import-cliniko",
        str(tmp_path / "missing"),
        "--account",
        str(imported.tenant.id),
    )
    assert missing.returncode == 2 and "is not a file or a directory" in missing.stderr
    account = run_cli(database_url, "import-cliniko", str(FIXTURES), "--account", str(2**62))
    assert account.returncode == 2 and "does not exist" in account.stderr


def _edit(folder: Path, name: str, key: str | None, index: int | None, **changes: Any) -> None:
    path = folder / name
    data = json.loads(path.read_text())
    record = data if key is None else data[key][index]
    record.update(changes)
    path.write_text(json.dumps(data))


async def test_changed_records_update_their_rows(
    imported: Imported, database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(FIXTURES, folder)
    later = "2024-06-01T00:00:00Z"
    _edit(folder, "attendees.json", "attendees", 0, notes="Changed.", updated_at=later)
    _edit(folder, "patients.json", "patients", 1, title="Dr", updated_at=later)
    _edit(folder, "group_appointments.json", "group_appointments", 2, max_attendees=1)
    _edit(
        folder,
        "individual_appointments.json",
        "individual_appointments",
        1,
        cancellation_reason=30,
        cancellation_reason_description="Sick",
        cancelled_at=later,
        updated_at=later,
    )
    before = await snapshot(database, imported.tenant.id)
    report = await import_cliniko(database, folder, account_id=imported.tenant.id)
    expected = unchanged(FIRST)
    expected["attendees"] = (0, 1, 8, 10, 0)
    expected["patients"] = (0, 1, 3, 2, 0)
    expected["group_appointments"] = (0, 0, 2, 2, 0)  # G3: two seats are taken
    expected["individual_appointments"] = (0, 1, 3, 0, 0)
    expected["attendees (made from appointments)"] = (0, 1, 2, 0, 0)
    assert counts(report) == expected
    assert (
        f"group_appointments.json: group_appointments[2] (id {G3}): "
        "max_attendees 1 is below the booking's 2 active attendees"
    ) in report.problems
    after = await snapshot(database, imported.tenant.id)
    changed = {
        (table, r.id)
        for table in after
        for r, old in zip(after[table], before[table], strict=True)
        if r != old
    }
    assert changed == {
        ("attendee", aid(1)),
        ("patient", P2),
        ("booking", I2),
        ("attendee", I2),
    }
    made = await row(database, "attendee", I2)
    assert (made.cancellation_reason, made.cancelled_at) == (30, datetime(2024, 6, 1, tzinfo=UTC))
    assert (await row(database, "booking", I2)).active_attendees == 0
    assert (await row(database, "attendee", aid(1))).notes == "Changed."

    # Cliniko's own attendee for I2 replaces the one made from the appointment.
    extra = json.loads((FIXTURES / "attendees.json").read_text())["attendees"][0]
    extra.update(
        id="1394000000000000099",
        booking={"links": {"self": f"https://api.au4.cliniko.com/v1/individual_appointments/{I2}"}},
        patient={"links": {"self": f"https://api.au4.cliniko.com/v1/patients/{P6}"}},
        patient_case=None,
        notes=None,
    )
    (folder / "late_attendee.json").write_text(json.dumps(extra))
    report = await import_cliniko(database, folder, account_id=imported.tenant.id)
    assert counts(report)["attendees"] == (1, 0, 9, 10, 0)
    assert counts(report)["attendees (made from appointments)"] == (0, 0, 2, 0, 0)
    rows = await snapshot(database, imported.tenant.id)
    assert [a.id for a in rows["attendee"] if a.booking_id == I2] == [aid(99)]
    assert {b.id: b.active_attendees for b in rows["booking"]}[I2] == 1
