"""Object names on the command line, as kubectl writes them: ``NAME`` or ``TYPE/NAME``.

``check`` and ``fix`` take ``llmisvc/NAME`` for an LLMInferenceService (the CRD's short name, also what
shell completion offers, :mod:`kubectl_kserve_mn.cli.completion`), and ``isvc/NAME`` for an
InferenceService. The type is any name kubectl resolves for the resource: the short name, the singular,
the plural, each optionally qualified with the group (``llminferenceservices.serving.kserve.io/NAME``), in
any letter case, as kubectl's RESTMapper matches them. A bare ``NAME`` leaves the kind open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.errors import InputError

INFERENCE_SERVICE = "InferenceService"
LLM_INFERENCE_SERVICE = "LLMInferenceService"
GROUP = "serving.kserve.io"

_TYPES = {
    INFERENCE_SERVICE: ("isvc", "inferenceservice", "inferenceservices"),
    LLM_INFERENCE_SERVICE: ("llmisvc", "llminferenceservice", "llminferenceservices"),
}
_BY_TYPE = {
    spelled: kind for kind, names in _TYPES.items() for name in names for spelled in (name, f"{name}.{GROUP}")
}

KIND_CHOICES = ("inferenceservice", "isvc", "llminferenceservice", "llmisvc")
"""``--kind`` values (``fix``, ``plan``)."""


@dataclass(frozen=True)
class NameRef:
    """``kind`` None: a bare name, either kind."""

    kind: str | None
    name: str

    def matches(self, kind: str) -> bool:
        return self.kind is None or self.kind == kind

    def refers_to(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` (an API object) is the one named."""
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        return self.name == name and self.matches(str(obj.get("kind")))

    def __str__(self) -> str:
        return self.name if self.kind is None else f"{_TYPES[self.kind][0]}/{self.name}"


def kind_of_flag(value: str | None) -> str | None:
    """The kind a ``--kind`` value names (None when not given)."""
    if value is None:
        return None
    return _BY_TYPE[value.lower()]


def parse_name(text: str) -> NameRef:
    """``llama`` -> (None, llama); ``llmisvc/llama`` -> (LLMInferenceService, llama)."""
    prefix, slash, name = text.partition("/")
    if not slash:
        if not text.strip():
            raise InputError("an object name is empty")
        return NameRef(None, text)
    kind = _BY_TYPE.get(prefix.lower())
    if kind is None:
        raise InputError(
            f'{text}: the type "{prefix}" is not one this command handles: write llmisvc/NAME for an '
            "LLMInferenceService, isvc/NAME or NAME for an InferenceService"
        )
    if not name or "/" in name:
        raise InputError(f"{text}: expected TYPE/NAME with one name after the slash")
    return NameRef(kind, name)


def parse_names(texts: tuple[str, ...] | list[str]) -> list[NameRef]:
    """Every name, once, in the order given."""
    return list(dict.fromkeys(parse_name(t) for t in texts))
