"""fix llmisvc/NAME's core: a minimal merge patch that never changes the total parallelism size, GPUs per pod
to match dataLocal x tensor, a single-node pipeline moved into tensor (as a recreate), undo."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_kserve_mn.edits import PREVIOUS_LAYOUT_ANNOTATION, apply_merge_patch
from kubectl_kserve_mn.kserve.llmisvc import admit_llmisvc, compute_llm_layout
from kubectl_kserve_mn.patch_llmisvc import (
    LlmFixTarget,
    plan_llm_fix,
    plan_llm_undo,
    recreate_manifest,
    sizes,
)
from tests.fixture_files import model_facts
from tests.llmisvc_objects import era, llmisvc, pod
from tests.nodes import gpu_node, inventory_of

TWO_NODES = inventory_of([gpu_node("gpu-a"), gpu_node("gpu-b")], [])
V020 = era("v0.20.0")


def live(**kwargs: Any) -> dict[str, Any]:
    obj = llmisvc(**kwargs)
    obj["metadata"] |= {"resourceVersion": "41", "uid": "u-1", "generation": 3}
    obj["status"] = {"conditions": []}
    return obj


def test_gpu_requests_are_set_to_data_local_times_tensor() -> None:
    obj = live(
        parallelism={"tensor": 4, "data": 4, "dataLocal": 2},
        template=pod(4, limits_only=True),
        worker=pod(None),
    )
    result = plan_llm_fix(obj, V020, inventory=TWO_NODES)
    assert result.refused is None and result.recreate is None
    plan = result.plan
    assert plan.patch["metadata"]["resourceVersion"] == "41"
    assert plan.patch["spec"] == {
        "template": {
            "containers": [
                {
                    "name": "main",
                    "resources": {"limits": {"nvidia.com/gpu": "8"}, "requests": {"nvidia.com/gpu": "8"}},
                }
            ]
        },
        "worker": {
            "containers": [
                {
                    "name": "main",
                    "resources": {"requests": {"nvidia.com/gpu": "8"}, "limits": {"nvidia.com/gpu": "8"}},
                }
            ]
        },
    }
    assert plan.explanations == [
        "spec.template GPUs 4 -> 8 nvidia.com/gpu: each leader pod runs 2 data-parallel rank(s) x tensor 4",
        "spec.worker GPUs unset -> 8 nvidia.com/gpu: each worker pod runs 2 data-parallel rank(s) x tensor 4",
    ]
    assert plan.admission is not None and plan.admission.allowed
    after = compute_llm_layout(plan.after, V020).main
    assert (after.leader_gpus, after.worker_gpus) == (8, 8)
    assert apply_merge_patch(obj, plan.patch) == plan.after


def test_a_working_object_needs_no_change() -> None:
    obj = live(parallelism={"tensor": 8, "data": 2, "dataLocal": 1}, template=pod(8), worker=pod(8))
    result = plan_llm_fix(obj, V020, inventory=TWO_NODES)
    assert not result.plan.changed and result.plan.patch == {} and result.plan.problem is None


def test_the_fix_is_idempotent() -> None:
    obj = live(parallelism={"tensor": 4, "data": 4, "dataLocal": 2}, template=pod(2), worker=pod(2))
    first = plan_llm_fix(obj, V020, inventory=TWO_NODES).plan
    assert first.changed
    assert not plan_llm_fix(first.after, V020, inventory=TWO_NODES).plan.changed


def test_a_size_change_is_refused_with_the_manifest_to_recreate() -> None:
    obj = live(parallelism={"tensor": 8, "data": 2, "dataLocal": 1}, template=pod(8), worker=pod(8))
    result = plan_llm_fix(obj, V020, target=LlmFixTarget(data=4), inventory=TWO_NODES)
    assert result.plan.patch == {} and not result.plan.changed
    assert result.refused == (
        "the change alters the total parallelism size, which KServe's webhook forbids on update (spec.parallelism: "
        "total parallelism size is immutable, previous size 2, curr size 4): delete the LLMInferenceService and "
        "create it from the manifest below"
    )
    manifest = result.recreate
    assert manifest is not None
    assert "status" not in manifest and set(manifest["metadata"]) == {"name", "namespace"}
    assert manifest["spec"]["parallelism"] == {"tensor": 8, "data": 4, "dataLocal": 1}
    assert admit_llmisvc(manifest, V020).allowed
    assert not admit_llmisvc(manifest, V020, live=obj).allowed  # what the refusal avoids


def test_changing_only_tensor_is_an_update() -> None:
    obj = live(parallelism={"tensor": 16, "data": 2, "dataLocal": 1}, template=pod(8), worker=pod(8))
    result = plan_llm_fix(obj, V020, target=LlmFixTarget(tensor=8), inventory=TWO_NODES)
    assert result.refused is None
    assert result.plan.patch["spec"] == {"parallelism": {"tensor": 8}}
    assert result.plan.admission is not None and result.plan.admission.allowed


def test_tensor_that_no_node_holds_is_not_written_as_gpus() -> None:
    obj = live(parallelism={"tensor": 16, "data": 2, "dataLocal": 1}, template=pod(8), worker=pod(8))
    result = plan_llm_fix(obj, V020, inventory=TWO_NODES)
    assert not result.plan.changed
    assert result.plan.problem == (
        "spec: each pod needs dataLocal x tensor = 16 nvidia.com/gpu but the largest node has 8; lower tensor "
        "(allowed on update) with --tensor-parallel-size, e.g. 8"
    )


@pytest.mark.parametrize("tag", ["v0.18.0", "v0.20.0"])
def test_single_node_pipeline_moves_into_tensor_as_a_recreate(tag: str) -> None:
    obj = live(version="v1alpha1", parallelism={"pipeline": 2, "tensor": 4}, template=pod(8))
    result = plan_llm_fix(
        obj, era(tag), inventory=TWO_NODES, model=model_facts("meta-llama--Meta-Llama-3.1-70B")
    )
    assert result.refused is not None and "previous size 2, curr size 1" in result.refused
    manifest = result.recreate
    assert manifest is not None and manifest["spec"]["parallelism"] == {"tensor": 8}
    after = compute_llm_layout(manifest, era(tag)).main
    assert (after.vllm.tensor, after.leader_gpus) == (8, 8)  # before v0.20.0 through VLLM_ADDITIONAL_ARGS
    if tag == "v0.18.0":
        env = manifest["spec"]["template"]["containers"][0]["env"]
        assert env == [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--tensor-parallel-size 8"}]


def test_pipeline_is_not_moved_where_the_model_refuses_the_tensor_size() -> None:
    obj = live(parallelism={"pipeline": 3, "tensor": 1}, template=pod(3))
    result = plan_llm_fix(obj, V020, model=model_facts("meta-llama--Meta-Llama-3.1-8B"))
    assert result.recreate is None
    assert result.plan.notes == (
        "spec: pipeline 3 is not moved into tensor 3: Total number of attention heads (32) must be divisible by "
        "tensor parallel size (3).",
    )


def test_a_dropped_single_node_tensor_is_passed_as_a_flag_before_v020() -> None:
    template = pod(4)
    template["containers"][0]["env"] = [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--max-model-len 8192"}]
    obj = live(version="v1alpha1", parallelism={"tensor": 4}, template=template)
    plan = plan_llm_fix(obj, era("v0.19.0"), inventory=TWO_NODES).plan
    env = plan.after["spec"]["template"]["containers"][0]["env"]
    assert env == [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--max-model-len 8192 --tensor-parallel-size 4"}]
    assert compute_llm_layout(plan.after, era("v0.19.0")).main.vllm.tensor == 4
    assert plan.admission is not None and plan.admission.allowed


def test_v017_gets_the_flag_as_args_and_v016_as_the_presets_args_plus_the_flag() -> None:
    obj = live(version="v1alpha1", parallelism={"tensor": 2}, template=pod(2))
    v017 = plan_llm_fix(obj, era("v0.17.0")).plan.after["spec"]["template"]["containers"][0]["args"]
    assert v017 == ["--tensor-parallel-size", "2"]
    v016 = plan_llm_fix(obj, era("v0.16.0")).plan.after
    assert compute_llm_layout(v016, era("v0.16.0")).main.vllm.tensor == 2
    assert v016["spec"]["template"]["containers"][0]["args"][0] == "--served-model-name"


def test_the_pipeline_preset_failure_is_not_patched_over() -> None:
    obj = live(parallelism={"pipeline": 2, "tensor": 8}, template=pod(8), worker=pod(8))
    result = plan_llm_fix(obj, V020, inventory=TWO_NODES)
    assert not result.plan.changed
    assert (
        result.plan.problem is not None
        and "kserve-config-llm-worker-pipeline-parallel" in result.plan.problem
    )


def test_undo_restores_exactly_the_previous_values() -> None:
    obj = live(parallelism={"tensor": 4, "data": 4, "dataLocal": 2}, template=pod(4), worker=pod(4))
    plan = plan_llm_fix(obj, V020, inventory=TWO_NODES).plan
    record = json.loads(plan.after["metadata"]["annotations"][PREVIOUS_LAYOUT_ANNOTATION])
    assert {tuple(str(s) for s in f["path"][:2]) for f in record["fields"]} == {
        ("spec", "template"),
        ("spec", "worker"),
    }
    undo = plan_llm_undo(plan.after, V020)
    assert undo is not None and undo.admission is not None and undo.admission.allowed
    restored = apply_merge_patch(plan.after, undo.patch)
    assert restored["spec"] == obj["spec"]
    assert PREVIOUS_LAYOUT_ANNOTATION not in (restored["metadata"].get("annotations") or {})
    assert plan_llm_undo(obj, V020) is None


def test_recreate_manifest_and_sizes_helpers() -> None:
    obj = live(parallelism={"data": 4, "dataLocal": 2}, prefill={"parallelism": {"pipeline": 3}})
    obj["metadata"]["annotations"] = {PREVIOUS_LAYOUT_ANNOTATION: "{}"}
    assert sizes(obj) == {"spec": 2, "spec.prefill": 3}
    manifest = recreate_manifest(obj)
    assert "annotations" not in manifest["metadata"] and "resourceVersion" not in manifest["metadata"]


def test_before_v016_there_is_nothing_to_fix() -> None:
    result = plan_llm_fix(live(), era("v0.15.1"))
    assert result.plan.problem == "KServe v0.15.1 has no LLMInferenceService"


@settings(max_examples=150, deadline=None)
@given(
    tensor=st.one_of(st.none(), st.integers(min_value=-2, max_value=20)),
    pipeline=st.one_of(st.none(), st.integers(min_value=-2, max_value=6)),
    data=st.one_of(st.none(), st.integers(min_value=-2, max_value=20)),
    local=st.one_of(st.none(), st.integers(min_value=-2, max_value=10)),
    gpus=st.one_of(st.none(), st.integers(min_value=0, max_value=16)),
    worker=st.booleans(),
    tag=st.sampled_from(["v0.16.0", "v0.18.0", "v0.20.0"]),
)
def test_fix_never_writes_a_size_change_or_a_gpu_count_below_one(
    tensor: int | None,
    pipeline: int | None,
    data: int | None,
    local: int | None,
    gpus: int | None,
    worker: bool,
    tag: str,
) -> None:
    parallelism = {
        k: v
        for k, v in {"tensor": tensor, "pipeline": pipeline, "data": data, "dataLocal": local}.items()
        if v is not None
    }
    obj = live(
        version="v1alpha1", parallelism=parallelism, template=pod(gpus), worker=pod(gpus) if worker else None
    )
    result = plan_llm_fix(obj, era(tag), inventory=TWO_NODES)
    if result.plan.changed:
        assert sizes(result.plan.after) == sizes(obj)
        for change in result.plan.changes:
            if "nvidia.com/gpu" in change.path_text:
                assert int(str(change.new)) >= 1, change
    if result.recreate is not None:
        assert result.refused is not None and sizes(result.recreate) != sizes(obj)
