"""KServe objects from files, judged as the API server of a given KServe release would judge them.

``validate_object(obj, source="isvc.yaml", kserve_version=...)`` is the input boundary for the
InferenceServices, ServingRuntimes, ClusterServingRuntimes and LLMInferenceServices that ``-f`` reads:

1. ``apiVersion``/``kind`` must be served by that release's CRD, or kubectl stops with ``no matches for
   kind "InferenceService" in version "serving.kserve.io/v1alpha1"`` (apimachinery
   pkg/api/meta/errors.go ``NoKindMatchError``).
2. ``metadata`` must decode into ObjectMeta (else the request fails with ``InferenceService in version
   "v1beta1" cannot be handled as a InferenceService: json: cannot unmarshal ...``, apiserver
   pkg/endpoints/handlers/rest.go ``transformDecodeError``); its unknown fields are pruned like the rest.
3. ObjectMeta validation (apimachinery pkg/api/validation/objectmeta.go ``ValidateObjectMetaAccessor``):
   ``metadata.name`` required (``name or generateName is required``) and a DNS-1123 subdomain (custom
   resources use ``NameIsDNSSubdomain``, apiextensions-apiserver pkg/registry/customresource/validator.go),
   ``metadata.namespace`` a DNS-1123 label, label keys/values and annotation keys well formed.
   ``kubectl apply`` refuses ``generateName`` without a name (kubectl@dee3483a3d6a64c07fdf746caf80af446dee99ac:
   pkg/cmd/apply/apply.go: ``from <generateName>: cannot use generate name with apply``).
4. The CRD's structural schema (:mod:`kubectl_kserve_mn.inputs.schema`). ``status`` is ignored: these CRDs
   have a status subresource, so the API server drops ``status`` on create.

What comes out (:class:`ObjectCheck`), by :mod:`~kubectl_kserve_mn.inputs.schema` category:

- ``malformed`` (wrong types, missing required structure, ``null`` where an object is needed, an unserved
  ``apiVersion``, no name): broken input. :func:`validate_object` raises :class:`BadInput` (exit 2) for
  the first one, worded ``isvc.yaml: InferenceService team-a/llama: spec.predictor.workerSpec: a list: the
  API server would refuse it: Invalid value: "array": spec.predictor.workerSpec in body must be of type
  object: "array"``.
- ``rejected`` (a well-formed value outside the CRD's bounds, enums, patterns): returned, for the caller to
  report as an admission rejection with :attr:`ObjectCheck.api_message`, the API server's own text.
- ``unknown-field`` and ``not-checked`` (CEL rules): returned as :meth:`ObjectCheck.warnings`.

Which CRD snapshot judges an object: InferenceService, ServingRuntime and ClusterServingRuntime use the
v0.14.1 CRD for v0.14.x and older, v0.15.0 for v0.15.x and the master CRD for v0.16.0 and later;
LLMInferenceService (from v0.16.0; ``v1alpha2`` from v0.17.0) uses the CRD of its own minor release, and
v0.20.0's for later ones (tests/fixtures/crds/README.md names the commits).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.inputs import kube_wording as kw
from kubectl_kserve_mn.inputs.problems import BadInput, PathSegment, describe_value
from kubectl_kserve_mn.inputs.schema import (
    MALFORMED,
    MISSING,
    NOT_CHECKED,
    REJECTED,
    UNKNOWN_FIELD,
    Schema,
    Violation,
    build_nodes,
    json_key,
    validate,
)
from kubectl_kserve_mn.kserve.eras import Era, KServeVersion, Version, format_version, parse_version

GROUP = "serving.kserve.io"
KINDS = ("InferenceService", "ServingRuntime", "ClusterServingRuntime", "LLMInferenceService")

_ISVC_SNAPSHOTS = (((0, 0, 0), "v0.14.1"), ((0, 15, 0), "v0.15.0"), ((0, 16, 0), "master"))
_SNAPSHOTS: dict[str, tuple[tuple[Version, str], ...]] = {
    "InferenceService": _ISVC_SNAPSHOTS,
    "ServingRuntime": _ISVC_SNAPSHOTS,
    "ClusterServingRuntime": _ISVC_SNAPSHOTS,
    "LLMInferenceService": (
        ((0, 16, 0), "v0.16.0"),
        ((0, 17, 0), "v0.17.0"),
        ((0, 18, 0), "v0.18.0"),
        ((0, 19, 0), "v0.19.0"),
        ((0, 20, 0), "v0.20.0"),
    ),
}
"""Per kind, oldest first: (first KServe release, the tag of the CRD snapshot in the package data)."""

KServeVersionLike = KServeVersion | Era | Version | str

_PACKAGE_DATA = os.path.join(os.path.dirname(__file__), "crds", "schemas.json")
"""Written by scripts/gen_crd_schemas.py; shipped as package data (setup.cfg) and in the binary (PyInstaller)."""


@dataclass(frozen=True)
class CrdVersion:
    """One served version of one KServe CRD snapshot."""

    tag: str
    """The KServe tag the CRD was taken at (``v0.15.0``, ``master``, ``v0.20.0``)."""
    group: str
    kind: str
    version: str
    namespaced: bool
    status_subresource: bool
    schema: Schema
    served: tuple[str, ...]
    """Every version this CRD snapshot serves (``v1alpha1``, ``v1alpha2``)."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


@functools.cache
def _catalog() -> dict[tuple[str, str], dict[str, CrdVersion]]:
    """(kind, tag) -> {version: CrdVersion}, from the package data written by scripts/gen_crd_schemas.py."""
    with open(_PACKAGE_DATA, encoding="utf-8") as handle:
        data = json.load(handle)
    nodes = build_nodes(data["nodes"])
    catalog: dict[tuple[str, str], dict[str, CrdVersion]] = {}
    for crd in data["crds"]:
        served = tuple(v["name"] for v in crd["versions"] if v["served"])
        catalog[(crd["kind"], crd["tag"])] = {
            v["name"]: CrdVersion(
                tag=crd["tag"],
                group=crd["group"],
                kind=crd["kind"],
                version=v["name"],
                namespaced=crd["namespaced"],
                status_subresource=v["statusSubresource"],
                schema=Schema(nodes[v["schema"]]),
                served=served,
            )
            for v in crd["versions"]
            if v["served"] and v["schema"] is not None
        }
    return catalog


def release_of(kserve_version: KServeVersionLike) -> Version:
    """The release whose CRDs apply: the version when known, else the first release of the era."""
    if isinstance(kserve_version, KServeVersion):
        return parse_version(kserve_version.version) if kserve_version.version else kserve_version.era.since
    if isinstance(kserve_version, Era):
        return kserve_version.since
    if isinstance(kserve_version, str):
        return parse_version(kserve_version)
    return kserve_version


def crd_versions(kind: str, kserve_version: KServeVersionLike) -> dict[str, CrdVersion]:
    """The served versions of ``kind``'s CRD in that KServe release (empty when it has no such CRD)."""
    if kind not in _SNAPSHOTS:
        raise ValueError(f"not a KServe kind this tool validates: {kind!r} (one of {', '.join(KINDS)})")
    release = release_of(kserve_version)
    tag = None
    for since, snapshot in _SNAPSHOTS[kind]:
        if release >= since:
            tag = snapshot
    if tag is None:
        return {}
    return _catalog()[(kind, tag)]


def schema_for(kind: str, api_version: str, kserve_version: KServeVersionLike) -> Schema | None:
    """The structural schema the API server of that KServe release checks ``kind`` in ``api_version``
    against, or None when that release does not serve it (``LLMInferenceService`` before v0.16.0,
    ``serving.kserve.io/v1alpha2`` before v0.17.0, ``InferenceService`` in ``v1alpha1``)."""
    crd = _served(kind, api_version, kserve_version)
    return crd.schema if crd is not None else None


def _served(kind: str, api_version: str, kserve_version: KServeVersionLike) -> CrdVersion | None:
    group, _, version = api_version.rpartition("/")
    if group != GROUP:
        return None
    return crd_versions(kind, kserve_version).get(version)


# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectCheck:
    """What the API server would say about one KServe object on create."""

    kind: str
    api_version: str
    name: str
    """``metadata.name`` when it is a string, else ``""``."""
    namespace: str | None
    crd: CrdVersion | None
    """The CRD version that judged the object; None when the API version is not served (or absent)."""
    violations: tuple[Violation, ...]

    def of(self, *categories: str) -> list[Violation]:
        return [v for v in self.violations if v.category in categories]

    @property
    def malformed(self) -> list[Violation]:
        return self.of(MALFORMED)

    @property
    def rejected(self) -> list[Violation]:
        return self.of(REJECTED)

    @property
    def unknown_fields(self) -> list[Violation]:
        return self.of(UNKNOWN_FIELD)

    @property
    def not_checked(self) -> list[Violation]:
        return self.of(NOT_CHECKED)

    @property
    def allowed(self) -> bool:
        """Whether the API server's checks that this module evaluates pass (CEL rules excepted, unknown
        fields dropped as with ``kubectl --validate=warn``)."""
        return not self.of(MALFORMED, REJECTED)

    @property
    def api_message(self) -> str:
        """The API server's answer to creating the object ("" when it would accept it): the mapping or
        decode error when there is one, else ``<Kind>.<group> "<name>" is invalid: ...`` listing every
        malformed and rejected violation."""
        refused = self.of(MALFORMED, REJECTED)
        if not refused:
            return ""
        stops = [v for v in refused if not v.field]
        if stops:
            return stops[0].body
        return kw.invalid_object_message(self.kind, GROUP, self.name, [v.message for v in refused])

    @property
    def strict_message(self) -> str:
        """What the API server answers ``kubectl --validate=strict`` (kubectl's default) when the object has
        unknown fields: the request fails before any other check ("" when there are none)."""
        unknown = self.unknown_fields
        if not unknown or self.crd is None:
            return ""
        metadata = [v.body for v in unknown if v.path[:1] == ("metadata",)]
        rest = sorted(v.body for v in unknown if v.path[:1] != ("metadata",))
        return (
            f"{self.kind} in version {kw.go_quote(self.crd.version)} cannot be handled as a {self.kind}: "
            f"strict decoding error: {', '.join(metadata + rest)}"
        )

    def warnings(self) -> list[str]:
        """One line per unknown field (dropped by the API server) and per CEL rule not evaluated."""
        lines = [
            f"{v.field}: unknown field, dropped by the API server (kubectl --validate=strict refuses it)"
            for v in self.unknown_fields
        ]
        lines += [v.body for v in self.not_checked]
        return lines


def check_object(obj: Mapping[str, Any], *, kserve_version: KServeVersionLike) -> ObjectCheck:
    """Every violation of a KServe object for that release's API server, without raising."""
    kind = obj.get("kind")
    if not isinstance(kind, str) or kind not in _SNAPSHOTS:
        raise ValueError(f"not a KServe kind this tool validates: {kind!r} (one of {', '.join(KINDS)})")
    api_version = obj.get("apiVersion")
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
    name_text = name if isinstance(name, str) else ""
    namespace_text = namespace if isinstance(namespace, str) and namespace else None

    def done(crd: CrdVersion | None, violations: list[Violation]) -> ObjectCheck:
        return ObjectCheck(kind, str(api_version or ""), name_text, namespace_text, crd, tuple(violations))

    if not isinstance(api_version, str) or not api_version:
        # apimachinery runtime/error.go missingVersionErr (kubectl cannot even map the object)
        body = (
            "Object 'apiVersion' is missing" if api_version in (None, "") else "apiVersion must be a string"
        )
        shown = obj.get("apiVersion", MISSING)
        return done(None, [Violation(("apiVersion",), shown, "apiVersion", MALFORMED, "", body)])
    crd = _served(kind, api_version, kserve_version)
    if crd is None:
        body = f"no matches for kind {kw.go_quote(kind)} in version {kw.go_quote(api_version)}"
        return done(None, [Violation(("apiVersion",), api_version, "apiVersion", MALFORMED, "", body)])
    violations = _metadata(obj.get("metadata", MISSING), crd)
    created: Mapping[str, Any] = obj
    if crd.status_subresource and "status" in obj:
        created = {k: v for k, v in obj.items() if k != "status"}
    violations += validate(created, crd.schema)
    return done(crd, violations)


def validate_object(
    obj: Mapping[str, Any],
    *,
    source: str,
    kserve_version: KServeVersionLike,
    position: int | None = None,
) -> ObjectCheck:
    """The input boundary for one KServe object read from ``source``: raises :class:`BadInput` (exit 2) for
    the first malformed violation; returns the check (rejections, unknown fields, CEL rules not checked)
    otherwise. ``position`` (1-based) names an object that has no usable name (``InferenceService #3``)."""
    check = check_object(obj, kserve_version=kserve_version)
    malformed = check.malformed
    if malformed:
        first = malformed[0]
        raise BadInput(
            f"{_describe(first.value)}: the API server would refuse it: {_refusal(first, check, kserve_version)}",
            source=source,
            obj=object_label(check, position),
            path=first.path,
        )
    return check


def object_label(check: ObjectCheck, position: int | None = None) -> str:
    """``InferenceService team-a/llama``; ``InferenceService #3`` or ``InferenceService (no name)`` without one."""
    if check.name:
        return (
            f"{check.kind} {check.namespace}/{check.name}"
            if check.namespace
            else f"{check.kind} {check.name}"
        )
    return f"{check.kind} #{position}" if position is not None else f"{check.kind} (no name)"


def _describe(value: Any) -> str:
    return "missing" if value is MISSING else describe_value(value)


def _refusal(violation: Violation, check: ObjectCheck, kserve_version: KServeVersionLike) -> str:
    """The API server's text, and for an unserved API version what the release does serve."""
    text = violation.body
    if violation.keyword == "apiVersion" and check.api_version:
        release = (
            kserve_version.display
            if isinstance(kserve_version, KServeVersion)
            else format_version(release_of(kserve_version))
        )
        served = [crd.api_version for crd in crd_versions(check.kind, kserve_version).values()]
        if served:
            text += f" (KServe {release} serves {check.kind} as {' and '.join(served)})"
        else:
            text += f" (KServe {release} has no {check.kind})"
    return text


# ----------------------------------------------------------------------------------------------------------
# ObjectMeta: decoding (Go types of metav1.ObjectMeta) and validation


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


def _metadata(metadata: Any, crd: CrdVersion) -> list[Violation]:
    decode = _decode_metadata(metadata, crd)
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
    if namespace and crd.namespaced:
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


def _decode_metadata(metadata: Any, crd: CrdVersion) -> Violation | None:
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
    kind = crd.kind
    body = f"{kind} in version {kw.go_quote(crd.version)} cannot be handled as a {kind}: {error}"
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
    shown = " or ".join(f"'{e}'" for e in examples)
    return f"{message} (e.g. {shown}, regex used for validation is '{regex}')"


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


__all__ = [
    "GROUP",
    "KINDS",
    "CrdVersion",
    "ObjectCheck",
    "check_object",
    "crd_versions",
    "object_label",
    "release_of",
    "schema_for",
    "validate_object",
]
