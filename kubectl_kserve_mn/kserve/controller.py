"""What KServe's controller creates for a multi-node InferenceService, per era (SEMANTICS §3).

- v0.15.0 (``multiNodeProcess`` / ``addGPUResourceToDeployment`` at v0.15.0): every pod gets exactly TP
  GPUs, the worker Deployment has PP-1 replicas.
- v0.15.1+ (PR #4356): ``computeRayNodeAndGPUs`` over the GPU *requests* of the merged head and worker
  containers; an impossible split is the ``InvalidGPUAllocation`` error.
- v0.18.0+ (PR #5366): runtime pod annotation ``multinode/executor-backend: mp`` gives
  ``computeMpNodeAndGPUs``: PP pods with TP GPUs each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.kserve.admission import (
    DEFAULT_GPU_RESOURCES,
    GPU_TYPES_ANNOTATION,
    annotations_of,
    parse_gpu_types_annotation,
)
from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.kserve.runtimes import (
    effective_parallelism,
    merge_error,
    merged_head_container,
    merged_worker_container,
)
from kubectl_kserve_mn.quantity import ceil_value

EXECUTOR_BACKEND_ANNOTATION = "multinode/executor-backend"
FALLBACK_GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True)
class PodGpus:
    gpu_resource: str
    gpus: int


@dataclass(frozen=True)
class ControllerLayout:
    backend: str
    """``ray`` or ``mp``."""
    pipeline_parallel_size: int
    tensor_parallel_size: int
    total_gpus: int
    """TP x PP: the GPUs the model needs."""
    node_count: int
    """RAY_NODE_COUNT: head pod plus worker pods."""
    head: PodGpus
    worker: PodGpus
    worker_replicas: int
    error: str | None
    """The controller's error (InvalidGPUAllocation message, or a runtime merge failure); nothing is
    created when set."""

    @property
    def allocated_gpus(self) -> int:
        """GPUs the created pods hold: head plus every worker replica."""
        return self.head.gpus + self.worker.gpus * self.worker_replicas

    def pod_gpus(self) -> list[tuple[str, int]]:
        """(resource, GPUs) per pod, head first."""
        return [(self.head.gpu_resource, self.head.gpus)] + [
            (self.worker.gpu_resource, self.worker.gpus)
        ] * self.worker_replicas

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "pipelineParallelSize": self.pipeline_parallel_size,
            "tensorParallelSize": self.tensor_parallel_size,
            "totalGpus": self.total_gpus,
            "nodeCount": self.node_count,
            "head": {"gpuResource": self.head.gpu_resource, "gpus": self.head.gpus},
            "worker": {
                "gpuResource": self.worker.gpu_resource,
                "gpus": self.worker.gpus,
                "replicas": self.worker_replicas,
            },
            "controllerError": self.error,
        }


def insufficient_gpus_message(total: int, head: int, workers: int) -> str:
    """``ErrRayClusterInsufficientGPUs`` with arguments (T, H, W x (N-1))."""
    return (
        f"the total required number of GPUs({total}) is less than the number of GPUs assigned to the "
        f"head node({head}) + worker node({workers})"
    )


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def compute_ray_node_and_gpus(
    total: int, head_gpus: int, worker_gpus: int
) -> tuple[int, int, int, str | None]:
    """KServe's ``computeRayNodeAndGPUs`` (v0.15.1+): returns (node count, head GPUs, worker GPUs, error)."""
    head, worker = head_gpus, worker_gpus
    if worker > 0:
        nodes = _ceil_div(total, worker)
        if head > 0 and _ceil_div(total, head) == 1:
            nodes = 1
        if head == 0:
            head = total - worker * (nodes - 1)
        if nodes == 1:
            worker = 0
            head = total
    elif head > 0:
        nodes = 1
        worker = 1
        if total - head > 0:
            nodes = (total - head) + 1
    else:
        nodes, head, worker = total, 1, 1
    if total > head + worker * (nodes - 1):
        return nodes, head, worker, insufficient_gpus_message(total, head, worker * (nodes - 1))
    return nodes, head, worker, None


def compute_mp_node_and_gpus(pipeline_parallel: int, tensor_parallel: int) -> tuple[int, int, int]:
    """``computeMpNodeAndGPUs`` (v0.18.0+): (PP nodes, TP head GPUs, TP worker GPUs)."""
    return pipeline_parallel, tensor_parallel, tensor_parallel


def quantity_value(quantity: Any) -> int:
    """A Kubernetes quantity as ``Quantity.Value()`` gives it: rounded up to an integer."""
    try:
        return ceil_value(quantity)
    except ValueError as err:
        raise InputError(f"{err}: the API server would refuse this object") from None


def global_gpu_types(custom_gpu_types: Sequence[str] = ()) -> list[str]:
    """``constants.DefaultGPUResourceTypeList`` after ``UpdateGlobalGPUResourceTypeList`` (configmap)."""
    types = list(DEFAULT_GPU_RESOURCES)
    types.extend(name for name in custom_gpu_types if name not in types)
    return types


def requested_gpus(container: Mapping[str, Any], global_types: Sequence[str]) -> int:
    """``GetGPUResourceQtyByType(res, "Request")``: the first GPU-named entry of ``requests`` (global list
    only, not the annotation), as ``int(quantity.Value())``; 0 when absent. Go iterates the map in random
    order; with several GPU names we take the first in the object's order."""
    requests = _dict(_dict(container.get("resources")).get("requests"))
    for name, quantity in requests.items():
        if name in global_types:
            return quantity_value(quantity)
    return 0


def limited_gpus(container: Mapping[str, Any], types: Sequence[str]) -> int:
    limits = _dict(_dict(container.get("resources")).get("limits"))
    return sum(quantity_value(q) for name, q in limits.items() if name in types)


def pod_gpu_resource(container: Mapping[str, Any], types: Sequence[str]) -> str:
    """``addGPUResourceToDeployment``: the first type, in list order, with a non-zero quantity in limits
    (then requests) of the container; ``nvidia.com/gpu`` when none."""
    resources = _dict(container.get("resources"))
    limits = _dict(resources.get("limits"))
    requests = _dict(resources.get("requests"))
    for name in types:
        for section in (limits, requests):
            if name in section and quantity_value(section[name]) != 0:
                return name
    return FALLBACK_GPU_RESOURCE


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def pod_annotations(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, *, worker: bool
) -> dict[str, str]:
    """Annotations of the head/worker Deployment: runtime pod annotations, ISVC and predictor annotations."""
    rt_spec = _dict((runtime or {}).get("spec"))
    source = _dict(rt_spec.get("workerSpec")).get("annotations") if worker else rt_spec.get("annotations")
    merged = {str(k): str(v) for k, v in _dict(source).items()}
    merged.update(annotations_of(isvc))
    predictor = _dict(_dict(isvc.get("spec")).get("predictor"))
    merged.update({str(k): str(v) for k, v in _dict(predictor.get("annotations")).items()})
    return merged


def resource_types_for_pod(
    annotations: Mapping[str, str], era: Era, custom_gpu_types: Sequence[str]
) -> list[str]:
    """The GPU names ``addGPUResourceToDeployment`` looks for, in order, for a pod with ``annotations``."""
    types = global_gpu_types(custom_gpu_types)
    value = annotations.get(GPU_TYPES_ANNOTATION, "")
    if not value:
        return types
    if era.pod_gpus_are_tp:
        # v0.15.0 splits the annotation on "," (the webhook demands a JSON array), so a JSON value such
        # as '["x"]' never names a real resource and the controller falls back to nvidia.com/gpu.
        extra = [part for part in value.split(",") if part]
    else:
        extra = parse_gpu_types_annotation(value) or []
    return types + [name for name in extra if name not in types]


def is_mp_backend(runtime: Mapping[str, Any] | None, era: Era) -> bool:
    rt_annotations = _dict(_dict((runtime or {}).get("spec")).get("annotations"))
    return era.mp_backend and rt_annotations.get(EXECUTOR_BACKEND_ANNOTATION) == "mp"


def compute_layout(
    isvc: Mapping[str, Any],
    runtime: Mapping[str, Any] | None,
    era: Era,
    *,
    custom_gpu_types: Sequence[str] = (),
) -> ControllerLayout:
    """What the controller of ``era`` creates for ``isvc`` with ``runtime`` (None: ISVC values only).

    Raises ValueError for eras without multi-node support (v0.14: workerSpec is inert).
    """
    if not era.multinode:
        raise ValueError(f"KServe {era.key} has no multi-node controller logic")
    pp, tp = effective_parallelism(isvc, runtime, era)
    total = tp * pp
    head_container = merged_head_container(isvc, runtime)
    worker_container = merged_worker_container(isvc, runtime)
    head_resource = pod_gpu_resource(
        head_container,
        resource_types_for_pod(pod_annotations(isvc, runtime, worker=False), era, custom_gpu_types),
    )
    worker_resource = pod_gpu_resource(
        worker_container,
        resource_types_for_pod(pod_annotations(isvc, runtime, worker=True), era, custom_gpu_types),
    )
    error = merge_error(isvc, runtime)
    if is_mp_backend(runtime, era):
        nodes, head, worker = compute_mp_node_and_gpus(pp, tp)
        backend = "mp"
    elif era.pod_gpus_are_tp:
        # v0.15.0: RAY_NODE_COUNT does not exist; PP pods, each overwritten to exactly TP GPUs (#4226).
        nodes, head, worker = pp, tp, tp
        backend = "ray"
    else:
        global_types = global_gpu_types(custom_gpu_types)
        nodes, head, worker, ray_error = compute_ray_node_and_gpus(
            total,
            requested_gpus(head_container, global_types),
            requested_gpus(worker_container, global_types),
        )
        error = error or ray_error
        backend = "ray"
    return ControllerLayout(
        backend=backend,
        pipeline_parallel_size=pp,
        tensor_parallel_size=tp,
        total_gpus=total,
        node_count=nodes,
        head=PodGpus(head_resource, head),
        worker=PodGpus(worker_resource, worker),
        worker_replicas=max(nodes - 1, 0),
        error=error,
    )
