"""Request limits (contract §5): depth, aliases, tokens, cost and body size.

Each limit refuses with a clear error before any GraphQL work touches the database: the
response's X-SQL-Statements is 1, the API-key lookup that authenticates the request (it
runs before the document is even parsed), or 0 for a body refused before that lookup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import get_introspection_query

from tests.helpers_app import bearer, http_client, serving

KEY_LOOKUP_ONLY = 1


def chain(depth: int) -> str:
    """A query exactly `depth` deep (booking → repeatedFrom → … → id), with no lists."""
    inner = depth - 2
    return 'query { booking(id: "1") { ' + "repeatedFrom { " * inner + "id" + " }" * inner + " } }"


def aliased(count: int) -> str:
    return "query { " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


INTROSPECTION = get_introspection_query()  # what GraphiQL and codegen send: 15 deep
SCHEMA_FIELDS = "query { __schema { types { fields { name } } } }"  # 4 deep
MANY_TOKENS = "query { " + "__typename " * 5000 + "}"
HUGE_PAGE = "query { attendees(first: 1000000000) { nodes { id } } }"
NESTED = """
query {{
  patients(first: {n}) {{ nodes {{
    attendees(first: {n}) {{ nodes {{ booking {{ attendees(first: {n}) {{ nodes {{ id }} }} }} }} }}
  }} }}
}}
"""
NESTED_100 = NESTED.format(n=100)
NESTED_DEFAULT_SIZES = NESTED.replace("(first: {n})", "").format()
NESTED_BY_VARIABLE = NESTED.replace("{n}", "$n").format().replace("query", "query($n: Int!)", 1)
NESTED_BY_DEFAULT = """
query($n: Int = 100) {
  patients(first: $n) { nodes {
    attendees(first: $n) { nodes { booking { attendees(first: 10) { nodes { id } } } } }
  } }
}
"""
ELEVEN = "query { attendees(first: 11) { nodes { id } } }"


def cost_error(cost: int, limit: int = 50_000) -> str:
    return f"Query cost {cost} exceeds the limit of {limit} nodes; ask for smaller pages."


@pytest.fixture
async def api(factory: Any, client_for: Any) -> Any:
    """A client of a fresh account on the default app."""
    return client_for((await factory.account()).key)


async def refused(client: Any, document: str, message: str, **variables: Any) -> None:
    """The request fails with exactly `message`, returns no data, and runs no SQL beyond
    the API-key lookup."""
    body = (await client.post(document, variables)).json()
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == [message]
    # The one statement is the API-key lookup, which precedes any GraphQL work.
    assert client.last_statements == KEY_LOOKUP_ONLY


# depth


async def test_a_query_one_level_deeper_than_the_default_is_refused(api):
    await api.query(chain(15))

    await refused(api, chain(16), "Query depth 16 exceeds the limit of 15.")


async def test_the_standard_introspection_query_passes_at_the_default_depth(api):
    data = await api.query(INTROSPECTION)

    assert data["__schema"]["queryType"] == {"name": "Query", "kind": "OBJECT"}
    assert api.last_statements == KEY_LOOKUP_ONLY


@pytest.mark.parametrize(
    ("max_depth", "document", "depth"), [(14, INTROSPECTION, 15), (3, SCHEMA_FIELDS, 4)]
)
async def test_introspection_fields_count_towards_depth(
    settings, factory, max_depth, document, depth
):
    tenant = await factory.account()

    async with serving(settings, max_depth=max_depth) as served:
        await refused(
            served.client(tenant.key),
            document,
            f"Query depth {depth} exceeds the limit of {max_depth}.",
        )


# aliases and tokens


async def test_thirty_aliases_pass_and_thirty_one_are_refused(api):
    data = await api.query(aliased(30))
    assert len(data) == 30

    await refused(api, aliased(31), "31 aliases found. Allowed: 30")


async def test_a_document_over_the_token_limit_is_refused(api):
    await refused(
        api,
        MANY_TOKENS,
        "Syntax Error: Document contains more than 5000 tokens. Parsing aborted.",
    )


# cost


async def test_a_billion_nodes_is_an_error_not_a_slow_query(api):
    await refused(api, HUGE_PAGE, cost_error(1_000_000_000))


async def test_nested_page_sizes_multiply(api):
    """100 + 100·100 + 100·100·100 nodes; without sizes, 50 + 50² + 50³."""
    await refused(api, NESTED_100, cost_error(1_010_100))
    await refused(api, NESTED_DEFAULT_SIZES, cost_error(127_550))


async def test_page_sizes_given_as_variables_are_costed(api):
    """30 + 30² + 30³ = 27,930 nodes pass; the same document with 100 is refused."""
    await api.query(NESTED_BY_VARIABLE, {"n": 30})
    assert api.last_statements > KEY_LOOKUP_ONLY

    await refused(api, NESTED_BY_VARIABLE, cost_error(1_010_100), n=100)


async def test_a_variables_default_page_size_is_costed(api):
    """$n defaults to 100 when the request leaves it out: 100 + 100² + 100²·10 nodes."""
    await refused(api, NESTED_BY_DEFAULT, cost_error(110_100), n=100)

    await refused(api, NESTED_BY_DEFAULT, cost_error(110_100))


# configured limits


LOWER_LIMITS = [
    pytest.param({"max_depth": 3}, chain(4), "Query depth 4 exceeds the limit of 3.", id="depth"),
    pytest.param({"max_aliases": 2}, aliased(3), "3 aliases found. Allowed: 2", id="aliases"),
    pytest.param(
        {"max_tokens": 10},
        ELEVEN,
        "Syntax Error: Document contains more than 10 tokens. Parsing aborted.",
        id="tokens",
    ),
    pytest.param({"max_cost": 10}, ELEVEN, cost_error(11, limit=10), id="cost"),
]


@pytest.mark.parametrize(("limits", "document", "message"), LOWER_LIMITS)
async def test_a_configured_lower_limit_takes_effect(
    settings, factory, api, limits, document, message
):
    tenant = await factory.account()
    await api.query(document)  # fine at the defaults (and now in their caches)

    async with serving(settings, **limits) as served:
        await refused(served.client(tenant.key), document, message)


# body size


async def chunks(body: bytes, size: int = 64) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def assert_too_large(response: Any) -> None:
    assert response.status_code == 413
    assert response.json() == {"errors": [{"message": "Request body too large."}]}
    # Refused before the API-key lookup: not a single statement.
    assert response.headers["x-sql-statements"] == "0"


async def test_a_body_over_the_default_limit_gets_413_and_no_sql(settings, factory, app):
    tenant = await factory.account()
    padding = " " * settings.max_body_bytes
    body = ('{"query": "query {' + padding + '__typename }"}').encode()

    async with http_client(app) as http:
        response = await http.post("/graphql", content=body, headers=bearer(tenant.key))

    assert_too_large(response)


async def test_a_configured_body_limit_counts_streamed_bodies_too(settings, factory):
    tenant = await factory.account()
    small = b'{"query": "query { __typename }"}'
    large = b'{"query": "query {' + b" " * 100 + b'__typename }"}'
    headers = {**bearer(tenant.key), "Content-Type": "application/json"}

    async with serving(settings, max_body_bytes=100) as served, served.http() as http:
        fits = await http.post("/graphql", content=small, headers=headers)
        declared = await http.post("/graphql", content=large, headers=headers)
        streamed = await http.post("/graphql", content=chunks(large), headers=headers)

    assert fits.json() == {"data": {"__typename": "Query"}}
    assert "content-length" not in streamed.request.headers
    assert_too_large(declared)
    assert_too_large(streamed)
