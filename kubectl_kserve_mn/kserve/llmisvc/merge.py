"""How KServe merges LLMInferenceServiceConfig specs with the object's spec (``MergeSpecs``).

``mergeSpecs`` in ``config_merge.go`` (v0.16.0..v0.20.0) builds a strategic merge patch from the zero spec
to the override (so only the fields the override sets count) and applies it to the base with
``strategicpatch.StrategicMergePatch``: maps merge key by key, lists with a Kubernetes patch merge key
merge element by element (``containers``/``initContainers`` by ``name``, ``env`` by ``name``,
``volumeMounts`` by ``mountPath``, ``ports`` by ``containerPort``, ...; k8s.io/api core/v1 ``patchMergeKey``
tags), every other list and every scalar replaces. (derived) The merged order of list elements is not
modelled: base elements first, then the new ones; GPU counts and the ``main`` container do not depend on it.

The result shares unchanged values with its inputs (no deep copy: the presets are large and read-only
here); callers must not mutate it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Fields of core/v1 types with a patch merge key (k8s.io/api/core/v1/types.go ``patchMergeKey``).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "resourceClaims": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "hostAliases": "ip",
}


def _merge_list(base: list[Any], override: list[Any], key: str) -> list[Any]:
    out = list(base)
    for item in override:
        if not isinstance(item, Mapping) or key not in item:
            out.append(item)
            continue
        for index, existing in enumerate(out):
            if isinstance(existing, Mapping) and existing.get(key) == item[key]:
                out[index] = merge(existing, item)
                break
        else:
            out.append(item)
    return out


def merge(base: Any, override: Any, field: str = "") -> Any:
    """``override`` strategically merged onto ``base`` (neither is changed). A null or absent field of
    ``override`` keeps ``base``'s (it is not in the patch from the zero value)."""
    if override is None:
        return base
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = dict(base)
        for key, value in override.items():
            if value is None:
                continue
            out[key] = merge(base.get(key), value, key) if key in base else value
        return out
    if isinstance(base, list) and isinstance(override, list) and field in MERGE_KEYS:
        return _merge_list(base, override, MERGE_KEYS[field])
    return override


def merge_specs(*specs: Mapping[str, Any] | None) -> dict[str, Any]:
    """``MergeSpecs``: each spec merged onto the ones before it, in order."""
    out: dict[str, Any] = {}
    for spec in specs:
        if spec:
            out = merge(out, spec)
    return out
