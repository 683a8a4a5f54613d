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
