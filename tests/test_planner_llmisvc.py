"""plan --kind llmisvc's core: which parallelism shapes KServe's presets and vLLM run on a pool, and the
snippet to paste."""

from __future__ import annotations

import pytest

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.kserve.llmisvc import compute_llm_layout
from kubectl_kserve_mn.planner import MemoryOptions
from kubectl_kserve_mn.planner_llmisvc import LlmPlanRequest, llmisvc_snippet, plan_llmisvc
from tests.fixture_files import model_facts
from tests.llmisvc_objects import era, llmisvc
from tests.nodes import gpu_node, gpu_pod, inventory_of

TWO_NODES = inventory_of([gpu_node("gpu-a"), gpu_node("gpu-b")], [])


def plan(request: LlmPlanRequest, tag: str = "v0.20.0", inventory=TWO_NODES):  # type: ignore[no-untyped-def]
    return plan_llmisvc(inventory, era(tag), request)


def test_sixteen_gpus_on_two_nodes_of_eight_is_tensor_8_data_2() -> None:
    result = plan(LlmPlanRequest(total_gpus=16))
    best = result.recommendation
    assert best is not None
    assert (best.tensor, best.data, best.data_local, best.pods, best.pod_gpus) == (8, 2, 1, 2, 8)
    assert [p.node for p in best.placement] == ["gpu-a", "gpu-b"] or [p.node for p in best.placement] == [
        "gpu-b",
        "gpu-a",
    ]
    assert [s.label for s in result.alternatives] == [
        "TP=4 x DP=4 (2 per pod)",
        "TP=2 x DP=8 (4 per pod)",
        "TP=1 x DP=16 (8 per pod)",
    ]


def test_tensor_larger_than_a_node_is_rejected_with_the_reason() -> None:
    result = plan(LlmPlanRequest(total_gpus=16, tensor_parallel=16))
    assert result.recommendation is None
    (rejection,) = result.rejected
    assert rejection.layout == "TP=16"
    assert (
        "kserve#4946" in rejection.reason and "kserve-config-llm-worker-pipeline-parallel" in rejection.reason
    )


def test_the_users_tensor_and_data_sizes_are_kept() -> None:
    best = plan(LlmPlanRequest(tensor_parallel=4, data_parallel=4)).recommendation
    assert best is not None and (best.tensor, best.data, best.data_local, best.pods) == (4, 4, 2, 2)


def test_a_single_pod_shape_and_its_snippet_per_release() -> None:
    best = plan(LlmPlanRequest(tensor_parallel=4)).recommendation
    assert best is not None and not best.multi_node and best.label == "TP=4"
    main = {
        "name": "main",
        "resources": {"limits": {"nvidia.com/gpu": "4"}, "requests": {"nvidia.com/gpu": "4"}},
    }
    assert llmisvc_snippet(best, era("v0.20.0")) == {
        "spec": {"parallelism": {"tensor": 4}, "template": {"containers": [main]}}
    }
    v018 = llmisvc_snippet(best, era("v0.18.0"))["spec"]["template"]["containers"][0]
    assert v018["env"] == [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--tensor-parallel-size 4"}]
    assert llmisvc_snippet(best, era("v0.17.0"))["spec"]["template"]["containers"][0]["args"] == [
        "--tensor-parallel-size",
        "4",
    ]
    v016 = llmisvc_snippet(best, era("v0.16.0"))["spec"]["template"]["containers"][0]["args"]
    assert v016[:2] == ["--served-model-name", "{{ .Spec.Model.Name }}"] and v016[-2:] == [
        "--tensor-parallel-size",
        "4",
    ]
    notes = plan(LlmPlanRequest(tensor_parallel=4), "v0.18.0").recommendation.notes  # type: ignore[union-attr]
    assert any("kserve#5773" in n for n in notes)


@pytest.mark.parametrize("tag", ["v0.16.0", "v0.17.0", "v0.18.0", "v0.19.0", "v0.20.0"])
def test_the_snippets_render_the_planned_flags(tag: str) -> None:
    # What plan prints, pasted into an object, makes the controller of that release start vLLM as planned.
    for request in (LlmPlanRequest(tensor_parallel=4), LlmPlanRequest(total_gpus=16)):
        best = plan(request, tag).recommendation
        assert best is not None
        obj = llmisvc(version="v1alpha1", **llmisvc_snippet(best, era(tag))["spec"])
        result = compute_llm_layout(obj, era(tag)).main
        assert (result.vllm.tensor, result.vllm.data, result.leader_gpus) == (
            best.tensor,
            best.data,
            best.pod_gpus,
        )
        if best.multi_node:
            assert result.lws is not None and result.lws.size == best.pods


def test_a_multi_node_snippet_has_parallelism_and_both_pods() -> None:
    best = plan(LlmPlanRequest(total_gpus=16)).recommendation
    assert best is not None
    block = {"limits": {"nvidia.com/gpu": "8"}, "requests": {"nvidia.com/gpu": "8"}}
    assert llmisvc_snippet(best, era("v0.20.0"), expert=True) == {
        "spec": {
            "parallelism": {"tensor": 8, "data": 2, "dataLocal": 1, "expert": True},
            "template": {"containers": [{"name": "main", "resources": block}]},
            "worker": {"containers": [{"name": "main", "resources": block}]},
        }
    }


def test_busy_gpus_make_a_shape_that_fits_now_win() -> None:
    busy = inventory_of([gpu_node("gpu-a"), gpu_node("gpu-b")], [gpu_pod("x", "gpu-b", 4)])
    result = plan(LlmPlanRequest(total_gpus=12), inventory=busy)
    best = result.recommendation
    # gpu-a has 8 free, gpu-b 4: two pods of 6 fit only the capacity, three pods of 4 fit now.
    assert best is not None and best.fits_now
    assert (best.tensor, best.data, best.data_local, best.pods) == (4, 3, 1, 3)
    assert any(not s.fits_now and s.fits_capacity for s in result.alternatives)


def test_a_model_picks_the_smallest_tensor_that_fits_memory() -> None:
    result = plan(LlmPlanRequest(model=model_facts("meta-llama--Meta-Llama-3.1-70B")))
    best = result.recommendation
    assert best is not None and best.memory is not None
    assert (best.tensor, best.data) == (4, 1)
    reasons = {r.layout: r.reason for r in result.rejected}
    # vLLM's own words for weights that leave no room for the KV cache.
    assert "the weights alone exceed the GPU" in reasons["TP=1"]


def test_a_model_that_needs_more_than_a_node_has_no_llmisvc_shape() -> None:
    result = plan(LlmPlanRequest(total_gpus=16, model=model_facts("meta-llama--Meta-Llama-3.1-405B")))
    assert result.recommendation is None
    reasons = {r.layout: r.reason for r in result.rejected}
    assert "kserve#4946" in reasons["TP=16"]
    assert "the weights alone exceed the GPU" in reasons["TP=8 x DP=2"]


def test_model_rules_reject_tensor_sizes() -> None:
    result = plan(LlmPlanRequest(total_gpus=6, model=model_facts("meta-llama--Meta-Llama-3.1-8B")))
    reasons = {r.layout: r.reason for r in result.rejected}
    assert (
        reasons["TP=3 x DP=2"]
        == "Total number of attention heads (32) must be divisible by tensor parallel size (3)."
    )


def test_expert_parallel_needs_experts() -> None:
    result = plan(
        LlmPlanRequest(total_gpus=8, expert_parallel=True, model=model_facts("meta-llama--Meta-Llama-3.1-8B"))
    )
    assert result.recommendation is None
    assert result.rejected[0].reason.startswith("Number of experts in the model must be greater than 0")


def test_moe_with_data_parallel_is_planned_without_a_memory_verdict() -> None:
    request = LlmPlanRequest(
        tensor_parallel=1,
        data_parallel=16,
        expert_parallel=True,
        model=model_facts("deepseek-ai--DeepSeek-V3"),
        memory=MemoryOptions(gpu_memory_bytes=80 << 30),
    )
    best = plan(request).recommendation
    assert best is not None and (best.data_local, best.pods) == (8, 2)
    assert best.notes == ("memory not estimated: vLLM shards the experts over data x tensor ranks",)


def test_before_v016_there_is_nothing_to_plan() -> None:
    result = plan(LlmPlanRequest(total_gpus=8), "v0.15.1")
    assert not result.feasible
    assert result.warnings == ("KServe v0.15.1 has no LLMInferenceService (v0.16.0 and later)",)


def test_absurd_sizes_are_input_errors() -> None:
    with pytest.raises(InputError, match="--tensor-parallel-size must be between 1 and 65536"):
        plan(LlmPlanRequest(tensor_parallel=10**9))


def test_json_of_a_shape() -> None:
    best = plan(LlmPlanRequest(total_gpus=16)).recommendation
    assert best is not None
    data = best.to_json()
    assert {
        k: data[k] for k in ("tensor", "data", "dataLocal", "pods", "podGpus", "totalGpus", "multiNode")
    } == {
        "tensor": 8,
        "data": 2,
        "dataLocal": 1,
        "pods": 2,
        "podGpus": 8,
        "totalGpus": 16,
        "multiNode": True,
    }
