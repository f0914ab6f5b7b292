"""createPatient, updatePatient, archivePatient, unarchivePatient (contract §4).

Every refused mutation is checked the same way (`Desk.refuse`): one user error with its
code and input path, no top-level error, and not a single row changed in the account.
`Desk` serves the catalog mutation tests too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import Factory, T, Tenant, gid

MISSING = 2**62
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def mutation(name: str, input_type: str, entity: str, fields: str) -> str:
    """A mutation document: its payload as `result`, the changed object as `node`."""
    return (
        f"mutation($input: {input_type}!) {{ result: {name}(input: $input) "
        f"{{ node: {entity} {{ {fields} }} userErrors {{ field message code }} clientMutationId }} }}"
    )


PATIENT = """
id databaseId firstName lastName preferredFirstName title dateOfBirth email
phoneNumbers { number phoneType } archivedAt createdAt updatedAt
"""
CREATE = mutation("createPatient", "CreatePatientInput", "patient", PATIENT)
UPDATE = mutation("updatePatient", "UpdatePatientInput", "patient", PATIENT)
ARCHIVE = mutation("archivePatient", "ArchivePatientInput", "patient", PATIENT)
UNARCHIVE = mutation("unarchivePatient", "UnarchivePatientInput", "patient", PATIENT)
READ = f"query($id: ID!) {{ node: patient(id: $id) {{ {PATIENT} }} }}"
NAMES = {"first_name": "Grace", "last_name": "Hopper"}


def ok(payload: dict[str, Any]) -> Any:
    """The changed object of a successful mutation."""
    assert payload["userErrors"] == [], payload["userErrors"]
    assert payload["node"] is not None
    return payload["node"]


@dataclass
class Desk:
    """One test's account and API client; `tables` are what a refused mutation must leave."""

    factory: Factory
    tenant: Tenant
    api: Any
    tables: tuple[str, ...]

    async def mutate(self, document: str, **fields: Any) -> dict[str, Any]:
        """A mutation's payload; the request itself must succeed (no top-level error)."""
        return (await self.api.query(document, {"input": fields}))["result"]  # type: ignore[no-any-return]

    async def succeed(self, document: str, **fields: Any) -> Any:
        return ok(await self.mutate(document, **fields))

    async def refuse(self, document: str, code: str, path: str, **fields: Any) -> str:
        """Send a mutation that must be refused with `code` at `input.<path>`; nothing in
        the account may change. Returns the message."""
        before = await self.rows()
        payload = await self.mutate(document, **fields)
        errors = payload["userErrors"]
        assert [(e["code"], ".".join(e["field"])) for e in errors] == [(code, f"input.{path}")]
        assert payload["node"] is None
        assert await self.rows() == before
        return errors[0]["message"]  # type: ignore[no-any-return]

    async def rows(self) -> list[tuple[Any, ...]]:
        """Every row of the account in `tables`, as stored."""
        async with self.factory.db.read.connect() as conn:
            return [
                tuple(row)
                for name in self.tables
                for row in await conn.execute(
                    sa.select(T[name])
                    .where(T[name].c.account_id == self.tenant.id)
                    .order_by(T[name].c.id)
                )
            ]

    async def read(self, document: str, row_id: int | str) -> Any:
        return (await self.api.query(document, {"id": str(row_id)}))["node"]


async def open_desk(factory: Factory, client_for: Any, *tables: str) -> Desk:
    tenant = await factory.account()
    return Desk(factory, tenant, client_for(tenant.key), tables)


@pytest.fixture
async def desk(factory: Factory, client_for: Any) -> Desk:
    return await open_desk(factory, client_for, "patient")


async def old_patient(desk: Desk, **values: Any) -> int:
    """A patient last changed long ago, so that a change shows in updatedAt."""
    return await desk.factory.patient(
        desk.tenant, created_at=LONG_AGO, updated_at=LONG_AGO, **values
    )


def today() -> date:
    return datetime.now(UTC).date()


# createPatient


async def test_create_patient_stores_every_field(desk):
    started = datetime.now(UTC)

    payload = await desk.mutate(
        CREATE,
        firstName="Grace",
        lastName="Hopper",
        preferredFirstName="Amazing Grace",
        title="Rear Admiral",
        dateOfBirth="1906-12-09",
        email="grace@example.com",
        phoneNumbers=[
            {"number": "+61 400 000 000", "phoneType": "MOBILE"},
            {"number": "03 9000 0000"},
        ],
        clientMutationId="new-1",
    )

    patient = ok(payload)
    assert payload["clientMutationId"] == "new-1"
    assert patient["id"] == gid("Patient", int(patient["databaseId"]))
    assert {k: patient[k] for k in ("firstName", "lastName", "preferredFirstName", "title")} == {
        "firstName": "Grace",
        "lastName": "Hopper",
        "preferredFirstName": "Amazing Grace",
        "title": "Rear Admiral",
    }
    assert (patient["dateOfBirth"], patient["email"]) == ("1906-12-09", "grace@example.com")
    assert patient["phoneNumbers"] == [
        {"number": "+61 400 000 000", "phoneType": "MOBILE"},
        {"number": "03 9000 0000", "phoneType": None},
    ]
    assert patient["archivedAt"] is None
    assert started <= datetime.fromisoformat(patient["createdAt"]) <= datetime.now(UTC)
    assert patient["updatedAt"] == patient["createdAt"]
    assert await desk.read(READ, patient["id"]) == patient


async def test_create_patient_needs_only_the_names(desk):
    payload = await desk.mutate(CREATE, firstName="Grace", lastName="Hopper")

    patient = ok(payload)
    assert payload["clientMutationId"] is None
    optional = ("preferredFirstName", "title", "dateOfBirth", "email", "archivedAt")
    assert [patient[k] for k in optional] == [None] * len(optional)
    assert patient["phoneNumbers"] == []


async def test_create_patient_stores_the_patient_in_the_callers_account(desk, factory, client_for):
    other = await open_desk(factory, client_for, "patient")

    patient = await desk.succeed(CREATE, firstName="Grace", lastName="Hopper")

    assert len(await desk.rows()) == 1
    assert await other.rows() == []
    assert await other.read(READ, patient["id"]) is None


@pytest.mark.parametrize("field", ["firstName", "lastName"])
@pytest.mark.parametrize("blank", ["", "   "])
async def test_create_patient_requires_both_names(desk, field, blank):
    fields = {"firstName": "Grace", "lastName": "Hopper", field: blank}

    message = await desk.refuse(CREATE, "REQUIRED", field, **fields)

    assert field in message


@pytest.mark.parametrize("field", ["firstName", "lastName", "preferredFirstName", "title"])
async def test_names_and_title_longer_than_255_characters_are_too_long(desk, field):
    names = {"firstName": "Grace", "lastName": "Hopper"}
    patient = await desk.succeed(CREATE, **names)

    await desk.refuse(CREATE, "TOO_LONG", field, **{**names, field: "x" * 256})
    await desk.refuse(UPDATE, "TOO_LONG", field, id=patient["id"], **{field: "x" * 256})

    created = await desk.succeed(CREATE, **{**names, field: "y" * 255})
    updated = await desk.succeed(UPDATE, id=patient["id"], **{field: "z" * 255})
    assert (created[field], updated[field]) == ("y" * 255, "z" * 255)


@pytest.mark.parametrize(
    "email", ["pat", "pat@", "@example.com", "pat@example", "pat smith@example.com"]
)
async def test_a_malformed_email_is_invalid(desk, email):
    patient = await desk.succeed(CREATE, firstName="Pat", lastName="Smith")

    await desk.refuse(CREATE, "INVALID", "email", firstName="Pat", lastName="Smith", email=email)
    await desk.refuse(UPDATE, "INVALID", "email", id=patient["id"], email=email)


async def test_an_email_longer_than_255_characters_is_too_long(desk):
    local = "p" * (255 - len("@example.com"))

    await desk.refuse(
        CREATE, "TOO_LONG", "email", firstName="P", lastName="S", email=f"{local}x@example.com"
    )

    patient = await desk.succeed(CREATE, firstName="P", lastName="S", email=f"{local}@example.com")
    assert len(patient["email"]) == 255


async def test_a_date_of_birth_in_the_future_is_invalid(desk):
    patient = await desk.succeed(CREATE, firstName="Pat", lastName="Smith")
    future = (today() + timedelta(days=2)).isoformat()

    await desk.refuse(
        CREATE, "INVALID", "dateOfBirth", firstName="Pat", lastName="Smith", dateOfBirth=future
    )
    await desk.refuse(UPDATE, "INVALID", "dateOfBirth", id=patient["id"], dateOfBirth=future)

    born_today = await desk.succeed(UPDATE, id=patient["id"], dateOfBirth=today().isoformat())
    assert born_today["dateOfBirth"] == today().isoformat()


async def test_at_most_ten_phone_numbers(desk):
    ten = [{"number": f"0400 000 00{n}", "phoneType": "HOME"} for n in range(10)]
    patient = await desk.succeed(CREATE, firstName="Pat", lastName="Smith", phoneNumbers=ten)
    eleven = [*ten, {"number": "0400 000 010"}]
    message = "input: at most 10 phone numbers are allowed in `phoneNumbers`."

    # Counted before the input is converted (§10): a request error, not a user error.
    for document, fields in (
        (CREATE, {"firstName": "Pat", "lastName": "Smith"}),
        (UPDATE, {"id": patient["id"]}),
    ):
        before = await desk.rows()
        body = (await desk.api.post(document, {"input": {**fields, "phoneNumbers": eleven}})).json()
        assert body["data"] is None
        assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
            (message, "BAD_USER_INPUT")
        ]
        assert await desk.rows() == before

    assert len(patient["phoneNumbers"]) == 10


@pytest.mark.parametrize(
    ("number", "code"), [("", "REQUIRED"), (" ", "REQUIRED"), ("1" * 51, "TOO_LONG")]
)
async def test_a_phone_number_is_required_and_at_most_50_characters(desk, number, code):
    numbers = [{"number": "0400 000 000"}, {"number": number, "phoneType": "WORK"}]
    patient = await desk.succeed(CREATE, firstName="Pat", lastName="Smith")

    await desk.refuse(
        CREATE, code, "phoneNumbers.1.number", firstName="P", lastName="S", phoneNumbers=numbers
    )
    await desk.refuse(UPDATE, code, "phoneNumbers.1.number", id=patient["id"], phoneNumbers=numbers)

    longest = await desk.succeed(UPDATE, id=patient["id"], phoneNumbers=[{"number": "1" * 50}])
    assert longest["phoneNumbers"] == [{"number": "1" * 50, "phoneType": None}]


async def test_every_phone_type_is_stored_as_cliniko_names_it(desk):
    kinds = ["FAX", "HOME", "MOBILE", "OTHER", "WORK"]
    numbers = [{"number": f"0{n}", "phoneType": kind} for n, kind in enumerate(kinds)]

    patient = await desk.succeed(CREATE, firstName="P", lastName="S", phoneNumbers=numbers)

    async with desk.factory.db.read.connect() as conn:
        stored = (
            await conn.execute(
                sa.select(T["patient"].c.patient_phone_numbers).where(
                    T["patient"].c.id == int(patient["databaseId"])
                )
            )
        ).scalar_one()
    assert stored == [
        {"number": f"0{n}", "phone_type": kind.title()} for n, kind in enumerate(kinds)
    ]
    assert patient["phoneNumbers"] == numbers


# updatePatient


async def test_update_patient_changes_the_given_fields_and_keeps_the_omitted_ones(desk):
    patient_id = await old_patient(
        desk, title="Ms", preferred_first_name="Patty", date_of_birth=date(1990, 5, 17)
    )
    before = await desk.read(READ, patient_id)

    payload = await desk.mutate(
        UPDATE,
        id=str(patient_id),
        lastName="Jones",
        email="patty@example.com",
        clientMutationId="u1",
    )

    patient = ok(payload)
    assert payload["clientMutationId"] == "u1"
    assert (patient["lastName"], patient["email"]) == ("Jones", "patty@example.com")
    kept = ("id", "firstName", "preferredFirstName", "title", "dateOfBirth", "phoneNumbers")
    assert {k: patient[k] for k in kept} == {k: before[k] for k in kept}
    assert await desk.read(READ, patient_id) == patient


async def test_update_patient_clears_the_fields_given_as_null(desk):
    patient_id = await old_patient(
        desk,
        title="Ms",
        preferred_first_name="Patty",
        date_of_birth=date(1990, 5, 17),
        patient_phone_numbers=[{"number": "0400 000 000", "phone_type": "Mobile"}],
    )
    cleared = ("preferredFirstName", "title", "dateOfBirth", "email", "phoneNumbers")

    patient = await desk.succeed(UPDATE, id=gid("Patient", patient_id), **dict.fromkeys(cleared))

    assert [patient[k] for k in cleared] == [None, None, None, None, []]
    assert (patient["firstName"], patient["lastName"]) == ("Pat", "Example")


async def test_update_patient_replaces_the_phone_numbers(desk):
    patient_id = await old_patient(
        desk, patient_phone_numbers=[{"number": "0400 000 000", "phone_type": "Mobile"}]
    )

    patient = await desk.succeed(
        UPDATE, id=str(patient_id), phoneNumbers=[{"number": "03 9000 0000", "phoneType": "WORK"}]
    )

    assert patient["phoneNumbers"] == [{"number": "03 9000 0000", "phoneType": "WORK"}]


@pytest.mark.parametrize("field", ["firstName", "lastName"])
@pytest.mark.parametrize("value", [None, "", "  "])
async def test_update_patient_cannot_clear_a_name(desk, field, value):
    patient_id = await old_patient(desk)

    await desk.refuse(UPDATE, "REQUIRED", field, id=str(patient_id), **{field: value})

    assert (await desk.read(READ, patient_id))[field] in {"Pat", "Example"}


async def test_update_patient_moves_updated_at_but_never_created_at(desk):
    patient_id = await old_patient(desk)
    started = datetime.now(UTC)

    patient = await desk.succeed(UPDATE, id=str(patient_id), firstName="Patricia")

    assert patient["createdAt"] == "2020-01-01T00:00:00Z"
    assert started <= datetime.fromisoformat(patient["updatedAt"]) <= datetime.now(UTC)


async def test_update_patient_with_nothing_to_change_changes_nothing(desk):
    patient_id = await old_patient(desk)
    before = await desk.rows()

    patient = await desk.succeed(UPDATE, id=str(patient_id), clientMutationId="noop")

    assert patient["updatedAt"] == "2020-01-01T00:00:00Z"
    assert await desk.rows() == before


async def test_a_refused_update_changes_no_field_at_all(desk):
    patient_id = await old_patient(desk)

    await desk.refuse(
        UPDATE,
        "INVALID",
        "email",
        id=str(patient_id),
        firstName="Patricia",
        title="Dr",
        email="not an email",
    )

    patient = await desk.read(READ, patient_id)
    assert (patient["firstName"], patient["title"], patient["email"]) == (
        "Pat",
        None,
        "pat@example.com",
    )


# archivePatient, unarchivePatient


async def test_archive_patient_sets_archived_at_once(desk):
    patient_id = await old_patient(desk)
    started = datetime.now(UTC)

    first = await desk.succeed(ARCHIVE, id=gid("Patient", patient_id), clientMutationId="a1")
    again = await desk.succeed(ARCHIVE, id=str(patient_id))

    assert started <= datetime.fromisoformat(first["archivedAt"]) <= datetime.now(UTC)
    assert first["updatedAt"] == first["archivedAt"]
    assert first["createdAt"] == "2020-01-01T00:00:00Z"
    assert again == first
    assert await desk.read(READ, patient_id) == first


async def test_an_archived_patient_can_still_be_updated(desk):
    patient_id = await old_patient(desk, archived_at=LONG_AGO)

    patient = await desk.succeed(UPDATE, id=str(patient_id), title="Dr")

    assert (patient["title"], patient["archivedAt"]) == ("Dr", "2020-01-01T00:00:00Z")


async def test_unarchive_patient_clears_archived_at(desk):
    patient_id = await old_patient(desk, archived_at=LONG_AGO)
    started = datetime.now(UTC)

    patient = await desk.succeed(UNARCHIVE, id=gid("Patient", patient_id))

    assert patient["archivedAt"] is None
    assert started <= datetime.fromisoformat(patient["updatedAt"]) <= datetime.now(UTC)
    assert patient["createdAt"] == "2020-01-01T00:00:00Z"
    assert await desk.read(READ, patient_id) == patient


async def test_unarchive_patient_leaves_an_active_patient_as_it_is(desk):
    patient_id = await old_patient(desk)
    before = await desk.rows()

    patient = await desk.succeed(UNARCHIVE, id=str(patient_id))

    assert (patient["archivedAt"], patient["updatedAt"]) == (None, "2020-01-01T00:00:00Z")
    assert await desk.rows() == before


# NOT_FOUND and INVALID ids


async def test_unknown_deleted_and_other_accounts_patients_are_not_found_alike(
    desk, factory, client_for
):
    other = await open_desk(factory, client_for, "patient")
    theirs = await factory.patient(other.tenant)
    deleted = await desk.factory.patient(desk.tenant, deleted_at=LONG_AGO)
    theirs_before = await other.rows()

    messages = set()
    for document in (UPDATE, ARCHIVE, UNARCHIVE):
        extra = {"firstName": "Mallory"} if document is UPDATE else {}
        for patient_id in (gid("Patient", theirs), str(theirs), str(MISSING), str(deleted)):
            messages.add(await desk.refuse(document, "NOT_FOUND", "id", id=patient_id, **extra))

    assert len(messages) == 1
    assert await other.rows() == theirs_before


@pytest.mark.parametrize("document", [UPDATE, ARCHIVE, UNARCHIVE])
async def test_an_id_of_another_type_or_no_id_at_all_is_invalid(desk, document):
    patient_id = await old_patient(desk)

    for wrong in (gid("Practitioner", desk.tenant.practitioner_id), gid("Patient", 0), "nope"):
        await desk.refuse(document, "INVALID", "id", id=wrong)

    assert (await desk.read(READ, patient_id))["archivedAt"] is None
