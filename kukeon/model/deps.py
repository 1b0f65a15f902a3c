"""Ordering between cells (``dependsOn``): cycle detection and reverse order for deletion."""

from __future__ import annotations

from collections.abc import Iterable

from kukeon.model.identity import ResourcePath
from kukeon.model.resources import Cell


def find_cycle(cells: Iterable[Cell]) -> list[ResourcePath] | None:
    """A dependency cycle among ``cells`` as [a, b, ..., a], or None."""
    graph = {c.path: [d.cell for d in c.depends_on] for c in cells}
    state: dict[ResourcePath, int] = {}  # 1: on the stack, 2: done
    stack: list[ResourcePath] = []

    def visit(node: ResourcePath) -> list[ResourcePath] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def describe_cycle(cycle: list[ResourcePath]) -> str:
    return " -> ".join(p.name for p in cycle)
