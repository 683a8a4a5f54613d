"""GPU inventory: per node and GPU resource, capacity, allocatable, requested and free GPUs, and
the pools of identical nodes a multi-node layout may be placed on. Pure functions over the Node
and Pod objects as the API (or ``kubectl get -o yaml``) returns them.

Rules that matter here:
- A pod's request is Kubernetes' effective request: max(effective init request, app containers +
  sidecars) + overhead, where native sidecars (init containers with ``restartPolicy: Always``)
  keep running (kubernetes.io docs "effective-pod-requests-limits"; kueue PR #2099).
- Extended resources such as GPUs default their request to the limit, and may not over-commit.
- GPUs shared by time-slicing or MPS (GFD labels ``nvidia.com/gpu.replicas`` > 1,
  ``nvidia.com/gpu.sharing-strategy``, a ``-SHARED`` product) advertise replicas, not GPUs: the
  physical count is ``nvidia.com/gpu.count`` and such GPUs are never separate tensor-parallel ranks.
  MIG slices are not whole GPUs either. Both are shown but never used for placement.
- A node is schedulable when Ready and not cordoned. Tainted nodes stay in (the usual
  ``nvidia.com/gpu:NoSchedule`` taint is tolerated by GPU pods through the ExtendedResourceToleration
  admission plugin); other hard taints are reported so a layout can say which tolerations it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs.k8s import Node, Pod
from kubectl_kserve_mn.interconnect import NodeLinks, PoolInterconnect, node_links, pool_interconnect
from kubectl_kserve_mn.model.gpu import NVIDIA_MEMORY_LABEL, gpu_memory_from_labels

KSERVE_GPU_RESOURCES: tuple[str, ...] = ("nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu", "habana.ai/gaudi")
"""KServe's DefaultGPUResourceTypeList (pkg/constants/constants.go, v0.15.0 to master)."""

_GPU_PREFIXES: tuple[str, ...] = ("gpu.intel.com/", "nvidia.com/mig-")
_NOT_GPUS: tuple[str, ...] = ("_monitoring",)

_PRODUCT_LABELS: dict[str, tuple[str, ...]] = {
    "nvidia.com/": ("nvidia.com/gpu.product",),
    "amd.com/": ("amd.com/gpu.product-name", "beta.amd.com/gpu.product-name"),
    "gpu.intel.com/": ("gpu.intel.com/product",),
    "intel.com/": ("gpu.intel.com/product",),
    "habana.ai/": ("habana.ai/device.product", "habana.ai/gaudi.product"),
}


def is_gpu_resource(name: str) -> bool:
    if name in KSERVE_GPU_RESOURCES or name == "nvidia.com/gpu.shared":
        return True
    return name.startswith(_GPU_PREFIXES) and not name.endswith(_NOT_GPUS)


def pod_effective_request(pod: Pod, resource: str) -> int:
    """Kubernetes' effective pod request for one resource (sidecar-aware), plus overhead."""
    init_peak = 0
    sidecars = 0
    for init in pod.init_containers:
        request = init.request(resource)
        if init.sidecar:
            sidecars += request
            init_peak = max(init_peak, sidecars)
        else:
            init_peak = max(init_peak, request + sidecars)
    app = sum(c.request(resource) for c in pod.containers) + sidecars
    return max(init_peak, app) + pod.overhead.get(resource, 0)


def pod_is_active_on_node(pod: Pod) -> bool:
    """Bound to a node and not terminal: the pods whose requests hold node capacity."""
    return bool(pod.node_name) and pod.phase not in ("Succeeded", "Failed")


@dataclass(frozen=True)
class NodeGpus:
    """One node's view of one GPU resource."""

    name: str
    gpu_resource: str
    product: str | None
    memory_mib: int | None
    capacity: int
    allocatable: int
    requested: int
    physical: int
    """Whole physical GPUs usable as tensor-parallel ranks (0 for MIG slices)."""
    shared: bool
    mig: bool
    ready: bool
    cordoned: bool
    taints: tuple[str, ...] = ()
    hard_taints: tuple[str, ...] = ()
    """NoSchedule/NoExecute taints a GPU pod does not tolerate by default."""
    labels: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    links: NodeLinks = field(default_factory=NodeLinks)
    """NVLink clique and RDMA, from the node's labels and extended resources (interconnect.py)."""
    # Derived once (placement reads them millions of times on a large cluster); ``replace`` recomputes.
    schedulable: bool = field(init=False, compare=False, repr=False)
    """Ready and not cordoned."""
    free: int = field(init=False, compare=False, repr=False)
    """``max(0, allocatable - requested)``."""
    placeable: bool = field(init=False, compare=False, repr=False)
    """Can host whole-GPU tensor-parallel ranks: schedulable, not shared, not MIG, at least one GPU."""

    def __post_init__(self) -> None:
        schedulable = self.ready and not self.cordoned
        object.__setattr__(self, "schedulable", schedulable)
        object.__setattr__(self, "free", max(0, self.allocatable - self.requested))
        object.__setattr__(
            self, "placeable", schedulable and not self.shared and not self.mig and self.physical > 0
        )

    @property
    def status(self) -> str:
        parts = []
        if not self.ready:
            parts.append("NotReady")
        if self.cordoned:
            parts.append("SchedulingDisabled")
        if self.shared:
            parts.append("Shared")
        if self.mig:
            parts.append("MIG")
        return ",".join(parts) or "Ready"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "gpuResource": self.gpu_resource,
            "product": self.product,
            "memoryMiB": self.memory_mib,
            "capacity": self.capacity,
            "allocatable": self.allocatable,
            "requested": self.requested,
            "free": self.free,
            "physicalGpus": self.physical,
            "schedulable": self.schedulable,
            "shared": self.shared,
            "mig": self.mig,
            "taints": list(self.taints),
            "interconnect": self.links.to_json(),
        }


@dataclass(frozen=True)
class Pool:
    """Nodes with the same GPU resource, product and GPUs per node."""

    name: str
    gpu_resource: str
    product: str | None
    gpus_per_node: int
    memory_mib: int | None
    nodes: tuple[NodeGpus, ...]
    """Schedulable nodes, the only ones used for placement."""
    unschedulable: tuple[NodeGpus, ...]
    shared: bool
    mig: bool

    @property
    def free_gpus(self) -> int:
        return sum(node.free for node in self.nodes)

    @property
    def placeable(self) -> bool:
        return bool(self.nodes) and not self.shared and not self.mig and self.gpus_per_node > 0

    @cached_property
    def interconnect(self) -> PoolInterconnect:
        """NVLink cliques, RDMA and NVLink inside the node, over the schedulable nodes. Cliques are an
        attribute of each node, not a pool of their own: pipeline stages may cross cliques freely, and only
        a layout whose tensor parallelism spans pods needs one clique (the planner places it so)."""
        return pool_interconnect(self.nodes, self.product)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "gpuResource": self.gpu_resource,
            "product": self.product,
            "gpusPerNode": self.gpus_per_node,
            "memoryMiB": self.memory_mib,
            "nodes": len(self.nodes),
            "nodeNames": [node.name for node in self.nodes],
            "unschedulableNodes": [node.name for node in self.unschedulable],
            "freeGpus": self.free_gpus,
            "shared": self.shared,
            "mig": self.mig,
            "interconnect": self.interconnect.to_json(),
        }


@dataclass(frozen=True)
class Inventory:
    nodes: tuple[NodeGpus, ...]
    pools: tuple[Pool, ...]
    warnings: tuple[str, ...] = ()
    """Labels that could not be read (a GPU-memory label that is not a number): said, not fatal."""

    def resources(self) -> list[str]:
        return sorted({node.gpu_resource for node in self.nodes})

    def pools_for(self, resource: str) -> list[Pool]:
        return [pool for pool in self.pools if pool.gpu_resource == resource]

    def to_json(self) -> dict[str, Any]:
        return {"nodes": [n.to_json() for n in self.nodes], "pools": [p.to_json() for p in self.pools]}


def _int_label(labels: Mapping[str, str], key: str) -> int | None:
    try:
        return int(str(labels[key]).strip())
    except (KeyError, ValueError):
        return None


def _product(labels: Mapping[str, str], resource: str) -> str | None:
    if resource.startswith("nvidia.com/mig-"):
        return labels.get(f"{resource}.product") or labels.get("nvidia.com/gpu.product")
    for prefix, keys in _PRODUCT_LABELS.items():
        if resource.startswith(prefix):
            for key in keys:
                if labels.get(key):
                    return labels[key]
    return None


def gpu_memory_mib(labels: Mapping[str, str], resource: str) -> int | None:
    """GPU memory per GPU from node labels: GFD ``nvidia.com/gpu.memory`` (MiB), AMD's
    ``amd.com/gpu.vram`` (GiB) or, for a MIG resource, its own ``<resource>.memory`` label."""
    if resource.startswith("nvidia.com/mig-"):
        return _int_label(labels, f"{resource}.memory")
    if resource.startswith(("nvidia.com/", "amd.com/")):
        size = gpu_memory_from_labels(labels)
        return size // 2**20 if size else None
    return None


def _node_gpus(node: Node, resource: str, requested: int, known_resources: Sequence[str]) -> NodeGpus:
    labels = node.labels
    capacity = node.capacity.get(resource, 0)
    allocatable = node.allocatable.get(resource, capacity)
    product = _product(labels, resource)
    # GFD sets nvidia.com/mig.strategy whenever a strategy is configured, MIG on or off; with the
    # single strategy and MIG on it renames the product <GPU>-MIG-<profile>, which is the real signal.
    mig = resource.startswith("nvidia.com/mig-") or (
        resource == "nvidia.com/gpu" and "-MIG-" in (product or "")
    )
    replicas = _int_label(labels, "nvidia.com/gpu.replicas") or 1
    strategy = labels.get("nvidia.com/gpu.sharing-strategy", "none")
    shared = resource == "nvidia.com/gpu.shared" or (
        resource.startswith("nvidia.com/")
        and (replicas > 1 or strategy not in ("", "none") or (product or "").endswith("-SHARED"))
    )
    if mig:
        physical = 0
    elif shared:
        physical = _int_label(labels, "nvidia.com/gpu.count") or allocatable // max(1, replicas)
    else:
        physical = allocatable
    hard = tuple(
        t.text
        for t in node.taints
        if t.effect in ("NoSchedule", "NoExecute")
        and t.key not in known_resources
        and t.key != resource
        and t.key != "node.kubernetes.io/unschedulable"
    )
    return NodeGpus(
        name=node.name,
        gpu_resource=resource,
        product=product,
        memory_mib=gpu_memory_mib(labels, resource),
        capacity=capacity,
        allocatable=allocatable,
        requested=requested,
        physical=physical,
        shared=shared,
        mig=mig,
        ready=node.ready,
        cordoned=node.unschedulable,
        taints=tuple(t.text for t in node.taints),
        hard_taints=hard,
        labels=labels,
        links=node_links(labels, node.allocatable),
    )


def _memory_label_warning(node: Node) -> str | None:
    """A GPU-memory label that is there but not a number: the planner falls back, the user is told."""
    raw = node.labels.get(NVIDIA_MEMORY_LABEL)
    if raw is None:
        return None
    text = str(raw).strip()
    if text.isdigit() and int(text) > 0:
        return None
    return (
        f"node {node.name}: label {NVIDIA_MEMORY_LABEL}={raw!r} is not a number of MiB; its GPU memory is "
        "taken as unknown (pass --gpu-memory to size a model)"
    )


def _matches(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def pool_name(resource: str, product: str | None, gpus_per_node: int) -> str:
    return f"{product or resource}-x{gpus_per_node}"


def build_inventory(
    nodes: Iterable[Node],
    pods: Iterable[Pod],
    gpu_resource: str | None = None,
    node_selector: Mapping[str, str] | None = None,
) -> Inventory:
    """The GPU inventory of a cluster from its nodes and the pods bound to them.

    ``gpu_resource`` keeps one resource (``--gpu-resource``); ``node_selector`` keeps nodes whose
    labels match every key=value.
    """
    if gpu_resource is not None and not gpu_resource.strip():
        raise InputError("--gpu-resource must not be empty")
    node_list = [n for n in nodes if _matches(n.labels, node_selector or {})]
    resources_by_node: dict[str, list[str]] = {}
    for node in node_list:
        found = set(node.capacity) | set(node.allocatable)
        resources_by_node[node.name] = sorted(
            r for r in found if is_gpu_resource(r) and (gpu_resource in (None, r))
        )
    wanted = {r for rs in resources_by_node.values() for r in rs}
    requested: dict[tuple[str, str], int] = {}
    for pod in pods:
        if not pod_is_active_on_node(pod) or pod.node_name not in resources_by_node:
            continue
        assert pod.node_name is not None
        for resource in wanted:
            amount = pod_effective_request(pod, resource)
            if amount:
                key = (pod.node_name, resource)
                requested[key] = requested.get(key, 0) + amount
    entries: list[NodeGpus] = []
    warnings: list[str] = []
    for node in node_list:
        for resource in resources_by_node[node.name]:
            entry = _node_gpus(node, resource, requested.get((node.name, resource), 0), KSERVE_GPU_RESOURCES)
            if entry.capacity or entry.allocatable:
                entries.append(entry)
        if resources_by_node[node.name] and (warning := _memory_label_warning(node)):
            warnings.append(warning)
    entries.sort(key=lambda n: (n.gpu_resource, n.name))
    return Inventory(nodes=tuple(entries), pools=tuple(_pools(entries)), warnings=tuple(warnings))


def _pools(entries: Sequence[NodeGpus]) -> list[Pool]:
    groups: dict[tuple[str, str, int, bool, bool], list[NodeGpus]] = {}
    for entry in entries:
        product_key = (entry.product or "").upper().removeprefix("NVIDIA-")
        key = (
            entry.gpu_resource,
            product_key,
            entry.physical,
            entry.shared,
            entry.mig,
        )
        groups.setdefault(key, []).append(entry)
    pools = []
    for (resource, _, gpus, shared, mig), members in groups.items():
        product = members[0].product
        memories = {m.memory_mib for m in members if m.memory_mib}
        name = pool_name(resource, product, gpus)
        if shared and not (product or "").upper().endswith("-SHARED"):
            name += "-shared"
        if mig:
            name = pool_name(resource, product, max(m.allocatable for m in members)) + "-mig"
        pools.append(
            Pool(
                name=name,
                gpu_resource=resource,
                product=product,
                gpus_per_node=gpus,
                memory_mib=min(memories) if memories else None,
                nodes=tuple(m for m in members if m.schedulable),
                unschedulable=tuple(m for m in members if not m.schedulable),
                shared=shared,
                mig=mig,
            )
        )
    pools.sort(key=lambda p: (not p.placeable, -p.gpus_per_node * len(p.nodes), p.name))
    return pools


def with_pods_changed(
    inventory: Inventory, *, removed: Iterable[Pod] = (), added: Iterable[Pod] = ()
) -> Inventory:
    """The inventory with some pods' GPU requests given back (``removed``) or taken (``added``).

    Cheaper than building the inventory again from every pod: ``check`` asks, for each of a thousand
    InferenceServices, where its pods could go if its own pods did not hold their GPUs."""
    delta: dict[tuple[str, str], int] = {}
    resources = {n.gpu_resource for n in inventory.nodes}
    for sign, pods in ((-1, removed), (1, added)):
        for pod in pods:
            if not pod_is_active_on_node(pod):
                continue
            assert pod.node_name is not None
            for resource in resources:
                amount = pod_effective_request(pod, resource)
                if amount:
                    key = (pod.node_name, resource)
                    delta[key] = delta.get(key, 0) + sign * amount
    return with_requests_changed(inventory, delta)


def with_requests_changed(inventory: Inventory, delta: Mapping[tuple[str, str], int]) -> Inventory:
    """The inventory with ``delta[(node, resource)]`` GPUs more requested on each node (negative: freed),
    never below 0; nodes and pools alike."""
    changed = {
        key: replace(node, requested=max(0, node.requested + delta[key]))
        for node in inventory.nodes
        if (key := (node.name, node.gpu_resource)) in delta and delta[key]
    }
    if not changed:
        return inventory

    def swap(nodes: tuple[NodeGpus, ...]) -> tuple[NodeGpus, ...]:
        return tuple(changed.get((n.name, n.gpu_resource), n) for n in nodes)

    pools = tuple(
        replace(pool, nodes=swap(pool.nodes), unschedulable=swap(pool.unschedulable))
        for pool in inventory.pools
    )
    return replace(inventory, nodes=swap(inventory.nodes), pools=pools)
