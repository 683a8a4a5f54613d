"""The structural-schema validator, keyword by keyword, against hand-written schemas.

Expected texts are the API server's, read from the Kubernetes source (see the module docstrings of
kubectl_kserve_mn/inputs/schema.py and kube_wording.py for the files and commits):
kube-openapi pkg/validation/errors/schema.go (the ``in body`` messages), apiextensions-apiserver
pkg/apiserver/validation/validation.go (which field.Error type each becomes), apimachinery
pkg/util/validation/field/errors.go (how a field.Error prints).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from kubectl_kserve_mn.inputs import kube_wording as kw
from kubectl_kserve_mn.inputs.schema import (
    MALFORMED,
    MISSING,
    NOT_CHECKED,
    REJECTED,
    UNKNOWN_FIELD,
    SchemaError,
    SchemaPool,
    Violation,
    compile_schema,
    go_regex,
    is_date_time,
    validate,
)


def obj_schema(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


def check(schema: dict[str, Any], spec: Any, **kwargs: Any) -> list[Violation]:
    """Violations of ``{"spec": spec}`` against a root whose ``spec`` is ``schema``."""
    root = obj_schema({"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "spec": schema})
    return validate({"spec": spec}, compile_schema(root), **kwargs)


def messages(violations: list[Violation], *categories: str) -> list[str]:
    return [v.message for v in violations if not categories or v.category in categories]


INT_OR_STRING = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}


# -- types ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seen"),
    [([1], "array"), ("x", "string"), (3, "integer"), (2.5, "number"), (True, "boolean")],
)
def test_a_value_of_the_wrong_type_is_reported_with_the_json_type_it_has(value: Any, seen: str) -> None:
    (violation,) = check(obj_schema({"a": {"type": "string"}}), value, unknown_fields=False)
    assert violation.message == (
        f'spec: Invalid value: "{seen}": spec in body must be of type object: "{seen}"'
    )
    assert violation.category == MALFORMED
    assert violation.keyword == "type"
    assert violation.path == ("spec",)
    assert violation.value == value


def test_a_list_where_an_object_belongs_is_malformed_and_its_fields_are_pruned_as_unknown() -> None:
    schema = obj_schema({"workerSpec": obj_schema({"size": {"type": "integer"}})})
    found = check(schema, {"workerSpec": [{"size": 1}]})
    assert messages(found) == [
        'spec.workerSpec: Invalid value: "array": spec.workerSpec in body must be of type object: "array"',
        'unknown field "spec.workerSpec[0].size"',
    ]
    assert [v.category for v in found] == [MALFORMED, UNKNOWN_FIELD]


def test_null_in_a_list_is_a_type_error_but_null_in_a_map_is_dropped_first() -> None:
    schema = obj_schema({"items": {"type": "array", "items": {"type": "string"}}, "name": {"type": "string"}})
    found = check(schema, {"items": ["a", None], "name": None})
    assert messages(found) == [
        'spec.items[1]: Invalid value: "null": spec.items[1] in body must be of type string: "null"'
    ]


def test_a_nullable_field_accepts_null() -> None:
    assert check(obj_schema({"a": {"type": "object", "nullable": True}}), {"a": None}) == []
    assert check({"type": "array", "items": {"type": "string", "nullable": True}}, [None]) == []


def test_a_value_with_a_format_reports_a_foreign_type_against_the_format_as_go_does() -> None:
    schema = obj_schema({"n": {"type": "integer", "format": "int32"}})
    assert messages(check(schema, {"n": {"x": 1}}), MALFORMED) == [
        'spec.n: Invalid value: "": spec.n in body must be of type int32: ""'
    ]
    assert messages(check(schema, {"n": True})) == [
        'spec.n: Invalid value: "": spec.n in body must be of type int32: ""'
    ]
    # strings and lists skip that clause and meet the plain type check
    assert messages(check(schema, {"n": "4"})) == [
        'spec.n: Invalid value: "string": spec.n in body must be of type integer: "string"'
    ]
    assert messages(check(schema, {"n": [4]})) == [
        'spec.n: Invalid value: "array": spec.n in body must be of type integer: "array"'
    ]


def test_a_fraction_in_an_int32_field_fails_the_type_and_the_range_check() -> None:
    schema = obj_schema({"n": {"type": "integer", "format": "int32", "minimum": 1}})
    assert messages(check(schema, {"n": 0.5})) == [
        'spec.n: Invalid value: "float64": spec.n in body must be of type int32: "float64"',
        '<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.n',
        "spec.n: Invalid value: 0.5: spec.n in body should be greater than or equal to 1",
    ]


def test_whole_floats_arrive_as_integers_as_kubectl_sends_them() -> None:
    schema = obj_schema({"n": {"type": "integer", "format": "int32", "minimum": 1}})
    assert check(schema, {"n": 4.0}) == []
    found = check(schema, {"n": 0.0})
    assert messages(found) == [
        "spec.n: Invalid value: 0: spec.n in body should be greater than or equal to 1"
    ]


def test_integers_beyond_int64_arrive_as_floats_and_are_no_json_integers() -> None:
    schema = obj_schema({"n": {"type": "integer"}})
    assert messages(check(schema, {"n": 10**20})) == [
        'spec.n: Invalid value: "number": spec.n in body must be of type integer: "number"'
    ]
    assert check(schema, {"n": 2**63 - 1}) == []


def test_values_json_cannot_carry_are_malformed() -> None:
    schema = obj_schema({"n": {"type": "number"}})
    (nan,) = check(schema, {"n": math.nan})
    assert (nan.category, nan.keyword, nan.message) == (MALFORMED, "json", "json: unsupported value: NaN")
    (huge,) = check(schema, {"n": 10**400})
    assert huge.message == "a 401-digit number does not fit a 64-bit float"


def test_int_or_string_refuses_an_object_with_every_message_the_server_returns() -> None:
    found = check(obj_schema({"cpu": INT_OR_STRING}), {"cpu": {"a": 1}})
    assert messages(found) == [
        'spec.cpu: Invalid value: "object": spec.cpu in body must be of type integer,string: "object"',
        '<nil>: Invalid value: "": "spec.cpu" must validate at least one schema (anyOf)',
        'spec.cpu: Invalid value: "object": spec.cpu in body must be of type integer: "object"',
        'unknown field "spec.cpu.a"',
    ]
    assert {v.category for v in found[:3]} == {MALFORMED}


def test_int_or_string_accepts_both_and_checks_the_pattern_on_strings_only() -> None:
    schema = obj_schema({"cpu": {**INT_OR_STRING, "pattern": "^[0-9]+m?$"}})
    assert check(schema, {"cpu": 4}) == []
    assert check(schema, {"cpu": "500m"}) == []
    (bad,) = check(schema, {"cpu": "lots"})
    assert bad.message == "spec.cpu: Invalid value: \"lots\": spec.cpu in body should match '^[0-9]+m?$'"
    assert bad.category == REJECTED


def test_any_of_with_value_checks_reports_the_first_branch() -> None:
    schema = obj_schema({"n": {"type": "integer", "anyOf": [{"minimum": 10}, {"maximum": 2}]}})
    assert check(schema, {"n": 11}) == []
    assert check(schema, {"n": 1}) == []
    assert messages(check(schema, {"n": 5})) == [
        '<nil>: Invalid value: "": "spec.n" must validate at least one schema (anyOf)',
        "spec.n: Invalid value: 5: spec.n in body should be greater than or equal to 10",
    ]
    assert {v.category for v in check(schema, {"n": 5})} == {REJECTED}


# -- numbers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "value", "text"),
    [
        ({"minimum": 1}, 0, "should be greater than or equal to 1"),
        ({"minimum": 1, "exclusiveMinimum": True}, 1, "should be greater than 1"),
        ({"maximum": 65535}, 65536, "should be less than or equal to 65535"),
        ({"maximum": 8, "exclusiveMaximum": True}, 8, "should be less than 8"),
    ],
)
def test_bounds_are_rejections_worded_as_the_api_server_does(
    bounds: dict[str, Any], value: int, text: str
) -> None:
    (violation,) = check(obj_schema({"n": {"type": "integer", **bounds}}), {"n": value})
    assert violation.message == f"spec.n: Invalid value: {value}: spec.n in body {text}"
    assert violation.category == REJECTED
    keyword = "minimum" if "minimum" in bounds else "maximum"
    assert violation.keyword == keyword


@pytest.mark.parametrize(
    ("bounds", "value"),
    [
        ({"minimum": 1}, 1),
        ({"minimum": 1, "exclusiveMinimum": True}, 2),
        ({"maximum": 8}, 8),
        ({"maximum": 8, "exclusiveMaximum": True}, 7),
    ],
)
def test_values_on_an_inclusive_bound_or_inside_an_exclusive_one_pass(
    bounds: dict[str, Any], value: int
) -> None:
    assert check(obj_schema({"n": {"type": "integer", **bounds}}), {"n": value}) == []


def test_a_fractional_bound_is_printed_as_go_prints_a_float() -> None:
    (violation,) = check(obj_schema({"r": {"type": "number", "minimum": 0.5}}), {"r": 0.25})
    assert (
        violation.message
        == "spec.r: Invalid value: 0.25: spec.r in body should be greater than or equal to 0.5"
    )


def test_int32_range_is_checked_like_kubernetes_1_36() -> None:
    schema = obj_schema(
        {"a": {"type": "integer", "format": "int32"}, "b": {"type": "integer", "format": "int64"}}
    )
    assert check(schema, {"a": 2**31 - 1, "b": 2**62}) == []
    (violation,) = check(schema, {"a": 2**31})
    assert (
        violation.message
        == '<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.a'
    )
    assert violation.field == "<nil>"
    assert violation.path == ("spec", "a")
    assert violation.category == REJECTED


# -- strings -------------------------------------------------------------------------------------------


def test_string_checks_stop_at_the_first_failure_max_length_first() -> None:
    schema = obj_schema({"s": {"type": "string", "maxLength": 3, "minLength": 2, "pattern": "^[a-z]+$"}})
    assert messages(check(schema, {"s": "ABCDE"})) == ["spec.s: Too long: may not be more than 3 bytes"]
    assert messages(check(schema, {"s": "A"})) == [
        'spec.s: Invalid value: "A": spec.s in body should be at least 2 chars long'
    ]
    assert messages(check(schema, {"s": "AB"})) == [
        "spec.s: Invalid value: \"AB\": spec.s in body should match '^[a-z]+$'"
    ]
    assert check(schema, {"s": "ab"}) == []


def test_max_length_of_one_says_byte_and_counts_characters_not_bytes() -> None:
    schema = obj_schema({"s": {"type": "string", "maxLength": 1}})
    assert check(schema, {"s": "é"}) == []
    assert messages(check(schema, {"s": "éé"})) == ["spec.s: Too long: may not be more than 1 byte"]


def test_patterns_match_as_go_regexp_does() -> None:
    assert go_regex("^abc$").search("abc\n") is None  # Go's $ is the end of the text
    assert go_regex("^abc$").search("abc") is not None
    assert go_regex(r"^\d+$").search("١٢") is None  # \d is ASCII in Go
    assert go_regex("b").search("abc") is not None  # MatchString finds a match anywhere
    assert go_regex("^[$]x$").search("$x") is not None  # $ inside a class stays a literal
    assert go_regex(r"^a\$$").search("a$") is not None
    assert go_regex("^[]a]$").search("]") is not None


def test_date_time_format_follows_strfmt() -> None:
    assert is_date_time("2024-06-01T12:30:00Z")
    assert is_date_time("2024-06-01t12:30:00.123+02:00")
    assert not is_date_time("2024-02-30T12:30:00Z")
    assert not is_date_time("2024-06-01T24:00:00Z")
    assert not is_date_time("2024-06-01 12:30:00Z")
    (violation,) = check(obj_schema({"t": {"type": "string", "format": "date-time"}}), {"t": "yesterday"})
    assert (
        violation.message
        == 'spec.t: Invalid value: "yesterday": spec.t in body must be of type date-time: "yesterday"'
    )


# -- enums, arrays, objects ----------------------------------------------------------------------------


def test_enum_lists_the_supported_values() -> None:
    (violation,) = check(
        obj_schema({"mode": {"type": "string", "enum": ["Standard", "Knative"]}}), {"mode": "Raw"}
    )
    assert violation.message == 'spec.mode: Unsupported value: "Raw": supported values: "Standard", "Knative"'
    assert violation.category == REJECTED


def test_enum_of_integers_compares_numbers_and_quotes_them_in_the_message() -> None:
    schema = obj_schema({"n": {"type": "integer", "enum": [1, 2]}})
    assert check(schema, {"n": 2.0}) == []
    assert messages(check(schema, {"n": 3})) == ['spec.n: Unsupported value: 3: supported values: "1", "2"']


def test_null_list_item_of_an_enum_fails_type_and_enum() -> None:
    schema = {"type": "array", "items": {"type": "string", "enum": ["a"]}}
    assert messages(check(schema, [None])) == [
        'spec[0]: Invalid value: "null": spec[0] in body must be of type string: "null"',
        'spec[0]: Unsupported value: null: supported values: "a"',
    ]


def test_item_counts() -> None:
    schema = obj_schema(
        {
            "few": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "many": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
        }
    )
    assert messages(check(schema, {"few": [], "many": ["a", "b"]})) == [
        "spec.few: Invalid value: 0: spec.few in body should have at least 1 items",
        "spec.many: Too many: 2: must have at most 1 item",
    ]


def test_property_counts_are_taken_after_pruning() -> None:
    labels = {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "minProperties": 1,
        "maxProperties": 2,
    }
    schema = obj_schema({"labels": labels})
    assert messages(check(schema, {"labels": {}})) == [
        "spec.labels: Invalid value: 0: spec.labels in body should have at least 1 properties"
    ]
    assert messages(check(schema, {"labels": {"a": "1", "b": "2", "c": "3"}})) == [
        "spec.labels: Too many: 3: must have at most 2 items"
    ]
    props = obj_schema({"a": {"type": "string"}}, minProperties=1)
    found = check(obj_schema({"p": props}), {"p": {"zzz": 1}})
    assert messages(found) == [
        "spec.p: Invalid value: 0: spec.p in body should have at least 1 properties",
        'unknown field "spec.p.zzz"',
    ]


def test_additional_properties_are_validated_under_their_dotted_key() -> None:
    limits = {"type": "object", "additionalProperties": INT_OR_STRING}
    found = check(obj_schema({"limits": limits}), {"limits": {"nvidia.com/gpu": [8]}})
    assert found[0].message == (
        'spec.limits.nvidia.com/gpu: Invalid value: "array": '
        'spec.limits.nvidia.com/gpu in body must be of type integer,string: "array"'
    )
    assert found[0].path == ("spec", "limits", "nvidia.com/gpu")


def test_additional_properties_false_forbids_other_keys() -> None:
    schema = obj_schema({"strict": obj_schema({"a": {"type": "string"}}, additionalProperties=False)})
    assert messages(check(schema, {"strict": {"a": "x", "b": "y"}})) == [
        'spec.strict: Invalid value: "b": spec.strict.b in body is a forbidden property'
    ]


def test_required_fields_missing_or_null() -> None:
    schema = obj_schema({"predictor": {"type": "object"}, "x": {"type": "string"}}, required=["predictor"])
    (missing,) = check(schema, {"x": "y"})
    assert (missing.message, missing.value, missing.category) == (
        "spec.predictor: Required value",
        MISSING,
        MALFORMED,
    )
    (null,) = check(schema, {"predictor": None})
    assert (null.message, null.value) == ("spec.predictor: Required value", None)


def test_a_default_satisfies_required_and_replaces_null() -> None:
    schema = obj_schema({"protocol": {"type": "string", "default": "TCP"}}, required=["protocol"])
    assert check(schema, {}) == []
    assert check(schema, {"protocol": None}) == []


# -- pruning: unknown fields ---------------------------------------------------------------------------


def test_unknown_fields_are_reported_separately_with_kubectls_wording() -> None:
    schema = obj_schema({"a": obj_schema({"b": {"type": "string"}})})
    found = check(schema, {"a": {"b": "x", "c": 1}, "d": {"e": 1}})
    assert [(v.message, v.category, v.path) for v in found] == [
        ('unknown field "spec.d"', UNKNOWN_FIELD, ("spec", "d")),
        ('unknown field "spec.a.c"', UNKNOWN_FIELD, ("spec", "a", "c")),
    ]
    assert check(schema, {"a": {"c": 1}}, unknown_fields=False) == []


def test_preserve_unknown_fields_keeps_unknown_keys_through_list_items_but_not_through_properties() -> None:
    item = obj_schema({"known": obj_schema({"x": {"type": "string"}})})
    schema = obj_schema(
        {
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "adapters": {"type": "array", "items": item, "x-kubernetes-preserve-unknown-fields": True},
        }
    )
    found = check(schema, {"free": {"anything": {"deep": 1}}, "adapters": [{"other": 1, "known": {"y": 2}}]})
    assert messages(found) == ['unknown field "spec.adapters[0].known.y"']


def test_a_map_where_a_scalar_belongs_has_every_key_pruned() -> None:
    found = check(obj_schema({"n": {"type": "integer"}}), {"n": {"a": 1, "b": 2}})
    assert messages(found, UNKNOWN_FIELD) == ['unknown field "spec.n.a"', 'unknown field "spec.n.b"']


def test_the_resource_root_keeps_api_version_kind_and_metadata() -> None:
    root = compile_schema(
        obj_schema(
            {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
        )
    )
    obj = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "a", "labels": {"x": "y"}}, "extra": 1}
    assert messages(validate(obj, root)) == ['unknown field "extra"']
    assert messages(validate({"apiVersion": 1, "kind": "X"}, root)) == [
        'apiVersion: Invalid value: "integer": apiVersion in body must be of type string: "integer"'
    ]


# -- x-kubernetes-list-type ----------------------------------------------------------------------------


def test_duplicate_items_of_a_set_are_named_at_their_second_appearance() -> None:
    schema = obj_schema(
        {"tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}}
    )
    found = check(schema, {"tags": ["a", "b", "a", "a"]})
    assert messages(found) == ['spec.tags[2]: Duplicate value: "a"']
    assert found[0].category == REJECTED


def test_duplicate_keys_of_a_map_list_count_defaulted_keys() -> None:
    port = obj_schema(
        {
            "containerPort": {"type": "integer"},
            "protocol": {"type": "string", "default": "TCP"},
            "name": {"type": "string"},
        },
        required=["containerPort"],
    )
    ports = {
        "type": "array",
        "items": port,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
    }
    schema = obj_schema({"ports": ports})
    assert check(schema, {"ports": [{"containerPort": 80}, {"containerPort": 80, "protocol": "UDP"}]}) == []
    found = check(
        schema, {"ports": [{"containerPort": 80, "name": "a"}, {"containerPort": 80, "protocol": "TCP"}]}
    )
    assert messages(found) == ['spec.ports[1]: Duplicate value: {"containerPort":80,"protocol":"TCP"}']


def test_a_map_list_needs_objects() -> None:
    schema = obj_schema(
        {
            "env": {
                "type": "array",
                "items": obj_schema({"name": {"type": "string"}}),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            }
        }
    )
    found = check(schema, {"env": ["NAME=x"]})
    assert (
        'spec.env[0]: Invalid value: "NAME=x": must be an object for an array of list-type map'
        in messages(found)
    )


# -- x-kubernetes-validations --------------------------------------------------------------------------


def test_cel_rules_of_present_values_come_back_as_not_checked() -> None:
    rules = [
        {
            "rule": "!(has(self.replicas) && has(self.scaling))",
            "message": "replicas and scaling are mutually exclusive",
        }
    ]
    transition = [
        {"rule": "self == oldSelf", "message": "immutable"},  # not evaluated on create
        {"rule": "!oldSelf.hasValue() || self == oldSelf.value()", "optionalOldSelf": True},
    ]
    schema = obj_schema(
        {
            "scaling": {"type": "object", "x-kubernetes-validations": [{"rule": "has(self.wva)"}]},
            "name": {"type": "string", "x-kubernetes-validations": transition},
        },
        **{"x-kubernetes-validations": rules},
    )
    found = check(schema, {"name": "x"})
    assert [(v.category, v.path, v.rule) for v in found] == [
        (NOT_CHECKED, ("spec",), "!(has(self.replicas) && has(self.scaling))"),
        (NOT_CHECKED, ("spec", "name"), "!oldSelf.hasValue() || self == oldSelf.value()"),
    ]
    assert found[0].message == (
        "spec: CEL rule not checked: !(has(self.replicas) && has(self.scaling)) "
        "(refused with: replicas and scaling are mutually exclusive)"
    )
    with_scaling = check(schema, {"scaling": {}})
    assert [v.rule for v in with_scaling] == ["!(has(self.replicas) && has(self.scaling))", "has(self.wva)"]
    assert with_scaling[1].message.endswith("(refused with: failed rule: has(self.wva))")
    assert check(schema, {"scaling": {}}, cel=False) == []


# -- walk ----------------------------------------------------------------------------------------------


def test_ten_thousand_levels_are_walked_without_recursion() -> None:
    deep: Any = "bottom"
    for _ in range(10_000):
        deep = {"a": deep}
    deep_lists: list[Any] = [1, 2]
    for _ in range(10_000):
        deep_lists = [[deep_lists[0]], [deep_lists[1]]]
    schema = obj_schema(
        {
            "known": obj_schema({"x": {"type": "string"}}),
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "set": {"type": "array", "items": {"type": "array"}, "x-kubernetes-list-type": "set"},
        }
    )
    found = check(schema, {"known": deep, "free": deep, "extra": deep_lists[0], "set": deep_lists})
    assert messages(found, UNKNOWN_FIELD) == ['unknown field "spec.extra"', 'unknown field "spec.known.a"']
    # unknown fields are pruned at their top; two different lists too deep to encode are no duplicates
    assert not messages(found, MALFORMED, REJECTED)


def test_problems_come_depth_first_in_document_order_a_values_own_first() -> None:
    schema = obj_schema(
        {"b": obj_schema({"x": {"type": "string"}}, required=["x"]), "a": {"type": "integer", "minimum": 1}},
        required=["c"],
    )
    found = check(schema, {"b": {}, "a": 0})
    assert messages(found) == [
        "spec.c: Required value",
        "spec.b.x: Required value",
        "spec.a: Invalid value: 0: spec.a in body should be greater than or equal to 1",
    ]


# -- compiling -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "object", "oneOf": [{"required": ["a"]}]}, "'oneOf' is not implemented"),
        ({"type": "array", "items": [{"type": "string"}]}, "tuple items are not structural"),
        (
            {"type": "string", "format": "email"},
            "string format 'email' is checked by the API server but not implemented",
        ),
        (
            {"type": "object", "x-kubernetes-embedded-resource": True},
            "'x-kubernetes-embedded-resource' is not implemented",
        ),
    ],
)
def test_schemas_using_what_the_validator_does_not_implement_are_refused(
    schema: dict[str, Any], problem: str
) -> None:
    with pytest.raises(SchemaError, match=problem.replace("(", r"\(")):
        SchemaPool().add(obj_schema({"spec": schema}))


def test_formats_the_api_server_ignores_are_dropped_and_descriptions_stripped() -> None:
    pool = SchemaPool()
    pool.add(
        obj_schema(
            {
                "n": {"type": "integer", "format": "uint8", "description": "x"},
                "s": {"type": "string", "format": "no-such"},
            }
        )
    )
    assert all("format" not in node and "description" not in node for node in pool.nodes)


def test_identical_subtrees_are_stored_once() -> None:
    container = obj_schema({"name": {"type": "string"}, "image": {"type": "string"}})
    pool = SchemaPool()
    first = pool.add(obj_schema({"a": container, "b": {"type": "array", "items": container}}))
    second = pool.add(obj_schema({"a": container, "b": {"type": "array", "items": container}}))
    assert first == second
    assert len(pool.nodes) == 4  # string leaf, container, array of containers, root


# -- the wording helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "go"),
    [
        (1.0, "1"),
        (0.5, "0.5"),
        (65535.0, "65535"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (123456789.0, "1.23456789e+08"),
        (1e-05, "1e-05"),
        (0.0001, "0.0001"),
        (-2.5, "-2.5"),
        (1e21, "1e+21"),
        (math.inf, "+Inf"),
    ],
)
def test_floats_print_as_gos_percent_v(value: float, go: str) -> None:
    assert kw.go_float(value) == go


def test_go_quote_escapes_like_strconv_quote() -> None:
    assert kw.go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert kw.go_quote("a\nb\t") == '"a\\nb\\t"'
    assert kw.go_quote("\x01\x7f") == '"\\x01\\x7f"'
    assert kw.go_quote("é ü") == '"é ü"'
    assert kw.go_quote("\u200b") == '"\\u200b"'


def test_go_json_sorts_keys_and_escapes_html() -> None:
    assert kw.go_json({"b": 1, "a": [True, None, "<&>"]}) == '{"a":[true,null,"\\u003c\\u0026\\u003e"],"b":1}'
    assert kw.go_json(1e21) == "1e+21"
    assert kw.go_json(1e-7) == "1e-7"
    assert kw.go_json(0.000001) == "0.000001"


def test_an_invalid_object_message_aggregates_like_apimachinery() -> None:
    one = kw.invalid_object_message("LLMInferenceService", "serving.kserve.io", "llm", ["a: Required value"])
    assert one == 'LLMInferenceService.serving.kserve.io "llm" is invalid: a: Required value'
    many = kw.invalid_object_message(
        "X", "g", "n", ["a: Required value", "b: Required value", "a: Required value"]
    )
    assert many == 'X.g "n" is invalid: [a: Required value, b: Required value]'
