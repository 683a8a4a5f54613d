"""check's rollout finding (findings/rollout.py): when a live InferenceService's pods run an older generation."""

from __future__ import annotations

from typing import Any

from kubectl_kserve_mn.findings.rollout import ROLLOUT_NEEDS_GPUS, rollout_findings
from kubectl_kserve_mn.inputs.k8s import pods_from_dicts
from kubectl_kserve_mn.kserve.controller import ControllerLayout, PodGpus
from tests.nodes import gpu_node, gpu_pod, node_view

GPU = "nvidia.com/gpu"
NEW = ControllerLayout("ray", 2, 8, 16, 2, PodGpus(GPU, 8), PodGpus(GPU, 8), 1, None)
NODES = [gpu_node("gpu-a"), gpu_node("gpu-b")]


def isvc(generation: int = 2, strategy: str | None = None) -> dict[str, Any]:
    predictor: dict[str, Any] = {"workerSpec": {}}
    if strategy:
        predictor["deploymentStrategy"] = {"type": strategy}
    return {
        "metadata": {"name": "llama", "namespace": "team-a", "generation": generation},
        "spec": {"predictor": predictor},
    }


def pod(name: str, node: str | None, gpus: int, *, worker: bool, generation: str | None) -> dict[str, Any]:
    raw = gpu_pod(name, node, gpus, namespace="team-a", phase="Running" if node else "Pending")
    labels = {
        "serving.kserve.io/inferenceservice": "llama",
        "app": "isvc.llama-predictor" + ("-worker" if worker else ""),
    }
    if generation is not None:
        labels["isvc.generation"] = generation
    raw["metadata"]["labels"] = labels
    return raw


def old_pods() -> list[dict[str, Any]]:
    return [
        pod("h1", "gpu-a", 8, worker=False, generation="1"),
        pod("w1", "gpu-b", 8, worker=True, generation="1"),
    ]


def test_old_generation_pods_holding_every_gpu_give_a_warning_with_the_recreate_suggestion() -> None:
    pods = [
        *old_pods(),
        pod("h2", None, 8, worker=False, generation="2"),
        pod("w2", None, 8, worker=True, generation="2"),
    ]
    plan, found = rollout_findings(isvc(), NEW, pods_from_dicts(pods), node_view(NODES, old_pods()))
    assert plan is not None and not plan.fits and plan.extra_gpus == 16
    [finding] = found
    assert (finding.code, finding.severity) == (ROLLOUT_NEEDS_GPUS, "warning")
    assert finding.message.startswith(
        "a rollout is under way: 2 pod(s) run an older spec (isvc.generation 1; the InferenceService is at generation 2)"
    )
    assert finding.suggestion is not None
    assert finding.suggestion.startswith("kubectl kserve-mn fix llama -n team-a --rollout=recreate")


def test_a_recreate_rollout_that_cannot_fit_is_an_error_the_model_is_down() -> None:
    small = [gpu_node("gpu-a", 4), gpu_node("gpu-b", 4)]
    pods = [pod("h1", "gpu-a", 4, worker=False, generation="1")]
    plan, found = rollout_findings(
        isvc(strategy="Recreate"), NEW, pods_from_dicts(pods), node_view(small, pods)
    )
    assert plan is not None and plan.recreate and not plan.fits
    [finding] = found
    assert finding.severity == "error"
    assert finding.suggestion is not None and "--rollout=recreate" not in finding.suggestion


def test_a_rollout_that_fits_is_reported_without_a_finding() -> None:
    nodes = [*NODES, gpu_node("gpu-c"), gpu_node("gpu-d")]
    plan, found = rollout_findings(isvc(), NEW, pods_from_dicts(old_pods()), node_view(nodes, old_pods()))
    assert plan is not None and plan.fits and found == []


def test_no_rollout_when_pods_run_the_current_generation_or_hold_nothing_or_free_gpus_are_unknown() -> None:
    current = [pod("h", "gpu-a", 8, worker=False, generation="2")]
    waiting = [pod("h", None, 8, worker=False, generation="1")]
    unlabelled = [pod("h", "gpu-a", 8, worker=False, generation=None)]
    for pods in (current, waiting, unlabelled):
        assert rollout_findings(isvc(), NEW, pods_from_dicts(pods), node_view(NODES, pods)) == (None, [])
    unknown = node_view(NODES, free_known=False)
    assert rollout_findings(isvc(), NEW, pods_from_dicts(old_pods()), unknown) == (None, [])
    assert rollout_findings(isvc(), NEW, pods_from_dicts(old_pods()), None) == (None, [])
