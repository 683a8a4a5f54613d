"""Files and standard input as documents: YAML or JSON, one object, a List, or several YAML documents.

Bounded like kubectl's own reader, so a hostile or broken file costs a second, not a minute:
- JSON goes to the JSON parser (several times faster than YAML on ``kubectl get -o json`` output);
  nesting deeper than the parser allows is refused, not a crash.
- YAML goes to libyaml (``yaml.CSafeLoader``) when PyYAML was built with it, else the pure-Python
  loader. libyaml refuses nesting deeper than 1,000 levels itself.
- YAML aliases are shared, not copied, when loaded; anything that walks the result (the typed decoder,
  a deep copy) expands them. A document whose aliases expand to far more values than its text holds is
  refused like kubectl refuses it ("excessive aliasing"), before anything expands it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from kubectl_kserve_mn.inputs.problems import BadInput

_YamlLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STDIN = "-"

_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s\[\]{},]")
"""An anchor (``&name``) in YAML text: without one there can be no alias to expand."""

EXPANSION_FLOOR = 100_000
"""Values a document may always expand to; above it, at most ``EXPANSION_PER_CHAR`` per character."""
EXPANSION_PER_CHAR = 4


def source_name(path: str) -> str:
    return "<stdin>" if path == STDIN else path


def read_bytes(path: str) -> bytes:
    """The bytes of a file, or of standard input for ``-``."""
    if path == STDIN:
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except IsADirectoryError:
        raise BadInput("is a directory, not a file", source=path) from None
    except OSError as err:
        raise BadInput(f"cannot read it: {err.strerror or err}", source=path) from None


def decode_text(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadInput(f"not UTF-8 text (byte {err.start})", source=source) from None


def looks_like_json(text: str | bytes) -> bool:
    head = text[:64].lstrip()
    return head[:1] in ("{", "[", b"{", b"[")


def parse_documents(text: str, source: str) -> list[Any]:
    """The documents in ``text`` (YAML or JSON), empty documents dropped."""
    if looks_like_json(text):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as err:
            raise BadInput(
                f"malformed JSON (line {err.lineno}, column {err.colno}): {err.msg}", source=source
            ) from None
        except RecursionError:
            raise BadInput("nested too deeply to be a Kubernetes object", source=source) from None
        except ValueError as err:  # e.g. an integer of more digits than Python converts
            raise BadInput(f"malformed JSON: {' '.join(str(err).split())}", source=source) from None
    try:
        documents = [doc for doc in yaml.load_all(text, Loader=_YamlLoader) if doc is not None]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        if "maximum nesting depth" in problem:
            raise BadInput("nested too deeply to be a Kubernetes object", source=source) from None
        raise BadInput(f"malformed YAML{where}: {' '.join(problem.split())}", source=source) from None
    except RecursionError:
        raise BadInput("nested too deeply to be a Kubernetes object", source=source) from None
    if _ANCHOR.search(text):
        check_expansion(documents, max(EXPANSION_FLOOR, EXPANSION_PER_CHAR * len(text)), source)
    return documents


def check_expansion(documents: list[Any], budget: int, source: str) -> None:
    """Refuse documents whose aliases expand to more than ``budget`` values (a "billion laughs")."""
    stack: list[Any] = list(documents)
    seen = 0
    while stack:
        value = stack.pop()
        seen += 1
        if seen > budget:
            raise BadInput(
                f"excessive aliasing: its YAML aliases expand to more than {budget:,} values",
                source=source,
            )
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


@dataclass(frozen=True)
class SourcedObject:
    """One Kubernetes object of a file and where it came from (for messages)."""

    obj: dict[str, Any]
    source: str
    index: int
    """1-based position among the objects of its source."""


def flatten(documents: list[Any], source: str) -> Iterator[tuple[dict[str, Any], int]]:
    """Every object of ``documents``, ``kind: *List`` flattened, with its 1-based position."""
    count = 0
    stack: list[Any] = list(reversed(documents))
    while stack:
        doc = stack.pop()
        if doc is None:
            continue
        if isinstance(doc, list):
            stack.extend(reversed(doc))
            continue
        count += 1
        if not isinstance(doc, dict):
            raise BadInput(
                f"item #{count}: expected a Kubernetes object (a mapping with apiVersion and kind), "
                f"found {_kind_of(doc)}",
                source=source,
            )
        kind = doc.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and "items" in doc:
            items = doc["items"]
            if items is None:
                count -= 1
                continue
            if not isinstance(items, list):
                raise BadInput(f"{kind}: items: {_kind_of(items)} is not a list", source=source)
            count -= 1
            stack.extend(reversed(items))
            continue
        if not isinstance(kind, str) or not kind:
            raise BadInput(
                f"item #{count}: an object without a kind (kind: {json.dumps(kind)})", source=source
            )
        yield doc, count


def _kind_of(value: Any) -> str:
    from kubectl_kserve_mn.inputs.problems import describe_value

    return describe_value(value)


def load_objects(path: str) -> list[SourcedObject]:
    """Every Kubernetes object in a file (``-``: standard input)."""
    source = source_name(path)
    text = decode_text(read_bytes(path), source)
    return [
        SourcedObject(obj, source, index) for obj, index in flatten(parse_documents(text, source), source)
    ]
