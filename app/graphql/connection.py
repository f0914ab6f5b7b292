"""Relay connections over `app.pagination`: the generic types and the one field factory."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
import strawberry
from graphql import FieldNode, GraphQLError

from app import pagination as pg
from app.context import Context
from app.graphql.common import FilterError, OrderDirection
from app.graphql.nodes import prefetch
from app.ids import InvalidIdError
from app.plan.rules import Listing, Rule, Scaffold, plan
from app.selection import FieldNames, Fold, Fragments

NodeT = TypeVar("NodeT")
MAX_ORDER_KEYS = 5  # sort keys in `orderBy` (app.limits refuses more before conversion)


@dataclass(frozen=True)
class ListSpec:
    """What a connection lists: its table, node type, orders, and filter → WHERE terms."""

    name: str
    table: sa.Table
    to_node: Callable[[sa.Row[Any]], Any]
    node_type: Any
    filter_type: Any
    order_type: Any
    where: Callable[[Any], list[Any]]
    default_order: tuple[pg.Key, ...] = (("created_at", False),)

    def default_order_text(self) -> str:
        """The default ordering as the schema spells it: `CREATED_AT ASC`."""
        fields = self.order_type.__annotations__["field"]
        names = {member.value: member.name for member in fields}
        return ", ".join(
            f"{names[col]} {'DESC' if desc else 'ASC'}" for col, desc in self.default_order
        )

    def bind(
        self,
        settings: Any,
        *,
        filter_input: Any,
        order_by: Sequence[Any] | None,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
    ) -> "Bound":
        """The page arguments checked and turned into sort keys, a window and WHERE terms
        (the one place for both executors); GraphQLError BAD_USER_INPUT when they are bad."""
        requested = [(o.field.value, o.direction == OrderDirection.DESC) for o in order_by or []]
        keys = pg.ordering(requested, self.default_order)
        canonical = pg.canonical(self.name, keys, filter_input)
        fp = pg.fingerprint_of(canonical)
        try:
            win = pg.window(
                first=first,
                last=last,
                after=after,
                before=before,
                fp=fp,
                table=self.table,
                keys=keys,
                default_size=settings.default_page_size,
                max_size=settings.max_page_size,
            )
            where = self._where(canonical, filter_input)
        except (pg.PaginationError, InvalidIdError, FilterError) as exc:
            raise GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT"}) from None
        return Bound(keys, fp, win, where, canonical)

    def _where(self, canonical: bytes, filter_input: Any) -> list[Any]:
        """The WHERE terms of a filter, memoised by the canonical form of the list, order
        and filter (equal forms give equal terms; a filter that raises is not stored)."""
        found = _WHERE.get(canonical)
        if found is None:
            if len(_WHERE) >= MAX_WHERE:
                _WHERE.clear()
            found = _WHERE[canonical] = self.where(filter_input)
        return list(found)


MAX_WHERE = 1024
_WHERE: dict[bytes, list[Any]] = {}  # canonical list/order/filter -> WHERE terms


@dataclass(frozen=True)
class Bound:
    """A connection's checked page arguments."""

    keys: tuple[pg.Key, ...]
    fp: str
    win: pg.Window
    where: list[Any]
    canonical: bytes  # the list, ordering and filter (equal: the same WHERE and ORDER BY)


@dataclass
class _State:
    """One resolved connection: its page and how to answer its lazy fields."""

    ctx: Context
    spec: ListSpec
    keys: tuple[pg.Key, ...]
    fp: str
    where: list[Any]
    win: pg.Window
    page: pg.Slice
    parent: str | None
    parent_id: int | None
    nodes: list[Any]

    def cursor(self, row: sa.Row[Any]) -> str:
        mapping = row._mapping
        return pg.encode_cursor(self.fp, [mapping[name] for name, _ in self.keys])

    async def total(self) -> int:
        table, where = self.spec.table, self.where
        if self.parent is None:
            return await pg.count(self.ctx.db, table, where)
        parent = self.parent

        async def batch(ids: list[int]) -> list[int]:
            counts = await pg.count_per_parent(self.ctx.db, table, parent, ids, where)
            return [counts.get(i, 0) for i in ids]

        key = ("count", self.spec.name, parent, self.fp)
        return int(await self.ctx.loader(key, batch).load(self.parent_id))

    async def rows_beyond(self, values: tuple[Any, ...], *, forward: bool) -> bool:
        """Whether rows exist at or beyond a cursor position (for exact pageInfo)."""
        table, where, parent = self.spec.table, self.where, self.parent
        at_or_beyond = sa.not_(pg.beyond(table, self.keys, values, forward=not forward))

        async def batch(ids: list[Any]) -> list[bool]:
            found = await pg.parents_with_rows(
                self.ctx.db, table, parent, ids, [*where, at_or_beyond]
            )
            return [i in found for i in ids]

        if parent is None:
            return (await batch([None]))[0]
        key = ("beyond", self.spec.name, parent, self.fp, values, forward)
        return bool(await self.ctx.loader(key, batch).load(self.parent_id))


@strawberry.type(description="Where a page sits in its list (Relay).")
class PageInfo:
    _state: strawberry.Private[_State]

    @strawberry.field(
        description="Whether more rows follow this page.", metadata=plan(Scaffold("hasNextPage"))
    )
    async def has_next_page(self) -> bool:
        s = self._state
        if s.win.first is not None and s.page.has_more:
            return True
        return s.win.before is not None and await s.rows_beyond(s.win.before, forward=True)

    @strawberry.field(
        description="Whether rows precede this page.", metadata=plan(Scaffold("hasPreviousPage"))
    )
    async def has_previous_page(self) -> bool:
        s = self._state
        if s.win.last is not None and s.page.has_more:
            return True
        return s.win.after is not None and await s.rows_beyond(s.win.after, forward=False)

    @strawberry.field(
        description="Cursor of the first row of the page.", metadata=plan(Scaffold("startCursor"))
    )
    def start_cursor(self) -> str | None:
        rows = self._state.page.rows
        return self._state.cursor(rows[0]) if rows else None

    @strawberry.field(
        description="Cursor of the last row of the page.", metadata=plan(Scaffold("endCursor"))
    )
    def end_cursor(self) -> str | None:
        rows = self._state.page.rows
        return self._state.cursor(rows[-1]) if rows else None


@strawberry.type(description="A row of a list, with its cursor.")
class Edge(Generic[NodeT]):
    # Plain fields: encoding a cursor costs less than a resolver call would.
    node: NodeT = strawberry.field(description="The row.", metadata=plan(Scaffold("node")))
    cursor: str = strawberry.field(
        description="Opaque cursor of this row, for `after`/`before`.",
        metadata=plan(Scaffold("cursor")),
    )


@strawberry.type(description="A page of a list (Relay cursor connection).")
class Connection(Generic[NodeT]):
    _state: strawberry.Private[_State]

    @strawberry.field(
        description="The rows of this page, with cursors.", metadata=plan(Scaffold("edges"))
    )
    def edges(self) -> list[Edge[NodeT]]:
        s = self._state
        return [Edge(node=n, cursor=s.cursor(r)) for n, r in zip(s.nodes, s.page.rows, strict=True)]

    @strawberry.field(description="The rows of this page.", metadata=plan(Scaffold("nodes")))
    def nodes(self) -> list[NodeT]:
        return self._state.nodes

    @strawberry.field(
        description="Where this page sits in the list.", metadata=plan(Scaffold("pageInfo"))
    )
    def page_info(self) -> PageInfo:
        return PageInfo(_state=self._state)

    @strawberry.field(
        description="How many rows the whole list has (Cliniko's total_entries).",
        metadata=plan(Scaffold("totalCount")),
    )
    async def total_count(self) -> int:
        return await self._state.total()


async def resolve_connection(
    ctx: Context,
    spec: ListSpec,
    *,
    parent: str | None,
    parent_id: int | None,
    filter_input: Any,
    order_by: Sequence[Any] | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    node_fields: frozenset[str] = frozenset(),
) -> Connection[Any]:
    """Resolve one connection field; nested ones batch every parent into one statement, and
    the relations its nodes ask for are loaded with it (one statement per table)."""
    bound = spec.bind(
        ctx.settings,
        filter_input=filter_input,
        order_by=order_by,
        first=first,
        after=after,
        last=last,
        before=before,
    )
    keys, fp, win, where = bound.keys, bound.fp, bound.win, bound.where
    if parent is None:
        page = await pg.fetch_page(ctx.db, spec.table, where, keys, win)
        nodes = [spec.to_node(row) for row in page.rows]
        await prefetch(ctx, nodes, node_fields)
    else:
        loader = _nested_loader(ctx, spec, parent, keys, fp, where, win, node_fields)
        page, nodes = await loader.load(parent_id)
    return Connection(
        _state=_State(ctx, spec, keys, fp, where, win, page, parent, parent_id, nodes)
    )


def _node_fields(info: Any) -> frozenset[str]:
    """The fields a connection's query selects on its nodes (via `nodes` or `edges.node`),
    memoised per request and field occurrence (and each fragment measured once a request)."""
    raw = info._raw_info
    memo = info.context.memo
    key = ("node_fields", id(raw.field_nodes[0]))
    found = memo.get(key)
    if found is None:
        fold = memo.get("node_fields")
        if fold is None:
            names = FieldNames(raw.fragments)
            edges = _Under(raw.fragments, {"node": names})
            fold = memo["node_fields"] = _Under(raw.fragments, {"nodes": names, "edges": edges})
        found = memo[key] = fold(raw.field_nodes[0].selection_set)
    return found


class _Under(Fold[frozenset[str]]):
    """The union of the values that other folds give the selections of the fields named in
    `under` (say, FieldNames under `nodes`)."""

    empty: frozenset[str] = frozenset()

    def __init__(self, fragments: Fragments, under: Mapping[str, Fold[frozenset[str]]]) -> None:
        super().__init__(fragments)
        self.under = under

    def field(self, node: FieldNode) -> frozenset[str]:
        fold = self.under.get(node.name.value)
        return self.empty if fold is None else fold(node.selection_set)

    def combine(self, first: frozenset[str], second: frozenset[str]) -> frozenset[str]:
        return first | second


def _nested_loader(
    ctx: Context,
    spec: ListSpec,
    parent: str,
    keys: Any,
    fp: str,
    where: list[Any],
    win: pg.Window,
    node_fields: frozenset[str],
) -> Any:
    """Pages of every parent in one statement, with their nodes' relations prefetched for
    all parents at once, so every parent resumes together (and later loads batch too)."""

    async def batch(ids: list[int]) -> list[tuple[pg.Slice, list[Any]]]:
        pages = await pg.fetch_pages(ctx.db, spec.table, parent, ids, where, keys, win)
        nodes = {i: [spec.to_node(row) for row in pages[i].rows] for i in ids}
        await prefetch(ctx, [n for i in ids for n in nodes[i]], node_fields)
        return [(pages[i], nodes[i]) for i in ids]

    return ctx.loader(("page", spec.name, parent, fp, win, node_fields), batch)


def connection_field(
    spec: ListSpec, *, parent: str | None, description: str, rule: Rule | None = None
) -> Any:
    """A connection field with the standard arguments; `parent` names the column that
    links rows to the object the field sits on (None for a root list). `rule` tells the
    planned path otherwise (a Fallback: always the ordinary executor)."""
    order_help = f"Sort keys; default {spec.default_order_text()}, ties by id."
    filter_t, order_t, conn_t = spec.filter_type, spec.order_type, Connection[spec.node_type]  # type: ignore[name-defined]

    async def resolve(
        root: Any,
        info: strawberry.Info[Context, None],
        filter: Annotated[
            filter_t | None, strawberry.argument(description="Narrow the list.")  # type: ignore[valid-type]
        ] = None,
        order_by: Annotated[
            list[order_t] | None,  # type: ignore[valid-type]
            strawberry.argument(description=order_help),
        ] = None,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size from the start (default 50, at most 100)."),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="Start after this cursor.")
        ] = None,
        last: Annotated[
            int | None, strawberry.argument(description="Page size from the end (at most 100).")
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="End before this cursor.")
        ] = None,
    ) -> conn_t:  # type: ignore[valid-type]
        return await resolve_connection(
            info.context,
            spec,
            parent=parent,
            parent_id=None if parent is None else root.id,
            node_fields=_node_fields(info),
            filter_input=filter,
            order_by=order_by,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    return strawberry.field(
        resolver=resolve, description=description, metadata=plan(rule or Listing(spec, parent))
    )
