"""`kubectl kserve-mn plan`: flags and rendering only; the work is in inventory.py and planner.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

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
    no_headers_option,
    output_option,
    parse_node_selector,
    resolve_kserve_version,
    warn,
)
from kubectl_kserve_mn.cli.plan_render import render_table
from kubectl_kserve_mn.cli.sources import (
    ClusterInputs,
    load_cluster_inputs,
    model_options,
    parse_gpu_memory,
    resolve_model,
)
from kubectl_kserve_mn.cli.terminal import TextStyle
from kubectl_kserve_mn.errors import EXIT_FINDINGS, EXIT_OK, InputError
from kubectl_kserve_mn.inventory import Inventory, build_inventory
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.planner import MemoryOptions, PlanRequest, PlanResult
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
@output_option(
    ("table", "wide", "json", "yaml"),
    "table",
    "Output format. wide: every node, and where the pods of every alternative go.",
)
@no_headers_option
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
    no_headers: bool,
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
            style=TextStyle.for_output(wide=output == "wide", headers=not no_headers),
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
        style = TextStyle.for_output(wide=output == "wide", headers=not no_headers)
        click.echo(render_table(result, version, inventory, style=style, known=known))
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
