"""Running a plan: bind the arguments, run one statement per level, build the response.

Arguments are coerced by graphql-core (`get_argument_values`, as the executor does) and
converted by Strawberry (`convert_arguments`, as a resolver gets them); connections then
go through the same `ListSpec.bind` as the ordinary resolver, lookups through the same
`lookup_key`. Anything that would make the ordinary path report an error (a bad cursor,
a page size out of range, a malformed id) makes `run` return None: the request is then
the ordinary executor's, so its errors are identical by construction. Statements run
through the request's `RequestDB` (tenancy and statement counting stay there).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.types.arguments import convert_arguments

from app import pagination as pg
from app import tracing
from app.context import RequestDB
from app.ids import lookup_key
from app.plan import sql
from app.plan.compile import Level, Plan
from app.plan.output import NeedsFallback, Page
from app.plan.rules import DEFINITION, Listing


class BindError(Exception):
    """The ordinary path would answer this request with an error."""


class Runtime:
    """What one request fetched: per level, {parent id: Page} or a lookup's row."""

    __slots__ = ("data",)

    def __init__(self, levels: int) -> None:
        self.data: list[Any] = [None] * levels


class Arguments:
    """Converts a level's field arguments the way Strawberry does for its resolver."""

    def __init__(self, scalar_registry: Any, config: Any) -> None:
        self.scalar_registry = scalar_registry
        self.config = config

    def of(self, field_def: Any, field_node: Any, variables: VariableValues) -> dict[str, Any]:
        raw = get_argument_values(field_def, field_node, variables)
        strawberry_field = field_def.extensions[DEFINITION]
        return convert_arguments(raw, strawberry_field.arguments, self.scalar_registry, self.config)


def bind(level: Level, variables: VariableValues, settings: Any, arguments: Arguments) -> Any:
    """A listing's Bound, or a lookup level's (type, database id) per member."""
    try:
        if isinstance(level.rule, Listing):
            kwargs = arguments.of(level.field_def, level.field_node, variables)
            return level.rule.spec.bind(
                settings,
                filter_input=kwargs.get("filter"),
                order_by=kwargs.get("order_by"),
                first=kwargs.get("first"),
                after=kwargs.get("after"),
                last=kwargs.get("last"),
                before=kwargs.get("before"),
            )
        return [
            lookup_key(arguments.of(m.field_def, m.field_node, variables)["id"], m.rule.types)
            for m in level.members
        ]
    except Exception as exc:  # GraphQLError, InvalidIdError: the ordinary path's errors
        raise BindError(str(exc)) from None


def _bound(level: Level, variables: VariableValues, settings: Any, arguments: Arguments) -> Any:
    """A level's binding; made once for arguments without variables (a literal that the
    ordinary path refuses raises every time: it is never stored)."""
    if level.bound is not None:
        return level.bound
    made = bind(level, variables, settings, arguments)
    if level.literal and all(m.literal for m in level.members):
        level.bound = made
    return made


async def run(
    plan: Plan,
    db: RequestDB,
    settings: Any,
    variables: VariableValues,
    arguments: Arguments,
) -> dict[str, Any] | None:
    """The response data, or None when the ordinary executor must answer."""
    try:
        bound = [_bound(level, variables, settings, arguments) for level in plan.levels]
    except BindError:
        return None
    rt = Runtime(len(plan.levels))
    lateral = not settings.is_sqlite
    for level in plan.levels:  # parents come before their children
        with tracing.plan_level(level):  # a span when tracing is on
            if isinstance(level.rule, Listing):
                await _listing(level, bound[level.index], rt, db, lateral)
            else:
                await _lookup(level, bound[level.index], rt, db, lateral)
    try:
        return {root.key: root.build(None, rt) for root in plan.roots}
    except NeedsFallback:
        return None


async def _lookup(
    level: Level, keys: list[tuple[str | None, int]], rt: Runtime, db: RequestDB, lateral: bool
) -> None:
    """Every root lookup of one table in one statement (as the ordinary path's loader)."""
    ids = list(dict.fromkeys(database_id for _, database_id in keys))
    rows = await db.fetch(sql.lookup_statement(level, lateral), {"ids": ids})
    id_pos = level.positions[(0, "id")]
    by_id = {row[id_pos]: row for row in rows}
    found = []
    for type_name, database_id in keys:
        row = by_id.get(database_id)
        if row is not None and type_name is not None and level.kind is not None:
            kind_pos, types = level.kind
            if types.get(row[kind_pos]) != type_name:  # a global id of the other kind
                row = None
        found.append(row)
    rt.data[level.index] = found


def _parent_ids(level: Level, rt: Runtime) -> list[int]:
    parent = level.parent_level
    assert parent is not None and level.parent_id_pos is not None
    pos = level.parent_id_pos
    found = rt.data[parent.index]
    if found is None:
        return []
    if isinstance(parent.rule, Listing):
        ids = [row[pos] for page in found.values() for row in page.rows]
    else:
        ids = [row[pos] for row in found if row is not None]
    return list(dict.fromkeys(i for i in ids if i is not None))


async def _listing(level: Level, bound: Any, rt: Runtime, db: RequestDB, lateral: bool) -> None:
    win: pg.Window = bound.win
    params: dict[str, Any] = {"limit": win.size + 1}
    for prefix, values in (("after", win.after), ("before", win.before)):
        if values is not None:
            params.update({f"{prefix}{i}": v for i, v in enumerate(values)})
    key_positions = [level.positions[(0, name)] for name, _ in bound.keys]
    parent = level.parent
    if parent is None:
        ids: list[Any] = [None]
        rows = list(await db.fetch(sql.page_statement(level, bound, lateral), params))
        pages: dict[Any, Page] = {None: _page(rows, win, bound.fp, key_positions)}
    else:
        ids = _parent_ids(level, rt)
        if not ids:
            rt.data[level.index] = {}
            return
        params["parents"] = ids
        grouped: dict[Any, list[Any]] = {i: [] for i in ids}
        parent_pos = level.positions[(0, parent)]
        for row in await db.fetch(sql.page_statement(level, bound, lateral), params):
            grouped[row[parent_pos]].append(row)
        pages = {i: _page(grouped[i], win, bound.fp, key_positions) for i in ids}
        if sql.counts_in_page(level, bound):
            for i, page in pages.items():
                page.total = int(grouped[i][0][-1]) if grouped[i] else 0
    rt.data[level.index] = pages
    if level.wants_count and not sql.counts_in_page(level, bound):
        await _count(level, bound, pages, ids, db)
    if level.wants_has_next:
        await _edge_flags(level, bound, pages, db, next_page=True)
    if level.wants_has_previous:
        await _edge_flags(level, bound, pages, db, next_page=False)


def _page(rows: list[Any], win: pg.Window, fp: str, key_positions: list[int]) -> Page:
    page = pg.slice_page(rows, win)
    return Page(page.rows, page.has_more, fp, key_positions)


async def _count(
    level: Level, bound: Any, pages: dict[Any, Page], ids: list[Any], db: RequestDB
) -> None:
    stmt = sql.count_statement(level, bound)
    if level.parent is None:
        rows = await db.fetch(stmt, {})
        pages[None].total = int(rows[0][0])
        return
    counts = {row[0]: int(row[1]) for row in await db.fetch(stmt, {"parents": ids})}
    for i, page in pages.items():
        page.total = counts.get(i, 0)


async def _edge_flags(
    level: Level, bound: Any, pages: dict[Any, Page], db: RequestDB, *, next_page: bool
) -> None:
    """hasNextPage / hasPreviousPage exactly as PageInfo answers them: from the extra row
    of the fetch, or, past a cursor, whether rows exist at or beyond it."""
    win: pg.Window = bound.win
    size_given = win.first if next_page else win.last
    cursor = win.before if next_page else win.after
    open_ids = []
    for i, page in pages.items():
        if size_given is not None and page.has_more:
            flag: bool | None = True
        elif cursor is None:
            flag = False
        else:
            flag = None
            open_ids.append(i)
        if next_page:
            page.has_next = flag
        else:
            page.has_previous = flag
    if not open_ids or cursor is None:
        return
    table = level.table
    at_or_beyond = sa.not_(pg.beyond(table, bound.keys, cursor, forward=not next_page))
    found = await pg.parents_with_rows(
        db, table, level.parent, open_ids, [*bound.where, at_or_beyond]
    )
    for i in open_ids:
        if next_page:
            pages[i].has_next = i in found
        else:
            pages[i].has_previous = i in found
