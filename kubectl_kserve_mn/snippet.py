"""What ``plan`` tells the user to write into the InferenceService for a layout, per KServe era (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubectl_kserve_mn.interconnect import CLIQUE_LABEL
from kubectl_kserve_mn.inventory import KSERVE_GPU_RESOURCES
from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.planner import GPU_RESOURCE_TYPES_ANNOTATION, Layout

# ---------------------------------------------------------------------------------------------
# What to write into the InferenceService


def gpu_resources_block(resource: str, gpus: int) -> dict[str, Any]:
    return {"limits": {resource: str(gpus)}, "requests": {resource: str(gpus)}}


def plan_snippet(
    layout: Layout,
    era: Era,
    *,
    worker_container: str = "worker-container",
    known_gpu_resources: Sequence[str] = KSERVE_GPU_RESOURCES,
) -> dict[str, Any]:
    """What ``plan`` prints: the single-node form (GPUs on the predictor, no workerSpec) for one pod of
    one GPU, else :func:`isvc_snippet`."""
    if layout.total_gpus == 1 and not era.pod_gpus_are_tp:
        snippet: dict[str, Any] = {
            "spec": {"predictor": {"model": {"resources": gpu_resources_block(layout.gpu_resource, 1)}}}
        }
        if layout.gpu_resource not in known_gpu_resources:
            snippet = {
                "metadata": {"annotations": {GPU_RESOURCE_TYPES_ANNOTATION: f'["{layout.gpu_resource}"]'}},
                **snippet,
            }
        return snippet
    return isvc_snippet(
        layout, era, worker_container=worker_container, known_gpu_resources=known_gpu_resources
    )


def isvc_snippet(
    layout: Layout,
    era: Era,
    *,
    worker_container: str = "worker-container",
    known_gpu_resources: Sequence[str] = KSERVE_GPU_RESOURCES,
) -> dict[str, Any]:
    """The part of an InferenceService that makes KServe create ``layout``.

    v0.15.0 sets every pod's GPUs to TP itself, so only the sizes go in. From v0.15.1 the head and
    worker GPU requests decide the pod count (RAY_NODE_COUNT = ceil(TP*PP / worker GPUs)), so both
    are always written explicitly. Tensor parallelism across pods inside an NVLink clique pins the
    head and the workers to that clique (``nodeSelector`` on the predictor and the workerSpec, fields of
    their pod specs).
    """
    worker_spec: dict[str, Any] = {
        "pipelineParallelSize": layout.pipeline_parallel_size,
        "tensorParallelSize": layout.tensor_parallel_size,
    }
    predictor: dict[str, Any] = {}
    if layout.cross_node_tp and layout.nvlink_clique is not None:
        # Tensor parallelism across pods is only fast inside the clique the plan chose: pin head and workers.
        predictor["nodeSelector"] = {CLIQUE_LABEL: layout.nvlink_clique}
        worker_spec["nodeSelector"] = {CLIQUE_LABEL: layout.nvlink_clique}
    if not era.pod_gpus_are_tp:
        predictor["model"] = {"resources": gpu_resources_block(layout.gpu_resource, layout.head_gpus)}
        worker_spec["containers"] = [
            {
                "name": worker_container,
                "resources": gpu_resources_block(layout.gpu_resource, layout.worker_gpus),
            }
        ]
    predictor["workerSpec"] = worker_spec
    snippet: dict[str, Any] = {"spec": {"predictor": predictor}}
    if layout.gpu_resource not in known_gpu_resources:
        snippet = {
            "metadata": {"annotations": {GPU_RESOURCE_TYPES_ANNOTATION: f'["{layout.gpu_resource}"]'}},
            **snippet,
        }
    return snippet
