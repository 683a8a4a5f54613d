"""KServe's validating webhooks for multi-node objects, per era, as pure functions.

Mirrors ``validateInferenceService`` (``pkg/apis/serving/v1beta1/inference_service_validation.go``) and
``validateMultiNodeSpec`` (``pkg/webhook/admission/servingruntime/servingruntime_webhook.go``): checks run in
KServe's order and the first failure wins, with KServe's exact message strings for that version.
Only the rules that matter for multi-node objects are modelled (name, autoscaler class, blocked env,
multi-node variables, ``predictor.model.name``, canary workerSpec); generic rules such as HPA metrics,
logger or storage-spec validation are not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from kubectl_kserve_mn.inputs.kube_wording import go_quote
from kubectl_kserve_mn.kserve.eras import ERAS, Era

AUTOSCALER_CLASS_ANNOTATION = "serving.kserve.io/autoscalerClass"
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
GPU_TYPES_ANNOTATION = "serving.kserve.io/gpu-resource-types"

# constants.DefaultGPUResourceTypeList, unchanged v0.15.0..HEAD (SEMANTICS §3.5).
DEFAULT_GPU_RESOURCES: tuple[str, ...] = ("nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu", "habana.ai/gaudi")
# HasUnknownGpuResourceType: everything else in limits/requests counts as a (possibly unknown) GPU.
BASIC_RESOURCES: frozenset[str] = frozenset({"cpu", "memory", "storage", "ephemeral-storage"})

PIPELINE_ENV = "PIPELINE_PARALLEL_SIZE"
TENSOR_ENV = "TENSOR_PARALLEL_SIZE"
HEAD_CONTAINER = "kserve-container"
WORKER_CONTAINER = "worker-container"

# IsvcNameFmt; matched as ^...$ (validateInferenceServiceName).
ISVC_NAME_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_ISVC_NAME_RE = re.compile(ISVC_NAME_FMT)


@dataclass(frozen=True)
class Admission:
    allowed: bool
    message: str | None

    def to_json(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "message": self.message}


ALLOWED = Admission(True, None)


def _deny(message: str) -> Admission:
    return Admission(False, message)


# --- small readers over plain dicts -----------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _containers(value: Any) -> list[dict[str, Any]]:
    return [c for c in _list(value) if isinstance(c, dict)]


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    raw = _dict(_dict(obj.get("metadata")).get("annotations"))
    return {str(k): str(v) for k, v in raw.items() if v is not None}


def has_env(container: Mapping[str, Any], name: str) -> bool:
    return any(_dict(env).get("name") == name for env in _list(container.get("env")))


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_gpu_types_annotation(value: str) -> list[str] | None:
    """``IsValidCustomGPUArray``: a non-empty JSON array of non-empty strings, else None."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    if not isinstance(parsed, list) or not parsed:
        return None
    if not all(isinstance(item, str) and item for item in parsed):
        return None
    return list(parsed)


def invalid_gpu_annotation_message(value: str) -> str:
    return f"invalid GPU format({value}) for {GPU_TYPES_ANNOTATION} annotation: must be a valid JSON array"


def known_gpu_types(
    annotations: Mapping[str, str], custom_gpu_types: Sequence[str] = ()
) -> tuple[list[str] | None, str | None]:
    """``UpdateGPUResourceTypeListByAnnotation`` over the global list (defaults + configmap
    ``customGPUResourceTypeList``). Returns (types, None), or (None, error) for a bad annotation."""
    types = list(DEFAULT_GPU_RESOURCES)
    for name in custom_gpu_types:
        if name not in types:
            types.append(name)
    value = annotations.get(GPU_TYPES_ANNOTATION, "")
    if value:
        extra = parse_gpu_types_annotation(value)
        if extra is None:
            return None, invalid_gpu_annotation_message(value)
        types.extend(name for name in extra if name not in types)
    return types, None


def unknown_gpu_resources(resources: Any, known: Sequence[str]) -> list[str]:
    """Resource names in limits or requests that are neither basic nor a known GPU type."""
    res = _dict(resources)
    names: list[str] = []
    for section in ("limits", "requests"):
        for name in _dict(res.get(section)):
            if name not in BASIC_RESOURCES and name not in known and name not in names:
                names.append(str(name))
    return names


# --- InferenceService -------------------------------------------------------------------------


def _isvc_msg(name: str, text: str) -> str:
    return f"the InferenceService {go_quote(name)} is invalid: {text}"


def _storage_protocol_text(era: Era) -> str:
    return " and ".join(f"'{p}'" for p in era.storage_protocols)


def _schema_int_error(kind: str, name: str, path: str, value: Any) -> str | None:
    # The CRD declares PP/TP as `type: integer`; the API server rejects other types before any webhook.
    if value is None or is_int(value):
        return None
    shown = json.dumps(value) if isinstance(value, str) else json.dumps(value, default=str)
    type_name = "string" if isinstance(value, str) else type(value).__name__
    return (
        f'{kind}.serving.kserve.io "{name}" is invalid: {path}: Invalid value: "{type_name}": '
        f"{path} in body must be of type integer: {shown}"
    )


def _pythonpath_containers_isvc(spec: Mapping[str, Any]) -> list[str]:
    """Names of containers (in KServe's visiting order) that set PYTHONPATH (#5340)."""
    found: list[str] = []
    predictor = _dict(spec.get("predictor"))
    model = predictor.get("model")
    if isinstance(model, dict) and has_env(model, "PYTHONPATH"):
        found.append(str(model.get("name") or ""))
    for key in ("containers", "initContainers"):
        found.extend(
            str(c.get("name") or "") for c in _containers(predictor.get(key)) if has_env(c, "PYTHONPATH")
        )
    worker = predictor.get("workerSpec")
    if isinstance(worker, dict):
        for key in ("containers", "initContainers"):
            found.extend(
                str(c.get("name") or "") for c in _containers(worker.get(key)) if has_env(c, "PYTHONPATH")
            )
    for component in ("transformer", "explainer"):
        comp = _dict(spec.get(component))
        for key in ("containers", "initContainers"):
            found.extend(
                str(c.get("name") or "") for c in _containers(comp.get(key)) if has_env(c, "PYTHONPATH")
            )
    return found


def _validate_multinode(isvc: Mapping[str, Any], era: Era, custom_gpu_types: Sequence[str]) -> str | None:
    """``validateMultiNodeVariables`` of the era (SEMANTICS §2.1)."""
    name = str(_dict(isvc.get("metadata")).get("name") or "")
    annotations = annotations_of(isvc)
    predictor = _dict(_dict(isvc.get("spec")).get("predictor"))
    worker = predictor.get("workerSpec")
    if not isinstance(worker, dict):
        return None
    worker_containers = _containers(worker.get("containers"))
    if len(worker_containers) > 1:
        return _isvc_msg(name, "setting multiple containers in workerSpec is not allowed")
    model = predictor.get("model")
    if isinstance(model, dict):
        if has_env(model, PIPELINE_ENV):
            return _isvc_msg(name, "setting PIPELINE_PARALLEL_SIZE in environment variables is not allowed")
        if has_env(model, TENSOR_ENV):
            return _isvc_msg(name, "setting TENSOR_PARALLEL_SIZE in environment variables is not allowed")
        known, error = known_gpu_types(annotations, custom_gpu_types)
        if error is not None:
            return error
        assert known is not None
        if unknown_gpu_resources(model.get("resources"), known):
            return _isvc_msg(name, _UNKNOWN_GPU_TEXT)
        storage_uri = model.get("storageUri")
        if storage_uri is None:
            return _isvc_msg(name, "StorageURI must be set for multinode enabled")
        protocol = str(storage_uri).split("://")[0]
        if protocol not in era.storage_protocols:
            return _isvc_msg(
                name, f"Multinode only supports {_storage_protocol_text(era)} Storage Protocol({protocol})"
            )
        autoscaler = annotations.get(AUTOSCALER_CLASS_ANNOTATION, "")
        if autoscaler != era.required_autoscaler_class:
            return _isvc_msg(
                name, f"Multinode only supports '{era.required_autoscaler_class}' autoscaler({autoscaler})"
            )
    pp = worker.get("pipelineParallelSize")
    if is_int(pp) and pp < era.min_pipeline_parallel:
        return _isvc_msg(
            name, f"WorkerSpec.PipelineParallelSize cannot be less than {era.min_pipeline_parallel}({pp})"
        )
    tp = worker.get("tensorParallelSize")
    if is_int(tp) and tp < 1:
        return _isvc_msg(name, f"WorkerSpec.TensorParallelSize cannot be less than 1({tp})")
    if worker_containers:
        known, error = known_gpu_types(annotations, custom_gpu_types)
        if error is not None:
            return error
        assert known is not None
        for container in worker_containers:
            if unknown_gpu_resources(container.get("resources"), known):
                return _isvc_msg(name, _UNKNOWN_GPU_TEXT)
    return None


_UNKNOWN_GPU_TEXT = "Unknown GPU resource type. Set 'serving.kserve.io/gpu-resource-types' annotation to use custom gpu resource type"
UNKNOWN_GPU_MESSAGE_SUFFIX = _UNKNOWN_GPU_TEXT


def _validate_canaries(isvc: Mapping[str, Any]) -> str | None:
    """``validateCanarySpecs`` (v0.20.0+, #5672), the rules that come before and include workerSpec."""
    canaries = _list(_dict(isvc.get("spec")).get("canary"))
    if not canaries:
        return None
    if annotations_of(isvc).get(DEPLOYMENT_MODE_ANNOTATION) != "Standard":
        return "canary is only supported in Standard deployment mode"
    for index, canary in enumerate(canaries):
        predictor = _dict(_dict(canary).get("predictor"))
        canary_name = predictor.get("name")
        if not canary_name:
            return f"canary[{index}] predictor.name is required"
        percent = _dict(canary).get("trafficPercent")
        if is_int(percent) and not 0 <= percent <= 100:
            return (
                f"canary {go_quote(str(canary_name))} trafficPercent must be between 0 and 100, got {percent}"
            )
        if predictor.get("workerSpec") is not None:
            return (
                f"canary {go_quote(str(canary_name))} must not set workerSpec "
                "(multi-node is not yet supported for canary)"
            )
    return None


def admit_inferenceservice(
    isvc: Mapping[str, Any], era: Era, *, custom_gpu_types: Sequence[str] = ()
) -> Admission:
    """Would the InferenceService validating webhook of ``era`` accept ``isvc`` (create or update)?

    ``custom_gpu_types`` is the inferenceservice-config ``multiNode.customGPUResourceTypeList``.
    """
    metadata = _dict(isvc.get("metadata"))
    name = str(metadata.get("name") or "")
    spec = _dict(isvc.get("spec"))
    predictor = _dict(spec.get("predictor"))
    worker = predictor.get("workerSpec")

    # API-server schema (before any webhook): PP/TP are `type: integer`.
    if era.multinode and isinstance(worker, dict):
        for field in ("pipelineParallelSize", "tensorParallelSize"):
            schema_error = _schema_int_error(
                "InferenceService", name, f"spec.predictor.workerSpec.{field}", worker.get(field)
            )
            if schema_error:
                return _deny(schema_error)

    # 1. validateInferenceServiceName (skipped for generateName objects, whose name is not known yet).
    if (name or not metadata.get("generateName")) and not _ISVC_NAME_RE.fullmatch(name):
        return _deny(
            f'the InferenceService "{name}" is invalid: a InferenceService name must consist of lower case '
            "alphanumeric characters or '-', and must start with alphabetical character. "
            f'(e.g. "my-name" or "abc-123", regex used for validation is \'{ISVC_NAME_FMT}\')'
        )
    # 2. validateInferenceServiceAutoscaler: the annotation, when present, must be an allowed class.
    annotations = annotations_of(isvc)
    if AUTOSCALER_CLASS_ANNOTATION in annotations:
        value = annotations[AUTOSCALER_CLASS_ANNOTATION]
        if value not in era.allowed_autoscaler_classes:
            return _deny(f"[{value}] is not a supported autoscaler class type")
    # 3. v0.18.0+ validateBlockedEnvVars (#5340).
    if era.blocks_pythonpath:
        offenders = _pythonpath_containers_isvc(spec)
        if offenders:
            return _deny(
                _isvc_msg(
                    name,
                    f"setting PYTHONPATH in container {go_quote(offenders[0])} is not allowed for security reasons",
                )
            )
    # 4. validateMultiNodeVariables (v0.15.0+; v0.14 only has the inert workerSpec.size).
    if era.multinode:
        error = _validate_multinode(isvc, era, custom_gpu_types)
        if error:
            return _deny(error)
    # 5. v0.16.0+ validatePredictor (#4535).
    if era.rejects_model_name:
        model = predictor.get("model")
        if isinstance(model, dict) and model.get("name"):
            return _deny("the 'name' field is not allowed in standard predictor")
    # 6. v0.20.0+ validateCanarySpecs (#5672), last.
    if era.rejects_canary_workerspec:
        error = _validate_canaries(isvc)
        if error:
            return _deny(error)
    return ALLOWED


# --- ServingRuntime / ClusterServingRuntime ---------------------------------------------------


def _runtime_gpu_types(spec: Mapping[str, Any]) -> tuple[list[str] | None, str | None]:
    # The SR webhook reads custom types from the runtime's pod annotations (spec.annotations).
    pod_annotations = {str(k): str(v) for k, v in _dict(spec.get("annotations")).items() if v is not None}
    return known_gpu_types(pod_annotations)


def _validate_runtime_multinode(
    spec: Mapping[str, Any], existing: Mapping[str, Any] | None, era: Era
) -> str | None:
    """``validateMultiNodeSpec(newSpec, existingSpec)`` (SEMANTICS §2.2), the error text only."""
    worker = spec.get("workerSpec")
    if (
        existing is not None
        and isinstance(_dict(existing.get("spec")).get("workerSpec"), dict)
        and worker is None
    ):
        return "removing workerSpec where it already exists is not allowed"
    if not isinstance(worker, dict):
        return None
    worker_containers = _containers(worker.get("containers"))
    if len(worker_containers) > 1:
        return "setting multiple containers in workerSpec is not allowed"
    for container in _containers(spec.get("containers")):
        if container.get("name") != HEAD_CONTAINER:
            continue
        if has_env(container, PIPELINE_ENV):
            return "setting PIPELINE_PARALLEL_SIZE in environment variables is not allowed"
        if has_env(container, TENSOR_ENV):
            return "setting TENSOR_PARALLEL_SIZE in environment variables is not allowed"
        known, error = _runtime_gpu_types(spec)
        if error is not None:
            return error
        assert known is not None
        if unknown_gpu_resources(container.get("resources"), known):
            return f"unknown GPU resource type in a container({HEAD_CONTAINER})"
    first = worker_containers[0]
    if first.get("name") == WORKER_CONTAINER:
        known, error = _runtime_gpu_types(spec)
        if error is not None:
            return error
        assert known is not None
        if unknown_gpu_resources(first.get("resources"), known):
            return f"unknown GPU resource type in a container({WORKER_CONTAINER})"
    pp = worker.get("pipelineParallelSize")
    tp = worker.get("tensorParallelSize")
    if era.runtime_requires_pp_tp:
        if pp is None:
            return "pipelineParallelSize must be set when WorkerSpec is set"
        if tp is None:
            return "tensorParallelSize must be set when WorkerSpec is set"
        if is_int(pp) and pp < 2:
            return (
                f"the WorkerSpec.PipelineParallelSize cannot be less than 2 ({pp}) because "
                "WorkerSpec.PipelineParallelSize should include at least 1 head node and 1 worker node"
            )
    elif is_int(pp) and pp < 1:
        return f"the WorkerSpec.PipelineParallelSize cannot be less than 1({pp})"
    if is_int(tp) and tp < 1:
        return f"the WorkerSpec.TensorParallelSize cannot be less than 1({tp})"
    return None


def admit_runtime(
    runtime: Mapping[str, Any], era: Era, existing: Mapping[str, Any] | None = None
) -> Admission:
    """Would the ServingRuntime / ClusterServingRuntime webhook of ``era`` accept ``runtime``?

    ``existing`` is the stored object of the same name on an update (None on create).
    """
    kind = str(runtime.get("kind") or "ServingRuntime")
    name = str(_dict(runtime.get("metadata")).get("name") or "")
    spec = _dict(runtime.get("spec"))
    worker = spec.get("workerSpec")
    if era.multinode and isinstance(worker, dict):
        # CRD schema, checked by the API server before the webhook.
        if "containers" not in worker:
            return _deny(
                f'{kind}.serving.kserve.io "{name}" is invalid: spec.workerSpec.containers: Required value'
            )
        for field in ("pipelineParallelSize", "tensorParallelSize"):
            schema_error = _schema_int_error(kind, name, f"spec.workerSpec.{field}", worker.get(field))
            if schema_error:
                return _deny(schema_error)
    if spec.get("disabled") is True:
        return ALLOWED  # Handle returns Allowed before validateMultiNodeSpec for disabled runtimes.
    if not era.multinode:
        return ALLOWED
    if isinstance(worker, dict) and not _containers(worker.get("containers")):
        # (derived) validateMultiNodeSpec reads WorkerSpec.Containers[0] without a length check.
        return _deny(
            f"the {kind} {name} is invalid: spec.workerSpec.containers is empty; KServe's webhook reads "
            "containers[0] without a length check and fails (panic) instead of admitting it"
        )
    error = _validate_runtime_multinode(spec, existing, era)
    if error:
        return _deny(f"the {kind} {name} is invalid: {error}")
    if era.blocks_pythonpath:
        candidates = _containers(spec.get("containers"))
        if isinstance(worker, dict):
            candidates += _containers(worker.get("containers"))
        for container in candidates:
            if has_env(container, "PYTHONPATH"):
                return _deny(
                    f"the {kind} {go_quote(name)} is invalid: setting PYTHONPATH in container "
                    f"{go_quote(str(container.get('name') or ''))} is not allowed for security reasons"
                )
    return ALLOWED


# --- upgrades ---------------------------------------------------------------------------------


def upgrade_hazards(
    isvc: Mapping[str, Any], from_era: Era, to_era: Era, *, custom_gpu_types: Sequence[str] = ()
) -> list[str]:
    """What goes wrong for ``isvc`` admitted under ``from_era`` once ``to_era``'s webhook runs
    (on its next update): an empty list when nothing does."""
    before = admit_inferenceservice(isvc, from_era, custom_gpu_types=custom_gpu_types)
    after = admit_inferenceservice(isvc, to_era, custom_gpu_types=custom_gpu_types)
    if not before.allowed or after.allowed:
        return []
    return [
        f"admitted by KServe {from_era.key} but KServe {to_era.key} rejects its next update: {after.message}"
    ]


def newer_eras(era: Era) -> list[Era]:
    """Eras after ``era``, oldest first."""
    return [e for e in ERAS if e.since > era.since]
