"""The label selector parser and matcher (``-l``), pure, against apimachinery's ``labels.Parse``.

Expected messages are apimachinery's, word for word (kubernetes/apimachinery@eed236ceee2c19c2753a3d93ac0631dc20750454
pkg/labels/selector.go and pkg/api/validate/content), and were checked against kubectl v1.32.4's own output
(``kubectl get -f FILE -l SELECTOR``, which parses -l with labels.Parse before filtering the file's objects) for
every case both parsers agree on; the two where Kubernetes 1.35 changed the parser are marked.
"""

from __future__ import annotations

import pytest

from kubectl_kserve_mn.inputs.names import dns1123_subdomain_errors, label_key_errors, label_value_errors
from kubectl_kserve_mn.inputs.selector import SelectorError, go_quote, labels_of, parse

LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
NAME_PART_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
PREFIX_RULE = (
    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
OPERATORS = "in, notin, =, ==, !=, gt, lt"

# selector -> its canonical form (labels.Parse's String(): requirements sorted by key, values sorted)
VALID = [
    ("a=b,c!=d,e in (x,y),f notin (z),!g,h", "a=b,c!=d,e in (x,y),f notin (z),!g,h"),
    ("a==b", "a==b"),
    ("h,!g,f notin (z),e in (y,x)", "e in (x,y),f notin (z),!g,h"),
    # whitespace (space, tab, CR, LF) separates words and is otherwise ignored
    ("  a = b ,\tc\n!=\rd , e in ( x , y )  ", "a=b,c!=d,e in (x,y)"),
    ("a in(x)", "a in (x)"),
    ("!  g", "!g"),
    # empty values
    ("a=", "a="),
    ("a!=", "a!="),
    ("a in ()", "a in ()"),
    ("a notin (,b)", "a notin (,b)"),
    ("a in (x,)", "a in (,x)"),
    ("a in (x,,y)", "a in (,x,y)"),
    ("a in (x,,)", "a in (,x)"),  # Kubernetes 1.35+; kubectl 1.32: found ')', expected: ',', or identifier
    # in / notin are words where a key or a value is expected
    ("in=in", "in=in"),
    ("a in (in, notin)", "a in (in,notin)"),
    ("notin notin (in)", "notin notin (in)"),
    # >, < with a decimal integer
    ("a>1", "a>1"),
    ("a < 10", "a<10"),
    (
        "example.com/tier=gpu,kubernetes.io/arch in (amd64)",
        "example.com/tier=gpu,kubernetes.io/arch in (amd64)",
    ),
    ("", ""),
    ("   ", ""),
]


@pytest.mark.parametrize(("text", "canonical"), VALID)
def test_valid_selectors_parse_to_labels_parse_canonical_form(text: str, canonical: str) -> None:
    assert str(parse(text)) == canonical


INVALID = [
    ("a b", f"unable to parse requirement: found 'b', expected: {OPERATORS}"),
    ("a!", f"unable to parse requirement: found '!', expected: {OPERATORS}"),
    ("a in x", "unable to parse requirement: found 'x' expected: '('"),
    ("a in (x", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in (x,", "unable to parse requirement: found '', expected: ',', or identifier"),
    ("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'"),
    ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("a=b=c", "found '=', expected: ',' or 'end of string'"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("a in (x),", "found '', expected: identifier after ','"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    # keys: apimachinery's IsLabelKey, the bad key quoted Go-style after a nil field path
    ("_a", f'unable to parse requirement: <nil>: Invalid value: "_a": {NAME_PART_RULE}'),
    ("Ab/c", f'unable to parse requirement: <nil>: Invalid value: "Ab/c": {PREFIX_RULE}'),
    ("/a", 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'),
    (
        "a/=b",
        f'unable to parse requirement: <nil>: Invalid value: "a/": name part must be non-empty; {NAME_PART_RULE}',
    ),
    (
        "A/b/c",  # Kubernetes 1.35+ wording; kubectl 1.32 says "a qualified name" for "a valid label key"
        'unable to parse requirement: <nil>: Invalid value: "A/b/c": a valid label key must consist of alphanumeric '
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
        "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an "
        "optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ),
    (
        "k" * 64,
        f'unable to parse requirement: <nil>: Invalid value: "{"k" * 64}": name part must be no more than 63 bytes',
    ),
    # values: IsLabelValue, indexed in sorted order under the key; several are one bracketed list
    ("a=b_", f'unable to parse requirement: values[0][a]: Invalid value: "b_": {LABEL_VALUE_RULE}'),
    # no quoting: the quotes are part of the value
    ('a="b"', f'unable to parse requirement: values[0][a]: Invalid value: "\\"b\\"": {LABEL_VALUE_RULE}'),
    ("a='b'", f"unable to parse requirement: values[0][a]: Invalid value: \"'b'\": {LABEL_VALUE_RULE}"),
    (
        "a in (c_, b_)",
        f'unable to parse requirement: [values[0][a]: Invalid value: "b_": {LABEL_VALUE_RULE}, '
        f'values[1][a]: Invalid value: "c_": {LABEL_VALUE_RULE}]',
    ),
    (
        "a=" + "v" * 64,
        f'unable to parse requirement: values[0][a]: Invalid value: "{"v" * 64}": must be no more than 63 bytes',
    ),
    ("a\tin (é)", f'unable to parse requirement: values[0][a]: Invalid value: "é": {LABEL_VALUE_RULE}'),
    # >, <: an integer of 64 bits, and a label value (so no sign)
    (
        "a>x",
        "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
    ),
    (
        "a<",
        "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer",
    ),
    (
        "a>9223372036854775808",
        'unable to parse requirement: values[0]: Invalid value: "9223372036854775808": '
        "for 'Gt', 'Lt' operators, the value must be an integer",
    ),
    ("a>-5", f'unable to parse requirement: values[0][a]: Invalid value: "-5": {LABEL_VALUE_RULE}'),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_malformed_selectors_are_refused_with_labels_parse_message(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse(text)
    assert str(caught.value) == message


LABELS = {"app": "llama", "team": "search", "tier": "gpu", "gen": "7", "empty": ""}
MATCHES = [
    ("app=llama", True),
    ("app==llama", True),
    ("app=mistral", False),
    ("missing=x", False),
    ("app!=mistral", True),
    ("app!=llama", False),
    ("missing!=x", True),  # != and notin match objects without the label
    ("app in (llama,mistral)", True),
    ("app in (mistral)", False),
    ("missing in (x)", False),
    ("app notin (mistral)", True),
    ("app notin (llama)", False),
    ("missing notin (x)", True),
    ("team", True),
    ("missing", False),
    ("!missing", True),
    ("!team", False),
    ("empty=", True),
    ("empty", True),
    ("missing=", False),
    ("gen>6", True),
    ("gen>7", False),
    ("gen<8", True),
    ("app>1", False),  # a value that is no integer never matches > or <
    ("missing<100", False),
    ("app=llama,team=search,!missing,gen in (7)", True),
    ("app=llama,team=other", False),
    ("", True),
]


@pytest.mark.parametrize(("text", "expected"), MATCHES)
def test_matching_follows_requirement_matches(text: str, expected: bool) -> None:
    assert parse(text).matches(LABELS) is expected


def test_an_object_without_labels_matches_only_negative_requirements() -> None:
    assert parse("!a,b!=c,d notin (e)").matches(None)
    assert not parse("a").matches({})


def test_the_text_sent_to_the_api_server_is_the_users_selector_stripped() -> None:
    selector = parse("  team in (a, b) ,!canary ")
    assert selector.text == "team in (a, b) ,!canary"
    assert [str(r) for r in selector.requirements] == ["!canary", "team in (a,b)"]


def test_labels_of_reads_string_labels_and_tolerates_missing_metadata() -> None:
    assert labels_of({"metadata": {"labels": {"a": "b", "n": 1}}}) == {"a": "b"}
    assert labels_of({"metadata": None}) == {}
    assert labels_of({}) == {}


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('q"b\\', '"q\\"b\\\\"'),
        ("a\tb\n", '"a\\tb\\n"'),
        ("é", '"é"'),
        ("\x01\u200b", '"\\x01\\u200b"'),
    ],
)
def test_bad_values_are_quoted_as_go_quotes_them(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


def test_label_key_rules_say_every_problem_of_the_key() -> None:
    assert label_key_errors("example.com/My.Name-1") == []
    assert label_key_errors("a" * 63) == []
    assert label_key_errors("Example.com/x") == [PREFIX_RULE]
    assert label_key_errors("x" * 254 + "/a") == ["prefix part must be no more than 253 bytes"]
    assert label_key_errors("X" * 254 + "/a") == ["prefix part must be no more than 253 bytes", PREFIX_RULE]
    assert label_key_errors("é") == ["name part " + NAME_PART_RULE.removeprefix("name part ")]
    assert label_key_errors("") == ["name part must be non-empty", NAME_PART_RULE]


def test_label_value_and_subdomain_rules() -> None:
    assert label_value_errors("") == []
    assert label_value_errors("v1.2_rc-3") == []
    assert label_value_errors("-v") == [LABEL_VALUE_RULE]
    assert label_value_errors("é" * 32) == [
        "must be no more than 63 bytes",
        LABEL_VALUE_RULE,
    ]  # 64 UTF-8 bytes
    assert dns1123_subdomain_errors("a.b-c") == []
    assert dns1123_subdomain_errors("a.b\n") == [PREFIX_RULE.removeprefix("prefix part ")]
