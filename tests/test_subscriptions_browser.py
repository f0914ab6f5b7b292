"""GraphiQL receiving a live event in headless Chromium: the served page runs a
subscription over WebSocket (its fetcher has the subscription URL, the Headers editor's key
goes into connection_init), and a booking made over HTTP shows up in its result pane.
The screenshot lands in test-artifacts/graphiql-subscription.png (-postgresql for PG)."""

from __future__ import annotations

import asyncio

from tests.factories import Factory
from tests.frontend_tools import ARTIFACTS, CODEGEN, chromium, node, npm_install
from tests.gateway_process import gateway

SUBSCRIPTION = """subscription Desk {
  attendeeEvents { eventId kind attendee { patient { firstName } } }
}"""
JOIN = """mutation { createAttendee(input: {bookingId: "%s", patientId: "%s"}) {
  userErrors { code } } }"""


async def test_graphiql_shows_a_live_event(database_url: str, factory: Factory) -> None:
    tenant = await factory.account("Live Desk Clinic")
    booking = await factory.group(tenant)
    patient = await factory.patient(tenant, first_name="Wilhelmina")
    backend = "" if database_url.startswith("sqlite") else "-postgresql"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"graphiql-subscription{backend}.png"
    npm_install()
    with gateway(database_url) as served:
        report = await asyncio.to_thread(
            node,
            CODEGEN / "browser" / "graphiql-live.mjs",
            {
                "url": served.url,
                "key": tenant.key,
                "query": SUBSCRIPTION,
                "mutation": JOIN % (booking, patient),
                "expect": "Wilhelmina",
                "screenshot": str(screenshot),
                "executablePath": chromium(),
            },
        )
    assert report["ok"] is True, report
    assert report["sockets"] == [served.url.replace("http://", "ws://")]
    assert report["mutation"] == {"data": {"createAttendee": {"userErrors": []}}}
    event = report["result"]["data"]["attendeeEvents"]
    assert event["kind"] == "CREATED"
    assert event["attendee"]["patient"]["firstName"] == "Wilhelmina"
    assert "Wilhelmina" in report["shown"]  # what a person sees
    assert report["latencyMs"] < 1000
    assert report["consoleErrors"] == []
