"""Judge an object against a CRD's structural OpenAPI v3 schema the way kube-apiserver does, in its words.

What the API server does with a custom resource on create, in order, and where this module follows it
(Kubernetes source, Apache-2.0; commits of the HEADs read for this module):

1. Decode (apiextensions-apiserver@1aa2717a552ee6ca1e2a18f1f8ffccde981db923:pkg/apiserver/customresource_handler.go
   ``unstructuredSchemaCoercer.apply``): fields the schema does not know are pruned
   (pkg/apiserver/schema/pruning/algorithm.go) — with kubectl's default ``--validate=strict`` the request
   fails with ``unknown field "spec.x"`` instead; here they are :data:`UNKNOWN_FIELD` violations so the
   caller can choose to warn — and ``null`` values of non-nullable fields without a default are dropped
   (pkg/apiserver/schema/defaulting/prunenulls.go), so ``predictor: null`` is a missing ``predictor``.
   Missing fields with a ``default`` are then defaulted, so a required field with a default never fails.
2. Schema validation (pkg/apiserver/validation/validation.go ``kubeOpenAPIResultToFieldErrors`` over
   kube-openapi@d427ff9ee9ad05f5da435abbb7c5929cb713ac56:pkg/validation/validate): per value, the type
   (type.go, including Go's quirk that a non-string value of a field with a ``format`` is reported against
   the format: ``must be of type int32: ""``), ``anyOf`` (schema_props.go), strings (``maxLength``, then
   ``minLength``, then ``pattern``: first failure only), ``format`` (only ``date-time`` is used by KServe
   CRDs), numbers (the int32/int64 range of ``format`` — kube-openapi 1d94e88, Kubernetes 1.36+ — then
   ``minimum``, ``maximum``), arrays (``items``, ``minItems``, ``maxItems``), ``enum`` and objects
   (``min/maxProperties``, ``additionalProperties``, ``properties``, ``required``).
3. ``x-kubernetes-list-type`` ``set``/``map`` uniqueness (pkg/apiserver/schema/listtype/validation.go).
4. ``x-kubernetes-validations`` (CEL) rules: **not evaluated here**. Every rule on a value present in the
   object comes back as a :data:`NOT_CHECKED` violation, so callers can say what was not checked.

Each :class:`Violation` carries the field path, the bad value and the API server's text for it. Its
``category`` says what the caller should make of it:

- :data:`MALFORMED` — wrong types, ``null`` where an object is needed, missing required fields, values
  JSON cannot carry: the object is broken input (the CLI exits 2 naming it).
- :data:`REJECTED` — a well-formed value outside the CRD's bounds (minimum/maximum, enum, pattern,
  lengths, item counts, duplicates in sets/maps, an integer beyond its int32 format): the API server would
  refuse this object, which the CLI reports as an admission finding (for example
  ``spec.parallelism.tensor in body should be greater than or equal to 1``). The int32 range check is
  Kubernetes 1.36+; older API servers pass such a value on to KServe's webhook, which cannot decode it.
- :data:`UNKNOWN_FIELD` — pruned by the server (or refused by ``kubectl --validate=strict``).
- :data:`NOT_CHECKED` — a CEL rule that applies and was not evaluated.

The order is depth-first in document order, a value's own problems before those of its fields. (The API
server walks Go maps, whose order is random, so it has no fixed order to copy.) The walk is iterative:
objects thousands of levels deep cost stack entries, not Python recursion, and values nested deeper than
the schema are never walked.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Final

from kubectl_kserve_mn.inputs import kube_wording as kw
from kubectl_kserve_mn.inputs.problems import PathSegment

MALFORMED: Final = "malformed"
REJECTED: Final = "rejected"
UNKNOWN_FIELD: Final = "unknown-field"
NOT_CHECKED: Final = "not-checked"


class _Missing:
    """The value of a field that is not there (a required field's ``Violation.value``)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@dataclass(frozen=True)
class Violation:
    """One thing the API server would say about an object."""

    path: tuple[PathSegment, ...]
    """Where: ``("spec", "predictor", "workerSpec")``; map keys are strings, list indexes ints."""
    value: Any = dataclass_field(compare=False)
    """The bad value as read (``MISSING`` for an absent required field; ``None`` for a dropped null)."""
    keyword: str
    """The schema keyword that failed (``type``, ``required``, ``minimum``, ``pattern``, ...),
    ``unknown-field``, ``json`` (a value JSON cannot carry) or ``x-kubernetes-validations``."""
    category: str
    """:data:`MALFORMED`, :data:`REJECTED`, :data:`UNKNOWN_FIELD` or :data:`NOT_CHECKED`."""
    field: str
    """The field as the API server prints it (``spec.resources.limits.nvidia.com/gpu``, or ``<nil>`` for
    the few errors kube-openapi returns without one); ``""`` when the text is no field error but stops the
    request before validation (kubectl cannot map or encode the object, or it does not decode)."""
    body: str
    """The API server's text after the field: ``Invalid value: 0: spec.parallelism.tensor in body should
    be greater than or equal to 1``, ``Required value``; for unknown fields ``unknown field "spec.x"``."""
    rule: str | None = None
    """For :data:`NOT_CHECKED`: the CEL rule."""

    @property
    def message(self) -> str:
        """The whole ``field.Error`` text, as it appears inside the API server's ``is invalid:`` message."""
        if not self.field or self.category in (UNKNOWN_FIELD, NOT_CHECKED):
            return self.body
        return kw.field_error(self.field, self.body)


_NO_DEFAULT: Final = object()


class Node:
    """One schema node, compiled for the walk (children are Nodes; shared subtrees are shared objects)."""

    __slots__ = (
        "_regex",
        "additional",
        "any_of",
        "cel",
        "checks_number",
        "checks_string",
        "checks_value",
        "default",
        "enum",
        "exclusive_maximum",
        "exclusive_minimum",
        "format",
        "items",
        "list_map_keys",
        "list_type",
        "max_items",
        "max_length",
        "max_properties",
        "maximum",
        "min_items",
        "min_length",
        "min_properties",
        "minimum",
        "nullable",
        "pattern",
        "preserve_unknown",
        "properties",
        "required",
        "string_format",
        "type_only",
        "types",
    )

    def __init__(self) -> None:
        self.types: tuple[str, ...] = ()
        self.nullable = False
        self.format = ""
        """``int32``/``int64``/``float``/``double`` on numbers (range checks) or ``date-time``."""
        self.string_format = ""
        self.properties: dict[str, Node] | None = None
        self.required: tuple[str, ...] = ()
        self.items: Node | None = None
        self.additional: Node | bool | None = None
        self.preserve_unknown = False
        self.enum: list[Any] | None = None
        self.minimum: float | None = None
        self.maximum: float | None = None
        self.exclusive_minimum = False
        self.exclusive_maximum = False
        self.min_length: int | None = None
        self.max_length: int | None = None
        self.pattern: str | None = None
        self.min_items: int | None = None
        self.max_items: int | None = None
        self.min_properties: int | None = None
        self.max_properties: int | None = None
        self.list_type: str | None = None
        self.list_map_keys: tuple[str, ...] = ()
        self.any_of: tuple[Node, ...] = ()
        self.cel: tuple[Mapping[str, Any], ...] = ()
        self.default: Any = _NO_DEFAULT
        self.checks_string = False
        self.checks_number = False
        self.type_only = False
        self.checks_value = False
        """Any of anyOf, string or number checks, enum or CEL rules: the per-value checks beyond the type."""
        """Only ``type`` is set: a non-null value passes exactly when its type matches."""
        self._regex: re.Pattern[str] | None = None

    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            assert self.pattern is not None
            self._regex = go_regex(self.pattern)
        return self._regex

    def default_of(self, key: str) -> Any:
        """The schema default of property ``key`` (``_NO_DEFAULT`` when there is none)."""
        child = self.properties.get(key) if self.properties else None
        return child.default if child is not None else _NO_DEFAULT


@dataclass(frozen=True)
class Schema:
    """A compiled structural schema: the root node of one CRD version's ``openAPIV3Schema``."""

    root: Node


# ----------------------------------------------------------------------------------------------------------
# Compiling: a CRD's openAPIV3Schema (plain data) -> a deduplicated pool of compact nodes -> Nodes


class SchemaError(ValueError):
    """A schema uses something this validator does not implement (so a new CRD cannot pass unnoticed)."""


_STRIPPED = frozenset({"description", "title", "example", "externalDocs", "x-kubernetes-map-type"})
"""Keywords that do not affect validation (``x-kubernetes-map-type`` only affects server-side apply)."""
_SCALAR_KEYWORDS = (
    "nullable",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "required",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "default",
)
_IMPLEMENTED_STRING_FORMATS = frozenset({"datetime"})
# apiextensions-apiserver validation/formats.go: formats the API server checks on strings (normalized
# without dashes); any other string format is dropped there, as it is here.
_SERVER_STRING_FORMATS = frozenset(
    [
        "bsonobjectid",
        "uri",
        "email",
        "hostname",
        "ipv4",
        "ipv6",
        "cidr",
        "mac",
        "uuid",
        "uuid3",
        "uuid4",
        "uuid5",
        "isbn",
        "isbn10",
        "isbn13",
        "creditcard",
        "ssn",
        "hexcolor",
        "rgbcolor",
        "byte",
        "password",
        "date",
        "duration",
        "datetime",
        "k8s-short-name",
        "k8s-long-name",
    ]
)


class SchemaPool:
    """Compact schema nodes, each distinct subtree stored once (a CRD inlines PodSpec dozens of times)."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self._index: dict[str, int] = {}

    def add(self, schema: Mapping[str, Any]) -> int:
        """Add an ``openAPIV3Schema`` (or any schema node) and return its node id."""
        return self._add(schema, ())

    def _add(self, schema: Mapping[str, Any], where: tuple[str, ...]) -> int:
        # Schemas are as deep as the CRD (tens of levels): plain recursion is fine here.
        if not isinstance(schema, Mapping):
            raise SchemaError(f"{'.'.join(where) or '<root>'}: a schema must be a mapping")
        node = self._compact(schema, where)
        key = repr(node)  # equal exactly for equal JSON values in the same key order; cheaper than json.dumps
        found = self._index.get(key)
        if found is not None:
            return found
        self._index[key] = len(self.nodes)
        self.nodes.append(node)
        return len(self.nodes) - 1

    def _compact(self, schema: Mapping[str, Any], where: tuple[str, ...]) -> dict[str, Any]:
        node: dict[str, Any] = {}
        here = ".".join(where) or "<root>"
        types: list[str] = []
        if "type" in schema:
            types = [schema["type"]]
        if schema.get("x-kubernetes-int-or-string"):
            types = ["integer", "string"]
        if types:
            node["type"] = types
        fmt = schema.get("format")
        if fmt:
            kept = _supported_format(str(fmt), types)
            if kept:
                node["format"] = kept
        for key, value in schema.items():
            if key in _STRIPPED or key in ("type", "format", "x-kubernetes-int-or-string"):
                continue
            if key == "properties":
                node["properties"] = {
                    name: self._add(sub, (*where, name)) for name, sub in sorted(value.items())
                }
            elif key == "items":
                if not isinstance(value, Mapping):
                    raise SchemaError(f"{here}: items must be one schema (tuple items are not structural)")
                node["items"] = self._add(value, (*where, "[]"))
            elif key == "additionalProperties":
                node["additionalProperties"] = (
                    value if isinstance(value, bool) else self._add(value, (*where, "{}"))
                )
            elif key == "anyOf":
                node["anyOf"] = [self._add(sub, (*where, f"anyOf[{i}]")) for i, sub in enumerate(value)]
            elif key == "x-kubernetes-validations":
                node["x-kubernetes-validations"] = [
                    {
                        k: rule[k]
                        for k in ("rule", "message", "messageExpression", "fieldPath", "optionalOldSelf")
                        if k in rule
                    }
                    for rule in value
                ]
            elif key in _SCALAR_KEYWORDS:
                node[key] = value
            else:
                raise SchemaError(f"{here}: schema keyword {key!r} is not implemented by this validator")
        return node


def _supported_format(fmt: str, types: Sequence[str]) -> str:
    """The format the API server keeps (validation/formats.go ``StripUnsupportedFormatsPostProcessor``)."""
    single = types[0] if len(types) == 1 else ""
    if single in ("", "string"):
        normalized = fmt.replace("-", "")
        if normalized not in _SERVER_STRING_FORMATS:
            return ""
        if normalized not in _IMPLEMENTED_STRING_FORMATS:
            raise SchemaError(f"string format {fmt!r} is checked by the API server but not implemented here")
        return fmt
    if single == "integer":
        return fmt if fmt in ("int32", "int64") else ""
    if single == "number":
        return fmt if fmt in ("float", "double") else ""
    return ""


def build_nodes(compact: Sequence[Mapping[str, Any]]) -> list[Node]:
    """Nodes from a pool's compact form (children refer to earlier ids: the pool is built bottom-up)."""
    nodes: list[Node] = []
    for data in compact:
        node = Node()
        node.types = tuple(data.get("type", ()))
        node.nullable = bool(data.get("nullable", False))
        fmt = data.get("format", "")
        node.format = fmt
        node.string_format = (
            fmt.replace("-", "") if fmt.replace("-", "") in _IMPLEMENTED_STRING_FORMATS else ""
        )
        props = data.get("properties")
        if props is not None:
            node.properties = {name: nodes[i] for name, i in props.items()}
        node.required = tuple(data.get("required", ()))
        if "items" in data:
            node.items = nodes[data["items"]]
        additional = data.get("additionalProperties")
        if isinstance(additional, bool):
            node.additional = additional
        elif additional is not None:
            node.additional = nodes[additional]
        node.preserve_unknown = bool(data.get("x-kubernetes-preserve-unknown-fields", False))
        node.enum = data.get("enum")
        node.minimum = data.get("minimum")
        node.maximum = data.get("maximum")
        node.exclusive_minimum = bool(data.get("exclusiveMinimum", False))
        node.exclusive_maximum = bool(data.get("exclusiveMaximum", False))
        node.min_length = data.get("minLength")
        node.max_length = data.get("maxLength")
        node.pattern = data.get("pattern")
        node.min_items = data.get("minItems")
        node.max_items = data.get("maxItems")
        node.min_properties = data.get("minProperties")
        node.max_properties = data.get("maxProperties")
        node.list_type = data.get("x-kubernetes-list-type")
        node.list_map_keys = tuple(data.get("x-kubernetes-list-map-keys", ()))
        node.any_of = tuple(nodes[i] for i in data.get("anyOf", ()))
        node.cel = tuple(data.get("x-kubernetes-validations", ()))
        node.default = data.get("default", _NO_DEFAULT)
        node.checks_string = bool(
            node.max_length is not None or node.min_length is not None or node.pattern or node.string_format
        )
        number_format = node.format in ("int32", "int64", "float") and len(node.types) == 1
        node.checks_number = number_format or node.minimum is not None or node.maximum is not None
        node.type_only = bool(node.types) and set(data) == {"type"}
        node.checks_value = bool(
            node.any_of or node.checks_string or node.checks_number or node.enum is not None or node.cel
        )
        nodes.append(node)
    return nodes


def compile_schema(schema: Mapping[str, Any]) -> Schema:
    """Compile one ``openAPIV3Schema`` (as written in a CRD) for :func:`validate`."""
    pool = SchemaPool()
    root = pool.add(schema)
    return Schema(build_nodes(pool.nodes)[root])


def go_regex(pattern: str) -> re.Pattern[str]:
    """A Go (RE2) ``regexp`` as a Python pattern with the same matches for the syntax CRDs use.

    Differences handled: Go's ``$`` (without ``(?m)``) matches only at the end of the text, Python's also
    before a final newline, so an unescaped ``$`` outside a character class becomes ``\\Z``; ``\\d``,
    ``\\w``, ``\\s`` are ASCII in Go (``re.ASCII``). Go's ``MatchString`` finds a match anywhere
    (``re.search``).
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            # a ']' right after '[' or '[^' is a literal
            if i < len(pattern) and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < len(pattern) and pattern[i] == "]":
                out.append("]")
                i += 1
            continue
        elif ch == "$":
            out.append(r"\Z")
            i += 1
            continue
        out.append(ch)
        i += 1
    return re.compile("".join(out), re.ASCII)


# ----------------------------------------------------------------------------------------------------------
# Values as the API server sees them

# The JSON type of a decoded value (kube-openapi type.go schemaInfoForType), plus the Go format it reports.
_NULL, _BOOL, _INT, _FLOAT, _STR, _MAP, _LIST, _BAD = range(8)
_TYPE_NAMES = ("null", "boolean", "integer", "number", "string", "object", "array", "")
_GO_FORMATS = ("", "", "int64", "float64", "", "", "", "")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_JSON_INT_LIMIT = float(2**53)  # swag.IsFloat64AJSONInteger


_FAST_KINDS: dict[type, int] = {str: _STR, dict: _MAP, list: _LIST, bool: _BOOL}


def _json_value(value: Any) -> tuple[int, Any]:
    """The value the API server decodes from what kubectl sends, and its JSON type.

    kubectl turns YAML into JSON with Go's encoder, and the server decodes JSON numbers as int64 when they
    fit, else float64: a YAML ``4.0`` arrives as the integer 4, an integer beyond int64 as a float.
    Dates and binary (base64) scalars from YAML arrive as strings. NaN and infinities cannot be sent.
    """
    fast = _FAST_KINDS.get(type(value))
    if fast is not None:
        return fast, value
    if value is None:
        return _NULL, None
    if isinstance(value, bool):
        return _BOOL, value
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return _INT, value
        try:
            return _FLOAT, float(value)
        except OverflowError:
            return _BAD, value
    if isinstance(value, float):
        if not math.isfinite(value):
            return _BAD, value
        if value.is_integer() and _INT64_MIN <= value < 2**63:
            return _INT, int(value)
        return _FLOAT, value
    if isinstance(value, str):
        return _STR, value
    if isinstance(value, Mapping):
        return _MAP, value
    if isinstance(value, (list, tuple)):
        return _LIST, value
    if isinstance(value, (datetime.date, datetime.datetime)):
        return _STR, value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return _STR, base64.b64encode(value).decode("ascii")  # Go marshals []byte as base64
    return _BAD, value


def json_key(key: Any) -> str:
    """A YAML mapping key as it reaches the API server (kubectl stringifies them: ``1``, ``true``)."""
    if isinstance(key, str):
        return key
    kind, value = _json_value(key)
    return kw.go_json(value) if kind in (_BOOL, _INT, _FLOAT) else str(key)


def _unsendable(value: Any) -> str:
    if isinstance(value, float):
        return f"json: unsupported value: {kw.go_float(value)}"
    if isinstance(value, int):
        return f"a {len(str(abs(value)))}-digit number does not fit a 64-bit float"
    return f"json: unsupported type: {type(value).__name__}"


def _type_matches(kind: int, value: Any, types: tuple[str, ...]) -> bool:
    """Whether type.go accepts a non-null value for ``types`` (a branch that sets only ``type``)."""
    return (
        _TYPE_NAMES[kind] in types
        or (kind == _FLOAT and "integer" in types and _is_json_integer(value))
        or (kind == _INT and "number" in types)
    )


def _is_json_integer(value: float) -> bool:
    return -_JSON_INT_LIMIT <= value <= _JSON_INT_LIMIT and value.is_integer()


# ----------------------------------------------------------------------------------------------------------
# The walk

_META_FIELDS = frozenset({"apiVersion", "kind", "metadata"})
_MALFORMED_KEYWORDS = frozenset({"type", "required", "json", "x-kubernetes-list-type"})


class _Walk:
    """One validation run: a stack of (value, node, path, skip_prune) and the violations found."""

    def __init__(self, *, track_unknown: bool, collect_cel: bool) -> None:
        self.out: list[Violation] = []
        self.track_unknown = track_unknown
        self.collect_cel = collect_cel

    # -- recording --------------------------------------------------------------------------------------

    def add(
        self,
        path: tuple[PathSegment, ...],
        value: Any,
        keyword: str,
        body: str,
        *,
        field: str | None = None,
        category: str | None = None,
    ) -> None:
        if category is None:
            category = MALFORMED if keyword in _MALFORMED_KEYWORDS else REJECTED
        self.out.append(
            Violation(path, value, keyword, category, kw.api_path(path) if field is None else field, body)
        )

    def unknown(self, path: tuple[PathSegment, ...], value: Any) -> None:
        if self.track_unknown:
            name = kw.api_path(path)
            self.out.append(
                Violation(
                    path, value, "unknown-field", UNKNOWN_FIELD, name, f"unknown field {kw.go_quote(name)}"
                )
            )

    # -- the loop ---------------------------------------------------------------------------------------

    def run(self, value: Any, node: Node | None, path: tuple[PathSegment, ...], resource_root: bool) -> None:
        stack: list[tuple[Any, Node | None, tuple[PathSegment, ...], bool]] = []
        if resource_root and node is not None and isinstance(value, Mapping):
            self._root(value, node, stack)
        else:
            stack.append((value, node, path, False))
        while stack:
            item, item_node, item_path, skip_prune = stack.pop()
            if item_node is None:
                self._prune_only(item, item_path, stack)
            else:
                self._visit(item, item_node, item_path, skip_prune, stack)

    def _root(self, obj: Mapping[str, Any], node: Node, stack: list[Any]) -> None:
        """The resource root: apiVersion, kind and metadata are type-checked but never pruned
        (pruning/algorithm.go treats the root as an embedded resource); the rest as usual."""
        meta = {k: v for k, v in obj.items() if k in _META_FIELDS}
        rest = {k: v for k, v in obj.items() if k not in _META_FIELDS}
        for key, value in meta.items():
            sub = node.properties.get(key) if node.properties else None
            if sub is not None and sub.types:
                kind, normal = _json_value(value)
                self._type(normal, kind, sub, (key,))
        # required/properties of the root (spec, ...) without re-checking the meta fields
        pending: list[Any] = []
        self._visit(rest, node, (), False, pending, present=obj.keys())
        stack.extend(pending)

    def _prune_only(self, value: Any, path: tuple[PathSegment, ...], stack: list[Any]) -> None:
        """Below a value the schema has no node for: every map key is pruned, lists are walked."""
        if isinstance(value, Mapping):
            for key, sub in value.items():
                self.unknown((*path, str(key)), sub)
        elif isinstance(value, (list, tuple)):
            for i in range(len(value) - 1, -1, -1):
                stack.append((value[i], None, (*path, i), False))

    def _visit(
        self,
        raw: Any,
        node: Node,
        path: tuple[PathSegment, ...],
        skip_prune: bool,
        stack: list[Any],
        present: Any = None,
    ) -> None:
        kind = _FAST_KINDS.get(type(raw))
        if kind is None:
            kind, value = _json_value(raw)
            if kind == _BAD:
                self.add(path, raw, "json", _unsendable(raw), field="")  # kubectl cannot even send it
                return
        else:
            value = raw
        types = node.types
        if (types and _TYPE_NAMES[kind] not in types) or (not types and node.format):
            self._type(value, kind, node, path)
        if kind == _NULL:
            if node.enum is not None:
                self._enum(None, node, path)
            return
        if node.checks_value:
            if node.any_of:
                self._any_of(value, node, path)
            if kind == _STR and node.checks_string:
                self._string(value, node, path)
            elif kind in (_INT, _FLOAT) and node.checks_number:
                self._number(value, kind, node, path)
            if node.enum is not None:
                self._enum(value, node, path)
            if self.collect_cel and node.cel:
                self._cel(value, node, path)
        if kind == _MAP:
            self._object(value, node, path, skip_prune, stack, present)
        elif kind == _LIST:
            self._array(value, node, path, skip_prune, stack)

    # -- keywords ---------------------------------------------------------------------------------------

    def _type(self, value: Any, kind: int, node: Node, path: tuple[PathSegment, ...]) -> None:
        """kube-openapi validate/type.go ``typeValidator.Validate``."""
        types = node.types
        if kind == _NULL:
            if types and "null" not in types and not node.nullable:
                detail = (
                    f"{kw.api_path(path)} in body must be of type {','.join(types)}: {kw.go_quote('null')}"
                )
                self.add(path, None, "type", kw.error_body(kw.INVALID, "null", detail))
            return
        sch_type = _TYPE_NAMES[kind]
        if kind == _BAD or sch_type in types:
            return  # neither the format clause nor the type check can fail when the type matches
        go_format = _GO_FORMATS[kind]
        fmt = node.format
        is_float_int = kind == _FLOAT and "integer" in types and _is_json_integer(value)
        is_int_float = kind == _INT and "number" in types
        if (
            kind not in (_STR, _LIST)
            and fmt
            and not (sch_type in types or go_format == fmt or is_float_int or is_int_float)
        ):
            detail = f"{kw.api_path(path)} in body must be of type {fmt}: {kw.go_quote(go_format)}"
            self.add(path, value, "type", kw.error_body(kw.INVALID, go_format, detail))
            return
        if not ("number" in types or "integer" in types) and fmt and kind in (_STR, _LIST):
            return
        if types and not (sch_type in types or is_float_int or is_int_float):
            detail = f"{kw.api_path(path)} in body must be of type {','.join(types)}: {kw.go_quote(sch_type)}"
            self.add(path, value, "type", kw.error_body(kw.INVALID, sch_type, detail))

    def _any_of(self, value: Any, node: Node, path: tuple[PathSegment, ...]) -> None:
        """schema_props.go: the first branch that validates wins; else the composite error (reported
        without a field: ``<nil>``) and the errors of the best branch (the first, for equal match counts)."""
        kind = _json_value(value)[0]
        for branch in node.any_of:
            if branch.type_only and _type_matches(kind, value, branch.types):
                return
        best: list[Violation] | None = None
        for branch in node.any_of:
            sub = _Walk(track_unknown=False, collect_cel=False)
            sub.run(value, branch, path, resource_root=False)
            if not sub.out:
                return
            if best is None:
                best = sub.out
        assert best is not None
        detail = f"{kw.go_quote(kw.api_path(path))} must validate at least one schema (anyOf)"
        self.add(
            path,
            value,
            "anyOf",
            kw.error_body(kw.INVALID, "", detail),
            field=kw.NIL_FIELD,
            category=best[0].category,
        )
        self.out.extend(best)

    def _string(self, value: str, node: Node, path: tuple[PathSegment, ...]) -> None:
        """validator.go ``stringValidator``: maxLength, minLength, pattern — the first failure only."""
        if node.max_length is not None and len(value) > node.max_length:
            unit = "byte" if node.max_length == 1 else "bytes"
            self.add(
                path,
                value,
                "maxLength",
                kw.error_body(
                    kw.TOO_LONG, detail=f"may not be more than {node.max_length} {unit}", show_value=False
                ),
            )
        elif node.min_length is not None and len(value) < node.min_length:
            detail = f"{kw.api_path(path)} in body should be at least {node.min_length} chars long"
            self.add(path, value, "minLength", kw.error_body(kw.INVALID, value, detail))
        elif node.pattern and node.regex().search(value) is None:
            detail = f"{kw.api_path(path)} in body should match '{node.pattern}'"
            self.add(path, value, "pattern", kw.error_body(kw.INVALID, value, detail))
        if node.string_format == "datetime" and not is_date_time(value):
            detail = f"{kw.api_path(path)} in body must be of type {node.format}: {kw.go_quote(value)}"
            self.add(path, value, "format", kw.error_body(kw.INVALID, value, detail), category=REJECTED)

    def _number(self, value: float, kind: int, node: Node, path: tuple[PathSegment, ...]) -> None:
        """validator.go ``numberValidator``: the format's range (Kubernetes 1.36+), minimum, maximum."""
        if len(node.types) == 1 and node.format and not _fits_format(value, kind, node.types[0], node.format):
            detail = f"Checked value must be of type {node.types[0]} with format {node.format} in {kw.api_path(path)}"
            self.add(path, value, "format", kw.error_body(kw.INVALID, "", detail), field=kw.NIL_FIELD)
        as_int = kind == _INT
        if node.minimum is not None:
            bound = int(node.minimum) if as_int else node.minimum
            if value < bound or (node.exclusive_minimum and value == bound):
                relation = "greater than" if node.exclusive_minimum else "greater than or equal to"
                detail = f"{kw.api_path(path)} in body should be {relation} {_bound_text(bound)}"
                self.add(path, value, "minimum", kw.error_body(kw.INVALID, value, detail))
        if node.maximum is not None:
            bound = int(node.maximum) if as_int else node.maximum
            if value > bound or (node.exclusive_maximum and value == bound):
                relation = "less than" if node.exclusive_maximum else "less than or equal to"
                detail = f"{kw.api_path(path)} in body should be {relation} {_bound_text(bound)}"
                self.add(path, value, "maximum", kw.error_body(kw.INVALID, value, detail))

    def _enum(self, value: Any, node: Node, path: tuple[PathSegment, ...]) -> None:
        """validator.go ``basicCommonValidator``; reported as ``field.NotSupported``."""
        assert node.enum is not None
        if value is not None and any(_json_equal(value, allowed) for allowed in node.enum):
            return
        supported = ", ".join(
            kw.go_quote(allowed if isinstance(allowed, str) else kw.go_json(allowed)) for allowed in node.enum
        )
        body = kw.error_body(kw.UNSUPPORTED, value, f"supported values: {supported}" if node.enum else "")
        self.add(path, value, "enum", body)

    def _cel(self, value: Any, node: Node, path: tuple[PathSegment, ...]) -> None:
        name = kw.api_path(path)
        for rule in node.cel:
            text = str(rule.get("rule", ""))
            if "oldSelf" in text and not rule.get("optionalOldSelf"):
                continue  # transition rules are not evaluated on create
            message = str(rule.get("message") or "").strip() or f"failed rule: {text.strip()}"
            self.out.append(
                Violation(
                    path,
                    value,
                    "x-kubernetes-validations",
                    NOT_CHECKED,
                    name,
                    f"{name or '<root>'}: CEL rule not checked: {text} (refused with: {message})",
                    rule=text,
                )
            )

    def _object(
        self,
        value: Mapping[str, Any],
        node: Node,
        path: tuple[PathSegment, ...],
        skip_prune: bool,
        stack: list[Any],
        present: Any,
    ) -> None:
        props = node.properties
        additional = node.additional
        keep_unknown = skip_prune or node.preserve_unknown
        children: list[tuple[Any, Node | None, tuple[PathSegment, ...], bool]] = []
        dropped_nulls: set[str] = set()
        unknown: list[tuple[tuple[PathSegment, ...], Any]] = []
        kept = 0
        for raw_key, child in value.items():
            key = raw_key if isinstance(raw_key, str) else json_key(raw_key)
            sub = props.get(key) if props else None
            if sub is None and isinstance(additional, Node):
                sub = additional
            if sub is not None:
                if child is None and not sub.nullable:
                    if sub.default is _NO_DEFAULT:
                        dropped_nulls.add(key)  # prunenulls.go: removed before validation
                    else:
                        kept += 1  # defaulted: schema defaults are valid by construction
                    continue
                kept += 1
                children.append((child, sub, (*path, key), False))
            elif additional is True:
                kept += 1
                children.append((child, None, (*path, key), False))
            elif additional is False:
                kept += 1
                detail = f"{kw.api_path(path)}.{key} in body is a forbidden property"
                self.add(path, key, "additionalProperties", kw.error_body(kw.INVALID, key, detail))
            elif keep_unknown:
                kept += 1
            else:
                unknown.append(((*path, key), child))
        if node.min_properties is not None and kept < node.min_properties:
            detail = f"{kw.api_path(path)} in body should have at least {node.min_properties} properties"
            self.add(path, value, "minProperties", kw.error_body(kw.INVALID, kept, detail))
        if node.max_properties is not None and kept > node.max_properties:
            detail = f"must have at most {node.max_properties} item{'' if node.max_properties == 1 else 's'}"
            self.add(path, value, "maxProperties", kw.error_body(kw.TOO_MANY, kept, detail))
        names = value if present is None else present
        for required in node.required:
            if (required not in names or required in dropped_nulls) and node.default_of(
                required
            ) is _NO_DEFAULT:
                missing = None if required in dropped_nulls else MISSING
                self.add((*path, required), missing, "required", kw.REQUIRED)
        for where, child in unknown:
            self.unknown(where, child)
        stack.extend(reversed(children))

    def _array(
        self,
        value: Sequence[Any],
        node: Node,
        path: tuple[PathSegment, ...],
        skip_prune: bool,
        stack: list[Any],
    ) -> None:
        size = len(value)
        if node.min_items is not None and size < node.min_items:
            detail = f"{kw.api_path(path)} in body should have at least {node.min_items} items"
            self.add(path, value, "minItems", kw.error_body(kw.INVALID, size, detail))
        if node.max_items is not None and size > node.max_items:
            detail = f"must have at most {node.max_items} item{'' if node.max_items == 1 else 's'}"
            self.add(path, value, "maxItems", kw.error_body(kw.TOO_MANY, size, detail))
        if node.list_type == "map" or (node.list_type == "set" and size > 1):
            self._list_type(value, node, path)
        items = node.items
        inherit = skip_prune or node.preserve_unknown
        if items is None:
            if not inherit:
                for i in range(size - 1, -1, -1):
                    stack.append((value[i], None, (*path, i), False))
            return
        for i in range(size - 1, -1, -1):
            stack.append((value[i], items, (*path, i), inherit))

    def _list_type(self, value: Sequence[Any], node: Node, path: tuple[PathSegment, ...]) -> None:
        """listtype/validation.go: no duplicate items in a ``set``, no duplicate keys in a ``map``."""
        if node.list_type == "set":
            for i in _repeats([_hashable(item) for item in value]):
                self.add(
                    (*path, i), value[i], "x-kubernetes-list-type=set", kw.error_body(kw.DUPLICATE, value[i])
                )
            return
        for i, item in enumerate(value):
            if item is not None and type(item) is not dict and not isinstance(item, Mapping):
                detail = "must be an object for an array of list-type map"
                self.add((*path, i), item, "x-kubernetes-list-type", kw.error_body(kw.INVALID, item, detail))
                return
        if len(value) <= 1:
            return
        items = node.items
        keys: list[dict[str, Any]] = []
        for item in value:
            key: dict[str, Any] = {}
            for field_name in node.list_map_keys:
                if item is not None and field_name in item:
                    key[field_name] = item[field_name]
                elif item is not None and items is not None:
                    default = items.default_of(field_name)
                    if default is not _NO_DEFAULT:
                        key[field_name] = default  # defaulted before validation
            keys.append(key)
        hashes = [tuple((name, _hashable(v)) for name, v in key.items()) for key in keys]
        for i in _repeats(hashes):
            self.add((*path, i), keys[i], "x-kubernetes-list-type=map", kw.error_body(kw.DUPLICATE, keys[i]))


def _repeats(hashes: Sequence[Any]) -> Iterator[int]:
    """Indexes of the first repetition of each repeated value (listtype ``validateListSet``)."""
    seen: dict[Any, int] = {}
    for i, item in enumerate(hashes):
        seen[item] = seen.get(item, 0) + 1
        if seen[item] == 2:
            yield i


def _hashable(value: Any) -> Any:
    if type(value) is str:
        return (_STR, value)
    if isinstance(value, (Mapping, list, tuple)):
        try:
            return ("json", json.dumps(value, sort_keys=True, default=str))
        except (RecursionError, TypeError, ValueError):
            return ("unique", id(value))  # too deep (or unsortable) to compare: never a duplicate
    return _json_value(value)


def _json_equal(left: Any, right: Any) -> bool:
    lk, lv = _json_value(left)
    rk, rv = _json_value(right)
    if lk in (_INT, _FLOAT) and rk in (_INT, _FLOAT):
        return bool(lv == rv)
    if lk != rk:
        return False
    if lk in (_MAP, _LIST):
        return kw.go_json(lv) == kw.go_json(rv)
    return bool(lv == rv)


def _fits_format(value: float, kind: int, type_name: str, fmt: str) -> bool:
    """values.go ``IsValueValidAgainstRange``: the value converts to the format's Go type without loss."""
    if type_name == "integer":
        if kind != _INT:
            return False  # a fraction, or beyond int64: strconv.ParseInt fails on its text
        if fmt == "int32":
            return -(2**31) <= value < 2**31
        return True
    if type_name == "number" and fmt == "float":
        return abs(value) <= 3.4028234663852886e38
    return True


def _bound_text(bound: float) -> str:
    return str(bound) if isinstance(bound, int) else kw.go_float(bound)


_DATE_TIME_RE = re.compile(
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))\Z", re.ASCII
)
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z", re.ASCII)


def is_date_time(text: str) -> bool:
    """kube-openapi strfmt/time.go ``IsDateTime`` (format ``date-time``)."""
    if len(text) < 4:
        return False
    parts = text.lower().split("t")
    if len(parts) < 2:
        return False
    date = _DATE_RE.match(parts[0])
    if date is None:
        return False
    try:
        datetime.date(int(date[1]), int(date[2]), int(date[3]))
    except ValueError:
        return False
    match = _DATE_TIME_RE.match(parts[1])
    return match is not None and match[1] <= "23" and match[2] <= "59" and match[3] <= "59"


def validate(
    obj: Any, schema: Schema, *, resource_root: bool = True, unknown_fields: bool = True, cel: bool = True
) -> list[Violation]:
    """Every violation of ``obj`` against ``schema``, as the API server would find them on create.

    ``resource_root``: ``obj`` is a whole object (``apiVersion``, ``kind`` and ``metadata`` are not
    pruned; ObjectMeta itself is checked by :mod:`kubectl_kserve_mn.inputs.kserve_objects`).
    ``unknown_fields`` / ``cel``: also report :data:`UNKNOWN_FIELD` and :data:`NOT_CHECKED` violations.
    """
    walk = _Walk(track_unknown=unknown_fields, collect_cel=cel)
    walk.run(obj, schema.root, (), resource_root)
    return walk.out
