"""Findings of ``check``: what KServe will do with each multi-node object and why it will fail.

Pure functions over plain objects (dicts as read from the API or files) and the KServe rules in
:mod:`kubectl_kserve_mn.kserve`. Each finding has a stable code, a severity, a message that says what
will happen and why, and a suggestion.

Finding codes (stable; kebab-case; documented in the README):

==========================  ========  =============================================================
code                        severity  meaning
==========================  ========  =============================================================
admission-rejected          error     KServe's validating webhook of this version rejects the object
upgrade-hazard              warning   an existing object the installed webhook would reject on its next
                            / info    update (warning); or a newer KServe would reject it (info)
runtime-not-found           error     no ServingRuntime/ClusterServingRuntime for the ISVC (warning
                                      offline, where the cluster may still have it)
controller-error            error     the controller fails: InvalidGPUAllocation, missing runtime
                                      worker container, runtime without workerSpec, ...
workerspec-ignored          error     KServe before v0.15.0: workerSpec is inert, no worker pods
not-raw-deployment          error     deployment mode is not RawDeployment/Standard: no worker pods
                            / warning (warning when the mode is left to the cluster default)
pod-exceeds-node            error     a pod asks for more GPUs than any schedulable node of its GPU
                                      type offers (or no node offers the type): Pending forever
exceeds-cluster-capacity    error     every pod fits some node, but not all of them together
insufficient-free-gpus      warning   fits the nodes' capacity but not the GPUs free right now
no-gpu-requests             warning   v0.15.1+ Ray: no GPU requests on head or worker, so KServe makes
                            / error   TP x PP single-GPU pods (error when those cannot schedule)
gpu-limits-without-requests warning   GPUs only in limits: invisible to KServe's v0.15.1+ arithmetic
gpu-overallocated           warning   head + workers hold more GPUs than TP x PP
gpu-type-mismatch           warning   head and worker on different GPU resources or products, or a pod
                                      that would request two GPU resources
gpu-resource-unknown        error     a GPU resource KServe does not know without the
                            / warning ``serving.kserve.io/gpu-resource-types`` annotation (warning
                                      when the annotation covers it but the controller's arithmetic
                                      still ignores it)
pods-pending                error     existing pods Pending with FailedScheduling events about GPUs
model-unreadable            error     the model named by --model or the ``kserve-mn/model`` annotation
                                      cannot be loaded (only that item fails, not the run)
model-memory-unknown        info      a model is given but the GPU memory per GPU is not known (no
                                      node label, no --gpu-memory): memory was not checked
model-*                     error     vLLM's rules for the model at the controller's TP x PP, and the
                            / warning per-GPU memory estimate: the codes of :mod:`kubectl_kserve_mn.model`
                                      (model-heads-not-divisible, model-weights-exceed-memory,
                                      model-kv-below-context, model-kv-low-concurrency, ...)
==========================  ========  =============================================================

Extra finding sources append through :func:`add_findings` or ``extra_findings``.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs.k8s import Event, Node, Pod
from kubectl_kserve_mn.inventory import NodeGpus, build_inventory
from kubectl_kserve_mn.kserve.admission import (
    BASIC_RESOURCES,
    DEPLOYMENT_MODE_ANNOTATION,
    GPU_TYPES_ANNOTATION,
    UNKNOWN_GPU_MESSAGE_SUFFIX,
    Admission,
    admit_inferenceservice,
    admit_runtime,
    annotations_of,
    newer_eras,
    parse_gpu_types_annotation,
)
from kubectl_kserve_mn.kserve.controller import (
    ControllerLayout,
    compute_layout,
    global_gpu_types,
    limited_gpus,
    quantity_value,
    requested_gpus,
)
from kubectl_kserve_mn.kserve.eras import ERAS, Era, KServeVersion
from kubectl_kserve_mn.kserve.runtimes import (
    RuntimeChoice,
    effective_parallelism,
    merged_head_container,
    merged_worker_container,
    select_runtime,
)
from kubectl_kserve_mn.model import (
    MODEL_ANNOTATION,
    MemoryEstimate,
    ModelFacts,
    estimate_memory,
    layout_violations,
    memory_violations,
)
from kubectl_kserve_mn.planner import place_pods

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)

ISVC_LABEL = "serving.kserve.io/inferenceservice"

MODEL_UNREADABLE = "model-unreadable"
MODEL_MEMORY_UNKNOWN = "model-memory-unknown"
DEFAULT_UTILIZATION = 0.9  # vLLM's --gpu-memory-utilization as the model package assumes it


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    suggestion: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class NodeView:
    """What is known about the nodes: the nodes and the pods bound to them."""

    nodes: Sequence[Node]
    pods: Sequence[Pod] = ()
    free_known: bool = True
    """False when the pods could not be read: only capacity is checked."""
    gpu_resource: str | None = None
    """``--gpu-resource``: consider only this resource."""


@dataclass(frozen=True)
class ModelInput:
    """The model an InferenceService serves, as the shell loaded it, and the memory settings to size it.

    ``facts`` is None when it could not be loaded; ``error`` then says why (a ``model-unreadable``
    finding on that item, not a failed run)."""

    spec: str
    """The model as the user named it (a path relative to the current directory, or an HF id)."""
    facts: ModelFacts | None
    error: str | None = None
    source: str = "--model"
    """``--model`` or the annotation name."""
    gpu_memory_bytes: int | None = None
    """``--gpu-memory``: used when the nodes' labels do not say."""
    utilization: float | None = None
    """``--gpu-memory-utilization`` given on the command line; None: the pod's vLLM args, else 0.9."""
    max_model_len: int | None = None
    """``--max-model-len``; None: the pod's vLLM args, else the model's context."""
    flags: tuple[str, ...] = ()
    """Memory flags to repeat in suggested commands (``--gpu-memory 80Gi``...)."""
    plan_flags: tuple[str, ...] = ()
    """Flags only the suggested ``plan`` takes (``--nodes-file F``)."""


@dataclass(frozen=True)
class ItemReport:
    kind: str
    namespace: str | None
    name: str
    admission: Admission
    layout: ControllerLayout | None
    findings: tuple[Finding, ...] = ()
    runtime: str | None = None
    """``Kind/name`` of the runtime used, or None."""
    notes: tuple[str, ...] = field(default=())
    model: ModelFacts | None = None
    memory: MemoryEstimate | None = None
    """The per-GPU memory estimate of the model at the controller's layout (None: not computed)."""

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "runtime": self.runtime,
            "admission": self.admission.to_json(),
            "layout": None if self.layout is None else self._layout_json(),
            "model": None if self.model is None else self.model.to_json(),
            "findings": [f.to_json() for f in self.findings],
        }

    def _layout_json(self) -> dict[str, Any]:
        assert self.layout is not None
        data = self.layout.to_json()
        data["memory"] = None if self.memory is None else self.memory.to_json()
        return data


def add_findings(report: ItemReport, extra: Iterable[Finding]) -> ItemReport:
    """``report`` with more findings appended (for other finding sources)."""
    return dataclasses.replace(report, findings=report.findings + tuple(extra))


def has_errors(reports: Iterable[ItemReport]) -> bool:
    return any(report.errors for report in reports)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def fix_command(name: str, namespace: str | None) -> str:
    return f"kubectl kserve-mn fix {name}" + (f" -n {namespace}" if namespace else "")


def offline_plan_command(
    isvc: Mapping[str, Any], layout: ControllerLayout, kv: KServeVersion, flags: Sequence[str] = ()
) -> str:
    """For an object in a file: the ``plan`` that prints the fields to put in it. The wish is the
    InferenceService's TP, and its PP only when it sets one (otherwise plan picks PP for the nodes)."""
    worker = _dict(_dict(_dict(isvc.get("spec")).get("predictor")).get("workerSpec"))
    args = ["--tensor-parallel-size", str(layout.tensor_parallel_size)]
    if worker.get("pipelineParallelSize") is not None:
        args += ["--pipeline-parallel-size", str(layout.pipeline_parallel_size)]
    version = ["--kserve-version", kv.version] if kv.version else []
    return "kubectl kserve-mn plan " + shlex.join([*args, *flags, *version])


# --- pieces -------------------------------------------------------------------------------------


def _admission_findings(
    isvc: Mapping[str, Any],
    admission: Admission,
    kv: KServeVersion,
    *,
    existing: bool,
    custom_gpu_types: Sequence[str],
) -> list[Finding]:
    era = kv.era
    if not admission.allowed:
        if existing:
            older = [
                e
                for e in ERAS
                if e.since < era.since
                and admit_inferenceservice(isvc, e, custom_gpu_types=custom_gpu_types).allowed
            ]
            admitted_by = f" (KServe {older[-1].key} rules admit it)" if older else ""
            return [
                Finding(
                    "upgrade-hazard",
                    WARNING,
                    f"this InferenceService exists, but KServe {kv.display} rejects its next update{admitted_by}: "
                    f"{admission.message}. Any change, including a fix, will be refused until this is corrected.",
                    "correct the rejected field in the same update; "
                    + (
                        "set serving.kserve.io/autoscalerClass: none"
                        if "autoscaler" in (admission.message or "")
                        else "see the message"
                    ),
                )
            ]
        return [
            Finding(
                "admission-rejected",
                ERROR,
                f"KServe {kv.display}'s webhook rejects this InferenceService: {admission.message}",
                _admission_suggestion(admission.message or "", era),
            )
        ]
    for newer in newer_eras(era):
        later = admit_inferenceservice(isvc, newer, custom_gpu_types=custom_gpu_types)
        if not later.allowed:
            return [
                Finding(
                    "upgrade-hazard",
                    INFO,
                    f"admitted by KServe {kv.display}, but KServe {newer.key} and later reject it: {later.message}",
                    "change it before upgrading KServe; " + _admission_suggestion(later.message or "", newer),
                )
            ]
    return []


def _admission_suggestion(message: str, era: Era) -> str:
    if "autoscaler" in message and "Multinode" in message:
        return f"set the annotation serving.kserve.io/autoscalerClass: {era.required_autoscaler_class}"
    if "is not a supported autoscaler class type" in message:
        if era.required_autoscaler_class:  # any other allowed class fails the multi-node check next
            return (
                f"set the annotation serving.kserve.io/autoscalerClass: {era.required_autoscaler_class} "
                f"(the only class KServe {era.key} allows for multi-node)"
            )
        return "use one of: " + ", ".join(era.allowed_autoscaler_classes)
    if "Storage Protocol" in message or "StorageURI must be set" in message:
        return "set predictor.model.storageUri to " + " or ".join(f"{p}://..." for p in era.storage_protocols)
    if "PipelineParallelSize cannot be less" in message:
        return f"set workerSpec.pipelineParallelSize to at least {era.min_pipeline_parallel}"
    if "TensorParallelSize cannot be less" in message:
        return "set workerSpec.tensorParallelSize to at least 1"
    if "environment variables is not allowed" in message:
        return "remove the env var; use workerSpec.pipelineParallelSize / tensorParallelSize instead"
    if UNKNOWN_GPU_MESSAGE_SUFFIX in message or "invalid GPU format" in message:
        return f"annotate the InferenceService with {GPU_TYPES_ANNOTATION}: '[\"<resource>\"]' (a JSON array)"
    if "PYTHONPATH" in message:
        return "remove the PYTHONPATH env var"
    if "'name' field" in message:
        return "remove spec.predictor.model.name"
    if "multiple containers" in message:
        return "keep one container in workerSpec.containers"
    if "must not set workerSpec" in message:
        return (
            "remove workerSpec from the canary's predictor: canaries are single-node; roll a multi-node change "
            "out by updating spec.predictor instead"
        )
    return "change the object as the message says"


def _deployment_mode_finding(isvc: Mapping[str, Any], era: Era, kv: KServeVersion) -> Finding | None:
    annotations = annotations_of(isvc)
    mode = annotations.get(DEPLOYMENT_MODE_ANNOTATION)
    raw = " or ".join(era.raw_deployment_modes)
    if mode in era.raw_deployment_modes:
        return None
    status_mode = _dict(isvc.get("status")).get("deploymentMode")
    if mode is None:
        if status_mode in era.raw_deployment_modes:
            return None
        return Finding(
            "not-raw-deployment",
            WARNING,
            f"no {DEPLOYMENT_MODE_ANNOTATION} annotation: the cluster default applies, which is Serverless in "
            "KServe's shipped inferenceservice-config; in Serverless/Knative mode no worker pods are created",
            f"set the annotation {DEPLOYMENT_MODE_ANNOTATION}: {era.raw_deployment_modes[-1]}",
        )
    why = ""
    if mode == "Standard" and "Standard" not in era.raw_deployment_modes:
        why = " (KServe before v0.16.0 does not know 'Standard', so the cluster default applies)"
    return Finding(
        "not-raw-deployment",
        ERROR,
        f"deployment mode {mode!r}{why}: KServe {kv.display} runs multi-node only in {raw} mode; otherwise "
        "it creates only the head (Knative) and no worker Deployment, so the model never starts",
        f"set the annotation {DEPLOYMENT_MODE_ANNOTATION}: {era.raw_deployment_modes[-1]}",
    )


def _gpu_resource_findings(
    isvc: Mapping[str, Any],
    runtime: Mapping[str, Any] | None,
    era: Era,
    admission: Admission,
    custom: Sequence[str],
) -> list[Finding]:
    known = global_gpu_types(custom)
    annotation = annotations_of(isvc).get(GPU_TYPES_ANNOTATION, "")
    annotated = parse_gpu_types_annotation(annotation) or [] if annotation else []
    findings: list[Finding] = []
    for role, container in (
        ("head", merged_head_container(isvc, runtime)),
        ("worker", merged_worker_container(isvc, runtime)),
    ):
        resources = _dict(container.get("resources"))
        names = {str(n) for sec in ("limits", "requests") for n in _dict(resources.get(sec))}
        for name in sorted(n for n in names if n not in BASIC_RESOURCES and n not in known):
            if name in annotated:
                how = (
                    "KServe v0.15.0's controller splits the annotation on ',' and falls back to nvidia.com/gpu"
                    if era.pod_gpus_are_tp
                    else "KServe's GPU arithmetic (computeRayNodeAndGPUs) only counts the built-in and configmap "
                    "types, so this pod's GPU request counts as 0"
                )
                findings.append(
                    Finding(
                        "gpu-resource-unknown",
                        WARNING,
                        f"{role} uses {name}: the annotation lets the webhook accept it, but {how}",
                        "add it to customGPUResourceTypeList in the inferenceservice-config ConfigMap (key multiNode)",
                    )
                )
            elif admission.allowed or UNKNOWN_GPU_MESSAGE_SUFFIX not in (admission.message or ""):
                findings.append(
                    Finding(
                        "gpu-resource-unknown",
                        ERROR,
                        f"{role} uses {name}, a resource KServe does not know (built-in: {', '.join(known)}); "
                        "the webhooks reject it unless it is declared",
                        f"annotate with {GPU_TYPES_ANNOTATION}: '[\"{name}\"]' and add it to the configmap "
                        "customGPUResourceTypeList",
                    )
                )
    return findings


def _gpu_counting_findings(
    isvc: Mapping[str, Any],
    runtime: Mapping[str, Any] | None,
    layout: ControllerLayout,
    era: Era,
    custom: Sequence[str],
) -> list[Finding]:
    findings: list[Finding] = []
    if era.pod_gpus_are_tp or layout.backend == "mp":
        return findings
    types = global_gpu_types(custom)
    head = merged_head_container(isvc, runtime)
    worker = merged_worker_container(isvc, runtime)
    head_req, worker_req = requested_gpus(head, types), requested_gpus(worker, types)
    for role, container, req in (("head", head, head_req), ("worker", worker, worker_req)):
        if req == 0 and limited_gpus(container, types) > 0:
            findings.append(
                Finding(
                    "gpu-limits-without-requests",
                    WARNING,
                    f"the {role} container sets GPUs only in limits; KServe's arithmetic reads requests only, so it "
                    "counts 0 GPUs there",
                    "set the same GPU count in resources.requests as in resources.limits",
                )
            )
    if head_req == 0 and worker_req == 0:
        findings.append(
            Finding(
                "no-gpu-requests",
                WARNING,
                f"no GPU requests on head or worker: KServe {era.key} and later create TP x PP = "
                f"{layout.total_gpus} pods of one GPU each (1 head + {layout.worker_replicas} worker pods)",
                fix_command(_name(isvc), _namespace(isvc)),
            )
        )
    return findings


def _overallocation_finding(isvc: Mapping[str, Any], layout: ControllerLayout) -> Finding | None:
    if layout.error is not None:
        return None
    wasted = layout.allocated_gpus - layout.total_gpus
    if wasted <= 0:
        return None
    return Finding(
        "gpu-overallocated",
        WARNING,
        f"head ({layout.head.gpus}) + {layout.worker_replicas} workers x {layout.worker.gpus} hold "
        f"{layout.allocated_gpus} GPUs but TP x PP is {layout.total_gpus}: {wasted} GPUs are reserved and unused",
        fix_command(_name(isvc), _namespace(isvc)),
    )


def _type_mismatch_findings(
    isvc: Mapping[str, Any],
    runtime: Mapping[str, Any] | None,
    layout: ControllerLayout,
    custom: Sequence[str],
) -> list[Finding]:
    findings: list[Finding] = []
    if layout.worker_replicas > 0 and layout.head.gpu_resource != layout.worker.gpu_resource:
        findings.append(
            Finding(
                "gpu-type-mismatch",
                WARNING,
                f"head uses {layout.head.gpu_resource} but workers use {layout.worker.gpu_resource}: one vLLM "
                "model spread over different GPU types (KServe does not check this)",
                "use the same GPU resource in predictor.model.resources and workerSpec.containers[0].resources",
            )
        )
    types = global_gpu_types(custom)
    for role, container, chosen in (
        ("head", merged_head_container(isvc, runtime), layout.head.gpu_resource),
        ("worker", merged_worker_container(isvc, runtime), layout.worker.gpu_resource),
    ):
        resources = _dict(container.get("resources"))
        others = sorted(
            {
                str(n)
                for sec in ("limits", "requests")
                for n, q in _dict(resources.get(sec)).items()
                if n in types and n != chosen and _nonzero(q)
            }
        )
        if others:
            findings.append(
                Finding(
                    "gpu-type-mismatch",
                    WARNING,
                    f"the {role} pod gets {chosen} from KServe but also keeps {', '.join(others)} from the "
                    "runtime or InferenceService: it requests both GPU types",
                    "use one GPU resource in the runtime and the InferenceService",
                )
            )
    return findings


def _nonzero(quantity: Any) -> bool:
    try:
        return quantity_value(quantity) != 0
    except InputError:  # a bad quantity is reported when the layout is computed
        return False


def _name(obj: Mapping[str, Any]) -> str:
    return str(_dict(obj.get("metadata")).get("name") or "")


def _namespace(obj: Mapping[str, Any]) -> str | None:
    ns = _dict(obj.get("metadata")).get("namespace")
    return str(ns) if ns else None


def _selector(*sources: Any) -> dict[str, str]:
    merged: dict[str, str] = {}
    for source in sources:
        merged.update({str(k): str(v) for k, v in _dict(source).items()})
    return merged


def _own_pod(pod: Pod, name: str, namespace: str | None) -> bool:
    return pod.labels.get(ISVC_LABEL) == name and (namespace is None or pod.namespace == namespace)


def _pod_selectors(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """The head's and the workers' nodeSelectors (the InferenceService's keys over the runtime's)."""
    predictor = _dict(_dict(isvc.get("spec")).get("predictor"))
    rt_spec = _dict((runtime or {}).get("spec"))
    head_sel = _selector(rt_spec.get("nodeSelector"), predictor.get("nodeSelector"))
    worker_sel = _selector(
        _dict(rt_spec.get("workerSpec")).get("nodeSelector"),
        _dict(predictor.get("workerSpec")).get("nodeSelector"),
    )
    return head_sel, worker_sel


def _schedulability_findings(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, layout: ControllerLayout, view: NodeView
) -> list[Finding]:
    """Where the pods of ``layout`` can go on ``view``'s nodes (the ISVC's own pods do not count as used)."""
    name, namespace = _name(isvc), _namespace(isvc)
    capacity = sum(n.physical for n in build_inventory(view.nodes, []).nodes if n.placeable)
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
    head_sel, worker_sel = _pod_selectors(isvc, runtime)
    other_pods = [p for p in view.pods if not _own_pod(p, name, namespace)]
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
    placements: list[tuple[list[str] | None, list[str] | None, list[NodeGpus], list[tuple[str, int]]]] = []
    for (resource, selector_items), members in groups.items():
        selector = dict(selector_items)
        inventory = build_inventory(
            view.nodes, other_pods, gpu_resource=resource, node_selector=selector or None
        )
        nodes = [n for n in inventory.nodes if n.gpu_resource == resource and n.placeable]
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
        largest = max(n.physical for n in nodes)
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
        placements.append(
            (
                place_pods(gpu_list, nodes, use_free=False),
                place_pods(gpu_list, nodes, use_free=True) if view.free_known else None,
                nodes,
                members,
            )
        )
    if findings:
        return findings
    products: set[str] = set()
    for by_capacity, by_free, nodes, members in placements:
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
        chosen = by_free if by_free is not None else by_capacity
        by_node = {n.name: n for n in nodes}
        products.update(by_node[node].product or "unknown product" for node in chosen)
        if view.free_known and by_free is None:
            # Count only nodes big enough for at least one of these pods: free GPUs on a 4-GPU node
            # do not help an 8-GPU pod.
            smallest = min(g for _, g in members)
            hosts = [n for n in nodes if n.physical >= smallest] or list(nodes)
            free = sum(min(n.free, n.physical) for n in hosts)
            per_node = ", ".join(f"{n.name}={min(n.free, n.physical)}" for n in hosts)
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
        in ("pod-exceeds-node", "exceeds-cluster-capacity", "insufficient-free-gpus", "no-gpu-requests")
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


# --- the model ----------------------------------------------------------------------------------

MIB = 1 << 20
_SIZE_SUFFIXES = {"k": 10**3, "m": 10**6, "g": 10**9, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def vllm_arg(container: Mapping[str, Any], flag: str) -> str | None:
    """The value of a vLLM flag in a container's args: ``--max-model-len=N``, ``--max-model-len N`` or the
    underscore spelling (vLLM's FlexibleArgumentParser accepts both); the last one wins, as in argparse."""
    spellings = {flag, "--" + flag[2:].replace("-", "_")}
    raw = container.get("args")
    args = [str(a) for a in raw if isinstance(a, str | int | float)] if isinstance(raw, list) else []
    value: str | None = None
    for index, arg in enumerate(args):
        key, sep, rest = arg.partition("=")
        if key in spellings:
            if sep:
                value = rest
            elif index + 1 < len(args):
                value = args[index + 1]
    return value


def _human_int(text: str) -> int | None:
    """vLLM's ``human_readable_int`` for --max-model-len: 32768, 32k (x1000) or 32K (x1024)."""
    text = text.strip()
    scale = _SIZE_SUFFIXES.get(text[-1:], 1) if text else 1
    number = text[:-1] if scale != 1 else text
    try:
        value = int(float(number) * scale) if scale != 1 else int(number)
    except ValueError:
        return None
    return value if value >= 1 else None


def _vllm_settings(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, model: ModelInput
) -> tuple[float, int | None]:
    """--gpu-memory-utilization and --max-model-len: the command line's, else the head container's vLLM
    args (runtime args first, then the InferenceService's, as KServe concatenates them), else defaults."""
    head = merged_head_container(isvc, runtime)
    utilization = model.utilization
    if utilization is None:
        raw = vllm_arg(head, "--gpu-memory-utilization")
        try:
            parsed = float(raw) if raw is not None else None
        except ValueError:
            parsed = None
        utilization = parsed if parsed is not None and 0 < parsed <= 1 else DEFAULT_UTILIZATION
    max_len = model.max_model_len
    if max_len is None:
        raw = vllm_arg(head, "--max-model-len")
        max_len = _human_int(raw) if raw is not None else None
    return utilization, max_len


def _layout_gpu_memory(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, layout: ControllerLayout, view: NodeView
) -> tuple[int, str] | None:
    """Bytes per GPU from the labels of the nodes the layout's pods may land on (their GPU resource and
    nodeSelector; nodes big enough for the pod when there are any), the smallest when they differ."""
    head_sel, worker_sel = _pod_selectors(isvc, runtime)
    asks = [(layout.head.gpu_resource, layout.head.gpus, head_sel)]
    if layout.worker_replicas:
        asks.append((layout.worker.gpu_resource, layout.worker.gpus, worker_sel))
    found: dict[str, int] = {}
    for resource, gpus, selector in asks:
        if gpus <= 0 or (view.gpu_resource and resource != view.gpu_resource):
            continue
        inventory = build_inventory(view.nodes, (), gpu_resource=resource, node_selector=selector or None)
        nodes = [n for n in inventory.nodes if n.gpu_resource == resource and n.placeable]
        fitting = [n for n in nodes if n.physical >= gpus] or nodes
        found.update({n.name: n.memory_mib for n in fitting if n.memory_mib})
    if not found:
        return None
    smallest = min(found.values())
    names = sorted(found)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    sizes = sorted(set(found.values()))
    what = f"{smallest:,} MiB per GPU from the labels of {shown}"
    if len(sizes) > 1:
        what += f"; the smallest of {', '.join(f'{m:,}' for m in sizes)} MiB, as the pods may land on any"
    return smallest * MIB, what


def _model_suggestion(
    name: str, namespace: str | None, model: ModelInput, kv: KServeVersion, *, existing: bool
) -> str:
    if existing:
        return f"{fix_command(name, namespace)} {shlex.join(['--model', model.spec, *model.flags])}"
    version = ["--kserve-version", kv.version] if kv.version else []
    return "kubectl kserve-mn plan " + shlex.join(
        ["--model", model.spec, *model.plan_flags, *model.flags, *version]
    )


def _unreadable_model(model: ModelInput) -> Finding:
    return Finding(
        MODEL_UNREADABLE,
        ERROR,
        f"cannot load the model named by {model.source} ({model.spec}): {model.error}; the model's vLLM "
        "rules and memory were not checked",
        f"set {MODEL_ANNOTATION} to a config.json path, a model directory or a Hugging Face id (org/name), "
        "or pass --model",
    )


def model_findings(
    isvc: Mapping[str, Any],
    runtime: Mapping[str, Any] | None,
    layout: ControllerLayout,
    model: ModelInput,
    kv: KServeVersion,
    *,
    nodes: NodeView | None = None,
    existing: bool = False,
) -> tuple[list[Finding], MemoryEstimate | None]:
    """vLLM's rules for the model at the controller's TP x PP (what vLLM is started with), and the per-GPU
    memory estimate when the GPU memory is known (node labels of the pods' nodes, else --gpu-memory)."""
    if model.facts is None:
        return [_unreadable_model(model)], None
    facts = model.facts
    tp, pp = layout.tensor_parallel_size, layout.pipeline_parallel_size
    at = f"TP={tp} x PP={pp}"
    suggestion = _model_suggestion(_name(isvc), _namespace(isvc), model, kv, existing=existing)
    findings: list[Finding] = []
    for violation in layout_violations(facts, tp, pp):
        lead = (
            f"vLLM will refuse to start {facts.name} at {at}" if violation.severity == ERROR else facts.name
        )
        findings.append(
            Finding(violation.code, violation.severity, f"{lead}: {violation.message}", suggestion)
        )
    # An explicit --gpu-memory wins over the nodes' labels.
    known: tuple[int, str] | None = (
        (model.gpu_memory_bytes, "--gpu-memory") if model.gpu_memory_bytes else None
    )
    if known is None and nodes is not None:
        known = _layout_gpu_memory(isvc, runtime, layout, nodes)
    if known is None:
        why = "no nodes were read" if nodes is None else "no nvidia.com/gpu.memory or amd.com/gpu.vram label"
        findings.append(
            Finding(
                MODEL_MEMORY_UNKNOWN,
                INFO,
                f"the GPU memory per GPU is unknown ({why}): whether {facts.name}'s weights and KV cache fit "
                f"at {at} was not checked",
                "pass --gpu-memory SIZE (e.g. 80Gi)"
                + (" or --nodes-file" if nodes is None else "")
                + ", or label the nodes with GPU Feature Discovery",
            )
        )
        return findings, None
    memory_bytes, where = known
    utilization, max_len = _vllm_settings(isvc, runtime, model)
    estimate = estimate_memory(facts, tp, pp, memory_bytes, utilization=utilization, max_model_len=max_len)
    for violation in memory_violations(estimate):
        findings.append(
            Finding(
                violation.code,
                violation.severity,
                f"{facts.name} at {at} on {memory_bytes / (1 << 30):.1f} GiB GPUs ({where}): {violation.message}",
                suggestion,
            )
        )
    return findings, estimate


# --- entry points -------------------------------------------------------------------------------


def check_inferenceservice(
    isvc: Mapping[str, Any],
    runtimes: Sequence[Mapping[str, Any]],
    kv: KServeVersion,
    *,
    custom_gpu_types: Sequence[str] = (),
    nodes: NodeView | None = None,
    existing: bool = False,
    pods: Sequence[Pod] = (),
    events: Sequence[Event] = (),
    offline: bool = False,
    extra_findings: Iterable[Finding] = (),
    model: ModelInput | None = None,
) -> ItemReport:
    """Admission, layout and findings for one multi-node InferenceService.

    ``runtimes``: the ServingRuntimes and ClusterServingRuntimes it may use. ``nodes``: None skips the
    schedulability findings. ``existing``: the object is on the cluster (rejection means its next update
    fails); ``pods``/``events`` are its pods and its namespace's FailedScheduling events.
    ``offline``: runtimes come from files, so a missing runtime is only a warning.
    ``model``: check the model's vLLM rules and memory at the controller's layout.
    """
    era = kv.era
    name, namespace = _name(isvc), _namespace(isvc)
    facts = model.facts if model is not None else None
    if model is not None and facts is None:
        extra_findings = (_unreadable_model(model), *extra_findings)
    admission = admit_inferenceservice(isvc, era, custom_gpu_types=custom_gpu_types)
    findings = _admission_findings(isvc, admission, kv, existing=existing, custom_gpu_types=custom_gpu_types)
    if not era.multinode:
        findings.append(
            Finding(
                "workerspec-ignored",
                ERROR,
                f"KServe {kv.display} only has the inert workerSpec.size field: no worker pods are created and "
                "the model runs on the head pod alone",
                "upgrade KServe to v0.15.1 or later for multi-node",
            )
        )
        return ItemReport(
            "InferenceService",
            namespace,
            name,
            admission,
            None,
            tuple(findings) + tuple(extra_findings),
            model=facts,
        )
    if not isinstance(_dict(_dict(isvc.get("spec")).get("predictor")).get("workerSpec"), dict):
        # Only a canary sets workerSpec: the predictor itself is single-node; admission says the rest.
        return ItemReport(
            "InferenceService",
            namespace,
            name,
            admission,
            None,
            tuple(findings) + tuple(extra_findings),
            notes=("the predictor has no workerSpec; only its canaries set one",),
            model=facts,
        )
    mode = _deployment_mode_finding(isvc, era, kv)
    if mode is not None:
        findings.append(mode)
    choice: RuntimeChoice = select_runtime(isvc, runtimes)
    runtime_label = f"{choice.kind}/{choice.name}" if choice.runtime is not None else None
    if choice.runtime is None:
        findings.append(
            Finding(
                "runtime-not-found",
                WARNING if offline else ERROR,
                f"{choice.error or choice.reason}: the controller cannot reconcile the predictor"
                + (" (offline: pass the runtime with -f to check it)" if offline else ""),
                "create the runtime, or set predictor.model.runtime to an existing multi-node runtime",
            )
        )
        return ItemReport(
            "InferenceService",
            namespace,
            name,
            admission,
            None,
            tuple(findings) + tuple(extra_findings),
            runtime_label,
            model=facts,
        )
    pp, tp = effective_parallelism(isvc, choice.runtime, era)
    if pp < 1 or tp < 1:
        # The webhook (or the runtime's) refuses these sizes; a layout derived from them ("TP x PP = -2
        # pods") would be nonsense, and so would every suggestion built on it.
        if admission.allowed:
            findings.append(
                Finding(
                    "controller-error",
                    ERROR,
                    f"pipelineParallelSize {pp} x tensorParallelSize {tp} (from the {choice.kind} "
                    f"{choice.name} and the InferenceService): both must be at least 1, so no pods are created",
                    "set workerSpec.pipelineParallelSize and tensorParallelSize to at least 1",
                )
            )
        return ItemReport(
            "InferenceService",
            namespace,
            name,
            admission,
            None,
            tuple(findings) + tuple(extra_findings),
            runtime_label,
            notes=("no layout: the parallel sizes are invalid",),
            model=facts,
        )
    layout = compute_layout(isvc, choice.runtime, era, custom_gpu_types=custom_gpu_types)
    if choice.error or layout.error:
        message = choice.error or layout.error
        reason = (
            "InvalidGPUAllocation"
            if layout.error and layout.error.startswith("the total required")
            else "error"
        )
        findings.append(
            Finding(
                "controller-error",
                ERROR,
                f"KServe's controller fails ({reason}): {message}; no Deployments are created",
                fix_command(name, namespace)
                if reason == "InvalidGPUAllocation"
                else "correct the runtime / InferenceService",
            )
        )
    findings += _gpu_resource_findings(isvc, choice.runtime, era, admission, custom_gpu_types)
    counting = _gpu_counting_findings(isvc, choice.runtime, layout, era, custom_gpu_types)
    over = _overallocation_finding(isvc, layout)
    findings += _type_mismatch_findings(isvc, choice.runtime, layout, custom_gpu_types)
    schedule: list[Finding] = []
    if nodes is not None and layout.error is None and choice.error is None:
        schedule = _schedulability_findings(isvc, choice.runtime, layout, nodes)
    if any(f.severity == ERROR for f in schedule):
        counting = [
            dataclasses.replace(f, severity=ERROR, message=f.message + "; they cannot all schedule")
            if f.code == "no-gpu-requests"
            else f
            for f in counting
        ]
    findings += counting
    if over is not None:
        findings.append(over)
    findings += schedule
    if existing:
        findings += pending_pod_findings(pods, events, findings)
    estimate: MemoryEstimate | None = None
    if model is not None and facts is not None:
        found, estimate = model_findings(
            isvc, choice.runtime, layout, model, kv, nodes=nodes, existing=existing
        )
        findings += found
    return ItemReport(
        "InferenceService",
        namespace,
        name,
        admission,
        layout,
        tuple(findings) + tuple(extra_findings),
        runtime_label,
        model=facts,
        memory=estimate,
    )


def check_runtime(
    runtime: Mapping[str, Any], kv: KServeVersion, *, existing: Mapping[str, Any] | None = None
) -> ItemReport:
    """Admission of a ServingRuntime / ClusterServingRuntime (``existing``: the stored object, on update)."""
    kind = str(runtime.get("kind") or "ServingRuntime")
    name = _name(runtime)
    namespace = _namespace(runtime) if kind == "ServingRuntime" else None
    admission = admit_runtime(runtime, kv.era, existing)
    findings: list[Finding] = []
    if not admission.allowed:
        if existing is not None:
            findings.append(
                Finding(
                    "upgrade-hazard",
                    WARNING,
                    f"this {kind} exists, but KServe {kv.display} rejects its next update: {admission.message}",
                    "correct it in the same update",
                )
            )
        else:
            findings.append(
                Finding(
                    "admission-rejected",
                    ERROR,
                    f"KServe {kv.display}'s webhook rejects this {kind}: {admission.message}",
                    _runtime_suggestion(admission.message or "", kv.era),
                )
            )
    else:
        for newer in newer_eras(kv.era):
            later = admit_runtime(runtime, newer, existing)
            if not later.allowed:
                findings.append(
                    Finding(
                        "upgrade-hazard",
                        INFO,
                        f"admitted by KServe {kv.display}, but KServe {newer.key} and later reject it: {later.message}",
                        "change it before upgrading KServe",
                    )
                )
                break
    return ItemReport(kind, namespace, name, admission, None, tuple(findings))


def _runtime_suggestion(message: str, era: Era) -> str:
    if "must be set when WorkerSpec is set" in message or "cannot be less than 2" in message:
        return "set workerSpec.pipelineParallelSize (at least 2) and tensorParallelSize in the runtime (KServe v0.15.0)"
    if "unknown GPU resource type" in message:
        return f"add spec.annotations {GPU_TYPES_ANNOTATION}: '[\"<resource>\"]' to the runtime"
    return "change the runtime as the message says"
