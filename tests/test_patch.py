"""Unit tests for the pure fix core (kubectl_kserve_mn/patch.py): what changes, the merge patch, undo."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubectl_kserve_mn import edits, patch
from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs.k8s import pods_from_dicts
from kubectl_kserve_mn.inventory import Inventory
from kubectl_kserve_mn.kserve.admission import admit_inferenceservice
from kubectl_kserve_mn.kserve.controller import compute_layout
from kubectl_kserve_mn.kserve.eras import Era, era_for
from kubectl_kserve_mn.kserve.runtimes import shipped_runtime
from kubectl_kserve_mn.undo import plan_undo
from tests.nodes import gpu_node, inventory_of

V0150 = era_for((0, 15, 0))
V0151 = era_for((0, 15, 1))
V018 = era_for((0, 18, 0))
GPU = "nvidia.com/gpu"


def two_nodes(gpus: int = 8) -> Inventory:
    return inventory_of([gpu_node("gpu-a", gpus), gpu_node("gpu-b", gpus)], [])


def isvc(era: Era, *, pp: int | None = 1, tp: int | None = 16, **predictor_extra: Any) -> dict[str, Any]:
    worker: dict[str, Any] = {}
    if pp is not None:
        worker["pipelineParallelSize"] = pp
    if tp is not None:
        worker["tensorParallelSize"] = tp
    predictor: dict[str, Any] = {
        "model": {
            "modelFormat": {"name": "huggingface"},
            "storageUri": "pvc://models/llama",
            "args": ["--max-model-len=8192"],
            "env": [{"name": "HF_HOME", "value": "/tmp/hf"}],
            "resources": {"requests": {"cpu": "4", "memory": "64Gi"}},
        },
        "workerSpec": worker,
    }
    predictor.update(predictor_extra)
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llama",
            "namespace": "team-a",
            "resourceVersion": "4711",
            "labels": {"team": "a"},
            "annotations": {
                "serving.kserve.io/autoscalerClass": era.required_autoscaler_class,
                "serving.kserve.io/deploymentMode": "RawDeployment",
            },
        },
        "spec": {"predictor": predictor},
    }


def fix(obj: dict[str, Any], era: Era, **kwargs: Any) -> patch.FixPlan:
    return patch.plan_fix(obj, shipped_runtime(era), era, kwargs.pop("inventory", two_nodes()), **kwargs)


def gpu_names(obj: Any) -> list[str]:
    """Every GPU resource key anywhere in ``obj``."""
    if isinstance(obj, dict):
        return [k for k in obj if k == GPU] + [n for v in obj.values() for n in gpu_names(v)]
    if isinstance(obj, list):
        return [n for v in obj for n in gpu_names(v)]
    return []


# --- the seed case --------------------------------------------------------------------------------


def test_v0150_seed_tp16_becomes_pp2_tp8_without_gpu_resources() -> None:
    plan = fix(isvc(V0150), V0150)
    worker = plan.after["spec"]["predictor"]["workerSpec"]
    assert (worker["pipelineParallelSize"], worker["tensorParallelSize"]) == (2, 8)
    assert gpu_names(plan.after["spec"]) == []
    assert {c.path_text for c in plan.changes} == {
        "spec.predictor.workerSpec.pipelineParallelSize",
        "spec.predictor.workerSpec.tensorParallelSize",
    }
    assert admit_inferenceservice(plan.after, V0150).allowed


def test_v0151_seed_gets_eight_gpus_on_head_and_worker_and_two_ray_nodes() -> None:
    plan = fix(isvc(V0151), V0151)
    predictor = plan.after["spec"]["predictor"]
    assert predictor["model"]["resources"]["requests"][GPU] == "8"
    assert predictor["model"]["resources"]["limits"][GPU] == "8"
    worker = predictor["workerSpec"]["containers"][0]
    assert worker["name"] == "worker-container"
    assert worker["resources"] == {"limits": {GPU: "8"}, "requests": {GPU: "8"}}
    layout = compute_layout(plan.after, shipped_runtime(V0151), V0151)
    assert (layout.node_count, layout.head.gpus, layout.worker.gpus, layout.error) == (2, 8, 8, None)
    assert layout.total_gpus == 16


@pytest.mark.parametrize("era", [V0150, V0151], ids=lambda e: e.key)
def test_fixing_the_fixed_object_changes_nothing(era: Era) -> None:
    first = fix(isvc(era), era)
    assert first.changed
    second = fix(first.after, era)
    assert not second.changed and second.problem is None and second.patch == {}


@pytest.mark.parametrize("era", [V0150, V0151], ids=lambda e: e.key)
def test_patch_holds_only_changed_fields_and_the_resource_version(era: Era) -> None:
    original = isvc(era)
    plan = fix(original, era)
    assert plan.patch["metadata"]["resourceVersion"] == "4711"
    assert set(plan.patch["metadata"]) == {"resourceVersion", "annotations"}
    assert set(plan.patch["metadata"]["annotations"]) == {edits.PREVIOUS_LAYOUT_ANNOTATION}
    assert "labels" not in plan.patch["metadata"]
    model_patch = plan.patch["spec"]["predictor"].get("model", {})
    assert set(model_patch) <= {"resources"}  # env, args, storageUri untouched
    assert edits.apply_merge_patch(original, plan.patch) == plan.after


def test_previous_layout_records_old_values_with_null_for_absent_fields() -> None:
    plan = fix(isvc(V0151), V0151)
    record = json.loads(plan.after["metadata"]["annotations"][edits.PREVIOUS_LAYOUT_ANNOTATION])
    by_path = {json.dumps(f["path"]): f["value"] for f in record["fields"]}
    assert by_path[json.dumps(["spec", "predictor", "workerSpec", "tensorParallelSize"])] == 16
    assert by_path[json.dumps(["spec", "predictor", "workerSpec", "containers"])] is None
    assert by_path[json.dumps(["spec", "predictor", "model", "resources", "requests", GPU])] is None


@pytest.mark.parametrize("era", [V0150, V0151], ids=lambda e: e.key)
def test_undo_restores_the_object_exactly(era: Era) -> None:
    original = isvc(era)
    plan = fix(original, era)
    undo = plan_undo(plan.after, era)
    assert undo is not None
    assert undo.after == original
    assert edits.apply_merge_patch(plan.after, undo.patch) == original
    assert undo.patch["metadata"]["resourceVersion"] == "4711"


def test_undo_without_a_record_is_none_and_a_foreign_record_is_an_input_error() -> None:
    assert plan_undo(isvc(V0151), V0151) is None
    broken = isvc(V0151)
    broken["metadata"]["annotations"][edits.PREVIOUS_LAYOUT_ANNOTATION] = "not json"
    with pytest.raises(InputError, match="previous-layout"):
        plan_undo(broken, V0151)


def test_undo_restores_values_the_installed_webhook_would_reject_and_says_so() -> None:
    original = isvc(V0150)  # PP=1 is rejected by v0.15.0
    plan = fix(original, V0150)
    undo = plan_undo(plan.after, V0150)
    assert undo is not None and undo.after == original
    assert undo.admission is not None and not undo.admission.allowed
    assert "cannot be less than 2(1)" in (undo.admission.message or "")


# --- keep what the user wrote ------------------------------------------------------------------------


def test_explicit_head_gpus_that_work_are_kept_in_the_users_spelling() -> None:
    obj = isvc(V0151, pp=2, tp=8)
    obj["spec"]["predictor"]["model"]["resources"]["requests"][GPU] = 8  # an int, not "8"
    obj["spec"]["predictor"]["model"]["resources"]["limits"] = {GPU: 8}
    plan = fix(obj, V0151)
    head = plan.after["spec"]["predictor"]["model"]["resources"]
    assert head["requests"][GPU] == 8 and head["limits"][GPU] == 8
    assert plan.after["spec"]["predictor"]["workerSpec"]["containers"][0]["resources"]["requests"][GPU] == "8"
    assert all("model" not in c.path for c in plan.changes)


def test_working_four_gpu_pods_are_not_rewritten_to_the_planners_eight() -> None:
    obj = isvc(V0151, pp=2, tp=8)
    obj["spec"]["predictor"]["model"]["resources"]["requests"][GPU] = "4"
    obj["spec"]["predictor"]["model"]["resources"]["limits"] = {GPU: "4"}
    obj["spec"]["predictor"]["workerSpec"]["containers"] = [
        {"name": "worker-container", "resources": {"requests": {GPU: "4"}, "limits": {GPU: "4"}}}
    ]
    plan = fix(obj, V0151)
    assert not plan.changed, plan.explanations


def test_existing_worker_container_keeps_its_name_and_other_fields() -> None:
    obj = isvc(V0151)
    obj["spec"]["predictor"]["workerSpec"]["containers"] = [
        {
            "name": "my-worker",
            "env": [{"name": "A", "value": "1"}],
            "volumeMounts": [{"name": "v", "mountPath": "/v"}],
        }
    ]
    plan = fix(obj, V0151)
    container = plan.after["spec"]["predictor"]["workerSpec"]["containers"][0]
    assert container["name"] == "my-worker"
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["volumeMounts"] == [{"name": "v", "mountPath": "/v"}]
    assert container["resources"]["requests"][GPU] == "8"
    # a merge patch replaces lists, so the whole list is sent, as read plus the GPUs
    assert plan.patch["spec"]["predictor"]["workerSpec"]["containers"] == [container]


# --- what makes every update fail -----------------------------------------------------------------


def test_forbidden_env_vars_move_into_workerspec_and_undo_puts_them_back_in_place() -> None:
    obj = isvc(V0151, pp=None, tp=None)
    obj["spec"]["predictor"]["model"]["env"] = [
        {"name": "PIPELINE_PARALLEL_SIZE", "value": "2"},
        {"name": "HF_HOME", "value": "/tmp/hf"},
        {"name": "TENSOR_PARALLEL_SIZE", "value": "8"},
    ]
    obj["spec"]["predictor"]["model"]["resources"]["requests"][GPU] = "8"
    obj["spec"]["predictor"]["workerSpec"]["containers"] = [
        {"name": "worker-container", "resources": {"requests": {GPU: "8"}}}
    ]
    assert not admit_inferenceservice(obj, V0151).allowed
    plan = fix(obj, V0151)
    predictor = plan.after["spec"]["predictor"]
    assert predictor["model"]["env"] == [{"name": "HF_HOME", "value": "/tmp/hf"}]
    assert (
        predictor["workerSpec"]["pipelineParallelSize"],
        predictor["workerSpec"]["tensorParallelSize"],
    ) == (2, 8)
    assert admit_inferenceservice(plan.after, V0151).allowed
    undo = plan_undo(plan.after, V0151)
    assert undo is not None and undo.after == obj


def test_autoscaler_class_external_becomes_none_after_an_upgrade_to_v0151() -> None:
    obj = isvc(V0150, pp=2, tp=8)  # written for v0.15.0: autoscalerClass external
    obj["spec"]["predictor"]["model"]["resources"]["requests"][GPU] = "8"
    obj["spec"]["predictor"]["workerSpec"]["containers"] = [
        {"name": "worker-container", "resources": {"requests": {GPU: "8"}}}
    ]
    plan = fix(obj, V0151)
    assert [c.path_text for c in plan.changes] == [
        'metadata.annotations["serving.kserve.io/autoscalerClass"]'
    ]
    assert plan.after["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "none"
    assert plan.after["spec"] == obj["spec"]


# --- targets, eras and failures -------------------------------------------------------------------------


def test_gpus_target_on_v0150_keeps_pp_at_least_two() -> None:
    plan = fix(isvc(V0150), V0150, target=patch.FixTarget(total_gpus=8))
    worker = plan.after["spec"]["predictor"]["workerSpec"]
    assert worker["pipelineParallelSize"] * worker["tensorParallelSize"] == 8
    assert worker["pipelineParallelSize"] >= 2


def test_mp_backend_changes_only_the_sizes() -> None:
    runtime = shipped_runtime(V018)
    runtime["spec"]["annotations"]["multinode/executor-backend"] = "mp"
    plan = patch.plan_fix(isvc(V018), runtime, V018, two_nodes())
    assert gpu_names(plan.after["spec"]) == []
    worker = plan.after["spec"]["predictor"]["workerSpec"]
    assert (worker["pipelineParallelSize"], worker["tensorParallelSize"]) == (2, 8)


def test_no_layout_fits_changes_nothing_and_says_why() -> None:
    plan = fix(isvc(V0151, pp=1, tp=32), V0151)
    assert plan.problem is not None and "32 GPUs" in plan.problem
    assert not plan.changed and plan.patch == {} and plan.after == plan.before


def test_a_predictor_without_workerspec_is_not_fixed() -> None:
    obj = isvc(V0151)
    del obj["spec"]["predictor"]["workerSpec"]
    assert "not multi-node" in (fix(obj, V0151).problem or "")


def test_unknown_gpu_resource_is_declared_in_the_annotation() -> None:
    inventory = inventory_of(
        [gpu_node(n, 8, resource="gpu.intel.com/i915", product="x") for n in ("a", "b")], []
    )
    plan = fix(isvc(V0151), V0151, inventory=inventory)
    annotations = plan.after["metadata"]["annotations"]
    assert json.loads(annotations["serving.kserve.io/gpu-resource-types"]) == ["gpu.intel.com/i915"]


def test_own_pods_are_not_counted_and_own_gpu_resource_is_found() -> None:
    pods = [
        {
            "metadata": {
                "name": "p1",
                "namespace": "team-a",
                "labels": {"serving.kserve.io/inferenceservice": "llama"},
            }
        },
        {
            "metadata": {
                "name": "p2",
                "namespace": "team-b",
                "labels": {"serving.kserve.io/inferenceservice": "llama"},
            }
        },
    ]
    assert [p.name for p in patch.without_own_pods(pods_from_dicts(pods), "llama", "team-a")] == ["p2"]
    obj = isvc(V0151)
    assert patch.own_gpu_resource(obj, shipped_runtime(V0151)) is None
    obj["spec"]["predictor"]["model"]["resources"]["limits"] = {"amd.com/gpu": "2"}
    assert patch.own_gpu_resource(obj, shipped_runtime(V0151)) == "amd.com/gpu"


# --- merge patch and diff ---------------------------------------------------------------------------------

_json_leaf = st.one_of(st.integers(), st.text(max_size=5), st.booleans())
_json = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(st.text(max_size=4), _json, max_size=5),
    st.dictionaries(st.text(max_size=4), _json, max_size=5),
)
def test_merge_patch_between_two_objects_turns_one_into_the_other(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    original = copy.deepcopy(a)
    assert edits.apply_merge_patch(a, edits.merge_patch_between(a, b)) == b
    assert a == original  # inputs are not modified


def test_apply_merge_patch_follows_rfc7386_examples() -> None:
    # RFC 7386 section 3 example.
    target = {
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
    }
    change = {
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": None},
        "tags": ["example"],
    }
    assert edits.apply_merge_patch(target, change) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "phoneNumber": "+01-123-456-7890",
    }


def test_unified_diff_has_kubectl_diff_headers_and_hides_managed_fields() -> None:
    before = isvc(V0150)
    before["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    plan = fix(before, V0150)
    text = edits.unified_diff(plan.before, plan.after)
    label = "serving.kserve.io.v1beta1.InferenceService.team-a.llama"
    assert text.splitlines()[:3] == [
        f"diff -u -N LIVE/{label} MERGED/{label}",
        f"--- LIVE/{label}",
        f"+++ MERGED/{label}",
    ]
    assert "-      tensorParallelSize: 16" in text.splitlines()
    assert "+      tensorParallelSize: 8" in text.splitlines()
    assert "managedFields" not in text
    assert edits.unified_diff(before, before) == ""


def test_path_text_quotes_keys_with_dots_and_shows_selectors() -> None:
    path = ("spec", "predictor", "model", "env", edits.Named("X"))
    assert edits.path_text(path) == "spec.predictor.model.env[name=X]"
    assert edits.path_text(("metadata", "annotations", "a.b/c")) == 'metadata.annotations["a.b/c"]'
    assert edits.path_text(("spec", "containers", 0, "name")) == "spec.containers[0].name"


def test_model_rules_move_tp8_to_a_tp_that_divides_28_attention_heads() -> None:
    from pathlib import Path

    from kubectl_kserve_mn.model import load_model

    # Qwen2.5-7B: 28 attention heads, 4 KV heads (tests/fixtures/models, source in its README).
    model = load_model(str(Path(__file__).parent / "fixtures" / "models" / "Qwen--Qwen2.5-7B.json"))
    obj = isvc(V0151, pp=1, tp=8)
    obj["spec"]["predictor"]["model"]["resources"]["requests"][GPU] = "8"
    obj["spec"]["predictor"]["model"]["resources"]["limits"] = {GPU: "8"}
    assert not fix(obj, V0151).changed  # without the model, TP=8 on one 8-GPU pod works
    plan = fix(obj, V0151, model=model)
    worker = plan.after["spec"]["predictor"]["workerSpec"]
    pp, tp = worker["pipelineParallelSize"], worker["tensorParallelSize"]
    assert 28 % tp == 0 and pp * tp == 8
    # The user's head request of 8 still works (KServe puts PP x TP = 8 on one 8-GPU pod), so it stays.
    assert plan.after["spec"]["predictor"]["model"]["resources"]["requests"][GPU] == "8"
    layout = compute_layout(plan.after, shipped_runtime(V0151), V0151)
    assert layout.error is None and layout.allocated_gpus == 8
