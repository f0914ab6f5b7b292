"""Graceful shutdown and JSON logs of a real `serve` process (§8), on both databases."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time

import httpx

from tests.factories import Factory
from tests.gateway_process import gateway
from tests.test_faults import CREATE, holding_lock


async def test_sigterm_lets_the_request_in_flight_finish_and_refuses_new_ones(
    database_url: str, factory: Factory
) -> None:
    tenant = await factory.account()
    slow = {"REQUEST_TIMEOUT_SECONDS": "30", "DB_STATEMENT_TIMEOUT_SECONDS": "30"}
    with gateway(database_url, SHUTDOWN_GRACE_SECONDS="10", **slow) as served:
        port = int(served.url.split(":")[2].split("/")[0])
        variables = {"input": {"firstName": "Otto", "lastName": "Late"}}
        async with holding_lock(database_url, "patient"):
            # The mutation waits for the lock another client holds: a request in flight.
            in_flight = asyncio.create_task(
                asyncio.to_thread(
                    httpx.post,
                    served.url,
                    json={"query": CREATE, "variables": variables},
                    headers={"Authorization": f"Bearer {tenant.key}"},
                    timeout=30,
                )
            )
            await asyncio.sleep(1.0)
            served.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            refused = await asyncio.to_thread(connects, port)
            assert not in_flight.done()
        # The lock is released: the request finishes, then the process exits.
        answer = await in_flight
        stopped = time.monotonic()
        code = await asyncio.to_thread(served.process.wait, 10)
        waited = time.monotonic() - stopped
        log = served.log()

    assert not refused, "a new connection was accepted after SIGTERM"
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["createPatient"]["userErrors"] == []
    # uvicorn re-raises the signal once it has shut down, so that the exit status says so.
    assert code in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in log
    assert waited < 5


def connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


async def test_log_format_json_writes_the_request_line_as_one_object(
    database_url: str, factory: Factory
) -> None:
    tenant = await factory.account()
    with gateway(database_url, LOG_FORMAT="json") as served:
        await asyncio.to_thread(
            httpx.post,
            served.url,
            json={"query": "query Hello { __typename }"},
            headers={"Authorization": f"Bearer {tenant.key}"},
        )
        await asyncio.sleep(0.2)
        lines = [json.loads(line) for line in served.log().splitlines() if line.startswith("{")]

    [request] = [line for line in lines if line["logger"] == "app.requests"]
    assert request["method"] == "POST"
    assert request["path"] == "/graphql"
    assert request["status"] == 200
    assert request["operation"] == "Hello"
    assert request["account"] == tenant.id
    assert isinstance(request["duration_ms"], float)
    assert {"time", "level", "process", "statements", "error_ids"} <= set(request)
    assert all(line.get("logger") for line in lines)  # every line is JSON, not only this one
