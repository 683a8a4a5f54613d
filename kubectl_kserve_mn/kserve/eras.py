"""The one table of KServe multi-node eras: what each KServe version does.

Every version-dependent rule in this tool reads a field of :class:`Era`; nothing else compares
version numbers. Facts are from KServe's source (SEMANTICS.md of the project's reference notes):
- v0.14.x: ``workerSpec.size`` only, no webhook or controller logic (kserve PR #3871).
- v0.15.0: PP/TP fields (PR #3972); the webhook forces PP >= 2 and autoscaler class ``external``;
  the controller gives every head and worker pod exactly TP GPUs, overwriting user values.
- v0.15.1: PR #4356: PP may be 1, GPUs per pod come from the requests, RAY_NODE_COUNT = ceil(TP*PP/W);
  PR #4363: the autoscaler class must be ``none``.
- v0.16.0: ``oci://`` storage allowed (PR #4441); deployment modes renamed Standard/Knative (PR #4608);
  ``predictor.model.name`` rejected (PR #4535).
- v0.18.0: ``mp`` executor backend (PR #5366); PYTHONPATH env blocked (PR #5340).
- v0.20.0: canary predictors may not set workerSpec (PR #5672).

LLMInferenceService (SEMANTICS §4; the ``llmisvc_*`` fields):
- v0.16.0: ``serving.kserve.io/v1alpha1`` (PRs #4522, #4596), webhook
  ``pkg/controller/v1alpha1/llmisvc/validation/llminferenceservice_validator.go``, apimachinery v0.33.2
  (a bad value that is a struct prints with ``%#v``).
- v0.17.0: ``v1alpha2`` added (PR #4886), one validator per version (``matchPolicy: Exact``);
  ``PreserveLWSReplicas`` keeps the live LeaderWorkerSet's replicas when ``spec.replicas`` is unset
  (``pkg/controller/v1alpha2/llmisvc/workload.go@v0.17.0``); apimachinery v0.34 (bad values as JSON).
- v0.19.0: a missing preset is the condition reason ``ConfigNotFound`` (``CombineBaseError`` before,
  ``config_merge.go@v0.19.0``); the webhook skips updates of objects being deleted.
- v0.20.0: single-node ``parallelism.tensor`` is rendered into ``config-llm-template`` (PR #5782, #5773).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Era:
    key: str
    """Short name of the era, e.g. ``v0.15.0`` or ``v0.15.1+``."""
    since: Version
    """First release of the era."""
    multinode: bool
    """False before v0.15.0: workerSpec is inert."""
    min_pipeline_parallel: int
    """Webhook minimum for ``workerSpec.pipelineParallelSize`` (2 on v0.15.0, else 1)."""
    pod_gpus_are_tp: bool
    """v0.15.0: head and every worker get exactly TP GPUs; user GPU counts are overwritten."""
    runtime_requires_pp_tp: bool
    """v0.15.0: a multi-node ServingRuntime must set both PP and TP."""
    default_pipeline_parallel: int
    """Controller default when neither ISVC nor runtime sets PP (v0.15.0 runtimes must set it)."""
    required_autoscaler_class: str
    """The only ``serving.kserve.io/autoscalerClass`` a multi-node ISVC may use."""
    allowed_autoscaler_classes: tuple[str, ...]
    storage_protocols: tuple[str, ...]
    mp_backend: bool
    """Runtime annotation ``multinode/executor-backend: mp`` selects vLLM's mp backend."""
    blocks_pythonpath: bool
    rejects_model_name: bool
    """v0.16.0+: a non-empty ``spec.predictor.model.name`` is rejected."""
    rejects_canary_workerspec: bool
    raw_deployment_modes: tuple[str, ...]
    """Deployment-mode annotation values that create worker Deployments."""
    llmisvc_api_versions: tuple[str, ...]
    """``serving.kserve.io`` versions of LLMInferenceService served (none before v0.16.0)."""
    llmisvc_preset_tag: str | None
    """The KServe tag whose well-known LLMInferenceServiceConfig presets this era ships."""
    llmisvc_webhook_values_json: bool
    """The webhook's field errors print a non-scalar bad value as JSON (apimachinery v0.34+, KServe
    v0.17.0+); before, as Go's ``%#v`` of the dereferenced struct (with pointer addresses)."""
    llmisvc_preserves_lws_replicas: bool
    """An unset ``spec.replicas`` keeps the live LeaderWorkerSet's replicas (v0.17.0+); before, the
    controller writes the LWS without replicas on every reconcile, so it goes back to 1."""
    llmisvc_missing_preset_reason: str
    """``PresetsCombined`` condition reason when a selected preset does not exist."""
    llmisvc_webhook_skips_deleting: bool
    """The webhook admits any update of an object that has a deletionTimestamp (v0.19.0+)."""
    llmisvc_single_node_tensor: bool
    """Single-node ``parallelism.tensor`` reaches vLLM as ``--tensor-parallel-size`` (v0.20.0+)."""

    @property
    def cross_node_tensor_parallel(self) -> bool:
        """Whether one vLLM TP group may span pods (Ray with GPUs from requests)."""
        return self.multinode and not self.pod_gpus_are_tp


_V014 = Era(
    key="v0.14",
    since=(0, 14, 0),
    multinode=False,
    min_pipeline_parallel=1,
    pod_gpus_are_tp=False,
    runtime_requires_pp_tp=False,
    default_pipeline_parallel=1,
    required_autoscaler_class="",
    allowed_autoscaler_classes=("hpa", "external", "keda"),
    storage_protocols=(),
    mp_backend=False,
    blocks_pythonpath=False,
    rejects_model_name=False,
    rejects_canary_workerspec=False,
    raw_deployment_modes=("RawDeployment",),
    llmisvc_api_versions=(),
    llmisvc_preset_tag=None,
    llmisvc_webhook_values_json=False,
    llmisvc_preserves_lws_replicas=False,
    llmisvc_missing_preset_reason="",
    llmisvc_webhook_skips_deleting=False,
    llmisvc_single_node_tensor=False,
)
_V0150 = Era(
    key="v0.15.0",
    since=(0, 15, 0),
    multinode=True,
    min_pipeline_parallel=2,
    pod_gpus_are_tp=True,
    runtime_requires_pp_tp=True,
    default_pipeline_parallel=2,
    required_autoscaler_class="external",
    allowed_autoscaler_classes=("hpa", "external", "keda"),
    storage_protocols=("pvc",),
    mp_backend=False,
    blocks_pythonpath=False,
    rejects_model_name=False,
    rejects_canary_workerspec=False,
    raw_deployment_modes=("RawDeployment",),
    llmisvc_api_versions=(),
    llmisvc_preset_tag=None,
    llmisvc_webhook_values_json=False,
    llmisvc_preserves_lws_replicas=False,
    llmisvc_missing_preset_reason="",
    llmisvc_webhook_skips_deleting=False,
    llmisvc_single_node_tensor=False,
)
_V0151 = Era(
    key="v0.15.1",
    since=(0, 15, 1),
    multinode=True,
    min_pipeline_parallel=1,
    pod_gpus_are_tp=False,
    runtime_requires_pp_tp=False,
    default_pipeline_parallel=1,
    required_autoscaler_class="none",
    allowed_autoscaler_classes=("hpa", "external", "keda", "none"),
    storage_protocols=("pvc",),
    mp_backend=False,
    blocks_pythonpath=False,
    rejects_model_name=False,
    rejects_canary_workerspec=False,
    raw_deployment_modes=("RawDeployment",),
    llmisvc_api_versions=(),
    llmisvc_preset_tag=None,
    llmisvc_webhook_values_json=False,
    llmisvc_preserves_lws_replicas=False,
    llmisvc_missing_preset_reason="",
    llmisvc_webhook_skips_deleting=False,
    llmisvc_single_node_tensor=False,
)
_V016 = Era(
    key="v0.16.0",
    since=(0, 16, 0),
    multinode=True,
    min_pipeline_parallel=1,
    pod_gpus_are_tp=False,
    runtime_requires_pp_tp=False,
    default_pipeline_parallel=1,
    required_autoscaler_class="none",
    allowed_autoscaler_classes=("hpa", "external", "keda", "none"),
    storage_protocols=("pvc", "oci"),
    mp_backend=False,
    blocks_pythonpath=False,
    rejects_model_name=True,
    rejects_canary_workerspec=False,
    raw_deployment_modes=("RawDeployment", "Standard"),
    llmisvc_api_versions=("v1alpha1",),
    llmisvc_preset_tag="v0.16.0",
    llmisvc_webhook_values_json=False,
    llmisvc_preserves_lws_replicas=False,
    llmisvc_missing_preset_reason="CombineBaseError",
    llmisvc_webhook_skips_deleting=False,
    llmisvc_single_node_tensor=False,
)
_V017 = Era(
    key="v0.17.0",
    since=(0, 17, 0),
    multinode=True,
    min_pipeline_parallel=1,
    pod_gpus_are_tp=False,
    runtime_requires_pp_tp=False,
    default_pipeline_parallel=1,
    required_autoscaler_class="none",
    allowed_autoscaler_classes=("hpa", "external", "keda", "none"),
    storage_protocols=("pvc", "oci"),
    mp_backend=False,
    blocks_pythonpath=False,
    rejects_model_name=True,
    rejects_canary_workerspec=False,
    raw_deployment_modes=("RawDeployment", "Standard"),
    llmisvc_api_versions=("v1alpha1", "v1alpha2"),
    llmisvc_preset_tag="v0.17.0",
    llmisvc_webhook_values_json=True,
    llmisvc_preserves_lws_replicas=True,
    llmisvc_missing_preset_reason="CombineBaseError",
    llmisvc_webhook_skips_deleting=False,
    llmisvc_single_node_tensor=False,
)
_V018 = Era(
    key="v0.18.0",
    since=(0, 18, 0),
    multinode=True,
    min_pipeline_parallel=1,
    pod_gpus_are_tp=False,
    runtime_requires_pp_tp=False,
    default_pipeline_parallel=1,
    required_autoscaler_class="none",
    allowed_autoscaler_classes=("hpa", "external", "keda", "none"),
    storage_protocols=("pvc", "oci"),
    mp_backend=True,
    blocks_pythonpath=True,
    rejects_model_name=True,
    rejects_canary_workerspec=False,
    raw_deployment_modes=("RawDeployment", "Standard"),
    llmisvc_api_versions=("v1alpha1", "v1alpha2"),
    llmisvc_preset_tag="v0.18.0",
    llmisvc_webhook_values_json=True,
    llmisvc_preserves_lws_replicas=True,
    llmisvc_missing_preset_reason="CombineBaseError",
    llmisvc_webhook_skips_deleting=False,
    llmisvc_single_node_tensor=False,
)
_V019 = Era(
    key="v0.19.0",
    since=(0, 19, 0),
    multinode=True,
    min_pipeline_parallel=1,
    pod_gpus_are_tp=False,
    runtime_requires_pp_tp=False,
    default_pipeline_parallel=1,
    required_autoscaler_class="none",
    allowed_autoscaler_classes=("hpa", "external", "keda", "none"),
    storage_protocols=("pvc", "oci"),
    mp_backend=True,
    blocks_pythonpath=True,
    rejects_model_name=True,
    rejects_canary_workerspec=False,
    raw_deployment_modes=("RawDeployment", "Standard"),
    llmisvc_api_versions=("v1alpha1", "v1alpha2"),
    llmisvc_preset_tag="v0.19.0",
    llmisvc_webhook_values_json=True,
    llmisvc_preserves_lws_replicas=True,
    llmisvc_missing_preset_reason="ConfigNotFound",
    llmisvc_webhook_skips_deleting=True,
    llmisvc_single_node_tensor=False,
)
_V020 = Era(
    key="v0.20.0",
    since=(0, 20, 0),
    multinode=True,
    min_pipeline_parallel=1,
    pod_gpus_are_tp=False,
    runtime_requires_pp_tp=False,
    default_pipeline_parallel=1,
    required_autoscaler_class="none",
    allowed_autoscaler_classes=("hpa", "external", "keda", "none"),
    storage_protocols=("pvc", "oci"),
    mp_backend=True,
    blocks_pythonpath=True,
    rejects_model_name=True,
    rejects_canary_workerspec=True,
    raw_deployment_modes=("RawDeployment", "Standard"),
    llmisvc_api_versions=("v1alpha1", "v1alpha2"),
    llmisvc_preset_tag="v0.20.0",
    llmisvc_webhook_values_json=True,
    llmisvc_preserves_lws_replicas=True,
    llmisvc_missing_preset_reason="ConfigNotFound",
    llmisvc_webhook_skips_deleting=True,
    llmisvc_single_node_tensor=True,
)

ERAS: tuple[Era, ...] = (_V014, _V0150, _V0151, _V016, _V017, _V018, _V019, _V020)
"""Oldest first. An era applies from its ``since`` version up to the next era's."""

NEWEST_KNOWN: Version = (0, 20, 0)

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")


def parse_version(text: str) -> Version:
    """Parse ``v0.15.1``, ``0.15.1``, ``v0.15.0-rc1`` or ``v0.16`` into a (major, minor, patch) tuple.

    Pre-releases count as their release: v0.15.0-rc0 already has the v0.15.0 rules (SEMANTICS §0).
    Raises ValueError on anything else.
    """
    match = _VERSION_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a KServe version: {text!r} (expected vX.Y.Z)")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def era_for(version: Version) -> Era:
    """The era whose rules a KServe release follows. Versions before v0.14 get the v0.14 era."""
    chosen = ERAS[0]
    for era in ERAS:
        if version >= era.since:
            chosen = era
    return chosen


def newest_era() -> Era:
    return ERAS[-1]


def format_version(version: Version) -> str:
    return "v{}.{}.{}".format(*version)


@dataclass(frozen=True)
class KServeVersion:
    """The KServe whose rules apply, and how it was found."""

    version: str | None
    """e.g. ``v0.15.1``; None when only the era is known (schema probe, newest fallback)."""
    era: Era
    source: str
    """``flag``, ``controller-image``, ``crd-schema`` or ``default``."""
    warning: str | None = None

    @property
    def display(self) -> str:
        return self.version or f"{self.era.key} rules ({self.source})"


_FULL_VERSION_RE = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$")


def from_flag(text: str) -> KServeVersion:
    """Resolve ``--kserve-version vX.Y.Z`` (``auto`` is handled by the caller).

    A flag must name a release: ``v0.15`` is refused because v0.15.0 and v0.15.1 follow different
    multi-node rules. A release newer than the rules known here gets the newest rules and a warning."""
    if not _FULL_VERSION_RE.match(text.strip()):
        raise ValueError(
            f"{text!r} is not a KServe release: give all three parts, e.g. v0.15.0 or v0.15.1 "
            "(patch releases can follow different rules: v0.15.0 and v0.15.1 do)"
        )
    version = parse_version(text)
    warning = None
    if version > NEWEST_KNOWN and version[:2] != NEWEST_KNOWN[:2]:
        warning = (
            f"KServe {format_version(version)} is newer than the newest rules this tool knows "
            f"({format_version(NEWEST_KNOWN)}); using those"
        )
    return KServeVersion(format_version(version), era_for(version), "flag", warning)


def newest_fallback(reason: str) -> KServeVersion:
    era = newest_era()
    return KServeVersion(
        None,
        era,
        "default",
        f"{reason}; assuming the newest known KServe rules ({format_version(NEWEST_KNOWN)})",
    )
