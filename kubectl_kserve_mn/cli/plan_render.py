"""``plan``'s text output (``-o table|wide``): pools, interconnect, nodes, the recommendation with its pods'
placement and the YAML to paste, the alternatives and the rejected layouts. Shared with ``plan --kind llmisvc``
(:mod:`.plan_llmisvc`): the nodes, memory and placement tables.

``-o wide`` lists every node (not only up to 8) and the placement of every alternative's pods, like the
recommendation's; ``--no-headers`` drops the ``KServe:`` line and the tables' header rows; notes wrap to the
terminal (:mod:`.terminal`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from kubectl_kserve_mn.cli import render
from kubectl_kserve_mn.cli.tables import indent, table, wrap
from kubectl_kserve_mn.cli.terminal import TextStyle
from kubectl_kserve_mn.inventory import Inventory
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.placement import Placement
from kubectl_kserve_mn.planner import Layout, PlanResult
from kubectl_kserve_mn.snippet import plan_snippet

NODES_SHOWN = 8
"""More GPU nodes than this are listed only with ``-o wide``."""


def _pods(layout: Layout) -> str:
    """``2 pods on 1 node``: KServe's pod count (RAY_NODE_COUNT) and the nodes they are placed on."""
    pods = f"{layout.node_count} pod{'s' if layout.node_count != 1 else ''}"
    if not layout.placement:
        return pods
    return f"{pods} on {layout.hosts} node{'s' if layout.hosts != 1 else ''}"


def _layout_row(rank: int | str, layout: Layout) -> list[Any]:
    row: list[Any] = [
        rank,
        layout.label,
        layout.pool,
        _pods(layout),
        layout.head_gpus,
        f"{layout.worker_replicas} x {layout.worker_gpus}" if layout.worker_replicas else "-",
        "yes" if layout.fits_now else "capacity only",
    ]
    if layout.memory is not None:
        row.append(f"{layout.memory.kv_cache_tokens:,}")
        row.append(layout.memory.verdict_text)
    row.append("; ".join((*layout.interconnect, *layout.notes)) or "")
    return row


def memory_rows(mem: Any) -> list[list[str]]:
    """The recommendation's per-GPU memory, as vLLM will budget it (the stage that decides the verdict)."""
    gib = float(2**30)
    reserve = mem.reserve
    rows = [["GPU memory (label)", f"{mem.gpu_memory_bytes / gib:.2f} GiB"]]
    if mem.base is not None:
        measured = "" if mem.base.known else ", assumed"
        rows.append(
            [
                "CUDA total (driver keeps)",
                f"{mem.base.cuda_total_bytes / gib:.2f} GiB ({mem.base.driver_reserved_bytes / gib:.2f} GiB{measured})",
            ]
        )
    rows += [
        [f"budget (x{mem.utilization:g})", f"{mem.budget_bytes / gib:.2f} GiB"],
        ["weights per GPU", f"{mem.per_gpu_weights_bytes / gib:.2f} GiB"],
        ["activation peak", f"{reserve.activation / gib:.2f} GiB"],
        ["non-torch (NCCL, cuBLAS)", f"{reserve.non_torch / gib:.2f} GiB"],
    ]
    if reserve.cuda_graphs:
        rows.append(["CUDA graphs", f"{reserve.cuda_graphs / gib:.2f} GiB"])
    rows += [
        ["KV cache per GPU", f"{mem.kv_cache_bytes / gib:.2f} GiB"],
        ["KV cache tokens", f"{mem.kv_cache_tokens:,}"],
        ["max model len", f"{mem.max_model_len:,}"],
        ["concurrent full-length requests", f"{mem.concurrency:.1f}"],
        [
            "vLLM starts",
            f"{mem.verdict_text} (margin {mem.margin_bytes / gib:+.1f} GiB, uncertainty ±{mem.uncertainty_bytes / gib:.1f} GiB)",
        ],
    ]
    return rows


def memory_table(mem: Any, style: TextStyle) -> str:
    return indent(table(memory_rows(mem), ["MEMORY (per GPU)", ""], style))


def _interconnect_table(result: PlanResult, style: TextStyle) -> str:
    """Per pool, what links its GPUs: inside a node (the product), NVLink cliques, RDMA (interconnect.py)."""
    rows = []
    for pool in result.pools:
        links = pool.interconnect
        rows.append([pool.name, links.link_text(), links.clique_text(), links.rdma_text()])
    return table(rows, ["POOL", "GPU LINK IN NODE", "NVLINK CLIQUES", "RDMA"], style)


def nodes_table(inventory: Inventory, style: TextStyle) -> str:
    """The nodes, with their clique and RDMA columns when any node has one."""
    nodes = inventory.nodes
    cliques = any(n.links.clique for n in nodes)
    rdma = any(n.links.rdma for n in nodes)
    headers = ["NODE", "GPU", "ALLOCATABLE", "REQUESTED", "FREE", "STATUS", "TAINTS"]
    headers += ["CLIQUE"] * cliques + ["RDMA"] * rdma
    rows = []
    for n in nodes:
        row: list[Any] = [
            n.name,
            n.product or n.gpu_resource,
            n.allocatable,
            n.requested,
            n.free,
            n.status,
            ",".join(n.taints) or "-",
        ]
        if cliques:
            row.append(n.links.clique or "-")
        if rdma:
            row.append(",".join(n.links.rdma_resources) or ("label" if n.links.rdma_labels else "-"))
        rows.append(row)
    return table(rows, headers, style)


def nodes_section(inventory: Inventory, style: TextStyle) -> list[str]:
    """The nodes table (every node with ``-o wide``, else up to :data:`NODES_SHOWN`), or how many there are."""
    nodes = inventory.nodes
    if style.wide or len(nodes) <= NODES_SHOWN:
        return [nodes_table(inventory, style), ""]
    if nodes:
        return [f"{len(nodes)} GPU nodes (use -o wide to list them)", ""]
    return []


def placement_table(placement: Sequence[Placement], style: TextStyle, prefix: str = "  ") -> str:
    """Where each pod goes: ``POD NODE GPUS``."""
    rows = [[p.pod, p.node, p.gpus] for p in placement]
    return indent(table(rows, ["POD", "NODE", "GPUS"], style), prefix)


def alternatives_placement(
    entries: Sequence[tuple[int, str, Sequence[Placement]]], style: TextStyle
) -> list[str]:
    """``-o wide``: under the alternatives, the placement of each one's pods (rank, title, placement)."""
    if not entries:
        return []
    out = ["", "Placement of the alternatives:"]
    for rank, title, placement in entries:
        out.append(f"  #{rank} {title}:")
        if placement:
            out.append(placement_table(placement, style, "    "))
        else:
            out.append("    not placed: the pods do not fit the nodes")
    return out


def notes(lines: Sequence[tuple[str, str]], style: TextStyle) -> list[str]:
    """``  label: text`` lines (the recommendation's notes): on a terminal wrapped under their text, else one
    line each, as they always were (``grep note:`` finds the whole note)."""
    out = []
    for label, text in lines:
        first = f"  {label}: "
        if style.table_width is None:
            out.append(first + text)
        else:
            out.append(
                wrap(first + text, "", " " * len(first), replace(style, paragraph_width=style.table_width))
            )
    return out


def render_table(
    result: PlanResult,
    version: KServeVersion,
    inventory: Inventory,
    *,
    style: TextStyle,
    known: tuple[str, ...],
) -> str:
    out: list[str] = []
    if style.headers:
        out += [f"KServe: {version.display}    GPU resource: {result.gpu_resource or '-'}", ""]
    if result.pools:
        pools = [
            [
                p.name,
                p.gpu_resource,
                p.gpus_per_node,
                f"{p.memory_mib:,} MiB" if p.memory_mib else "-",
                len(p.nodes),
                len(p.unschedulable),
                p.free_gpus,
            ]
            for p in result.pools
        ]
        headers = ["POOL", "RESOURCE", "GPUS/NODE", "GPU MEMORY", "NODES", "UNSCHEDULABLE", "FREE GPUS"]
        out += [table(pools, headers, style), "", _interconnect_table(result, style), ""]
    out += nodes_section(inventory, style)
    rec = result.recommendation
    if rec is None:
        out.append("No layout fits.")
    else:
        status = "fits the free GPUs now" if rec.fits_now else "fits capacity only, not the free GPUs now"
        workers = f", {rec.worker_replicas} worker(s) x {rec.worker_gpus} GPUs" if rec.worker_replicas else ""
        out.append(
            f"Recommended: {rec.label} on {rec.pool}: {_pods(rec)}, head {rec.head_gpus} GPUs{workers}; {status}"
        )
        out.append(placement_table(rec.placement, style))
        out += notes(
            [*(("interconnect", n) for n in rec.interconnect), *(("note", n) for n in rec.notes)], style
        )
        if rec.memory is not None:
            out += ["", memory_table(rec.memory, style)]
        out.append("")
        form = " (single-node form)" if rec.total_gpus == 1 and not result.era.pod_gpus_are_tp else ""
        out.append(f"Put this in the InferenceService{form} (KServe {version.era.key} rules):")
        snippet = render.to_yaml(plan_snippet(rec, result.era, known_gpu_resources=known))
        out.extend("  " + line for line in snippet.rstrip().splitlines())
    out += alternatives_and_rejections(
        result.alternatives,
        [[r.layout, r.pool, r.reason] for r in result.rejected],
        ["#", "LAYOUT", "POOL", "PODS", "HEAD GPUS", "WORKERS", "FITS NOW"],
        _layout_row,
        style,
    )
    return "\n".join(out)


def alternatives_and_rejections(
    alternatives: Sequence[Any],
    rejected: Sequence[list[str]],
    columns: list[str],
    row: Callable[[int, Any], list[Any]],
    style: TextStyle,
) -> list[str]:
    """The "Alternatives:" table (ranked from 2; ``columns`` then the memory columns when a model sized
    them, then NOTES; with ``-o wide`` each one's placement) and the "Rejected:" table (shape, pool,
    reason). ``columns[1]`` names the shape column of both: LAYOUT for InferenceServices, SHAPE for
    LLMInferenceServices."""
    out: list[str] = []
    if alternatives:
        out += ["", "Alternatives:"]
        headers = list(columns)
        if any(a.memory is not None for a in alternatives):
            headers.extend(["KV TOKENS", "MEMORY"])
        headers.append("NOTES")
        rows = [row(i, alternative) for i, alternative in enumerate(alternatives, start=2)]
        out.append(indent(table(rows, headers, style, indent=2, wrap_last=True, numparse=False)))
        if style.wide:
            out += alternatives_placement(
                [(i, f"{a.label} on {a.pool}", a.placement) for i, a in enumerate(alternatives, start=2)],
                style,
            )
    if rejected:
        out += ["", "Rejected:"]
        out.append(indent(table(rejected, [columns[1], "POOL", "REASON"], style, indent=2, wrap_last=True)))
    return out
