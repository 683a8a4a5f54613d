"""LLMInferenceServices through `check` and `fix` end to end: our HTTPS client against the fake API server
serving the real v0.20.0 LLMInferenceService CRD (tests/fixtures/crds/llmisvc/v0.20.0), which type-checks
every patch, and trimmed LeaderWorkerSet / LLMInferenceServiceConfig CRDs (tests/fixtures/crds/trimmed,
provenance in tests/fixtures/crds/README.md). KServe's version comes from the controller image, as on a
real cluster (issue 10)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubectl_kserve_mn.cli import fix as fix_cli
from tests.conftest import CliResult
from tests.fakeapi import FakeKubeAPI
from tests.fixture_files import kserve_runtime as runtime
from tests.llmisvc_objects import llmisvc, pod
from tests.nodes import controller_deployment, gpu_node

Run = Callable[..., CliResult]
TRIMMED = Path(__file__).parent / "fixtures" / "crds" / "trimmed"
GPU = "nvidia.com/gpu"
LLM_PATH = "/apis/serving.kserve.io/v1alpha2/namespaces/team-a/llminferenceservices/llama"
LLM_ALL = "/apis/serving.kserve.io/v1alpha2/llminferenceservices"
PART_OF = "app.kubernetes.io/part-of=llminferenceservice"


def trimmed_crd(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((TRIMMED / name).read_text())
    return doc


def install(
    fake_api: FakeKubeAPI, *objects: dict[str, Any], lws_crd: bool = True, version: str = "v0.20.0"
) -> None:
    """KServe ``version`` (controller image) with the v0.20.0 LLMInferenceService CRD, 2 nodes of 8 H100."""
    fake_api.load_kserve_crds("master")
    fake_api.load_crd("llmisvc/v0.20.0", "llminferenceservices")
    fake_api.add(trimmed_crd("serving.kserve.io_llminferenceserviceconfigs.v0.20.0.yaml"))
    if lws_crd:
        fake_api.add(trimmed_crd("leaderworkerset.x-k8s.io_leaderworkersets.yaml"))
    fake_api.add(controller_deployment(f"kserve/kserve-controller:{version}"), runtime("v0.20.0"))
    fake_api.add(gpu_node("gpu-0"), gpu_node("gpu-1"))
    fake_api.add(*objects)


def data_parallel(
    name: str = "llama", namespace: str = "team-a", *, gpus: int | None = 8, **spec: Any
) -> dict[str, Any]:
    """2 pods x (dataLocal 1 x tensor 8): the common multi-node shape; ``gpus`` per pod (None: no requests)."""
    return llmisvc(
        name,
        namespace,
        parallelism={"tensor": 8, "data": 2, "dataLocal": 1},
        template=pod(gpus),
        worker=pod(gpus),
        **spec,
    )


def lws(name: str, namespace: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "leaderWorkerTemplate": {"size": 2}},
    }


def isvc(name: str = "ray", namespace: str = "team-a") -> dict[str, Any]:
    resources = {"requests": {GPU: "8"}, "limits": {GPU: "8"}}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "serving.kserve.io/autoscalerClass": "none",
            },
        },
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "storageUri": "pvc://models/llama",
                    "resources": resources,
                },
                "workerSpec": {
                    "tensorParallelSize": 8,
                    "pipelineParallelSize": 1,
                    "containers": [{"name": "worker-container", "resources": resources}],
                },
            }
        },
    }


def check_json(run_cli: Run, *args: str) -> tuple[CliResult, dict[str, Any]]:
    result = run_cli("check", *args, "-o", "json")
    assert result.stdout, result.stderr
    return result, json.loads(result.stdout)


def llm_items(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{i['namespace']}/{i['name']}": i for i in doc["items"] if i["kind"] == "LLMInferenceService"}


def codes(item: dict[str, Any]) -> list[str]:
    return [f["code"] for f in item["findings"]]


# --- check ------------------------------------------------------------------------------------------------


def test_check_lists_llminferenceservices_beside_inferenceservices_in_one_table(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, isvc(), data_parallel())
    result = run_cli("check", "-n", "team-a")
    rows = [line.split() for line in result.stdout.splitlines() if " team-a " in line]
    assert [(r[0], r[2]) for r in rows] == [("InferenceService", "ray"), ("LLMInferenceService", "llama")]
    llm_row = next(line for line in result.stdout.splitlines() if line.startswith("LLMInferenceService"))
    assert "LWS 1 x [leader 8 + 1 x 8 nvidia.com/gpu] (TP8 DP2/1 local)" in llm_row and llm_row.endswith("OK")
    assert result.exit_code == 0, result.stderr


def test_check_json_item_of_an_llminferenceservice_has_the_issue_contract(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, data_parallel())
    result, doc = check_json(run_cli, "-n", "team-a")
    item = llm_items(doc)["team-a/llama"]
    assert set(item) == {"kind", "namespace", "name", "apiVersion", "admission", "layout", "findings"}
    assert item["apiVersion"] == "serving.kserve.io/v1alpha2"
    assert item["admission"] == {"allowed": True, "message": None}
    layout = item["layout"]
    assert set(layout) == {
        "multiNode", "parallelism", "preset", "lws", "vllmArgs", "leaderGpus", "workerGpus", "gpuResource",
        "controllerError", "prefill",
    }  # fmt: skip
    assert layout["parallelism"] == {
        "tensor": 8,
        "pipeline": None,
        "data": 2,
        "dataLocal": 1,
        "expert": False,
    }
    assert layout["preset"] == "kserve-config-llm-worker-data-parallel"
    assert layout["lws"] == {"name": "llama-kserve-mn", "size": 2, "replicas": 1}
    assert layout["vllmArgs"][:2] == ["--tensor-parallel-size", "8"]
    assert (layout["leaderGpus"], layout["workerGpus"], layout["gpuResource"]) == (8, 8, GPU)
    assert layout["prefill"] is None and layout["controllerError"] is None
    assert result.exit_code == 0


def test_unset_replicas_keep_the_live_leaderworkersets_read_in_one_list(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, data_parallel(), data_parallel("other"))
    fake_api.add(lws("llama-kserve-mn", "team-a", 3), lws("other-kserve-mn", "team-a", 2))
    _, doc = check_json(run_cli, "-n", "team-a")
    replicas = {k: v["layout"]["lws"]["replicas"] for k, v in llm_items(doc).items()}
    assert replicas == {"team-a/llama": 3, "team-a/other": 2}
    assert any("live LeaderWorkerSet's 3 replicas are kept" in n for n in doc["notes"])
    lists = fake_api.requests("GET", "/apis/leaderworkerset.x-k8s.io/v1/namespaces/team-a/leaderworkersets")
    assert len(lists) == 1  # one list for both objects, not one request per object
    pods = fake_api.requests("GET", "/api/v1/namespaces/team-a/pods")
    assert [p.param("labelSelector") for p in pods] == [PART_OF]


def test_the_three_name_forms_and_a_bare_name_find_the_llminferenceservice(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, isvc("ray"), data_parallel("llama"))
    for name in (
        "llmisvc/llama",
        "llminferenceservice/llama",
        "LLMInferenceServices.serving.kserve.io/llama",
    ):
        result, doc = check_json(run_cli, name, "-n", "team-a")
        assert [(i["kind"], i["name"]) for i in doc["items"]] == [("LLMInferenceService", "llama")], name
        assert result.exit_code == 0
    # A bare name looks up both kinds: "llama" is only an LLMInferenceService, "ray" only an InferenceService.
    result, doc = check_json(run_cli, "llama", "ray", "-n", "team-a")
    kinds = {(i["kind"], i["name"]) for i in doc["items"]}
    assert {("LLMInferenceService", "llama"), ("InferenceService", "ray")} <= kinds
    assert doc["unreadable"] == [] and result.exit_code == 0
    assert fake_api.requests("GET", LLM_PATH)


def test_a_name_that_is_neither_kind_is_one_line_exit_3(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, data_parallel("llama"))
    result = run_cli("check", "nope", "-n", "team-a")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert (
        '"nope" not found' in result.stderr and "no llminferenceservice of that name either" in result.stderr
    )
    named = run_cli("check", "llmisvc/nope", "llmisvc/llama", "-n", "team-a")
    assert named.exit_code == 3 and "llama" in named.stdout  # what could be read is reported
    assert 'llminferenceservice "nope" not found' in named.stderr


def test_a_malformed_type_prefix_is_a_usage_error_before_any_request(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    result = run_cli("check", "deployment/llama", "-n", "team-a")
    assert result.exit_code == 2 and 'the type "deployment"' in result.stderr
    assert fake_api.requests() == []


def test_missing_leaderworkerset_crd_is_a_note_not_a_failure(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, data_parallel(), lws_crd=False)
    result, doc = check_json(run_cli, "-n", "team-a")
    note = next(n for n in doc["notes"] if "no LeaderWorkerSet CRD" in n)
    assert "team-a/llama" in note
    assert doc["unreadable"] == [] and doc["warnings"] == []
    assert llm_items(doc)["team-a/llama"]["layout"]["lws"]["replicas"] == 1
    assert result.exit_code == 0


def test_forbidden_llminferenceservices_in_a_namespace_are_reported_and_exit_3(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, data_parallel("llama", "team-a"), data_parallel("secret", "team-secret"))
    # RBAC granted per namespace: no cluster-wide list, and nothing in team-secret.
    fake_api.fail("GET", LLM_ALL, 403)
    fake_api.fail("GET", "/apis/serving.kserve.io/v1alpha2/namespaces/team-secret/llminferenceservices", 403)
    result, doc = check_json(run_cli, "-A")
    assert set(llm_items(doc)) == {"team-a/llama"}
    assert [u for u in doc["unreadable"] if "team-secret" in u and "forbidden (403)" in u]
    assert "LLMInferenceServices" in result.stderr and 'namespace "team-secret"' in result.stderr
    assert result.exit_code == 3
    table = run_cli("check", "-A")
    assert "llama" in table.stdout and "partial result: LLMInferenceServices" in table.stdout
    assert table.exit_code == 3


def test_forbidden_llminferenceservices_in_the_only_namespace_still_report_its_inferenceservices(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, isvc(), data_parallel())
    fake_api.fail("GET", "/apis/serving.kserve.io/v1alpha2/namespaces/team-a/llminferenceservices", 403)
    result, doc = check_json(run_cli, "-n", "team-a")
    assert [i["kind"] for i in doc["items"]][:1] == ["InferenceService"]
    assert not llm_items(doc)
    assert doc["unreadable"] and result.exit_code == 3


def test_without_the_llminferenceservice_crd_nothing_is_said_about_them(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    fake_api.load_kserve_crds("master")
    fake_api.add(controller_deployment("kserve/kserve-controller:v0.15.1"), runtime("v0.15.1"))
    fake_api.add(gpu_node("gpu-0"), isvc())
    result = run_cli("check", "-n", "team-a")
    assert "LLMInferenceService" not in result.stdout + result.stderr
    assert result.exit_code == 0
    empty = run_cli("check", "-n", "team-b")
    assert "no multi-node InferenceService found" in empty.stdout
    assert "LLMInferenceService" not in empty.stdout + empty.stderr
    named = run_cli("check", "llmisvc/llama", "-n", "team-a")
    assert named.exit_code == 3 and len(named.stderr.strip().splitlines()) == 1
    assert "no LLMInferenceService CRD" in named.stderr


def test_a_pending_pod_with_a_failed_scheduling_event_is_linked_to_its_cause(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    big = data_parallel(gpus=16)  # 16 GPUs per pod on 8-GPU nodes
    install(fake_api, big, data_parallel("other"))
    labels = {"app.kubernetes.io/name": "llama", "app.kubernetes.io/part-of": "llminferenceservice"}
    fake_api.add(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "llama-kserve-mn-0", "namespace": "team-a", "labels": labels},
            "spec": {"containers": [{"name": "main", "resources": {"limits": {GPU: "16"}}}]},
            "status": {"phase": "Pending"},
        },
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "llama-kserve-mn-0.1", "namespace": "team-a"},
            "involvedObject": {"kind": "Pod", "name": "llama-kserve-mn-0", "namespace": "team-a"},
            "reason": "FailedScheduling",
            "type": "Warning",
            "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
        },
    )
    result, doc = check_json(run_cli, "-n", "team-a")
    items = llm_items(doc)
    pending = next(f for f in items["team-a/llama"]["findings"] if f["code"] == "pods-pending")
    assert "llama-kserve-mn-0: 0/2 nodes are available" in pending["message"]
    assert "Cause: see pod-exceeds-node above" in pending["message"]
    assert "pods-pending" not in codes(items["team-a/other"])
    assert len(fake_api.requests("GET", "/api/v1/namespaces/team-a/events")) == 1
    assert result.exit_code == 1


def test_a_config_on_the_cluster_named_by_baserefs_is_merged(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    obj = llmisvc(
        "llama",
        parallelism={"tensor": 8, "data": 2, "dataLocal": 1},
        template=pod(),
        worker=pod(),
        baseRefs=[{"name": "gpus-8"}],
    )
    config = {
        "apiVersion": "serving.kserve.io/v1alpha2",
        "kind": "LLMInferenceServiceConfig",
        "metadata": {"name": "gpus-8", "namespace": "team-a"},
        "spec": {"template": pod(8), "worker": pod(8)},
    }
    install(fake_api, obj, config)
    _, doc = check_json(run_cli, "-n", "team-a")
    layout = llm_items(doc)["team-a/llama"]["layout"]
    assert (layout["leaderGpus"], layout["workerGpus"]) == (8, 8)
    fake_api.remove("llminferenceserviceconfigs", "gpus-8", "team-a")
    _, gone = check_json(run_cli, "-n", "team-a")
    error = llm_items(gone)["team-a/llama"]["layout"]["controllerError"]
    assert error == (
        'PresetsCombined=False (ConfigNotFound): LLMInferenceServiceConfig "gpus-8" not found in namespaces '
        "[team-a kserve]"
    )


# --- fix --------------------------------------------------------------------------------------------------


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fix_cli, "stdin_is_tty", lambda: False)


def stored(fake_api: FakeKubeAPI, name: str = "llama") -> dict[str, Any]:
    obj = fake_api.get("llminferenceservices", name, "team-a")
    assert obj is not None
    return obj


def patches(fake_api: FakeKubeAPI) -> list[Any]:
    return [r for r in fake_api.requests("PATCH") if "llminferenceservices" in r.path]


@pytest.mark.usefixtures("no_terminal")
def test_fix_writes_the_gpu_requests_in_one_merge_patch_then_has_nothing_to_change_then_undoes(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, data_parallel(gpus=None))
    before = stored(fake_api)
    result = run_cli("fix", "llmisvc/llama", "-n", "team-a", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "change: spec.template GPUs unset -> 8 nvidia.com/gpu" in result.stderr
    assert "llminferenceservice.serving.kserve.io/llama patched" in result.stdout
    (sent,) = patches(fake_api)
    assert sent.query["fieldManager"] == ["kubectl-kserve-mn"]
    assert sent.headers["Content-Type"] == "application/merge-patch+json"
    assert sent.body["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert set(sent.body["spec"]) == {"template", "worker"}  # only what changes
    after = stored(fake_api)
    for part in ("template", "worker"):
        (main,) = after["spec"][part]["containers"]
        assert main["resources"] == {"limits": {GPU: "8"}, "requests": {GPU: "8"}}
    assert "kserve-mn/previous-layout" in after["metadata"]["annotations"]
    assert after["spec"]["parallelism"] == before["spec"]["parallelism"]

    again = run_cli("fix", "llmisvc/llama", "-n", "team-a", "--yes")
    assert (again.exit_code, again.stdout) == (0, "LLMInferenceService team-a/llama: nothing to change\n")
    assert len(patches(fake_api)) == 1  # no request when nothing changes

    undo = run_cli("fix", "llmisvc/llama", "-n", "team-a", "--undo", "--yes")
    assert undo.exit_code == 0, undo.stderr
    restored = stored(fake_api)
    assert restored["spec"] == before["spec"]
    assert "kserve-mn/previous-layout" not in (restored["metadata"].get("annotations") or {})


@pytest.mark.usefixtures("no_terminal")
def test_fix_never_changes_the_total_size_and_prints_the_manifest_to_recreate(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, data_parallel(gpus=None))
    result = run_cli("fix", "llmisvc/llama", "-n", "team-a", "--data-parallel-size", "4", "--yes")
    assert result.exit_code == 1
    assert "total parallelism size is immutable, previous size 2, curr size 4" in result.stderr
    assert "kubectl delete llminferenceservice llama -n team-a" in result.stderr
    manifest = yaml.safe_load(result.stdout)
    assert manifest["kind"] == "LLMInferenceService" and manifest["metadata"]["name"] == "llama"
    assert manifest["spec"]["parallelism"] == {"tensor": 8, "data": 4, "dataLocal": 1}
    assert manifest["spec"]["worker"]["containers"][0]["resources"]["requests"] == {GPU: "8"}
    assert not {"resourceVersion", "uid", "creationTimestamp", "generation"} & set(manifest["metadata"])
    assert patches(fake_api) == []  # nothing was sent


@pytest.mark.usefixtures("no_terminal")
def test_a_single_node_pipeline_moved_into_tensor_is_a_recreate_too(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    obj = llmisvc("llama", parallelism={"tensor": 4, "pipeline": 2}, template=pod(8))
    install(fake_api, obj)
    result = run_cli("fix", "llmisvc/llama", "-n", "team-a", "-o", "json")
    assert result.exit_code == 1
    assert "previous size 2, curr size 1" in result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["spec"]["parallelism"] == {"tensor": 8}
    assert patches(fake_api) == []


@pytest.mark.usefixtures("no_terminal")
def test_fix_without_a_terminal_shows_the_diff_and_applies_nothing(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, data_parallel(gpus=4))
    result = run_cli("fix", "--kind", "llmisvc", "llama", "-n", "team-a")
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "diff -u -N LIVE/serving.kserve.io.v1alpha2.LLMInferenceService.team-a.llama "
        "MERGED/serving.kserve.io.v1alpha2.LLMInferenceService.team-a.llama\n"
    )
    assert (
        "-          nvidia.com/gpu: '4'" in result.stdout
        and "+          nvidia.com/gpu: '8'" in result.stdout
    )
    assert "not applied: no terminal to confirm on; re-run with --yes" in result.stderr
    assert patches(fake_api) == []


@pytest.mark.usefixtures("no_terminal")
def test_fix_server_dry_run_sends_dry_run_all_and_stores_nothing(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, data_parallel(gpus=None))
    before = stored(fake_api)
    result = run_cli("fix", "llmisvc/llama", "-n", "team-a", "--dry-run=server", "-o", "patch")
    assert result.exit_code == 0, result.stderr
    (sent,) = patches(fake_api)
    assert sent.query["dryRun"] == ["All"]
    assert json.loads(result.stdout) == sent.body
    assert stored(fake_api) == before
    assert "server dry run, nothing stored" in result.stderr


def test_fix_on_a_terminal_asks_and_a_no_applies_nothing(
    fake_api: FakeKubeAPI, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(fake_api, data_parallel(gpus=None))
    asked: list[str] = []
    monkeypatch.setattr(fix_cli, "stdin_is_tty", lambda: True)
    monkeypatch.setattr(fix_cli, "confirm", lambda q: asked.append(q) or False)
    result = run_cli("fix", "llmisvc/llama", "-n", "team-a")
    assert asked == ["Apply this change to LLMInferenceService team-a/llama?"]
    assert result.exit_code == 1 and patches(fake_api) == []


@pytest.mark.usefixtures("no_terminal")
def test_a_concurrent_change_is_a_409_exit_3(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, data_parallel(gpus=None))
    fake_api.fail("PATCH", LLM_PATH, 409, times=1)
    result = run_cli("fix", "llmisvc/llama", "-n", "team-a", "--yes")
    assert result.exit_code == 3 and "409" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["isvc/llama", "--kind", "llmisvc"], "names a InferenceService but --kind says LLMInferenceService"),
        (["llmisvc/llama", "--pipeline-parallel-size", "2"], "--pipeline-parallel-size does not apply"),
        (["llmisvc/llama", "--gpus", "16"], "--gpus does not apply"),
        (["llmisvc/llama", "--rollout", "recreate"], "--rollout applies to an InferenceService"),
        (["llama", "--data-parallel-size", "2"], "are for an LLMInferenceService"),
        (["llmisvc/llama", "--undo", "--tensor-parallel-size", "4"], "--undo restores the recorded values"),
    ],
)
def test_fix_flags_that_do_not_apply_are_usage_errors_before_any_request(
    fake_api: FakeKubeAPI, run_cli: Run, args: list[str], message: str
) -> None:
    result = run_cli("fix", *args, "-n", "team-a")
    assert result.exit_code == 2 and message in result.stderr
    assert fake_api.requests() == []


def test_fix_of_a_missing_llminferenceservice_is_one_line_exit_3(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api)
    result = run_cli("fix", "llmisvc/nope", "-n", "team-a")
    assert result.exit_code == 3 and len(result.stderr.strip().splitlines()) == 1
    assert '"nope" not found' in result.stderr


# --- RBAC -------------------------------------------------------------------------------------------------


def _verb_and_resource(method: str, path: str) -> tuple[str, str, str] | None:
    """(verb, API group, resource) of a request, as RBAC sees it; None for discovery (system:discovery)."""
    parts = path.strip("/").split("/")
    if parts[0] == "api":
        group, rest = "", parts[2:]
    else:
        group, rest = parts[1], parts[3:]
    if not rest:
        return None
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    named = len(rest) >= 2
    verb = {"GET": "get" if named else "list", "PATCH": "patch"}[method]
    return verb, group, rest[0]


def test_examples_rbac_grants_every_request_check_and_fix_make(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    rules = [
        rule
        for role in yaml.safe_load_all((Path(__file__).parent.parent / "examples" / "rbac.yaml").read_text())
        for rule in role["rules"]
    ]
    install(fake_api, isvc(), data_parallel(gpus=None))
    fake_api.add(lws("llama-kserve-mn", "team-a", 1))
    assert run_cli("check", "-A").exit_code == 1
    assert run_cli("check", "llmisvc/llama", "-n", "team-a").exit_code == 1
    assert run_cli("fix", "llmisvc/llama", "-n", "team-a", "--yes").exit_code == 0
    asked = {_verb_and_resource(r.method, r.path) for r in fake_api.requests()} - {None}
    assert ("list", "leaderworkerset.x-k8s.io", "leaderworkersets") in asked
    assert ("patch", "serving.kserve.io", "llminferenceservices") in asked
    for request in sorted(a for a in asked if a is not None):
        verb, group, resource = request
        assert any(
            group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules
        ), request


# --- plan -------------------------------------------------------------------------------------------------


def test_plan_kind_llmisvc_on_the_cluster_places_on_the_free_gpus(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    from tests.nodes import gpu_pod

    install(fake_api)
    fake_api.add(gpu_pod("busy", "gpu-0", 4, namespace="team-b"))
    result = run_cli("plan", "--kind", "llmisvc", "--gpus", "8", "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["kserveVersion"] == "v0.20.0" and doc["kserveVersionSource"] == "controller-image"
    rec = doc["recommendation"]
    # 8 GPUs in one pod fit only gpu-1 now (gpu-0 has 4 in use).
    assert (rec["tensor"], rec["multiNode"], rec["fitsNow"]) == (8, False, True)
    assert [p["node"] for p in rec["placement"]] == ["gpu-1"]
    assert result.exit_code == 0


def test_a_name_given_twice_in_two_forms_is_read_and_reported_once(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, isvc("ray"), data_parallel("llama"))
    result, doc = check_json(run_cli, "llama", "llmisvc/llama", "ray", "isvc/ray", "-n", "team-a")
    assert sorted((i["kind"], i["name"]) for i in doc["items"] if i["kind"] != "ClusterServingRuntime") == [
        ("InferenceService", "ray"),
        ("LLMInferenceService", "llama"),
    ]
    assert len(fake_api.requests("GET", LLM_PATH)) == 1
    assert result.exit_code == 0
