"""Kubernetes name syntax, as the API server validates it (k8s.io/apimachinery pkg/util/validation).

Used for what the user types: ``--node-selector key=value`` and ``--gpu-resource NAME`` must be names the
API server could hold, or the flag silently matches nothing.
"""

from __future__ import annotations

import re

_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
"""``IsQualifiedName``'s name part: at most 63 characters."""
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def qualified_name_problem(name: str) -> str | None:
    """Why ``name`` is not a qualified name (``[prefix/]name``: label keys, resource names), or None."""
    prefix, slash, part = name.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return f"the prefix {prefix!r} must be a DNS subdomain (lower case letters, digits, '-' and '.')"
    if not part:
        return "the name part must not be empty"
    if len(part) > 63:
        return "the name part must be at most 63 characters"
    if not _NAME_PART.match(part):
        return "a name must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit"
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is not a valid label value, or None."""
    if len(value) > 63:
        return "a label value must be at most 63 characters"
    if not _LABEL_VALUE.match(value):
        return (
            "a label value must be empty or consist of letters, digits, '-', '_' or '.', and start and end "
            "with a letter or digit"
        )
    return None


# --- apimachinery's own wording ----------------------------------------------------------------------
# The label selector parser (inputs/selector.py) quotes these lists as the API server and kubectl do, word
# for word: kubernetes/apimachinery@eed236ceee2c19c2753a3d93ac0631dc20750454 pkg/api/validate/content/kube.go
# (IsLabelKey, IsLabelValue), dns.go (IsDNS1123Subdomain), errors.go (RegexError, MaxLenError, EmptyError).
# Go's len() counts bytes, so lengths here are UTF-8 bytes.

_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_LABEL_VALUE_FMT = f"({_LABEL_KEY_FMT})?"
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character"
)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character"
)


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    """apimachinery's RegexError, its spacing included (``'MyName',  or 'my.name'``)."""
    if not examples:
        return f"{message} (regex used for validation is '{pattern}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


def _max_len_error(length: int) -> str:
    return f"must be no more than {length} bytes"


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def dns1123_subdomain_errors(value: str) -> list[str]:
    """apimachinery's ``IsDNS1123Subdomain``: why ``value`` is not a lowercase RFC 1123 subdomain ([] if it is)."""
    errors = []
    if _bytes(value) > 253:
        errors.append(_max_len_error(253))
    if not re.fullmatch(_DNS1123_SUBDOMAIN_FMT, value):
        errors.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def label_key_errors(key: str) -> list[str]:
    """apimachinery's ``IsLabelKey`` (formerly ``IsQualifiedName``): ``[prefix/]name`` ([] when valid)."""
    examples = ("MyName", "my.name", "123-abc")
    parts = key.split("/")
    if len(parts) > 2:
        return [
            "a valid label key "
            + _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, *examples)
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    errors = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors += ["prefix part " + message for message in dns1123_subdomain_errors(prefix)]
    if not name:
        errors.append("name part must be non-empty")
    elif _bytes(name) > 63:
        errors.append("name part " + _max_len_error(63))
    if not re.fullmatch(_LABEL_KEY_FMT, name):
        errors.append("name part " + _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, *examples))
    return errors


def label_value_errors(value: str) -> list[str]:
    """apimachinery's ``IsLabelValue``: why ``value`` cannot be a label value ([] when it can; empty is valid)."""
    errors = []
    if _bytes(value) > 63:
        errors.append(_max_len_error(63))
    if not re.fullmatch(_LABEL_VALUE_FMT, value):
        errors.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors
