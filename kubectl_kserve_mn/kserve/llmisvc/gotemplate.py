"""The subset of Go's ``text/template`` that KServe's LLMInferenceService presets use, as a pure renderer.

KServe's controller (``ReplaceVariables`` in ``pkg/controller/v1alpha{1,2}/llmisvc/config_merge.go`` at
v0.16.0..v0.20.0) marshals the merged LLMInferenceServiceConfig to JSON, parses that JSON text as one Go
template (``missingkey=error``) and executes it with the LLMInferenceService as data (plus
``GlobalConfig``). The presets use (counted over every shipped preset, see the tests):

- ``{{ .Spec.Parallelism.Tensor }}`` field chains (Go field names, looked up by their JSON names);
- ``{{ if X }}``/``{{ else }}``/``{{ end }}``, ``and``/``or`` (short-circuit, Go 1.18+), ``nil``, integer
  literals and raw strings (backquotes);
- the functions ``ChildName`` (knative's ``kmeta.ChildName``), ``shutdownTimeout`` and
  ``kvTransferConfig`` (v0.20.0);
- trim markers ``{{-``/``-}}``. Because the template is the JSON *text*, a newline or tab inside a
  string is the two characters ``\\n``/``\\t`` there, not white space: inside a string value a trim marker
  removes spaces only. :func:`render` therefore trims spaces only.

Go's truthiness: a pointer is true when set (``tensor: 0`` is true), a bool when true, a string when not
empty. Reading a field through an unset pointer is Go's ``nil pointer evaluating`` error.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(r"\s*(`[^`]*`|\"(?:[^\"\\]|\\.)*\"|\(|\)|[^\s()]+)")

# Go field names whose JSON name is not the field name with a lower-case first letter.
_JSON_NAMES = {"ObjectMeta": "metadata", "KVCacheOffloading": "kvCacheOffloading"}
# Fields that are values, not pointers, in KServe's types (their zero value is false / ""): every other
# field the presets read is a pointer (*int32, *ParallelismSpec, *PodSpec, *WorkloadSpec, *string).
_VALUE_FIELDS = {
    "Expert": False,
    "EnableTLS": False,
    "InferencePoolNamespacedName": "",
    "Name@ObjectMeta": "",
    "Namespace@ObjectMeta": "",
}


class TemplateError(ValueError):
    """The template cannot be parsed or executed (Go would fail the reconcile with it)."""


@dataclass(frozen=True)
class Ptr:
    """A set pointer: true in an ``if`` whatever it points to."""

    value: Any


_NIL: Any = None


def _truth(value: Any) -> bool:
    if isinstance(value, Ptr):
        return True
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def _deref(value: Any) -> Any:
    return value.value if isinstance(value, Ptr) else value


def _print(value: Any) -> str:
    value = _deref(value)
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# --- knative kmeta.ChildName (knative/pkg@521cb33b:kmeta/names.go, unchanged since 2024-06) -------

_LONGEST = 63
_MD5_LEN = 32
_HEAD = _LONGEST - _MD5_LEN


def child_name(parent: str, suffix: str) -> str:
    """knative's ``kmeta.ChildName``: ``parent + suffix`` when it fits 63 characters, else a truncated
    parent with the MD5 of the parent (or of the whole name when the suffix is long) in between."""
    if len(parent) <= _LONGEST - len(suffix):
        return parent + suffix
    if _HEAD - len(suffix) <= 0:
        digest = hashlib.md5((parent + suffix).encode(), usedforsecurity=False).hexdigest()
        out = parent[:_HEAD] + digest
        if len(out) < _LONGEST:
            out += suffix[: _LONGEST - len(out)]
        while out and not out[-1].isalnum():
            out = out[:-1]
        return out
    digest = hashlib.md5(parent.encode(), usedforsecurity=False).hexdigest()
    return parent[: _HEAD - len(suffix)] + digest + suffix


def _shutdown_timeout(spec: Any, pre_stop: Any) -> int:
    """v0.20.0's ``shutdownTimeout``: max(0, tgps - preStop - min(5, tgps)), tgps defaulting to 60."""
    pod = _deref(spec)
    tgps = 60
    if isinstance(pod, Mapping) and isinstance(pod.get("terminationGracePeriodSeconds"), int):
        tgps = int(pod["terminationGracePeriodSeconds"])
    stop = int(_deref(pre_stop) or 0)
    return max(0, tgps - stop - min(5, tgps))


def _kv_transfer_config(spec: Any) -> str:
    """v0.20.0's ``kvTransferConfig``: empty without ``kvCacheOffloading``. With it the real function
    writes vLLM's ``--kv-transfer-config`` JSON, which no parallelism rule reads: a placeholder here."""
    return "" if _deref(spec) is None else "--kv-transfer-config '<kv-cache-offloading>'"


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "ChildName": lambda parent, suffix: child_name(str(_deref(parent)), str(_deref(suffix))),
    "shutdownTimeout": _shutdown_timeout,
    "kvTransferConfig": _kv_transfer_config,
    "not": lambda value: not _truth(value),
}


# --- parsing ---------------------------------------------------------------------------------------


@dataclass
class _If:
    condition: list[str]
    then: list[Any]
    otherwise: list[Any]


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - the pattern matches any non-space run
            raise TemplateError(f"cannot read action {{{{{text}}}}}")
        out.append(match.group(1))
        pos = match.end()
    return out


def parse(template: str) -> list[Any]:
    """The template as a list of text strings, action token lists and :class:`_If` nodes."""
    root: list[Any] = []
    stack: list[tuple[list[Any], _If | None]] = [(root, None)]
    pos = 0
    for match in _ACTION.finditer(template):
        text = template[pos : match.start()]
        if match.group(1):
            text = text.rstrip(" ")
        current = stack[-1][0]
        if text:
            current.append(text)
        pos = match.end()
        if match.group(3):
            while pos < len(template) and template[pos] == " ":
                pos += 1
        words = _tokens(match.group(2))
        if not words:
            raise TemplateError("missing value for command")
        if words[0] == "if":
            node = _If(words[1:], [], [])
            current.append(node)
            stack.append((node.then, node))
        elif words[0] == "else":
            body, node_or_none = stack[-1]
            if node_or_none is None or body is node_or_none.otherwise:
                raise TemplateError("unexpected {{else}}")
            stack[-1] = (node_or_none.otherwise, node_or_none)
        elif words[0] == "end":
            if len(stack) == 1:
                raise TemplateError("unexpected {{end}}")
            stack.pop()
        elif words[0] in ("range", "with", "define", "template", "block"):
            raise TemplateError(f"{{{{{words[0]}}}}} is not supported by this renderer")
        else:
            current.append(words)
    if len(stack) != 1:
        raise TemplateError("unexpected EOF: an {{if}} has no {{end}}")
    tail = template[pos:]
    if tail:
        root.append(tail)
    return root


# --- execution -------------------------------------------------------------------------------------


class _Scope:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def field(self, chain: str) -> Any:
        names = chain.split(".")[1:]
        if names == [""]:
            return Ptr(self.data)
        node: Any = Ptr(self.data)
        parent = ""
        for i, name in enumerate(names):
            holder = _deref(node)
            if holder is None:
                walked = ".".join(names[:i])
                raise TemplateError(f"nil pointer evaluating .{walked}.{name}")
            if not isinstance(holder, Mapping):
                raise TemplateError(f"can't evaluate field {name} in a {type(holder).__name__}")
            key = _JSON_NAMES.get(name, name[:1].lower() + name[1:]) if i > 0 else name
            value_field = _VALUE_FIELDS.get(name, _VALUE_FIELDS.get(f"{name}@{parent}", _NIL))
            is_value = name in _VALUE_FIELDS or f"{name}@{parent}" in _VALUE_FIELDS
            raw = holder.get(key)
            if is_value:
                node = value_field if raw is None else raw
            elif i == 0:
                node = raw  # the root's members (Spec, ObjectMeta, GlobalConfig) are structs
            else:
                node = None if raw is None else Ptr(raw)
            parent = name
        return node


def _literal(word: str) -> Any:
    if word == "nil":
        return None
    if word in ("true", "false"):
        return word == "true"
    if word.startswith("`"):
        return word[1:-1]
    if word.startswith('"'):
        return json.loads(word)
    if re.fullmatch(r"-?\d+", word):
        return int(word)
    raise TemplateError(f'function "{word}" not defined')


def _argument(word: str, scope: _Scope) -> Any:
    return scope.field(word) if word.startswith(".") else _literal(word)


def _evaluate(words: Sequence[str], scope: _Scope) -> Any:
    head, args = words[0], list(words[1:])
    if head in ("and", "or"):
        if not args:
            raise TemplateError(f"wrong number of args for {head}: want at least 1 got 0")
        value: Any = None
        for word in args:
            value = _argument(word, scope)
            if _truth(value) != (head == "and"):
                return value
        return value
    if head in _FUNCTIONS:
        return _FUNCTIONS[head](*(_argument(w, scope) for w in args))
    if args:
        raise TemplateError(f"can't give argument to non-function {head}")
    return _argument(head, scope)


def _execute(nodes: Sequence[Any], scope: _Scope, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _If):
            branch = node.then if _truth(_evaluate(node.condition, scope)) else node.otherwise
            _execute(branch, scope, out)
        else:
            out.append(_print(_evaluate(node, scope)))


def render(template: str, data: Mapping[str, Any]) -> str:
    """Execute ``template`` (a string value of a preset, as it stands in the marshalled JSON) with
    ``data``: ``{"Spec": ..., "ObjectMeta": ..., "GlobalConfig": {...}}`` (the object's spec and
    metadata as plain dicts). Raises :class:`TemplateError` where Go's template would fail."""
    if "{{" not in template:
        return template
    out: list[str] = []
    _execute(parse(template), _Scope(data), out)
    return "".join(out)


def template_data(obj: Mapping[str, Any], *, enable_tls: bool = True) -> dict[str, Any]:
    """The data KServe executes the presets with: the LLMInferenceService (``spec.model.name`` defaulted
    to the object's name, as the defaulting webhook and ``SetDefaults`` do) and ``GlobalConfig``."""
    spec = dict(obj.get("spec") or {}) if isinstance(obj.get("spec"), Mapping) else {}
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    model = dict(spec.get("model") or {}) if isinstance(spec.get("model"), Mapping) else {}
    if not model.get("name"):
        model["name"] = meta.get("name") or ""
    spec["model"] = model
    return {
        "Spec": spec,
        "ObjectMeta": dict(meta),
        "GlobalConfig": {"enableTLS": enable_tls, "inferencePoolNamespacedName": ""},
    }
