"""Keyset pagination at the edges, on the root `attendees` list and on `Booking.attendees`.

Every test that takes `nested` runs twice: once on the root list and once on the same rows
reached through their booking, so both code paths (one statement per list, and one
statement per page of every parent) are held to the same contract.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import T

CONNECTION = """
  totalCount
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { databaseId } }
"""
PAGE_ARGS = (
    "first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: $filter"
)
PAGE_VARS = (
    "$first: Int, $after: String, $last: Int, $before: String, "
    "$orderBy: [AttendeeOrder!], $filter: AttendeeFilter"
)
ROOT_ATTENDEES = f"query ({PAGE_VARS}) {{ attendees({PAGE_ARGS}) {{ {CONNECTION} }} }}"
BOOKING_ATTENDEES = f"""
query ($booking: ID!, {PAGE_VARS}) {{
  booking(id: $booking) {{ attendees({PAGE_ARGS}) {{ {CONNECTION} }} }}
}}
"""
EACH_BOOKINGS_ATTENDEES = """
query ($first: Int, $last: Int) {
  bookings {
    nodes {
      databaseId
      attendees(first: $first, last: $last) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage }
        nodes { databaseId }
      }
    }
  }
}
"""
SCOPES = pytest.mark.parametrize("nested", [False, True], ids=["root", "nested"])


@dataclass
class Page:
    """One connection page, flattened for assertions."""

    ids: list[int]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    start: str | None
    end: str | None
    total: int

    @classmethod
    def of(cls, conn: dict[str, Any]) -> Page:
        info = conn["pageInfo"]
        return cls(
            ids=[int(e["node"]["databaseId"]) for e in conn["edges"]],
            cursors=[e["cursor"] for e in conn["edges"]],
            has_next=info["hasNextPage"],
            has_previous=info["hasPreviousPage"],
            start=info["startCursor"],
            end=info["endCursor"],
            total=conn["totalCount"],
        )


@dataclass
class Attendees:
    """The attendee list under test: the root list, or one booking's nested list."""

    client: Any
    booking: int
    nested: bool

    def _request(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.nested:
            return BOOKING_ATTENDEES, {"booking": str(self.booking), **args}
        return ROOT_ATTENDEES, args

    async def page(self, **args: Any) -> Page:
        data = await self.client.query(*self._request(args))
        return Page.of(data["booking"]["attendees"] if self.nested else data["attendees"])

    async def errors(self, **args: Any) -> list[str]:
        return await self.client.errors(*self._request(args))  # type: ignore[no-any-return]

    async def walk_forward(self, size: int, **args: Any) -> list[Page]:
        pages = [await self.page(first=size, **args)]
        while pages[-1].has_next:
            pages.append(await self.page(first=size, after=pages[-1].end, **args))
        return pages

    async def walk_backward(self, size: int, **args: Any) -> list[Page]:
        pages = [await self.page(last=size, **args)]
        while pages[-1].has_previous:
            pages.append(await self.page(last=size, before=pages[-1].start, **args))
        return pages


async def given_attendees(factory, n: int, nested: bool, client_for) -> tuple[Attendees, list[int]]:
    """A fresh account with one group booking of `n` attendees, in list (creation) order."""
    tenant = await factory.account()
    booking = await factory.group(tenant, max_attendees=100)
    ids = [await factory.attendee(tenant, booking, await factory.patient(tenant)) for _ in range(n)]
    return Attendees(client_for(tenant.key), booking, nested), ids


async def archive(factory, attendee_id: int) -> None:
    table = T["attendee"]
    async with factory.db.write.begin() as conn:
        await conn.execute(
            sa.update(table).where(table.c.id == attendee_id).values(archived_at=datetime.now(UTC))
        )


def chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def recode(cursor: str, edit: Any) -> str:
    """The cursor with its decoded JSON payload passed through `edit` (a forged cursor)."""
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return base64.urlsafe_b64encode(json.dumps(edit(payload)).encode()).decode().rstrip("=")


# --- the edges of a list ---


@SCOPES
async def test_an_empty_list_has_no_pages_either_way(factory, client_for, nested):
    attendees, _ = await given_attendees(factory, 0, nested, client_for)

    for args in ({}, {"first": 5}, {"last": 5}):
        page = await attendees.page(**args)

        assert page == Page([], [], False, False, None, None, 0), args


@SCOPES
async def test_a_single_row_is_its_own_start_and_end(factory, client_for, nested):
    attendees, ids = await given_attendees(factory, 1, nested, client_for)

    for args in ({"first": 5}, {"last": 5}):
        page = await attendees.page(**args)

        assert page.ids == ids
        assert (page.has_next, page.has_previous, page.total) == (False, False, 1)
        assert page.start == page.end == page.cursors[0]


@SCOPES
async def test_exactly_a_page_has_no_more_pages(factory, client_for, nested):
    attendees, ids = await given_attendees(factory, 3, nested, client_for)

    forward = await attendees.page(first=3)
    backward = await attendees.page(last=3)

    assert forward.ids == backward.ids == ids
    assert (forward.has_next, forward.has_previous) == (False, False)
    assert (backward.has_next, backward.has_previous) == (False, False)


@SCOPES
async def test_the_last_page_is_short_and_knows_its_place(factory, client_for, nested):
    attendees, ids = await given_attendees(factory, 5, nested, client_for)
    second = await attendees.page(first=2, after=(await attendees.page(first=2)).end)

    last = await attendees.page(first=2, after=second.end)

    assert last.ids == ids[4:]
    assert (last.has_next, last.has_previous, last.total) == (False, True, 5)


@SCOPES
async def test_walking_forward_visits_every_row_once_in_order(factory, client_for, nested):
    attendees, ids = await given_attendees(factory, 7, nested, client_for)

    pages = await attendees.walk_forward(3)

    assert [p.ids for p in pages] == chunks(ids, 3)
    assert [p.has_previous for p in pages] == [False, True, True]
    assert [p.has_next for p in pages] == [True, True, False]
    assert all(p.total == 7 for p in pages)


@SCOPES
async def test_walking_backward_is_the_exact_reverse_walk(factory, client_for, nested):
    attendees, ids = await given_attendees(factory, 7, nested, client_for)

    pages = await attendees.walk_backward(3)

    assert [p.ids for p in pages] == [ids[4:7], ids[1:4], ids[0:1]]
    assert [p.has_next for p in pages] == [False, True, True]
    assert [p.has_previous for p in pages] == [True, True, False]


@SCOPES
async def test_beyond_either_end_is_an_empty_page_that_knows_its_side(factory, client_for, nested):
    attendees, _ = await given_attendees(factory, 3, nested, client_for)
    full = await attendees.page(first=3)

    after_last = await attendees.page(first=2, after=full.cursors[-1])
    before_first = await attendees.page(last=2, before=full.cursors[0])

    assert after_last == Page([], [], False, True, None, None, 3)
    assert before_first == Page([], [], True, False, None, None, 3)


@SCOPES
async def test_page_info_is_exact_inside_a_window(factory, client_for, nested):
    attendees, ids = await given_attendees(factory, 5, nested, client_for)
    c = (await attendees.page(first=5)).cursors

    forward = await attendees.page(first=2, after=c[0], before=c[4])
    backward = await attendees.page(last=2, after=c[0], before=c[4])
    whole_window = await attendees.page(first=3, after=c[0], before=c[4])

    assert (forward.ids, forward.has_previous, forward.has_next) == (ids[1:3], True, True)
    assert (backward.ids, backward.has_previous, backward.has_next) == (ids[2:4], True, True)
    assert whole_window.ids == ids[1:4]


@SCOPES
async def test_page_info_is_exact_when_a_cursor_row_has_left_the_list(factory, client_for, nested):
    attendees, ids = await given_attendees(factory, 3, nested, client_for)
    c = (await attendees.page(first=3)).cursors
    for gone in (ids[0], ids[2]):
        await archive(factory, gone)

    forward = await attendees.page(first=5, after=c[0])
    backward = await attendees.page(last=5, before=c[2])

    assert (forward.ids, forward.has_previous, forward.has_next) == ([ids[1]], False, False)
    assert (backward.ids, backward.has_previous, backward.has_next) == ([ids[1]], False, False)


@SCOPES
async def test_first_zero_is_an_empty_page(factory, client_for, nested):
    attendees, _ = await given_attendees(factory, 2, nested, client_for)

    page = await attendees.page(first=0)

    assert (page.ids, page.start, page.end, page.total) == ([], None, None, 2)
    assert page.has_next is True


# --- sizes ---


async def test_default_page_size_is_50_and_at_most_100_rows_are_served(factory, client_for):
    root, ids = await given_attendees(factory, 51, False, client_for)
    nested = Attendees(root.client, root.booking, nested=True)

    for attendees in (root, nested):
        default = await attendees.page()
        rest = await attendees.page(after=default.end)
        biggest = await attendees.page(first=100)

        assert (default.ids, default.has_next) == (ids[:50], True)
        assert (rest.ids, rest.has_next, rest.has_previous) == (ids[50:], False, True)
        assert (biggest.ids, biggest.has_next) == (ids, False)
        assert (await attendees.page(last=100)).ids == ids


BAD_SIZES = [
    ({"first": 101}, "`first` must be at most 100 (got 101)."),
    ({"last": 101}, "`last` must be at most 100 (got 101)."),
    ({"first": -1}, "`first` must not be negative (got -1)."),
    ({"last": -3}, "`last` must not be negative (got -3)."),
    ({"first": 2, "last": 2}, "Pass either `first` or `last`, not both."),
]


@SCOPES
@pytest.mark.parametrize(("args", "message"), BAD_SIZES, ids=lambda v: str(v)[:20])
async def test_bad_page_sizes_are_clear_errors(factory, client_for, nested, args, message):
    attendees, _ = await given_attendees(factory, 1, nested, client_for)

    assert await attendees.errors(**args) == [message]


# --- cursors ---

GARBAGE_CURSORS = [
    "not-a-cursor",
    base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
    base64.urlsafe_b64encode(b'{"a": 1}').decode(),
    base64.urlsafe_b64encode(b"[1, 2, 3]").decode(),
    "é",
]


@SCOPES
@pytest.mark.parametrize("cursor", GARBAGE_CURSORS)
@pytest.mark.parametrize("side", ["after", "before"])
async def test_a_malformed_cursor_is_a_clear_error(factory, client_for, nested, cursor, side):
    attendees, _ = await given_attendees(factory, 1, nested, client_for)

    assert await attendees.errors(**{side: cursor}) == [f'"{cursor}" is not a valid cursor.']


FORGED_VALUES = [
    pytest.param(lambda v: [v[0]], id="missing-id"),
    pytest.param(lambda v: ["yesterday", v[1]], id="bad-timestamp"),
    pytest.param(lambda v: [v[0], str(v[1])], id="id-as-text"),
    pytest.param(lambda v: [None, v[1]], id="null-timestamp"),
    pytest.param(lambda v: [v[0], 2**63], id="id-beyond-bigint"),
    pytest.param(lambda v: ["9999-12-31T23:59:59-14:00", v[1]], id="past-year-9999-in-utc"),
    pytest.param(lambda v: ["0001-01-01T00:00:00+14:00", v[1]], id="before-year-1-in-utc"),
]


@SCOPES
@pytest.mark.parametrize("forge", FORGED_VALUES)
async def test_a_forged_cursor_with_bad_values_is_a_clear_error(factory, client_for, nested, forge):
    attendees, _ = await given_attendees(factory, 1, nested, client_for)
    real = (await attendees.page()).end
    forged = recode(real, lambda payload: [payload[0], forge(payload[1])])

    assert await attendees.errors(after=forged) == [f'"{forged}" is not a valid cursor.']


FOREIGN = (
    "This cursor was made for another list, ordering or filter; fetch the list again without it."
)


@SCOPES
async def test_a_cursor_from_another_ordering_or_filter_is_refused(factory, client_for, nested):
    attendees, _ = await given_attendees(factory, 2, nested, client_for)
    by_id = [{"field": "ID", "direction": "ASC"}]
    arrived = {"arrived": False}
    cursor = (await attendees.page(first=1, orderBy=by_id)).end
    filtered_cursor = (await attendees.page(first=1, filter={"includeArchived": True})).end

    assert await attendees.errors(after=cursor) == [FOREIGN]
    assert await attendees.errors(
        before=cursor, orderBy=[{"field": "ID", "direction": "DESC"}]
    ) == [FOREIGN]
    assert await attendees.errors(after=filtered_cursor) == [FOREIGN]
    assert await attendees.errors(after=filtered_cursor, filter=arrived) == [FOREIGN]
    assert (await attendees.page(after=cursor, orderBy=by_id)).total == 2


async def test_a_cursor_survives_another_spelling_of_the_same_ordering(factory, client_for):
    attendees, ids = await given_attendees(factory, 3, False, client_for)
    cursor = (await attendees.page(first=1)).end
    spelled_out = [{"field": "CREATED_AT", "direction": "ASC"}, {"field": "ID"}]

    assert (await attendees.page(after=cursor, orderBy=spelled_out)).ids == ids[1:]


async def test_a_cursor_survives_another_spelling_of_the_same_filter(factory, client_for):
    attendees, ids = await given_attendees(factory, 3, False, client_for)
    cursor = (await attendees.page(first=1)).end

    for same in ({}, {"includeArchived": False, "arrived": None}):
        assert (await attendees.page(after=cursor, filter=same)).ids == ids[1:]


async def test_a_cursor_of_a_list_of_another_type_is_refused(factory, client_for):
    attendees, _ = await given_attendees(factory, 1, False, client_for)
    booking_cursor = (await attendees.client.query("{ bookings { pageInfo { endCursor } } }"))[
        "bookings"
    ]["pageInfo"]["endCursor"]

    assert await attendees.errors(after=booking_cursor) == [FOREIGN]


@SCOPES
async def test_cursors_stay_put_while_rows_are_inserted(factory, client_for, nested):
    tenant = await factory.account()
    booking = await factory.group(tenant, max_attendees=100)
    t0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

    async def attendee_at(minutes: float) -> int:
        patient = await factory.patient(tenant)
        return await factory.attendee(
            tenant, booking, patient, created_at=t0 + timedelta(minutes=minutes)
        )

    ids = [await attendee_at(m) for m in range(6)]
    attendees = Attendees(client_for(tenant.key), booking, nested)
    first_page = await attendees.page(first=3)
    # new rows: before everything, twice inside page 1, after everything
    _, _, inside_page_1, _ = [await attendee_at(m) for m in (-10, 0.5, 1.5, 99)]

    second_page = await attendees.page(first=3, after=first_page.end)
    back_from_second = await attendees.page(last=3, before=second_page.start)

    assert first_page.ids == ids[:3]
    assert second_page.ids == ids[3:6]
    assert back_from_second.ids == [ids[1], inside_page_1, ids[2]]
    assert second_page.total == 10


# --- nested lists page each parent separately ---


async def test_nested_lists_are_paged_per_parent(factory, client_for):
    tenant = await factory.account()
    bookings = {}
    for count in (3, 1, 0):
        booking = await factory.group(tenant)
        bookings[booking] = [
            await factory.attendee(tenant, booking, await factory.patient(tenant))
            for _ in range(count)
        ]
    client = client_for(tenant.key)

    forward = (await client.query(EACH_BOOKINGS_ATTENDEES, {"first": 2}))["bookings"]["nodes"]
    backward = (await client.query(EACH_BOOKINGS_ATTENDEES, {"last": 2}))["bookings"]["nodes"]

    def summary(nodes: list[dict[str, Any]]) -> dict[int, tuple[list[int], int, bool, bool]]:
        return {
            int(b["databaseId"]): (
                [int(a["databaseId"]) for a in b["attendees"]["nodes"]],
                b["attendees"]["totalCount"],
                b["attendees"]["pageInfo"]["hasNextPage"],
                b["attendees"]["pageInfo"]["hasPreviousPage"],
            )
            for b in nodes
        }

    three, one, none = bookings.values()
    b3, b1, b0 = bookings
    assert summary(forward) == {
        b3: (three[:2], 3, True, False),
        b1: (one, 1, False, False),
        b0: ([], 0, False, False),
    }
    assert summary(backward) == {
        b3: (three[1:], 3, False, True),
        b1: (one, 1, False, False),
        b0: (none, 0, False, False),
    }


async def test_a_nested_cursor_continues_its_own_parent(factory, client_for):
    tenant = await factory.account()
    first_booking, second_booking = await factory.group(tenant), await factory.group(tenant)
    ids = {
        b: [await factory.attendee(tenant, b, await factory.patient(tenant)) for _ in range(3)]
        for b in (first_booking, second_booking)
    }
    client = client_for(tenant.key)
    first = Attendees(client, first_booking, nested=True)
    second = Attendees(client, second_booking, nested=True)

    first_pages = await first.walk_forward(2)
    second_pages = await second.walk_forward(2)

    assert [p.ids for p in first_pages] == chunks(ids[first_booking], 2)
    assert [p.ids for p in second_pages] == chunks(ids[second_booking], 2)
