"""One walk over a document's selections, linear in the document's size.

A `Fold` measures a selection set (its depth, its aliases, its cost, the names it selects)
by following fields, inline fragments and fragment spreads. Each named fragment is measured
once and its measure reused at every spread, so a chain of fragments that each spread the
previous one twice costs one visit per selection, not 2^n. That needs the measure of a
fragment not to depend on where it is spread, which holds for every measure here (a cost
depends on the variables, fixed for a request, and is linear in the page sizes above it).

A fragment counts at every spread: `{ ...F ...F }` measures F twice. Type conditions and
@skip/@include are not looked at. A spread that closes a cycle counts as nothing (validation
reports the cycle). The walk recurses only as deep as one definition nests (the parser
bounds that); chains of fragments are measured in order, without recursion.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

T = TypeVar("T")
Fragments = Mapping[str, FragmentDefinitionNode]


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The document's fragment definitions by name."""
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


class Fold(Generic[T]):
    """A measure of selection sets: `field` gives a field's value (calling the fold on the
    field's own selection set when it needs it), and sibling values `combine`, starting from
    `empty`. Call the fold on a selection set for its value; `steps` counts the selections
    visited so far, each fragment's selections once (twice: once to order the fragments)."""

    empty: T

    def __init__(self, fragments: Fragments) -> None:
        self.fragments = fragments
        self.steps = 0
        self._measured: dict[str, T] = {}
        self._measuring = False

    def field(self, node: FieldNode) -> T:
        raise NotImplementedError

    def combine(self, first: T, second: T) -> T:
        raise NotImplementedError

    def __call__(self, selection_set: SelectionSetNode | None) -> T:
        value = self.empty
        for selection in selection_set.selections if selection_set else ():
            self.steps += 1
            if isinstance(selection, FieldNode):
                value = self.combine(value, self.field(selection))
            elif isinstance(selection, InlineFragmentNode):
                value = self.combine(value, self(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                value = self.combine(value, self._fragment(selection.name.value))
        return value

    def _fragment(self, name: str) -> T:
        """A fragment's value. The fragments it spreads are measured before it, so Python's
        stack grows only with the nesting inside one definition (which the parser bounds),
        not with a chain of fragments. While measuring, a fragment not measured yet closes a
        cycle (or is unknown): it counts as nothing, and validation reports it."""
        if name in self.fragments and name not in self._measured and not self._measuring:
            self._measuring = True
            for each in self._spread_first(name):
                self._measured[each] = self(self.fragments[each].selection_set)
            self._measuring = False
        return self._measured.get(name, self.empty)

    def _spread_first(self, name: str) -> list[str]:
        """`name` and the unmeasured fragments it spreads, each after those it spreads."""
        order: list[str] = []
        placed: set[str] = set()
        path = [(name, iter(self._spreads(name)))]
        on_path = {name}
        while path:
            current, spreads = path[-1]
            for spread in spreads:
                new = spread in self.fragments and spread not in self._measured
                if new and spread not in placed and spread not in on_path:
                    path.append((spread, iter(self._spreads(spread))))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.discard(current)
                placed.add(current)
                order.append(current)
        return order

    def _spreads(self, name: str) -> list[str]:
        """The names of the fragments a fragment spreads, at any depth within it."""
        spreads, stack = [], [self.fragments[name].selection_set]
        while stack:
            for selection in stack.pop().selections:
                self.steps += 1
                if isinstance(selection, FragmentSpreadNode):
                    spreads.append(selection.name.value)
                elif isinstance(selection, FieldNode | InlineFragmentNode):
                    stack.extend([selection.selection_set] if selection.selection_set else [])
        return spreads


class Depth(Fold[int]):
    """How deep a selection set goes: a field is one level, fragments add none."""

    empty = 0

    def field(self, node: FieldNode) -> int:
        return 1 + self(node.selection_set)

    def combine(self, first: int, second: int) -> int:
        return max(first, second)


class Aliases(Fold[int]):
    """How many aliased fields a selection set has, a fragment's at each spread."""

    empty = 0

    def field(self, node: FieldNode) -> int:
        return (node.alias is not None) + self(node.selection_set)

    def combine(self, first: int, second: int) -> int:
        return first + second


class FieldNames(Fold[frozenset[str]]):
    """The names of the fields a selection set selects at its own level (not below)."""

    empty: frozenset[str] = frozenset()

    def field(self, node: FieldNode) -> frozenset[str]:
        return frozenset((node.name.value,))

    def combine(self, first: frozenset[str], second: frozenset[str]) -> frozenset[str]:
        return first | second
