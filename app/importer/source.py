"""Reading an export: JSON files, what each record is, and the order they are written in.

A file holds a list envelope (`{"attendees": [...], "total_entries": N, "links": {...}}`),
a single object, or a bare JSON array of objects. An envelope's key names the kind of its
records; a single object's kind comes from its `links.self` URL, else from its fields.
Items of `/bookings` (and of unknown origin) are told apart by their fields (reference
§3.1): a patient link makes an individual appointment, `max_attendees` a group one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.importer.values import Reject, self_kind, to_id

KINDS = (
    "practitioners",
    "appointment_types",
    "patients",
    "patient_cases",
    "group_appointments",
    "individual_appointments",
    "attendees",
)
NOT_IMPORTED = "unavailable_blocks"
# The stages, in dependency order; both appointment kinds share one stage.
STAGES = (
    "practitioners",
    "appointment_types",
    "patients",
    "patient_cases",
    "bookings",
    "attendees",
)
_PATIENT_ONLY = ("date_of_birth", "patient_phone_numbers", "email", "sex", "medicare")
_PRACTITIONER_ONLY = ("display_name", "designation", "user", "active", "default_appointment_type")


class SourceError(Exception):
    """The path cannot be read at all (nothing was imported)."""


@dataclass
class Item:
    """One record and where it is: `kind` None when it cannot be told."""

    kind: str | None
    where: str
    record: Any

    @property
    def stage(self) -> str:
        if self.kind in ("group_appointments", "individual_appointments", NOT_IMPORTED, None):
            return "bookings"
        return str(self.kind)

    @property
    def label(self) -> str:
        """`file: position (id N)`: the id only when it is a valid id."""
        try:
            return f"{self.where} (id {to_id(self.record['id'])})"
        except (Reject, KeyError, TypeError):
            return self.where


@dataclass
class Source:
    stages: dict[str, list[Item]] = field(default_factory=lambda: {s: [] for s in STAGES})
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, why unreadable)
    notes: list[str] = field(default_factory=list)  # files that hold nothing we import


def _link_kinds(record: dict[str, Any]) -> Iterator[str]:
    for name in ("attendees", "conflicts", "repeated_from", "links"):
        link = record.get(name)
        target = link.get("links", link) if isinstance(link, dict) else None
        url = target.get("self") if isinstance(target, dict) else None
        if isinstance(url, str):
            yield from (k for k in (*KINDS, NOT_IMPORTED) if f"/{k}/" in url)


def booking_kind(record: dict[str, Any]) -> str | None:
    """group_appointments, individual_appointments, unavailable_blocks or None."""
    if record.get("patient") is not None:
        return "individual_appointments"
    if record.get("max_attendees") is not None:
        return "group_appointments"
    for kind in _link_kinds(record):
        if kind in ("group_appointments", "individual_appointments", NOT_IMPORTED):
            return kind
    if "starts_at" in record and "appointment_type" not in record:
        return NOT_IMPORTED
    return None


def detect(record: Any) -> str | None:
    """The kind of a single object, from its `links.self`, else from its fields."""
    if not isinstance(record, dict):
        return None
    kind = self_kind(record)
    if kind in KINDS or kind == NOT_IMPORTED:
        return kind
    if kind == "bookings" or "starts_at" in record:
        return booking_kind(record)
    if "booking" in record and "patient" in record:
        return "attendees"
    if "duration_in_minutes" in record:
        return "appointment_types"
    if "patient" in record and "name" in record:
        return "patient_cases"
    if "first_name" in record:
        if any(k in record for k in _PATIENT_ONLY):
            return "patients"
        if any(k in record for k in _PRACTITIONER_ONLY):
            return "practitioners"
    return None


def _envelope(data: dict[str, Any]) -> str | None:
    """The list key of a list envelope, or None for a single object."""
    lists = [k for k, v in data.items() if isinstance(v, list)]
    known = [k for k in lists if k in (*KINDS, "bookings", NOT_IMPORTED)]
    if known and "id" not in data:
        return known[0]
    if "total_entries" in data and len(lists) == 1:
        return lists[0]
    return None


def _items(name: str, data: Any, source: Source) -> None:
    if isinstance(data, list):
        records = [(f"{name}: [{i}]", r, detect(r)) for i, r in enumerate(data)]
    elif isinstance(data, dict) and (key := _envelope(data)) is not None:
        if key == "bookings":
            kind_of: Any = lambda r: booking_kind(r) if isinstance(r, dict) else None  # noqa: E731
        elif key in KINDS or key == NOT_IMPORTED:
            kind_of = lambda _r: key  # noqa: E731
        else:
            source.notes.append(f"{name}: skipped: {key} are not imported")
            return
        records = [(f"{name}: {key}[{i}]", r, kind_of(r)) for i, r in enumerate(data[key])]
    elif isinstance(data, dict):
        records = [(f"{name}: object", data, detect(data))]
    else:
        source.problems.append((name, "not a Cliniko object, list or list envelope"))
        return
    for where, record, kind in records:
        item = Item(kind, where, record)
        source.stages[item.stage].append(item)


def _files(path: Path) -> list[tuple[str, Path]]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        return [(p.relative_to(path).as_posix(), p) for p in files]
    if path.is_file():
        return [(path.name, path)]
    raise SourceError(f"{path} is not a file or a directory")


def load(path: Path) -> Source:
    """Every record under `path`, grouped by stage, in file order; in the appointments
    stage, origin bookings before the repeats that link to them."""
    source = Source()
    for name, file in _files(path):
        try:
            data = json.loads(file.read_bytes())
        except json.JSONDecodeError as error:
            source.problems.append(
                (name, f"not valid JSON (line {error.lineno}, column {error.colno})")
            )
            continue
        except ValueError:  # not UTF-8, or a number too long to read
            source.problems.append((name, "not valid JSON"))
            continue
        except OSError as error:
            source.problems.append((name, f"cannot be read ({error.strerror})"))
            continue
        _items(name, data, source)
    source.stages["bookings"].sort(
        key=lambda item: (
            isinstance(item.record, dict) and item.record.get("repeated_from") is not None
        )
    )
    return source
