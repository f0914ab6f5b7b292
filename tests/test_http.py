"""GraphQL over HTTP (contract §5, issue 4 item 4): queries over GET and POST, mutations
only over POST (405 over GET), bodies that are not a JSON GraphQL request refused with a
4xx and no data, and every other HTTP method 405.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import key_lookup_cached
from tests.factories import Tenant
from tests.helpers_app import bearer, http_client

CREATE_PATIENT = (
    'mutation { createPatient(input: { firstName: "Grace", lastName: "Hopper" }) '
    "{ patient { id } } }"
)
PATIENT_COUNT = "query { patients { totalCount } }"
BY_VARIABLE = "query($first: Int) { patients(first: $first) { totalCount } }"
JSON = "application/json"
NOT_GRAPHQL_REQUESTS = [
    pytest.param("text/plain", b"query { __typename }", id="text-plain"),
    pytest.param("application/graphql", b"query { __typename }", id="application-graphql"),
    pytest.param(
        "application/x-www-form-urlencoded", b"query=%7B__typename%7D", id="form-urlencoded"
    ),
    pytest.param(JSON, b'{"query": "query { __typename }"', id="invalid-json"),
    pytest.param(JSON, b"", id="empty"),
    pytest.param(JSON, b'[{"query": "query { __typename }"}]', id="batch"),
    pytest.param(JSON, b'{"variables": {}}', id="no-query"),
    pytest.param(JSON, b'{"query": "query { __typename }", "variables": "x"}', id="variables"),
    pytest.param(JSON, b'"query { __typename }"', id="json-string"),
    pytest.param(JSON, b"42", id="json-number"),
    pytest.param(JSON, b"null", id="json-null"),
]
OTHER_METHODS = ["PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"]


@pytest.fixture
async def tenant(factory: Any) -> Tenant:
    return await factory.account()  # type: ignore[no-any-return]


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as client:
        yield client


def assert_no_data(response: httpx.Response) -> None:
    """A refusal: no `data` in the body, whatever its format."""
    if response.headers.get("content-type", "").startswith(JSON):
        assert response.json().get("data") is None
    else:
        assert '"data"' not in response.text


async def test_a_query_over_get_works_with_the_key(http, tenant):
    params = {"query": BY_VARIABLE, "variables": json.dumps({"first": 5})}

    response = await http.get("/graphql", params=params, headers=bearer(tenant.key))
    anonymous = await http.get("/graphql", params=params)

    assert response.status_code == 200
    assert response.json() == {"data": {"patients": {"totalCount": 0}}}
    assert anonymous.status_code == 401
    assert_no_data(anonymous)


async def test_a_mutation_over_get_gets_405_and_changes_nothing(app, http, tenant, client_for):
    key_statements = 0 if key_lookup_cached(app, tenant.key) else 1
    response = await http.get(
        "/graphql", params={"query": CREATE_PATIENT}, headers=bearer(tenant.key)
    )

    assert response.status_code == 405
    assert_no_data(response)
    assert response.headers["x-sql-statements"] == str(key_statements)  # the key check only
    assert await client_for(tenant.key).query(PATIENT_COUNT) == {"patients": {"totalCount": 0}}


@pytest.mark.parametrize(("content_type", "body"), NOT_GRAPHQL_REQUESTS)
async def test_a_post_that_is_not_a_json_graphql_request_is_refused(
    http, tenant, content_type, body
):
    headers = {**bearer(tenant.key), "Content-Type": content_type}

    response = await http.post("/graphql", content=body, headers=headers)

    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert_no_data(response)


@pytest.mark.parametrize("method", OTHER_METHODS)
async def test_other_http_methods_get_405(http, tenant, method):
    for headers in (bearer(tenant.key), {}):
        response = await http.request(method, "/graphql", headers=headers)

        assert response.status_code == 405
        assert "POST" in response.headers["allow"]
        assert_no_data(response)
