"""The rollout's GPUs (kserve/rollout.py): pure figures for a multi-node InferenceService rolling from its pods
to a new layout, under RollingUpdate (KServe's worker Deployment: maxSurge 100%, maxUnavailable 0) and Recreate."""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_kserve_mn.inputs.k8s import pods_from_dicts
from kubectl_kserve_mn.kserve import rollout
from kubectl_kserve_mn.kserve.controller import ControllerLayout, PodGpus
from kubectl_kserve_mn.kserve.eras import from_flag
from kubectl_kserve_mn.kserve.rollout import RECREATE, ROLLING_UPDATE, RunningPod, Strategy, plan_rollout
from tests.nodes import gpu_node, gpu_pod, inventory_of

GPU = "nvidia.com/gpu"
AMD = "amd.com/gpu"


def layout(
    head: int, worker: int, replicas: int, *, pp: int = 2, tp: int = 8, resource: str = GPU
) -> ControllerLayout:
    return ControllerLayout(
        backend="ray",
        pipeline_parallel_size=pp,
        tensor_parallel_size=tp,
        total_gpus=pp * tp,
        node_count=replicas + 1,
        head=PodGpus(resource, head),
        worker=PodGpus(resource, worker),
        worker_replicas=replicas,
        error=None,
    )


PP2_TP8 = layout(8, 8, 1)


def isvc_pod(
    name: str, node: str | None, gpus: int, *, worker: bool, generation: str = "1", phase: str = "Running"
) -> dict[str, Any]:
    pod = gpu_pod(name, node, gpus, namespace="team-a", phase=phase)
    pod["metadata"]["labels"] = {
        "serving.kserve.io/inferenceservice": "llama",
        "app": "isvc.llama-predictor-worker" if worker else "isvc.llama-predictor",
        "isvc.generation": generation,
    }
    return pod


def seed_pods() -> list[dict[str, Any]]:
    """TP=16 without GPU requests on v0.15.1: 16 single-GPU pods (head + 15 workers) on two 8-GPU nodes."""
    pods = [isvc_pod("llama-predictor-h", "gpu-a", 1, worker=False)]
    pods += [isvc_pod(f"llama-predictor-worker-{i:02d}", "gpu-a", 1, worker=True) for i in range(7)]
    pods += [isvc_pod(f"llama-predictor-worker-{i:02d}", "gpu-b", 1, worker=True) for i in range(7, 15)]
    return pods


TWO_NODES = [gpu_node("gpu-a"), gpu_node("gpu-b")]


def plan_for(
    nodes: list[dict[str, Any]], pods: list[dict[str, Any]], new: ControllerLayout, strategy: Strategy
) -> rollout.RolloutPlan:
    current = rollout.running_pods(pods_from_dicts(pods))
    return plan_rollout(inventory_of(nodes, pods), current, new, strategy)


# --- the strategy -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind", "surge", "unavailable", "keeps_head"),
    [
        (None, ROLLING_UPDATE, 1, 0, True),  # KServe's default 25%/25% of one head pod
        ({"type": "Recreate"}, RECREATE, 0, 1, False),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "10%"}},
            ROLLING_UPDATE,
            0,
            1,
            False,
        ),
        ({"rollingUpdate": {"maxSurge": "50%", "maxUnavailable": "100%"}}, ROLLING_UPDATE, 1, 1, False),
        ({"rollingUpdate": {"maxSurge": 2}}, ROLLING_UPDATE, 2, 0, True),
        ({"rollingUpdate": {"maxSurge": "lots"}}, ROLLING_UPDATE, 1, 0, True),  # the API server refuses it
    ],
)
def test_strategy_resolves_the_head_fenceposts_like_kubernetes(
    raw: dict[str, Any] | None, kind: str, surge: int, unavailable: int, keeps_head: bool
) -> None:
    predictor: dict[str, Any] = {} if raw is None else {"deploymentStrategy": raw}
    strategy = Strategy.of({"spec": {"predictor": predictor}})
    assert (strategy.type, strategy.head_surge, strategy.head_unavailable) == (kind, surge, unavailable)
    assert strategy.keeps_old_head is keeps_head


# --- the object's pods ------------------------------------------------------------------------------------


def test_running_pods_take_roles_from_the_app_label_and_hold_gpus_only_when_bound() -> None:
    pods = pods_from_dicts(
        [
            isvc_pod("h", "gpu-a", 8, worker=False),
            isvc_pod("w", None, 8, worker=True, phase="Pending"),
            isvc_pod("done", "gpu-b", 8, worker=True, phase="Succeeded"),
        ]
    )
    assert rollout.running_pods(pods) == [
        RunningPod("h", "head", "gpu-a", {GPU: 8}),
        RunningPod("w", "worker", None, {}),
    ]


def test_pods_split_by_their_isvc_generation_label() -> None:
    pods = pods_from_dicts(
        [
            isvc_pod("a", "gpu-a", 1, worker=False, generation="3"),
            isvc_pod("b", None, 8, worker=False, generation="4"),
        ]
    )
    old, new = rollout.split_generations(pods, "4")
    assert ([p.name for p in old], [p.name for p in new]) == (["a"], ["b"])
    assert rollout.rollout_in_progress(pods, {"metadata": {"generation": 4}})
    assert not rollout.rollout_in_progress(pods[1:], {"metadata": {"generation": 4}})
    unlabelled = isvc_pod("c", "gpu-a", 1, worker=False)
    del unlabelled["metadata"]["labels"]["isvc.generation"]
    assert not rollout.rollout_in_progress(pods_from_dicts([unlabelled]), {"metadata": {"generation": 4}})


# --- the seed case: 2 x 8 GPUs all held by the running InferenceService ---------------------------------


def test_seed_rolling_update_first_drops_old_workers_to_the_new_count_and_still_lacks_two_gpus() -> None:
    plan = plan_for(TWO_NODES, seed_pods(), PP2_TP8, Strategy())
    [need] = plan.needs
    assert (need.new_gpus, need.held_gpus, need.released_gpus, need.extra_gpus, need.free_gpus) == (
        16,
        16,
        14,
        2,
        0,
    )
    assert (plan.old_pods, plan.kept_pods, plan.old_workers, plan.kept_workers) == (16, 2, 15, 1)
    assert not plan.fits
    # The ReplicaSet empties the crowded node gpu-b first: the new head fits there, the worker (8) does not
    # fit the 6 GPUs left on gpu-a next to the kept old head and worker.
    assert [(p.pod, p.node) for p in plan.placement] == [("head", "gpu-b"), ("worker-0", None)]
    assert plan.downtime is not None and "scales the 15 old worker pods down to 1" in plan.downtime
    assert plan.outcome.endswith(
        "the new pods (worker-0) stay Pending: the model is down until GPUs are freed"
    )


def test_seed_recreate_needs_no_extra_gpus_and_fits_with_downtime() -> None:
    plan = plan_for(
        TWO_NODES,
        seed_pods(),
        PP2_TP8,
        Strategy.of({"spec": {"predictor": {"deploymentStrategy": {"type": "Recreate"}}}}),
    )
    [need] = plan.needs
    assert (need.extra_gpus, need.released_gpus, need.free_gpus) == (0, 16, 0)
    assert plan.fits and plan.kept_pods == 0
    assert sorted(p.node or "" for p in plan.placement) == ["gpu-a", "gpu-b"]
    assert plan.downtime == "Recreate deletes the old pods before it creates the new ones"


def test_two_full_pods_rolling_to_the_same_pod_sizes_need_a_second_set_and_time_out() -> None:
    pods = [isvc_pod("h", "gpu-a", 8, worker=False), isvc_pod("w", "gpu-b", 8, worker=True)]
    plan = plan_for(TWO_NODES, pods, PP2_TP8, Strategy())
    assert plan.to_json() | {"byResource": None, "outcome": None} == {
        "strategy": "RollingUpdate",
        "extraGpus": 16,
        "gpuResource": GPU,
        "freeGpus": 0,
        "fits": False,
        "placement": [
            {"pod": "head", "node": None, "gpus": 8, "gpuResource": GPU},
            {"pod": "worker-0", "node": None, "gpus": 8, "gpuResource": GPU},
        ],
        "placementKnown": True,
        "byResource": None,
        "oldPods": 2,
        "keptPods": 2,
        "downtime": None,
        "outcome": None,
        "source": "pods",
    }
    assert plan.outcome == (
        "the new pods (head, worker-0) stay Pending, the old ones keep serving, and the head and worker "
        "Deployments report ProgressDeadlineExceeded after progressDeadlineSeconds (600 s) and the rollout "
        "neither finishes nor rolls back"
    )


def test_with_two_more_free_nodes_the_rolling_update_rolls_over() -> None:
    nodes = [*TWO_NODES, gpu_node("gpu-c"), gpu_node("gpu-d")]
    pods = [isvc_pod("h", "gpu-a", 8, worker=False), isvc_pod("w", "gpu-b", 8, worker=True)]
    plan = plan_for(nodes, pods, PP2_TP8, Strategy())
    assert plan.fits and plan.extra_gpus == 16 and plan.needs[0].free_gpus == 16
    assert sorted(p.node or "" for p in plan.placement) == ["gpu-c", "gpu-d"]
    assert plan.outcome.startswith("rolls over")


def test_a_single_pod_layout_lets_every_old_worker_go_first() -> None:
    pods = [isvc_pod("h", "gpu-a", 4, worker=False), isvc_pod("w", "gpu-b", 4, worker=True)]
    plan = plan_for(TWO_NODES, pods, layout(8, 0, 0, pp=1), Strategy())
    assert (plan.kept_workers, plan.needs[0].released_gpus, plan.needs[0].extra_gpus) == (0, 4, 4)
    assert plan.fits  # gpu-b: 4 free + 4 released
    assert plan.downtime is not None and "down to none" in plan.downtime


def test_a_head_strategy_without_surge_lets_the_old_head_go_first() -> None:
    pods = [isvc_pod("h", "gpu-a", 8, worker=False), isvc_pod("w", "gpu-b", 8, worker=True)]
    strategy = Strategy.of(
        {"spec": {"predictor": {"deploymentStrategy": {"rollingUpdate": {"maxSurge": 0}}}}}
    )
    plan = plan_for(TWO_NODES, pods, PP2_TP8, strategy)
    assert plan.needs[0].released_gpus == 8 and plan.needs[0].extra_gpus == 8
    assert [(p.pod, p.node) for p in plan.placement] == [("head", "gpu-a"), ("worker-0", None)]
    assert plan.downtime == "the head's deploymentStrategy lets the old head go before the new one is Ready"


def test_unscheduled_old_workers_are_deleted_before_running_ones() -> None:
    pods = [
        isvc_pod("h", "gpu-a", 2, worker=False),
        isvc_pod("w-pending", None, 2, worker=True, phase="Pending"),
        isvc_pod("w-running", "gpu-b", 2, worker=True),
    ]
    plan = plan_for(TWO_NODES, pods, layout(2, 2, 1, tp=2), Strategy())
    assert (plan.kept_workers, plan.released_running_workers, plan.downtime) == (1, 0, None)
    assert plan.fits


def test_without_pods_the_live_layout_placed_on_the_free_gpus_stands_in() -> None:
    live = layout(1, 1, 15, pp=1, tp=16)
    plan = plan_rollout(inventory_of(TWO_NODES), None, PP2_TP8, Strategy(), live_layout=live)
    assert plan.source == "layout"
    assert (plan.needs[0].held_gpus, plan.needs[0].released_gpus, plan.needs[0].free_gpus) == (16, 14, 0)
    assert not plan.fits


def test_each_gpu_resource_is_counted_on_its_own_nodes() -> None:
    nodes = [gpu_node("gpu-a"), gpu_node("mi-a", resource=AMD), gpu_node("mi-b", resource=AMD)]
    pods = [isvc_pod("h", "gpu-a", 8, worker=False)]
    new = ControllerLayout("ray", 2, 8, 16, 2, PodGpus(AMD, 8), PodGpus(AMD, 8), 1, None)
    plan = plan_for(nodes, pods, new, Strategy())
    by = {n.gpu_resource: (n.new_gpus, n.held_gpus, n.extra_gpus, n.free_gpus) for n in plan.needs}
    assert by == {AMD: (16, 0, 16, 16), GPU: (0, 8, 0, 0)}
    assert plan.fits and plan.to_json()["gpuResource"] == AMD


def test_too_many_new_pods_are_judged_without_placing_each_one() -> None:
    nodes = [gpu_node(f"n{i}") for i in range(4)]
    many = layout(1, 1, 600, pp=1, tp=601)
    plan = plan_for(nodes, [], many, Strategy())
    assert not plan.placement_known and not plan.fits
    assert all(p.node is None for p in plan.placement)


def test_update_rollout_takes_the_strategy_from_the_new_object() -> None:
    obj = {
        "metadata": {"name": "llama", "namespace": "team-a", "generation": 2},
        "spec": {
            "predictor": {
                "deploymentStrategy": {"type": "Recreate"},
                "model": {"resources": {"requests": {GPU: "8"}}},
                "workerSpec": {
                    "pipelineParallelSize": 2,
                    "tensorParallelSize": 8,
                    "containers": [{"name": "worker-container", "resources": {"requests": {GPU: "8"}}}],
                },
            }
        },
    }
    current = rollout.running_pods(pods_from_dicts(seed_pods()))
    plan = rollout.plan_update_rollout(
        obj, None, from_flag("v0.15.1").era, inventory_of(TWO_NODES, seed_pods()), current
    )
    assert plan is not None and plan.recreate and plan.fits
    assert (
        rollout.plan_update_rollout(obj, None, from_flag("v0.14.1").era, inventory_of(TWO_NODES), []) is None
    )


def test_many_new_pods_are_named_by_count() -> None:
    pods = [rollout.NewPod("head", GPU, 1, None)]
    pods += [rollout.NewPod(f"worker-{i}", GPU, 1, "gpu-a" if i < 7 else None) for i in range(15)]
    assert (
        rollout.placement_text(pods) == "head 1 -> Pending, 7 workers x 1 -> gpu-a, 8 workers x 1 -> Pending"
    )
    assert rollout.pod_names([p for p in pods if p.node is None]) == "head and 8 workers"
    assert rollout.pod_names(pods[:2]) == "head, worker-0"
    assert rollout.placement_text(pods[:2]) == "head 1 -> Pending, worker-0 1 -> gpu-a"


def test_released_gives_the_pods_gpus_back_on_nodes_and_pools() -> None:
    pods = seed_pods()
    inventory = inventory_of(TWO_NODES, pods)
    assert [n.free for n in inventory.nodes] == [0, 0]
    current = rollout.running_pods(pods_from_dicts(pods))
    back = rollout.released(inventory, [p for p in current if p.node == "gpu-b"])
    assert [n.free for n in back.nodes] == [0, 8]
    assert back.pools[0].free_gpus == 8
    assert rollout.released(inventory, []) is inventory
