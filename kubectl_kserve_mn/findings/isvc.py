"""The findings of an InferenceService and of a ServingRuntime: admission, the controller's layout, GPUs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.findings.interconnect import interconnect_findings
from kubectl_kserve_mn.findings.model import model_findings, unreadable_model
from kubectl_kserve_mn.findings.report import (
    ERROR,
    INFO,
    WARNING,
    Finding,
    ItemReport,
    ModelInput,
    NodeView,
    dict_of,
    fix_command,
    name_of,
    namespace_of,
)
from kubectl_kserve_mn.findings.rollout import rollout_findings
from kubectl_kserve_mn.findings.schedulability import pending_pod_findings, schedulability_findings
from kubectl_kserve_mn.inputs.k8s import Event, Pod
from kubectl_kserve_mn.interconnect import is_rdma_resource
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
    MemoryEstimate,
)

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
    status_mode = dict_of(isvc.get("status")).get("deploymentMode")
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
        resources = dict_of(container.get("resources"))
        names = {str(n) for sec in ("limits", "requests") for n in dict_of(resources.get(sec))}
        for name in sorted(n for n in names if n not in BASIC_RESOURCES and n not in known):
            if name in annotated and is_rdma_resource(name):
                continue  # an RDMA device, not a GPU: the annotation is all the webhook needs
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
                        f"annotate with {GPU_TYPES_ANNOTATION}: '[\"{name}\"]'"
                        + (
                            " (an RDMA device is not a GPU: leave it out of customGPUResourceTypeList)"
                            if is_rdma_resource(name)
                            else " and add it to the configmap customGPUResourceTypeList"
                        ),
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
                fix_command(name_of(isvc), namespace_of(isvc)),
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
        fix_command(name_of(isvc), namespace_of(isvc)),
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
        resources = dict_of(container.get("resources"))
        others = sorted(
            {
                str(n)
                for sec in ("limits", "requests")
                for n, q in dict_of(resources.get(sec)).items()
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
    api_rejection: str | None = None,
) -> ItemReport:
    """Admission, layout and findings for one multi-node InferenceService.

    ``runtimes``: the ServingRuntimes and ClusterServingRuntimes it may use. ``nodes``: None skips the
    schedulability findings. ``existing``: the object is on the cluster (rejection means its next update
    fails); ``pods``/``events`` are its pods and its namespace's FailedScheduling events.
    ``offline``: runtimes come from files, so a missing runtime is only a warning.
    ``model``: check the model's vLLM rules and memory at the controller's layout.
    ``api_rejection``: the API server's refusal from the CRD schema (a value out of its bounds), which comes
    before any webhook.
    """
    era = kv.era
    name, namespace = name_of(isvc), namespace_of(isvc)
    facts = model.facts if model is not None else None
    if model is not None and facts is None:
        extra_findings = (unreadable_model(model), *extra_findings)
    admission = (
        Admission(False, api_rejection)
        if api_rejection
        else admit_inferenceservice(isvc, era, custom_gpu_types=custom_gpu_types)
    )
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
    if not isinstance(dict_of(dict_of(isvc.get("spec")).get("predictor")).get("workerSpec"), dict):
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
        schedule = schedulability_findings(isvc, choice.runtime, layout, nodes)
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
    if (
        nodes is not None
        and layout.error is None
        and choice.error is None
        and not any(f.severity == ERROR for f in schedule)
    ):
        findings += interconnect_findings(isvc, choice.runtime, layout, nodes)
    rollout = None
    if existing and layout.error is None and choice.error is None:
        rollout, rolling = rollout_findings(isvc, layout, pods, nodes)
        if not any(f.severity == ERROR for f in schedule):  # else the new pods never fit, rollout or not
            findings += rolling
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
        rollout=rollout,
    )


def check_runtime(
    runtime: Mapping[str, Any],
    kv: KServeVersion,
    *,
    existing: Mapping[str, Any] | None = None,
    api_rejection: str | None = None,
) -> ItemReport:
    """Admission of a ServingRuntime / ClusterServingRuntime (``existing``: the stored object, on update;
    ``api_rejection``: the API server's refusal from the CRD schema, before the webhook)."""
    kind = str(runtime.get("kind") or "ServingRuntime")
    name = name_of(runtime)
    namespace = namespace_of(runtime) if kind == "ServingRuntime" else None
    admission = Admission(False, api_rejection) if api_rejection else admit_runtime(runtime, kv.era, existing)
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
