"""Builders and fixture loaders for the LLMInferenceService tests (provenance: tests/fixtures/llmisvc/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kubectl_kserve_mn.kserve.eras import Era, KServeVersion, era_for, from_flag, parse_version

LLMISVC_FIXTURES = Path(__file__).parent / "fixtures" / "llmisvc"
SAMPLES = LLMISVC_FIXTURES / "samples"
PRESETS = LLMISVC_FIXTURES / "presets"
TAGS = ("v0.16.0", "v0.17.0", "v0.18.0", "v0.19.0", "v0.20.0")


def era(tag: str) -> Era:
    return era_for(parse_version(tag))


def kv(tag: str) -> KServeVersion:
    return from_flag(tag)


def sample(name: str) -> dict[str, Any]:
    """One of KServe's samples, e.g. ``llm-inference-service-dp-ep-deepseek-r1-gpu-naive``."""
    data: dict[str, Any] = yaml.safe_load((SAMPLES / f"{name}.yaml").read_text())
    return data


def pod(
    gpus: int | None = None,
    *,
    name: str = "main",
    resource: str = "nvidia.com/gpu",
    limits_only: bool = False,
) -> dict[str, Any]:
    """A pod template with one container asking for ``gpus`` (no resources when None)."""
    container: dict[str, Any] = {"name": name}
    if gpus is not None:
        amount = str(gpus)
        container["resources"] = (
            {"limits": {resource: amount}}
            if limits_only
            else {"limits": {resource: amount}, "requests": {resource: amount}}
        )
    return {"containers": [container]}


def llmisvc(
    name: str = "llama",
    namespace: str | None = "team-a",
    *,
    version: str = "v1alpha2",
    parallelism: dict[str, Any] | None = None,
    template: dict[str, Any] | None = None,
    worker: dict[str, Any] | None = None,
    replicas: int | None = None,
    prefill: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": {"uri": "hf://meta-llama/Llama-3.1-8B", "name": "meta-llama/Llama-3.1-8B"}
    }
    if parallelism is not None:
        body["parallelism"] = parallelism
    if template is not None:
        body["template"] = template
    if worker is not None:
        body["worker"] = worker
    if replicas is not None:
        body["replicas"] = replicas
    if prefill is not None:
        body["prefill"] = prefill
    body.update(spec)
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {
        "apiVersion": f"serving.kserve.io/{version}",
        "kind": "LLMInferenceService",
        "metadata": meta,
        "spec": body,
    }
