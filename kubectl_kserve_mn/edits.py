"""Editing a Kubernetes object safely, the machinery ``fix`` uses for every kind: field paths (a list entry
by its ``name``), an editor that records the previous value of exactly what it changes, the JSON merge
patch (RFC 7386) between two versions, the undo record, and the diff shown before anything is sent."""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import yaml

PREVIOUS_LAYOUT_ANNOTATION = "kserve-mn/previous-layout"


@dataclass(frozen=True)
class Named:
    """A path segment selecting the list entry whose ``name`` is ``name`` (env vars)."""

    name: str


Segment: TypeAlias = str | int | Named
Path: TypeAlias = tuple[Segment, ...]

_MISSING: Any = object()


@dataclass(frozen=True)
class Change:
    path: Path
    old: Any
    """The value before (None: absent)."""
    new: Any
    """The value after (None: removed)."""
    summary: str
    """One line: what changes and why. Changes made for one reason share the line."""
    index: int | None = None
    """For a removed named list entry: its index, so that undo puts it back in place."""

    @property
    def path_text(self) -> str:
        return path_text(self.path)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path_text, "old": self.old, "new": self.new, "reason": self.summary}


# ---------------------------------------------------------------------------------------------
# Paths


def _quote_key(key: str) -> str:
    return key if key.replace("_", "a").replace("-", "a").isalnum() else json.dumps(key)


def path_text(path: Sequence[Segment]) -> str:
    """``spec.predictor.model.resources.requests["nvidia.com/gpu"]``, ``...env[name=X]``, ``containers[0]``."""
    out = ""
    for seg in path:
        if isinstance(seg, Named):
            out += f"[name={seg.name}]"
        elif isinstance(seg, int):
            out += f"[{seg}]"
        elif _quote_key(seg) == seg:
            out += ("." if out else "") + seg
        else:
            out += f"[{_quote_key(seg)}]"
    return out


def _child(node: Any, seg: Segment) -> Any:
    if isinstance(seg, Named):
        if isinstance(node, list):
            for item in node:
                if isinstance(item, dict) and item.get("name") == seg.name:
                    return item
        return _MISSING
    if isinstance(seg, int):
        return node[seg] if isinstance(node, list) and 0 <= seg < len(node) else _MISSING
    return node[seg] if isinstance(node, dict) and seg in node else _MISSING


def get_at(obj: Any, path: Sequence[Segment]) -> Any:
    """The value at ``path``, or None when any part is absent."""
    node = obj
    for seg in path:
        node = _child(node, seg)
        if node is _MISSING:
            return None
    return node


def _named_index(items: list[Any], name: str) -> int | None:
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == name:
            return i
    return None


def set_at(obj: dict[str, Any], path: Sequence[Segment], value: Any, *, index: int | None = None) -> bool:
    """Set (``value`` not None) or remove (None) the value at ``path``, creating maps on the way.

    A named entry that is absent is inserted at ``index`` (appended when None). Returns False when the
    path cannot be reached (a list index out of range, a list where a map is needed).
    """
    node: Any = obj
    for seg in path[:-1]:
        child = _child(node, seg)
        if child is _MISSING:
            if value is None:
                return True  # nothing to remove
            if not isinstance(seg, str) or not isinstance(node, dict):
                return False
            child = node[seg] = {}
        elif not isinstance(child, dict | list):
            return False
        node = child
    last = path[-1]
    if isinstance(last, Named):
        if not isinstance(node, list):
            return value is None
        found = _named_index(node, last.name)
        if value is None:
            if found is not None:
                node.pop(found)
            return True
        if found is not None:
            node[found] = value
        else:
            node.insert(len(node) if index is None else max(0, min(index, len(node))), value)
        return True
    if isinstance(last, int):
        if not isinstance(node, list) or not 0 <= last < len(node):
            return False
        if value is None:
            node.pop(last)
        else:
            node[last] = value
        return True
    if not isinstance(node, dict):
        return False
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return True


def path_to_json(path: Sequence[Segment]) -> list[Any]:
    return [{"name": s.name} if isinstance(s, Named) else s for s in path]


def path_from_json(raw: Any) -> Path:
    if not isinstance(raw, list) or not raw:
        raise ValueError("path must be a non-empty list")
    out: list[Segment] = []
    for seg in raw:
        if isinstance(seg, dict) and isinstance(seg.get("name"), str) and len(seg) == 1:
            out.append(Named(seg["name"]))
        elif isinstance(seg, str) or (isinstance(seg, int) and not isinstance(seg, bool)):
            out.append(seg)
        else:
            raise ValueError(f"bad path segment {seg!r}")
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# JSON merge patch (RFC 7386)


def merge_patch_between(before: Any, after: Any) -> Any:
    """The smallest RFC 7386 merge patch turning ``before`` into ``after`` (maps recurse, lists whole)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return copy.deepcopy(after)
    patch: dict[str, Any] = {}
    for key in before:
        if key not in after:
            patch[key] = None
    for key, value in after.items():
        if key not in before:
            patch[key] = copy.deepcopy(value)
        elif before[key] != value:
            if isinstance(before[key], dict) and isinstance(value, dict):
                patch[key] = merge_patch_between(before[key], value)
            else:
                patch[key] = copy.deepcopy(value)
    return patch


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge key by key, null removes, everything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def finish(before: dict[str, Any], work: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(patch with metadata.resourceVersion, predicted object)."""
    patch = merge_patch_between(before, work)
    rv = get_at(before, ("metadata", "resourceVersion"))
    if rv is not None:
        patch.setdefault("metadata", {})["resourceVersion"] = rv
    return patch, apply_merge_patch(before, patch)


# ---------------------------------------------------------------------------------------------
# Editing with a record of what was there


class Editor:
    """Edits a copy of the object and records one :class:`Change` per field, at the topmost key that
    was absent, so that undo removes exactly what was added."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj
        self.changes: list[Change] = []

    def set(self, path: Path, value: Any, summary: str) -> None:
        node: Any = self.obj
        for depth, seg in enumerate(path[:-1]):
            child = _child(node, seg)
            if child is _MISSING or not isinstance(child, dict | list):
                if value is None:
                    return
                sub: Any = copy.deepcopy(value)
                for inner in reversed(path[depth + 1 :]):
                    sub = {inner: sub}
                old = None if child is _MISSING else child
                set_at(self.obj, path[: depth + 1], sub)
                self.changes.append(Change(path[: depth + 1], old, sub, summary))
                return
            node = child
        old = _child(node, path[-1])
        old = None if old is _MISSING else copy.deepcopy(old)
        if old == value:
            return
        index = None
        if isinstance(path[-1], Named) and isinstance(node, list):
            index = _named_index(node, path[-1].name)
        set_at(self.obj, path, copy.deepcopy(value))
        self.changes.append(Change(path, old, copy.deepcopy(value), summary, index))


# ---------------------------------------------------------------------------------------------
# Undo


def previous_layout_value(changes: Sequence[Change]) -> str:
    """The ``kserve-mn/previous-layout`` annotation value: the previous value (null: absent) of each
    changed field, paths as lists of keys, list indexes and ``{"name": ...}`` entry selectors."""
    fields = []
    for change in changes:
        entry: dict[str, Any] = {"path": path_to_json(change.path), "value": change.old}
        if change.index is not None:
            entry["index"] = change.index
        fields.append(entry)
    return json.dumps({"fields": fields}, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Showing it


def _displayed(obj: Mapping[str, Any]) -> dict[str, Any]:
    shown = copy.deepcopy(dict(obj))
    meta = shown.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)  # kubectl diff hides them too (--show-managed-fields=false)
    return shown


def object_yaml(obj: Mapping[str, Any]) -> str:
    """The object as ``kubectl diff`` shows it: YAML, keys sorted, managedFields left out."""
    return yaml.safe_dump(_displayed(obj), sort_keys=True, default_flow_style=False, allow_unicode=True)


def unified_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """A unified diff of the two objects' YAML with ``kubectl diff``'s ``diff -u -N`` headers ("" when equal)."""
    api_version = str(before.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    meta = before.get("metadata") if isinstance(before.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    parts = [
        p
        for p in (group, version, str(before.get("kind") or ""), meta.get("namespace"), meta.get("name"))
        if p
    ]
    label = ".".join(str(p) for p in parts)
    live, merged = f"LIVE/{label}", f"MERGED/{label}"
    lines = list(
        difflib.unified_diff(
            object_yaml(before).splitlines(keepends=True),
            object_yaml(after).splitlines(keepends=True),
            fromfile=live,
            tofile=merged,
        )
    )
    if not lines:
        return ""
    return f"diff -u -N {live} {merged}\n" + "".join(lines)
