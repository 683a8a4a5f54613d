"""The controller's multi-node arithmetic per era (SEMANTICS §3.2-§3.5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.kserve.controller import (
    compute_layout,
    compute_mp_node_and_gpus,
    compute_ray_node_and_gpus,
    pod_gpu_resource,
    quantity_value,
)
from kubectl_kserve_mn.kserve.eras import era_for, parse_version
from tests.fixture_files import load_objects

RUNTIMES = Path(__file__).parent / "fixtures" / "kserve" / "runtimes"
V014 = era_for(parse_version("v0.14.1"))
V0150 = era_for(parse_version("v0.15.0"))
V0151 = era_for(parse_version("v0.15.1"))
V016 = era_for(parse_version("v0.16.0"))
V017 = era_for(parse_version("v0.17.0"))
V018 = era_for(parse_version("v0.18.0"))

INTEL = "intel.com/gpu"
NVIDIA = "nvidia.com/gpu"


def runtime(name: str) -> dict[str, Any]:
    (obj,) = load_objects(str(RUNTIMES / name))
    return obj


def envtest_runtime() -> dict[str, Any]:
    """The real v0.15.1 runtime with PP=2, as in rawkube_controller_test.go@v0.15.1 (no GPUs in the SR)."""
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.1.yaml")
    rt["spec"]["workerSpec"]["pipelineParallelSize"] = 2
    return rt


def gpus(resource: str, count: int) -> dict[str, Any]:
    return {"requests": {resource: str(count)}, "limits": {resource: str(count)}}


def make_isvc(
    pp: int | None = None,
    tp: int | None = None,
    head: tuple[str, int] | None = None,
    worker: tuple[str, int] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    worker_spec: dict[str, Any] = {}
    if pp is not None:
        worker_spec["pipelineParallelSize"] = pp
    if tp is not None:
        worker_spec["tensorParallelSize"] = tp
    if worker is not None:
        worker_spec["containers"] = [{"name": "worker-container", "resources": gpus(*worker)}]
    model: dict[str, Any] = {"modelFormat": {"name": "huggingface"}, "storageUri": "pvc://m/llama"}
    if head is not None:
        model["resources"] = gpus(*head)
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llama", "namespace": "ml", "annotations": dict(annotations or {})},
        "spec": {"predictor": {"model": model, "workerSpec": worker_spec}},
    }


# SEMANTICS §3.3, worked envtest values (rawkube_controller_test.go@v0.15.1):
# input -> (RAY_NODE_COUNT, head resource, head GPUs, worker resource, worker GPUs, worker replicas)
ENVTEST_TABLE = [
    pytest.param({}, (2, NVIDIA, 1, NVIDIA, 1, 1), id="empty-workerspec"),
    pytest.param({"pp": 5}, (5, NVIDIA, 1, NVIDIA, 1, 4), id="pp5"),
    pytest.param({"tp": 16}, (32, NVIDIA, 1, NVIDIA, 1, 31), id="tp16"),
    pytest.param({"tp": 4, "head": (INTEL, 2)}, (7, INTEL, 2, NVIDIA, 1, 6), id="tp4-head-intel2"),
    pytest.param({"tp": 4, "worker": (INTEL, 2)}, (4, NVIDIA, 2, INTEL, 2, 3), id="tp4-worker-intel2"),
    pytest.param(
        {"tp": 4, "head": (INTEL, 8), "worker": (INTEL, 2)},
        (1, INTEL, 8, INTEL, 0, 0),
        id="tp4-head8-worker2",
    ),
    pytest.param(
        {"tp": 4, "head": (INTEL, 2), "worker": (INTEL, 8)},
        (1, INTEL, 8, INTEL, 0, 0),
        id="tp4-head2-worker8",
    ),
    pytest.param(
        {"tp": 16, "head": (INTEL, 4), "worker": (INTEL, 3)},
        (11, INTEL, 4, INTEL, 3, 10),
        id="tp16-head4-worker3",
    ),
    pytest.param({"pp": 3}, (3, NVIDIA, 1, NVIDIA, 1, 2), id="pp3"),
]


@pytest.mark.parametrize(("inputs", "expected"), ENVTEST_TABLE)
def test_envtest_table_v0151(inputs: dict[str, Any], expected: tuple[int, str, int, str, int, int]) -> None:
    layout = compute_layout(make_isvc(**inputs), envtest_runtime(), V0151)
    nodes, head_res, head_gpus, worker_res, worker_gpus, replicas = expected
    assert layout.error is None
    assert layout.backend == "ray"
    assert layout.node_count == nodes
    assert (layout.head.gpu_resource, layout.head.gpus) == (head_res, head_gpus)
    assert (layout.worker.gpu_resource, layout.worker.gpus) == (worker_res, worker_gpus)
    assert layout.worker_replicas == replicas


def test_envtest_insufficient_gpus_is_invalid_gpu_allocation() -> None:
    layout = compute_layout(
        make_isvc(pp=1, tp=7, head=(INTEL, 2), worker=(INTEL, 4)), envtest_runtime(), V0151
    )
    assert layout.error == (
        "the total required number of GPUs(7) is less than the number of GPUs assigned to the head node(2) "
        "+ worker node(4)"
    )
    assert layout.total_gpus == 7


def test_same_table_holds_on_later_eras() -> None:
    for era in (V016, V017, V018):
        layout = compute_layout(make_isvc(tp=16, head=(INTEL, 4), worker=(INTEL, 3)), envtest_runtime(), era)
        assert (layout.node_count, layout.worker_replicas) == (11, 10)


# --- computeRayNodeAndGPUs directly: the derived cases of §3.3 ------------------------------


def test_over_allocation_is_accepted() -> None:
    assert compute_ray_node_and_gpus(32, 4, 3) == (11, 4, 3, None)  # 4 + 3*10 = 34 >= 32


def test_head_at_least_total_with_workers_is_cut_to_total() -> None:
    assert compute_ray_node_and_gpus(8, 12, 2) == (1, 8, 0, None)


def test_head_at_least_total_without_worker_gpus_keeps_user_head() -> None:
    assert compute_ray_node_and_gpus(8, 12, 0) == (1, 12, 1, None)


def test_no_gpus_anywhere_gives_single_gpu_pods() -> None:
    assert compute_ray_node_and_gpus(16, 0, 0) == (16, 1, 1, None)


def test_head_derived_from_workers_when_unset() -> None:
    assert compute_ray_node_and_gpus(16, 0, 8) == (2, 8, 8, None)
    assert compute_ray_node_and_gpus(12, 0, 8) == (2, 4, 8, None)


def test_workers_only_single_node_when_worker_covers_total() -> None:
    assert compute_ray_node_and_gpus(8, 0, 8) == (1, 8, 0, None)


def test_docs_case_two_tp16_on_8_gpu_workers() -> None:
    # SEMANTICS §8: PP stays 1, TP 16, only RAY_NODE_COUNT changes: 2 nodes of 8 GPUs.
    assert compute_ray_node_and_gpus(16, 8, 8) == (2, 8, 8, None)


def test_insufficient_message_uses_total_worker_gpus() -> None:
    nodes, head, worker, error = compute_ray_node_and_gpus(20, 2, 8)
    assert (nodes, head, worker) == (3, 2, 8)
    assert error == (
        "the total required number of GPUs(20) is less than the number of GPUs assigned to the head node(2) "
        "+ worker node(16)"
    )


def test_limits_only_gpus_are_invisible_to_the_arithmetic() -> None:
    obj = make_isvc(tp=8)
    obj["spec"]["predictor"]["model"]["resources"] = {"limits": {NVIDIA: "8"}}
    layout = compute_layout(obj, envtest_runtime(), V0151)
    assert layout.node_count == 16  # 8 x 2 single-GPU pods: the limit is not a request
    assert layout.head.gpus == 1
    assert layout.head.gpu_resource == NVIDIA  # but the name is found in limits


# --- v0.15.0 ---------------------------------------------------------------------------------


def test_v0150_seed_tp16_gives_every_pod_16_gpus() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.0.yaml")
    obj = make_isvc(tp=16, head=(NVIDIA, 8), worker=(NVIDIA, 8))
    layout = compute_layout(obj, rt, V0150)
    assert (layout.pipeline_parallel_size, layout.tensor_parallel_size) == (2, 16)
    assert (layout.head.gpus, layout.worker.gpus, layout.worker_replicas) == (16, 16, 1)
    assert layout.node_count == 2
    assert layout.error is None
    assert layout.allocated_gpus == 32


def test_v0150_ignores_requested_counts_and_uses_runtime_pp() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.config-runtimes.v0.15.0.yaml")
    layout = compute_layout(make_isvc(tp=4, head=(INTEL, 1)), rt, V0150)
    assert (layout.head.gpu_resource, layout.head.gpus) == (INTEL, 4)
    assert (layout.worker.gpu_resource, layout.worker.gpus) == (NVIDIA, 4)


def test_v0150_json_array_annotation_falls_back_to_nvidia() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.0.yaml")
    ann = {"serving.kserve.io/gpu-resource-types": '["example.com/npu"]'}
    obj = make_isvc(tp=2, head=("example.com/npu", 2), annotations=ann)
    assert compute_layout(obj, rt, V0150).head.gpu_resource == NVIDIA
    assert compute_layout(obj, envtest_runtime(), V0151).head.gpu_resource == "example.com/npu"


def test_v0150_comma_split_annotation_value_matches() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.0.yaml")
    obj = make_isvc(
        tp=2,
        head=("example.com/npu", 2),
        annotations={"serving.kserve.io/gpu-resource-types": "example.com/npu"},
    )
    assert compute_layout(obj, rt, V0150).head.gpu_resource == "example.com/npu"


# --- mp backend ------------------------------------------------------------------------------


def mp_runtime() -> dict[str, Any]:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.20.0.yaml")
    rt["spec"]["annotations"]["multinode/executor-backend"] = "mp"
    return rt


def test_mp_backend_pp4_tp8_gives_four_pods_of_eight() -> None:
    assert compute_mp_node_and_gpus(4, 8) == (4, 8, 8)
    layout = compute_layout(make_isvc(pp=4, tp=8, head=(NVIDIA, 1)), mp_runtime(), V018)
    assert layout.backend == "mp"
    assert (layout.node_count, layout.head.gpus, layout.worker.gpus, layout.worker_replicas) == (4, 8, 8, 3)
    assert layout.error is None


def test_mp_annotation_is_ignored_before_v018() -> None:
    layout = compute_layout(make_isvc(pp=4, tp=8), mp_runtime(), V017)
    assert layout.backend == "ray"
    assert layout.node_count == 32


def test_mp_annotation_in_metadata_does_not_count() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.20.0.yaml")
    rt["metadata"].setdefault("annotations", {})["multinode/executor-backend"] = "mp"
    assert compute_layout(make_isvc(pp=2, tp=2), rt, V018).backend == "ray"


# --- precedence, errors, names ------------------------------------------------------------------


def test_isvc_parallelism_overrides_runtime() -> None:
    layout = compute_layout(make_isvc(pp=3, tp=2), envtest_runtime(), V0151)
    assert (layout.pipeline_parallel_size, layout.tensor_parallel_size, layout.total_gpus) == (3, 2, 6)


def test_runtime_without_worker_container_is_a_controller_error() -> None:
    rt = envtest_runtime()
    rt["spec"]["workerSpec"]["containers"][0]["name"] = "ray-worker"
    assert (
        compute_layout(make_isvc(), rt, V0151).error
        == "failed to find worker-container in ServingRuntime containers"
    )


def test_named_runtime_without_workerspec_is_a_controller_error() -> None:
    rt = envtest_runtime()
    del rt["spec"]["workerSpec"]
    assert "has no workerSpec" in (compute_layout(make_isvc(), rt, V0151).error or "")


def test_v014_has_no_layout() -> None:
    with pytest.raises(ValueError):
        compute_layout(make_isvc(), envtest_runtime(), V014)


def test_pod_resource_prefers_builtin_list_order_and_nonzero() -> None:
    container = {"resources": {"limits": {INTEL: "0", "amd.com/gpu": "2"}, "requests": {NVIDIA: "0"}}}
    assert pod_gpu_resource(container, [NVIDIA, "amd.com/gpu", INTEL]) == "amd.com/gpu"
    assert pod_gpu_resource({}, [NVIDIA]) == NVIDIA


def test_to_json_has_the_issue_keys() -> None:
    data = compute_layout(make_isvc(tp=4, worker=(INTEL, 2)), envtest_runtime(), V0151).to_json()
    assert data == {
        "backend": "ray",
        "pipelineParallelSize": 2,
        "tensorParallelSize": 4,
        "totalGpus": 8,
        "nodeCount": 4,
        "head": {"gpuResource": NVIDIA, "gpus": 2},
        "worker": {"gpuResource": INTEL, "gpus": 2, "replicas": 3},
        "controllerError": None,
    }


@pytest.mark.parametrize(
    ("text", "value"), [("2", 2), (3, 3), ("1500m", 2), ("1k", 1000), ("1Ki", 1024), (0.5, 1)]
)
def test_quantity_value_rounds_up(text: Any, value: int) -> None:
    assert quantity_value(text) == value


def test_bad_quantity_is_an_input_error() -> None:
    with pytest.raises(InputError):
        quantity_value("lots")
