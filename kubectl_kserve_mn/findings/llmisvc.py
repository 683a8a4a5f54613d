"""``check``'s findings for LLMInferenceServices: what KServe v0.16..v0.20 will do with each one and why
it will fail (issue 10). Pure functions over plain objects and the rules in
:mod:`kubectl_kserve_mn.kserve.llmisvc`; the report renders in ``check``'s table beside InferenceServices.

Finding codes (stable; the ``model-*``, scheduling and admission codes are shared with InferenceServices):

=================================  ========  =================================================================
code                               severity  meaning
=================================  ========  =================================================================
admission-rejected                 error     the CRD schema or KServe's webhook rejects the object (or the
                                             update of the live one), with the API server's message
llmisvc-pipeline-preset-missing    error     ``worker`` + ``pipeline``: the controller selects
                                             ``kserve-config-llm-worker-pipeline-parallel``, which no release
                                             ships, so nothing deploys (kserve#5047)
controller-error                   error     another controller failure (a missing ``baseRefs`` config, a
                                             template error)
llmisvc-tensor-exceeds-pod         error     tensor larger than one pod's GPUs while the LWS size ignores tensor:
                                             pods start, vLLM waits for its placement group forever (kserve#4946)
llmisvc-data-ranks-mismatch        error     vLLM's data-parallel size differs from the ranks the LWS runs
                                             (pods x dataLocal), or dataLocal > data: ranks never join
llmisvc-gpus-mismatch              error /   a pod's GPU request is not dataLocal x tensor (fewer: vLLM cannot
                                   warning   start; more: idle GPUs)
llmisvc-pipeline-ignored           warning   single-node ``pipeline`` is not rendered: its GPUs sit idle (kserve#6044)
llmisvc-tensor-dropped             warning   single-node ``tensor`` is dropped before v0.20.0 (kserve#5773)
llmisvc-data-ignored               warning   single-node ``data``/``dataLocal`` are not rendered
pod-exceeds-node                   error     a pod asks for more GPUs than any schedulable node of its type has
exceeds-cluster-capacity           error     the groups (leader + workers) x replicas do not fit the nodes
insufficient-free-gpus             warning   they fit the nodes' capacity, not the GPUs free now
pods-pending                       error     its pods are Pending with FailedScheduling events about GPUs
model-*                            per rule  vLLM's rules and the memory estimate at the rendered TP x PP
=================================  ========  =================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubectl_kserve_mn.findings.llmisvc_cluster import (
    fix_hint,
    model_findings,
    schedulability_findings,
)
from kubectl_kserve_mn.findings.model import unreadable_model
from kubectl_kserve_mn.findings.report import (
    ERROR,
    WARNING,
    Finding,
    ItemReport,
    ModelInput,
    NodeView,
)
from kubectl_kserve_mn.findings.schedulability import pending_pod_findings
from kubectl_kserve_mn.inputs.k8s import Event, Pod
from kubectl_kserve_mn.inventory import KSERVE_GPU_RESOURCES
from kubectl_kserve_mn.kserve.admission import Admission
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.kserve.llmisvc.admission import (
    DATA_LOCAL_NEEDED,
    DATA_NEEDED,
    NOT_CHECKED,
    PIPELINE_AND_DATA,
    WORKER_NEEDS_PARALLELISM,
    admit_llmisvc,
)
from kubectl_kserve_mn.kserve.llmisvc.layout import (
    TENSOR_FLAG,
    LlmLayout,
    WorkloadLayout,
    compute_llm_layout,
    how_to_pass,
)
from kubectl_kserve_mn.kserve.llmisvc.presets import PIPELINE_PRESETS
from kubectl_kserve_mn.kserve.llmisvc.spec import KIND, read
from kubectl_kserve_mn.model import MemoryEstimate

PIPELINE_PRESET_MISSING = "llmisvc-pipeline-preset-missing"
TENSOR_EXCEEDS_POD = "llmisvc-tensor-exceeds-pod"
DATA_RANKS_MISMATCH = "llmisvc-data-ranks-mismatch"
GPUS_MISMATCH = "llmisvc-gpus-mismatch"
PIPELINE_IGNORED = "llmisvc-pipeline-ignored"
TENSOR_DROPPED = "llmisvc-tensor-dropped"
DATA_IGNORED = "llmisvc-data-ignored"


@dataclass(frozen=True)
class LlmItemReport(ItemReport):
    """An LLMInferenceService's report: ``ItemReport``'s table row and verdict, its own layout and JSON."""

    api_version: str = ""
    llm_layout: LlmLayout | None = field(default=None)

    @property
    def layout_text(self) -> str:
        """The LAYOUT cell of ``check``'s table."""
        if self.llm_layout is None:
            return "-"
        parts = [_workload_text(w) for w in self.llm_layout.workloads]
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "apiVersion": self.api_version,
            "admission": self.admission.to_json(),
            "layout": None if self.llm_layout is None else self.llm_layout.to_json(),
            "findings": [f.to_json() for f in self.findings],
            **({} if self.upgrade is None else {"upgrade": self.upgrade.to_json()}),
        }


def _shape(w: WorkloadLayout) -> str:
    v = w.vllm
    text = f"TP{v.tensor}"
    if v.pipeline > 1:
        text += f" PP{v.pipeline}"
    if v.data > 1 or v.data_local is not None:
        text += f" DP{v.data}" + (f"/{v.data_local} local" if v.data_local is not None else "")
    if v.expert:
        text += " EP"
    return text


def _workload_text(w: WorkloadLayout) -> str:
    prefix = "prefill " if w.role == "prefill" else ""
    if w.controller_error:
        return f"{prefix}controller error"
    resource = w.gpu_resource or "GPU"
    if w.lws is None:
        return f"{prefix}{w.replicas} x 1 pod of {w.leader_gpus} {resource} ({_shape(w)})"
    workers = w.lws.pods - 1
    pods = f"leader {w.leader_gpus}" + (f" + {workers} x {w.worker_gpus or 0}" if workers else "")
    return f"{prefix}LWS {w.replicas} x [{pods} {resource}] ({_shape(w)})"


# --- admission ------------------------------------------------------------------------------------


def _admission_suggestion(message: str, kv: KServeVersion) -> str:
    era = kv.era
    if "no matches for kind" in message:
        if not era.llmisvc_api_versions:
            return "LLMInferenceService needs KServe v0.16.0 or later"
        return (
            f"use apiVersion serving.kserve.io/{era.llmisvc_api_versions[-1]} (served by KServe {kv.display})"
        )
    if "total parallelism size is immutable" in message:
        return (
            "the total size (data / dataLocal, else pipeline) of an existing LLMInferenceService cannot change: "
            "delete it and create it again with the new size (kubectl kserve-mn fix prints the manifest)"
        )
    if WORKER_NEEDS_PARALLELISM in message:
        return (
            "set spec.parallelism.data and dataLocal (one vLLM data-parallel rank group per pod; tensor alone does "
            "not size the LeaderWorkerSet), or remove spec.worker to run one pod"
        )
    if PIPELINE_AND_DATA in message:
        return "set either pipeline or data/dataLocal, not both"
    if DATA_LOCAL_NEEDED in message or DATA_NEEDED in message:
        return "set data and dataLocal together (data = pods x dataLocal)"
    if "in body should be" in message:
        return "use a value within the CRD's bounds (parallelism sizes >= 1, dataRPCPort 1..65535, replicas >= 0)"
    return "change the object as the message says"


def _admission_findings(admission: Admission, kv: KServeVersion, *, update: bool) -> list[Finding]:
    if admission.allowed:
        return []
    what = "this update of the LLMInferenceService" if update else "this LLMInferenceService"
    return [
        Finding(
            "admission-rejected",
            ERROR,
            f"KServe {kv.display} rejects {what}: {admission.message}",
            _admission_suggestion(admission.message or "", kv),
        )
    ]


# --- the controller and vLLM ------------------------------------------------------------------------


def _controller_findings(w: WorkloadLayout, kv: KServeVersion) -> list[Finding]:
    if w.controller_error is None:
        return []
    if w.preset in PIPELINE_PRESETS and w.preset is not None and w.preset in w.controller_error:
        parallelism = w.parallelism
        pp = parallelism.pipeline if parallelism is not None else None
        return [
            Finding(
                PIPELINE_PRESET_MISSING,
                ERROR,
                f"{w.field}.worker with pipeline parallelism ({pp}) selects the preset {w.preset}, which no KServe "
                f"release ships (kserve#5047): the webhook admits it but the controller fails with {w.controller_error}; "
                "no LeaderWorkerSet is created",
                f"create an LLMInferenceServiceConfig named {w.preset} (in the object's namespace or kserve) that runs "
                "vLLM with --pipeline-parallel-size; or fit the model in one pod (tensor = GPUs per node) and scale "
                "with data/dataLocal; or serve it as an InferenceService with KServe's Ray multi-node runtime "
                "(kubectl kserve-mn plan)",
            )
        ]
    return [
        Finding(
            "controller-error",
            ERROR,
            f"KServe {kv.display}'s controller fails for {w.field}: {w.controller_error}; nothing is deployed",
            "create the missing LLMInferenceServiceConfig, or correct the reference",
        )
    ]


def _pod_need(w: WorkloadLayout) -> int:
    """GPUs one pod's vLLM uses: its local data-parallel ranks x tensor x pipeline."""
    v = w.vllm
    local = v.data_local if v.data_local is not None else (v.data if w.lws is None else 1)
    return max(local, 1) * v.tensor * v.pipeline


def _multi_node_findings(w: WorkloadLayout, name: str, namespace: str | None) -> list[Finding]:
    assert w.lws is not None
    v = w.vllm
    res = w.gpu_resource or "nvidia.com/gpu"
    fix = fix_hint(name, namespace)
    findings: list[Finding] = []
    pods = w.lws.pods
    local = v.data_local if v.data_local is not None else 1
    if v.data_local is not None and v.data_local > v.data:
        findings.append(
            Finding(
                DATA_RANKS_MISMATCH,
                ERROR,
                f"{w.field}: vLLM refuses to start: data_parallel_size_local ({v.data_local}) must be <= "
                f"data_parallel_size ({v.data})",
                "set data to pods x dataLocal (dataLocal <= data)",
            )
        )
    elif pods * local != v.data:
        why = (
            f"data {v.data} is not a multiple of dataLocal {local}, and KServe sizes the LeaderWorkerSet "
            f"data / dataLocal = {pods} (integer division)"
            if w.merged_parallelism is not None and v.data % max(local, 1)
            else f"the LeaderWorkerSet has {pods} pod(s) of {local} local rank(s)"
        )
        findings.append(
            Finding(
                DATA_RANKS_MISMATCH,
                ERROR,
                f"{w.field}: vLLM is started with --data-parallel-size {v.data} but only {pods * local} ranks run: {why}; "
                "the engine waits for the missing ranks forever",
                f"make data = pods x dataLocal (e.g. data {pods * local} with dataLocal {local}); changing the total "
                "size of an existing object needs a recreate",
            )
        )
    need = _pod_need(w)
    for role, gpus in (("leader", w.leader_gpus), ("worker", w.worker_gpus or 0)):
        if role == "worker" and pods < 2:
            continue
        if 0 < gpus < v.tensor:
            size = w.lws.size
            findings.append(
                Finding(
                    TENSOR_EXCEEDS_POD,
                    ERROR,
                    f"{w.field}: tensor {v.tensor} needs {v.tensor} GPUs inside each vLLM rank, but the {role} pod has "
                    f"{gpus} {res}; KServe sizes the LeaderWorkerSet from data/dataLocal only (size "
                    f"{size if size is not None else 'unset (1)'}, tensor ignored, kserve#4946), so no pod holds a "
                    "whole tensor-parallel group: the pods start and vLLM waits for a placement group forever",
                    f"keep tensor within one pod (tensor <= GPUs per node) and spread over pods with data/dataLocal, "
                    f"or give each pod dataLocal x tensor = {need} GPUs if a node has them ({fix}); a model that needs "
                    "more GPUs than a node has is served by an InferenceService with the Ray multi-node runtime",
                )
            )
            break
    else:
        for role, gpus in (("leader", w.leader_gpus), ("worker", w.worker_gpus or 0)):
            if role == "worker" and pods < 2:
                continue
            finding = _gpu_mismatch(w, role, gpus, need, fix)
            if finding is not None:
                findings.append(finding)
    return findings


def _gpu_mismatch(w: WorkloadLayout, role: str, gpus: int, need: int, fix: str) -> Finding | None:
    res = w.gpu_resource or "nvidia.com/gpu"
    v = w.vllm
    what = f"dataLocal {v.data_local if v.data_local is not None else 1} x tensor {v.tensor}"
    if v.pipeline > 1:
        what += f" x pipeline {v.pipeline}"
    if gpus == need:
        return None
    if gpus < need:
        none = " (the controller sets no GPU resources: the pod must request them)" if gpus == 0 else ""
        return Finding(
            GPUS_MISMATCH,
            ERROR,
            f"{w.field}: the {role} pod requests {gpus} {res}{none} but its vLLM ranks need {what} = {need}: vLLM "
            "cannot start",
            f"request {need} {res} in {w.field}.{'template' if role == 'leader' else 'worker'} ({fix})",
        )
    return Finding(
        GPUS_MISMATCH,
        WARNING,
        f"{w.field}: the {role} pod requests {gpus} {res} but its vLLM ranks use {what} = {need}: {gpus - need} GPUs "
        "are reserved and idle",
        f"request {need} {res}, or raise dataLocal/tensor to use them ({fix})",
    )


def _single_node_findings(
    w: WorkloadLayout, kv: KServeVersion, name: str, namespace: str | None
) -> list[Finding]:
    p = w.parallelism
    v = w.vllm
    res = w.gpu_resource or "nvidia.com/gpu"
    gpus = w.leader_gpus
    need = _pod_need(w)
    idle = max(gpus - need, 0)
    idle_text = f"; {idle} of the pod's {gpus} {res} sit idle" if idle else ""
    findings: list[Finding] = []
    if p is not None and (p.tensor or 1) > 1 and v.tensor == 1:
        findings.append(
            Finding(
                TENSOR_DROPPED,
                WARNING,
                f"{w.field}.parallelism.tensor {p.tensor} is dropped on a single-node workload by KServe {kv.display} "
                f"(kserve#5773, rendered from v0.20.0): vLLM runs with --tensor-parallel-size 1{idle_text}",
                how_to_pass(w.args_channel, [TENSOR_FLAG, str(p.tensor)]) + ", or upgrade KServe to v0.20.0",
            )
        )
    if p is not None and (p.pipeline or 1) > 1 and v.pipeline == 1:
        total = (p.pipeline or 1) * (p.tensor or 1)
        recreate = (
            f"the webhook keeps the total size, so an existing object is recreated ({fix_hint(name, namespace)} "
            "prints the manifest)"
        )
        if kv.era.llmisvc_single_node_tensor:
            how = f"set tensor {total} and remove pipeline"
        else:
            how = f"remove pipeline and {how_to_pass(w.args_channel, [TENSOR_FLAG, str(total)])}"
        findings.append(
            Finding(
                PIPELINE_IGNORED,
                WARNING,
                f"{w.field}.parallelism.pipeline {p.pipeline} is ignored on a single-node workload (no worker; "
                f"kserve#6044, open at v0.20.0): vLLM runs with pipeline parallel size 1{idle_text}",
                f"run pipeline {p.pipeline} x tensor {p.tensor or 1} as tensor {total} in the one pod (the model's "
                f"attention heads must divide by {total}): {how}; {recreate}",
            )
        )
    if p is not None and ((p.data or 1) > 1 or (p.data_local or 1) > 1) and v.data == 1:
        findings.append(
            Finding(
                DATA_IGNORED,
                WARNING,
                f"{w.field}.parallelism data {p.data} / dataLocal {p.data_local} are not rendered on a single-node "
                f"workload: vLLM runs one data-parallel rank{idle_text}",
                "add spec.worker to run data parallelism across pods, or raise spec.replicas for more copies",
            )
        )
    if not findings and gpus != need and (gpus > 0 or need > 1):
        finding = _gpu_mismatch(w, "leader", gpus, need, fix_hint(name, namespace))
        if finding is not None:
            findings.append(finding)
    return findings


def _sizes_valid(w: WorkloadLayout) -> bool:
    """Sizes below 1 are the CRD schema's to refuse (``schema_errors``); no vLLM rule applies to them."""
    v = w.vllm
    return min(v.tensor, v.pipeline, v.data, v.data_local or 1) >= 1


# --- entry point ----------------------------------------------------------------------------------


def check_llminferenceservice(
    obj: Mapping[str, Any],
    kv: KServeVersion,
    *,
    schema_errors: Sequence[str] = (),
    live: Mapping[str, Any] | None = None,
    live_lws_replicas: Mapping[str, int | None] | None = None,
    configs: Mapping[str, Mapping[str, Any]] | None = None,
    configs_complete: bool = False,
    nodes: NodeView | None = None,
    pods: Sequence[Pod] = (),
    events: Sequence[Event] = (),
    model: ModelInput | None = None,
    custom_gpu_types: Sequence[str] = (),
    extra_findings: Iterable[Finding] = (),
) -> LlmItemReport:
    """Admission, layout and findings for one LLMInferenceService under KServe ``kv``.

    ``schema_errors``: the CRD schema's field errors for ``obj`` (checked first). ``live``: the stored
    object when ``obj`` exists on the cluster (or is an update of it): adds the immutable-size rule, and
    ``pods``/``events`` (its pods, its namespace's events) give ``pods-pending``. ``live_lws_replicas``: the
    live LeaderWorkerSets' replicas by name. ``configs``/``configs_complete``: LLMInferenceServiceConfigs
    the controller can find (see :func:`~kubectl_kserve_mn.kserve.llmisvc.compute_llm_layout`).
    ``nodes``: None skips scheduling. ``model``: vLLM's rules and memory at the rendered layout.
    """
    item = read(obj)
    admission = admit_llmisvc(obj, kv.era, live=live, schema_errors=schema_errors)
    findings = _admission_findings(admission, kv, update=live is not None and live is not obj)
    facts = model.facts if model is not None else None
    extra = tuple(extra_findings)
    if model is not None and facts is None:
        extra = (unreadable_model(model), *extra)
    if not kv.era.llmisvc_api_versions or item.version not in kv.era.llmisvc_api_versions:
        return LlmItemReport(
            KIND,
            item.namespace,
            item.name,
            admission,
            None,
            tuple(findings) + extra,
            model=facts,
            api_version=item.api_version,
        )
    known = tuple(dict.fromkeys((*KSERVE_GPU_RESOURCES, *custom_gpu_types)))
    layout = compute_llm_layout(
        obj,
        kv.era,
        configs=configs,
        configs_complete=configs_complete,
        live_lws_replicas=live_lws_replicas,
        gpu_types=known,
    )
    notes = [*layout.notes, NOT_CHECKED]
    for w in layout.workloads:
        notes += [f"{w.field}: {n}" if not n.startswith(w.field) else n for n in w.notes]
        findings += _controller_findings(w, kv)
        if w.controller_error is not None or not _sizes_valid(w):
            continue
        if w.lws is not None:
            findings += _multi_node_findings(w, item.name, item.namespace)
        else:
            findings += _single_node_findings(w, kv, item.name, item.namespace)
    if nodes is not None:
        findings += schedulability_findings(layout, nodes, item.name, item.namespace)
    if live is not None:
        findings += pending_pod_findings(pods, events, findings)
    estimate: MemoryEstimate | None = None
    if model is not None and facts is not None:
        for w in layout.workloads:
            if w.controller_error is None and _sizes_valid(w):
                found, memory = model_findings(w, model, nodes)
                findings += found
                if w is layout.main:
                    estimate = memory
    return LlmItemReport(
        KIND,
        item.namespace,
        item.name,
        admission,
        None,
        tuple(findings) + extra,
        notes=tuple(dict.fromkeys(notes)),
        model=facts,
        memory=estimate,
        api_version=item.api_version,
        llm_layout=layout,
    )
