"""Runtime selection and the ISVC-over-runtime container merge, as KServe's controller does them.

Sources: ``GetServingRuntime`` / ``GetSupportingRuntimes`` / ``RuntimeSupportsModel`` and
``sortSupportedRuntimeByPriority`` (``pkg/apis/serving/v1beta1/predictor_model.go``),
``MergeRuntimeContainers`` / ``MergeServingRuntimeAndInferenceServiceSpecs`` (``pkg/utils``), and
``multiNodeProcess`` (``pkg/controller/v1beta1/inferenceservice/components/predictor.go``) for PP/TP
precedence (SEMANTICS §1.2, §3.1).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.kserve.admission import HEAD_CONTAINER, WORKER_CONTAINER, is_int
from kubectl_kserve_mn.kserve.eras import Era

SERVING_RUNTIME = "ServingRuntime"
CLUSTER_SERVING_RUNTIME = "ClusterServingRuntime"
SHIPPED_MULTINODE_RUNTIME = "kserve-huggingfaceserver-multinode"

# corev1.Container JSON fields: the part of predictor.model / workerSpec.containers[0] merged over the runtime.
_CONTAINER_FIELDS = frozenset(
    {
        "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy",
        "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe",
        "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy",
        "securityContext", "stdin", "stdinOnce", "tty",
    }
)  # fmt: skip


@dataclass(frozen=True)
class RuntimeChoice:
    runtime: dict[str, Any] | None
    """The selected ServingRuntime / ClusterServingRuntime object, None when none."""
    reason: str
    """How it was chosen (or why none was)."""
    error: str | None = None
    """The controller's error when it cannot use a runtime (None when the choice is usable)."""

    @property
    def kind(self) -> str | None:
        return None if self.runtime is None else str(self.runtime.get("kind") or SERVING_RUNTIME)

    @property
    def name(self) -> str | None:
        return None if self.runtime is None else str(_dict(self.runtime.get("metadata")).get("name") or "")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _name(obj: Mapping[str, Any]) -> str:
    return str(_dict(obj.get("metadata")).get("name") or "")


def _namespace(obj: Mapping[str, Any]) -> str | None:
    ns = _dict(obj.get("metadata")).get("namespace")
    return str(ns) if ns else None


def is_multinode_runtime(runtime: Mapping[str, Any]) -> bool:
    """``ServingRuntimeSpec.IsMultiNodeRuntime()``: workerSpec present."""
    return isinstance(_dict(runtime.get("spec")).get("workerSpec"), dict)


def is_disabled(runtime: Mapping[str, Any]) -> bool:
    return _dict(runtime.get("spec")).get("disabled") is True


def _model(isvc: Mapping[str, Any]) -> dict[str, Any] | None:
    model = _dict(_dict(isvc.get("spec")).get("predictor")).get("model")
    return model if isinstance(model, dict) else None


def supports_model(runtime: Mapping[str, Any], model: Mapping[str, Any]) -> bool:
    """``RuntimeSupportsModel``: a supportedModelFormats entry with autoSelect true whose name (and
    version, when the model gives one) matches ``model.modelFormat``."""
    fmt = _dict(model.get("modelFormat"))
    want_name = fmt.get("name")
    want_version = fmt.get("version")
    for entry in _list(_dict(runtime.get("spec")).get("supportedModelFormats")):
        entry = _dict(entry)
        if entry.get("autoSelect") is not True or entry.get("name") != want_name:
            continue
        if want_version is None or str(entry.get("version")) == str(want_version):
            return True
    return False


def supports_protocol(runtime: Mapping[str, Any], model: Mapping[str, Any]) -> bool:
    """``IsProtocolVersionSupported``; a runtime listing no protocol versions serves v1 only."""
    wanted = str(model.get("protocolVersion") or "v1")
    versions = [str(v) for v in _list(_dict(runtime.get("spec")).get("protocolVersions"))]
    return wanted in versions if versions else wanted == "v1"


def _priority(runtime: Mapping[str, Any], format_name: Any) -> int | None:
    for entry in _list(_dict(runtime.get("spec")).get("supportedModelFormats")):
        entry = _dict(entry)
        if entry.get("name") == format_name and is_int(entry.get("priority")):
            return int(entry["priority"])
    return None


def _creation_key(runtime: Mapping[str, Any]) -> tuple[str, str]:
    # sortServingRuntimeList: newest creationTimestamp first, then name ascending. RFC 3339 strings
    # sort like times; negate by inverting characters is awkward, so sort in two passes instead.
    return (str(_dict(runtime.get("metadata")).get("creationTimestamp") or ""), _name(runtime))


def _order(runtimes: list[dict[str, Any]], format_name: Any) -> list[dict[str, Any]]:
    by_name = sorted(runtimes, key=_name)
    by_created = sorted(by_name, key=lambda r: _creation_key(r)[0], reverse=True)
    # sortSupportedRuntimeByPriority: runtimes with a priority first, higher first; others keep order.
    with_priority = [r for r in by_created if _priority(r, format_name) is not None]
    without = [r for r in by_created if _priority(r, format_name) is None]
    with_priority.sort(key=lambda r: -(_priority(r, format_name) or 0))
    return with_priority + without


def runtimes_by_namespace(runtimes: Sequence[Mapping[str, Any]]) -> dict[str | None, list[Mapping[str, Any]]]:
    """``runtimes`` grouped by namespace (``None``: ClusterServingRuntimes and namespace-less ones), in
    their order. ``runtimes_in_scope`` of a group is what :func:`select_runtime` may choose from for an
    InferenceService of that namespace: a fleet's check does not scan every runtime per object."""
    groups: dict[str | None, list[Mapping[str, Any]]] = {}
    for runtime in runtimes:
        groups.setdefault(_namespace(runtime), []).append(runtime)
    return groups


def runtimes_in_scope(
    groups: Mapping[str | None, Sequence[Mapping[str, Any]]], namespace: str
) -> list[Mapping[str, Any]]:
    """The runtimes an InferenceService in ``namespace`` may use: that namespace's, then the rest."""
    return [*groups.get(namespace, ()), *groups.get(None, ())]


def select_runtime(isvc: Mapping[str, Any], runtimes: Sequence[Mapping[str, Any]]) -> RuntimeChoice:
    """The runtime KServe's controller would use for ``isvc``.

    ``runtimes`` mixes ServingRuntimes and ClusterServingRuntimes; a ServingRuntime counts only in the
    ISVC's namespace (one without a namespace, e.g. from a file, counts everywhere).
    """
    model = _model(isvc)
    if model is None:
        return RuntimeChoice(
            None,
            "the predictor does not use predictor.model",
            "the predictor does not use predictor.model: KServe's multi-node reconciler reads the runtime's "
            "workerSpec from an empty runtime and fails (derived from reconcileWorker)",
        )
    isvc_ns = _namespace(isvc)
    namespaced = [
        dict(r)
        for r in runtimes
        if r.get("kind") == SERVING_RUNTIME
        and (_namespace(r) is None or isvc_ns is None or _namespace(r) == isvc_ns)
    ]
    cluster = [dict(r) for r in runtimes if r.get("kind") == CLUSTER_SERVING_RUNTIME]
    named = model.get("runtime")
    if named:
        # GetServingRuntime: the namespaced ServingRuntime wins over a ClusterServingRuntime of the same name.
        found = next((r for r in namespaced if _name(r) == named), None)
        if found is None:
            found = next((r for r in cluster if _name(r) == named), None)
        if found is None:
            return RuntimeChoice(
                None,
                f"named runtime {named!r} not found",
                f"No ServingRuntimes or ClusterServingRuntimes with the name: {named}",
            )
        kind = str(found.get("kind"))
        if is_disabled(found):
            return RuntimeChoice(found, f"named {kind} {named}", f"specified runtime {named} is disabled")
        if model.get("protocolVersion") and not supports_protocol(found, model):
            return RuntimeChoice(
                found,
                f"named {kind} {named}",
                f"specified runtime {named} does not support specified protocol version",
            )
        if not supports_model(found, model):
            return RuntimeChoice(
                found,
                f"named {kind} {named}",
                f"specified runtime {named} does not support specified framework/version",
            )
        return RuntimeChoice(found, f"named {kind} {named} (predictor.model.runtime)")
    format_name = _dict(model.get("modelFormat")).get("name")
    multinode = isinstance(_dict(_dict(isvc.get("spec")).get("predictor")).get("workerSpec"), dict)

    def candidates(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        usable = [
            r
            for r in items
            if not is_disabled(r)
            and _dict(r.get("spec")).get("multiModel") is not True
            and supports_model(r, model)
            and supports_protocol(r, model)
            and is_multinode_runtime(r) == multinode
        ]
        return _order(usable, format_name)

    ordered = candidates(namespaced) + candidates(cluster)
    if not ordered:
        kind_text = "multi-node " if multinode else ""
        return RuntimeChoice(
            None,
            f"no {kind_text}runtime supports model format {format_name!r}",
            f"no {kind_text}runtime found to support predictor with model format {format_name!r}",
        )
    chosen = ordered[0]
    priority = _priority(chosen, format_name)
    extra = f", priority {priority}" if priority is not None else ""
    return RuntimeChoice(
        chosen, f"auto-selected {chosen.get('kind')} {_name(chosen)} (model format {format_name}{extra})"
    )


# --- merge ------------------------------------------------------------------------------------


def _merge_named_list(base: list[Any], override: list[Any], key: str) -> list[Any]:
    merged = list(base)
    for item in override:
        if not isinstance(item, dict):
            continue
        for index, existing in enumerate(merged):
            if isinstance(existing, dict) and existing.get(key) == item.get(key):
                merged[index] = item
                break
        else:
            merged.append(item)
    return merged


def merge_container(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Strategic merge of ``override`` over ``base`` as ``MergeRuntimeContainers`` does it: scalars from
    the override win, ``resources.limits``/``requests`` merge per key, env/ports/volumeMounts merge by
    their patch keys, and args are concatenated (runtime args first).

    The result is read, never written: it shares the inputs' nested values instead of copying them (a
    thousand InferenceServices are merged several times each), and every list and mapping it changes is
    a new one."""
    merged = dict(base)
    for field, value in override.items():
        if field == "name" or field not in _CONTAINER_FIELDS:
            continue
        if field == "resources" and isinstance(value, dict):
            resources = dict(_dict(merged.get("resources")))
            for section, entries in value.items():
                if isinstance(entries, dict):
                    resources[section] = {**_dict(resources.get(section)), **entries}
                else:
                    resources[section] = entries
            merged["resources"] = resources
        elif field == "env":
            merged["env"] = _merge_named_list(_list(merged.get("env")), _list(value), "name")
        elif field == "ports":
            merged["ports"] = _merge_named_list(_list(merged.get("ports")), _list(value), "containerPort")
        elif field == "volumeMounts":
            merged["volumeMounts"] = _merge_named_list(
                _list(merged.get("volumeMounts")), _list(value), "mountPath"
            )
        elif field == "args":
            merged["args"] = _list(merged.get("args")) + _list(value)
        else:
            merged[field] = value
    return merged


def runtime_head_container(runtime: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if runtime is None:
        return None
    for container in _list(_dict(runtime.get("spec")).get("containers")):
        if isinstance(container, dict) and container.get("name") == HEAD_CONTAINER:
            return container
    return None


def runtime_worker_container(runtime: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if runtime is None:
        return None
    worker = _dict(_dict(runtime.get("spec")).get("workerSpec"))
    for container in _list(worker.get("containers")):
        if isinstance(container, dict) and container.get("name") == WORKER_CONTAINER:
            return container
    return None


def merged_head_container(isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None) -> dict[str, Any]:
    """The head pod's ``kserve-container``: ``predictor.model`` merged over the runtime's kserve-container."""
    base = runtime_head_container(runtime) or {}
    merged = merge_container(base, _model(isvc) or {})
    merged["name"] = HEAD_CONTAINER
    return merged


def merged_worker_container(isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None) -> dict[str, Any]:
    """The worker pod's container: ISVC ``workerSpec.containers[0]`` merged over the runtime's worker-container."""
    base = runtime_worker_container(runtime) or {}
    worker = _dict(_dict(_dict(isvc.get("spec")).get("predictor")).get("workerSpec"))
    containers = [c for c in _list(worker.get("containers")) if isinstance(c, dict)]
    merged = merge_container(base, containers[0] if containers else {})
    merged["name"] = WORKER_CONTAINER
    return merged


def merge_error(isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None) -> str | None:
    """The controller error raised while merging the ISVC over ``runtime``, if any (SEMANTICS §3.1)."""
    if runtime is None:
        return None
    spec = _dict(runtime.get("spec"))
    if runtime_head_container(runtime) is None:
        return "failed to find kserve-container in ServingRuntime containers"
    worker = spec.get("workerSpec")
    if not isinstance(worker, dict):
        # (derived) reconcileWorker reads sRuntime.WorkerSpec.Annotations before any nil check.
        return (
            f"the {runtime.get('kind') or SERVING_RUNTIME} {_name(runtime)} has no workerSpec: KServe's "
            "controller dereferences the missing runtime workerSpec and fails (the guarded "
            "InvalidWorkerSpecNotSet message is unreachable)"
        )
    if not _list(worker.get("containers")):
        return "No workerSpec container configuration found in selected serving runtime"
    if runtime_worker_container(runtime) is None:
        return "failed to find worker-container in ServingRuntime containers"
    return None


def effective_parallelism(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, era: Era
) -> tuple[int, int]:
    """(PP, TP): a non-nil ISVC ``workerSpec`` value over the runtime's over the era's default."""
    isvc_worker = _dict(_dict(_dict(isvc.get("spec")).get("predictor")).get("workerSpec"))
    rt_worker = _dict(_dict((runtime or {}).get("spec")).get("workerSpec"))

    def pick(field: str, default: int) -> int:
        for source in (isvc_worker, rt_worker):
            value = source.get(field)
            if is_int(value):
                return int(value)
        return default

    return pick("pipelineParallelSize", era.default_pipeline_parallel), pick("tensorParallelSize", 1)


def shipped_runtime(era: Era) -> dict[str, Any]:
    """The parts of KServe's shipped ``kserve-huggingfaceserver-multinode`` ClusterServingRuntime that
    matter here (formats, container names, resources, PP/TP), for offline checks of ISVCs that use it
    when no runtime is given. PP is 2 in the v0.15.0 release and 1 from v0.15.1 (#4356)."""
    resources = {"requests": {"cpu": "2", "memory": "6Gi"}, "limits": {"cpu": "4", "memory": "12Gi"}}
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": CLUSTER_SERVING_RUNTIME,
        "metadata": {"name": SHIPPED_MULTINODE_RUNTIME},
        "spec": {
            "annotations": {"prometheus.kserve.io/port": "8080", "prometheus.kserve.io/path": "/metrics"},
            "supportedModelFormats": [
                {"name": "huggingface", "version": "1", "autoSelect": True, "priority": 2}
            ],
            "protocolVersions": ["v2", "v1"],
            "containers": [{"name": HEAD_CONTAINER, "resources": copy.deepcopy(resources)}],
            "workerSpec": {
                "pipelineParallelSize": 2 if era.runtime_requires_pp_tp else 1,
                "tensorParallelSize": 1,
                "containers": [{"name": WORKER_CONTAINER, "resources": copy.deepcopy(resources)}],
            },
        },
    }
