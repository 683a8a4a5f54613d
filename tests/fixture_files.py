"""Loaders for the reference files copied under tests/fixtures/ (provenance in the READMEs there)
and for the repository's scripts."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from kubectl_kserve_mn.inputs import documents
from kubectl_kserve_mn.model import ModelFacts, model_from_config

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
KSERVE_RUNTIMES = FIXTURES / "kserve" / "runtimes"
MODELS = FIXTURES / "models"


def load_objects(path: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of a YAML/JSON file, as dicts (read through the input boundary's loader)."""
    return [item.obj for item in documents.load_objects(path)]


def load_kind(path: str, kind: str) -> list[dict[str, Any]]:
    objects = load_objects(path)
    assert all(o.get("kind") == kind for o in objects), f"{path} holds objects other than {kind}"
    return objects


def kserve_runtime(release: str) -> dict[str, Any]:
    """The kserve-huggingfaceserver-multinode ClusterServingRuntime a KServe release installs (``v0.15.1``)."""
    (obj,) = load_objects(str(KSERVE_RUNTIMES / f"kserve-huggingfaceserver-multinode.install-{release}.yaml"))
    return obj


def model_config(name: str) -> dict[str, Any]:
    """A model's config.json, e.g. ``meta-llama--Meta-Llama-3.1-8B``."""
    data: dict[str, Any] = json.loads((MODELS / f"{name}.json").read_text())
    return data


def model_facts(name: str) -> ModelFacts:
    return model_from_config(model_config(name), name)


def load_script(name: str) -> ModuleType:
    """A script of scripts/ (e.g. ``krew_manifest``) imported as a module, to test its functions."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
