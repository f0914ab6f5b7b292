"""What an import did: counts per resource kind, and one line per rejected record.

Lines name the file, the position in it, the record's id and the reason; never a value
from the record (names, emails and notes are patient data).
"""

from __future__ import annotations

from dataclasses import dataclass, field

STANDINS = "attendees (made from appointments)"
ORDER = (
    "files",
    "practitioners",
    "appointment_types",
    "patients",
    "patient_cases",
    "group_appointments",
    "individual_appointments",
    "bookings",
    "unavailable_blocks",
    "attendees",
    STANDINS,
)
COLUMNS = ("new", "updated", "unchanged", "rejected", "skipped")


@dataclass
class Tally:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class Report:
    tallies: dict[str, Tally] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def tally(self, kind: str) -> Tally:
        return self.tallies.setdefault(kind, Tally())

    def reject(self, kind: str, label: str, reason: str) -> None:
        self.tally(kind).rejected += 1
        self.problems.append(f"{label}: {reason}")

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tallies.values())

    def total(self, outcome: str) -> int:
        return sum(int(getattr(t, outcome)) for t in self.tallies.values())

    def summary(self) -> list[str]:
        """A table: one line per kind seen, a column per outcome."""
        width = max(len(k) for k in ORDER)
        lines = [f"{'':<{width}}" + "".join(f"{c:>11}" for c in COLUMNS)]
        for kind in ORDER:
            if kind in self.tallies:
                counts = (getattr(self.tallies[kind], c) for c in COLUMNS)
                lines.append(f"{kind:<{width}}" + "".join(f"{n:>11}" for n in counts))
        lines.append(f"{'total':<{width}}" + "".join(f"{self.total(c):>11}" for c in COLUMNS))
        return lines
