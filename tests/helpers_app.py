"""Helpers for tests that need an app with non-default settings, or raw HTTP.

`serving(settings, max_depth=3)` runs `create_app` with those settings changed for the
block (its lifespan included) and yields a `Served`: `.client(key)` is a GraphQL client
like the `client_for` fixture's, `.http()` a plain httpx client for hand-made requests.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.config import Settings
from app.main import create_app
from tests.conftest import GraphQLClient

BASE_URL = "http://test"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def http_client(app: Any) -> httpx.AsyncClient:
    """A plain client for `app` (use it with `async with`)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


@dataclass
class Served:
    app: Any
    _clients: list[GraphQLClient] = field(default_factory=list)

    def client(self, key: str | None) -> GraphQLClient:
        self._clients.append(GraphQLClient(self.app, key))
        return self._clients[-1]

    def http(self) -> httpx.AsyncClient:
        return http_client(self.app)


@contextlib.asynccontextmanager
async def serving(settings: Settings, **changes: Any) -> AsyncIterator[Served]:
    """The app for `settings` with `changes` applied, running for the block."""
    served = Served(create_app(dataclasses.replace(settings, **changes)))
    async with served.app.router.lifespan_context(served.app):
        try:
            yield served
        finally:
            for client in served._clients:
                await client.aclose()
