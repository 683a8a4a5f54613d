"""Reading Kubernetes objects from files (offline mode): YAML or JSON, one object, a List,
or several YAML documents; ``-`` reads standard input."""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml

from kubectl_kserve_mn.errors import InputError


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise InputError(f"cannot read {path}: not UTF-8 text") from err


def parse_objects(text: str, source: str) -> list[dict[str, Any]]:
    """Every Kubernetes object in ``text``: Lists are flattened, empty documents skipped."""
    try:
        if text.lstrip().startswith(("{", "[")):
            documents: list[Any] = [json.loads(text)]
        else:
            documents = list(yaml.safe_load_all(text))
    except (yaml.YAMLError, json.JSONDecodeError) as err:
        where = ""
        mark = getattr(err, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        elif isinstance(err, json.JSONDecodeError):
            where = f" (line {err.lineno}, column {err.colno})"
        problem = getattr(err, "problem", None) or getattr(err, "msg", None) or str(err)
        raise InputError(f"{source}: malformed YAML/JSON{where}: {problem}") from err
    objects: list[dict[str, Any]] = []
    for doc in documents:
        _collect(doc, source, objects)
    return objects


def _collect(doc: Any, source: str, out: list[dict[str, Any]]) -> None:
    if doc is None:
        return
    if isinstance(doc, list):
        for item in doc:
            _collect(item, source, out)
        return
    if not isinstance(doc, dict):
        raise InputError(f"{source}: expected Kubernetes objects, found {type(doc).__name__}")
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            _collect(item, source, out)
        return
    if not isinstance(kind, str) or not kind:
        raise InputError(f"{source}: an object without 'kind'")
    out.append(doc)


def load_objects(path: str) -> list[dict[str, Any]]:
    return parse_objects(_read_text(path), "<stdin>" if path == "-" else path)


def load_kind(path: str, kind: str) -> list[dict[str, Any]]:
    """Objects of one kind from a file, e.g. the Nodes of ``kubectl get nodes -o yaml``."""
    objects = load_objects(path)
    wrong = sorted({str(obj.get("kind")) for obj in objects if obj.get("kind") != kind})
    if wrong:
        raise InputError(f"{path}: expected {kind} objects, found {', '.join(wrong)}")
    return objects
