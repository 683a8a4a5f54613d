"""End to end through the fake API server: the rollout a change starts needs the new pods' GPUs next to the old
pods (KServe's RollingUpdate). `fix` states it before applying, asks or refuses when the GPUs are not there,
offers --rollout=recreate (recorded for --undo); `check` reports a rollout under way that cannot fit.

The live pods are what KServe's Deployments make: labels serving.kserve.io/inferenceservice, app
(isvc.<name>-predictor[-worker]) and isvc.generation (the InferenceService generation they were made from).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from kubectl_kserve_mn import edits
from kubectl_kserve_mn.cli import fix as fix_cli
from tests.conftest import CliResult
from tests.fakeapi import FakeKubeAPI
from tests.nodes import gpu_pod
from tests.test_cli_fix import seed, serve, stored

GPU = "nvidia.com/gpu"
Run = Callable[..., CliResult]


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fix_cli, "stdin_is_tty", lambda: False)


def kserve_pod(name: str, node: str, gpus: int, *, worker: bool, generation: int = 1) -> dict[str, Any]:
    pod = gpu_pod(name, node, gpus, namespace="team-a")
    pod["metadata"]["labels"] = {
        "serving.kserve.io/inferenceservice": "llama",
        "component": "predictor",
        "app": "isvc.llama-predictor-worker" if worker else "isvc.llama-predictor",
        "isvc.generation": str(generation),
    }
    return pod


def seed_pods(generation: int = 1) -> list[dict[str, Any]]:
    """What KServe v0.15.1 runs for TP=16 without GPU requests: 16 one-GPU pods holding both 8-GPU nodes."""
    pods = [kserve_pod("llama-predictor-5d9f-h", "gpu-0", 1, worker=False, generation=generation)]
    pods += [
        kserve_pod(
            f"llama-predictor-worker-7c4b-{i:02d}",
            "gpu-0" if i < 7 else "gpu-1",
            1,
            worker=True,
            generation=generation,
        )
        for i in range(15)
    ]
    return pods


def two_pods(generation: int = 1) -> list[dict[str, Any]]:
    """TP=16 over two pods of 8 GPUs (head 8 + 1 worker x 8), holding both nodes."""
    return [
        kserve_pod("llama-predictor-5d9f-h", "gpu-0", 8, worker=False, generation=generation),
        kserve_pod("llama-predictor-worker-7c4b-w", "gpu-1", 8, worker=True, generation=generation),
    ]


def two_pod_isvc() -> dict[str, Any]:
    isvc = seed("v0.15.1")
    predictor = isvc["spec"]["predictor"]
    predictor["model"]["resources"]["requests"][GPU] = "8"
    predictor["model"]["resources"]["limits"][GPU] = "8"
    predictor["workerSpec"]["containers"][0]["resources"] = {"requests": {GPU: "8"}, "limits": {GPU: "8"}}
    return isvc


def fix(run_cli: Run, *args: str) -> CliResult:
    return run_cli("fix", "llama", "-n", "team-a", "--kserve-version", "v0.15.1", *args)


def rollout_lines(result: CliResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("rollout: ")]


# --- fix --------------------------------------------------------------------------------------------------------


def test_fix_states_the_rollout_and_without_a_terminal_sends_nothing(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    fake_api.add(*seed_pods())
    result = fix(run_cli)
    assert result.exit_code == 1
    assert rollout_lines(result) == [
        "rollout: RollingUpdate needs 2 nvidia.com/gpu on top of the 16 it holds now (16 for the new pods, 14 "
        "released first), 0 free",
        "rollout: new pods: head 8 -> gpu-1, worker-0 8 -> Pending",
        "rollout: the worker Deployment first scales the 15 old worker pods down to 1 (a rolling update keeps at "
        "most twice the new worker count, 1), so the old Ray cluster loses pods and stops serving, and the new "
        "pods (worker-0) stay Pending: the model is down until GPUs are freed",
        "rollout: --rollout=recreate sets deploymentStrategy.type: Recreate in the same patch: the old pods are "
        "deleted first, so no GPUs beyond those it holds are needed (the new pods then fit); the model is down "
        "from then until the new pods are Ready",
    ]
    assert (
        "InferenceService team-a/llama: not applied: no terminal to confirm on; the new pods do not fit next to "
        "the old ones (see the rollout lines); re-run with --rollout=recreate, or with --yes to apply anyway"
    ) in result.stderr
    assert fake_api.requests("PATCH") == []


def test_on_a_terminal_the_prompt_says_the_new_pods_do_not_fit(
    fake_api: FakeKubeAPI, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    fake_api.add(*seed_pods())
    asked: list[str] = []
    monkeypatch.setattr(fix_cli, "stdin_is_tty", lambda: True)
    monkeypatch.setattr(fix_cli, "confirm", lambda question: asked.append(question) or False)
    result = fix(run_cli)
    assert result.exit_code == 1
    assert asked == [
        "The new pods do not fit: worker-0 would stay Pending (2 nvidia.com/gpu needed on top of what it holds, "
        "0 free); the model is down meanwhile. Apply this change to InferenceService team-a/llama anyway?"
    ]
    assert fake_api.requests("PATCH") == []


def test_two_full_pods_need_sixteen_more_gpus_while_the_old_ones_keep_serving(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.1", two_pod_isvc())
    fake_api.add(*two_pods())
    result = fix(run_cli, "--tensor-parallel-size", "8", "--pipeline-parallel-size", "2")
    assert result.exit_code == 1
    lines = rollout_lines(result)
    assert lines[0] == (
        "rollout: RollingUpdate needs 16 nvidia.com/gpu on top of the 16 it holds now (16 for the new pods, 0 "
        "released first), 0 free"
    )
    assert lines[1] == "rollout: new pods: head 8 -> Pending, worker-0 8 -> Pending"
    assert lines[2] == (
        "rollout: the new pods (head, worker-0) stay Pending, the old ones keep serving, and the head and worker "
        "Deployments report ProgressDeadlineExceeded after progressDeadlineSeconds (600 s) and the rollout "
        "neither finishes nor rolls back"
    )
    assert fake_api.requests("PATCH") == []


def test_yes_applies_a_rollout_that_does_not_fit_with_a_warning(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.1", two_pod_isvc())
    fake_api.add(*two_pods())
    result = fix(run_cli, "--tensor-parallel-size", "8", "--pipeline-parallel-size", "2", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "warning: applying although the new pods do not fit next to the old ones (--yes)" in result.stderr
    assert stored(fake_api)["spec"]["predictor"]["workerSpec"]["pipelineParallelSize"] == 2


def test_recreate_sets_the_strategy_in_the_same_patch_and_undo_restores_it(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    fake_api.add(*seed_pods())
    original = stored(fake_api)
    result = fix(run_cli, "--rollout=recreate", "--yes")
    assert result.exit_code == 0, result.stderr
    [request] = fake_api.requests("PATCH")
    assert request.body["spec"]["predictor"]["deploymentStrategy"] == {"type": "Recreate"}
    assert request.body["metadata"]["resourceVersion"] == original["metadata"]["resourceVersion"]
    record = json.loads(request.body["metadata"]["annotations"][edits.PREVIOUS_LAYOUT_ANNOTATION])
    assert {"path": ["spec", "predictor", "deploymentStrategy"], "value": None} in record["fields"]
    assert (
        "change: deploymentStrategy: RollingUpdate (KServe default) -> Recreate (--rollout=recreate): the old pods "
        "are deleted before the new ones are created"
    ) in result.stderr
    assert rollout_lines(result)[0] == (
        "rollout: Recreate needs 0 nvidia.com/gpu on top of the 16 it holds now (16 for the new pods, 16 "
        "released first), 0 free"
    )
    assert rollout_lines(result)[2] == (
        "rollout: the new pods fit, but Recreate deletes the old pods before it creates the new ones: the model is "
        "down until the new pods are Ready"
    )

    undo = fix(run_cli, "--undo", "--yes")
    assert undo.exit_code == 0, undo.stderr
    assert "rollout: RollingUpdate needs 16 nvidia.com/gpu on top of the 16 it holds now" in undo.stderr
    assert "warning: applying although the new pods do not fit" in undo.stderr
    restored = stored(fake_api)
    assert "deploymentStrategy" not in restored["spec"]["predictor"]
    volatile = (("metadata", "resourceVersion"), ("metadata", "generation"))
    for path in volatile:
        edits.set_at(restored, path, None)
        edits.set_at(original, path, None)
    assert restored == original


def test_a_rolling_update_block_goes_with_recreate(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    isvc = seed("v0.15.1")
    isvc["spec"]["predictor"]["deploymentStrategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    serve(fake_api, "v0.15.1", isvc)
    fake_api.add(*seed_pods())
    result = fix(run_cli, "--rollout=recreate", "--dry-run=client", "-o", "patch")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["spec"]["predictor"]["deploymentStrategy"] == {
        "type": "Recreate",
        "rollingUpdate": None,
    }


def test_fix_json_output_carries_the_rollout_next_to_the_object(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    fake_api.add(*seed_pods())
    result = fix(run_cli, "--dry-run=client", "-o", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["applied"] is False
    assert report["object"]["spec"]["predictor"]["workerSpec"]["tensorParallelSize"] == 8
    sizes = {
        k: report["patch"]["spec"]["predictor"]["workerSpec"][k]
        for k in ("pipelineParallelSize", "tensorParallelSize")
    }
    assert sizes == {"pipelineParallelSize": 2, "tensorParallelSize": 8}
    assert [c["path"] for c in report["changes"]][:2] == [
        "spec.predictor.workerSpec.pipelineParallelSize",
        "spec.predictor.workerSpec.tensorParallelSize",
    ]
    rolls = report["rollout"]
    assert {k: rolls[k] for k in ("strategy", "extraGpus", "gpuResource", "freeGpus", "fits")} == {
        "strategy": "RollingUpdate",
        "extraGpus": 2,
        "gpuResource": GPU,
        "freeGpus": 0,
        "fits": False,
    }
    assert rolls["placement"] == [
        {"pod": "head", "node": "gpu-1", "gpus": 8, "gpuResource": GPU},
        {"pod": "worker-0", "node": None, "gpus": 8, "gpuResource": GPU},
    ]


def test_a_rollout_that_fits_asks_the_usual_question(
    fake_api: FakeKubeAPI, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(fake_api, "v0.15.1", two_pod_isvc(), nodes=4)
    fake_api.add(*two_pods())
    asked: list[str] = []
    monkeypatch.setattr(fix_cli, "stdin_is_tty", lambda: True)
    monkeypatch.setattr(fix_cli, "confirm", lambda question: asked.append(question) or True)
    result = fix(run_cli, "--tensor-parallel-size", "8", "--pipeline-parallel-size", "2")
    assert result.exit_code == 0, result.stderr
    assert asked == ["Apply this change to InferenceService team-a/llama?"]
    assert rollout_lines(result)[1] == "rollout: new pods: head 8 -> gpu-2, worker-0 8 -> gpu-3"
    assert rollout_lines(result)[2].startswith("rollout: rolls over: the new pods start next to the old ones")


# --- check ------------------------------------------------------------------------------------------------------


def check_item(run_cli: Run, *args: str) -> tuple[CliResult, dict[str, Any]]:
    result = run_cli("check", "llama", "-n", "team-a", "--kserve-version", "v0.15.1", "-o", "json", *args)
    [item] = [i for i in json.loads(result.stdout)["items"] if i["kind"] == "InferenceService"]
    return result, item


def test_check_reports_a_stuck_rollout_with_the_recreate_suggestion(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.1", two_pod_isvc())
    fake_api.add(*two_pods())
    applied = fix(run_cli, "--tensor-parallel-size", "8", "--pipeline-parallel-size", "2", "--yes")
    assert applied.exit_code == 0, applied.stderr
    assert stored(fake_api)["metadata"]["generation"] == 2  # the pods still run generation 1
    result, item = check_item(run_cli)
    assert result.exit_code == 0  # a warning: the old pods keep serving
    [finding] = [f for f in item["findings"] if f["code"] == "rollout-needs-gpus"]
    assert finding["severity"] == "warning"
    assert finding["message"] == (
        "a rollout is under way: 2 pod(s) run an older spec (isvc.generation 1; the InferenceService is at "
        "generation 2); RollingUpdate needs 16 nvidia.com/gpu on top of the 16 it holds now (16 for the new "
        "pods, 0 released first), 0 free: the new pods (head, worker-0) stay Pending, the old ones keep "
        "running (serving if no old worker was scaled down before), and the head and worker Deployments report "
        "ProgressDeadlineExceeded after "
        "progressDeadlineSeconds (600 s) and the rollout neither finishes nor rolls back"
    )
    assert finding["suggestion"].startswith(
        "kubectl kserve-mn fix llama -n team-a --rollout=recreate (sets deploymentStrategy.type: Recreate: the "
        "old pods are deleted first and the new pods then fit"
    )
    assert {k: item["rollout"][k] for k in ("strategy", "extraGpus", "freeGpus", "fits")} == {
        "strategy": "RollingUpdate",
        "extraGpus": 16,
        "freeGpus": 0,
        "fits": False,
    }
    table = run_cli("check", "llama", "-n", "team-a", "--kserve-version", "v0.15.1")
    assert "WARNING [rollout-needs-gpus] a rollout is under way" in table.stdout


def test_recreate_alone_unblocks_a_stuck_rollout_and_check_then_sees_it_fit(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.1", two_pod_isvc())
    fake_api.add(*two_pods())
    assert (
        fix(run_cli, "--tensor-parallel-size", "8", "--pipeline-parallel-size", "2", "--yes").exit_code == 0
    )
    plain = fix(run_cli, "--yes")
    assert "nothing to change" in plain.stdout
    assert "warning: a rollout is under way (pods of an older isvc.generation run)" in plain.stderr
    fake_api.clear_log()
    result = fix(run_cli, "--rollout=recreate", "--yes")
    assert result.exit_code == 0, result.stderr
    [request] = fake_api.requests("PATCH")
    assert request.body["spec"] == {"predictor": {"deploymentStrategy": {"type": "Recreate"}}}
    check, item = check_item(run_cli)
    assert check.exit_code == 0
    assert item["rollout"]["strategy"] == "Recreate" and item["rollout"]["fits"] is True
    assert not [f for f in item["findings"] if f["code"] == "rollout-needs-gpus"]


def test_check_of_a_shrinking_rollout_is_an_error_because_the_old_pods_stop_serving(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    fake_api.add(*seed_pods())
    assert fix(run_cli, "--yes").exit_code == 0
    result, item = check_item(run_cli)
    assert result.exit_code == 1
    [finding] = [f for f in item["findings"] if f["code"] == "rollout-needs-gpus"]
    assert finding["severity"] == "error"
    assert "scales the 15 old worker pods down to 1" in finding["message"]


def test_pods_of_the_current_generation_are_no_rollout(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    serve(fake_api, "v0.15.1", seed("v0.15.1"))
    fake_api.add(*seed_pods(generation=1))
    _, item = check_item(run_cli)
    assert item["rollout"] is None
    assert not [f for f in item["findings"] if f["code"] == "rollout-needs-gpus"]


def test_recreate_with_nothing_to_change_and_no_rollout_leaves_the_object_alone(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    isvc = two_pod_isvc()
    isvc["spec"]["predictor"]["workerSpec"].update(pipelineParallelSize=2, tensorParallelSize=8)
    serve(fake_api, "v0.15.1", isvc)
    fake_api.add(*two_pods())
    result = fix(run_cli, "--rollout=recreate", "--yes")
    assert result.exit_code == 0
    assert "nothing to change" in result.stdout
    assert "--rollout=recreate: the strategy is not set on its own" in result.stderr
    assert fake_api.requests("PATCH") == []
