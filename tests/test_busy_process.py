"""No request can hold a server process (§10): while one of the most expensive small
documents we know of is being answered, another tenant's request on the same process is
answered within a second. A real `serve` process with one worker, on both databases."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.factories import Factory
from tests.gateway_process import gateway


def doubling_fragments(n: int, *, inline: bool = False) -> str:
    """n fragments, each spreading the previous one twice (~40 bytes a fragment): walked
    naively, the document has 2^n fields."""
    lines = ["fragment F0 on Attendee { id arrived }"]
    for i in range(1, n):
        spread = f"... on Attendee {{ ...F{i - 1} }}" if inline else f"...F{i - 1}"
        lines.append(f"fragment F{i} on Attendee {{ {spread} {spread} }}")
    operation = f"query Bomb {{ attendees(first: 1) {{ nodes {{ ...F{n - 1} }} }} }}"
    return "\n".join([operation, *lines])


def wide_siblings(n: int) -> str:
    """One field asked for n times side by side: pairwise overlap checks are n^2/2."""
    return "query Wide { attendees(first: 1) { nodes { " + "id " * n + "} } }"


def wide_fragments(n: int) -> str:
    """n fragments spread side by side on one field, each with the same fields."""
    spreads = " ".join(f"...W{i}" for i in range(n))
    fragments = "\n".join(f"fragment W{i} on Attendee {{ id arrived }}" for i in range(n))
    return f"query Spread {{ attendees(first: 1) {{ nodes {{ {spreads} }} }} }}\n{fragments}"


BOMBS = {
    "doubling-fragments": doubling_fragments(40),
    "doubling-inline-fragments": doubling_fragments(40, inline=True),
    "wide-siblings": wide_siblings(4_500),
    "wide-fragments": wide_fragments(600),
}
OTHER = "query Other { attendees(first: 1) { nodes { id } } }"


def post(url: str, key: str, query: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(
        url, json={"query": query}, headers={"Authorization": f"Bearer {key}"}, timeout=120
    )
    return response, time.monotonic() - started


@pytest.mark.parametrize("name", BOMBS)
async def test_a_pathological_document_does_not_hold_the_process(
    database_url: str, factory: Factory, name: str
) -> None:
    attacker, neighbour = await factory.account(), await factory.account()
    with gateway(database_url) as served:
        post(served.url, neighbour.key, OTHER)  # warm: the first request pays for imports
        bomb = asyncio.create_task(asyncio.to_thread(post, served.url, attacker.key, BOMBS[name]))
        await asyncio.sleep(0.1)
        other, other_took = await asyncio.to_thread(post, served.url, neighbour.key, OTHER)
        answer, took = await bomb

    assert other.status_code == 200, other.text
    assert other_took < 1.0, f"the neighbour waited {other_took:.2f} s"
    assert took < 2.0, f"the {name} document took {took:.2f} s"
    assert answer.status_code in (200, 400), answer.text  # answered or refused, never a fault
    body = answer.json()
    assert "data" in body or body.get("errors"), body


async def test_a_body_that_trickles_in_is_cut_off_at_the_deadline(
    database_url: str, factory: Factory
) -> None:
    """A client that announces a body and sends it too slowly holds nothing past the
    request deadline: 408, and the connection is closed."""
    tenant = await factory.account()
    with gateway(database_url, REQUEST_TIMEOUT_SECONDS="1") as served:
        host, port = served.url.removeprefix("http://").split("/")[0].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        body = b'{"query": "{ attendees { totalCount } }"}'
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {tenant.key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        await writer.drain()
        started = time.monotonic()
        answer = await asyncio.wait_for(reader.read(), timeout=10)  # until the server closes
        took = time.monotonic() - started
        writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b"did not arrive within 1 s" in payload
    assert 0.8 < took < 3.0


async def test_a_process_holds_at_most_max_connections(database_url: str, factory: Factory) -> None:
    """Idle or slow connections beyond MAX_CONNECTIONS do not queue work: uvicorn answers
    503 at once, and the process answers again when they go."""
    tenant = await factory.account()
    with gateway(database_url, MAX_CONNECTIONS="3") as served:
        host, port = served.url.removeprefix("http://").split("/")[0].split(":")
        held = [await asyncio.open_connection(host, int(port)) for _ in range(3)]
        for _, writer in held:
            writer.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")  # headers never finish
            await writer.drain()
        await asyncio.sleep(0.2)
        crowded, _ = await asyncio.to_thread(post, served.url, tenant.key, OTHER)
        for _, writer in held:
            writer.close()
        await asyncio.sleep(0.2)
        freed, _ = await asyncio.to_thread(post, served.url, tenant.key, OTHER)
    assert crowded.status_code == 503
    assert freed.status_code == 200, freed.text
