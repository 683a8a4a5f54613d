"""`kubectl kserve-mn plan`: flags and rendering only; the work is in inventory.py and planner.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from tabulate import tabulate

from kubectl_kserve_mn import planner
from kubectl_kserve_mn.cli import render
from kubectl_kserve_mn.cli.kinds import KIND_CHOICES, LLM_INFERENCE_SERVICE, kind_of_flag
from kubectl_kserve_mn.cli.options import (
    Command,
    ConnectionOptions,
    check_gpu_resource,
    connect,
    connection_options,
    exit_codes,
    finish,
    kserve_version_option,
    output_option,
    parse_node_selector,
    resolve_kserve_version,
    warn,
)
from kubectl_kserve_mn.cli.sources import (
    ClusterInputs,
    load_cluster_inputs,
    model_options,
    parse_gpu_memory,
    resolve_model,
)
from kubectl_kserve_mn.errors import EXIT_FINDINGS, EXIT_OK, InputError
from kubectl_kserve_mn.inventory import Inventory, build_inventory
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.planner import Layout, MemoryOptions, PlanRequest, PlanResult
from kubectl_kserve_mn.snippet import plan_snippet


@dataclass
class PlanOptions:
    gpus: int | None
    tensor_parallel: int | None
    pipeline_parallel: int | None
    isvc: str | None

    def validate(self) -> None:
        if self.pipeline_parallel is not None and self.tensor_parallel is None:
            if self.gpus is None:
                raise InputError("--pipeline-parallel-size needs --tensor-parallel-size or --gpus")
            if self.gpus % self.pipeline_parallel:
                raise InputError(
                    f"--gpus {self.gpus} is not divisible by --pipeline-parallel-size {self.pipeline_parallel}"
                )
            self.tensor_parallel = self.gpus // self.pipeline_parallel
        if self.gpus is not None and self.tensor_parallel is not None:
            total = self.tensor_parallel * (self.pipeline_parallel or 1)
            if self.pipeline_parallel is None and self.gpus % self.tensor_parallel == 0:
                self.pipeline_parallel = self.gpus // self.tensor_parallel
            elif total != self.gpus:
                raise InputError(
                    f"--gpus {self.gpus} does not equal --tensor-parallel-size x --pipeline-parallel-size ({total})"
                )
        if self.isvc and (self.gpus or self.tensor_parallel):
            raise InputError(
                "--isvc takes the sizes from the InferenceService; do not combine it with --gpus/--tensor-parallel-size"
            )


@click.command(
    "plan",
    cls=Command,
    epilog=exit_codes(
        "a layout is recommended and fits the GPUs free now: you can apply it",
        "no feasible layout for the wish on these nodes, or the recommended one fits only the nodes' "
        "capacity, not the GPUs free now (it is still printed, marked)",
    ),
)
@click.option("--gpus", type=click.IntRange(min=1), help="Total GPUs for one model replica (TP x PP).")
@click.option(
    "--tensor-parallel-size",
    "tensor_parallel",
    type=click.IntRange(min=1),
    help="Wished TP (may be corrected).",
)
@click.option("--pipeline-parallel-size", "pipeline_parallel", type=click.IntRange(min=1), help="Wished PP.")
@click.option(
    "--data-parallel-size",
    "data_parallel",
    type=click.IntRange(min=1),
    help="--kind llmisvc: wished vLLM data-parallel size (ranks across the LeaderWorkerSet's pods).",
)
@click.option("--isvc", metavar="NAME", help="Take the wish from this InferenceService and its runtime.")
@click.option(
    "--kind",
    type=click.Choice(KIND_CHOICES, case_sensitive=False),
    default="inferenceservice",
    show_default=True,
    help="What to plan for: an InferenceService (Ray multi-node), or an LLMInferenceService (llmisvc: the "
    "parallelism block and the leader/worker GPUs).",
)
@click.option(
    "--allow-cross-node-tp",
    is_flag=True,
    help="Prefer tensor parallelism across pods (Ray, v0.15.1+) over pipeline stages; needs InfiniBand/RoCE.",
)
@click.option(
    "--node-selector", multiple=True, metavar="KEY=VALUE", help="Only nodes with these labels (repeatable)."
)
@click.option(
    "--gpu-resource", metavar="NAME", help="Only this GPU resource, e.g. nvidia.com/gpu or amd.com/gpu."
)
@click.option(
    "--nodes-file", metavar="FILE", help="Nodes from `kubectl get nodes -o yaml|json` instead of the cluster."
)
@click.option(
    "--pods-file", metavar="FILE", help="Pods from `kubectl get pods -A -o yaml|json` (with --nodes-file)."
)
@model_options
@kserve_version_option
@output_option(("table", "wide", "json", "yaml"), "table")
@connection_options
def plan_command(
    gpus: int | None,
    tensor_parallel: int | None,
    pipeline_parallel: int | None,
    data_parallel: int | None,
    isvc: str | None,
    kind: str,
    allow_cross_node_tp: bool,
    node_selector: tuple[str, ...],
    gpu_resource: str | None,
    nodes_file: str | None,
    pods_file: str | None,
    model: str | None,
    gpu_memory: str | None,
    gpu_memory_utilization: float,
    max_model_len: int | None,
    kserve_version: str,
    output: str,
    conn: ConnectionOptions,
) -> None:
    """Suggest the best pipeline x tensor parallel layout for the cluster's GPU nodes.

    \b
    Examples:
      # 16 GPUs on the bundled example cluster (2 nodes x 8 H100): PP=2 x TP=8
      kubectl kserve-mn plan --nodes-file examples/cluster-2x8-h100.yaml --gpus 16
      # correct a wish of TP=16 for the current cluster and its KServe version
      kubectl kserve-mn plan --tensor-parallel-size 16
      # size for a model: the fewest nodes that hold Llama-3.1-405B with its context
      kubectl kserve-mn plan --model ./Meta-Llama-3.1-405B/config.json --max-model-len 32768
      # an LLMInferenceService: tensor inside a pod, data-parallel ranks across pods
      kubectl kserve-mn plan --kind llmisvc --gpus 16 --nodes-file examples/cluster-2x8-h100.yaml
    """
    llm = kind_of_flag(kind) == LLM_INFERENCE_SERVICE
    if llm:
        _llm_flags(pipeline_parallel, isvc, allow_cross_node_tp)
    elif data_parallel is not None:
        raise InputError(
            "--data-parallel-size is for --kind llmisvc (an InferenceService has no data parallelism)"
        )
    opts = PlanOptions(gpus, tensor_parallel, pipeline_parallel, isvc)
    if not llm:
        opts.validate()
    selector = parse_node_selector(node_selector)
    gpu_resource = check_gpu_resource(gpu_resource)
    if pods_file and not nodes_file:
        raise InputError("--pods-file needs --nodes-file")
    if isvc and nodes_file:
        raise InputError(
            "--isvc reads the InferenceService from the cluster; it cannot be combined with --nodes-file"
        )
    cluster = None if nodes_file else connect(conn)
    version = resolve_kserve_version(kserve_version, cluster)
    inputs: ClusterInputs = load_cluster_inputs(cluster, nodes_file, pods_file)
    known = inputs.known_gpu_resources
    if isvc:
        assert cluster is not None
        from kubectl_kserve_mn.cli.sources import wish_from_isvc

        wish = wish_from_isvc(cluster, conn.namespace or cluster.namespace, isvc, version)
        opts.pipeline_parallel, opts.tensor_parallel = wish.pipeline_parallel, wish.tensor_parallel
        gpu_resource = gpu_resource or wish.gpu_resource
        model = model or wish.model
    facts = resolve_model(model)
    inventory = build_inventory(inputs.nodes, inputs.pods, gpu_resource=gpu_resource, node_selector=selector)
    if llm:
        from kubectl_kserve_mn.cli.plan_llmisvc import run_plan

        run_plan(
            inventory,
            version,
            gpus=gpus,
            tensor_parallel=tensor_parallel,
            data_parallel=data_parallel,
            model=facts,
            memory=MemoryOptions(
                gpu_memory_bytes=parse_gpu_memory(gpu_memory),
                utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
            ),
            known=known,
            warnings=[*([version.warning] if version.warning else []), *inputs.warnings],
            output=output,
        )
    request = PlanRequest(
        total_gpus=opts.gpus if opts.tensor_parallel is None else None,
        tensor_parallel=opts.tensor_parallel,
        pipeline_parallel=opts.pipeline_parallel,
        allow_cross_node_tp=allow_cross_node_tp,
        known_gpu_resources=known,
        model=facts,
        memory=MemoryOptions(
            gpu_memory_bytes=parse_gpu_memory(gpu_memory),
            utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
        ),
    )
    result = planner.plan(inventory, version.era, request)
    # Warnings go to stderr, never into the table or the JSON a script parses from stdout.
    for message in [
        *([version.warning] if version.warning else []),
        *inputs.warnings,
        *inventory.warnings,
        *result.warnings,
    ]:
        warn(message)
    if output in ("json", "yaml"):
        render.emit(plan_json(result, version, inventory, facts, known), output)
    else:
        click.echo(render_table(result, version, inventory, wide=output == "wide", known=known))
    # 0 means "you can apply this now": a layout that fits only the nodes' capacity is printed, marked, exit 1.
    rec = result.recommendation
    finish(EXIT_OK if rec is not None and rec.fits_now else EXIT_FINDINGS)


plan = plan_command


def _llm_flags(pipeline_parallel: int | None, isvc: str | None, allow_cross_node_tp: bool) -> None:
    """Flags of the InferenceService plan that have no meaning for an LLMInferenceService."""
    if pipeline_parallel is not None:
        raise InputError(
            "--pipeline-parallel-size does not apply to --kind llmisvc: pipeline parallelism across pods needs the "
            "kserve-config-llm-worker-pipeline-parallel preset, which no KServe release ships (kserve#5047); give "
            "--gpus, --tensor-parallel-size and/or --data-parallel-size"
        )
    if isvc is not None:
        raise InputError("--isvc reads an InferenceService; it cannot be combined with --kind llmisvc")
    if allow_cross_node_tp:
        raise InputError(
            "--allow-cross-node-tp does not apply to --kind llmisvc: KServe sizes the LeaderWorkerSet from "
            "data/dataLocal only, so tensor parallelism stays inside a pod (kserve#4946)"
        )


def plan_json(
    result: PlanResult,
    version: KServeVersion,
    inventory: Inventory,
    model: Any,
    known: tuple[str, ...],
) -> dict[str, Any]:
    recommendation = result.recommendation
    data: dict[str, Any] = {
        "kserveVersion": version.version,
        "kserveEra": version.era.key,
        "kserveVersionSource": version.source,
        "gpuResource": result.gpu_resource,
        "pools": [pool.to_json() for pool in result.pools],
        "nodes": [node.to_json() for node in inventory.nodes],
        "recommendation": recommendation.to_json() if recommendation else None,
        "alternatives": [layout.to_json() for layout in result.alternatives],
        "rejected": [r.to_json() for r in result.rejected],
        "warnings": [*result.warnings, *inventory.warnings, *([version.warning] if version.warning else [])],
    }
    if model is not None:
        data["model"] = model.to_json()
    if recommendation is not None:
        data["inferenceServicePatch"] = plan_snippet(recommendation, result.era, known_gpu_resources=known)
    return data


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


def _memory_rows(mem: Any) -> list[list[str]]:
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


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _interconnect_table(result: PlanResult) -> str:
    """Per pool, what links its GPUs: inside a node (the product), NVLink cliques, RDMA (interconnect.py)."""
    rows = []
    for pool in result.pools:
        links = pool.interconnect
        rows.append([pool.name, links.link_text(), links.clique_text(), links.rdma_text()])
    return tabulate(rows, headers=["POOL", "GPU LINK IN NODE", "NVLINK CLIQUES", "RDMA"], tablefmt="plain")


def _nodes_table(inventory: Inventory) -> str:
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
    return tabulate(rows, headers=headers, tablefmt="plain")


def render_table(
    result: PlanResult, version: KServeVersion, inventory: Inventory, *, wide: bool, known: tuple[str, ...]
) -> str:
    out: list[str] = []
    out.append(f"KServe: {version.display}    GPU resource: {result.gpu_resource or '-'}")
    out.append("")
    if result.pools:
        out.append(
            tabulate(
                [
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
                ],
                headers=[
                    "POOL",
                    "RESOURCE",
                    "GPUS/NODE",
                    "GPU MEMORY",
                    "NODES",
                    "UNSCHEDULABLE",
                    "FREE GPUS",
                ],
                tablefmt="plain",
            )
        )
        out.append("")
        out.append(_interconnect_table(result))
        out.append("")
    nodes = inventory.nodes
    if wide or len(nodes) <= 8:
        out.append(_nodes_table(inventory))
        out.append("")
    elif nodes:
        out.append(f"{len(nodes)} GPU nodes (use -o wide to list them)")
        out.append("")
    rec = result.recommendation
    if rec is None:
        out.append("No layout fits.")
    else:
        status = "fits the free GPUs now" if rec.fits_now else "fits capacity only, not the free GPUs now"
        workers = f", {rec.worker_replicas} worker(s) x {rec.worker_gpus} GPUs" if rec.worker_replicas else ""
        out.append(
            f"Recommended: {rec.label} on {rec.pool}: {_pods(rec)}, head {rec.head_gpus} GPUs{workers}; {status}"
        )
        out.append(
            _indent(
                tabulate(
                    [[p.pod, p.node, p.gpus] for p in rec.placement],
                    headers=["POD", "NODE", "GPUS"],
                    tablefmt="plain",
                )
            )
        )
        for note in rec.interconnect:
            out.append(f"  interconnect: {note}")
        for note in rec.notes:
            out.append(f"  note: {note}")
        if rec.memory is not None:
            mem = rec.memory
            out.append("")
            out.append(
                _indent(
                    tabulate(
                        _memory_rows(mem),
                        headers=["MEMORY (per GPU)", ""],
                        tablefmt="plain",
                    )
                )
            )
        out.append("")
        form = " (single-node form)" if rec.total_gpus == 1 and not result.era.pod_gpus_are_tp else ""
        out.append(f"Put this in the InferenceService{form} (KServe {version.era.key} rules):")
        snippet = render.to_yaml(plan_snippet(rec, result.era, known_gpu_resources=known))
        out.extend("  " + line for line in snippet.rstrip().splitlines())
    if result.alternatives:
        out.append("")
        out.append("Alternatives:")
        headers = ["#", "LAYOUT", "POOL", "PODS", "HEAD GPUS", "WORKERS", "FITS NOW"]
        if any(a.memory is not None for a in result.alternatives):
            headers.extend(["KV TOKENS", "MEMORY"])
        headers.append("NOTES")
        out.append(
            _indent(
                tabulate(
                    [_layout_row(i, layout) for i, layout in enumerate(result.alternatives, start=2)],
                    headers=headers,
                    tablefmt="plain",
                    disable_numparse=True,
                )
            )
        )
    if result.rejected:
        out.append("")
        out.append("Rejected:")
        out.append(
            _indent(
                tabulate(
                    [[r.layout, r.pool, r.reason] for r in result.rejected],
                    headers=["LAYOUT", "POOL", "REASON"],
                    tablefmt="plain",
                )
            )
        )
    return "\n".join(out)
