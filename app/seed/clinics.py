"""The two demo clinics: staff, appointment types, class timetables, sizes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    """A weekly group class: the origin booking plus `repeats` occurrences."""

    kind: str
    practitioner: int
    weekday: int
    time: tuple[int, int]
    weeks_back: int
    repeats: int
    max_attendees: int | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Clinic:
    """What one demo account holds."""

    name: str
    site: str
    age_days: int
    practitioners: tuple[tuple[str, str, str, str, bool], ...]
    kinds: tuple[tuple[str, int, int, bool, bool], ...]
    patients: int
    series: tuple[Series, ...]
    individuals: int
    extras: bool


MAIN = Clinic(
    name="Harbourside Physio",
    site="harbourside-physio.example.com",
    age_days=210,
    practitioners=(
        ("Dr", "Amelia", "Hart", "Dr Amelia Hart", False),
        ("Mr", "Tomás", "Nguyen", "Tomás Nguyen", False),
        ("Ms", "Priya", "Raman", "Priya Raman (Physiotherapist)", False),
        ("Ms", "Grace", "O'Connell", "Grace O'Connell", False),
    ),
    kinds=(
        ("Clinical Pilates Class", 60, 8, False, False),
        ("Hydrotherapy Group", 45, 6, False, False),
        ("Initial Consultation", 45, 1, False, False),
        ("Standard Consultation", 30, 1, False, False),
        ("Telehealth Review", 30, 1, True, False),
        ("Back Care Workshop", 90, 12, False, True),
    ),
    patients=300,
    series=(
        Series("Clinical Pilates Class", 0, 0, (7, 0), 4, 7),
        Series("Clinical Pilates Class", 2, 2, (18, 0), 5, 7, notes="Evening class."),
        Series("Clinical Pilates Class", 1, 5, (9, 30), 3, 7, 6, "Small room: six reformers."),
        Series("Hydrotherapy Group", 3, 3, (10, 0), 4, 5, notes="Hospital pool, lane 3."),
    ),
    individuals=70,
    extras=True,
)
SECOND = Clinic(
    name="Northside Pilates",
    site="northside-pilates.example.com",
    age_days=120,
    practitioners=(
        ("Ms", "Hannah", "Kowalski", "Hannah Kowalski", False),
        ("Mr", "Kenji", "Tanaka", "Kenji Tanaka", False),
        ("Ms", "Ivy", "Mensah", "Ivy Mensah", False),
        ("Mr", "Callum", "Fitzgerald", "Callum Fitzgerald", True),
    ),
    kinds=(
        ("Reformer Pilates Class", 55, 10, False, False),
        ("Mat Pilates Class", 45, 12, False, False),
        ("Private Reformer Session", 55, 1, False, False),
        ("Pilates Assessment", 60, 1, False, False),
    ),
    patients=60,
    series=(
        Series("Reformer Pilates Class", 0, 1, (6, 30), 3, 6),
        Series("Mat Pilates Class", 2, 3, (17, 30), 2, 6, notes="Bring a mat and water."),
    ),
    individuals=15,
    extras=False,
)
