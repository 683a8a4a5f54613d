"""ObjectMeta of a custom resource as the API server decodes and validates it on create.

- Decoding (apiextensions-apiserver@1aa2717a552ee6ca1e2a18f1f8ffccde981db923:pkg/apiserver/schema/objectmeta/coerce.go
  ``GetObjectMetaWithOptions``): ``metadata`` is unmarshalled into ``metav1.ObjectMeta`` by Go's JSON
  decoder (kubernetes-sigs/json@cfa47c3a1cc8ff0eff148aa9ec5b0226d0909e87:internal/golang/encoding/json/decode.go
  ``UnmarshalTypeError``); the first field of the wrong type fails the request as a bad request
  (apiserver@24a394e516bfda066d7e2221d7d92c052de27c54:pkg/endpoints/handlers/rest.go ``transformDecodeError``:
  ``InferenceService in version "v1beta1" cannot be handled as a InferenceService: json: cannot unmarshal
  number into Go struct field ObjectMeta.name of type string``); unknown fields are reported like the
  schema's.
- Validation (apimachinery@eed236ceee2c19c2753a3d93ac0631dc20750454:pkg/api/validation/objectmeta.go
  ``ValidateObjectMetaAccessor``; custom resources use ``NameIsDNSSubdomain``,
  apiextensions-apiserver pkg/registry/customresource/validator.go): name required and a DNS-1123
  subdomain, namespace a DNS-1123 label, label keys and values, annotation keys
  (pkg/util/validation/validation.go, pkg/api/validate/content). Not checked: the 256 KiB annotation size
  limit, owner references, managed fields, time formats.
- ``kubectl apply`` refuses ``generateName`` without a name (kubectl@dee3483a3d6a64c07fdf746caf80af446dee99ac:
  pkg/cmd/apply/apply.go: ``from <generateName>: cannot use generate name with apply``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubectl_kserve_mn.inputs import kube_wording as kw
from kubectl_kserve_mn.inputs.problems import PathSegment
from kubectl_kserve_mn.inputs.schema import MALFORMED, MISSING, REJECTED, UNKNOWN_FIELD, Violation, json_key

_META_STRINGS = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion")
_META_INT64 = ("generation", "deletionGracePeriodSeconds")
_META_TIMES = ("creationTimestamp", "deletionTimestamp")
_META_STRING_MAPS = ("labels", "annotations")
_META_LISTS = {
    "finalizers": "string",
    "ownerReferences": "v1.OwnerReference",
    "managedFields": "v1.ManagedFieldsEntry",
}


def _go_json_kind(value: Any) -> str:
    """The JSON value kind Go's decoder names in ``cannot unmarshal <kind> into ...``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return "string"


def metadata_violations(metadata: Any, *, kind: str, version: str, namespaced: bool) -> list[Violation]:
    """What the API server says about ``metadata`` (``MISSING`` when absent) of a custom resource on create:
    the first field that does not decode into ObjectMeta (nothing else then), else unknown fields, the
    name, the namespace (namespaced kinds only), labels and annotation keys."""
    decode = _decode_metadata(metadata, kind, version)
    if decode is not None:
        return [decode]
    meta: Mapping[str, Any] = metadata if isinstance(metadata, Mapping) else {}
    out: list[Violation] = []
    for key, value in meta.items():
        if not isinstance(key, str) or not _is_object_meta_field(key):
            path = ("metadata", str(key))
            out.append(
                Violation(
                    path,
                    value,
                    "unknown-field",
                    UNKNOWN_FIELD,
                    kw.api_path(path),
                    f'unknown field "metadata.{key}"',
                )
            )
    name = meta.get("name") or ""
    generate_name = meta.get("generateName") or ""
    if not name:
        if generate_name:
            # kubectl apply's check; the API server itself would generate a name on create.
            out.append(
                Violation(
                    ("metadata", "name"),
                    MISSING,
                    "required",
                    MALFORMED,
                    "",
                    f"from {generate_name}: cannot use generate name with apply",
                )
            )
        else:
            out.append(
                Violation(
                    ("metadata", "name"),
                    None if "name" in meta else MISSING,
                    "required",
                    MALFORMED,
                    "metadata.name",
                    f"{kw.REQUIRED}: name or generateName is required",
                )
            )
    else:
        for message in _dns1123_subdomain(name):
            out.append(_meta_invalid(("metadata", "name"), name, message, MALFORMED))
    namespace = meta.get("namespace") or ""
    if namespace and namespaced:
        for message in _dns1123_label(namespace):
            out.append(_meta_invalid(("metadata", "namespace"), namespace, message, MALFORMED))
    for raw_key, value in (meta.get("labels") or {}).items():
        key = json_key(raw_key)
        for message in _label_key(key):
            out.append(_meta_invalid(("metadata", "labels"), key, message, REJECTED))
        for message in _label_value(value or ""):
            out.append(_meta_invalid(("metadata", "labels"), value, message, REJECTED))
    for raw_key in meta.get("annotations") or {}:
        key = json_key(raw_key)
        for message in _label_key(key.lower()):
            out.append(_meta_invalid(("metadata", "annotations"), key, message, REJECTED))
    return out


def _is_object_meta_field(key: str) -> bool:
    return (
        key in _META_STRINGS
        or key in _META_INT64
        or key in _META_TIMES
        or key in _META_STRING_MAPS
        or key in _META_LISTS
    )


def _meta_invalid(path: tuple[str, ...], value: Any, message: str, category: str) -> Violation:
    field = kw.api_path(path)
    return Violation(path, value, "metadata", category, field, kw.error_body(kw.INVALID, value, message))


_Refusal = tuple[tuple[PathSegment, ...], Any, str]
"""Where Go's JSON decoder stopped, the value there and its error."""


def _decode_metadata(metadata: Any, kind: str, version: str) -> Violation | None:
    """The first ObjectMeta field Go's JSON decoder refuses (the request then fails as a bad request)."""
    if metadata is MISSING or metadata is None:
        return None
    problem: _Refusal | None = None
    if not isinstance(metadata, Mapping):
        problem = (
            ("metadata",),
            metadata,
            f"json: cannot unmarshal {_go_json_kind(metadata)} into Go value of type v1.ObjectMeta",
        )
    else:
        for key, value in metadata.items():
            problem = _decode_meta_field(str(key), value)
            if problem is not None:
                break
    if problem is None:
        return None
    path, value, error = problem
    body = f"{kind} in version {kw.go_quote(version)} cannot be handled as a {kind}: {error}"
    return Violation(path, value, "json", MALFORMED, "", body)


def _decode_meta_field(key: str, value: Any) -> _Refusal | None:
    def refused(
        go_type: str, shown: Any = value, where: tuple[PathSegment, ...] = ("metadata", key)
    ) -> _Refusal:
        return (
            where,
            shown,
            f"json: cannot unmarshal {_go_json_kind(shown)} into Go struct field ObjectMeta.{key} of type {go_type}",
        )

    if value is None:
        return None  # JSON null leaves the Go zero value
    if key in _META_STRINGS or key in _META_TIMES:
        return None if isinstance(value, str) else refused("string")
    if key in _META_INT64:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return refused("int64")
        if (isinstance(value, float) and not value.is_integer()) or not -(2**63) <= value < 2**63:
            where = ("metadata", key)
            return (
                where,
                value,
                f"json: cannot unmarshal number {kw.go_json(value)} into Go struct field ObjectMeta.{key} of type int64",
            )
        return None
    if key in _META_STRING_MAPS:
        if not isinstance(value, Mapping):
            return refused("map[string]string")
        for sub_key, sub in value.items():
            if sub is not None and not isinstance(sub, str):
                return refused("string", sub, ("metadata", key, str(sub_key)))
        return None
    if key in _META_LISTS:
        element = _META_LISTS[key]
        if not isinstance(value, (list, tuple)):
            return refused(f"[]{element}")
        for i, item in enumerate(value):
            ok = isinstance(item, str) if element == "string" else isinstance(item, Mapping)
            if item is not None and not ok:
                return refused(element, item, ("metadata", key, i))
    return None


# apimachinery pkg/util/validation/validation.go (names, namespaces) and pkg/api/validate/content (labels)
_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + "(\\." + _DNS1123_LABEL + ")*"
_LABEL_RE = re.compile(f"{_DNS1123_LABEL}\\Z")
_SUBDOMAIN_RE = re.compile(f"{_DNS1123_SUBDOMAIN}\\Z")
_LABEL_KEY = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_RE = re.compile(f"{_LABEL_KEY}\\Z")
_LABEL_VALUE_RE = re.compile(f"({_LABEL_KEY})?\\Z")
_LABEL_KEY_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"


def _regex_error(message: str, regex: str, *examples: str) -> str:
    """validation.go ``RegexError``, spacing included: ``(e.g. 'MyName',  or 'my.name', regex used ...)``."""
    if not examples:
        return f"{message} (regex used for validation is '{regex}')"
    text = f"{message} (e.g. "
    for i, example in enumerate(examples):
        if i > 0:
            text += " or "
        text += f"'{example}', "
    return f"{text}regex used for validation is '{regex}')"


def _dns1123_subdomain(value: str, unit: str = "characters") -> list[str]:
    errors = []
    if len(value) > 253:
        errors.append(f"must be no more than 253 {unit}")
    if not _SUBDOMAIN_RE.match(value):
        errors.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN,
                "example.com",
            )
        )
    return errors


def _dns1123_label(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_RE.match(value):
        if _SUBDOMAIN_RE.match(value):
            errors.append("must not contain dots")
        else:
            errors.append(
                _regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                    "must start and end with an alphanumeric character",
                    _DNS1123_LABEL,
                    "my-name",
                    "123-abc",
                )
            )
    return errors


def _label_key(key: str) -> list[str]:
    """content.IsLabelKey (qualified names)."""
    parts = key.split("/")
    errors: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors += ["prefix part " + m for m in _dns1123_subdomain(prefix, "bytes")]
    else:
        return [
            "a valid label key "
            + _regex_error(_LABEL_KEY_MSG, _LABEL_KEY, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 bytes")
    if not _LABEL_KEY_RE.match(name):
        errors.append("name part " + _regex_error(_LABEL_KEY_MSG, _LABEL_KEY, "MyName", "my.name", "123-abc"))
    return errors


def _label_value(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 bytes")
    if not _LABEL_VALUE_RE.match(value):
        errors.append(
            _regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character",
                f"({_LABEL_KEY})?",
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return errors
