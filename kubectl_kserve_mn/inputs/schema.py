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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Final

from kubectl_kserve_mn.inputs import kube_wording as kw
from kubectl_kserve_mn.inputs.json_values import (
    BAD,
    FAST_KINDS,
    FLOAT,
    GO_FORMATS,
    INT,
    LIST,
    MAP,
    NULL,
    STR,
    TYPE_NAMES,
    hashable,
    is_date_time,
    is_json_integer,
    json_equal,
    json_key,
    json_value,
    type_matches,
    unsendable,
)
from kubectl_kserve_mn.inputs.problems import PathSegment
from kubectl_kserve_mn.inputs.schema_nodes import (
    NO_DEFAULT,
    Node,
    Schema,
    SchemaError,
    SchemaPool,
    build_nodes,
    compile_schema,
    go_regex,
)

__all__ = [
    "MALFORMED",
    "MISSING",
    "NOT_CHECKED",
    "REJECTED",
    "UNKNOWN_FIELD",
    "Node",
    "Schema",
    "SchemaError",
    "SchemaPool",
    "Violation",
    "build_nodes",
    "compile_schema",
    "go_regex",
    "is_date_time",
    "json_key",
    "validate",
]

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
                kind, normal = json_value(value)
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
        kind = FAST_KINDS.get(type(raw))
        if kind is None:
            kind, value = json_value(raw)
            if kind == BAD:
                self.add(path, raw, "json", unsendable(raw), field="")  # kubectl cannot even send it
                return
        else:
            value = raw
        types = node.types
        if (types and TYPE_NAMES[kind] not in types) or (not types and node.format):
            self._type(value, kind, node, path)
        if kind == NULL:
            if node.enum is not None:
                self._enum(None, node, path)
            return
        if node.checks_value:
            if node.any_of:
                self._any_of(value, node, path)
            if kind == STR and node.checks_string:
                self._string(value, node, path)
            elif kind in (INT, FLOAT) and node.checks_number:
                self._number(value, kind, node, path)
            if node.enum is not None:
                self._enum(value, node, path)
            if self.collect_cel and node.cel:
                self._cel(value, node, path)
        if kind == MAP:
            self._object(value, node, path, skip_prune, stack, present)
        elif kind == LIST:
            self._array(value, node, path, skip_prune, stack)

    # -- keywords ---------------------------------------------------------------------------------------

    def _type(self, value: Any, kind: int, node: Node, path: tuple[PathSegment, ...]) -> None:
        """kube-openapi validate/type.go ``typeValidator.Validate``."""
        types = node.types
        if kind == NULL:
            if types and "null" not in types and not node.nullable:
                detail = (
                    f"{kw.api_path(path)} in body must be of type {','.join(types)}: {kw.go_quote('null')}"
                )
                self.add(path, None, "type", kw.error_body(kw.INVALID, "null", detail))
            return
        sch_type = TYPE_NAMES[kind]
        if kind == BAD or sch_type in types:
            return  # neither the format clause nor the type check can fail when the type matches
        go_format = GO_FORMATS[kind]
        fmt = node.format
        is_float_int = kind == FLOAT and "integer" in types and is_json_integer(value)
        is_int_float = kind == INT and "number" in types
        if (
            kind not in (STR, LIST)
            and fmt
            and not (sch_type in types or go_format == fmt or is_float_int or is_int_float)
        ):
            detail = f"{kw.api_path(path)} in body must be of type {fmt}: {kw.go_quote(go_format)}"
            self.add(path, value, "type", kw.error_body(kw.INVALID, go_format, detail))
            return
        if not ("number" in types or "integer" in types) and fmt and kind in (STR, LIST):
            return
        if types and not (sch_type in types or is_float_int or is_int_float):
            detail = f"{kw.api_path(path)} in body must be of type {','.join(types)}: {kw.go_quote(sch_type)}"
            self.add(path, value, "type", kw.error_body(kw.INVALID, sch_type, detail))

    def _any_of(self, value: Any, node: Node, path: tuple[PathSegment, ...]) -> None:
        """schema_props.go: the first branch that validates wins; else the composite error (reported
        without a field: ``<nil>``) and the errors of the best branch (the first, for equal match counts)."""
        kind = json_value(value)[0]
        for branch in node.any_of:
            if branch.type_only and type_matches(kind, value, branch.types):
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
        as_int = kind == INT
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
        if value is not None and any(json_equal(value, allowed) for allowed in node.enum):
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
                    if sub.default is NO_DEFAULT:
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
            ) is NO_DEFAULT:
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
            for i in _repeats([hashable(item) for item in value]):
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
                    if default is not NO_DEFAULT:
                        key[field_name] = default  # defaulted before validation
            keys.append(key)
        hashes = [tuple((name, hashable(v)) for name, v in key.items()) for key in keys]
        for i in _repeats(hashes):
            self.add((*path, i), keys[i], "x-kubernetes-list-type=map", kw.error_body(kw.DUPLICATE, keys[i]))


def _repeats(hashes: Sequence[Any]) -> Iterator[int]:
    """Indexes of the first repetition of each repeated value (listtype ``validateListSet``)."""
    seen: dict[Any, int] = {}
    for i, item in enumerate(hashes):
        seen[item] = seen.get(item, 0) + 1
        if seen[item] == 2:
            yield i


def _fits_format(value: float, kind: int, type_name: str, fmt: str) -> bool:
    """values.go ``IsValueValidAgainstRange``: the value converts to the format's Go type without loss."""
    if type_name == "integer":
        if kind != INT:
            return False  # a fraction, or beyond int64: strconv.ParseInt fails on its text
        if fmt == "int32":
            return -(2**31) <= value < 2**31
        return True
    if type_name == "number" and fmt == "float":
        return abs(value) <= 3.4028234663852886e38
    return True


def _bound_text(bound: float) -> str:
    return str(bound) if isinstance(bound, int) else kw.go_float(bound)


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
