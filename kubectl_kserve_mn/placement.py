"""Where the pods of a layout go: whole pods on nodes, without over-committing any node, and, for
tensor parallelism across pods, inside one NVLink clique when one holds them (pure)."""

from __future__ import annotations

from bisect import insort
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.inventory import NodeGpus

HEAD = "head"


@dataclass(frozen=True)
class Placement:
    pod: str
    node: str
    gpus: int

    def to_json(self) -> dict[str, Any]:
        return {"pod": self.pod, "node": self.node, "gpus": self.gpus}


@dataclass(frozen=True)
class Where:
    placement: tuple[Placement, ...]
    """On today's free GPUs when they fit, else on the nodes' capacity; empty when neither."""
    fits_now: bool
    fits_capacity: bool
    clique: str | None
    """The NVLink clique of every pod's node (None: several cliques, or nodes without one)."""


def place_pods(pod_gpus: Sequence[int], nodes: Sequence[NodeGpus], *, use_free: bool) -> list[str] | None:
    """Put each pod (its GPU count) on one node without over-committing any node.

    Best-fit decreasing: the biggest pod first, onto the node with the least room that still
    holds it (the first such node in ``nodes`` order), so pods pack onto as few nodes as possible.
    Only nodes that can host whole GPUs are used. Returns the node name per pod (input order), or
    None when they do not all fit.

    Nodes are kept in buckets by room (a handful of distinct values), so each pod costs the number
    of distinct rooms, not the number of nodes: ``check`` places the pods of a thousand objects on
    thousands of nodes."""
    names: list[str] = []
    buckets: dict[int, list[int]] = {}
    for node in nodes:
        if node.placeable:
            left = min(node.free, node.physical) if use_free else node.physical
            buckets.setdefault(left, []).append(len(names))
            names.append(node.name)
    order = sorted(range(len(pod_gpus)), key=lambda i: (-pod_gpus[i], i))
    chosen: list[str | None] = [None] * len(pod_gpus)
    for index in order:
        need = pod_gpus[index]
        rooms = [room for room, members in buckets.items() if room >= need and members]
        if not rooms:
            return None
        room = min(rooms)
        position = buckets[room].pop(0)  # the first node, in nodes order, with the least room
        insort(buckets.setdefault(room - need, []), position)
        chosen[index] = names[position]
    return [name for name in chosen if name is not None]


def pod_names(count: int) -> list[str]:
    return [HEAD] + [f"worker-{i}" for i in range(count - 1)]


def _on(pod_gpus: Sequence[int], nodes: Sequence[NodeGpus]) -> Where:
    now = place_pods(pod_gpus, nodes, use_free=True)
    capacity = now or place_pods(pod_gpus, nodes, use_free=False)
    chosen = now or capacity
    placement = (
        tuple(
            Placement(pod, node, g)
            for pod, node, g in zip(pod_names(len(pod_gpus)), chosen, pod_gpus, strict=True)
        )
        if chosen
        else ()
    )
    by_name = {n.name: n for n in nodes}
    cliques = {by_name[p.node].links.clique for p in placement}
    clique = cliques.pop() if len(cliques) == 1 else None
    return Where(placement, now is not None, capacity is not None, clique)


def place_layout(pod_gpus: Sequence[int], nodes: Sequence[NodeGpus], *, one_clique: bool) -> Where:
    """The pods (GPUs each, head first) on ``nodes``. ``one_clique``: their tensor parallelism spans pods,
    so try one NVLink clique first: the one that fits the free GPUs now, then the one with the fewest free
    GPUs (keeping the roomier cliques for others); when no clique holds them, the whole pool."""
    if one_clique:
        groups: dict[str, list[NodeGpus]] = {}
        for node in nodes:
            if node.placeable and node.links.clique:
                groups.setdefault(node.links.clique, []).append(node)
        need = sum(pod_gpus)
        options = []
        for clique, members in groups.items():
            if sum(n.physical for n in members) < need:
                continue  # too small even empty: no placement to try
            where = _on(pod_gpus, members)
            if where.fits_capacity:
                free = sum(min(n.free, n.physical) for n in members)
                options.append(((not where.fits_now, free, clique), where))
        if options:
            return min(options, key=lambda option: option[0])[1]
    return _on(pod_gpus, nodes)
