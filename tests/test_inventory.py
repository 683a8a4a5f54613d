from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubectl_kserve_mn import quantity as quantities
from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs.k8s import Pod, device_count, pods_from_dicts
from kubectl_kserve_mn.inventory import pod_effective_request
from tests.nodes import gpu_node, gpu_pod
from tests.nodes import inventory_of as build_inventory

GPU = "nvidia.com/gpu"


def _container(name: str, gpus: int, **extra: Any) -> dict[str, Any]:
    return {"name": name, "resources": {"limits": {GPU: str(gpus)}}, **extra}


def _pod(spec: dict[str, Any]) -> Pod:
    (pod,) = pods_from_dicts([{"metadata": {"name": "p"}, "spec": spec}])
    return pod


def test_effective_request_counts_native_sidecars_in_init_and_app_phases() -> None:
    # Kubernetes' rule: init peak = each init container + sidecars started before it;
    # app = containers + sidecars; effective = max of the two, plus overhead.
    pod = _pod(
        {
            "initContainers": [
                _container("sidecar", 1, restartPolicy="Always"),
                _container("download", 2),
            ],
            "containers": [_container("app", 1)],
            "overhead": {GPU: "1"},
        }
    )
    init_peak = max(1, 2 + 1)
    app = 1 + 1
    assert pod_effective_request(pod, GPU) == max(init_peak, app) + 1


def test_effective_request_takes_the_biggest_plain_init_container_when_it_exceeds_the_app() -> None:
    pod = _pod(
        {
            "initContainers": [_container("warmup", 4)],
            "containers": [_container("a", 1), _container("b", 2)],
        }
    )
    assert pod_effective_request(pod, GPU) == 4


def test_gpu_request_defaults_to_the_limit_and_requests_win_when_present() -> None:
    only_limit = _pod({"containers": [{"resources": {"limits": {GPU: "3"}}}]})
    both = _pod({"containers": [{"resources": {"limits": {GPU: "3"}, "requests": {GPU: "2"}}}]})
    assert pod_effective_request(only_limit, GPU) == 3
    assert pod_effective_request(both, GPU) == 2


def test_device_quantities_are_whole_numbers_in_any_spelling_kubernetes_accepts() -> None:
    assert device_count("8") == 8
    assert device_count(2) == 2
    assert device_count("2000m") == 2
    assert device_count("1k") == 1000
    assert device_count(8.0) == 8


@given(
    st.from_regex(r"[0-9]{1,9}", fullmatch=True)
    | st.sampled_from(["999999", "1000000", "1000001", "０8", "²"])
)
def test_plain_digit_counts_read_as_the_exact_quantity_parser_reads_them(text: str) -> None:
    # device_count reads short ASCII digit strings without Decimal; every answer must be the parser's.
    try:
        exact = quantities.parse(text)
    except ValueError:
        exact = None
    if exact is None or exact > 1_000_000:
        with pytest.raises(ValueError):
            device_count(text)
    else:
        assert device_count(text) == int(exact)


@pytest.mark.parametrize(
    ("quantity", "problem"),
    [
        ("1500m", '"1500m" is not a whole number'),
        ("8.5", '"8.5" is not a whole number'),
        ("-4", '"-4" is negative'),
        ("bogus", '"bogus" is not a Kubernetes quantity'),
        ("1e400", '"1e400" is too large'),
        (True, "true is not a quantity"),
    ],
)
def test_device_quantities_that_kubernetes_would_refuse_are_refused_naming_the_value(
    quantity: Any, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        device_count(quantity)


def test_requested_and_free_count_only_active_pods_bound_to_the_node() -> None:
    nodes = [gpu_node("n1", 8)]
    pods = [
        gpu_pod("running", "n1", 3),
        gpu_pod("pending-bound", "n1", 1, phase="Pending"),
        gpu_pod("done", "n1", 4, phase="Succeeded"),
        gpu_pod("failed", "n1", 4, phase="Failed"),
        gpu_pod("unbound", None, 2, phase="Pending"),
        gpu_pod("elsewhere", "other-node", 5),
    ]
    node = build_inventory(nodes, pods).nodes[0]
    assert (node.capacity, node.allocatable, node.requested, node.free) == (8, 8, 4, 4)


def test_cordoned_and_not_ready_nodes_are_shown_but_not_in_a_pools_schedulable_nodes() -> None:
    nodes = [gpu_node("ok", 8), gpu_node("cordoned", 8, cordoned=True), gpu_node("down", 8, ready=False)]
    inventory = build_inventory(nodes, [])
    assert {n.name for n in inventory.nodes} == {"ok", "cordoned", "down"}
    (pool,) = inventory.pools
    assert [n.name for n in pool.nodes] == ["ok"]
    assert {n.name for n in pool.unschedulable} == {"cordoned", "down"}
    assert pool.free_gpus == 8


def test_the_gpu_taint_is_tolerated_and_other_hard_taints_are_reported() -> None:
    taints = [
        {"key": GPU, "value": "present", "effect": "NoSchedule"},
        {"key": "team", "value": "research", "effect": "NoSchedule"},
        {"key": "spot", "effect": "PreferNoSchedule"},
    ]
    node = build_inventory([gpu_node("n1", taints=taints)], []).nodes[0]
    assert node.schedulable
    assert node.taints == (
        "nvidia.com/gpu=present:NoSchedule",
        "team=research:NoSchedule",
        "spot:PreferNoSchedule",
    )
    assert node.hard_taints == ("team=research:NoSchedule",)


def test_time_sliced_gpus_count_physically_and_are_never_placeable() -> None:
    shared = gpu_node(
        "ts",
        4,
        allocatable=16,
        labels={"nvidia.com/gpu.replicas": "4", "nvidia.com/gpu.sharing-strategy": "time-slicing"},
    )
    node = build_inventory([shared], []).nodes[0]
    assert node.allocatable == 16
    assert node.physical == 4
    assert node.shared and not node.placeable
    assert not build_inventory([shared], []).pools[0].placeable


@pytest.mark.parametrize(
    "labels",
    [
        {"nvidia.com/gpu.replicas": "2"},
        {"nvidia.com/gpu.sharing-strategy": "mps"},
        {"nvidia.com/gpu.product": "NVIDIA-A10G-SHARED"},
    ],
)
def test_each_gfd_sharing_signal_marks_the_node_shared(labels: dict[str, str]) -> None:
    assert build_inventory([gpu_node("n", 4, labels=labels)], []).nodes[0].shared


def test_mig_slices_are_not_whole_gpus() -> None:
    mixed = gpu_node("mig-mixed", 7, resource="nvidia.com/mig-1g.10gb")
    single = gpu_node(
        "mig-single",
        56,
        product="NVIDIA-A100-SXM4-40GB-MIG-1g.5gb",
        labels={"nvidia.com/mig.strategy": "single"},
    )
    inventory = build_inventory([mixed, single], [])
    assert all(n.mig and n.physical == 0 and not n.placeable for n in inventory.nodes)
    assert inventory.pools and not any(p.placeable for p in inventory.pools)


def test_a_configured_mig_strategy_without_mig_slices_still_counts_whole_gpus() -> None:
    node = gpu_node("h", 8, labels={"nvidia.com/mig.strategy": "single", "nvidia.com/mig.capable": "true"})
    entry = build_inventory([node], []).nodes[0]
    assert not entry.mig and entry.physical == 8 and entry.placeable


def test_nodes_group_into_pools_by_resource_product_and_gpus_per_node() -> None:
    nodes = [
        gpu_node("h1", 8),
        gpu_node("h2", 8),
        gpu_node("h4-small", 4),
        gpu_node("l1", 4, product="NVIDIA-L40S", memory_mib=46068),
        gpu_node(
            "amd1",
            8,
            resource="amd.com/gpu",
            labels={"amd.com/gpu.product-name": "AMD_Instinct_MI300X_OAM", "amd.com/gpu.vram": "192G"},
        ),
    ]
    inventory = build_inventory(nodes, [])
    pools = {p.name: p for p in inventory.pools}
    assert pools["NVIDIA-H100-80GB-HBM3-x8"].gpus_per_node == 8
    assert [n.name for n in pools["NVIDIA-H100-80GB-HBM3-x8"].nodes] == ["h1", "h2"]
    assert pools["NVIDIA-H100-80GB-HBM3-x4"].gpus_per_node == 4
    assert pools["NVIDIA-L40S-x4"].memory_mib == 46068
    amd = pools["AMD_Instinct_MI300X_OAM-x8"]
    assert amd.gpu_resource == "amd.com/gpu"
    assert amd.memory_mib == 192 * 1024


def test_gpu_resource_flag_and_node_selector_restrict_the_inventory() -> None:
    nodes = [
        gpu_node("h1", 8, labels={"pool": "a"}),
        gpu_node("h2", 8, labels={"pool": "b"}),
        gpu_node("amd1", 8, resource="amd.com/gpu"),
    ]
    assert {n.name for n in build_inventory(nodes, [], gpu_resource="amd.com/gpu").nodes} == {"amd1"}
    assert {n.name for n in build_inventory(nodes, [], node_selector={"pool": "b"}).nodes} == {"h2"}
    with pytest.raises(InputError):
        build_inventory(nodes, [], gpu_resource=" ")


def test_intel_device_plugin_resources_are_gpus_but_monitoring_resources_are_not() -> None:
    node = gpu_node("intel", 4, resource="gpu.intel.com/xe")
    node["status"]["allocatable"]["gpu.intel.com/xe_monitoring"] = "1"
    node["status"]["capacity"]["gpu.intel.com/xe_monitoring"] = "1"
    assert [n.gpu_resource for n in build_inventory([node], []).nodes] == ["gpu.intel.com/xe"]


def test_nodes_without_gpus_are_left_out() -> None:
    cpu_only = gpu_node("cpu", 8)
    del cpu_only["status"]["capacity"][GPU]
    del cpu_only["status"]["allocatable"][GPU]
    assert build_inventory([cpu_only], []).nodes == ()
