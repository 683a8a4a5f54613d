"""The GPU inventory's exact values: free GPUs, sharing, MIG, taints, pools, memory and their JSON.

Written from a mutation audit (docs/testing.md): each test pins a value a plausible slip would change.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs.k8s import pods_from_dicts
from kubectl_kserve_mn.inventory import (
    gpu_memory_mib,
    is_gpu_resource,
    pod_effective_request,
    pod_is_active_on_node,
    pool_name,
)
from tests.nodes import gpu_node, gpu_pod, inventory_of

GPU = "nvidia.com/gpu"
H100 = "NVIDIA-H100-80GB-HBM3"


def _node_json(name: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "gpuResource": GPU,
        "product": H100,
        "memoryMiB": 81559,
        "capacity": 8,
        "allocatable": 8,
        "requested": 0,
        "free": 8,
        "physicalGpus": 8,
        "schedulable": True,
        "shared": False,
        "mig": False,
        "taints": [],
    }
    return base | overrides


def test_free_gpus_never_go_below_zero_when_pods_hold_more_than_is_allocatable() -> None:
    # A device plugin that lost GPUs (allocatable 8 -> 4) while pods still hold 6: 0 free, not -2.
    inventory = inventory_of([gpu_node("a", 8, allocatable=4)], [gpu_pod("p", "a", 6)])
    (node,) = inventory.nodes
    assert (node.allocatable, node.requested, node.free) == (4, 6, 0)
    assert node.to_json()["free"] == 0
    assert inventory.pools[0].free_gpus == 0
    assert inventory.pools[0].to_json()["freeGpus"] == 0


def test_node_json_has_every_field_with_its_value() -> None:
    inventory = inventory_of([gpu_node("a", 8)], [gpu_pod("p", "a", 3)])
    data = inventory.nodes[0].to_json()
    interconnect = data.pop("interconnect")
    assert data == _node_json("a", requested=3, free=5)
    assert isinstance(interconnect, dict)


def test_pool_json_has_every_field_with_its_value() -> None:
    nodes = [gpu_node("a", 8), gpu_node("b", 8, cordoned=True), gpu_node("c", 8)]
    inventory = inventory_of(nodes, [gpu_pod("p", "c", 2)])
    data = inventory.pools[0].to_json()
    interconnect = data.pop("interconnect")
    assert data == {
        "name": f"{H100}-x8",
        "gpuResource": GPU,
        "product": H100,
        "gpusPerNode": 8,
        "memoryMiB": 81559,
        "nodes": 2,
        "nodeNames": ["a", "c"],
        "unschedulableNodes": ["b"],
        "freeGpus": 14,
        "shared": False,
        "mig": False,
    }
    assert isinstance(interconnect, dict)
    assert inventory.to_json()["pools"][0]["name"] == f"{H100}-x8"
    assert [n["name"] for n in inventory.to_json()["nodes"]] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("kwargs", "status", "schedulable"),
    [
        ({}, "Ready", True),
        ({"ready": False}, "NotReady", False),
        ({"cordoned": True}, "SchedulingDisabled", False),
        ({"ready": False, "cordoned": True}, "NotReady,SchedulingDisabled", False),
    ],
)
def test_node_status_names_each_reason_it_cannot_take_pods(
    kwargs: dict[str, bool], status: str, schedulable: bool
) -> None:
    (node,) = inventory_of([gpu_node("a", 8, **kwargs)]).nodes
    assert node.status == status
    assert node.schedulable is schedulable
    assert node.placeable is schedulable


def test_shared_and_mig_nodes_show_it_in_their_status() -> None:
    shared = gpu_node("s", 2, allocatable=8, labels={"nvidia.com/gpu.replicas": "4"})
    (node,) = inventory_of([shared]).nodes
    assert (node.status, node.shared, node.mig, node.physical, node.placeable) == (
        "Shared",
        True,
        False,
        2,
        False,
    )
    mig = gpu_node("m", 7, resource="nvidia.com/mig-1g.10gb")
    (slices,) = inventory_of([mig]).nodes
    assert (slices.status, slices.mig, slices.physical, slices.placeable) == ("MIG", True, 0, False)


def test_shared_gpus_without_a_count_label_are_allocatable_over_replicas() -> None:
    labels = {"nvidia.com/gpu.replicas": "4"}
    node = gpu_node("s", 2, allocatable=8, labels=labels)
    del node["metadata"]["labels"]["nvidia.com/gpu.count"]
    (entry,) = inventory_of([node]).nodes
    assert entry.physical == 2  # 8 replicas / 4 per GPU
    odd = gpu_node("t", 2, allocatable=8, labels={"nvidia.com/gpu.sharing-strategy": "mps"})
    del odd["metadata"]["labels"]["nvidia.com/gpu.count"]
    (mps,) = inventory_of([odd]).nodes
    assert (mps.shared, mps.physical) == (True, 8)  # no replicas label: one per GPU


def test_a_sharing_strategy_of_none_or_empty_is_not_sharing() -> None:
    for strategy in ("none", ""):
        (node,) = inventory_of([gpu_node("a", 8, labels={"nvidia.com/gpu.sharing-strategy": strategy})]).nodes
        assert (node.shared, node.physical, node.placeable) == (False, 8, True)
    (one,) = inventory_of([gpu_node("a", 8, labels={"nvidia.com/gpu.replicas": "1"})]).nodes
    assert one.shared is False


def test_shared_resource_name_and_shared_product_mark_sharing_only_for_nvidia() -> None:
    (renamed,) = inventory_of([gpu_node("r", 8, resource="nvidia.com/gpu.shared")]).nodes
    assert renamed.shared is True
    (product,) = inventory_of([gpu_node("p", 8, product="NVIDIA-A100-SXM4-40GB-SHARED")]).nodes
    assert product.shared is True
    amd = gpu_node("amd", 8, resource="amd.com/gpu", labels={"nvidia.com/gpu.replicas": "4"})
    (not_nvidia,) = inventory_of([amd]).nodes
    assert (not_nvidia.shared, not_nvidia.physical) == (False, 8)


def test_mig_product_renamed_by_the_single_strategy_is_mig() -> None:
    (node,) = inventory_of([gpu_node("m", 7, product="NVIDIA-A100-SXM4-40GB-MIG-1g.5gb")]).nodes
    assert (node.mig, node.physical) == (True, 0)
    (amd,) = inventory_of(
        [gpu_node("a", 8, resource="amd.com/gpu", labels={"amd.com/gpu.product-name": "X-MIG-Y"})]
    ).nodes
    assert amd.mig is False


def test_pool_names_follow_product_gpus_and_kind() -> None:
    shared = gpu_node("s", 2, product="NVIDIA-L4", allocatable=8, labels={"nvidia.com/gpu.replicas": "4"})
    shared_product = gpu_node("sp", 8, product="NVIDIA-A10-SHARED")
    mig = gpu_node(
        "m", 7, resource="nvidia.com/mig-1g.10gb", labels={"nvidia.com/mig-1g.10gb.product": "A100-MIG"}
    )
    intel = gpu_node("i", 4, resource="gpu.intel.com/xe")
    names = sorted(p.name for p in inventory_of([shared, shared_product, mig, intel]).pools)
    assert names == sorted(
        ["NVIDIA-L4-x2-shared", "NVIDIA-A10-SHARED-x8", "A100-MIG-x7-mig", "gpu.intel.com/xe-x4"]
    )
    assert pool_name("r", None, 3) == "r-x3"
    assert pool_name("r", "P", 3) == "P-x3"


def test_pools_sort_placeable_first_then_by_size_then_name() -> None:
    nodes = [
        gpu_node("small", 4, product="NVIDIA-L4"),
        gpu_node("big1", 8, product="NVIDIA-A100"),
        gpu_node("big2", 8, product="NVIDIA-A100"),
        gpu_node("mid", 8, product="NVIDIA-B200"),
        gpu_node("off", 8, product="NVIDIA-H200", cordoned=True),
        gpu_node("tie", 4, product="NVIDIA-A10"),
    ]
    pools = inventory_of(nodes).pools
    assert [p.name for p in pools] == [
        "NVIDIA-A100-x8",
        "NVIDIA-B200-x8",
        "NVIDIA-A10-x4",
        "NVIDIA-L4-x4",
        "NVIDIA-H200-x8",
    ]
    assert [p.placeable for p in pools] == [True, True, True, True, False]


def test_products_spelled_with_and_without_the_vendor_prefix_form_one_pool() -> None:
    nodes = [gpu_node("a", 8, product="NVIDIA-H100-80GB-HBM3"), gpu_node("b", 8, product="h100-80gb-hbm3")]
    (pool,) = inventory_of(nodes).pools
    assert [n.name for n in pool.nodes] == ["a", "b"]
    assert pool.product == "NVIDIA-H100-80GB-HBM3"


def test_pool_memory_is_the_smallest_node_memory() -> None:
    nodes = [
        gpu_node("a", 8, memory_mib=81559),
        gpu_node("b", 8, memory_mib=80000),
        gpu_node("c", 8, memory_mib=None),
    ]
    (pool,) = inventory_of(nodes).pools
    assert pool.memory_mib == 80000
    (unknown,) = inventory_of([gpu_node("x", 8, memory_mib=None)]).pools
    assert unknown.memory_mib is None


def test_gpu_memory_from_labels_per_vendor_and_mig_profile() -> None:
    assert gpu_memory_mib({"nvidia.com/gpu.memory": "81559"}, GPU) == 81559
    assert gpu_memory_mib({"amd.com/gpu.vram": "192G"}, "amd.com/gpu") == 192 * 1024
    mig = "nvidia.com/mig-1g.10gb"
    assert gpu_memory_mib({f"{mig}.memory": "9856", "nvidia.com/gpu.memory": "40960"}, mig) == 9856
    assert gpu_memory_mib({"nvidia.com/gpu.memory": "40960"}, mig) is None
    assert gpu_memory_mib({"gpu.intel.com/memory": "1"}, "gpu.intel.com/xe") is None
    assert gpu_memory_mib({}, GPU) is None


def test_products_are_read_from_each_vendors_label() -> None:
    amd = gpu_node("amd", 8, resource="amd.com/gpu", labels={"beta.amd.com/gpu.product-name": "MI300X"})
    intel = gpu_node("intel", 4, resource="gpu.intel.com/i915", labels={"gpu.intel.com/product": "Max-1550"})
    gaudi = gpu_node("gaudi", 8, resource="habana.ai/gaudi", labels={"habana.ai/gaudi.product": "HL-225"})
    mig = gpu_node("mig", 7, resource="nvidia.com/mig-3g.40gb", product="NVIDIA-A100")
    none = gpu_node("plain", 8, resource="habana.ai/gaudi")
    products = {n.name: n.product for n in inventory_of([amd, intel, gaudi, mig, none]).nodes}
    assert products == {
        "amd": "MI300X",
        "intel": "Max-1550",
        "gaudi": "HL-225",
        "mig": "NVIDIA-A100",
        "plain": None,
    }


def test_hard_taints_leave_out_gpu_resource_taints_and_the_cordon_taint() -> None:
    taints = [
        {"key": GPU, "value": "present", "effect": "NoSchedule"},
        {"key": "amd.com/gpu", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "llm", "effect": "NoExecute"},
        {"key": "soft", "effect": "PreferNoSchedule"},
        {"key": "team", "value": "a", "effect": "NoSchedule"},
    ]
    (node,) = inventory_of([gpu_node("a", 8, taints=taints)]).nodes
    assert node.hard_taints == ("dedicated=llm:NoExecute", "team=a:NoSchedule")
    assert node.taints == (
        "nvidia.com/gpu=present:NoSchedule",
        "amd.com/gpu:NoSchedule",
        "node.kubernetes.io/unschedulable:NoSchedule",
        "dedicated=llm:NoExecute",
        "soft:PreferNoSchedule",
        "team=a:NoSchedule",
    )


def test_a_taint_named_after_the_nodes_own_unknown_gpu_resource_is_tolerated() -> None:
    taint = {"key": "gpu.intel.com/xe", "effect": "NoSchedule"}
    (node,) = inventory_of([gpu_node("a", 4, resource="gpu.intel.com/xe", taints=[taint])]).nodes
    assert node.hard_taints == ()


@pytest.mark.parametrize(
    ("name", "gpu"),
    [
        ("nvidia.com/gpu", True),
        ("amd.com/gpu", True),
        ("intel.com/gpu", True),
        ("habana.ai/gaudi", True),
        ("nvidia.com/gpu.shared", True),
        ("nvidia.com/mig-1g.10gb", True),
        ("gpu.intel.com/i915", True),
        ("gpu.intel.com/i915_monitoring", False),
        ("cpu", False),
        ("example.com/fpga", False),
    ],
)
def test_which_resources_are_gpus(name: str, gpu: bool) -> None:
    assert is_gpu_resource(name) is gpu


def test_pods_hold_gpus_only_while_bound_and_not_finished() -> None:
    pods = pods_from_dicts(
        [
            gpu_pod("run", "a", 1),
            gpu_pod("pend", "a", 1, phase="Pending"),
            gpu_pod("done", "a", 1, phase="Succeeded"),
            gpu_pod("fail", "a", 1, phase="Failed"),
            gpu_pod("unbound", None, 1),
        ]
    )
    assert [pod_is_active_on_node(p) for p in pods] == [True, True, False, False, False]
    inventory = inventory_of(
        [gpu_node("a", 8)], [gpu_pod("run", "a", 1), gpu_pod("pend", "a", 2, phase="Pending")]
    )
    assert inventory.nodes[0].requested == 3


def test_pods_on_other_nodes_or_resources_are_not_counted() -> None:
    pods = [
        gpu_pod("elsewhere", "zzz", 4),
        gpu_pod("amd", "a", 2, resource="amd.com/gpu"),
        gpu_pod("mine", "a", 1),
        gpu_pod("mine-too", "a", 2, only_limits=False),
    ]
    inventory = inventory_of([gpu_node("a", 8)], pods)
    assert inventory.nodes[0].requested == 3


def test_sidecar_gpus_stay_held_while_later_init_containers_run() -> None:
    # Sidecar 2 (keeps running) then a plain init of 3: the init phase holds 2 + 3 = 5; app 1 + 2 = 3.
    (pod,) = pods_from_dicts(
        [
            {
                "metadata": {"name": "p"},
                "spec": {
                    "initContainers": [
                        {"name": "side", "restartPolicy": "Always", "resources": {"limits": {GPU: "2"}}},
                        {"name": "init", "resources": {"limits": {GPU: "3"}}},
                    ],
                    "containers": [{"name": "app", "resources": {"limits": {GPU: "1"}}}],
                },
            }
        ]
    )
    assert pod_effective_request(pod, GPU) == 5
    (later,) = pods_from_dicts(
        [
            {
                "metadata": {"name": "q"},
                "spec": {
                    "initContainers": [
                        {"name": "init", "resources": {"limits": {GPU: "1"}}},
                        {"name": "side", "restartPolicy": "Always", "resources": {"limits": {GPU: "4"}}},
                    ],
                    "containers": [{"name": "app", "resources": {"limits": {GPU: "1"}}}],
                },
            }
        ]
    )
    # The sidecar starts after the plain init: init peak max(1, 4) = 4; app 1 + 4 = 5.
    assert pod_effective_request(later, GPU) == 5


def test_every_app_container_s_gpus_count_and_the_pod_overhead_is_added() -> None:
    # Two app containers of 3 and 4 GPUs run together (7), above a plain init of 5; overhead 1 on top.
    (pod,) = pods_from_dicts(
        [
            {
                "metadata": {"name": "p"},
                "spec": {
                    "initContainers": [{"name": "init", "resources": {"limits": {GPU: "5"}}}],
                    "containers": [
                        {"name": "engine", "resources": {"limits": {GPU: "3"}}},
                        {"name": "helper", "resources": {"limits": {GPU: "4"}}},
                    ],
                    "overhead": {GPU: "1"},
                },
            }
        ]
    )
    assert pod_effective_request(pod, GPU) == 8


def test_an_empty_gpu_resource_flag_is_refused_and_a_selector_keeps_matching_nodes() -> None:
    with pytest.raises(InputError) as refused:
        inventory_of([gpu_node("a", 8)], gpu_resource="  ")
    assert str(refused.value) == "--gpu-resource must not be empty"
    nodes = [gpu_node("a", 8, labels={"pool": "x", "zone": "1"}), gpu_node("b", 8, labels={"pool": "x"})]
    picked = inventory_of(nodes, node_selector={"pool": "x", "zone": "1"})
    assert [n.name for n in picked.nodes] == ["a"]
    assert [n.name for n in inventory_of(nodes, node_selector={}).nodes] == ["a", "b"]


def test_a_node_reporting_zero_gpus_is_left_out_and_resources_are_listed_once() -> None:
    nodes = [gpu_node("zero", 0), gpu_node("a", 8), gpu_node("b", 4, resource="amd.com/gpu")]
    inventory = inventory_of(nodes)
    assert [n.name for n in inventory.nodes] == ["b", "a"]  # sorted by resource, then name
    assert inventory.resources() == ["amd.com/gpu", GPU]
    assert [p.name for p in inventory.pools_for("amd.com/gpu")] == ["amd.com/gpu-x4"]


def test_a_memory_label_that_is_not_a_number_warns_once_per_gpu_node() -> None:
    bad = gpu_node("a", 8, labels={"nvidia.com/gpu.memory": "80GB"})
    zero = gpu_node("z", 8, labels={"nvidia.com/gpu.memory": "0"})
    cpu_only: dict[str, Any] = {
        "metadata": {"name": "cpu", "labels": {"nvidia.com/gpu.memory": "x"}},
        "status": {"capacity": {"cpu": "8"}},
    }
    inventory = inventory_of([bad, zero, gpu_node("ok", 8), cpu_only])
    assert inventory.warnings == (
        "node a: label nvidia.com/gpu.memory='80GB' is not a number of MiB; its GPU memory is taken as "
        "unknown (pass --gpu-memory to size a model)",
        "node z: label nvidia.com/gpu.memory='0' is not a number of MiB; its GPU memory is taken as "
        "unknown (pass --gpu-memory to size a model)",
    )
    assert {n.name: n.memory_mib for n in inventory.nodes} == {"a": None, "z": None, "ok": 81559}
