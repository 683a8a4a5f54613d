"""The parts of ``check``'s LLMInferenceService findings that look beyond the object: where its pods can go
on the nodes (every pod of every LeaderWorkerSet group x replicas, prefill and decode together), and the
model's vLLM rules and memory at the rendered tensor/pipeline sizes. Used by :mod:`kubectl_kserve_mn.findings.llmisvc`.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from kubectl_kserve_mn.findings.model import MIB, human_int, vllm_arg
from kubectl_kserve_mn.findings.report import (
    DEFAULT_UTILIZATION,
    ERROR,
    INFO,
    MODEL_MEMORY_UNKNOWN,
    WARNING,
    Finding,
    ModelInput,
    NodeView,
)
from kubectl_kserve_mn.inventory import NodeGpus
from kubectl_kserve_mn.kserve.llmisvc.layout import LlmLayout, WorkloadLayout
from kubectl_kserve_mn.model import MemoryEstimate, estimate_memory, layout_violations, memory_violations
from kubectl_kserve_mn.planner import place_pods

EXPERT_WITHOUT_EXPERTS = "model-expert-parallel-without-experts"
NAME_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF = "llminferenceservice"
_MAX_PODS = 10_000


def fix_hint(name: str, namespace: str | None) -> str:
    return f"kubectl kserve-mn fix llmisvc/{name}" + (f" -n {namespace}" if namespace else "")


# --- scheduling -----------------------------------------------------------------------------------


def _selector(pod: Mapping[str, Any] | None) -> dict[str, str]:
    raw = (pod or {}).get("nodeSelector")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def schedulability_findings(
    layout: LlmLayout, view: NodeView, name: str, namespace: str | None
) -> list[Finding]:
    """Where every pod of every group (leader + workers) x replicas of both workloads can go."""
    asks: list[tuple[str, str, int, dict[str, str]]] = []
    for w in layout.workloads:
        if w.controller_error is not None or w.gpu_resource is None:
            continue
        groups = w.replicas
        pods_per_group = w.pods_per_group
        if groups * pods_per_group > _MAX_PODS:
            return [
                Finding(
                    "exceeds-cluster-capacity",
                    ERROR,
                    f"{w.field}: {groups} replicas x {pods_per_group} pods are more pods than any cluster holds",
                    fix_hint(name, namespace),
                )
            ]
        prefix = "" if w.role == "main" else f"{w.role} "
        leader = (
            f"{prefix}{'leader' if w.lws is not None else 'pod'}",
            w.gpu_resource,
            w.leader_gpus,
            _selector(w.leader_pod),
        )
        worker = (f"{prefix}worker", w.gpu_resource, w.worker_gpus or 0, _selector(w.worker_pod))
        asks += ([leader] + [worker] * (pods_per_group - 1)) * groups
    asks = [a for a in asks if a[2] > 0 and (not view.gpu_resource or a[1] == view.gpu_resource)]
    if not asks:
        return []
    own = [
        p for p in view.pods_labelled(NAME_LABEL, name, namespace) if p.labels.get(PART_OF_LABEL) == PART_OF
    ]
    grouped: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[str, int]]] = {}
    for role, resource, gpus, selector in asks:
        grouped.setdefault((resource, tuple(sorted(selector.items()))), []).append((role, gpus))
    findings: list[Finding] = []
    fix = fix_hint(name, namespace)
    for (resource, selector_items), members in grouped.items():
        selector = dict(selector_items)
        inventory = view.inventory(resource, selector or None, without=own)
        nodes: list[NodeGpus] = [n for n in inventory.nodes if n.gpu_resource == resource and n.placeable]
        where = f" matching nodeSelector {selector}" if selector else ""
        roles = " and ".join(sorted({r for r, _ in members}))
        if not nodes:
            findings.append(
                Finding(
                    "pod-exceeds-node",
                    ERROR,
                    f"no schedulable node{where} offers whole {resource} GPUs: the {roles} pods stay Pending forever",
                    fix,
                )
            )
            continue
        largest = max(n.physical for n in nodes)
        too_big = sorted({(r, g) for r, g in members if g > largest})
        if too_big:
            asked = ", ".join(f"the {r} pod asks for {g}" for r, g in too_big)
            findings.append(
                Finding(
                    "pod-exceeds-node",
                    ERROR,
                    f"{asked} {resource} but the largest schedulable node{where} has {largest}: a pod must fit on one "
                    "node, so it stays Pending forever and its LeaderWorkerSet group never starts",
                    fix,
                )
            )
            continue
        sizes = [g for _, g in members]
        total = sum(sizes)
        capacity = sum(n.physical for n in nodes)
        if total > capacity or place_pods(sizes, nodes, use_free=False) is None:
            findings.append(
                Finding(
                    "exceeds-cluster-capacity",
                    ERROR,
                    f"{len(sizes)} pods ({roles}) needing {total} {resource} in all do not fit on the {len(nodes)} "
                    f"schedulable nodes{where} ({capacity} GPUs, at most {largest} per node): some stay Pending "
                    "forever, and a LeaderWorkerSet group runs only when all its pods do",
                    fix,
                )
            )
            continue
        if view.free_known and place_pods(sizes, nodes, use_free=True) is None:
            smallest = min(sizes)
            hosts = [n for n in nodes if n.physical >= smallest] or nodes
            free = sum(min(n.free, n.physical) for n in hosts)
            per_node = ", ".join(f"{n.name}={min(n.free, n.physical)}" for n in hosts)
            findings.append(
                Finding(
                    "insufficient-free-gpus",
                    WARNING,
                    f"the groups fit the nodes' capacity but not the GPUs free now: {total} {resource} needed in pods of "
                    f"{sorted(sizes, reverse=True)}, {free} free ({per_node}); pods stay Pending until other workloads "
                    "release GPUs",
                    "free GPUs on these nodes, or lower spec.replicas",
                )
            )
    return findings


# --- the model ------------------------------------------------------------------------------------


def _gpu_memory(w: WorkloadLayout, view: NodeView | None, model: ModelInput) -> tuple[int, str] | None:
    if view is not None and w.gpu_resource is not None:
        inventory = view.inventory(w.gpu_resource, _selector(w.leader_pod) or None, with_pods=False)
        nodes = [n for n in inventory.nodes if n.gpu_resource == w.gpu_resource and n.placeable]
        fitting = [n for n in nodes if n.physical >= w.leader_gpus] or nodes
        found = {n.name: n.memory_mib for n in fitting if n.memory_mib}
        if found:
            smallest = min(found.values())
            names = sorted(found)
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            return smallest * MIB, f"{smallest:,} MiB per GPU from the labels of {shown}"
    if model.gpu_memory_bytes:
        return model.gpu_memory_bytes, "--gpu-memory"
    return None


def model_findings(
    w: WorkloadLayout, model: ModelInput, view: NodeView | None
) -> tuple[list[Finding], MemoryEstimate | None]:
    facts = model.facts
    assert facts is not None
    v = w.vllm
    at = f"TP={v.tensor} x PP={v.pipeline}" + (f" (DP={v.data})" if v.data > 1 else "")
    suggestion = "kubectl kserve-mn plan --kind llmisvc " + shlex.join(["--model", model.spec, *model.flags])
    findings: list[Finding] = []
    if v.expert and facts.num_experts == 0:
        findings.append(
            Finding(
                EXPERT_WITHOUT_EXPERTS,
                ERROR,
                f"vLLM will refuse to start {facts.name} with --enable-expert-parallel: Number of experts in the model "
                "must be greater than 0 when expert parallelism is enabled.",
                f"remove {w.field}.parallelism.expert",
            )
        )
    for violation in layout_violations(facts, v.tensor, v.pipeline, expert_parallel=v.expert):
        lead = (
            f"vLLM will refuse to start {facts.name} at {at}" if violation.severity == ERROR else facts.name
        )
        findings.append(
            Finding(violation.code, violation.severity, f"{w.field}: {lead}: {violation.message}", suggestion)
        )
    if facts.num_experts and v.data > 1:
        findings.append(
            Finding(
                MODEL_MEMORY_UNKNOWN,
                INFO,
                f"{w.field}: {facts.name} is a mixture-of-experts model run with data parallelism {v.data}: vLLM shards "
                "its experts over data x tensor ranks, which the memory estimate does not model; memory was not "
                "checked",
                None,
            )
        )
        return findings, None
    known = _gpu_memory(w, view, model)
    if known is None:
        findings.append(
            Finding(
                MODEL_MEMORY_UNKNOWN,
                INFO,
                f"{w.field}: the GPU memory per GPU is unknown: whether {facts.name} fits at {at} was not checked",
                "pass --gpu-memory SIZE (e.g. 80Gi) or --nodes-file, or label the nodes with GPU Feature Discovery",
            )
        )
        return findings, None
    memory, where = known
    command = {"args": list(w.command)}
    utilization = model.utilization
    if utilization is None:
        raw = vllm_arg(command, "--gpu-memory-utilization")
        try:
            parsed = float(raw) if raw is not None else None
        except ValueError:
            parsed = None
        utilization = parsed if parsed is not None and 0 < parsed <= 1 else DEFAULT_UTILIZATION
    max_len = model.max_model_len
    if max_len is None:
        raw = vllm_arg(command, "--max-model-len")
        max_len = human_int(raw) if raw is not None else None
    estimate = estimate_memory(
        facts,
        v.tensor,
        v.pipeline,
        memory,
        utilization=utilization,
        max_model_len=max_len,
        expert_parallel=v.expert,
    )
    for violation in memory_violations(estimate):
        findings.append(
            Finding(
                violation.code,
                violation.severity,
                f"{w.field}: {facts.name} at {at} on {memory / (1 << 30):.1f} GiB GPUs ({where}): {violation.message}",
                suggestion,
            )
        )
    return findings, estimate
