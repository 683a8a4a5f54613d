"""Runtime selection and the ISVC-over-runtime merge (SEMANTICS §3.1)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from kubectl_kserve_mn.kserve.eras import era_for, parse_version
from kubectl_kserve_mn.kserve.runtimes import (
    effective_parallelism,
    merged_head_container,
    merged_worker_container,
    runtimes_by_namespace,
    runtimes_in_scope,
    select_runtime,
    shipped_runtime,
)
from tests.fixture_files import load_objects

FIXTURES = Path(__file__).parent / "fixtures" / "kserve"
V0150 = era_for(parse_version("v0.15.0"))
V0151 = era_for(parse_version("v0.15.1"))
V020 = era_for(parse_version("v0.20.0"))


def load(path: str) -> dict[str, Any]:
    (obj,) = load_objects(str(FIXTURES / path))
    return obj


def csr() -> dict[str, Any]:
    return load("runtimes/kserve-huggingfaceserver-multinode.install-v0.20.0.yaml")


def as_sr(rt: dict[str, Any], name: str, namespace: str | None = "ml") -> dict[str, Any]:
    out = copy.deepcopy(rt)
    out["kind"] = "ServingRuntime"
    out["metadata"] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return out


def isvc(runtime: str | None = None, version: str | None = None, multinode: bool = True) -> dict[str, Any]:
    model: dict[str, Any] = {"modelFormat": {"name": "huggingface"}, "storageUri": "pvc://m/x"}
    if version:
        model["modelFormat"]["version"] = version
    if runtime:
        model["runtime"] = runtime
    predictor: dict[str, Any] = {"model": model}
    if multinode:
        predictor["workerSpec"] = {}
    return {
        "kind": "InferenceService",
        "metadata": {"name": "llama", "namespace": "ml"},
        "spec": {"predictor": predictor},
    }


def test_docs_example_named_runtime_is_the_shipped_csr() -> None:
    obj = load("docs-examples/isvc-multinode.website-master.2.yaml")
    choice = select_runtime(obj, [csr()])
    assert choice.error is None
    assert (choice.kind, choice.name) == ("ClusterServingRuntime", "kserve-huggingfaceserver-multinode")


def test_namespaced_runtime_wins_over_cluster_runtime_of_same_name() -> None:
    sr = as_sr(csr(), "kserve-huggingfaceserver-multinode")
    choice = select_runtime(isvc("kserve-huggingfaceserver-multinode"), [csr(), sr])
    assert choice.kind == "ServingRuntime"


def test_runtime_in_another_namespace_does_not_count() -> None:
    sr = as_sr(csr(), "mine", namespace="other")
    choice = select_runtime(isvc("mine"), [sr])
    assert choice.runtime is None
    assert choice.error == "No ServingRuntimes or ClusterServingRuntimes with the name: mine"


def test_named_disabled_runtime_is_an_error() -> None:
    rt = csr()
    rt["spec"]["disabled"] = True
    assert select_runtime(isvc("kserve-huggingfaceserver-multinode"), [rt]).error == (
        "specified runtime kserve-huggingfaceserver-multinode is disabled"
    )


def test_named_runtime_must_support_the_format() -> None:
    obj = isvc("kserve-huggingfaceserver-multinode")
    obj["spec"]["predictor"]["model"]["modelFormat"]["name"] = "sklearn"
    assert select_runtime(obj, [csr()]).error == (
        "specified runtime kserve-huggingfaceserver-multinode does not support specified framework/version"
    )


def test_auto_selection_needs_a_multinode_runtime() -> None:
    single = as_sr(csr(), "single")
    del single["spec"]["workerSpec"]
    assert select_runtime(isvc(), [single]).runtime is None
    assert select_runtime(isvc(), [single, csr()]).name == "kserve-huggingfaceserver-multinode"
    assert select_runtime(isvc(multinode=False), [single, csr()]).name == "single"


def test_auto_selection_matches_format_version() -> None:
    assert select_runtime(isvc(version="1"), [csr()]).runtime is not None
    assert select_runtime(isvc(version="2"), [csr()]).runtime is None


def test_auto_selection_skips_autoselect_false_and_disabled() -> None:
    off = as_sr(csr(), "off")
    off["spec"]["supportedModelFormats"][0]["autoSelect"] = False
    disabled = as_sr(csr(), "disabled")
    disabled["spec"]["disabled"] = True
    assert select_runtime(isvc(), [off, disabled]).runtime is None


def test_auto_selection_prefers_namespaced_then_higher_priority() -> None:
    low = as_sr(csr(), "low")
    low["spec"]["supportedModelFormats"][0]["priority"] = 1
    high = as_sr(csr(), "high")
    high["spec"]["supportedModelFormats"][0]["priority"] = 5
    assert select_runtime(isvc(), [csr(), low, high]).name == "high"
    assert select_runtime(isvc(), [csr(), low]).name == "low"  # namespaced before cluster-scoped


def test_runtimes_grouped_by_namespace_give_every_object_the_choice_the_whole_list_gives() -> None:
    # check -A picks each InferenceService's runtime from its namespace's group plus the cluster-scoped
    # ones; named, auto-selected, shadowed and missing runtimes must come out as from the full list.
    runtimes: list[dict[str, Any]] = []
    for ns in ("ml", "team-a", "team-b"):
        runtimes.append(as_sr(csr(), "kserve-huggingfaceserver-multinode", ns))  # shadows the CSR by name
        prioritised = as_sr(csr(), f"fast-{ns}", ns)
        prioritised["spec"]["supportedModelFormats"][0]["priority"] = 9
        runtimes.append(prioritised)
    runtimes.append(csr())
    groups = runtimes_by_namespace(runtimes)
    assert sorted(groups, key=str) == [None, "ml", "team-a", "team-b"]
    for ns in ("ml", "team-a", "team-b", "team-c"):
        for named in (None, "kserve-huggingfaceserver-multinode", "fast-ml", "absent"):
            obj = isvc(named)
            obj["metadata"]["namespace"] = ns
            whole, scoped = select_runtime(obj, runtimes), select_runtime(obj, runtimes_in_scope(groups, ns))
            assert (scoped.kind, scoped.name, scoped.error) == (whole.kind, whole.name, whole.error), (
                ns,
                named,
            )
    assert select_runtime({**isvc(), "metadata": {"name": "x", "namespace": "team-a"}}, runtimes).name == (
        "fast-team-a"
    )


def test_predictor_without_model_has_no_runtime() -> None:
    obj = isvc()
    del obj["spec"]["predictor"]["model"]
    choice = select_runtime(obj, [csr()])
    assert choice.runtime is None and choice.error


def test_merge_keeps_runtime_resources_and_adds_isvc_gpus() -> None:
    obj = isvc()
    obj["spec"]["predictor"]["model"]["resources"] = {"requests": {"nvidia.com/gpu": "8", "cpu": "8"}}
    obj["spec"]["predictor"]["model"]["env"] = [
        {"name": "HF_HUB_CACHE", "value": "/cache"},
        {"name": "NEW", "value": "1"},
    ]
    obj["spec"]["predictor"]["model"]["args"] = ["--max-model-len=8192"]
    head = merged_head_container(obj, csr())
    assert head["resources"]["requests"] == {"cpu": "8", "memory": "6Gi", "nvidia.com/gpu": "8"}
    assert head["resources"]["limits"] == {"cpu": "4", "memory": "12Gi"}
    env = {e["name"]: e.get("value") for e in head["env"]}
    assert env["HF_HUB_CACHE"] == "/cache" and env["NEW"] == "1" and env["RAY_PORT"] == "6379"
    assert head["args"] == ["--model_name={{.Name}}", "--max-model-len=8192"]
    assert head["image"] == "kserve/huggingfaceserver:v0.20.0-gpu"


def test_worker_merge_takes_isvc_container_of_any_name() -> None:
    obj = isvc()
    obj["spec"]["predictor"]["workerSpec"] = {
        "containers": [{"name": "x", "resources": {"limits": {"nvidia.com/gpu": "4"}}}]
    }
    worker = merged_worker_container(obj, csr())
    assert worker["name"] == "worker-container"
    assert worker["resources"]["limits"] == {"cpu": "4", "memory": "12Gi", "nvidia.com/gpu": "4"}
    assert worker["resources"]["requests"] == {"cpu": "2", "memory": "6Gi"}


@pytest.mark.parametrize(
    ("isvc_ws", "rt_ws", "era", "expected"),
    [
        ({}, {"pipelineParallelSize": 2, "tensorParallelSize": 1}, V0151, (2, 1)),
        ({"tensorParallelSize": 8}, {"pipelineParallelSize": 2, "tensorParallelSize": 1}, V0151, (2, 8)),
        ({"pipelineParallelSize": 3}, {}, V0151, (3, 1)),
        ({}, {}, V0151, (1, 1)),
        ({}, {}, V0150, (2, 1)),
    ],
)
def test_effective_parallelism_precedence(
    isvc_ws: dict[str, Any], rt_ws: dict[str, Any], era: Any, expected: tuple[int, int]
) -> None:
    obj = isvc()
    obj["spec"]["predictor"]["workerSpec"] = isvc_ws
    rt = {
        "kind": "ClusterServingRuntime",
        "metadata": {"name": "r"},
        "spec": {"workerSpec": {"containers": [], **rt_ws}},
    }
    assert effective_parallelism(obj, rt, era) == expected


@pytest.mark.parametrize(
    ("fixture", "era"),
    [
        ("runtimes/kserve-huggingfaceserver-multinode.install-v0.15.0.yaml", V0150),
        ("runtimes/kserve-huggingfaceserver-multinode.install-v0.15.1.yaml", V0151),
        ("runtimes/kserve-huggingfaceserver-multinode.install-v0.20.0.yaml", V020),
    ],
)
def test_shipped_runtime_matches_the_release_manifest(fixture: str, era: Any) -> None:
    real = load(fixture)["spec"]
    ours = shipped_runtime(era)["spec"]
    for key in ("supportedModelFormats", "protocolVersions", "annotations"):
        assert ours[key] == real[key], key
    assert ours["containers"][0]["resources"] == real["containers"][0]["resources"]
    assert ours["containers"][0]["name"] == real["containers"][0]["name"]
    for key in ("pipelineParallelSize", "tensorParallelSize"):
        assert ours["workerSpec"][key] == real["workerSpec"][key], key
    assert (
        ours["workerSpec"]["containers"][0]["resources"] == real["workerSpec"]["containers"][0]["resources"]
    )
    assert ours["workerSpec"]["containers"][0]["name"] == real["workerSpec"]["containers"][0]["name"]
