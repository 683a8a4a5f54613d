"""What the API server and KServe's validating webhook say to an LLMInferenceService, per version.

Order, as the API server runs them: the CRD's OpenAPI schema first (bounds such as
``spec.parallelism.tensor in body should be greater than or equal to 1``; a violation stops the request
before any webhook runs), then the webhook. The schema is judged by the input boundary
(``kubectl_kserve_mn.inputs.schema``): :func:`admit_llmisvc` takes its violations as ``schema_errors``.

The webhook (``validateWorkloadParallelism`` and ``validateImmutableParallelism``;
``pkg/controller/v1alpha1/llmisvc/validation/llminferenceservice_validator.go@v0.16.0``,
``pkg/apis/serving/v1alpha{1,2}/llm_inference_service_validation.go@v0.17.0..v0.20.0``, the same rules at
every tag) collects field errors for ``spec`` then ``spec.prefill``, then (on update) the immutable total
size, and answers ``apierrors.NewInvalid`` (k8s.io/apimachinery ``pkg/api/errors/errors.go``): one message
``LLMInferenceService.serving.kserve.io "<name>" is invalid: <errors>``, where the errors are
``field.ErrorList.ToAggregate()``: duplicates dropped, one error as it is, several as ``[e1, e2]``.
Each error is ``<field>: <Type>: <value>: <detail>`` (``field.Error.Error()``/``ErrorBody``).

Bad values print as apimachinery prints them: integers as they are, an unset pointer as ``null``; a
struct value (the worker's PodSpec, the ParallelismSpec) as JSON from apimachinery v0.34 (KServe
v0.17.0+) and as Go's ``%#v`` before (KServe v0.16.0, apimachinery v0.33.2). Those two cannot be
reproduced byte for byte: Go marshals a PodSpec in its struct order with its defaults (``"containers"``,
``"resources":{}``), and ``%#v`` prints pointer addresses. This module prints the PodSpec as the
object's own compact JSON, and ``0x…`` for an address; only the detail strings are stable to match on.

Not modelled (said as "not checked"): the router, scheduler, scaling (HPA/KEDA/WVA), LoRA, KV-cache
offloading, traffic, DRA and confidential-computing rules of the same webhook.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.kserve.admission import ALLOWED, Admission, go_quote
from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.kserve.llmisvc.spec import (
    GROUP,
    KIND,
    LLMInferenceService,
    Parallelism,
    Workload,
    read,
    size_of,
)

INVALID = "Invalid value"
"""``field.ErrorTypeInvalid``'s text."""
NOT_SUPPORTED = "Unsupported value"
"""``field.ErrorTypeNotSupported``'s text (the immutable-size error uses this type)."""

WORKER_NEEDS_PARALLELISM = "when worker is specified, parallelism must be configured for either data parallelism or pipeline parallelism"
PIPELINE_AND_DATA = (
    "cannot set both pipeline parallelism and data parallelism (data or dataLocal) simultaneously"
)
DATA_LOCAL_NEEDED = "dataLocal must be set when data is set"
DATA_NEEDED = "data must be set when dataLocal is set"
PIPELINE_POSITIVE = "pipeline parallelism must be greater than 0"
DATA_POSITIVE = "data parallelism must be greater than 0"
DATA_LOCAL_POSITIVE = "dataLocal parallelism must be greater than 0"
SIZE_IMMUTABLE = "total parallelism size is immutable, previous size {previous}, curr size {current}"

NOT_CHECKED = (
    "the webhook's router, scheduler, scaling (HPA/KEDA/WVA), LoRA, KV-cache offloading and DRA rules are "
    "not checked"
)


@dataclass(frozen=True)
class FieldError:
    """One ``field.Error`` as apimachinery prints it."""

    field: str
    type: str
    value: str
    """The bad value as printed (``4``, ``null``, ``{"tensor":2}``)."""
    detail: str

    def __str__(self) -> str:
        return f"{self.field}: {self.type}: {self.value}: {self.detail}"


def qualified_kind() -> str:
    """``schema.GroupKind.String()``: ``LLMInferenceService.serving.kserve.io``."""
    return f"{KIND}.{GROUP}"


def aggregate(errors: Sequence[str]) -> str:
    """``field.ErrorList.ToAggregate().Error()``: duplicates dropped, one as it is, several as ``[a, b]``."""
    unique = list(dict.fromkeys(errors))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


def invalid_message(name: str, errors: Sequence[str]) -> str:
    """``apierrors.NewInvalid(LLMInferenceService, name, errors)``'s message."""
    if not errors:
        return f"{qualified_kind()} {go_quote(name)} is invalid"
    return f"{qualified_kind()} {go_quote(name)} is invalid: {aggregate(errors)}"


def webhook_name(era: Era, version: str) -> str:
    """The validating webhook kubectl names in ``admission webhook "<name>" denied the request: ``
    (``config/webhook/llmisvc/manifests.yaml``: one per served version, ``matchPolicy: Exact``, from v0.17.0)."""
    if era.llmisvc_webhook_values_json:
        return f"llminferenceservice.kserve-webhook-server.{version}.validator"
    return "llminferenceservice.kserve-webhook-server.validator"


def not_served_message(api_version: str) -> str:
    """kubectl's REST-mapping error for a version the cluster's CRD does not serve."""
    return f'no matches for kind "{KIND}" in version "{api_version}"'


# --- bad values ------------------------------------------------------------------------------------


def _go_json(value: Any) -> str:
    """``json.Marshal``: compact, with ``<``, ``>``, ``&`` escaped as Go does."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _parallelism_value(parallelism: Parallelism, era: Era, version: str) -> str:
    fields = (
        ("tensor", "Tensor", parallelism.tensor),
        ("pipeline", "Pipeline", parallelism.pipeline),
        ("data", "Data", parallelism.data),
        ("dataLocal", "DataLocal", parallelism.data_local),
        ("dataRPCPort", "DataRPCPort", parallelism.data_rpc_port),
    )
    if era.llmisvc_webhook_values_json:
        shown: dict[str, Any] = {key: value for key, _, value in fields if value is not None}
        if parallelism.expert:
            shown["expert"] = True
        return _go_json(shown)
    inner = ", ".join(f"{go}:(*int32)({'nil' if value is None else '0x…'})" for _, go, value in fields)
    expert = "true" if parallelism.expert else "false"
    return f"{version}.ParallelismSpec{{{inner}, Expert:{expert}}}"


def _pod_value(pod: Mapping[str, Any], era: Era) -> str:
    return _go_json(pod) if era.llmisvc_webhook_values_json else "v1.PodSpec{…}"


# --- the rules -------------------------------------------------------------------------------------


def workload_errors(workload: Workload, era: Era, version: str) -> list[FieldError]:
    """``validateWorkloadParallelism`` for ``spec`` or ``spec.prefill``, in the webhook's order."""
    base = workload.field
    worker = workload.worker
    parallelism = workload.parallelism
    if worker is not None and parallelism is None:
        return [FieldError(f"{base}.worker", INVALID, _pod_value(worker, era), WORKER_NEEDS_PARALLELISM)]
    if parallelism is None:
        return []
    path = f"{base}.parallelism"
    errors: list[FieldError] = []
    if worker is not None and not parallelism.is_data_parallel and not parallelism.is_pipeline_parallel:
        errors.append(
            FieldError(f"{base}.worker", INVALID, _pod_value(worker, era), WORKER_NEEDS_PARALLELISM)
        )
    if parallelism.is_pipeline_parallel and parallelism.is_data_parallel:
        errors.append(
            FieldError(path, INVALID, _parallelism_value(parallelism, era, version), PIPELINE_AND_DATA)
        )
    if parallelism.data is not None and parallelism.data_local is None:
        errors.append(FieldError(f"{path}.dataLocal", INVALID, "null", DATA_LOCAL_NEEDED))
    if parallelism.data_local is not None and parallelism.data is None:
        errors.append(FieldError(f"{path}.data", INVALID, "null", DATA_NEEDED))
    if parallelism.pipeline is not None and parallelism.pipeline <= 0:
        errors.append(FieldError(f"{path}.pipeline", INVALID, str(parallelism.pipeline), PIPELINE_POSITIVE))
    if parallelism.data is not None and parallelism.data <= 0:
        errors.append(FieldError(f"{path}.data", INVALID, str(parallelism.data), DATA_POSITIVE))
    if parallelism.data_local is not None and parallelism.data_local <= 0:
        errors.append(
            FieldError(f"{path}.dataLocal", INVALID, str(parallelism.data_local), DATA_LOCAL_POSITIVE)
        )
    return errors


def _size(parallelism: Parallelism | None) -> int:
    size = size_of(parallelism)
    return 1 if size is None else size


def immutable_errors(previous: LLMInferenceService, current: LLMInferenceService) -> list[FieldError]:
    """``validateImmutable``: the total size of ``spec`` (and of ``spec.prefill`` when both objects have
    one) may not change; ``GetSize()`` with unset treated as 1, so only data/dataLocal/pipeline count."""
    errors: list[FieldError] = []
    pairs: list[tuple[str, Parallelism | None, Parallelism | None]] = [
        ("spec", previous.main.parallelism, current.main.parallelism)
    ]
    if previous.prefill is not None and current.prefill is not None:
        pairs.append(("spec.prefill", previous.prefill.parallelism, current.prefill.parallelism))
    for base, before, after in pairs:
        was, now = _size(before), _size(after)
        if was != now:
            detail = SIZE_IMMUTABLE.format(previous=was, current=now)
            errors.append(FieldError(f"{base}.parallelism", NOT_SUPPORTED, str(now), detail))
    return errors


def webhook_errors(
    obj: LLMInferenceService, era: Era, *, live: LLMInferenceService | None = None
) -> list[FieldError]:
    """Every parallelism error of ``era``'s webhook, in its order (empty: admitted)."""
    if live is not None and obj.deleting and era.llmisvc_webhook_skips_deleting:
        return []
    errors: list[FieldError] = []
    for workload in obj.workloads:
        errors += workload_errors(workload, era, obj.version)
    if live is not None:
        errors += immutable_errors(live, obj)
    return errors


def admit_llmisvc(
    obj: Mapping[str, Any],
    era: Era,
    *,
    live: Mapping[str, Any] | None = None,
    schema_errors: Sequence[str] = (),
) -> Admission:
    """Would the API server and ``era``'s webhook accept ``obj``?

    ``live``: the stored object, for an update (adds the immutable-size rule). ``schema_errors``: the CRD
    schema's violations of ``obj``, each as the API server words one field error
    (``spec.parallelism.tensor: Invalid value: 0: spec.parallelism.tensor in body should be greater than or
    equal to 1``); they are answered first and the webhook is then never called.
    """
    item = read(obj)
    if item.version not in era.llmisvc_api_versions:  # none before v0.16.0
        return Admission(False, not_served_message(item.api_version))
    if schema_errors:
        return Admission(False, invalid_message(item.name, schema_errors))
    errors = webhook_errors(item, era, live=None if live is None else read(live))
    if not errors:
        return ALLOWED
    return Admission(False, invalid_message(item.name, [str(e) for e in errors]))
