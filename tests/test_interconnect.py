"""The interconnect rules (issue 13 §3): what node labels and resources say about NVLink cliques, RDMA
and NVLink inside a node; how the planner places tensor parallelism across pods in one clique; and the
``tp-spans-interconnect`` finding of ``check``. Pure functions, no CLI."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_kserve_mn.findings import WARNING, check_inferenceservice
from kubectl_kserve_mn.interconnect import NVLINK, PCIE, gpu_link, node_links
from kubectl_kserve_mn.kserve.admission import admit_inferenceservice
from kubectl_kserve_mn.kserve.controller import compute_layout
from kubectl_kserve_mn.kserve.eras import era_for, from_flag, parse_version
from kubectl_kserve_mn.kserve.runtimes import merge_container
from kubectl_kserve_mn.planner import PlanRequest, place_pods, plan
from kubectl_kserve_mn.snippet import isvc_snippet
from tests.fixture_files import kserve_runtime, load_kind
from tests.nodes import gpu_node, gpu_pod, inventory_of, node_view

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
V0150 = era_for(parse_version("v0.15.0"))
V0151 = era_for(parse_version("v0.15.1"))
CLIQUE = "nvidia.com/gpu.clique"
CLIQUE_A = "7b968a6d-c8aa-45e1-9e07-e1e51be99c31.1"
CLIQUE_B = "c2f3a9e0-5d1b-4c6e-8f7a-2b9d0e4c6a18.1"
NFD_AVAILABLE = "feature.node.kubernetes.io/rdma.available"
NFD_PCI = "feature.node.kubernetes.io/pci-10de.present"
RDMA_SHARED = "rdma/rdma_shared_device_a"


def gb200_example() -> list[dict[str, Any]]:
    return load_kind(str(EXAMPLES / "cluster-gb200-cliques.yaml"), "Node")


def h100_rdma_example() -> list[dict[str, Any]]:
    return load_kind(str(EXAMPLES / "cluster-2x8-h100-rdma.yaml"), "Node")


def without_cliques(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    nodes = copy.deepcopy(nodes)
    for node in nodes:
        del node["metadata"]["labels"][CLIQUE]
    return nodes


def gb200(name: str, clique: str | None, **kw: Any) -> dict[str, Any]:
    labels = {CLIQUE: clique} if clique else {}
    return gpu_node(name, 4, product="NVIDIA-GB200", memory_mib=189471, labels=labels, **kw)


def with_rdma_resource(
    node: dict[str, Any], resource: str = RDMA_SHARED, count: str = "63"
) -> dict[str, Any]:
    node["status"]["capacity"][resource] = count
    node["status"]["allocatable"][resource] = count
    return node


# --- what the labels say ---------------------------------------------------------------------------


def test_clique_and_rdma_are_read_from_gfd_and_nfd_labels_and_rdma_device_resources() -> None:
    links = node_links(
        {CLIQUE: f" {CLIQUE_A} ", NFD_AVAILABLE: "true", "feature.node.kubernetes.io/rdma.capable": "True"},
        {"nvidia.com/gpu": 4, RDMA_SHARED: 63, "nvidia.com/hostdev": 0, "hugepages-2Mi": 0},
    )
    assert links.clique == CLIQUE_A
    assert links.rdma_resources == (RDMA_SHARED,)  # a resource with nothing allocatable gives nothing
    assert links.rdma_labels == (NFD_AVAILABLE, "feature.node.kubernetes.io/rdma.capable")
    assert links.rdma and links.nfd


@pytest.mark.parametrize(
    "resource",
    [
        "rdma/hca_shared_devices_a",
        "nvidia.com/hostdev",
        "nvidia.com/rdma_ib",
        "vpc.amazonaws.com/efa",
        "networking.gke.io.networks/rdma-0",
    ],
)
def test_rdma_device_resources_of_the_known_device_plugins_count_as_rdma(resource: str) -> None:
    assert node_links({}, {resource: 1}).rdma_resources == (resource,)


def test_legacy_nfd_custom_prefix_counts_and_a_false_label_does_not() -> None:
    # NFD before v0.14 wrote its static RDMA rules as custom-rdma.*; "false" is not RDMA.
    legacy = node_links({"feature.node.kubernetes.io/custom-rdma.capable": "true"}, {})
    assert legacy.rdma
    off = node_links({NFD_AVAILABLE: "false", NFD_PCI: "true"}, {"nvidia.com/gpu": 8})
    assert not off.rdma and off.nfd and off.clique is None


@pytest.mark.parametrize(
    ("product", "link"),
    [
        ("NVIDIA-H100-80GB-HBM3", NVLINK),
        ("NVIDIA-A100-SXM4-80GB", NVLINK),
        ("A100-SXM4-40GB", NVLINK),  # older drivers: no NVIDIA- prefix
        ("NVIDIA-H200", NVLINK),
        ("NVIDIA-B200", NVLINK),
        ("NVIDIA-GB200", NVLINK),
        ("NVIDIA-H100-PCIe", PCIE),
        ("NVIDIA-A100-PCIE-40GB", PCIE),
        ("NVIDIA-L40S", PCIE),
        ("NVIDIA-L4", PCIE),
        ("NVIDIA-A10G", PCIE),
        ("Tesla-T4", PCIE),
        ("NVIDIA-H200-NVL", None),
        ("NVIDIA-H100-NVL", None),
        ("AMD_Instinct_MI300X_OAM", None),
        (None, None),
    ],
)
def test_gpu_product_says_whether_the_node_has_nvlink_inside(product: str | None, link: str | None) -> None:
    assert gpu_link(product) == link


def test_cliques_are_an_attribute_of_each_node_not_separate_pools() -> None:
    inventory = inventory_of(gb200_example(), [])
    (pool,) = inventory.pools
    assert pool.name == "NVIDIA-GB200-x4" and len(pool.nodes) == 4
    links = pool.interconnect
    assert [(c.id, c.nodes, c.gpus) for c in links.cliques] == [
        (CLIQUE_A, ("gb200-r1-t1", "gb200-r1-t2"), 8),
        (CLIQUE_B, ("gb200-r2-t1", "gb200-r2-t2"), 8),
    ]
    data = pool.to_json()["interconnect"]
    assert data["rdma"] is True and data["rdmaResources"] == []
    assert data["source"] == {
        "nvlinkClique": CLIQUE,
        "rdma": [NFD_AVAILABLE, "feature.node.kubernetes.io/rdma.capable"],
        "gpuLink": "nvidia.com/gpu.product=NVIDIA-GB200",
    }
    assert data["gpuLink"] == NVLINK


def test_a_pool_has_rdma_only_when_every_node_shows_it() -> None:
    nodes = h100_rdma_example()
    nodes.append(gpu_node("plain", 8, labels={NFD_PCI: "true"}))
    (pool,) = inventory_of(nodes, []).pools
    links = pool.interconnect
    assert not links.rdma
    assert links.rdma_nodes == ("gpu-h100-rdma-a", "gpu-h100-rdma-b")
    assert links.nodes_without_rdma == ("plain",)
    assert links.rdma_resources == (RDMA_SHARED,)
    assert links.rdma_text() == f"{RDMA_SHARED} on 2 of 3 nodes"


# --- the planner -----------------------------------------------------------------------------------


def test_tp8_wish_on_gb200_cliques_is_kept_with_both_pods_in_one_clique() -> None:
    result = plan(inventory_of(gb200_example(), []), V0151, PlanRequest(tensor_parallel=8))
    rec = result.recommendation
    assert rec is not None and rec.matches_wish and rec.cross_node_tp
    assert (rec.pipeline_parallel_size, rec.tensor_parallel_size, rec.pod_gpus) == (1, 8, [4, 4])
    assert rec.nvlink_clique == CLIQUE_A
    assert sorted(p.node for p in rec.placement) == ["gb200-r1-t1", "gb200-r1-t2"]
    assert any("inside NVLink clique" in n for n in rec.interconnect)
    assert any("IMEX channel" in n and "ComputeDomain" in n for n in rec.interconnect)
    assert not result.warnings


def test_tp8_wish_on_the_same_nodes_without_cliques_becomes_pp2_tp4_as_before() -> None:
    result = plan(inventory_of(without_cliques(gb200_example()), []), V0151, PlanRequest(tensor_parallel=8))
    rec = result.recommendation
    assert rec is not None and not rec.cross_node_tp
    assert (rec.pipeline_parallel_size, rec.tensor_parallel_size) == (2, 4)
    assert any("spreads tensor parallelism across pods" in w for w in result.warnings)
    cross = next(a for a in result.alternatives if a.cross_node_tp)
    assert cross.nvlink_clique is None
    assert any("over the network" in n for n in cross.interconnect)


def test_the_clique_with_free_gpus_is_chosen_when_the_other_is_busy() -> None:
    pods = [gpu_pod("busy", "gb200-r1-t1", 2)]
    result = plan(inventory_of(gb200_example(), pods), V0151, PlanRequest(tensor_parallel=8))
    rec = result.recommendation
    assert rec is not None and rec.fits_now and rec.nvlink_clique == CLIQUE_B
    assert {p.node for p in rec.placement} == {"gb200-r2-t1", "gb200-r2-t2"}


def test_tp_beyond_any_clique_prefers_pipeline_stages_across_cliques() -> None:
    result = plan(inventory_of(gb200_example(), []), V0151, PlanRequest(tensor_parallel=16))
    rec = result.recommendation
    assert rec is not None and not rec.cross_node_tp
    assert (rec.pipeline_parallel_size, rec.tensor_parallel_size) == (4, 4)
    assert any("pipeline stages span NVLink cliques" in n for n in rec.interconnect)
    assert any("no NVLink clique holds them all" in w for w in result.warnings)


def test_gpus_on_a_clique_pool_prefer_tensor_over_pipeline_parallelism_within_the_clique() -> None:
    result = plan(inventory_of(gb200_example(), []), V0151, PlanRequest(total_gpus=8))
    rec = result.recommendation
    assert rec is not None
    assert (rec.pipeline_parallel_size, rec.tensor_parallel_size, rec.nvlink_clique) == (1, 8, CLIQUE_A)


def test_v0150_gives_every_pod_tp_gpus_so_a_clique_does_not_help() -> None:
    result = plan(inventory_of(gb200_example(), []), V0150, PlanRequest(tensor_parallel=8))
    rec = result.recommendation
    assert rec is not None and (rec.pipeline_parallel_size, rec.tensor_parallel_size) == (2, 4)
    assert not any(layout.cross_node_tp for layout in result.alternatives)


def test_a_model_larger_than_one_tray_uses_tensor_parallelism_across_the_clique() -> None:
    from kubectl_kserve_mn.model import load_model
    from kubectl_kserve_mn.planner import MemoryOptions

    model = load_model(
        str(Path(__file__).parent / "fixtures" / "models" / "meta-llama--Meta-Llama-3.1-405B.json")
    )
    request = PlanRequest(model=model, memory=MemoryOptions(max_model_len=8192))
    with_cliques = plan(inventory_of(gb200_example(), []), V0151, request).recommendation
    assert with_cliques is not None and with_cliques.nvlink_clique is not None
    assert (with_cliques.pipeline_parallel_size, with_cliques.tensor_parallel_size) == (1, 8)
    plain = plan(inventory_of(without_cliques(gb200_example()), []), V0151, request).recommendation
    assert plain is not None and (plain.pipeline_parallel_size, plain.tensor_parallel_size) == (2, 4)


def test_rdma_notes_name_the_resource_to_request_and_no_rdma_says_tcp() -> None:
    rdma = plan(inventory_of(h100_rdma_example(), []), V0151, PlanRequest(total_gpus=16))
    rec = rdma.recommendation
    assert rec is not None and (rec.pipeline_parallel_size, rec.tensor_parallel_size) == (2, 8)
    assert any(f"request {RDMA_SHARED}" in n and "gpu-resource-types" in n for n in rec.interconnect)
    cross = next(a for a in rdma.alternatives if a.cross_node_tp)
    assert any("RDMA on every node" in n for n in cross.interconnect)
    seed = plan(
        inventory_of(load_kind(str(EXAMPLES / "cluster-2x8-h100.yaml"), "Node"), []),
        V0151,
        PlanRequest(total_gpus=16),
    )
    assert seed.recommendation is not None and seed.recommendation.interconnect == ()
    seed_cross = next(a for a in seed.alternatives if a.cross_node_tp)
    assert any("no RDMA found" in n and "NET/Socket" in n for n in seed_cross.interconnect)


def test_pcie_only_gpus_say_tensor_parallelism_runs_over_pcie() -> None:
    nodes = [gpu_node("l40s", 8, product="NVIDIA-L40S", memory_mib=46068)]
    rec = plan(inventory_of(nodes, []), V0151, PlanRequest(tensor_parallel=4)).recommendation
    assert rec is not None and any("no NVLink" in n and "PCIe" in n for n in rec.interconnect)


def _isvc_with(snippet: dict[str, Any]) -> dict[str, Any]:
    isvc: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llm",
            "namespace": "ml",
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "serving.kserve.io/autoscalerClass": "none",
            },
        },
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": "huggingface"}, "storageUri": "pvc://models/llm"},
                "workerSpec": {},
            }
        },
    }
    predictor, new = isvc["spec"]["predictor"], snippet["spec"]["predictor"]
    predictor["model"] = merge_container(predictor["model"], new["model"])
    predictor["workerSpec"] = new["workerSpec"]
    if "nodeSelector" in new:
        predictor["nodeSelector"] = new["nodeSelector"]
    return isvc


def test_the_snippet_pins_the_clique_and_kserve_still_makes_the_promised_pods() -> None:
    rec = plan(inventory_of(gb200_example(), []), V0151, PlanRequest(tensor_parallel=8)).recommendation
    assert rec is not None
    snippet = isvc_snippet(rec, V0151)
    predictor = snippet["spec"]["predictor"]
    assert predictor["nodeSelector"] == {CLIQUE: CLIQUE_A}
    assert predictor["workerSpec"]["nodeSelector"] == {CLIQUE: CLIQUE_A}
    isvc = _isvc_with(snippet)
    assert admit_inferenceservice(isvc, V0151).allowed
    layout = compute_layout(isvc, kserve_runtime("v0.15.1"), V0151)
    assert (layout.node_count, layout.head.gpus, layout.worker.gpus) == (2, 4, 4)
    # ... and check finds nothing to say about it: both pods can only land in that clique.
    report = check_inferenceservice(
        isvc, [kserve_runtime("v0.15.1")], from_flag("v0.15.1"), nodes=node_view(gb200_example())
    )
    assert [f.code for f in report.findings] == []


@settings(max_examples=60, deadline=None)
@given(
    cliques=st.lists(st.sampled_from(["c1", "c2", "c3", None]), min_size=1, max_size=6),
    busy=st.lists(st.integers(min_value=0, max_value=4), min_size=6, max_size=6),
    gpus=st.sampled_from([2, 4]),
    total=st.integers(min_value=1, max_value=24),
    allow=st.booleans(),
)
def test_planner_invariants_hold_on_pools_with_cliques(
    cliques: list[str | None], busy: list[int], gpus: int, total: int, allow: bool
) -> None:
    nodes = [gpu_node(f"n{i}", gpus, labels={CLIQUE: c} if c else {}) for i, c in enumerate(cliques)]
    pods = [gpu_pod(f"p{i}", f"n{i}", min(b, gpus)) for i, b in enumerate(busy[: len(nodes)])]
    inventory = inventory_of(nodes, pods)
    result = plan(inventory, V0151, PlanRequest(total_gpus=total, allow_cross_node_tp=allow))
    by_name = {n.name: n for n in inventory.nodes}
    for layout in [result.recommendation, *result.alternatives]:
        if layout is None:
            continue
        assert layout.tensor_parallel_size * layout.pipeline_parallel_size == total
        assert len(layout.placement) == layout.node_count
        used: Counter[str] = Counter()
        for placement in layout.placement:
            used[placement.node] += placement.gpus
        for name, count in used.items():
            assert count <= (by_name[name].free if layout.fits_now else by_name[name].allocatable)
        placed_cliques = {by_name[p.node].links.clique for p in layout.placement}
        if layout.nvlink_clique is not None:
            assert placed_cliques == {layout.nvlink_clique}
        if layout.cross_node_tp and layout.nvlink_clique is None:
            # Spanning cliques only when no single clique can hold the pods, even by capacity.
            for clique in {c for c in cliques if c}:
                members = [n for n in inventory.nodes if n.links.clique == clique]
                assert place_pods(layout.pod_gpus, members, use_free=False) is None
    rec = result.recommendation
    if rec is not None and not allow and rec.cross_node_tp and rec.nvlink_clique is None:
        # Tensor parallelism over the network is recommended only when nothing else fits as well.
        assert not any(
            a.fits_now >= rec.fits_now and not (a.cross_node_tp and a.nvlink_clique is None)
            for a in result.alternatives
        )


# --- check: tp-spans-interconnect --------------------------------------------------------------------


def isvc(tp: int, head: int, worker: int, *, pp: int = 1, selector: dict[str, str] | None = None,
         extra: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    def resources(gpus: int) -> dict[str, Any]:
        amounts = {"nvidia.com/gpu": str(gpus), **(extra or {})}
        return {"requests": dict(amounts), "limits": dict(amounts)}

    predictor: dict[str, Any] = {
        "model": {
            "modelFormat": {"name": "huggingface"},
            "storageUri": "pvc://models/llama",
            "resources": resources(head),
        },
        "workerSpec": {
            "pipelineParallelSize": pp,
            "tensorParallelSize": tp,
            "containers": [{"name": "worker-container", "resources": resources(worker)}],
        },
    }
    if selector:
        predictor["nodeSelector"] = dict(selector)
        predictor["workerSpec"]["nodeSelector"] = dict(selector)
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llama",
            "namespace": "ml",
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "serving.kserve.io/autoscalerClass": "none",
                **(annotations or {}),
            },
        },
        "spec": {"predictor": predictor},
    }


def check(obj: dict[str, Any], nodes: list[dict[str, Any]], pods: list[dict[str, Any]] | None = None) -> Any:
    return check_inferenceservice(
        obj, [kserve_runtime("v0.15.1")], from_flag("v0.15.1"), nodes=node_view(nodes, pods)
    )


def interconnect(report: Any) -> list[Any]:
    return [f for f in report.findings if f.code == "tp-spans-interconnect"]


def test_tp_across_pods_that_can_land_in_two_cliques_is_a_warning_naming_the_clique_to_pin() -> None:
    (finding,) = interconnect(check(isvc(8, 4, 4), gb200_example()))
    assert finding.severity == WARNING
    assert "TP=8" in finding.message and "2 cliques" in finding.message
    assert f"nodeSelector {CLIQUE}: {CLIQUE_A}" in (finding.suggestion or "")
    assert "IMEX" in (finding.suggestion or "")


def test_the_suggested_clique_is_one_whose_free_gpus_hold_the_pods() -> None:
    busy = [gpu_pod("busy", "gb200-r1-t2", 1)]
    (finding,) = interconnect(check(isvc(8, 4, 4), gb200_example(), busy))
    assert f"{CLIQUE}: {CLIQUE_B}" in (finding.suggestion or "")


def test_pods_pinned_to_one_clique_or_keeping_tp_inside_a_pod_get_no_finding() -> None:
    assert interconnect(check(isvc(8, 4, 4, selector={CLIQUE: CLIQUE_B}), gb200_example())) == []
    assert interconnect(check(isvc(4, 4, 4, pp=2), gb200_example())) == []


def test_no_clique_holding_the_pods_suggests_keeping_tp_inside_a_pod() -> None:
    (finding,) = interconnect(check(isvc(16, 4, 4), gb200_example()))
    assert "no single clique holds" in (finding.suggestion or "")
    assert "--tensor-parallel-size 4 --pipeline-parallel-size 4" in (finding.suggestion or "")


def test_tp_across_pods_on_nodes_without_rdma_is_a_warning_when_nfd_says_so_and_info_when_it_cannot() -> None:
    seed_nodes = load_kind(str(EXAMPLES / "cluster-2x8-h100.yaml"), "Node")  # NFD labels, no RDMA
    (finding,) = interconnect(check(isvc(16, 8, 8), seed_nodes))
    assert finding.severity == WARNING and "NET/Socket" in finding.message
    assert "fix llama -n ml --tensor-parallel-size 8 --pipeline-parallel-size 2" in (finding.suggestion or "")
    (unknown,) = interconnect(check(isvc(16, 8, 8), [gpu_node("a", 8), gpu_node("b", 8)]))
    assert unknown.severity == "info" and "may be there unseen" in unknown.message


def test_rdma_nodes_whose_device_the_pods_do_not_request_are_a_warning() -> None:
    (finding,) = interconnect(check(isvc(16, 8, 8), h100_rdma_example()))
    assert finding.severity == WARNING
    assert f"device resource {RDMA_SHARED}" in finding.message and "do not request" in finding.message


def test_requesting_the_rdma_device_on_head_and_worker_is_clean_and_annotated_rdma_is_not_a_gpu() -> None:
    annotation = {"serving.kserve.io/gpu-resource-types": f'["{RDMA_SHARED}"]'}
    obj = isvc(16, 8, 8, extra={RDMA_SHARED: "1"}, annotations=annotation)
    report = check(obj, h100_rdma_example())
    assert report.admission.allowed
    assert [f.code for f in report.findings] == []


def test_an_rdma_device_without_the_annotation_is_rejected_and_not_advised_into_the_gpu_list() -> None:
    report = check(isvc(16, 8, 8, extra={RDMA_SHARED: "1"}), h100_rdma_example())
    unknown = [f for f in report.findings if f.code in ("gpu-resource-unknown", "admission-rejected")]
    assert unknown and not report.admission.allowed
    for finding in unknown:
        assert "customGPUResourceTypeList" not in (finding.suggestion or "") or "leave it out" in (
            finding.suggestion or ""
        )


def test_only_the_head_requesting_rdma_leaves_the_workers_on_tcp() -> None:
    obj = isvc(16, 8, 8, annotations={"serving.kserve.io/gpu-resource-types": f'["{RDMA_SHARED}"]'})
    obj["spec"]["predictor"]["model"]["resources"]["requests"][RDMA_SHARED] = "1"
    obj["spec"]["predictor"]["model"]["resources"]["limits"][RDMA_SHARED] = "1"
    (finding,) = interconnect(check(obj, h100_rdma_example()))
    assert "only the head requests an RDMA device" in finding.message
    assert finding.suggestion == f"request {RDMA_SHARED} in the worker container as well"


def test_single_gpu_pods_without_requests_split_tp_too() -> None:
    obj = isvc(8, 4, 4)
    del obj["spec"]["predictor"]["model"]["resources"]
    del obj["spec"]["predictor"]["workerSpec"]["containers"]
    report = check(obj, gb200_example())
    assert report.layout is not None and report.layout.node_count == 8
    (finding,) = interconnect(report)
    assert "1 GPU each" in finding.message


# --- fix: the clique the plan chose is written down --------------------------------------------------


def test_fix_keeps_tp8_on_gb200_pins_the_clique_and_undo_removes_the_pin() -> None:
    from kubectl_kserve_mn import patch
    from kubectl_kserve_mn.undo import plan_undo

    obj = isvc(8, 4, 4)
    del obj["spec"]["predictor"]["model"]["resources"]
    del obj["spec"]["predictor"]["workerSpec"]["containers"]
    era = from_flag("v0.15.1").era
    fixed = patch.plan_fix(obj, kserve_runtime("v0.15.1"), era, inventory_of(gb200_example(), []))
    assert fixed.layout is not None and fixed.layout.label == "PP=1 x TP=8"
    predictor = fixed.after["spec"]["predictor"]
    assert predictor["nodeSelector"] == {CLIQUE: CLIQUE_A}
    assert predictor["workerSpec"]["nodeSelector"] == {CLIQUE: CLIQUE_A}
    assert any("nodeSelector nvidia.com/gpu.clique" in c.summary for c in fixed.changes)
    assert fixed.controller is not None and (fixed.controller.head.gpus, fixed.controller.worker.gpus) == (
        4,
        4,
    )
    report = check_inferenceservice(
        fixed.after, [kserve_runtime("v0.15.1")], from_flag("v0.15.1"), nodes=node_view(gb200_example())
    )
    assert interconnect(report) == []
    undo = plan_undo(fixed.after, era)
    assert undo is not None
    restored = undo.after["spec"]["predictor"]
    assert "nodeSelector" not in restored and "nodeSelector" not in restored["workerSpec"]


def test_fix_on_nodes_without_cliques_writes_no_node_selector() -> None:
    from kubectl_kserve_mn import patch

    obj = isvc(8, 4, 4)
    del obj["spec"]["predictor"]["model"]["resources"]
    del obj["spec"]["predictor"]["workerSpec"]["containers"]
    era = from_flag("v0.15.1").era
    fixed = patch.plan_fix(
        obj, kserve_runtime("v0.15.1"), era, inventory_of(without_cliques(gb200_example()), [])
    )
    assert fixed.layout is not None and fixed.layout.label == "PP=2 x TP=4"
    assert "nodeSelector" not in fixed.after["spec"]["predictor"]
