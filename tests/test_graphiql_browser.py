"""GraphiQL in a real browser: headless Chromium (Debian's package) driven by playwright-core.

graphql_schema/codegen/browser/graphiql.mjs opens /graphql on the live server with every
request to another host aborted (no CDN), types the API key into the Headers editor, runs the
page's default query and waits for the result pane to show the attendees created here. The
screenshot lands in test-artifacts/ (graphiql.png for SQLite, graphiql-postgresql.png).
scripts/ensure-browser installs chromium with apt-get when it is missing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.factories import Factory
from tests.frontend_tools import ARTIFACTS, CODEGEN, chromium, node, npm_install


async def test_graphiql_runs_a_query_in_chromium(
    database_url: str, live_server: str, factory: Factory
) -> None:
    browser = await asyncio.to_thread(chromium)
    await asyncio.to_thread(npm_install)
    tenant = await factory.account("Browser Clinic")
    group = await factory.group(tenant)
    for first, last in [("Wilhelmina", "Graphiqlson"), ("Octavia", "Browserly")]:
        patient = await factory.patient(tenant, first_name=first, last_name=last)
        await factory.attendee(tenant, group, patient)

    ARTIFACTS.mkdir(exist_ok=True)
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    screenshot = ARTIFACTS / ("graphiql.png" if backend == "sqlite" else f"graphiql-{backend}.png")
    screenshot.unlink(missing_ok=True)
    report: dict[str, Any] = await asyncio.to_thread(
        node,
        CODEGEN / "browser" / "graphiql.mjs",
        {
            "url": live_server + "/graphql",
            "key": tenant.key,
            "expect": "Wilhelmina",
            "screenshot": str(screenshot),
            "executablePath": browser,
        },
    )

    assert report["ok"] is True, report
    # Every asset came from the gateway itself; nothing was asked of another host.
    assert report["blocked"] == [], report["blocked"]
    assert "/graphiql/graphiql.min.js" in report["requested"]
    # The only console errors are the 401s of GraphiQL's schema fetch before the key was typed.
    assert all("401" in e for e in report["consoleErrors"]), report["consoleErrors"]
    assert tenant.key in report["headersText"]
    assert "query FirstAttendees" in report["queryText"]
    result = report["result"]
    assert "errors" not in result, result
    assert report["showsExpected"], "the result pane does not show Wilhelmina"
    attendees = result["data"]["attendees"]
    assert attendees["totalCount"] == 2
    assert {a["patient"]["firstName"] for a in attendees["nodes"]} == {"Wilhelmina", "Octavia"}
    assert screenshot.stat().st_size > 10_000
