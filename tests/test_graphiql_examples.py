"""The example operations (app/static/graphiql/examples.graphql): GraphiQL opens a tab for
each, and the README shows each word for word. Here they are split the way the page splits
them, validated against the schema, and found in the README; the first ones run against the
API (the mutations get userErrors for their placeholder id, not an error)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, validate

from app.schema import schema
from tests.factories import Factory

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "app" / "static" / "graphiql" / "examples.graphql"
README = ROOT / "README.md"
# The same split as exampleTabs() in app/static/graphiql.html.
SPLIT = re.compile(r"\n\s*\n(?=(?:#[^\n]*\n)*(?:query|mutation|subscription)\b)")
OPERATION_START = re.compile(r"^(?:query|mutation|subscription)\b", re.MULTILINE)


def examples() -> list[str]:
    chunks = SPLIT.split(EXAMPLES.read_text(encoding="utf-8"))
    return [chunk.strip() for chunk in chunks if OPERATION_START.search(chunk)]


def test_the_examples_are_the_four_operations_the_page_opens() -> None:
    names = []
    for chunk in examples():
        document = parse(chunk)
        (operation,) = document.definitions  # one operation per tab
        assert isinstance(operation, OperationDefinitionNode)
        assert operation.name is not None
        names.append(operation.name.value)
        assert chunk.startswith("# "), f"{names[-1]} has no comment saying what it does"
    assert names == ["TodaysClasses", "SearchPatients", "CheckIn", "CancelAttendance"]


@pytest.mark.parametrize("chunk", examples(), ids=lambda c: c.split("(")[0].split()[-1])
def test_each_example_validates_against_the_schema(chunk: str) -> None:
    assert validate(schema._schema, parse(chunk)) == []


@pytest.mark.parametrize("chunk", examples(), ids=lambda c: c.split("(")[0].split()[-1])
def test_the_readme_shows_each_example_word_for_word(chunk: str) -> None:
    readme = README.read_text(encoding="utf-8")
    assert f"```graphql\n{chunk}\n```" in readme, "README.md: copy it from examples.graphql"


async def test_the_examples_run_as_they_are(client_for: Any, factory: Factory) -> None:
    """With their default variables: queries answer data, mutations answer userErrors."""
    tenant = await factory.account("Examples Clinic")
    client = client_for(tenant.key)
    for chunk in examples():
        response = await client.post(chunk)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, (chunk, body)
        if chunk.split("(")[0].split()[-2] == "mutation":
            (payload,) = body["data"].values()
            assert payload["userErrors"], payload
