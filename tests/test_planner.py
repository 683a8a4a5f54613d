from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.kserve.eras import era_for, parse_version
from kubectl_kserve_mn.planner import Layout, PlanRequest, place_pods, plan
from kubectl_kserve_mn.snippet import isvc_snippet
from tests.fixture_files import load_kind
from tests.nodes import gpu_node, gpu_pod, inventory_of

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
V0150 = era_for(parse_version("v0.15.0"))
V0151 = era_for(parse_version("v0.15.1"))
V020 = era_for(parse_version("v0.20.0"))


def two_by_eight() -> list[dict[str, object]]:
    return load_kind(str(EXAMPLES / "cluster-2x8-h100.yaml"), "Node")


@pytest.mark.parametrize("era", [V0150, V0151, V020], ids=lambda e: e.key)
@pytest.mark.parametrize(
    "request_", [PlanRequest(total_gpus=16), PlanRequest(tensor_parallel=16)], ids=["gpus", "tp"]
)
def test_seed_case_two_nodes_of_eight_becomes_pp2_tp8_one_pod_per_node(
    era: object, request_: PlanRequest
) -> None:
    result = plan(inventory_of(two_by_eight(), []), era, request_)  # type: ignore[arg-type]
    rec = result.recommendation
    assert rec is not None
    assert (rec.pipeline_parallel_size, rec.tensor_parallel_size) == (2, 8)
    assert (rec.head_gpus, rec.worker_gpus, rec.worker_replicas) == (8, 8, 1)
    assert sorted(p.node for p in rec.placement) == ["gpu-h100-a", "gpu-h100-b"]
    assert rec.fits_now


def test_v0150_rejects_pipeline_parallel_one_and_tensor_parallel_beyond_the_node() -> None:
    result = plan(inventory_of(two_by_eight(), []), V0150, PlanRequest(tensor_parallel=16))
    reasons = {r.layout: r.reason for r in result.rejected}
    assert "requires pipelineParallelSize >= 2" in reasons["PP=1 x TP=16"]
    assert all(not layout.cross_node_tp for layout in result.alternatives)
    assert any("TP=16" in w and "PP=2 x TP=8" in w for w in result.warnings)


def test_v0151_lists_cross_node_tensor_parallel_as_an_alternative_only() -> None:
    result = plan(inventory_of(two_by_eight(), []), V0151, PlanRequest(tensor_parallel=16))
    assert result.recommendation is not None and not result.recommendation.cross_node_tp
    cross = [a for a in result.alternatives if a.cross_node_tp]
    assert [
        (a.pipeline_parallel_size, a.tensor_parallel_size, a.head_gpus, a.worker_gpus) for a in cross
    ] == [(1, 16, 8, 8)]


def test_allow_cross_node_tp_makes_tp16_over_two_pods_the_recommendation_on_v0151() -> None:
    result = plan(
        inventory_of(two_by_eight(), []), V0151, PlanRequest(tensor_parallel=16, allow_cross_node_tp=True)
    )
    rec = result.recommendation
    assert rec is not None and rec.cross_node_tp
    assert (rec.pipeline_parallel_size, rec.tensor_parallel_size, rec.node_count) == (1, 16, 2)
    assert rec.pod_gpus == [8, 8]


def test_a_wish_that_works_is_kept_even_when_fewer_pods_are_possible() -> None:
    result = plan(
        inventory_of(two_by_eight(), []), V0151, PlanRequest(tensor_parallel=4, pipeline_parallel=2)
    )
    rec = result.recommendation
    assert rec is not None and rec.matches_wish
    assert (rec.pipeline_parallel_size, rec.tensor_parallel_size) == (2, 4)
    # Two 4-GPU pods pack onto one node.
    assert len({p.node for p in rec.placement}) == 1


def test_v0150_eight_gpus_on_eight_gpu_nodes_needs_two_stages_packed_on_one_node() -> None:
    result = plan(inventory_of(two_by_eight(), []), V0150, PlanRequest(total_gpus=8))
    rec = result.recommendation
    assert rec is not None
    assert (rec.pipeline_parallel_size, rec.tensor_parallel_size) == (2, 4)
    assert rec.hosts == 1


def test_layout_that_fits_capacity_but_not_free_gpus_is_reported_as_such() -> None:
    nodes = [gpu_node("a", 8), gpu_node("b", 8)]
    pods = [gpu_pod("busy", "a", 6)]
    result = plan(inventory_of(nodes, pods), V0151, PlanRequest(total_gpus=16))
    assert result.recommendation is not None
    assert not result.recommendation.fits_now
    assert result.recommendation.fits_capacity
    assert any("free right now" in w for w in result.warnings)
    assert any("not the GPUs free right now" in n for n in result.recommendation.notes)


def test_a_smaller_layout_that_fits_now_is_recommended_with_a_warning_about_the_better_one() -> None:
    nodes = [gpu_node("a", 8), gpu_node("b", 8), gpu_node("c", 8)]
    pods = [gpu_pod("busy-a", "a", 6), gpu_pod("busy-b", "b", 2)]  # free: a 2, b 6, c 8
    result = plan(inventory_of(nodes, pods), V0151, PlanRequest(total_gpus=16))
    rec = result.recommendation
    assert rec is not None and rec.fits_now
    assert rec.tensor_parallel_size < 8
    assert any("PP=2 x TP=8" in w and "would be preferred" in w for w in result.warnings)


def test_nothing_fits_gives_no_recommendation_and_a_reason_per_layout() -> None:
    result = plan(inventory_of([gpu_node("a", 4)], []), V0151, PlanRequest(total_gpus=16))
    assert result.recommendation is None
    assert not result.feasible
    assert [r.reason for r in result.rejected] == ["the pool has 4 GPUs (1 schedulable node(s) x 4)"]


def test_unschedulable_nodes_are_never_used_for_placement() -> None:
    nodes = [gpu_node("a", 8), gpu_node("b", 8, cordoned=True), gpu_node("c", 8, ready=False)]
    result = plan(inventory_of(nodes, []), V0151, PlanRequest(total_gpus=8))
    assert result.recommendation is not None
    for layout in [result.recommendation, *result.alternatives]:
        assert {p.node for p in layout.placement} == {"a"}
    assert not plan(inventory_of(nodes, []), V0151, PlanRequest(total_gpus=16)).feasible


def test_shared_gpu_pools_are_rejected_with_the_reason() -> None:
    shared = gpu_node("ts", 8, allocatable=32, labels={"nvidia.com/gpu.replicas": "4"})
    result = plan(inventory_of([shared], []), V0151, PlanRequest(total_gpus=8))
    assert result.recommendation is None
    assert any("not separate tensor-parallel ranks" in r.reason for r in result.rejected)


def test_v014_has_no_multinode_and_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no multi-node"):
        plan(inventory_of(two_by_eight(), []), era_for((0, 14, 1)), PlanRequest(total_gpus=16))


def test_plan_without_a_size_or_model_is_an_input_error() -> None:
    with pytest.raises(InputError, match="--gpus"):
        plan(inventory_of(two_by_eight(), []), V0151, PlanRequest())


def test_never_mixes_pools_in_one_layout() -> None:
    nodes = [gpu_node("h1", 8), gpu_node("l1", 8, product="NVIDIA-L40S", memory_mib=46068)]
    result = plan(inventory_of(nodes, []), V0151, PlanRequest(total_gpus=16))
    # Each pool has one node of 8: 16 GPUs only fit by mixing, which is never done.
    assert result.recommendation is None


def test_isvc_snippet_sets_gpu_requests_only_where_kserve_reads_them() -> None:
    layout = Layout("p", "nvidia.com/gpu", 2, 8, 8, 8, 1)
    old = isvc_snippet(layout, V0150)
    new = isvc_snippet(layout, V0151)
    assert old == {
        "spec": {"predictor": {"workerSpec": {"pipelineParallelSize": 2, "tensorParallelSize": 8}}}
    }
    predictor = new["spec"]["predictor"]
    assert predictor["model"]["resources"]["requests"] == {"nvidia.com/gpu": "8"}
    assert predictor["workerSpec"]["containers"][0]["name"] == "worker-container"
    assert predictor["workerSpec"]["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": "8"}


def test_isvc_snippet_adds_the_gpu_types_annotation_for_resources_kserve_does_not_know() -> None:
    layout = Layout("p", "gpu.intel.com/xe", 2, 4, 4, 4, 1)
    snippet = isvc_snippet(layout, V0151)
    assert (
        snippet["metadata"]["annotations"]["serving.kserve.io/gpu-resource-types"] == '["gpu.intel.com/xe"]'
    )


def test_place_pods_never_overcommits_and_reports_impossible_sets() -> None:
    nodes = inventory_of([gpu_node("a", 8), gpu_node("b", 4)], []).nodes
    assert place_pods([8, 4], nodes, use_free=False) == ["a", "b"]
    assert place_pods([4, 4, 4], nodes, use_free=False) is not None
    assert place_pods([8, 8], nodes, use_free=False) is None


@settings(max_examples=60, deadline=None)
@given(
    node_gpus=st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=6),
    busy=st.lists(st.integers(min_value=0, max_value=8), min_size=6, max_size=6),
    total=st.integers(min_value=1, max_value=32),
    era_version=st.sampled_from(["v0.15.0", "v0.15.1", "v0.18.0"]),
)
def test_planner_invariants_hold_for_any_cluster(
    node_gpus: list[int], busy: list[int], total: int, era_version: str
) -> None:
    era = era_for(parse_version(era_version))
    nodes = [gpu_node(f"n{i}", g) for i, g in enumerate(node_gpus)]
    pods = [
        gpu_pod(f"p{i}", f"n{i}", min(b, g)) for i, (g, b) in enumerate(zip(node_gpus, busy, strict=False))
    ]
    inventory = inventory_of(nodes, pods)
    result = plan(inventory, era, PlanRequest(total_gpus=total))
    by_name = {n.name: n for n in inventory.nodes}
    pool_of = {n.name: p.name for p in inventory.pools for n in p.nodes}
    for layout in [result.recommendation, *result.alternatives]:
        if layout is None:
            continue
        assert layout.tensor_parallel_size * layout.pipeline_parallel_size == total
        assert sum(layout.pod_gpus) >= total
        assert len(layout.placement) == layout.node_count
        assert len({pool_of[p.node] for p in layout.placement}) == 1
        used = Counter()
        for placement in layout.placement:
            used[placement.node] += placement.gpus
        for node_name, gpus in used.items():
            limit = by_name[node_name].free if layout.fits_now else by_name[node_name].allocatable
            assert gpus <= limit
        if era.pod_gpus_are_tp:
            assert layout.pipeline_parallel_size >= 2
            assert set(layout.pod_gpus) == {layout.tensor_parallel_size}


def _isvc_with(snippet: dict[str, object]) -> dict[str, object]:
    """A multi-node InferenceService as a user writes it, with the planner's snippet merged in."""
    from kubectl_kserve_mn.kserve.runtimes import merge_container

    isvc: dict[str, object] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llm", "namespace": "ml", "annotations": {}},
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": "huggingface"}, "storageUri": "pvc://models/llm"},
                "workerSpec": {},
            }
        },
    }
    predictor = isvc["spec"]["predictor"]  # type: ignore[index]
    new_predictor = snippet["spec"]["predictor"]  # type: ignore[index]
    if "model" in new_predictor:
        predictor["model"] = merge_container(predictor["model"], new_predictor["model"])
    predictor["workerSpec"] = new_predictor["workerSpec"]
    return isvc


@settings(max_examples=40, deadline=None)
@given(
    node_gpus=st.sampled_from([2, 4, 8]),
    nodes=st.integers(min_value=1, max_value=4),
    total=st.integers(min_value=1, max_value=32),
    era_version=st.sampled_from(["v0.15.0", "v0.15.1", "v0.16.0", "v0.18.0", "v0.20.0"]),
    cross=st.booleans(),
)
def test_kserve_controller_creates_exactly_the_pods_the_planner_promised(
    node_gpus: int, nodes: int, total: int, era_version: str, cross: bool
) -> None:
    """The snippet the planner prints, run through KServe's controller arithmetic of that era,
    gives the same pod count and GPUs per pod: the plan is what KServe will really create."""
    from kubectl_kserve_mn.kserve.controller import compute_layout
    from kubectl_kserve_mn.kserve.runtimes import shipped_runtime

    era = era_for(parse_version(era_version))
    inventory = inventory_of([gpu_node(f"n{i}", node_gpus) for i in range(nodes)], [])
    result = plan(inventory, era, PlanRequest(total_gpus=total, allow_cross_node_tp=cross))
    for layout in [result.recommendation, *result.alternatives]:
        if layout is None:
            continue
        predicted = compute_layout(_isvc_with(isvc_snippet(layout, era)), shipped_runtime(era), era)
        assert predicted.error is None
        assert predicted.node_count == layout.node_count
        assert predicted.head.gpus == layout.head_gpus
        assert predicted.worker_replicas == layout.worker_replicas
        if layout.worker_replicas:
            assert predicted.worker.gpus == layout.worker_gpus
        assert predicted.pipeline_parallel_size == layout.pipeline_parallel_size
        assert predicted.tensor_parallel_size == layout.tensor_parallel_size


def test_a_single_pod_layout_says_a_single_node_inferenceservice_would_do() -> None:
    result = plan(inventory_of(two_by_eight(), []), V0151, PlanRequest(total_gpus=8))
    assert result.recommendation is not None and result.recommendation.node_count == 1
    assert any("single-node InferenceService" in note for note in result.recommendation.notes)


def test_a_tp_refused_for_every_pp_is_reported_once() -> None:
    from kubectl_kserve_mn.model import load_model

    model = load_model(str(Path(__file__).resolve().parent / "fixtures" / "models" / "Qwen--Qwen2.5-7B.json"))
    result = plan(inventory_of(two_by_eight(), []), V0151, PlanRequest(model=model))
    layouts = [r.layout for r in result.rejected]
    assert "TP=8" in layouts
    assert not [x for x in layouts if x.endswith(" x TP=8")]


def test_a_total_beyond_the_pool_is_rejected_without_enumerating_its_layouts() -> None:
    result = plan(inventory_of(two_by_eight(), []), V0151, PlanRequest(total_gpus=10**12))
    assert result.recommendation is None
    assert [(r.layout, r.reason) for r in result.rejected] == [
        (f"{10**12} GPUs", "the pool has 16 GPUs (2 schedulable node(s) x 8)")
    ]


def _place_by_scanning(pod_gpus: list[int], nodes: list[Any], use_free: bool) -> list[str] | None:
    """The plain best-fit-decreasing scan place_pods must agree with (biggest pod first, onto the node
    with the least room that holds it, the first such node in order)."""
    room = {n.name: (min(n.free, n.physical) if use_free else n.physical) for n in nodes if n.placeable}
    chosen: list[str | None] = [None] * len(pod_gpus)
    for index in sorted(range(len(pod_gpus)), key=lambda i: (-pod_gpus[i], i)):
        best = None
        for name, left in room.items():
            if left >= pod_gpus[index] and (best is None or left < room[best]):
                best = name
        if best is None:
            return None
        room[best] -= pod_gpus[index]
        chosen[index] = best
    return [c for c in chosen if c is not None]


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=12),
    used=st.lists(st.integers(min_value=0, max_value=8), min_size=12, max_size=12),
    pods=st.lists(st.sampled_from([1, 2, 3, 4, 8]), min_size=1, max_size=10),
    use_free=st.booleans(),
)
def test_bucketed_placement_is_exactly_best_fit_decreasing(
    sizes: list[int], used: list[int], pods: list[int], use_free: bool
) -> None:
    names = [f"n{i:02d}" for i in range(len(sizes))]
    nodes = [gpu_node(name, size) for name, size in zip(names, sizes, strict=False)]
    busy = [
        gpu_pod(f"p{i}", name, min(u, size))
        for i, (name, size, u) in enumerate(zip(names, sizes, used, strict=False))
        if min(u, size)
    ]
    inventory_nodes = list(inventory_of(nodes, busy).nodes)
    assert place_pods(pods, inventory_nodes, use_free=use_free) == _place_by_scanning(
        pods, inventory_nodes, use_free
    )
