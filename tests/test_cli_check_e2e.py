"""`check` end to end: the real kubernetes client against the fake HTTPS API server (issue 3).

Fixtures: KServe's real CRDs (tests/fixtures/crds) and the kserve-huggingfaceserver-multinode
ClusterServingRuntime each release ships (tests/fixtures/kserve/runtimes; provenance in the READMEs
beside them). The KServe version is detected as on a real cluster: from the image tag of the
kserve-controller-manager Deployment.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import CliResult
from tests.fakeapi import FakeKubeAPI
from tests.fixture_files import kserve_runtime as runtime
from tests.nodes import controller_deployment, gpu_node

LLAMA_405B = Path(__file__).parent / "fixtures" / "models" / "meta-llama--Meta-Llama-3.1-405B.json"
GPU = "nvidia.com/gpu"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
ISVCS_ALL = "/apis/serving.kserve.io/v1beta1/inferenceservices"

Run = Callable[..., CliResult]


def controller(version: str) -> dict[str, Any]:
    return controller_deployment(f"kserve/kserve-controller:{version}")


def seed(
    version: str, name: str = "llama", namespace: str = "team-a", *, gpus: int | None = None, **extra: Any
) -> dict[str, Any]:
    """The seed case: TP=16 on 2 nodes x 8 GPUs, PP left to the runtime, written for ``version``'s
    autoscaler rule; ``gpus``: GPU requests on head and worker (None: none, the v0.15.1 way)."""
    annotations = {
        "serving.kserve.io/deploymentMode": "RawDeployment",
        "serving.kserve.io/autoscalerClass": "external" if version == "v0.15.0" else "none",
        **extra.pop("annotations", {}),
    }
    model: dict[str, Any] = {"modelFormat": {"name": "huggingface"}, "storageUri": "pvc://models/llama-405b"}
    worker: dict[str, Any] = {"tensorParallelSize": extra.pop("tp", 16)}
    if "pp" in extra:
        worker["pipelineParallelSize"] = extra.pop("pp")
    if gpus is not None:
        resources = {"requests": {GPU: str(gpus)}, "limits": {GPU: str(gpus)}}
        model["resources"] = resources
        worker["containers"] = [{"name": "worker-container", "resources": resources}]
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"predictor": {"model": model, "workerSpec": worker}},
    }


def single_node(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://m"}}},
    }


def install(fake_api: FakeKubeAPI, version: str, *isvcs: dict[str, Any], nodes: int = 2) -> None:
    fake_api.load_kserve_crds("v0.15.0" if version == "v0.15.0" else "master")
    fake_api.add(controller(version), runtime(version))
    fake_api.add(*(gpu_node(f"gpu-{i}") for i in range(nodes)))
    fake_api.add(*isvcs)


def pending_pod(name: str, isvc: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {ISVC_LABEL: isvc}},
        "spec": {"containers": [{"name": "kserve-container", "resources": {"limits": {GPU: "16"}}}]},
        "status": {"phase": "Pending"},
    }


def failed_scheduling(pod: str, namespace: str, message: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.17f0c0ffee", "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": namespace},
        "reason": "FailedScheduling",
        "type": "Warning",
        "message": message,
    }


def check_json(run_cli: Run, *args: str) -> tuple[CliResult, dict[str, Any]]:
    result = run_cli("check", *args, "-o", "json")
    assert result.stdout, result.stderr
    return result, json.loads(result.stdout)


def item(doc: dict[str, Any], namespace: str, name: str) -> dict[str, Any]:
    return next(
        i
        for i in doc["items"]
        if i["kind"] == "InferenceService" and (i["namespace"], i["name"]) == (namespace, name)
    )


def codes(report: dict[str, Any]) -> list[str]:
    return [f["code"] for f in report["findings"]]


def finding(report: dict[str, Any], code: str) -> dict[str, Any]:
    return next(f for f in report["findings"] if f["code"] == code)


# --- the seed case on both eras, version from the controller image ----------------------------------------


def test_v0150_seed_tp16_pods_exceed_8_gpu_nodes_and_exit_1(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, "v0.15.0", seed("v0.15.0"))
    result, doc = check_json(run_cli, "llama", "-n", "team-a")
    assert (doc["kserveVersion"], doc["kserveVersionSource"]) == ("v0.15.0", "controller-image")
    report = item(doc, "team-a", "llama")
    assert report["admission"] == {"allowed": True, "message": None}
    layout = report["layout"]
    # v0.15.0: PP from the runtime (2), every pod gets TP GPUs.
    assert (layout["pipelineParallelSize"], layout["tensorParallelSize"]) == (2, 16)
    assert layout["head"] == {"gpuResource": GPU, "gpus": 16}
    assert layout["worker"] == {"gpuResource": GPU, "gpus": 16, "replicas": 1}
    exceeds = finding(report, "pod-exceeds-node")
    assert exceeds["severity"] == "error" and "largest schedulable node has 8" in exceeds["message"]
    assert exceeds["suggestion"] == "kubectl kserve-mn fix llama -n team-a"
    assert result.exit_code == 1


def test_v0151_seed_without_gpu_requests_makes_16_single_gpu_pods_and_exit_0(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, "v0.15.1", seed("v0.15.1"))
    result, doc = check_json(run_cli, "llama", "-n", "team-a")
    assert doc["kserveVersion"] == "v0.15.1"
    report = item(doc, "team-a", "llama")
    layout = report["layout"]
    assert (layout["pipelineParallelSize"], layout["tensorParallelSize"], layout["totalGpus"]) == (1, 16, 16)
    assert layout["nodeCount"] == 16
    assert layout["head"]["gpus"] == 1 and layout["worker"]["replicas"] == 15
    assert finding(report, "no-gpu-requests")["severity"] == "warning"
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    assert result.exit_code == 0, result.stderr


def test_v0151_seed_with_8_gpus_per_pod_is_clean(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, "v0.15.1", seed("v0.15.1", gpus=8))
    result, doc = check_json(run_cli, "llama", "-n", "team-a")
    report = item(doc, "team-a", "llama")
    # It fits; TP=16 over two pods on nodes with no NFD labels: the one (info) interconnect finding.
    assert report["layout"]["nodeCount"] == 2 and codes(report) == ["tp-spans-interconnect"]
    assert result.exit_code == 0


# --- several namespaces, -A and NAME selection ---------------------------------------------------------


def _three_namespaces(fake_api: FakeKubeAPI) -> None:
    install(
        fake_api,
        "v0.15.1",
        seed("v0.15.1", "llama", "team-a", gpus=8),
        seed("v0.15.1", "big", "team-b", gpus=16),
        seed("v0.15.1", "llama", "team-b", gpus=8),
        single_node("iris", "team-c"),
    )


def test_all_namespaces_checks_every_multinode_isvc(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    _three_namespaces(fake_api)
    result, doc = check_json(run_cli, "-A")
    isvcs = {(i["namespace"], i["name"]) for i in doc["items"] if i["kind"] == "InferenceService"}
    assert isvcs == {("team-a", "llama"), ("team-b", "big"), ("team-b", "llama")}
    assert any("without workerSpec" in n for n in doc["notes"])  # iris
    # 16 GPUs asked per pod on 8-GPU nodes: the one error, and the reason for exit 1.
    assert "pod-exceeds-node" in codes(item(doc, "team-b", "big"))
    assert codes(item(doc, "team-a", "llama")) == ["tp-spans-interconnect"]  # info: TP=16 over two pods
    runtimes = [i for i in doc["items"] if i["kind"] == "ClusterServingRuntime"]
    assert [r["name"] for r in runtimes] == ["kserve-huggingfaceserver-multinode"]
    assert result.exit_code == 1


def test_without_flags_only_the_contexts_namespace_is_checked(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    _three_namespaces(fake_api)  # the kubeconfig's context namespace is team-a
    result, doc = check_json(run_cli)
    assert {i["namespace"] for i in doc["items"] if i["kind"] == "InferenceService"} == {"team-a"}
    assert result.exit_code == 0


def test_name_selects_one_isvc_in_the_namespace(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    _three_namespaces(fake_api)
    result, doc = check_json(run_cli, "llama", "-n", "team-b")
    assert [(i["namespace"], i["name"]) for i in doc["items"] if i["kind"] == "InferenceService"] == [
        ("team-b", "llama")
    ]
    assert fake_api.requests(
        "GET", "/apis/serving.kserve.io/v1beta1/namespaces/team-b/inferenceservices/llama"
    )
    assert result.exit_code == 0


def test_unknown_name_is_a_one_line_not_found_exit_3(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    _three_namespaces(fake_api)
    result = run_cli("check", "nope", "-n", "team-b")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and '"nope" not found' in result.stderr


def test_name_and_all_namespaces_together_are_a_usage_error(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    result = run_cli("check", "llama", "-A")
    assert result.exit_code == 2 and "-A" in result.stderr
    assert fake_api.requests() == []


# --- existing pods: Pending with FailedScheduling ---------------------------------------------------------


def test_pending_pod_with_gpu_failed_scheduling_event_is_reported_with_its_cause(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, "v0.15.0", seed("v0.15.0"))
    event = "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."
    fake_api.add(
        pending_pod("llama-predictor-7d9f-x2x", "llama", "team-a"),
        failed_scheduling("llama-predictor-7d9f-x2x", "team-a", event),
        # Another ISVC's event in the same namespace must not be attributed to this one.
        failed_scheduling(
            "other-predictor-1", "team-a", "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."
        ),
    )
    result, doc = check_json(run_cli, "-n", "team-a")
    pending = finding(item(doc, "team-a", "llama"), "pods-pending")
    assert pending["severity"] == "error"
    assert (
        "llama-predictor-7d9f-x2x: 0/2 nodes are available: 2 Insufficient nvidia.com/gpu"
        in pending["message"]
    )
    assert "other-predictor-1" not in pending["message"]
    assert "Cause: see pod-exceeds-node above" in pending["message"]
    events = fake_api.requests("GET", "/api/v1/namespaces/team-a/events")
    assert events and events[0].param("fieldSelector") == "reason=FailedScheduling"
    # One list of the namespace's InferenceService pods, grouped on the client (not one per object).
    pods = fake_api.requests("GET", "/api/v1/namespaces/team-a/pods")
    assert [p.param("labelSelector") for p in pods] == [ISVC_LABEL]
    assert result.exit_code == 1


def test_running_pods_do_not_read_events(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, "v0.15.1", seed("v0.15.1", gpus=8))
    pod = pending_pod("llama-predictor-0", "llama", "team-a")
    pod["status"]["phase"] = "Running"
    fake_api.add(pod)
    result, _ = check_json(run_cli, "-n", "team-a")
    assert not fake_api.requests("GET", "/api/v1/namespaces/team-a/events")
    assert result.exit_code == 0


# --- API errors -----------------------------------------------------------------------------------------


def test_missing_inferenceservice_crd_is_one_line_exit_3(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    fake_api.add(gpu_node("gpu-0"))
    for args in (["--kserve-version", "v0.15.1"], []):  # explicit version, and version detection
        result = run_cli("check", "-A", *args)
        assert result.exit_code == 3, result.stderr
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "inferenceservices.serving.kserve.io" in lines[0] and "not found" in lines[0]


def test_forbidden_namespace_during_all_namespaces_reports_the_rest_and_exits_3(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(
        fake_api,
        "v0.15.1",
        seed("v0.15.1", "llama", "team-a", gpus=8),
        seed("v0.15.1", "llama", "team-b", gpus=8),
        seed("v0.15.1", "secret-llm", "team-secret", gpus=8),
    )
    # RBAC granted per namespace: no cluster-wide list, and nothing in team-secret.
    fake_api.fail("GET", ISVCS_ALL, 403)
    fake_api.fail("GET", "/apis/serving.kserve.io/v1beta1/namespaces/team-secret/inferenceservices", 403)
    result, doc = check_json(run_cli, "-A")
    isvcs = {(i["namespace"], i["name"]) for i in doc["items"] if i["kind"] == "InferenceService"}
    assert isvcs == {("team-a", "llama"), ("team-b", "llama")}
    assert [u for u in doc["unreadable"] if "team-secret" in u and "forbidden (403)" in u]
    assert 'namespace "team-secret"' in result.stderr and "warning:" in result.stderr
    assert result.exit_code == 3
    table = run_cli("check", "-A")
    assert "team-a" in table.stdout and "partial result" in table.stdout
    assert table.exit_code == 3


def test_forbidden_everywhere_is_one_line_exit_3(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, "v0.15.1", seed("v0.15.1", gpus=8))
    fake_api.fail("GET", ISVCS_ALL, 403)
    fake_api.fail("GET", "/api/v1/namespaces", 403)
    result = run_cli("check", "-A")
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) == 1 and "forbidden (403)" in result.stderr


def test_unauthorized_is_one_line_exit_3_without_the_token(
    fake_api: FakeKubeAPI, run_cli: Run, tmp_path: Path
) -> None:
    install(fake_api, "v0.15.1", seed("v0.15.1", gpus=8))
    bad = fake_api.write_kubeconfig(tmp_path / "bad-kubeconfig", token="wrong-token-abcdef")
    result = run_cli("check", "-A", "--kubeconfig", str(bad))
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) == 1 and "unauthorized (401)" in result.stderr
    assert "wrong-token-abcdef" not in result.stderr


# --- the JSON contract -------------------------------------------------------------------------------------


def test_json_has_the_issue_contract_keys(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, "v0.15.1", seed("v0.15.1", gpus=8), seed("v0.15.1", "big", gpus=16))
    result, doc = check_json(run_cli, "-n", "team-a")
    assert {"kserveVersion", "items"} <= set(doc)
    for report in doc["items"]:
        assert {"kind", "namespace", "name", "admission", "layout", "findings"} <= set(report)
        assert set(report["admission"]) >= {"allowed", "message"}
        if report["kind"] != "InferenceService":
            continue
        layout = report["layout"]
        assert {
            "pipelineParallelSize", "tensorParallelSize", "totalGpus", "nodeCount", "head", "worker",
            "controllerError",
        } <= set(layout)  # fmt: skip
        assert set(layout["head"]) >= {"gpuResource", "gpus"}
        assert set(layout["worker"]) >= {"gpuResource", "gpus", "replicas"}
        for f in report["findings"]:
            assert set(f) >= {"code", "severity", "message", "suggestion"}
            assert f["severity"] in ("error", "warning", "info")
    assert [f["severity"] for f in item(doc, "team-a", "big")["findings"]].count("error") >= 1
    assert result.exit_code == 1  # any error finding


def test_yaml_output_is_the_json_document_with_the_verdicts_in_it(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, "v0.15.1", seed("v0.15.1", gpus=8))
    as_json = json.loads(run_cli("check", "-o", "json").stdout)
    result = run_cli("check", "-o", "yaml")
    doc = yaml.safe_load(result.stdout)
    assert doc == as_json
    assert (result.exit_code, result.stderr) == (0, "")
    assert (doc["kserveVersion"], doc["kserveVersionSource"]) == ("v0.15.1", "controller-image")
    assert (doc["unreadable"], doc["notes"], doc["warnings"]) == ([], [], [])
    isvc, csr = doc["items"]
    assert (isvc["kind"], isvc["namespace"], isvc["name"]) == ("InferenceService", "team-a", "llama")
    assert isvc["runtime"] == "ClusterServingRuntime/kserve-huggingfaceserver-multinode"
    assert isvc["admission"] == {"allowed": True, "message": None}
    # TP=16 with 8 GPUs requested per pod: KServe v0.15.1 makes RAY_NODE_COUNT = ceil(16 / 8) = 2 pods.
    assert isvc["layout"] == {
        "backend": "ray",
        "pipelineParallelSize": 1,
        "tensorParallelSize": 16,
        "totalGpus": 16,
        "nodeCount": 2,
        "head": {"gpuResource": GPU, "gpus": 8},
        "worker": {"gpuResource": GPU, "gpus": 8, "replicas": 1},
        "controllerError": None,
        "memory": None,
    }
    assert [(f["code"], f["severity"]) for f in isvc["findings"]] == [("tp-spans-interconnect", "info")]
    assert isvc["findings"][0]["suggestion"] == (
        "keep tensor parallelism inside a pod: kubectl kserve-mn fix llama -n team-a "
        "--tensor-parallel-size 8 --pipeline-parallel-size 2"
    )
    assert (csr["kind"], csr["name"], csr["admission"]["allowed"], csr["findings"]) == (
        "ClusterServingRuntime",
        "kserve-huggingfaceserver-multinode",
        True,
        [],
    )


# --- issue 6 on a cluster: the model from the annotation --------------------------------------------------


def test_model_annotation_on_the_cluster_suggests_fix_with_the_model(
    fake_api: FakeKubeAPI, run_cli: Run, tmp_path: Path
) -> None:
    config = tmp_path / "llama-405b.json"
    shutil.copy(LLAMA_405B, config)
    heads = json.loads(config.read_text())["num_attention_heads"]
    annotated = seed("v0.15.1", gpus=6, tp=12, annotations={"kserve-mn/model": str(config)})
    broken = seed(
        "v0.15.1", "broken", gpus=8, tp=8, pp=2, annotations={"kserve-mn/model": str(tmp_path / "gone")}
    )
    install(fake_api, "v0.15.1", annotated, broken)
    result, doc = check_json(run_cli, "-n", "team-a")
    llama = item(doc, "team-a", "llama")
    rule = finding(llama, "model-heads-not-divisible")
    assert f"({heads}) must be divisible by tensor parallel size (12)" in rule["message"]
    assert rule["suggestion"] == f"kubectl kserve-mn fix llama -n team-a --model {config}"
    # The nodes' nvidia.com/gpu.memory label (tests/nodes.py: 81559 MiB) sizes the memory.
    assert llama["layout"]["memory"]["gpuMemoryBytes"] == 81559 << 20
    assert llama["model"]["attentionHeads"] == heads
    gone = item(doc, "team-a", "broken")
    assert finding(gone, "model-unreadable")["severity"] == "error"
    assert gone["layout"]["nodeCount"] == 2  # the rest of the item is still checked
    assert result.exit_code == 1
