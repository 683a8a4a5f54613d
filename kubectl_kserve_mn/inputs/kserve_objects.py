"""KServe objects from files, judged as the API server of a given KServe release would judge them.

``validate_object(obj, source="isvc.yaml", kserve_version=...)`` is the input boundary for the
InferenceServices, ServingRuntimes, ClusterServingRuntimes and LLMInferenceServices that ``-f`` reads:

1. ``apiVersion``/``kind`` must be served by that release's CRD, or kubectl stops with ``no matches for
   kind "InferenceService" in version "serving.kserve.io/v1alpha1"``
   (apimachinery@eed236ceee2c19c2753a3d93ac0631dc20750454:pkg/api/meta/errors.go ``NoKindMatchError``).
2. ``metadata`` must decode into ObjectMeta, and pass ObjectMeta validation: name required and a DNS-1123
   subdomain, namespace a DNS-1123 label, labels and annotation keys well formed
   (:mod:`kubectl_kserve_mn.inputs.object_meta`, which cites its sources); its unknown fields are pruned
   like the rest.
3. The CRD's structural schema (:mod:`kubectl_kserve_mn.inputs.schema`). ``status`` is ignored: these CRDs
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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.inputs import kube_wording as kw
from kubectl_kserve_mn.inputs.object_meta import metadata_violations
from kubectl_kserve_mn.inputs.problems import BadInput, describe_value
from kubectl_kserve_mn.inputs.schema import (
    MALFORMED,
    MISSING,
    NOT_CHECKED,
    REJECTED,
    UNKNOWN_FIELD,
    Schema,
    Violation,
    build_nodes,
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
    violations = metadata_violations(
        obj.get("metadata", MISSING), kind=crd.kind, version=crd.version, namespaced=crd.namespaced
    )
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


LIVE = "the API server"
"""The ``source`` of objects read from the cluster, in messages."""


def validate_live(obj: dict[str, Any], *, kserve_version: KServeVersionLike) -> dict[str, Any]:
    """The input boundary for an object read from the cluster: the API server admitted it against the
    cluster's own CRD, so only a wrong type on a field this release's CRD defines (a cluster whose CRD
    differs) is refused, as malformed input (exit 2). An API version the release's rules do not serve is
    left to the object's check, which says so."""
    checked = check_object(obj, kserve_version=kserve_version)
    malformed = [v for v in checked.malformed if v.field]
    if malformed:
        first = malformed[0]
        raise BadInput(
            f"{_describe(first.value)}: the API server would refuse it: {first.body}",
            source=LIVE,
            obj=object_label(checked),
            path=first.path,
        )
    return obj


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
    "validate_live",
    "validate_object",
]
