"""Builders for Node and Pod objects shaped like the API's, for the pure inventory/planner tests."""

from __future__ import annotations

from typing import Any

from kubectl_kserve_mn.inputs.k8s import nodes_from_dicts, pods_from_dicts
from kubectl_kserve_mn.inventory import Inventory, build_inventory


def gpu_node(
    name: str,
    gpus: int = 8,
    *,
    resource: str = "nvidia.com/gpu",
    product: str = "NVIDIA-H100-80GB-HBM3",
    memory_mib: int | None = 81559,
    ready: bool = True,
    cordoned: bool = False,
    taints: list[dict[str, str]] | None = None,
    labels: dict[str, str] | None = None,
    allocatable: int | None = None,
) -> dict[str, Any]:
    node_labels = {"kubernetes.io/hostname": name}
    if resource.startswith("nvidia.com/"):
        node_labels |= {"nvidia.com/gpu.product": product, "nvidia.com/gpu.count": str(gpus)}
        if memory_mib:
            node_labels["nvidia.com/gpu.memory"] = str(memory_mib)
    node_labels |= labels or {}
    amount = str(gpus if allocatable is None else allocatable)
    spec: dict[str, Any] = {}
    if cordoned:
        spec["unschedulable"] = True
    if taints:
        spec["taints"] = taints
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": node_labels},
        "spec": spec,
        "status": {
            "capacity": {"cpu": "96", "memory": "1Ti", resource: amount},
            "allocatable": {"cpu": "95", "memory": "1000Gi", resource: amount},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def gpu_pod(
    name: str,
    node: str | None,
    gpus: int,
    *,
    phase: str = "Running",
    resource: str = "nvidia.com/gpu",
    namespace: str = "default",
    only_limits: bool = True,
) -> dict[str, Any]:
    resources: dict[str, Any] = {"limits": {resource: str(gpus)}}
    if not only_limits:
        resources["requests"] = {resource: str(gpus)}
    spec: dict[str, Any] = {"containers": [{"name": "main", "resources": resources}]}
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
        "status": {"phase": phase},
    }


def controller_deployment(image: str, namespace: str = "kserve") -> dict[str, Any]:
    """KServe's controller Deployment as the release manifests install it (name, label, container):
    what version detection reads. ``image`` is e.g. ``kserve/kserve-controller:v0.15.1``."""
    labels = {"control-plane": "kserve-controller-manager"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "kserve-controller-manager", "namespace": namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "manager", "image": image}]},
            },
        },
    }


def node_view(
    nodes: list[dict[str, Any]],
    pods: list[dict[str, Any]] | None = None,
    *,
    free_known: bool = True,
    gpu_resource: str | None = None,
) -> Any:
    """A ``findings.NodeView`` of API-shaped Node/Pod dicts, passed through the input boundary the way
    the commands do (tests should build views with this rather than constructing NodeView directly)."""
    from kubectl_kserve_mn.findings import NodeView

    return NodeView(
        nodes_from_dicts(nodes), pods_from_dicts(pods or []), free_known=free_known, gpu_resource=gpu_resource
    )


def inventory_of(
    nodes: list[dict[str, Any]],
    pods: list[dict[str, Any]] | None = None,
    *,
    gpu_resource: str | None = None,
    node_selector: dict[str, str] | None = None,
) -> Inventory:
    """``build_inventory`` over API-shaped dicts, passed through the input boundary as the commands do."""
    return build_inventory(
        nodes_from_dicts(nodes),
        pods_from_dicts(pods or []),
        gpu_resource=gpu_resource,
        node_selector=node_selector,
    )
