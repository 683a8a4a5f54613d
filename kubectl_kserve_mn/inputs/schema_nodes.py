"""Compiled structural schemas: a CRD's ``openAPIV3Schema`` as a pool of deduplicated nodes.

:class:`SchemaPool` turns schemas (plain data, as in a CRD) into compact JSON-able nodes, each distinct
subtree stored once — the form scripts/gen_crd_schemas.py writes as package data — and
:func:`build_nodes` turns those into :class:`Node` objects for :func:`kubectl_kserve_mn.inputs.schema.validate`.
Keywords this validator does not implement raise :class:`SchemaError`, so a new CRD cannot use one
unnoticed. Formats follow apiextensions-apiserver@1aa2717a552ee6ca1e2a18f1f8ffccde981db923:
pkg/apiserver/validation/formats.go (formats the API server ignores are dropped).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

NO_DEFAULT: Final = object()
"""A node's ``default`` when the schema gives none."""


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
        self.default: Any = NO_DEFAULT
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
        """The schema default of property ``key`` (``NO_DEFAULT`` when there is none)."""
        child = self.properties.get(key) if self.properties else None
        return child.default if child is not None else NO_DEFAULT


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
IMPLEMENTED_STRING_FORMATS = frozenset({"datetime"})
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
        if normalized not in IMPLEMENTED_STRING_FORMATS:
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
            fmt.replace("-", "") if fmt.replace("-", "") in IMPLEMENTED_STRING_FORMATS else ""
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
        node.default = data.get("default", NO_DEFAULT)
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
