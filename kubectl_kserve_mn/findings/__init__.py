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
tp-spans-interconnect       warning   tensor parallelism spans pods that can land in different NVLink
                            / info    cliques, or (no cliques) on nodes without RDMA, or that do not
                                      request the nodes' RDMA device resource (info when the nodes carry
                                      no Node Feature Discovery labels, so RDMA is unknown)
rollout-needs-gpus          warning   a rollout is under way (pods of an older ``isvc.generation``) and the
                            / error   new pods do not fit next to the old ones (error when the old pods stop
                                      serving meanwhile: Recreate, or a shrinking worker set)
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

from kubectl_kserve_mn.findings.interconnect import TP_SPANS_INTERCONNECT, interconnect_findings
from kubectl_kserve_mn.findings.isvc import check_inferenceservice, check_runtime
from kubectl_kserve_mn.findings.model import model_findings, vllm_arg
from kubectl_kserve_mn.findings.report import (
    ERROR,
    INFO,
    ISVC_LABEL,
    MODEL_MEMORY_UNKNOWN,
    MODEL_UNREADABLE,
    SEVERITIES,
    WARNING,
    Finding,
    ItemReport,
    ModelInput,
    NodeView,
    add_findings,
    fix_command,
    has_errors,
    offline_plan_command,
)
from kubectl_kserve_mn.findings.schedulability import pending_pod_findings, schedulability_findings

__all__ = [
    "ERROR",
    "INFO",
    "ISVC_LABEL",
    "MODEL_MEMORY_UNKNOWN",
    "MODEL_UNREADABLE",
    "SEVERITIES",
    "TP_SPANS_INTERCONNECT",
    "WARNING",
    "Finding",
    "ItemReport",
    "ModelInput",
    "NodeView",
    "add_findings",
    "check_inferenceservice",
    "check_runtime",
    "fix_command",
    "has_errors",
    "interconnect_findings",
    "model_findings",
    "offline_plan_command",
    "pending_pod_findings",
    "schedulability_findings",
    "vllm_arg",
]
