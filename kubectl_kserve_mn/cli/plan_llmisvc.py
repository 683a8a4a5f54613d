"""``plan --kind llmisvc``: rendering the LLMInferenceService plan of :mod:`kubectl_kserve_mn.planner_llmisvc`
(the ``parallelism`` block and the leader/worker GPU requests to paste), as a table or JSON/YAML."""

from __future__ import annotations

from typing import Any

import click

from kubectl_kserve_mn.cli import render
from kubectl_kserve_mn.cli.options import finish, warn
from kubectl_kserve_mn.cli.plan_render import (
    alternatives_and_rejections,
    memory_table,
    nodes_section,
    notes,
    placement_table,
)
from kubectl_kserve_mn.cli.tables import table
from kubectl_kserve_mn.cli.terminal import TextStyle
from kubectl_kserve_mn.errors import EXIT_FINDINGS, EXIT_OK
from kubectl_kserve_mn.inventory import Inventory
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.model import ModelFacts
from kubectl_kserve_mn.planner import MemoryOptions
from kubectl_kserve_mn.planner_llmisvc import (
    LlmPlanRequest,
    LlmPlanResult,
    LlmShape,
    llmisvc_snippet,
    plan_llmisvc,
)

KIND = "LLMInferenceService"


def run_plan(
    inventory: Inventory,
    version: KServeVersion,
    *,
    gpus: int | None,
    tensor_parallel: int | None,
    data_parallel: int | None,
    model: ModelFacts | None,
    memory: MemoryOptions,
    known: tuple[str, ...],
    warnings: list[str],
    output: str,
    style: TextStyle | None = None,
) -> None:
    """Plan, print and exit: 0 when the recommended shape fits the GPUs free now, else 1."""
    request = LlmPlanRequest(
        total_gpus=gpus,
        tensor_parallel=tensor_parallel,
        data_parallel=data_parallel,
        model=model,
        memory=memory,
        known_gpu_resources=known,
    )
    result = plan_llmisvc(inventory, version.era, request)
    for message in [*warnings, *inventory.warnings, *result.warnings]:
        warn(message)
    if output in ("json", "yaml"):
        render.emit(plan_json(result, version, inventory, model), output)
    else:
        click.echo(render_table(result, version, inventory, style=style or TextStyle(wide=output == "wide")))
    rec = result.recommendation
    finish(EXIT_OK if rec is not None and rec.fits_now else EXIT_FINDINGS)


def plan_json(
    result: LlmPlanResult, version: KServeVersion, inventory: Inventory, model: ModelFacts | None
) -> dict[str, Any]:
    rec = result.recommendation
    data: dict[str, Any] = {
        "kind": KIND,
        "kserveVersion": version.version,
        "kserveEra": version.era.key,
        "kserveVersionSource": version.source,
        "gpuResource": rec.gpu_resource if rec is not None else None,
        "pools": [pool.to_json() for pool in result.pools],
        "nodes": [node.to_json() for node in inventory.nodes],
        "recommendation": rec.to_json() if rec is not None else None,
        "alternatives": [shape.to_json() for shape in result.alternatives],
        "rejected": [r.to_json() for r in result.rejected],
        "warnings": [*result.warnings, *inventory.warnings, *([version.warning] if version.warning else [])],
    }
    if model is not None:
        data["model"] = model.to_json()
    if rec is not None:
        data["llmInferenceServicePatch"] = llmisvc_snippet(rec, result.era)
    return data


def _pods(shape: LlmShape) -> str:
    if not shape.multi_node:
        return "1 pod (no worker)"
    return f"LeaderWorkerSet of {shape.pods} pod{'s' if shape.pods != 1 else ''}"


def _row(rank: int, shape: LlmShape) -> list[Any]:
    row: list[Any] = [
        rank,
        shape.label,
        shape.pool,
        _pods(shape),
        shape.pod_gpus,
        "yes" if shape.fits_now else "capacity only",
    ]
    if shape.memory is not None:
        row.append(f"{shape.memory.kv_cache_tokens:,}")
        row.append(shape.memory.verdict_text)
    row.append("; ".join(shape.notes))
    return row


def render_table(
    result: LlmPlanResult, version: KServeVersion, inventory: Inventory, *, style: TextStyle
) -> str:
    out: list[str] = []
    rec = result.recommendation
    if style.headers:
        resource = rec.gpu_resource if rec else "-"
        out += [f"KServe: {version.display}    Kind: {KIND}    GPU resource: {resource}", ""]
    if result.pools:
        pools = [
            [
                p.name,
                p.gpu_resource,
                p.gpus_per_node,
                f"{p.memory_mib:,} MiB" if p.memory_mib else "-",
                len(p.nodes),
                p.free_gpus,
            ]
            for p in result.pools
        ]
        out += [
            table(pools, ["POOL", "RESOURCE", "GPUS/NODE", "GPU MEMORY", "NODES", "FREE GPUS"], style),
            "",
        ]
    out += nodes_section(inventory, style)
    if rec is None:
        out.append("No shape fits.")
    else:
        status = "fits the free GPUs now" if rec.fits_now else "fits capacity only, not the free GPUs now"
        out.append(
            f"Recommended: {rec.label} on {rec.pool}: {_pods(rec)} of {rec.pod_gpus} GPUs "
            f"({rec.total_gpus} in all); {status}"
        )
        out.append(placement_table(rec.placement, style))
        out += notes([("note", n) for n in rec.notes], style)
        if rec.memory is not None:
            out += ["", memory_table(rec.memory, style)]
        out.append("")
        out.append(f"Put this in the LLMInferenceService (KServe {result.era.key} rules):")
        snippet = render.to_yaml(llmisvc_snippet(rec, result.era))
        out.extend("  " + line for line in snippet.rstrip().splitlines())
    out += alternatives_and_rejections(
        result.alternatives,
        [[r.layout, r.pool, r.reason] for r in result.rejected],
        ["#", "SHAPE", "POOL", "PODS", "GPUS/POD", "FITS NOW"],
        _row,
        style,
    )
    return "\n".join(out)
