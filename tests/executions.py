"""Run a test module's tests on both executions (the planned path and the ordinary one).

In the module: `apps, execution, client_for = on_both_executions()`. Its `client_for(key)`
then makes clients of the app with the test's execution (each test runs once per
execution), in place of conftest's app with default settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.config import Settings
from app.main import create_app
from tests.conftest import GraphQLClient

EXECUTIONS = ("standard", "planned")


def on_both_executions() -> tuple[Any, Any, Any]:
    """The fixtures `apps`, `execution` and `client_for`, for a module to bind."""

    @pytest.fixture(scope="module")
    async def apps(settings: Settings) -> AsyncIterator[dict[str, Any]]:
        made = {e: create_app(dataclasses.replace(settings, execution=e)) for e in EXECUTIONS}
        async with (
            made["standard"].router.lifespan_context(made["standard"]),
            made["planned"].router.lifespan_context(made["planned"]),
        ):
            yield made

    @pytest.fixture(params=EXECUTIONS)
    def execution(request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    async def client_for(apps: dict[str, Any], execution: str) -> AsyncIterator[Any]:
        """`client_for(key)`: a GraphQL client of the app with this test's execution."""
        made: list[GraphQLClient] = []

        def make(key: str | None) -> GraphQLClient:
            made.append(GraphQLClient(apps[execution], key))
            return made[-1]

        yield make
        for c in made:
            await c.aclose()

    return apps, execution, client_for
