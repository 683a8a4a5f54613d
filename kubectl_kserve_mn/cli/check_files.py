"""``check -f``'s files: the paths kubectl would read (``-f DIR``, ``-R``), their objects, and what the offline
check does to an object before judging it (the namespace ``kubectl apply`` would give it; unknown fields)."""

from __future__ import annotations

import copy
from typing import Any

from kubectl_kserve_mn.findings import ERROR, Finding
from kubectl_kserve_mn.inputs import BadInput, describe_value, documents
from kubectl_kserve_mn.inputs.documents import SourcedObject
from kubectl_kserve_mn.inputs.kserve_objects import ObjectCheck
from kubectl_kserve_mn.inputs.paths import expand
from kubectl_kserve_mn.kserve.runtimes import CLUSTER_SERVING_RUNTIME


def read_objects(filenames: tuple[str, ...], *, recursive: bool) -> list[SourcedObject]:
    """Every object of the ``-f`` paths, in kubectl's order. A file named on the command line must hold
    an object; a file found in a directory may be empty (kubectl skips it), but the directory may not be."""
    objects: list[SourcedObject] = []
    for path in filenames:
        from_path: list[SourcedObject] = []
        for item in expand(path, recursive=recursive):
            loaded = documents.load_objects(item.path)
            if not loaded and item.named:
                raise BadInput(
                    "holds no Kubernetes objects (an empty file?)", source=documents.source_name(item.path)
                )
            from_path += loaded
        if not from_path:
            raise BadInput("its .json, .yaml and .yml files hold no Kubernetes objects", source=path)
        objects += from_path
    return objects


def unknown_field_finding(judged: ObjectCheck) -> Finding:
    """Fields the CRD does not have: ``kubectl apply`` refuses the object (strict field validation is its
    default since Kubernetes 1.27), and with ``--validate=warn|ignore`` the API server drops them, so the
    setting a typo meant (``tensorParalelSize``) silently has no effect. Either way it is not what was meant."""
    fields = ", ".join(v.field for v in judged.unknown_fields)
    return Finding(
        "unknown-field",
        ERROR,
        f"unknown field(s) {fields}: `kubectl apply` refuses the object ({judged.strict_message}); with "
        "--validate=false the API server drops them and they have no effect",
        "correct the spelling or remove the field(s)",
    )


def with_namespace(item: SourcedObject, kind: str, flag_namespace: str | None) -> dict[str, Any]:
    """The object with its namespace filled in the way ``kubectl apply -f`` would: the file's namespace, else
    -n, else ``default``; a file namespace that contradicts -n is refused, as kubectl refuses it."""
    obj = item.obj
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise BadInput(
            f"{describe_value(meta)} is not a mapping",
            source=item.source,
            obj=f"{kind} #{item.index}",
            path=["metadata"],
        )
    if kind == CLUSTER_SERVING_RUNTIME:
        return obj
    namespace = meta.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise BadInput(
            f"{describe_value(namespace)} is not a string",
            source=item.source,
            obj=f"{kind} {meta.get('name')}",
            path=["metadata", "namespace"],
        )
    if namespace and flag_namespace and namespace != flag_namespace:
        raise BadInput(
            f'the namespace from the provided object "{namespace}" does not match the namespace '
            f"\"{flag_namespace}\". You must pass '--namespace={namespace}' to perform this operation.",
            source=item.source,
            obj=f"{kind} {meta.get('name')}",
        )
    if namespace:
        return obj
    copied = copy.deepcopy(obj)
    copied["metadata"]["namespace"] = flag_namespace or "default"
    return copied
