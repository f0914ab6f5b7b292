"""Bounded work (contract §10): every check of a document is linear in its size, and lists
are refused by their length before they are converted.

A fragment is measured once however often it is spread (app.selection), so documents of a
few kilobytes that spell out 2^40 fields are answered or refused at once; graphql-core's
check that same-named fields can be merged works within a budget; a list argument or input
field longer than its bound is refused with BAD_USER_INPUT, literal or variable, before
any SQL but the API-key lookup and before a single item is converted.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    get_nullable_type,
    is_list_type,
    parse,
)

from app.limits import LIST_BOUNDS, TOO_MANY_MERGES
from app.schema import schema
from app.selection import Aliases, Depth, FieldNames, Fold, fragments_of
from tests.factories import gid
from tests.helpers_app import bearer, http_client

KEY_LOOKUP_ONLY = 1


def doubling(
    n: int, *, on: str = "Attendee", leaf: str = "id arrived", inline: bool = False
) -> str:
    """n fragments, each spreading the previous one twice: naively 2^n fields."""
    lines = [f"fragment F0 on {on} {{ {leaf} }}"]
    for i in range(1, n):
        spread = f"... on {on} {{ ...F{i - 1} }}" if inline else f"...F{i - 1}"
        lines.append(f"fragment F{i} on {on} {{ {spread} {spread} }}")
    return "\n".join(lines)


def nested_doubling(n: int) -> str:
    """n fragments, each spreading the previous one under two different fields."""
    lines = ["fragment F0 on Booking { id }"]
    for i in range(1, n):
        inner = f"...F{i - 1}"
        lines.append(
            f"fragment F{i} on Booking {{ repeatedFrom {{ {inner} }} attendees {{ nodes {{ booking {{ {inner} }} }} }} }}"
        )
    return "\n".join(lines)


BOMB = "query { attendees(first: 1) { nodes { ...F39 } } }\n" + doubling(40)
INLINE_BOMB = "query { attendees(first: 1) { nodes { ...F39 } } }\n" + doubling(40, inline=True)
DEEP_BOMB = 'query { booking(id: "1") { ...F39 } }\n' + nested_doubling(40)
ALIAS_BOMB = "query { attendees(first: 1) { nodes { ...F39 } } }\n" + doubling(40, leaf="a: id")
COST_BOMB = "query { ...F39 }\n" + doubling(
    40, on="Query", leaf="attendees(first: 1) { totalCount }"
)

# graphql-core's merge check compares every pair of fields that share a response name.
WIDE_SIBLINGS = "query { attendees(first: 1) { nodes { " + "id " * 4_500 + "} } }"
SAME_NAME_OTHER_ARGS = (
    'query { booking(id: "1") { '
    + " ".join(f"attendees(first: {i}) {{ totalCount }}" for i in range(450))
    + " } }"
)
SAME_SUBSELECTIONS = "query { " + "attendees { nodes { id } } " * 620 + "}"
SPREAD_SIDE_BY_SIDE = (
    'query { patient(id: "1") { '
    + " ".join(f"...P{i}" for i in range(330))
    + " } }\n"
    + "\n".join(f"fragment P{i} on Patient {{ id attendees {{ totalCount }} }}" for i in range(330))
)
NESTED_LITERAL = "query { nodes(ids: " + "[" * 2_400 + "]" * 2_400 + ") { id } }"
LONG_CHAIN = (
    'query { booking(id: "1") { ...F0 } }\n'
    + "\n".join(f"fragment F{i} on Booking {{ ...F{i + 1} }}" for i in range(550))
    + "\nfragment F550 on Booking { id }"
)
COLOCATED = (  # what a client with colocated fragments sends: fine
    "query { patients(first: 1) { nodes { "
    + " ".join(f"...P{i}" for i in range(30))
    + " } } }\n"
    + "\n".join(f"fragment P{i} on Patient {{ id firstName }}" for i in range(30))
)

# One document per bounded list: `{v}` is the list, a literal or the variable `$v` of type
# `{type}`; with one item, and the error for one item too many.
BOUNDED = {
    "orderBy": (
        "query{decl} { attendees(orderBy: {v}) { totalCount } }",
        "[AttendeeOrder!]",
        {"field": "ID"},
        "attendees: at most 5 sort keys are allowed in `orderBy`.",
    ),
    "ids": (
        "query{decl} { nodes(ids: {v}) { id } }",
        "[ID!]!",
        gid("Patient", 1),
        "nodes: at most 100 ids are allowed in `ids`.",
    ),
    "in": (
        "query{decl} { attendees(filter: {patientId: {in: {v}}}) { totalCount } }",
        "[ID!]",
        "1",
        "filter.patientId: at most 100 values are allowed in `in`.",
    ),
    "phoneNumbers": (
        """mutation{decl} {
          createPatient(input: {firstName: "Pat", lastName: "Smith", phoneNumbers: {v}}) {
            patient { id } userErrors { message }
          }
        }""",
        "[PhoneNumberInput!]",
        {"number": "1"},
        "input: at most 10 phone numbers are allowed in `phoneNumbers`.",
    ),
}
CREATE = """
mutation($input: CreatePatientInput!) {
  createPatient(input: $input) { patient { id } userErrors { message } }
}
"""
UPDATE = """
mutation($input: UpdatePatientInput!) {
  updatePatient(input: $input) { patient { phoneNumbers { number } } userErrors { message } }
}
"""
READ_PHONES = "query($id: ID!) { patient(id: $id) { phoneNumbers { number } } }"
ORDER_BY_DEFAULT = """
query($v: [AttendeeOrder!] = [{field: ID}, {field: ID}, {field: ID}, {field: ID}, {field: ID},
                              {field: ID}]) {
  attendees(orderBy: $v) { totalCount }
}
"""


def literal(item: Any) -> str:
    """A JSON value as a GraphQL literal (the enum value ID unquoted)."""
    if isinstance(item, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in item.items()) + "}"
    return item if item == "ID" else f'"{item}"'


def with_literal(name: str, count: int) -> str:
    """The document for the bounded list `name`, with `count` items in a literal."""
    document, _, item, _ = BOUNDED[name]
    values = "[" + ", ".join([literal(item)] * count) + "]"
    return document.replace("{decl}", "").replace("{v}", values)


def with_variable(name: str) -> str:
    """The document for the bounded list `name`, with the list in `$v`."""
    document, type_, _, _ = BOUNDED[name]
    return document.replace("{decl}", f"($v: {type_})").replace("{v}", "$v")


@pytest.fixture
async def api(factory: Any, client_for: Any) -> Any:
    """A client of a fresh account on the default app."""
    return client_for((await factory.account()).key)


async def refused(api: Any, document: str, message: str, variables: Any = None) -> None:
    """Exactly one error, `message`; no data; no SQL but the API-key lookup."""
    body = (await api.post(document, variables)).json()
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == [message]
    assert api.last_statements == KEY_LOOKUP_ONLY


async def refused_input(api: Any, document: str, message: str, variables: Any = None) -> None:
    """`refused`, with the code BAD_USER_INPUT."""
    body = (await api.post(document, variables)).json()
    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        (message, "BAD_USER_INPUT")
    ]
    assert api.last_statements == KEY_LOOKUP_ONLY


# fragments: measured once


def steps(fold: type[Fold[Any]], document: str) -> int:
    """How many selections `fold` visits to measure the document's operation."""
    parsed = parse(document)
    measure = fold(fragments_of(parsed))
    measure(parsed.definitions[0].selection_set)  # type: ignore[attr-defined]
    return measure.steps


@pytest.mark.parametrize("fold", [Depth, Aliases, FieldNames])
@pytest.mark.parametrize("bomb", [doubling, nested_doubling])
def test_the_walk_of_a_fragment_chain_grows_linearly(fold, bomb):
    counts = {n: steps(fold, f"query {{ ...F{n - 1} }}\n" + bomb(n)) for n in (10, 20, 40)}

    assert counts[40] - counts[20] == 2 * (counts[20] - counts[10])
    assert counts[40] < 20 * 40


def test_a_long_chain_of_fragments_is_walked_without_recursion():
    n = 5_000  # far more than Python's recursion limit; validation would refuse it first
    chain = "\n".join(f"fragment F{i} on Booking {{ ...F{i + 1} }}" for i in range(n))
    document = (
        f'query {{ booking(id: "1") {{ ...F0 }} }}\n{chain}\nfragment F{n} on Booking {{ id }}'
    )
    parsed = parse(document)

    assert Depth(fragments_of(parsed))(parsed.definitions[0].selection_set) == 2  # type: ignore[attr-defined]


def test_fragment_cycles_end():
    document = parse(
        "query { ...A } fragment A on Query { ...B __typename } fragment B on Query { ...A }"
    )

    assert Depth(fragments_of(document))(document.definitions[0].selection_set) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("document", [BOMB, INLINE_BOMB], ids=["spreads", "inline"])
async def test_a_fragment_bomb_is_answered_like_its_one_fragment(factory, client_for, document):
    """2^39 spreads of F0 ask for two fields: execution and the prefetch merge them."""
    tenant = await factory.account()
    patient = await factory.patient(tenant)
    await factory.attendee(tenant, await factory.group(tenant), patient)

    data = await client_for(tenant.key).query(document)

    assert [set(node) for node in data["attendees"]["nodes"]] == [{"id", "arrived"}]


async def test_a_deep_fragment_bomb_is_refused_by_depth(api):
    """booking, then 39 fragments of 3 levels each, then F0's id: 119 levels."""
    await refused(api, DEEP_BOMB, "Query depth 119 exceeds the limit of 15.")


async def test_a_fragment_counts_its_aliases_at_every_spread(api):
    await refused(api, ALIAS_BOMB, f"{2**39} aliases found. Allowed: 30")


async def test_a_fragment_counts_its_cost_at_every_spread(api):
    await refused(
        api,
        COST_BOMB,
        f"Query cost {2**39} exceeds the limit of 50000 nodes; ask for smaller pages.",
    )


# graphql-core's merge check: within a budget


@pytest.mark.parametrize(
    "document",
    [WIDE_SIBLINGS, SAME_NAME_OTHER_ARGS, SAME_SUBSELECTIONS, SPREAD_SIDE_BY_SIDE],
    ids=["wide-siblings", "same-name-other-args", "same-subselections", "spread-side-by-side"],
)
async def test_fields_too_many_to_compare_are_refused(api, document):
    await refused(api, document, TOO_MANY_MERGES)


async def test_lists_nested_deeper_than_the_parser_allows_are_a_syntax_error(api):
    await refused(
        api, NESTED_LITERAL, "Syntax Error: Document is nested too deeply. Parsing aborted."
    )


async def test_fragments_nested_deeper_than_validation_allows_are_refused(api):
    """graphql-core stops at 200 levels of nesting through fragments; our own rules, run
    before it, walk the chain without recursion."""
    await refused(api, LONG_CHAIN, "Validation aborted.")


async def test_colocated_fragments_that_repeat_fields_pass(api):
    data = await api.query(COLOCATED)

    assert data == {"patients": {"nodes": []}}


# list bounds


def test_every_list_argument_and_input_field_has_a_bound():
    lists = set()
    for type_ in schema._schema.type_map.values():
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field in type_.fields.values():
                lists |= {
                    n for n, a in field.args.items() if is_list_type(get_nullable_type(a.type))
                }
        elif isinstance(type_, GraphQLInputObjectType) and not type_.name.startswith("__"):
            lists |= {n for n, f in type_.fields.items() if is_list_type(get_nullable_type(f.type))}

    assert lists == set(LIST_BOUNDS)


@pytest.mark.parametrize("name", BOUNDED)
async def test_a_literal_list_one_over_its_bound_is_refused(api, name):
    message = BOUNDED[name][3]

    await refused_input(api, with_literal(name, LIST_BOUNDS[name].limit + 1), message)


@pytest.mark.parametrize("name", BOUNDED)
async def test_a_variable_list_one_over_its_bound_is_refused(api, name):
    _, _, item, message = BOUNDED[name]

    await refused_input(
        api, with_variable(name), message, {"v": [item] * (LIST_BOUNDS[name].limit + 1)}
    )


@pytest.mark.parametrize("name", BOUNDED)
async def test_a_list_at_its_bound_passes(api, name):
    item, limit = BOUNDED[name][2], LIST_BOUNDS[name].limit

    await api.query(with_literal(name, limit))
    await api.query(with_variable(name), {"v": [item] * limit})


@pytest.mark.parametrize("name", BOUNDED)
async def test_a_huge_variable_list_is_refused_before_conversion(api, name):
    """60,000 items (most of a 1 MB body) are refused as fast as one too many."""
    _, _, item, message = BOUNDED[name]

    await refused_input(api, with_variable(name), message, {"v": [item] * 60_000})


async def test_sixty_thousand_phone_numbers_create_no_patient(api):
    phones = [{"number": "1"}] * 60_000
    variables = {"input": {"firstName": "Pat", "lastName": "Smith", "phoneNumbers": phones}}

    await refused_input(api, CREATE, BOUNDED["phoneNumbers"][3], variables)

    assert await api.query("query { patients { totalCount } }") == {"patients": {"totalCount": 0}}


async def test_eleven_phone_numbers_change_no_patient(api):
    created = await api.query(CREATE, {"input": {"firstName": "Pat", "lastName": "Smith"}})
    patient = created["createPatient"]["patient"]["id"]
    eleven = [{"number": "1"}] * 11

    await refused_input(
        api, UPDATE, BOUNDED["phoneNumbers"][3], {"input": {"id": patient, "phoneNumbers": eleven}}
    )

    assert await api.query(READ_PHONES, {"id": patient}) == {"patient": {"phoneNumbers": []}}


async def test_a_variables_default_list_is_bounded_too(api):
    await refused_input(
        api, ORDER_BY_DEFAULT, "attendees: at most 5 sort keys are allowed in `orderBy`."
    )


def nested_lists(depth: int) -> str:
    """A body whose variable `v` is `depth` lists nested in each other (JSON encoders
    refuse to write it)."""
    query = orjson.dumps(with_variable("ids")).decode()
    return '{"query": ' + query + ', "variables": {"v": ' + "[" * depth + "]" * depth + "}}"


async def post_raw(app: Any, key: str, body: str) -> httpx.Response:
    async with http_client(app) as http:
        headers = {**bearer(key), "Content-Type": "application/json"}
        return await http.post("/graphql", content=body, headers=headers)


async def test_deeply_nested_lists_in_a_variable_are_an_input_error(factory, app):
    """Nesting the JSON parser accepts (under 1,024 levels): the bound check walks it only
    as deep as the variable's type says, and graphql-core refuses it."""
    tenant = await factory.account()

    response = await post_raw(app, tenant.key, nested_lists(1_000))

    body = response.json()
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["Variable values are nested too deeply."]
    assert response.headers["x-sql-statements"] == str(KEY_LOOKUP_ONLY)


async def test_variables_nested_too_deep_for_the_json_parser_are_a_bad_request(factory, app):
    tenant = await factory.account()

    response = await post_raw(app, tenant.key, nested_lists(10_000))

    assert response.status_code == httpx.codes.BAD_REQUEST
