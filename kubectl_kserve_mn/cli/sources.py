"""Where the commands' inputs come from: the cluster or offline files, and the model.

Shared by plan, check and fix so that each reads nodes, pods and the model the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kubectl_kserve_mn.errors import ClusterError, InputError
from kubectl_kserve_mn.inputs.k8s import (
    Node,
    Pod,
    read_nodes_file,
    read_pods_file,
)
from kubectl_kserve_mn.inventory import KSERVE_GPU_RESOURCES

if TYPE_CHECKING:
    from kubectl_kserve_mn.cluster import Cluster
    from kubectl_kserve_mn.kserve.eras import KServeVersion
    from kubectl_kserve_mn.model import ModelFacts

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class ClusterInputs:
    nodes: list[Node]
    pods: list[Pod]
    custom_gpu_resources: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def known_gpu_resources(self) -> tuple[str, ...]:
        return KSERVE_GPU_RESOURCES + tuple(
            r for r in self.custom_gpu_resources if r not in KSERVE_GPU_RESOURCES
        )


def load_cluster_inputs(
    cluster: Cluster | None, nodes_file: str | None, pods_file: str | None
) -> ClusterInputs:
    """Nodes and their pods, from files when given (offline), else from the cluster."""
    if nodes_file:
        return ClusterInputs(read_nodes_file(nodes_file), read_pods_file(pods_file) if pods_file else [])
    if cluster is None:
        raise InputError("no cluster and no --nodes-file")
    nodes, pods = cluster.concurrently(cluster.list_nodes, cluster.list_gpu_pods)
    return ClusterInputs(nodes, pods, cluster.read_multinode_config())


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    # click's FloatRange lets NaN through (every comparison with NaN is false).
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value!r} is not a number between 0 and 1", ctx, param)
    return value


def model_options(func: F) -> F:
    """--model, --gpu-memory, --gpu-memory-utilization and --max-model-len."""
    func = click.option(
        "--max-model-len",
        type=click.IntRange(min=1),
        help="Context length vLLM must hold (default: the model's maximum).",
    )(func)
    func = click.option(
        "--gpu-memory-utilization",
        type=click.FloatRange(min=0, max=1, min_open=True),
        callback=_finite,
        default=0.9,
        show_default=True,
        help="vLLM's --gpu-memory-utilization.",
    )(func)
    func = click.option(
        "--gpu-memory",
        metavar="SIZE",
        help="Memory per GPU (e.g. 80Gi) when node labels do not say (nvidia.com/gpu.memory, amd.com/gpu.vram).",
    )(func)
    return click.option(
        "--model",
        metavar="PATH|DIR|HF_ID",
        help="Model to size for: a config.json, a model directory, or a Hugging Face id.",
    )(func)


def parse_gpu_memory(text: str | None) -> int | None:
    """--gpu-memory in bytes (``80Gi``, ``81559Mi``); None when not given."""
    if text is None:
        return None
    from kubectl_kserve_mn.model import parse_memory_size

    return parse_memory_size(text)


def resolve_model(spec: str | None) -> ModelFacts | None:
    if not spec:
        return None
    from kubectl_kserve_mn.model import load_model

    return load_model(spec)


@dataclass(frozen=True)
class IsvcWish:
    pipeline_parallel: int
    tensor_parallel: int
    gpu_resource: str | None
    model: str | None


def wish_from_isvc(cluster: Cluster, namespace: str, name: str, version: KServeVersion) -> IsvcWish:
    """PP and TP an existing InferenceService asks for (its own values over its runtime's)."""
    from kubectl_kserve_mn.inputs.kserve_objects import validate_live
    from kubectl_kserve_mn.kserve import controller, runtimes
    from kubectl_kserve_mn.model.source import model_spec_from_isvc

    isvc = validate_live(cluster.get_inferenceservice(namespace, name), kserve_version=version)
    if not isinstance(((isvc.get("spec") or {}).get("predictor") or {}).get("workerSpec"), dict):
        raise InputError(
            f"InferenceService {namespace}/{name} is not multi-node (no spec.predictor.workerSpec)"
        )
    try:
        candidates = cluster.list_servingruntimes(namespace) + cluster.list_clusterservingruntimes()
    except ClusterError:
        candidates = []
    choice = runtimes.select_runtime(isvc, candidates)
    if not version.era.multinode:
        raise InputError(
            f"KServe {version.era.key} has no multi-node support (workerSpec is inert before v0.15.0)"
        )
    pp, tp = runtimes.effective_parallelism(isvc, choice.runtime, version.era)
    layout = controller.compute_layout(isvc, choice.runtime, version.era)
    return IsvcWish(pp, tp, layout.head.gpu_resource, model_spec_from_isvc(isvc))
