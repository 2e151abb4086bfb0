"""Laying out an application's dependency graph as a picture (drawn as SVG by the page).

Components are placed in columns by how deep their dependencies go: a component that depends on
nothing sits in the rightmost column, and every dependent sits to the left of all its targets, so
every arrow points to the right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NODE_WIDTH = 168
NODE_HEIGHT = 44
COLUMN_GAP = 72
ROW_GAP = 18
MARGIN = 12
NAME_LENGTH = 20
ROWS = 8


@dataclass(frozen=True)
class PlacedNode:
    x: int
    y: int
    name: str
    label: str  # the name, shortened to fit the box
    service_id: str
    status: str
    exposed: bool = False
    application: str = ""  # another application's component: its name


@dataclass(frozen=True)
class Arrow:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    nodes: list[PlacedNode]
    arrows: list[Arrow]


def _depths(ids: Sequence[int], edges: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Each node's longest chain of dependencies (0: depends on nothing); a cycle, which the
    services never let exist, would only stop the walk, not hang it."""
    targets: dict[int, list[int]] = {pk: [] for pk in ids}
    for source, target in edges:
        targets[source].append(target)
    depths: dict[int, int] = {}

    def depth(pk: int, seen: frozenset[int]) -> int:
        if pk not in depths:
            deeper = [depth(t, seen | {pk}) + 1 for t in targets[pk] if t not in seen]
            depths[pk] = max(deeper, default=0)
        return depths[pk]

    for pk in ids:
        depth(pk, frozenset())
    return depths


def _label(name: str) -> str:
    return name if len(name) <= NAME_LENGTH else name[: NAME_LENGTH - 1] + "…"


def _columns(nodes: Mapping[int, Any], depths: dict[int, int]) -> list[list[int]]:
    """Columns from left to right: the deepest dependents first, each layer split into columns of
    at most ``ROWS`` boxes, so that thirty independent components do not make one tall tower."""
    layers: dict[int, list[int]] = {}
    for pk, _node in sorted(nodes.items(), key=lambda item: (item[1].name, item[0])):
        layers.setdefault(depths[pk], []).append(pk)
    return [
        layer[start : start + ROWS]
        for depth in sorted(layers, reverse=True)
        for layer in [layers[depth]]
        for start in range(0, len(layer), ROWS)
    ]


def layout(nodes: Mapping[int, Any], edges: Sequence[tuple[int, int]]) -> Layout:
    """Place ``nodes`` (id → object with ``name``, ``service_id``, ``status``) in columns and draw
    one arrow per ``(dependent, target)`` edge, from the dependent's right edge to the target's
    left edge."""
    edges = [(s, t) for s, t in edges if s in nodes and t in nodes]
    columns = _columns(nodes, _depths(list(nodes), edges))
    placed: dict[int, PlacedNode] = {}
    for column, pks in enumerate(columns):
        for row, pk in enumerate(pks):
            node = nodes[pk]
            x = MARGIN + column * (NODE_WIDTH + COLUMN_GAP)
            y = MARGIN + row * (NODE_HEIGHT + ROW_GAP)
            exposed = bool(getattr(node, "exposed", False))
            elsewhere = str(getattr(node, "application", "") or "")
            placed[pk] = PlacedNode(
                x, y, node.name, _label(node.name), node.service_id, node.status, exposed, elsewhere
            )
    rows = max((len(pks) for pks in columns), default=1)
    count = max(len(columns), 1)
    width = 2 * MARGIN + count * NODE_WIDTH + (count - 1) * COLUMN_GAP
    height = 2 * MARGIN + rows * NODE_HEIGHT + (rows - 1) * ROW_GAP
    arrows = [_arrow(placed[s], placed[t]) for s, t in edges]
    return Layout(width=width, height=height, nodes=list(placed.values()), arrows=arrows)


def _arrow(source: PlacedNode, target: PlacedNode) -> Arrow:
    middle = NODE_HEIGHT // 2
    # Stop short of the box so that the arrow head stays visible against its border.
    return Arrow(source.x + NODE_WIDTH, source.y + middle, target.x - 4, target.y + middle)
