"""A raw graphql-transport-ws client for tests: it sees every message and close code."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1)


class LiveClient:
    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn

    async def init(self, key: str | None) -> dict[str, Any]:
        """Send connection_init (with the key) and return the answer (connection_ack)."""
        await self.send_init(key)
        return await self.receive()

    async def send_init(self, key: str | None) -> None:
        payload = {"Authorization": f"Bearer {key}"} if key else {}
        await self.send({"type": "connection_init", "payload": payload})

    async def send(self, message: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(message))

    async def subscribe(self, op_id: str, query: str, **variables: Any) -> None:
        payload = {"query": query, "variables": variables}
        await self.send({"id": op_id, "type": "subscribe", "payload": payload})

    async def receive(self, within: float = 5.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.conn.recv(), within))  # type: ignore[no-any-return]

    async def events(self, count: int, within: float = 5.0) -> list[dict[str, Any]]:
        """The next `count` messages, which must be `next` messages."""
        found = []
        for _ in range(count):
            message = await self.receive(within)
            assert message["type"] == "next", message
            found.append(message)
        return found

    async def nothing(self, seconds: float = 1.0) -> None:
        """No message arrives within `seconds`."""
        try:
            message = await asyncio.wait_for(self.conn.recv(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message}")

    async def closed(self, within: float = 5.0) -> tuple[int | None, str]:
        """Wait for the server to close; (code, reason)."""
        try:
            while True:
                await asyncio.wait_for(self.conn.recv(), within)
        except ConnectionClosed as closed:
            received = closed.rcvd
            return (received.code, received.reason) if received else (None, "")


@asynccontextmanager
async def live(
    http_url: str,
    key: str | None = None,
    *,
    init: bool = True,
    headers: dict[str, str] | None = None,
    max_queue: int | None = 16,
    compression: str | None = "deflate",
) -> AsyncIterator[LiveClient]:
    """A connected client; with `init`, acknowledged with `key`; `max_queue`: messages it
    buffers before it stops reading the socket. uvicorn logs its startup
    just before it listens: a refused connection is retried for a few seconds."""
    for _ in range(50):
        try:
            conn = await connect(
                ws_url(http_url),
                subprotocols=[PROTOCOL],  # type: ignore[list-item]
                additional_headers=headers or {},
                open_timeout=5,
                max_queue=max_queue,
                compression=compression,
            )
            break
        except ConnectionRefusedError:
            await asyncio.sleep(0.1)
    else:
        raise ConnectionRefusedError(f"nothing listens at {http_url}")
    async with conn:
        client = LiveClient(conn)
        if init:
            ack = await client.init(key)
            assert ack["type"] == "connection_ack", ack
        yield client
