"""The frontend's codegen round trip: graphql-codegen's client preset over the committed SDL and
graphql_schema/operations/, then tsc over the generated types and a typed usage file.

A schema change that breaks those operations fails here: a field they use that is renamed
or removed fails codegen's validation, and a type change (a field becoming nullable) fails
tsc where the frontend code reads it. These tests do not use the database, so they run once.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from app.documents import TrustedDocuments
from tests.frontend_tools import (
    OPERATIONS,
    SCHEMA,
    codegen,
    copy_project,
    generated,
    output,
    require,
    tsc,
)

OPERATION = re.compile(r"\b(query|mutation|subscription)\s+(\w+)\s*[({]")


def operation_names(text: str) -> set[str]:
    return {m.group(2) for m in OPERATION.finditer(text)}


def test_codegen_output_type_checks() -> None:
    out = generated()
    assert {p.name for p in out.iterdir()} >= {
        "graphql.ts",
        "gql.ts",
        "fragment-masking.ts",
        "index.ts",
        "persisted-documents.json",
    }
    require(tsc(), "tsc --noEmit over the generated types and src/")

    # One manifest entry per operation, keyed by the SHA-256 of the document it holds.
    manifest_path = out / "persisted-documents.json"
    manifest: dict[str, str] = json.loads(manifest_path.read_text(encoding="utf-8"))
    written = set().union(*(operation_names(p.read_text()) for p in OPERATIONS.glob("*.graphql")))
    assert written >= {
        "AttendeeList",
        "BookingWithAttendees",
        "CreateAttendee",
        "CancelAttendee",
        "PatientSearch",
    }
    assert set().union(*(operation_names(doc) for doc in manifest.values())) == written
    assert len(manifest) == len(written)
    for key, document in manifest.items():
        assert key == "sha256:" + hashlib.sha256(document.encode()).hexdigest()

    # The server loads the manifest as it is (PERSISTED_DOCUMENTS_PATH).
    trusted = TrustedDocuments.load(str(manifest_path), only=True)
    assert len(trusted.documents) == len(written)


def change_field(sdl: str, type_name: str, old: str, new: str) -> str:
    """The SDL with one field line of one object type replaced."""
    start = sdl.index(f"\ntype {type_name} ")
    end = sdl.index("\n}", start)
    block = sdl[start:end]
    assert f"\n  {old}\n" in block, f"{type_name} has no `{old}` line"
    return sdl[:start] + block.replace(f"\n  {old}\n", f"\n  {new}\n", 1) + sdl[end:]


@pytest.mark.parametrize(
    ("type_name", "old", "new", "failing_step", "expected"),
    [
        pytest.param("Attendee", "arrived: Boolean", "arrived: Boolean", None, "", id="unchanged"),
        pytest.param(
            "Attendee",
            "arrived: Boolean",
            "hasArrived: Boolean",
            "codegen",
            'Cannot query field "arrived" on type "Attendee"',
            id="renamed-field",
        ),
        pytest.param(
            "Patient",
            "firstName: String!",
            "firstName: String",
            "tsc",
            "src/attendees.ts",
            id="field-becomes-nullable",
        ),
    ],
)
def test_breaking_schema_change_fails_the_check(
    tmp_path: Path,
    type_name: str,
    old: str,
    new: str,
    failing_step: str | None,
    expected: str,
) -> None:
    """A copy of the SDL, the operations and the npm project, with one field changed."""
    project = copy_project(tmp_path, change_field(SCHEMA.read_text(), type_name, old, new))

    generate = codegen(project)
    if failing_step == "codegen":
        assert generate.returncode != 0, output(generate)
        assert expected in generate.stdout + generate.stderr, output(generate)
        return
    require(generate, "graphql-codegen on the copy")

    check = tsc(project)
    if failing_step == "tsc":
        assert check.returncode != 0, output(check)
        assert expected in check.stdout + check.stderr, output(check)
        assert "null" in check.stdout, output(check)
        return
    require(check, "tsc on the unchanged copy")
