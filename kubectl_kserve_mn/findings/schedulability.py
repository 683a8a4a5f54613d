"""Schedulability: where the pods KServe will create can go on the nodes, and why Pending pods wait."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubectl_kserve_mn.findings.report import (
    ERROR,
    ISVC_LABEL,
    WARNING,
    Finding,
    NodeView,
    dict_of,
    fix_command,
    name_of,
    namespace_of,
)
from kubectl_kserve_mn.inputs.k8s import Event, Pod
from kubectl_kserve_mn.inventory import NodeGpus
from kubectl_kserve_mn.kserve.controller import (
    ControllerLayout,
    global_gpu_types,
)
from kubectl_kserve_mn.planner import place_pods


def _selector(*sources: Any) -> dict[str, str]:
    merged: dict[str, str] = {}
    for source in sources:
        merged.update({str(k): str(v) for k, v in dict_of(source).items()})
    return merged


def pod_selectors(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """The head's and the workers' nodeSelectors (the InferenceService's keys over the runtime's)."""
    predictor = dict_of(dict_of(isvc.get("spec")).get("predictor"))
    rt_spec = dict_of((runtime or {}).get("spec"))
    head_sel = _selector(rt_spec.get("nodeSelector"), predictor.get("nodeSelector"))
    worker_sel = _selector(
        dict_of(rt_spec.get("workerSpec")).get("nodeSelector"),
        dict_of(predictor.get("workerSpec")).get("nodeSelector"),
    )
    return head_sel, worker_sel


def schedulability_findings(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, layout: ControllerLayout, view: NodeView
) -> list[Finding]:
    """Where the pods of ``layout`` can go on ``view``'s nodes (the ISVC's own pods do not count as used)."""
    name, namespace = name_of(isvc), namespace_of(isvc)
    capacity = view.capacity_gpus()
    if layout.worker.gpus > 0 and layout.worker_replicas > capacity:
        # Every worker needs a GPU of its own: more workers than GPUs can never fit, and listing
        # them one by one (TP=10^9 makes 10^9 pods) would not finish.
        return [
            Finding(
                "exceeds-cluster-capacity",
                ERROR,
                f"{layout.node_count} pods needing {layout.allocated_gpus} GPUs in all cannot fit the "
                f"{capacity} whole GPUs of the schedulable nodes: most will stay Pending forever",
                fix_command(name, namespace),
            )
        ]
    head_sel, worker_sel = pod_selectors(isvc, runtime)
    own = view.pods_labelled(ISVC_LABEL, name, namespace)
    pods: list[tuple[str, str, int, dict[str, str]]] = [
        ("head", layout.head.gpu_resource, layout.head.gpus, head_sel)
    ]
    pods += [("worker", layout.worker.gpu_resource, layout.worker.gpus, worker_sel)] * layout.worker_replicas
    pods = [p for p in pods if p[2] > 0]
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[str, int]]] = {}
    for role, resource, gpus, selector in pods:
        if view.gpu_resource and resource != view.gpu_resource:
            continue
        groups.setdefault((resource, tuple(sorted(selector.items()))), []).append((role, gpus))
    findings: list[Finding] = []
    fix = fix_command(name, namespace)
    placements: list[
        tuple[list[str] | None, list[str] | None, list[NodeGpus], list[NodeGpus], list[tuple[str, int]]]
    ] = []
    for (resource, selector_items), members in groups.items():
        selector = dict(selector_items)
        nodes = view.placeable(resource, selector or None, without=own)
        where = f" matching nodeSelector {selector}" if selector else ""
        if not nodes:
            findings.append(
                Finding(
                    "pod-exceeds-node",
                    ERROR,
                    f"no schedulable node{where} offers whole {resource} GPUs: the "
                    f"{' and '.join(sorted({r for r, _ in members}))} pods will stay Pending forever",
                    fix,
                )
            )
            continue
        largest = view.largest_node(resource, selector or None)
        too_big = sorted({(role, gpus) for role, gpus in members if gpus > largest})
        if too_big:
            asks = ", ".join(f"the {role} pod asks for {gpus}" for role, gpus in too_big)
            findings.append(
                Finding(
                    "pod-exceeds-node",
                    ERROR,
                    f"{asks} {resource} but the largest schedulable node{where} has {largest}: a pod must fit on "
                    "one node, so it will stay Pending forever",
                    fix,
                )
            )
            continue
        gpu_list = [gpus for _, gpus in members]
        # On free GPUs only the nodes with a free GPU can take a pod (a few, on a busy cluster); what fits
        # the free GPUs fits the capacity, so the capacity placement is only needed otherwise.
        roomy = view.with_room(resource, selector or None, without=own) if view.free_known else []
        by_free = place_pods(gpu_list, roomy, use_free=True) if view.free_known else None
        by_capacity = by_free if by_free is not None else place_pods(gpu_list, nodes, use_free=False)
        placements.append((by_capacity, by_free, nodes, roomy, members))
    if findings:
        return findings
    products: set[str] = set()
    for by_capacity, by_free, nodes, roomy, members in placements:
        total = sum(g for _, g in members)
        resource = nodes[0].gpu_resource
        if by_capacity is None:
            capacity = sum(n.physical for n in nodes)
            findings.append(
                Finding(
                    "exceeds-cluster-capacity",
                    ERROR,
                    f"{len(members)} pods needing {total} {resource} in all do not fit on the {len(nodes)} schedulable "
                    f"nodes ({capacity} GPUs, at most {max(n.physical for n in nodes)} per node): some will stay "
                    "Pending forever",
                    fix,
                )
            )
            continue
        chosen = set(by_free if by_free is not None else by_capacity)
        # The pods' nodes are among the few with room when they fit the free GPUs.
        searched = roomy if by_free is not None else nodes
        products.update(n.product or "unknown product" for n in searched if n.name in chosen)
        if view.free_known and by_free is None:
            # Count only nodes big enough for at least one of these pods: free GPUs on a 4-GPU node
            # do not help an 8-GPU pod.
            smallest = min(g for _, g in members)
            hosts = [n for n in nodes if n.physical >= smallest] or list(nodes)
            free = sum(min(n.free, n.physical) for n in hosts)
            listed = [n for n in hosts if min(n.free, n.physical)] or hosts
            per_node = ", ".join(f"{n.name}={min(n.free, n.physical)}" for n in listed[:8])
            if len(listed) > 8:
                per_node += f" and {len(listed) - 8} more node(s)"
            findings.append(
                Finding(
                    "insufficient-free-gpus",
                    WARNING,
                    f"the layout fits the nodes' capacity but not the GPUs free now: {total} {resource} needed in "
                    f"pods of {sorted((g for _, g in members), reverse=True)}, {free} free ({per_node}); pods will "
                    "be Pending until other workloads release GPUs",
                    "free GPUs on these nodes, or " + fix + " for a layout that fits what is free",
                )
            )
    if len(products) > 1:
        findings.append(
            Finding(
                "gpu-type-mismatch",
                WARNING,
                f"the pods would land on different GPU products ({', '.join(sorted(products))}); nothing in the "
                "InferenceService pins one product",
                "pin one product with a nodeSelector on the predictor and the workerSpec (e.g. nvidia.com/gpu.product)",
            )
        )
    return findings


def pending_pod_findings(
    pods: Sequence[Pod], events: Sequence[Event], causes: Sequence[Finding] = ()
) -> list[Finding]:
    """Pods Pending with ``FailedScheduling`` events that mention GPUs, linked to their likely cause."""
    pending = {p.name for p in pods if p.phase == "Pending"}
    messages: dict[str, str] = {}
    for event in events:
        if event.reason != "FailedScheduling" or event.involved_name not in pending:
            continue
        text = " ".join(event.message.split()).rstrip(".")
        if "gpu" in text.lower() or any(t in text for t in global_gpu_types()):
            messages[event.involved_name] = text
    if not messages:
        return []
    listed = "; ".join(f"{pod}: {text}" for pod, text in sorted(messages.items()))
    cause_codes = [
        f.code
        for f in causes
        if f.code
        in (
            "pod-exceeds-node",
            "exceeds-cluster-capacity",
            "insufficient-free-gpus",
            "no-gpu-requests",
            "rollout-needs-gpus",
        )
    ]
    cause = f" Cause: see {', '.join(dict.fromkeys(cause_codes))} above." if cause_codes else ""
    return [
        Finding(
            "pods-pending",
            ERROR,
            f"{len(messages)} pod(s) Pending, the scheduler cannot find GPUs: {listed}.{cause}",
            None,
        )
    ]
