"""One statement per level, built once per plan and shape from the ordinary path's own
builders (`ListSpec.where`, `pagination.beyond`/`order_clauses`).

What varies between requests is a bind parameter: the account (filled in by
`RequestDB.fetch`), the page size (`limit`), cursor values (`after0`, `before1`, ...),
the parents' ids (`parents`, expanding) and a lookup's id. So a level's statement object
is made once per shape (filter, ordering, direction, which cursors), and SQLAlchemy's
compiled cache serves it from then on. The to-one relations a level's rows ask for are
LEFT JOINed into its statement (aliases j1, j2, ...), each limited to the account too.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app import pagination as pg
from app.context import RequestDB
from app.plan.compile import Level

MAX_SHAPES = 32  # statements kept per level (shapes: filters, orders, cursors)


def _params(table: sa.Table, keys: tuple[pg.Key, ...], prefix: str) -> list[Any]:
    return [
        sa.bindparam(f"{prefix}{i}", type_=table.c[name].type) for i, (name, _) in enumerate(keys)
    ]


def _from(level: Level, main: Any, lateral: bool) -> tuple[Any, list[Any]]:
    """The FROM with the level's joins, and each source's selectable.

    `lateral` (PostgreSQL): each relation is a LATERAL subquery with LIMIT 1, so it is
    always an index lookup per row: a plain join lets the planner pick a hash join over
    the whole related table for a page of a few hundred rows (13 ms instead of 0.3 ms).
    SQLite, which has no LATERAL, looks rows up by primary key anyway."""
    selectables: list[Any] = [main]
    joined = main
    for index, source in enumerate(level.sources[1:], start=1):
        assert source.parent is not None and source.column is not None
        target = source.table.alias(f"j{index}")
        on = sa.and_(
            target.c.id == selectables[source.parent].c[source.column],
            RequestDB.in_account(target),
        )
        found: Any
        if lateral:
            names = sorted({name for s, name in level.columns if s == index})
            found = (
                sa.select(*[target.c[name] for name in names])
                .where(on)
                .limit(1)
                .lateral(f"l{index}")
            )
            joined = joined.outerjoin(found, sa.true())
        else:
            found = target
            joined = joined.outerjoin(target, on)
        selectables.append(found)
    return joined, selectables


def _columns(level: Level, selectables: list[Any]) -> list[Any]:
    return [selectables[source].c[name] for source, name in level.columns]


def _cached(level: Level, key: Any, build: Any) -> Any:
    found = level.statements.get(key)
    if found is None:
        if len(level.statements) >= MAX_SHAPES:
            level.statements.clear()
        found = level.statements[key] = build()
    return found


def page_statement(level: Level, bound: Any, lateral: bool) -> Any:
    """The page (root list) or pages (one per parent) of a listing level."""
    win: pg.Window = bound.win
    key = ("page", bound.canonical, win.forward, win.after is not None, win.before is not None)
    return _cached(level, key, lambda: _page(level, bound, lateral))


def _page(level: Level, bound: Any, lateral: bool) -> Any:
    table, keys, win = level.table, bound.keys, bound.win
    terms = [RequestDB.in_account(table), *bound.where]
    if win.after is not None:
        terms.append(pg.beyond(table, keys, _params(table, keys, "after"), forward=True))
    if win.before is not None:
        terms.append(pg.beyond(table, keys, _params(table, keys, "before"), forward=False))
    order = pg.order_clauses(table, keys, forward=win.forward)
    limit = sa.bindparam("limit", type_=sa.Integer())
    parent = level.parent
    own = sorted({name for source, name in level.columns if source == 0})
    if parent is None:
        # The page first, then its joins: PostgreSQL then plans the joins for the page's
        # rows, not for the whole table (a Memoize sized for 170,000 rows costs ~1 ms).
        page = (
            sa.select(*[table.c[name] for name in own])
            .where(*terms)
            .order_by(*order)
            .limit(limit)
            .subquery("page")
        )
        joined, selectables = _from(level, page, lateral)
        return (
            sa.select(*_columns(level, selectables))
            .select_from(joined)
            .order_by(*pg.order_clauses(page, keys, forward=win.forward))
        )
    parent_col = table.c[parent]
    rank = sa.func.row_number().over(partition_by=parent_col, order_by=order)
    extra = [rank.label("_rank")]
    if counts_in_page(level, bound):
        extra.append(sa.func.count().over(partition_by=parent_col).label("_total"))
    inner = (
        sa.select(*[table.c[name] for name in own], *extra)
        .where(parent_col.in_(sa.bindparam("parents", expanding=True)), *terms)
        .subquery("page")
    )
    joined, selectables = _from(level, inner, lateral)
    columns = _columns(level, selectables)
    if counts_in_page(level, bound):
        columns.append(inner.c._total)  # last: not one of the level's positions
    return (
        sa.select(*columns)
        .select_from(joined)
        .where(inner.c._rank <= limit)
        .order_by(inner.c[parent], inner.c._rank)
    )


def counts_in_page(level: Level, bound: Any) -> bool:
    """Whether the nested pages' statement also counts each parent's rows (a window
    count over the same WHERE): when totalCount is selected and no cursor narrows the
    rows (the count is of the whole list, the page of what lies past the cursor)."""
    win: pg.Window = bound.win
    return (
        level.parent is not None and level.wants_count and win.after is None and win.before is None
    )


def count_statement(level: Level, bound: Any) -> Any:
    """totalCount: of the root list, or per parent."""
    return _cached(level, ("count", bound.canonical), lambda: _count(level, bound))


def _count(level: Level, bound: Any) -> Any:
    table, parent = level.table, level.parent
    terms = [RequestDB.in_account(table), *bound.where]
    if parent is None:
        return sa.select(sa.func.count()).select_from(table).where(*terms)
    col = table.c[parent]
    return (
        sa.select(col, sa.func.count())
        .where(col.in_(sa.bindparam("parents", expanding=True)), *terms)
        .group_by(col)
    )


def lookup_statement(level: Level, lateral: bool) -> Any:
    """The rows of the level's lookups, by id (with their joins)."""

    def build() -> Any:
        joined, selectables = _from(level, level.table, lateral)
        return (
            sa.select(*_columns(level, selectables))
            .select_from(joined)
            .where(
                RequestDB.in_account(level.table),
                level.table.c.id.in_(sa.bindparam("ids", expanding=True)),
            )
        )

    return _cached(level, "lookup", build)
