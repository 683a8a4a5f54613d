"""The planner's exact output: which layouts exist, in which order, with which pods, notes and reasons.

Written from a mutation audit (docs/testing.md): the older property tests checked the layouts the planner
returned, never that the expected ones exist, so a planner that silently dropped a valid layout (pods
rounded down) passed. Here an independent model of the rules computes the full expected list.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.kserve.eras import Era, era_for, parse_version
from kubectl_kserve_mn.planner import Layout, PlanRequest, Rejection, plan
from tests.nodes import gpu_node, gpu_pod, inventory_of

V0150 = era_for(parse_version("v0.15.0"))
V0151 = era_for(parse_version("v0.15.1"))
V020 = era_for(parse_version("v0.20.0"))
POOL = "NVIDIA-H100-80GB-HBM3-x{}"


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def expected_layouts(
    nodes: int, per_node: int, total: int, era: Era, *, cross: bool, wish: tuple[int, int] | None = None
) -> list[tuple[str, int, int, int]]:
    """(label, head GPUs, worker GPUs, workers) of every layout of ``total`` GPUs on an idle pool of
    ``nodes`` x ``per_node`` GPUs, best first: the rules of planner.py's docstring written out again."""
    if total > nodes * per_node:
        return []
    found = []
    for tp in sorted((d for d in range(1, total + 1) if total % d == 0), reverse=True):
        pp = total // tp
        if pp < era.min_pipeline_parallel:
            continue
        if tp <= per_node:
            if pp > nodes * (per_node // tp):
                continue  # the pods do not pack onto the nodes
            pods, head, worker, hosts, crosses = pp, tp, tp, _ceil(pp, per_node // tp), False
        elif era.pod_gpus_are_tp:
            continue
        else:
            pods = _ceil(total, per_node)
            if pods > nodes:
                continue
            head, worker, hosts, crosses = total - per_node * (pods - 1), per_node, pods, True
        penalty = int(crosses and not cross)
        matches = wish == (pp, tp)
        key = (penalty, not matches, pods, hosts, pp if cross else 0)
        found.append((key, (f"PP={pp} x TP={tp}", head, worker, pods - 1)))
    found.sort(key=lambda item: item[0])  # stable: ties keep the descending-TP order
    return [layout for _, layout in found]


def _shape(layout: Layout) -> tuple[str, int, int, int]:
    return (layout.label, layout.head_gpus, layout.worker_gpus, layout.worker_replicas)


def _all(result: object) -> list[Layout]:
    rec = result.recommendation  # type: ignore[attr-defined]
    return ([rec] if rec is not None else []) + list(result.alternatives)  # type: ignore[attr-defined]


@settings(max_examples=80, deadline=None)
@given(
    nodes=st.integers(min_value=1, max_value=4),
    per_node=st.sampled_from([1, 2, 4, 6, 8]),
    total=st.integers(min_value=1, max_value=36),
    era=st.sampled_from([V0150, V0151, V020]),
    cross=st.booleans(),
)
def test_every_expected_layout_exists_in_the_expected_order_on_an_idle_pool(
    nodes: int, per_node: int, total: int, era: Era, cross: bool
) -> None:
    inventory = inventory_of([gpu_node(f"n{i}", per_node) for i in range(nodes)])
    result = plan(inventory, era, PlanRequest(total_gpus=total, allow_cross_node_tp=cross))
    assert [_shape(x) for x in _all(result)] == expected_layouts(nodes, per_node, total, era, cross=cross)
    for layout in _all(result):
        assert layout.fits_now and layout.fits_capacity
        assert layout.pool == POOL.format(per_node)
        assert layout.total_gpus == total
        assert layout.node_count == 1 + layout.worker_replicas
        assert [p.gpus for p in layout.placement] == layout.pod_gpus
        assert [p.pod for p in layout.placement] == ["head"] + [
            f"worker-{i}" for i in range(layout.worker_replicas)
        ]
        assert layout.hosts == len({p.node for p in layout.placement})
        assert not layout.matches_wish


@settings(max_examples=40, deadline=None)
@given(
    nodes=st.integers(min_value=1, max_value=3),
    per_node=st.sampled_from([2, 4, 8]),
    tp=st.sampled_from([1, 2, 4, 8, 12, 16]),
    pp=st.integers(min_value=1, max_value=4),
    era=st.sampled_from([V0150, V0151, V020]),
)
def test_a_wish_that_fits_is_recommended_and_marked_as_matching(
    nodes: int, per_node: int, tp: int, pp: int, era: Era
) -> None:
    inventory = inventory_of([gpu_node(f"n{i}", per_node) for i in range(nodes)])
    result = plan(inventory, era, PlanRequest(tensor_parallel=tp, pipeline_parallel=pp))
    expected = expected_layouts(nodes, per_node, tp * pp, era, cross=False, wish=(pp, tp))
    assert [_shape(x) for x in _all(result)] == expected
    labels_matching = [x.label for x in _all(result) if x.matches_wish]
    assert labels_matching == (
        [f"PP={pp} x TP={tp}"] if f"PP={pp} x TP={tp}" in [e[0] for e in expected] else []
    )


def test_pp1_tp12_on_two_nodes_of_eight_puts_the_remainder_on_the_head() -> None:
    """ceil(12 / 8) = 2 pods: a head of 12 - 8 = 4 GPUs and one worker of 8 (rounding down loses it)."""
    inventory = inventory_of([gpu_node("a", 8), gpu_node("b", 8)])
    result = plan(inventory, V0151, PlanRequest(tensor_parallel=12, allow_cross_node_tp=True))
    rec = result.recommendation
    assert rec is not None
    assert (rec.label, rec.head_gpus, rec.worker_gpus, rec.worker_replicas) == ("PP=1 x TP=12", 4, 8, 1)
    assert rec.cross_node_tp and rec.matches_wish
    assert [(p.pod, p.node, p.gpus) for p in rec.placement] == [("head", "b", 4), ("worker-0", "a", 8)]
    assert result.warnings == ()
    # Without --allow-cross-node-tp it is still listed, after the layouts that keep TP inside a pod.
    listed = plan(inventory, V0151, PlanRequest(tensor_parallel=12))
    assert [x.label for x in _all(listed)] == [
        "PP=2 x TP=6",
        "PP=3 x TP=4",
        "PP=4 x TP=3",
        "PP=6 x TP=2",
        "PP=12 x TP=1",
        "PP=1 x TP=12",
    ]
    assert listed.warnings == (
        "the requested PP=1 x TP=12 was changed to PP=2 x TP=6: it spreads tensor parallelism across pods "
        "(use --allow-cross-node-tp to prefer it)",
    )


def test_rejections_name_the_era_rule_and_the_pool_exactly() -> None:
    inventory = inventory_of([gpu_node("a", 8), gpu_node("b", 8)])
    result = plan(inventory, V0150, PlanRequest(tensor_parallel=16))
    assert result.rejected == (
        Rejection("PP=1 x TP=16", POOL.format(8), "KServe v0.15.0 requires pipelineParallelSize >= 2"),
    )
    assert [x.label for x in _all(result)] == ["PP=2 x TP=8", "PP=4 x TP=4", "PP=8 x TP=2", "PP=16 x TP=1"]


def test_v0150_refuses_tp_beyond_the_node_with_the_pool_named() -> None:
    inventory = inventory_of([gpu_node("a", 8), gpu_node("b", 8), gpu_node("c", 8)])
    result = plan(inventory, V0150, PlanRequest(total_gpus=24))
    reasons = {r.layout: r.reason for r in result.rejected}
    assert (
        reasons["PP=2 x TP=12"]
        == f"KServe v0.15.0 gives every pod TP=12 GPUs; nodes in {POOL.format(8)} have 8"
    )
    assert reasons["PP=1 x TP=24"] == "KServe v0.15.0 requires pipelineParallelSize >= 2"


def test_pods_that_do_not_pack_are_rejected_with_their_sizes() -> None:
    # 3 nodes of 6: one TP=4 pod per node, so 4 of them (16 GPUs) do not fit although 18 GPUs exist.
    inventory = inventory_of([gpu_node(f"n{i}", 6) for i in range(3)])
    result = plan(inventory, V0151, PlanRequest(total_gpus=16))
    assert result.rejected == (
        Rejection(
            "PP=4 x TP=4", POOL.format(6), "4 pods of 4 GPUs do not fit on 3 schedulable node(s) of 6 GPUs"
        ),
    )
    # TP=16 and TP=8 span pods: ceil(16 / 6) = 3 pods, the head holding 16 - 2 x 6 = 4.
    cross = [_shape(x) for x in _all(result) if x.cross_node_tp]
    assert cross == [("PP=1 x TP=16", 4, 6, 2), ("PP=2 x TP=8", 4, 6, 2)]


def test_free_gpus_decide_fits_now_and_the_capacity_note_counts_the_pool() -> None:
    inventory = inventory_of([gpu_node("a", 8), gpu_node("b", 8)], [gpu_pod("busy", "a", 3)])
    result = plan(inventory, V0151, PlanRequest(total_gpus=16))
    rec = result.recommendation
    assert rec is not None and rec.label == "PP=2 x TP=8"
    assert (rec.fits_now, rec.fits_capacity) == (False, True)
    assert (
        "fits the nodes' capacity but not the GPUs free right now (13 free in pool "
        f"{POOL.format(8)}): pods stay Pending until GPUs are released"
    ) in rec.notes
    assert result.warnings[0] == (
        "no layout fits the GPUs free right now; PP=2 x TP=8 fits the nodes' capacity and will schedule "
        "once GPUs are released"
    )


def test_exactly_the_free_gpus_fit_now() -> None:
    """A node with exactly the GPUs a pod needs free takes it (>=, not >)."""
    inventory = inventory_of([gpu_node("a", 8), gpu_node("b", 8)], [gpu_pod("busy", "a", 4)])
    result = plan(inventory, V0151, PlanRequest(total_gpus=12))
    rec = result.recommendation
    assert rec is not None
    assert rec.fits_now
    assert sorted((p.node, p.gpus) for p in rec.placement) in (
        [("a", 4), ("b", 8)],
        [("a", 4), ("b", 4), ("b", 4)],
    )


def test_a_better_layout_waiting_for_gpus_is_named_with_its_pool_and_pods() -> None:
    nodes = [gpu_node("a", 8), gpu_node("b", 8), gpu_node("c", 8)]
    pods = [gpu_pod("busy-a", "a", 6), gpu_pod("busy-b", "b", 2)]  # free: a 2, b 6, c 8
    result = plan(inventory_of(nodes, pods), V0151, PlanRequest(total_gpus=16))
    rec = result.recommendation
    assert rec is not None and rec.fits_now
    assert (
        f"PP=2 x TP=8 on {POOL.format(8)} (2 pods) would be preferred but fits only the nodes' capacity, "
        f"not the GPUs free right now; {rec.label} fits now"
    ) in result.warnings


def test_single_gpu_and_single_pod_layouts_carry_their_notes() -> None:
    inventory = inventory_of([gpu_node("a", 8)])
    one = plan(inventory, V0151, PlanRequest(total_gpus=1)).recommendation
    assert one is not None
    assert one.notes == (
        "one pod of one GPU: a single-node InferenceService (no workerSpec) is enough, as below",
    )
    pod = plan(inventory, V0151, PlanRequest(total_gpus=4)).recommendation
    assert pod is not None and pod.label == "PP=1 x TP=4"
    assert pod.notes == (
        "one pod holds the whole model: a single-node InferenceService (no workerSpec) would do as well",
    )
    two = plan(inventory, V0151, PlanRequest(tensor_parallel=4, pipeline_parallel=2)).recommendation
    assert two is not None and two.notes == ()


def test_unknown_gpu_resources_and_hard_taints_are_noted() -> None:
    taint = {"key": "dedicated", "value": "llm", "effect": "NoSchedule"}
    nodes = [
        gpu_node("x1", 4, resource="gpu.intel.com/xe", taints=[taint]),
        gpu_node("x2", 4, resource="gpu.intel.com/xe"),
    ]
    result = plan(inventory_of(nodes), V0151, PlanRequest(total_gpus=8))
    rec = result.recommendation
    assert rec is not None and rec.gpu_resource == "gpu.intel.com/xe"
    assert rec.notes == (
        "KServe does not count gpu.intel.com/xe GPUs: add it to customGPUResourceTypeList "
        "(inferenceservice-config, key multiNode) or the controller makes TP x PP single-GPU pods; "
        "the webhook also needs the serving.kserve.io/gpu-resource-types annotation",
        "pods need tolerations for node taints: dedicated=llm:NoSchedule",
    )
    known = plan(
        inventory_of(nodes),
        V0151,
        PlanRequest(total_gpus=8, known_gpu_resources=("nvidia.com/gpu", "gpu.intel.com/xe")),
    ).recommendation
    assert known is not None
    assert known.notes == ("pods need tolerations for node taints: dedicated=llm:NoSchedule",)


def test_pools_that_cannot_place_say_why() -> None:
    mig = gpu_node("m", 7, resource="nvidia.com/mig-1g.10gb")
    cordoned = gpu_node("c", 8, product="NVIDIA-A100-SXM4-80GB", cordoned=True)
    shared = gpu_node("s", 8, product="NVIDIA-L4", allocatable=32, labels={"nvidia.com/gpu.replicas": "4"})
    result = plan(inventory_of([mig, cordoned, shared]), V0151, PlanRequest(total_gpus=4))
    reasons = {r.pool: (r.layout, r.reason) for r in result.rejected}
    assert reasons["NVIDIA-A100-SXM4-80GB-x8"] == ("any", "no schedulable node (NotReady or cordoned)")
    assert reasons["NVIDIA-L4-x8-shared"] == (
        "any",
        "time-sliced/shared GPUs are not separate tensor-parallel ranks",
    )
    mig_pool = next(p for p in reasons if p.endswith("-mig"))
    assert reasons[mig_pool] == ("any", "MIG slices are not whole GPUs")
    assert result.recommendation is None
    assert result.gpu_resource is None


def test_no_gpu_nodes_is_a_warning_and_a_total_below_one_is_refused() -> None:
    empty = plan(inventory_of([]), V0151, PlanRequest(total_gpus=4))
    assert empty.warnings == ("no GPU nodes found (no node advertises a GPU resource)",)
    assert empty.recommendation is None and empty.gpu_resource is None
    with pytest.raises(InputError) as refused:
        plan(inventory_of([gpu_node("a", 8)]), V0151, PlanRequest(total_gpus=0))
    assert str(refused.value) == "the total number of GPUs must be at least 1"
    one_gpu = plan(inventory_of([gpu_node("a", 8)]), V0151, PlanRequest(total_gpus=1))
    assert one_gpu.recommendation is not None and one_gpu.gpu_resource == "nvidia.com/gpu"


def test_gpu_resource_of_a_failed_plan_is_the_single_resource_present() -> None:
    result = plan(inventory_of([gpu_node("a", 4)]), V0151, PlanRequest(total_gpus=16))
    assert result.recommendation is None
    assert result.gpu_resource == "nvidia.com/gpu"
    mixed = inventory_of([gpu_node("a", 4), gpu_node("b", 4, resource="amd.com/gpu")])
    assert plan(mixed, V0151, PlanRequest(total_gpus=16)).gpu_resource is None


def test_layout_json_has_every_field_with_its_value() -> None:
    inventory = inventory_of([gpu_node("a", 8), gpu_node("b", 8)])
    rec = plan(inventory, V0151, PlanRequest(tensor_parallel=16, allow_cross_node_tp=True)).recommendation
    assert rec is not None
    data = rec.to_json()
    assert data == {
        "pool": POOL.format(8),
        "gpuResource": "nvidia.com/gpu",
        "pipelineParallelSize": 1,
        "tensorParallelSize": 16,
        "totalGpus": 16,
        "nodeCount": 2,
        "head": {"gpus": 8},
        "worker": {"gpus": 8, "replicas": 1},
        "placement": [
            {"pod": "head", "node": data["placement"][0]["node"], "gpus": 8},
            {"pod": "worker-0", "node": data["placement"][1]["node"], "gpus": 8},
        ],
        "fitsNow": True,
        "fitsCapacity": True,
        "crossNodeTensorParallel": True,
        "matchesRequest": True,
        "notes": list(rec.notes),
        "nvlinkClique": None,
        "interconnect": list(rec.interconnect),
    }
    assert {p["node"] for p in data["placement"]} == {"a", "b"}
    assert "memory" not in data
    assert Rejection("L", "P", "R").to_json() == {"layout": "L", "pool": "P", "reason": "R"}


def test_a_wish_that_does_not_fit_the_free_gpus_now_is_changed_saying_so() -> None:
    nodes = [gpu_node("a", 8), gpu_node("b", 8), gpu_node("c", 8)]
    pods = [gpu_pod("busy-a", "a", 2), gpu_pod("busy-c", "c", 2)]  # free: a 6, b 8, c 6
    result = plan(inventory_of(nodes, pods), V0151, PlanRequest(tensor_parallel=8, pipeline_parallel=2))
    rec = result.recommendation
    assert rec is not None and rec.fits_now and not rec.matches_wish
    assert result.warnings[0] == (
        f"the requested PP=2 x TP=8 was changed to {rec.label}: it does not fit the GPUs free right now"
    )


def _model(name: str) -> object:
    from pathlib import Path

    from kubectl_kserve_mn.model import load_model

    return load_model(str(Path(__file__).parent / "fixtures" / "models" / f"{name}.json"))


def test_model_sizing_prefers_the_larger_kv_cache_between_equal_layouts() -> None:
    # 405B on 2 x 8 H100 with TP across pods allowed: PP=2 x TP=8 and PP=1 x TP=16 both take 2 pods of 8;
    # without NVLink cliques the larger KV cache decides, not the fewer pipeline stages.
    inventory = inventory_of([gpu_node("a", 8), gpu_node("b", 8)])
    result = plan(
        inventory,
        V0151,
        PlanRequest(model=_model("meta-llama--Meta-Llama-3.1-405B"), allow_cross_node_tp=True),
    )  # type: ignore[arg-type]
    labels = [x.label for x in _all(result)]
    assert labels[:2] == ["PP=2 x TP=8", "PP=1 x TP=16"]
    kv = [x.memory.kv_cache_tokens for x in _all(result)[:2] if x.memory is not None]
    assert kv[0] > kv[1]
    # Two pools of the same shape: the one whose GPUs hold the larger KV cache (H200) comes first.
    pools = inventory_of([gpu_node("h", 8), gpu_node("g", 8, product="NVIDIA-H200", memory_mib=143771)])
    sized = plan(pools, V0151, PlanRequest(model=_model("meta-llama--Meta-Llama-3.1-8B")))  # type: ignore[arg-type]
    assert [(x.label, x.pool) for x in _all(sized)][:2] == [
        ("PP=1 x TP=1", "NVIDIA-H200-x8"),
        ("PP=1 x TP=1", POOL.format(8)),
    ]


def test_model_sizing_warns_when_a_pools_gpu_memory_is_unknown() -> None:
    unknown = inventory_of([gpu_node("h", 8, memory_mib=None)])
    result = plan(unknown, V0151, PlanRequest(model=_model("meta-llama--Meta-Llama-3.1-8B")))  # type: ignore[arg-type]
    assert result.warnings == (
        f"GPU memory of pool {POOL.format(8)} is unknown (no nvidia.com/gpu.memory or amd.com/gpu.vram label): "
        "memory was not checked; pass --gpu-memory",
    )
    known = plan(
        inventory_of([gpu_node("h", 8)]), V0151, PlanRequest(model=_model("meta-llama--Meta-Llama-3.1-8B"))
    )  # type: ignore[arg-type]
    assert known.warnings == ()


def test_a_pool_where_no_layout_passes_the_model_says_so_once_per_pool() -> None:
    result = plan(
        inventory_of([gpu_node("a", 1)]), V0151, PlanRequest(model=_model("meta-llama--Meta-Llama-3.1-405B"))
    )  # type: ignore[arg-type]
    assert result.recommendation is None
    assert [(r.layout, r.reason) for r in result.rejected][-1] == (
        "any",
        "no layout within the pool passes the model's rules",
    )
    assert result.rejected[0].layout == "PP=1 x TP=1"
    assert result.rejected[0].reason.endswith("(and no PP up to 1 fits this pool)")


def test_a_cross_node_tp_wish_says_when_no_nvlink_clique_holds_its_pods() -> None:
    # Two 4-GPU trays in different cliques: TP=8 would span them over the slow path. The reason names
    # the cliques only where the pool has any (interconnect.py reads nvidia.com/gpu.clique).
    clique = "nvidia.com/gpu.clique"
    apart = inventory_of(
        [gpu_node("tray-a", 4, labels={clique: "c1.1"}), gpu_node("tray-b", 4, labels={clique: "c2.1"})]
    )
    plain = inventory_of([gpu_node("tray-a", 4), gpu_node("tray-b", 4)])
    request = PlanRequest(tensor_parallel=8, pipeline_parallel=1)
    changed = (
        "the requested PP=1 x TP=8 was changed to PP=2 x TP=4: it spreads tensor parallelism across pods"
    )
    advice = " (use --allow-cross-node-tp to prefer it)"
    assert plan(apart, V020, request).warnings == (changed + " and no NVLink clique holds them all" + advice,)
    assert plan(plain, V020, request).warnings == (changed + advice,)
