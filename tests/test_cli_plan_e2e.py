"""`plan` against the fake HTTPS API server through the real kubernetes client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.fakeapi import FakeKubeAPI
from tests.fixture_files import load_kind
from tests.nodes import controller_deployment

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_V0151 = ROOT / "examples" / "runtime-v0.15.1.yaml"


def _controller(tag: str) -> dict[str, Any]:
    return controller_deployment(f"kserve/kserve-controller:{tag}")


def _isvc(name: str, worker_spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "serving.kserve.io/autoscalerClass": "none",
            },
        },
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": "huggingface"}, "storageUri": "pvc://models/llama"},
                "workerSpec": worker_spec,
            }
        },
    }


def _cluster(fake_api: FakeKubeAPI, tag: str) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(*load_kind(str(ROOT / "examples" / "cluster-2x8-h100.yaml"), "Node"))
    fake_api.add(_controller(tag))
    fake_api.add(*yaml.safe_load_all(RUNTIME_V0151.read_text()))


def test_plan_isvc_takes_the_wish_from_the_inferenceservice_and_corrects_it(
    fake_api: FakeKubeAPI, run_cli: Any
) -> None:
    _cluster(fake_api, "v0.15.1")
    fake_api.add(_isvc("llama", {"tensorParallelSize": 16}))
    result = run_cli("plan", "--isvc", "llama", "-n", "team-a", "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    rec = data["recommendation"]
    assert (rec["pipelineParallelSize"], rec["tensorParallelSize"]) == (2, 8)
    assert any("PP=1 x TP=16" in w for w in data["warnings"])
    assert fake_api.requests(
        "GET", "/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices/llama"
    )


def test_plan_isvc_keeps_a_wish_that_already_works(fake_api: FakeKubeAPI, run_cli: Any) -> None:
    _cluster(fake_api, "v0.15.1")
    fake_api.add(_isvc("small", {"pipelineParallelSize": 2, "tensorParallelSize": 4}))
    result = run_cli("plan", "--isvc", "small", "-n", "team-a", "-o", "json")
    assert result.exit_code == 0, result.stderr
    rec = json.loads(result.stdout)["recommendation"]
    assert (rec["pipelineParallelSize"], rec["tensorParallelSize"], rec["matchesRequest"]) == (2, 4, True)


def test_plan_isvc_of_a_missing_object_is_exit_3(fake_api: FakeKubeAPI, run_cli: Any) -> None:
    _cluster(fake_api, "v0.15.1")
    result = run_cli("plan", "--isvc", "nope", "-n", "team-a")
    assert result.exit_code == 3
    assert "nope" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_plan_on_a_v0150_cluster_uses_its_rules(fake_api: FakeKubeAPI, run_cli: Any) -> None:
    _cluster(fake_api, "v0.15.0")
    result = run_cli("plan", "--tensor-parallel-size", "16", "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kserveVersion"] == "v0.15.0"
    assert data["inferenceServicePatch"] == {
        "spec": {"predictor": {"workerSpec": {"pipelineParallelSize": 2, "tensorParallelSize": 8}}}
    }
    assert any(r["layout"] == "PP=1 x TP=16" and ">= 2" in r["reason"] for r in data["rejected"])


def test_plan_counts_gpus_held_by_running_pods(fake_api: FakeKubeAPI, run_cli: Any) -> None:
    _cluster(fake_api, "v0.16.0")
    fake_api.add(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "training", "namespace": "research"},
            "spec": {
                "nodeName": "gpu-h100-a",
                "containers": [{"name": "t", "resources": {"limits": {"nvidia.com/gpu": "4"}}}],
            },
            "status": {"phase": "Running"},
        }
    )
    result = run_cli("plan", "--gpus", "16", "-o", "json")
    # Exit 0 means "apply this now"; a layout that fits only the capacity is printed and exits 1.
    assert result.exit_code == 1, result.stderr
    assert "warning: no layout fits the GPUs free right now" in result.stderr
    data = json.loads(result.stdout)
    assert data["pools"][0]["freeGpus"] == 12
    # 12 free GPUs cannot hold 16 in any layout: the best capacity fit is shown, flagged, with a warning.
    rec = data["recommendation"]
    assert (rec["pipelineParallelSize"], rec["tensorParallelSize"], rec["fitsNow"]) == (2, 8, False)
    assert any("no layout fits the GPUs free right now" in w for w in data["warnings"])
