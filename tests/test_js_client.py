"""A real JavaScript client on trusted documents: graphql-request in Node, typed by graphql-codegen,
against a live server that runs only the documents in the generated manifest.

graphql_schema/codegen/src/client.ts (compiled by tsc) sends every operation as
`{"documentId": "sha256:<hash>", "variables": ...}`; the server started here loads
generated/persisted-documents.json with TRUSTED_DOCUMENTS_ONLY=true. Runs on both databases.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.factories import Factory
from tests.frontend_tools import compiled, node, server


async def test_graphql_request_with_trusted_documents(database_url: str, factory: Factory) -> None:
    tenant = await factory.account("JS Client Clinic")
    names = {}
    for first, last in [
        ("Amara", "Okafor"),
        ("Bruno", "Silva"),
        ("Chen", "Wei"),
        ("Dana", "Novak"),
    ]:
        names[first] = await factory.patient(tenant, first_name=first, last_name=last)
    group = await factory.group(tenant, max_attendees=5)
    await factory.attendee(tenant, group, names["Amara"], arrived=True)
    await factory.attendee(tenant, group, names["Bruno"])
    await factory.individual(tenant, names["Chen"])

    dist = await asyncio.to_thread(compiled)
    manifest = dist.parent / "generated" / "persisted-documents.json"
    with server(
        database_url,
        PERSISTED_DOCUMENTS_PATH=str(manifest),
        TRUSTED_DOCUMENTS_ONLY="true",
    ) as url:
        report: dict[str, Any] = await asyncio.to_thread(
            node,
            dist / "src" / "client.js",
            {
                "url": url,
                "key": tenant.key,
                "bookingId": str(group),
                "patientId": str(names["Dana"]),
                "pageSize": 2,
            },
        )

    # The list, two pages of two and one, newest first, with the typed view of each row.
    assert set(report["documentIds"]) >= {"AttendeeList", "CreateAttendee", "CancelAttendee"}
    assert report["list"]["totalCount"] == 3
    pages = report["list"]["pages"]
    assert [len(p) for p in pages] == [2, 1]
    rows = [row for page in pages for row in page]
    assert [r["patient"] for r in rows] == ["Chen Wei", "Bruno Silva", "Amara Okafor"]
    assert [r["kind"] for r in rows] == ["individual", "group", "group"]
    assert [r["arrived"] for r in rows] == ["unknown", "unknown", "yes"]
    assert rows[1]["booking"] == "Pilates Class (3 of 5 seats free)"
    assert rows[0]["booking"] == "Pilates Class with Dr Ada Lovelace"

    # createAttendee by documentId; the same patient again is a typed user error.
    created = report["created"]
    assert created["clientMutationId"] == "js-client"
    assert created["outcome"]["ok"] is True, created
    assert created["outcome"]["value"]["patient"] == "Dana Novak"
    assert created["outcome"]["value"]["booking"] == "Pilates Class (2 of 5 seats free)"
    assert report["createdAgain"] == {
        "ok": False,
        "errors": [
            {
                "code": "ALREADY_ATTENDING",
                "field": "input.patientId",
                "message": "The patient is already booked in.",
            }
        ],
    }
    assert report["cancelled"]["ok"] is True, report["cancelled"]
    assert report["cancelled"]["value"]["reason"] == "SICK"
    assert report["cancelled"]["value"]["label"] == "Sick"
    assert report["cancelled"]["value"]["seatsFree"] == 3

    # Anything else is refused before it is parsed.
    assert report["adHoc"]["status"] == 400
    assert report["adHoc"]["messages"] == [
        "This server only runs trusted documents; send a documentId."
    ]
    assert report["unknownId"]["status"] == 400
    assert report["unknownId"]["messages"][0].startswith("Unknown documentId")
