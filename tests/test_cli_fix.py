"""End-to-end tests of `fix` through the real kubernetes client against the fake HTTPS API server.

Runtimes: the shipped kserve-huggingfaceserver-multinode ClusterServingRuntime of each release
(tests/fixtures/kserve/runtimes, provenance in tests/fixtures/kserve/README.md); CRDs: the real KServe
CRDs (tests/fixtures/crds), so the fake server type-checks every patch against the schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from kubectl_kserve_mn import edits
from kubectl_kserve_mn.cli import fix as fix_cli
from kubectl_kserve_mn.cluster import Cluster
from tests.conftest import CliResult
from tests.fakeapi import FakeKubeAPI
from tests.fixture_files import kserve_runtime as runtime
from tests.nodes import controller_deployment, gpu_node

ISVC_PATH = "/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices/llama"
GPU = "nvidia.com/gpu"
AUTOSCALER = "serving.kserve.io/autoscalerClass"

Run = Callable[..., CliResult]


def seed(version: str, *, pp: int = 1, tp: int = 16) -> dict[str, Any]:
    """The seed case: TP=16 on 2 nodes x 8 GPUs, with fields fix must never touch."""
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llama",
            "namespace": "team-a",
            "labels": {"team": "a", "app": "chat"},
            "annotations": {
                AUTOSCALER: "external" if version == "v0.15.0" else "none",
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "owner": "alice@example.com",
            },
        },
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "tolerations": [
                    {"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"}
                ],
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "storageUri": "pvc://models/llama-3-70b",
                    "args": ["--max-model-len=8192", "--gpu-memory-utilization=0.92"],
                    "env": [
                        {"name": "HF_HOME", "value": "/tmp/hf"},
                        {"name": "VLLM_LOGGING_LEVEL", "value": "INFO"},
                    ],
                    "resources": {"requests": {"cpu": "8", "memory": "128Gi"}, "limits": {"memory": "128Gi"}},
                },
                "workerSpec": {
                    "pipelineParallelSize": pp,
                    "tensorParallelSize": tp,
                    "containers": [
                        {
                            "name": "worker-container",
                            "env": [{"name": "NCCL_DEBUG", "value": "WARN"}],
                            "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
                        }
                    ],
                    "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory"}}],
                },
            }
        },
    }


def serve(fake_api: FakeKubeAPI, version: str, isvc: dict[str, Any], *, nodes: int = 2) -> None:
    fake_api.load_kserve_crds("v0.15.0" if version == "v0.15.0" else "master")
    fake_api.add(runtime(version))
    fake_api.add(*(gpu_node(f"gpu-{i}") for i in range(nodes)))
    fake_api.add(isvc)


def stored(fake_api: FakeKubeAPI) -> dict[str, Any]:
    obj = fake_api.get("inferenceservices", "llama", "team-a")
    assert obj is not None
    return obj


def without(obj: dict[str, Any], *paths: tuple[Any, ...]) -> str:
    """``obj`` as compact JSON (key order kept) with ``paths`` removed: what must be byte-for-byte equal."""
    copy = json.loads(json.dumps(obj))
    for path in paths:
        edits.set_at(copy, path, None)
    return json.dumps(copy, separators=(",", ":"))


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fix_cli, "stdin_is_tty", lambda: False)


def fix(run_cli: Run, version: str, *args: str) -> CliResult:
    return run_cli("fix", "llama", "-n", "team-a", "--kserve-version", version, *args)


def patches(fake_api: FakeKubeAPI) -> list[Any]:
    return fake_api.requests("PATCH")


# --- the seed case on both eras -----------------------------------------------------------------------------


def test_v0150_seed_becomes_pp2_tp8_and_nothing_else_changes(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.0", seed("v0.15.0"))
    before = stored(fake_api)
    result = fix(run_cli, "v0.15.0", "--yes")
    assert result.exit_code == 0, result.stderr
    after = stored(fake_api)
    worker = after["spec"]["predictor"]["workerSpec"]
    assert (worker["pipelineParallelSize"], worker["tensorParallelSize"]) == (2, 8)
    assert GPU not in json.dumps(after["spec"])  # v0.15.0: KServe sets every pod's GPUs to TP itself
    changed = (
        ("metadata", "resourceVersion"),
        ("metadata", "generation"),
        ("metadata", "annotations", edits.PREVIOUS_LAYOUT_ANNOTATION),
        ("spec", "predictor", "workerSpec", "pipelineParallelSize"),
        ("spec", "predictor", "workerSpec", "tensorParallelSize"),
    )
    assert without(after, *changed) == without(before, *changed)
    [request] = patches(fake_api)
    assert request.headers["Content-Type"].startswith("application/merge-patch+json")
    assert request.param("fieldManager") == "kubectl-kserve-mn"
    assert request.body["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert fake_api.requests("PUT") == []
    assert "PP=1 x TP=16 -> PP=2 x TP=8" in result.stderr


def test_v0151_seed_gets_eight_gpus_per_pod_and_check_predicts_two_ray_nodes(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    before = stored(fake_api)
    result = fix(run_cli, "v0.15.1", "--yes")
    assert result.exit_code == 0, result.stderr
    after = stored(fake_api)
    head = after["spec"]["predictor"]["model"]["resources"]
    worker = after["spec"]["predictor"]["workerSpec"]["containers"][0]
    assert head["requests"][GPU] == "8" and head["limits"][GPU] == "8"
    assert worker["resources"]["requests"][GPU] == "8" and worker["resources"]["limits"][GPU] == "8"
    changed = (
        ("metadata", "resourceVersion"),
        ("metadata", "generation"),
        ("metadata", "annotations", edits.PREVIOUS_LAYOUT_ANNOTATION),
        ("spec", "predictor", "workerSpec", "pipelineParallelSize"),
        ("spec", "predictor", "workerSpec", "tensorParallelSize"),
        ("spec", "predictor", "model", "resources", "requests", GPU),
        ("spec", "predictor", "model", "resources", "limits", GPU),
        ("spec", "predictor", "workerSpec", "containers", 0, "resources"),
    )
    assert without(after, *changed) == without(before, *changed)

    check = run_cli("check", "llama", "-n", "team-a", "--kserve-version", "v0.15.1", "-o", "json")
    assert check.exit_code == 0, check.stdout + check.stderr
    [item] = [i for i in json.loads(check.stdout)["items"] if i["kind"] == "InferenceService"]
    assert [f for f in item["findings"] if f["severity"] == "error"] == []
    assert item["layout"]["nodeCount"] == 2
    assert (item["layout"]["head"]["gpus"], item["layout"]["worker"]["gpus"]) == (8, 8)


def test_check_after_fix_on_v0150_reports_no_error(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.0", seed("v0.15.0"))
    before = run_cli("check", "llama", "-n", "team-a", "--kserve-version", "v0.15.0", "-o", "json")
    assert before.exit_code == 1  # the seed does not work as written
    assert fix(run_cli, "v0.15.0", "--yes").exit_code == 0
    check = run_cli("check", "llama", "-n", "team-a", "--kserve-version", "v0.15.0", "-o", "json")
    assert check.exit_code == 0, check.stdout
    [item] = [i for i in json.loads(check.stdout)["items"] if i["kind"] == "InferenceService"]
    assert [f for f in item["findings"] if f["severity"] == "error"] == []


def test_worker_container_is_created_with_the_runtimes_worker_container_name(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    isvc = seed("v0.15.1")
    del isvc["spec"]["predictor"]["workerSpec"]["containers"]
    serve(fake_api, "v0.15.1", isvc)
    assert fix(run_cli, "v0.15.1", "--yes").exit_code == 0
    [container] = stored(fake_api)["spec"]["predictor"]["workerSpec"]["containers"]
    assert container["name"] == "worker-container"
    assert container["resources"] == {"limits": {GPU: "8"}, "requests": {GPU: "8"}}


# --- safety ---------------------------------------------------------------------------------------------------


def test_second_fix_is_a_no_op_without_a_request(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    assert fix(run_cli, "v0.15.1", "--yes").exit_code == 0
    fake_api.clear_log()
    result = fix(run_cli, "v0.15.1", "--yes")
    assert result.exit_code == 0
    assert "nothing to change" in result.stdout
    assert patches(fake_api) == []


def test_concurrent_change_gives_409_exit_3_and_no_retry(
    fake_api: FakeKubeAPI, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    real_get = Cluster.get_inferenceservice

    def read_then_someone_edits(self: Cluster, namespace: str, name: str) -> dict[str, Any]:
        obj = real_get(self, namespace, name)
        other = stored(fake_api)
        other["metadata"]["labels"]["edited-by"] = "bob"
        fake_api.add(other)  # a new resourceVersion, as a concurrent writer would cause
        return obj

    monkeypatch.setattr(Cluster, "get_inferenceservice", read_then_someone_edits)
    result = fix(run_cli, "v0.15.1", "--yes")
    assert result.exit_code == 3
    assert "409" in result.stderr and "re-run" in result.stderr
    assert len(patches(fake_api)) == 1
    after = stored(fake_api)
    assert after["metadata"]["labels"]["edited-by"] == "bob"
    assert after["spec"]["predictor"]["workerSpec"]["tensorParallelSize"] == 16


def test_forbidden_patch_exits_3_naming_verb_and_resource(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    fake_api.fail("PATCH", ISVC_PATH, 403)
    result = fix(run_cli, "v0.15.1", "--yes")
    assert result.exit_code == 3
    assert "403" in result.stderr and "patch" in result.stderr and "inferenceservices" in result.stderr
    assert stored(fake_api)["spec"]["predictor"]["workerSpec"]["tensorParallelSize"] == 16


def test_server_dry_run_leaves_object_and_resource_version_unchanged(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    before = stored(fake_api)
    result = fix(run_cli, "v0.15.1", "--dry-run=server")
    assert result.exit_code == 1  # a difference, like kubectl diff
    [request] = patches(fake_api)
    assert request.param("dryRun") == "All"
    assert "+      pipelineParallelSize: 2" in result.stdout.splitlines()
    assert stored(fake_api) == before


@pytest.mark.parametrize("flag", [["--dry-run=client"], ["--dry-run"], ["--dry-run", "client"]])
def test_client_dry_run_sends_nothing_and_shows_the_diff(
    fake_api: FakeKubeAPI, run_cli: Run, flag: list[str]
) -> None:
    # A plain --dry-run means client, as kubectl takes it.
    serve(fake_api, "v0.15.0", seed("v0.15.0"))
    result = fix(run_cli, "v0.15.0", *flag)
    assert result.exit_code == 1
    assert result.stdout.startswith("diff -u -N LIVE/")
    assert "-      tensorParallelSize: 16" in result.stdout.splitlines()
    assert patches(fake_api) == []


def test_client_dry_run_with_yaml_output_exits_0_and_prints_the_patched_object(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.0", seed("v0.15.0"))
    result = fix(run_cli, "v0.15.0", "--dry-run=client", "-o", "yaml")
    assert result.exit_code == 0
    shown = yaml.safe_load(result.stdout)
    assert shown["spec"]["predictor"]["workerSpec"]["pipelineParallelSize"] == 2
    assert patches(fake_api) == []


def test_without_terminal_and_without_yes_prints_diff_and_exits_1(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    result = fix(run_cli, "v0.15.1")
    assert result.exit_code == 1
    assert "+      pipelineParallelSize: 2" in result.stdout.splitlines()
    assert "--yes" in result.stderr
    assert patches(fake_api) == []


@pytest.mark.parametrize(("answer", "code", "applied"), [(True, 0, True), (False, 1, False)])
def test_on_a_terminal_the_diff_is_shown_and_the_answer_decides(
    fake_api: FakeKubeAPI,
    run_cli: Run,
    monkeypatch: pytest.MonkeyPatch,
    answer: bool,
    code: int,
    applied: bool,
) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    asked: list[str] = []
    monkeypatch.setattr(fix_cli, "stdin_is_tty", lambda: True)

    def confirm(question: str) -> bool:
        asked.append(question)
        return answer

    monkeypatch.setattr(fix_cli, "confirm", confirm)
    result = fix(run_cli, "v0.15.1")
    assert result.exit_code == code
    assert asked == ["Apply this change to InferenceService team-a/llama?"]
    assert result.stdout.count("diff -u -N") == 1
    assert len(patches(fake_api)) == int(applied)
    assert (stored(fake_api)["spec"]["predictor"]["workerSpec"]["tensorParallelSize"] == 8) is applied


def test_output_patch_prints_the_merge_patch_limited_to_changed_fields(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.0", seed("v0.15.0"))
    rv = stored(fake_api)["metadata"]["resourceVersion"]
    result = fix(run_cli, "v0.15.0", "--dry-run=client", "-o", "patch")
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed["spec"] == {
        "predictor": {"workerSpec": {"pipelineParallelSize": 2, "tensorParallelSize": 8}}
    }
    assert printed["metadata"]["resourceVersion"] == rv
    assert set(printed["metadata"]["annotations"]) == {edits.PREVIOUS_LAYOUT_ANNOTATION}


def test_undo_restores_the_previous_values(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    original = stored(fake_api)
    assert fix(run_cli, "v0.15.1", "--yes").exit_code == 0
    result = fix(run_cli, "v0.15.1", "--undo", "--yes")
    assert result.exit_code == 0, result.stderr
    restored = stored(fake_api)
    volatile = (("metadata", "resourceVersion"), ("metadata", "generation"))
    assert without(restored, *volatile) == without(original, *volatile)
    fake_api.clear_log()
    again = fix(run_cli, "v0.15.1", "--undo", "--yes")
    assert again.exit_code == 0 and "nothing to undo" in again.stderr
    assert patches(fake_api) == []


def test_undo_sends_values_the_installed_kserve_rejects_with_a_warning(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.0", seed("v0.15.0"))
    assert fix(run_cli, "v0.15.0", "--yes").exit_code == 0
    result = fix(run_cli, "v0.15.0", "--undo", "--yes")
    assert result.exit_code == 0
    assert "would reject the restored object" in result.stderr
    assert stored(fake_api)["spec"]["predictor"]["workerSpec"]["pipelineParallelSize"] == 1


def test_no_layout_fits_changes_nothing_and_exits_1(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1", pp=2, tp=16))
    result = fix(run_cli, "v0.15.1", "--yes")
    assert result.exit_code == 1
    assert "cannot fix" in result.stderr and "32 GPUs" in result.stderr
    assert patches(fake_api) == []


# --- what fix repairs besides the sizes ------------------------------------------------------------------


def test_forbidden_env_var_is_moved_into_workerspec(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    isvc = seed("v0.15.1", pp=2, tp=8)
    predictor = isvc["spec"]["predictor"]
    del predictor["workerSpec"]["pipelineParallelSize"], predictor["workerSpec"]["tensorParallelSize"]
    predictor["model"]["env"].insert(1, {"name": "TENSOR_PARALLEL_SIZE", "value": "8"})
    predictor["model"]["env"].append({"name": "PIPELINE_PARALLEL_SIZE", "value": "2"})
    predictor["model"]["resources"]["requests"][GPU] = "8"
    predictor["workerSpec"]["containers"][0]["resources"] = {"requests": {GPU: "8"}, "limits": {GPU: "8"}}
    predictor["model"]["resources"]["limits"][GPU] = "8"
    serve(fake_api, "v0.15.1", isvc)
    result = fix(run_cli, "v0.15.1", "--yes")
    assert result.exit_code == 0, result.stderr
    after = stored(fake_api)["spec"]["predictor"]
    assert after["model"]["env"] == [
        {"name": "HF_HOME", "value": "/tmp/hf"},
        {"name": "VLLM_LOGGING_LEVEL", "value": "INFO"},
    ]
    assert (after["workerSpec"]["pipelineParallelSize"], after["workerSpec"]["tensorParallelSize"]) == (2, 8)
    assert after["model"]["resources"]["requests"][GPU] == "8"


def test_autoscaler_class_is_fixed_after_an_upgrade_to_v0151(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    isvc = seed("v0.15.0", pp=2, tp=8)  # admitted by v0.15.0 with autoscalerClass external
    predictor = isvc["spec"]["predictor"]
    predictor["model"]["resources"]["requests"][GPU] = "8"
    predictor["workerSpec"]["containers"][0]["resources"] = {"requests": {GPU: "8"}}
    serve(fake_api, "v0.15.1", isvc)
    fake_api.add(controller_deployment("kserve/kserve-controller:v0.15.1"))
    before = stored(fake_api)
    result = run_cli("fix", "llama", "-n", "team-a", "--yes")  # version detected from the controller image
    assert result.exit_code == 0, result.stderr
    after = stored(fake_api)
    assert after["metadata"]["annotations"][AUTOSCALER] == "none"
    assert after["spec"] == before["spec"]


def test_explicit_working_gpu_values_are_kept(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    isvc = seed("v0.15.1", pp=2, tp=8)
    predictor = isvc["spec"]["predictor"]
    predictor["model"]["resources"]["requests"][GPU] = 8  # the user's int spelling
    predictor["model"]["resources"]["limits"][GPU] = 8
    serve(fake_api, "v0.15.1", isvc)
    result = fix(run_cli, "v0.15.1", "--yes")
    assert result.exit_code == 0, result.stderr
    after = stored(fake_api)["spec"]["predictor"]
    assert after["model"]["resources"]["requests"][GPU] == 8
    assert after["model"]["resources"]["limits"][GPU] == 8
    assert after["workerSpec"]["containers"][0]["resources"]["requests"][GPU] == "8"
    assert "model" not in patches(fake_api)[0].body["spec"]["predictor"]  # the head is not touched


def test_tensor_parallel_flag_asks_for_a_specific_target(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    result = fix(run_cli, "v0.15.1", "--tensor-parallel-size", "4", "--pipeline-parallel-size", "2", "--yes")
    assert result.exit_code == 0, result.stderr
    after = stored(fake_api)["spec"]["predictor"]
    assert (after["workerSpec"]["pipelineParallelSize"], after["workerSpec"]["tensorParallelSize"]) == (2, 4)
    assert after["model"]["resources"]["requests"][GPU] == "4"
    assert after["workerSpec"]["containers"][0]["resources"]["requests"][GPU] == "4"


def test_missing_inferenceservice_exits_3(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    fake_api.load_kserve_crds("master")
    result = fix(run_cli, "v0.15.1", "--yes")
    assert result.exit_code == 3
    assert 'InferenceService "llama" not found' in result.stderr


def test_a_rejection_fix_cannot_repair_is_reported_and_nothing_is_sent(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    isvc = seed("v0.15.1")
    isvc["spec"]["predictor"]["model"]["storageUri"] = (
        "hf://meta-llama/Llama-3.1-70B"  # multi-node needs pvc://
    )
    serve(fake_api, "v0.15.1", isvc)
    result = fix(run_cli, "v0.15.1", "--yes")
    assert result.exit_code == 1
    assert "would still reject" in result.stderr and "'pvc' Storage Protocol(hf)" in result.stderr
    assert patches(fake_api) == []


def test_undo_cannot_be_combined_with_sizes(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    result = fix(run_cli, "v0.15.1", "--undo", "--gpus", "8")
    assert result.exit_code == 2 and "--undo" in result.stderr
