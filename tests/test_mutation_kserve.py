"""KServe's rules at their exact boundaries: parallel sizes, canary traffic, Go's quoting, the shipped
runtimes, the plan snippet's container name, and a rollout's bookkeeping (from the mutation audit,
docs/testing.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_kserve_mn.inputs.k8s import pods_from_dicts
from kubectl_kserve_mn.kserve import rollout
from kubectl_kserve_mn.kserve.admission import go_quote
from kubectl_kserve_mn.kserve.runtimes import shipped_runtime
from kubectl_kserve_mn.planner import Layout
from kubectl_kserve_mn.snippet import plan_snippet
from tests.nodes import gpu_node, inventory_of
from tests.test_kserve_admission import V0150, V0151, V020, canary_isvc, isvc, message
from tests.test_kserve_rollout import isvc_pod

INVALID = 'the InferenceService "llama" is invalid: '


@pytest.mark.parametrize("tp", [1, 2])
def test_tensor_parallel_one_is_admitted_in_every_era(tp: int) -> None:
    assert message(isvc(spec__predictor__workerSpec={"tensorParallelSize": tp}), V0151) is None
    old = isvc(spec__predictor__workerSpec={"tensorParallelSize": tp, "pipelineParallelSize": 2})
    old["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "external"
    assert message(old, V0150) is None


def test_tensor_parallel_zero_is_rejected() -> None:
    assert message(isvc(spec__predictor__workerSpec={"tensorParallelSize": 0}), V020) == (
        f"{INVALID}WorkerSpec.TensorParallelSize cannot be less than 1(0)"
    )


def test_v0150_admits_pipeline_parallel_two() -> None:
    obj = isvc(spec__predictor__workerSpec={"pipelineParallelSize": 2})
    obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "external"
    assert message(obj, V0150) is None


@pytest.mark.parametrize("percent", [0, 1, 99, 100])
def test_canary_traffic_from_0_to_100_percent_is_admitted(percent: int) -> None:
    obj = canary_isvc()
    obj["spec"]["canary"][0]["trafficPercent"] = percent
    assert message(obj, V020) is None


@pytest.mark.parametrize("percent", [-1, 101])
def test_canary_traffic_outside_0_to_100_is_rejected(percent: int) -> None:
    obj = canary_isvc()
    obj["spec"]["canary"][0]["trafficPercent"] = percent
    assert message(obj, V020) == f'canary "v2" trafficPercent must be between 0 and 100, got {percent}'


def test_a_canary_without_a_predictor_name_is_rejected_by_index() -> None:
    obj = canary_isvc()
    obj["spec"]["canary"].append({"trafficPercent": 5, "predictor": {}})
    assert message(obj, V020) == "canary[1] predictor.name is required"


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("a b", '"a b"'),
        ("\u00a0", '"\\u00a0"'),
        ("\uffff", '"\\uffff"'),
        ("\U00010000", '"𐀀"'),
        ("\U000e0001", '"\\U000e0001"'),
    ],
)
def test_go_quote_keeps_the_space_and_escapes_other_unprintable_runes_by_width(
    text: str, quoted: str
) -> None:
    assert go_quote(text) == quoted


@pytest.mark.parametrize("version", [(0, 15, 0), (0, 15, 1), (0, 20, 0)])
def test_the_shipped_runtime_is_the_multinode_cluster_runtime(version: tuple[int, int, int]) -> None:
    from kubectl_kserve_mn.kserve.eras import era_for

    runtime = shipped_runtime(era_for(version))
    assert (runtime["apiVersion"], runtime["kind"], runtime["metadata"]["name"]) == (
        "serving.kserve.io/v1alpha1",
        "ClusterServingRuntime",
        "kserve-huggingfaceserver-multinode",
    )
    assert [c["name"] for c in runtime["spec"]["containers"]] == ["kserve-container"]
    assert [c["name"] for c in runtime["spec"]["workerSpec"]["containers"]] == ["worker-container"]


def test_the_plan_snippet_names_the_worker_container_as_asked() -> None:
    layout = Layout("p", "nvidia.com/gpu", 2, 8, 8, 8, 1)
    snippet = plan_snippet(layout, V0151, worker_container="vllm-worker")
    assert [c["name"] for c in snippet["spec"]["predictor"]["workerSpec"]["containers"]] == ["vllm-worker"]
    single = plan_snippet(Layout("p", "nvidia.com/gpu", 1, 1, 1, 1, 0), V0151)
    assert single == {
        "spec": {
            "predictor": {
                "model": {
                    "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}
                }
            }
        }
    }
    unknown = plan_snippet(Layout("p", "example.com/npu", 1, 1, 1, 1, 0), V0151)
    assert unknown["metadata"] == {
        "annotations": {"serving.kserve.io/gpu-resource-types": '["example.com/npu"]'}
    }


def test_released_gives_gpus_back_on_cordoned_nodes_too() -> None:
    nodes = [gpu_node("gpu-a"), gpu_node("gpu-b", cordoned=True)]
    pods = [isvc_pod("w", "gpu-b", 8, worker=True)]
    inventory = inventory_of(nodes, pods)
    (pool,) = inventory.pools
    assert [n.requested for n in pool.unschedulable] == [8]
    back = rollout.released(inventory, rollout.running_pods(pods_from_dicts(pods)))
    assert [n.requested for n in back.pools[0].unschedulable] == [0]
    assert [n.requested for n in back.nodes] == [0, 0]


def test_a_plan_without_gpus_has_no_resource_in_its_json() -> None:
    plan = rollout.RolloutPlan(
        strategy=rollout.ROLLING_UPDATE,
        needs=(),
        placement=(),
        fits=True,
        source="pods",
        old_pods=0,
        kept_pods=0,
        old_workers=0,
        kept_workers=0,
        new_workers=0,
    )
    data: dict[str, Any] = plan.to_json()
    assert data == {
        "strategy": rollout.ROLLING_UPDATE,
        "extraGpus": 0,
        "gpuResource": None,
        "freeGpus": None,
        "fits": True,
        "placement": [],
        "placementKnown": True,
        "byResource": [],
        "oldPods": 0,
        "keptPods": 0,
        "downtime": None,
        "outcome": "rolls over: the new pods start next to the old ones, which keep serving until the new ones "
        "are Ready",
        "source": "pods",
    }


def _pythonpath(**extra: Any) -> dict[str, Any]:
    return {"env": [{"name": "PYTHONPATH", "value": "/x"}], **extra}


@pytest.mark.parametrize(
    ("where", "container"),
    [
        (("predictor", "initContainers"), "init"),
        (("predictor", "containers"), "side"),
        (("explainer", "containers"), "ex"),
        (("transformer", "initContainers"), ""),
    ],
)
def test_v018_names_the_container_that_sets_pythonpath_anywhere_in_the_spec(
    where: tuple[str, str], container: str
) -> None:
    obj = isvc()
    component, key = where
    entry = _pythonpath(name=container) if container else _pythonpath()
    obj["spec"].setdefault(component, {})[key] = [entry]
    assert message(obj, V020) == (
        f'{INVALID}setting PYTHONPATH in container "{container}" is not allowed for security reasons'
    )
    del obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"]
    assert "PYTHONPATH" not in (message(obj, V0151) or "")


def test_v018_names_the_model_container_by_its_name() -> None:
    obj = isvc(spec__predictor__model__env=_pythonpath()["env"], spec__predictor__model__name="llm")
    assert (
        message(obj, V020)
        == f'{INVALID}setting PYTHONPATH in container "llm" is not allowed for security reasons'
    )


def _runtime(version: str) -> dict[str, Any]:
    from tests.test_kserve_admission import runtime

    return runtime(f"kserve-huggingfaceserver-multinode.install-{version}.yaml")


def test_a_runtime_tensor_parallel_size_string_is_a_schema_error() -> None:
    from kubectl_kserve_mn.kserve.admission import admit_runtime

    rt = _runtime("v0.15.1")
    rt["spec"]["workerSpec"]["tensorParallelSize"] = "8"
    assert admit_runtime(rt, V0151).message == (
        'ClusterServingRuntime.serving.kserve.io "kserve-huggingfaceserver-multinode" is invalid: '
        'spec.workerSpec.tensorParallelSize: Invalid value: "string": spec.workerSpec.tensorParallelSize in body '
        'must be of type integer: "8"'
    )


def test_a_runtime_with_an_empty_worker_container_list_is_refused_as_kserve_would_panic() -> None:
    from kubectl_kserve_mn.kserve.admission import admit_runtime

    rt = _runtime("v0.15.1")
    rt["spec"]["workerSpec"]["containers"] = []
    assert admit_runtime(rt, V0151).message == (
        "the ClusterServingRuntime kserve-huggingfaceserver-multinode is invalid: spec.workerSpec.containers is "
        "empty; KServe's webhook reads containers[0] without a length check and fails (panic) instead of "
        "admitting it"
    )


def test_v018_blocks_pythonpath_in_the_runtimes_head_container() -> None:
    from kubectl_kserve_mn.kserve.admission import admit_runtime

    rt = _runtime("v0.20.0")
    rt["spec"]["containers"][0].setdefault("env", []).append({"name": "PYTHONPATH", "value": "/x"})
    assert admit_runtime(rt, V020).message == (
        'the ClusterServingRuntime "kserve-huggingfaceserver-multinode" is invalid: setting PYTHONPATH in '
        'container "kserve-container" is not allowed for security reasons'
    )


def test_too_many_new_pods_say_their_placement_is_unknown_in_json() -> None:
    from tests.test_kserve_rollout import layout, plan_for

    plan = plan_for(
        [gpu_node(f"n{i}") for i in range(4)], [], layout(1, 1, 600, pp=1, tp=601), rollout.Strategy()
    )
    data = plan.to_json()
    assert (data["placementKnown"], data["fits"], data["source"]) == (False, False, "pods")
    unknown = rollout.plan_rollout(inventory_of([gpu_node("n0")]), None, layout(8, 8, 1), rollout.Strategy())
    assert (unknown.source, unknown.old_pods) == ("layout", 0)


def test_many_new_pods_fit_when_they_take_exactly_the_free_gpus() -> None:
    from tests.test_kserve_rollout import layout, plan_for

    nodes = [gpu_node(f"n{i}") for i in range(75)]  # 600 GPUs, all free
    exact = plan_for(nodes, [], layout(1, 1, 599, pp=1, tp=600), rollout.Strategy())
    assert (exact.placement_known, exact.fits) == (False, True)
    over = plan_for(nodes, [], layout(1, 1, 600, pp=1, tp=601), rollout.Strategy())
    assert (over.placement_known, over.fits) == (False, False)


@pytest.mark.parametrize(
    ("phase", "running"), [("Running", True), ("Pending", True), ("Succeeded", False), ("Failed", False)]
)
def test_finished_pods_hold_no_gpus_in_a_rollout(phase: str, running: bool) -> None:
    pods = pods_from_dicts([isvc_pod("w", "gpu-a", 8, worker=True, phase=phase)])
    assert [p.name for p in rollout.running_pods(pods)] == (["w"] if running else [])


def test_a_generated_name_skips_the_name_rule_and_a_missing_name_fails_it() -> None:
    generated = isvc()
    generated["metadata"] = {**generated["metadata"], "generateName": "llama-"}
    del generated["metadata"]["name"]
    assert message(generated, V0151) is None
    nameless = isvc()
    del nameless["metadata"]["name"]
    assert message(nameless, V0151) == (
        'the InferenceService "" is invalid: a InferenceService name must consist of lower case alphanumeric '
        'characters or \'-\', and must start with alphabetical character. (e.g. "my-name" or "abc-123", regex '
        "used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    )


def test_a_parallel_size_of_another_type_is_shown_as_text() -> None:
    import datetime

    obj = isvc(spec__predictor__workerSpec={"tensorParallelSize": datetime.date(2024, 1, 2)})
    assert message(obj, V0151) == (
        'InferenceService.serving.kserve.io "llama" is invalid: spec.predictor.workerSpec.tensorParallelSize: '
        'Invalid value: "date": spec.predictor.workerSpec.tensorParallelSize in body must be of type integer: '
        '"2024-01-02"'
    )


def test_a_kserve_version_without_its_patch_number_is_refused_saying_why() -> None:
    from kubectl_kserve_mn.kserve.eras import from_flag

    with pytest.raises(ValueError) as refused:
        from_flag("v0.15")
    assert str(refused.value) == (
        "'v0.15' is not a KServe release: give all three parts, e.g. v0.15.0 or v0.15.1 (patch releases can "
        "follow different rules: v0.15.0 and v0.15.1 do)"
    )


@pytest.mark.parametrize("action", ["define", "range", "with", "template", "block"])
def test_template_actions_the_renderer_does_not_run_are_refused_by_name(action: str) -> None:
    from kubectl_kserve_mn.kserve.llmisvc.gotemplate import TemplateError, render

    with pytest.raises(TemplateError) as refused:
        render(f'{{{{ {action} "x" }}}}{{{{ end }}}}', {"Spec": {}})
    assert str(refused.value) == f"{{{{{action}}}}} is not supported by this renderer"


def test_runtimes_are_chosen_by_priority_then_newest_then_name() -> None:
    from kubectl_kserve_mn.kserve.runtimes import select_runtime
    from tests.test_kserve_runtimes import as_sr, csr
    from tests.test_kserve_runtimes import isvc as rt_isvc

    def named(name: str, created: str, priority: int | None = 2) -> dict[str, Any]:
        runtime = as_sr(csr(), name)
        runtime["metadata"]["creationTimestamp"] = created
        for entry in runtime["spec"]["supportedModelFormats"]:
            if priority is None:
                entry.pop("priority", None)
            else:
                entry["priority"] = priority
        return runtime

    old, new, also_new = (
        named("a", "2025-01-01T00:00:00Z"),
        named("c", "2025-06-01T00:00:00Z"),
        named("b", "2025-06-01T00:00:00Z"),
    )
    assert select_runtime(rt_isvc(), [old, new, also_new]).reason == (
        "auto-selected ServingRuntime b (model format huggingface, priority 2)"
    )
    higher = named("z", "2020-01-01T00:00:00Z", priority=5)
    assert select_runtime(rt_isvc(), [old, new, higher]).name == "z"
    plain_new, plain_old = named("p", "2025-06-01T00:00:00Z", None), named("o", "2025-01-01T00:00:00Z", None)
    assert select_runtime(rt_isvc(), [plain_old, plain_new]).reason == (
        "auto-selected ServingRuntime p (model format huggingface)"
    )
    other_format = named("q", "2025-06-01T00:00:00Z", None)
    other_format["spec"]["supportedModelFormats"].append(
        {"name": "sklearn", "priority": 9, "autoSelect": True}
    )
    assert select_runtime(rt_isvc(), [plain_old, other_format]).reason == (
        "auto-selected ServingRuntime q (model format huggingface)"
    )


def test_a_named_runtime_that_lacks_the_protocol_is_refused() -> None:
    from kubectl_kserve_mn.kserve.runtimes import select_runtime
    from tests.test_kserve_runtimes import as_sr, csr
    from tests.test_kserve_runtimes import isvc as rt_isvc

    runtime = as_sr(csr(), "d")
    runtime["spec"]["protocolVersions"] = ["v2"]
    obj = rt_isvc(runtime="d")
    assert select_runtime(obj, [runtime]).reason == "named ServingRuntime d (predictor.model.runtime)"
    obj["spec"]["predictor"]["model"]["protocolVersion"] = "v1"
    choice = select_runtime(obj, [runtime])
    assert (choice.reason, choice.error) == (
        "named ServingRuntime d",
        "specified runtime d does not support specified protocol version",
    )
