"""Interconnect: tensor parallelism that spans pods, and whether the nodes they can land on link them fast.

vLLM assigns ranks pod by pod, so a tensor-parallel group stays inside a pod when every pod holds a whole
number of groups (GPUs divisible by TP); otherwise its all-reduces cross pods, and therefore nodes. That is
only fast inside one NVLink clique (``nvidia.com/gpu.clique``) or over RDMA; across cliques or over TCP
it is slow (vLLM: "NET/Socket ... is not efficient for cross-node tensor parallelism"). Where each label
comes from: :mod:`kubectl_kserve_mn.interconnect`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubectl_kserve_mn.findings.report import (
    INFO,
    ISVC_LABEL,
    WARNING,
    Finding,
    NodeView,
    dict_of,
    fix_command,
    name_of,
    namespace_of,
)
from kubectl_kserve_mn.findings.schedulability import pod_selectors
from kubectl_kserve_mn.interconnect import (
    CLIQUE_LABEL,
    COMPUTE_DOMAIN_HINT,
    cliques_of,
    common_rdma_resources,
    is_rdma_resource,
)
from kubectl_kserve_mn.inventory import NodeGpus
from kubectl_kserve_mn.kserve.admission import GPU_TYPES_ANNOTATION
from kubectl_kserve_mn.kserve.controller import ControllerLayout
from kubectl_kserve_mn.kserve.runtimes import merged_head_container, merged_worker_container
from kubectl_kserve_mn.placement import place_pods

TP_SPANS_INTERCONNECT = "tp-spans-interconnect"


def tp_spans_pods(layout: ControllerLayout) -> bool:
    """The controller's pods split at least one tensor-parallel group."""
    if layout.error is not None or layout.node_count < 2:
        return False
    tp = layout.tensor_parallel_size
    return any(gpus % tp for _, gpus in layout.pod_gpus() if gpus > 0)


def requested_rdma(container: Mapping[str, Any]) -> set[str]:
    resources = dict_of(container.get("resources"))
    return {
        str(name)
        for section in ("limits", "requests")
        for name in dict_of(resources.get(section))
        if is_rdma_resource(str(name))
    }


def _hosts(
    view: NodeView, isvc: Mapping[str, Any], resource: str, gpus: int, selector: Mapping[str, str]
) -> list[NodeGpus]:
    """The nodes a pod of ``gpus`` GPUs can land on, with GPUs held by other workloads counted as used."""
    own = view.pods_labelled(ISVC_LABEL, name_of(isvc), namespace_of(isvc))
    inventory = view.inventory(resource, selector or None, without=own)
    return [n for n in inventory.nodes if n.gpu_resource == resource and n.placeable and n.physical >= gpus]


def _pods_text(layout: ControllerLayout) -> str:
    workers = f" and {layout.worker_replicas} worker pod(s)" if layout.worker_replicas else ""
    sizes = sorted({g for _, g in layout.pod_gpus()}, reverse=True)
    unit = "GPU" if sizes == [1] else "GPUs"
    return f"the head{workers} ({'/'.join(str(g) for g in sizes)} {unit} each)"


def _keep_tp_in_pod(isvc: Mapping[str, Any], layout: ControllerLayout, hosts: Sequence[NodeGpus]) -> str:
    """``fix`` with the largest TP one node holds and the rest as pipeline stages."""
    total = layout.total_gpus
    per_node = max(n.physical for n in hosts)
    tp = next(d for d in range(min(per_node, total), 0, -1) if total % d == 0)
    return (
        f"{fix_command(name_of(isvc), namespace_of(isvc))} --tensor-parallel-size {tp} "
        f"--pipeline-parallel-size {total // tp}"
    )


def interconnect_findings(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, layout: ControllerLayout, view: NodeView
) -> list[Finding]:
    """``tp-spans-interconnect`` when the controller's pods split tensor-parallel groups and the nodes they
    can land on (their nodeSelectors, GPU resource and size) are in different NVLink cliques, or, without
    cliques, lack RDMA (or offer it as a device resource the pods do not request)."""
    if not tp_spans_pods(layout):
        return []
    head_sel, worker_sel = pod_selectors(isvc, runtime)
    head_hosts = _hosts(view, isvc, layout.head.gpu_resource, layout.head.gpus, head_sel)
    worker_hosts = (
        _hosts(view, isvc, layout.worker.gpu_resource, layout.worker.gpus, worker_sel)
        if layout.worker_replicas
        else []
    )
    if not head_hosts or (layout.worker_replicas and not worker_hosts):
        return []  # they cannot schedule at all: the schedulability findings say so
    hosts = list({n.name: n for n in [*head_hosts, *worker_hosts]}.values())
    tp = layout.tensor_parallel_size
    what = f"tensor parallelism (TP={tp}) spans {_pods_text(layout)}"
    cliques = {n.links.clique for n in hosts}
    if cliques != {None}:
        if len(cliques) == 1:
            return []  # one clique: NVLink speed (given IMEX channels, which the object cannot show)
        named = sorted(c for c in cliques if c)
        without = " or on nodes without one" if None in cliques else ""
        pods = [g for _, g in layout.pod_gpus() if g > 0]
        holds = [
            c.id
            for c in cliques_of(hosts)
            if place_pods(pods, [n for n in hosts if n.links.clique == c.id], use_free=view.free_known)
        ]
        suggestion = (
            f"pin one clique: nodeSelector {CLIQUE_LABEL}: {holds[0]} in spec.predictor and "
            f"spec.predictor.workerSpec; and {COMPUTE_DOMAIN_HINT}"
            if holds
            else "no single clique holds these pods; keep tensor parallelism inside a pod: "
            + _keep_tp_in_pod(isvc, layout, hosts)
        )
        return [
            Finding(
                TP_SPANS_INTERCONNECT,
                WARNING,
                f"{what}, and nothing keeps them in one NVLink clique: they can land in {len(named)} cliques "
                f"({CLIQUE_LABEL}){without}, and across cliques tensor parallelism runs over the network, "
                "not NVLink",
                suggestion,
            )
        ]
    head_rdma = requested_rdma(merged_head_container(isvc, runtime))
    worker_rdma = (
        requested_rdma(merged_worker_container(isvc, runtime)) if layout.worker_replicas else head_rdma
    )
    if head_rdma and worker_rdma:
        return []  # the scheduler puts them only on nodes that hand out an RDMA device
    keep = _keep_tp_in_pod(isvc, layout, hosts)
    no_rdma = [n.name for n in hosts if not n.links.rdma]
    offered = sorted({r for n in hosts for r in n.links.rdma_resources})
    ask = (
        f"; or request {offered[0]} in the head and worker containers (listed in the {GPU_TYPES_ANNOTATION} "
        "annotation, which KServe's webhook requires for any extended resource it does not know) so they land "
        "on RDMA nodes and get the device"
        if offered
        else ""
    )
    if no_rdma:
        listed = ", ".join(no_rdma[:3]) + (f" and {len(no_rdma) - 3} more" if len(no_rdma) > 3 else "")
        # Without any Node Feature Discovery label on those nodes, "no RDMA label" proves nothing: say so, as info.
        unseen = not any(n.links.nfd for n in hosts if not n.links.rdma)
        return [
            Finding(
                TP_SPANS_INTERCONNECT,
                INFO if unseen else WARNING,
                f"{what}, and they can land on nodes that show no RDMA ({listed}: no "
                "feature.node.kubernetes.io/rdma.* label, no RDMA device resource): NCCL then falls back to TCP "
                "sockets (NET/Socket), which vLLM calls not efficient for cross-node tensor parallelism"
                + (
                    "; these nodes carry no Node Feature Discovery labels at all, so RDMA may be there unseen"
                    if unseen
                    else ""
                ),
                "keep tensor parallelism inside a pod: " + keep + ask,
            )
        ]
    common = common_rdma_resources(hosts)
    if common and not (head_rdma or worker_rdma):
        return [
            Finding(
                TP_SPANS_INTERCONNECT,
                WARNING,
                f"{what}; the nodes offer RDMA as the device resource {common[0]}, but the pods do not request "
                "it, so they get no RDMA device and NCCL falls back to TCP sockets (NET/Socket)",
                f"request {common[0]} in the head and worker containers (listed in the {GPU_TYPES_ANNOTATION} "
                "annotation, which KServe's webhook requires for any extended resource it does not know), "
                "or keep tensor parallelism inside a pod: " + keep,
            )
        ]
    if common and (head_rdma or worker_rdma):
        role = "worker" if head_rdma else "head"
        return [
            Finding(
                TP_SPANS_INTERCONNECT,
                WARNING,
                f"{what}; only the {'head' if head_rdma else 'worker'} requests an RDMA device, so the {role} pod "
                "gets none and its share of the tensor-parallel traffic goes over TCP sockets",
                f"request {common[0]} in the {role} container as well",
            )
        ]
    return []  # RDMA on every node (NFD labels), reached without a device resource: nothing to say
