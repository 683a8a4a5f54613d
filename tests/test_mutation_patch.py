"""``fix``'s exact changes, wording, patch and undo (kubectl_kserve_mn/patch.py).

Written from a mutation audit (docs/testing.md): each test pins the values and lines a user sees, so a slip
in a path, a summary, a boundary or the undo record fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubectl_kserve_mn import edits, patch
from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs.k8s import pods_from_dicts
from kubectl_kserve_mn.undo import plan_undo
from tests.nodes import gpu_node, inventory_of
from tests.test_patch import GPU, V0150, V0151, fix, isvc

RULE_2X8 = (
    "KServe v0.15.1 sizes pods from GPU requests (RAY_NODE_COUNT = ceil(TP x PP / worker GPUs)); "
    "RAY_NODE_COUNT=2, 2 pod(s): head 8 + 1 x 8 GPUs"
)
SEED_LAYOUT = (
    "workerSpec: PP=1 x TP=16 -> PP=2 x TP=8 (16 GPUs); PP=1 x TP=16 is not kept because it spreads tensor "
    "parallelism across pods (use --allow-cross-node-tp to prefer it)"
)
EIGHT = {GPU: "8"}


def _changes(plan: patch.FixPlan) -> list[tuple[str, Any, Any, str]]:
    return [(c.path_text, c.old, c.new, c.summary) for c in plan.changes]


def test_the_v0151_seed_fix_changes_exactly_these_fields_for_these_reasons() -> None:
    plan = fix(isvc(V0151), V0151)
    head = f"head GPUs (predictor.model.resources) unset -> 8 {GPU}: {RULE_2X8}"
    worker = f"worker GPUs (new workerSpec container worker-container) unset -> 8 {GPU}: {RULE_2X8}"
    assert _changes(plan) == [
        ("spec.predictor.workerSpec.pipelineParallelSize", 1, 2, SEED_LAYOUT),
        ("spec.predictor.workerSpec.tensorParallelSize", 16, 8, SEED_LAYOUT),
        # requests already holds cpu and memory: only the GPU key is added; limits is new as a whole.
        ('spec.predictor.model.resources.requests["nvidia.com/gpu"]', None, "8", head),
        ("spec.predictor.model.resources.limits", None, EIGHT, head),
        (
            "spec.predictor.workerSpec.containers",
            None,
            [{"name": "worker-container", "resources": {"limits": EIGHT, "requests": EIGHT}}],
            worker,
        ),
    ]
    assert plan.explanations == [SEED_LAYOUT, head, worker]
    assert (plan.problem, plan.notes) == (None, ())
    assert plan.layout is not None and plan.layout.label == "PP=2 x TP=8"
    assert plan.controller is not None and (plan.controller.node_count, plan.controller.error) == (2, None)
    assert plan.admission is not None and plan.admission.allowed
    record = json.loads(plan.previous_layout or "")
    assert record == {
        "fields": [
            {"path": ["spec", "predictor", "workerSpec", "pipelineParallelSize"], "value": 1},
            {"path": ["spec", "predictor", "workerSpec", "tensorParallelSize"], "value": 16},
            {"path": ["spec", "predictor", "model", "resources", "requests", GPU], "value": None},
            {"path": ["spec", "predictor", "model", "resources", "limits"], "value": None},
            {"path": ["spec", "predictor", "workerSpec", "containers"], "value": None},
        ]
    }
    assert plan.patch["metadata"] == {
        "annotations": {edits.PREVIOUS_LAYOUT_ANNOTATION: plan.previous_layout},
        "resourceVersion": "4711",
    }
    assert plan.patch["spec"] == {
        "predictor": {
            "model": {"resources": {"requests": EIGHT, "limits": EIGHT}},
            "workerSpec": {
                "pipelineParallelSize": 2,
                "tensorParallelSize": 8,
                "containers": [
                    {"name": "worker-container", "resources": {"limits": EIGHT, "requests": EIGHT}}
                ],
            },
        }
    }
    assert plan.changes[0].to_json() == {
        "path": "spec.predictor.workerSpec.pipelineParallelSize",
        "old": 1,
        "new": 2,
        "reason": SEED_LAYOUT,
    }


def test_undo_removes_what_fix_added_in_reverse_order_and_drops_the_record() -> None:
    fixed = fix(isvc(V0151), V0151).after
    undo = plan_undo(fixed, V0151)
    assert undo is not None
    record = fixed["metadata"]["annotations"][edits.PREVIOUS_LAYOUT_ANNOTATION]
    assert [(c.path_text, c.new, c.summary) for c in undo.changes] == [
        (
            "spec.predictor.workerSpec.containers",
            None,
            "remove spec.predictor.workerSpec.containers (absent before the fix)",
        ),
        (
            "spec.predictor.model.resources.limits",
            None,
            "remove spec.predictor.model.resources.limits (absent before the fix)",
        ),
        (
            'spec.predictor.model.resources.requests["nvidia.com/gpu"]',
            None,
            'remove spec.predictor.model.resources.requests["nvidia.com/gpu"] (absent before the fix)',
        ),
        (
            "spec.predictor.workerSpec.tensorParallelSize",
            16,
            "restore spec.predictor.workerSpec.tensorParallelSize to 16",
        ),
        (
            "spec.predictor.workerSpec.pipelineParallelSize",
            1,
            "restore spec.predictor.workerSpec.pipelineParallelSize to 1",
        ),
        (
            'metadata.annotations["kserve-mn/previous-layout"]',
            None,
            "remove the annotation kserve-mn/previous-layout",
        ),
    ]
    assert undo.changes[-1].old == record
    assert undo.patch == {
        "metadata": {"annotations": {edits.PREVIOUS_LAYOUT_ANNOTATION: None}, "resourceVersion": "4711"},
        "spec": {
            "predictor": {
                "model": {"resources": {"limits": None, "requests": {GPU: None}}},
                "workerSpec": {"containers": None, "pipelineParallelSize": 1, "tensorParallelSize": 16},
            }
        },
    }
    assert undo.notes == ()
    assert undo.admission is not None and undo.admission.allowed


def test_undo_drops_an_annotations_map_it_leaves_empty_and_notes_places_that_are_gone() -> None:
    record = json.dumps(
        {
            "fields": [
                {"path": ["spec", "predictor", "workerSpec", "containers", 3, "name"], "value": "x"},
                {"path": ["spec", "predictor", "workerSpec", "tensorParallelSize"], "value": 4},
            ]
        }
    )
    obj = isvc(V0151)
    obj["metadata"]["annotations"] = {edits.PREVIOUS_LAYOUT_ANNOTATION: record}
    obj["spec"]["predictor"]["workerSpec"]["containers"] = []
    undo = plan_undo(obj, V0151)
    assert undo is not None
    assert undo.notes == (
        "cannot restore spec.predictor.workerSpec.containers[3].name: the object no longer has that place",
    )
    assert "annotations" not in undo.after["metadata"]
    assert undo.patch["metadata"] == {"annotations": None, "resourceVersion": "4711"}
    assert undo.after["spec"]["predictor"]["workerSpec"]["tensorParallelSize"] == 4


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("not json", "Expecting value: line 1 column 1 (char 0)"),
        ('{"other": 1}', "'fields'"),
        ('{"fields": {}}', "fields must be a list"),
        ('{"fields": [{"path": []}]}', "path must be a non-empty list"),
        ('{"fields": [{"path": ["a", 1.5]}]}', "bad path segment 1.5"),
        ('{"fields": [{"path": ["a", {"name": "x", "y": 1}]}]}', "bad path segment {'name': 'x', 'y': 1}"),
    ],
)
def test_a_record_not_written_by_fix_is_refused_saying_why(raw: str, why: str) -> None:
    obj = isvc(V0151)
    obj["metadata"]["annotations"][edits.PREVIOUS_LAYOUT_ANNOTATION] = raw
    with pytest.raises(InputError) as refused:
        plan_undo(obj, V0151)
    assert str(refused.value) == f"annotation kserve-mn/previous-layout is not a record written by fix: {why}"


def test_no_layout_names_the_wish_the_total_and_each_pools_reason() -> None:
    wished = fix(isvc(V0151, pp=1, tp=32), V0151)
    assert wished.problem == (
        "no layout of PP=1 x TP=32 (32 GPUs) fits this cluster under KServe v0.15.1 rules (32 GPUs on "
        "NVIDIA-H100-80GB-HBM3-x8: the pool has 16 GPUs (2 schedulable node(s) x 8)); ask for another size with "
        "--gpus / --tensor-parallel-size, or give --model"
    )
    by_total = fix(isvc(V0151), V0151, target=patch.FixTarget(total_gpus=64))
    assert by_total.problem is not None
    assert by_total.problem.startswith("no layout of 64 GPUs fits this cluster under KServe v0.15.1")
    empty = fix(isvc(V0151), V0151, inventory=inventory_of([]))
    assert empty.problem == (
        "no layout of PP=1 x TP=16 (16 GPUs) fits this cluster under KServe v0.15.1 rules (no GPU nodes found "
        "(no node advertises a GPU resource)); ask for another size with --gpus / --tensor-parallel-size, or "
        "give --model"
    )


def test_more_than_four_reasons_are_cut_with_an_ellipsis() -> None:
    nodes = [gpu_node("a", 4, product=f"P{i}") for i in range(1)] + [gpu_node("b", 2, product="Q")]
    nodes += [gpu_node("c", 1, product="R"), gpu_node("d", 3, product="S"), gpu_node("e", 5, product="T")]
    plan = fix(isvc(V0151, pp=1, tp=64), V0151, inventory=inventory_of(nodes))
    assert plan.problem is not None
    assert plan.problem.count(": the pool has") == 4
    assert "; ...); ask for another size" in plan.problem


def test_recreate_replaces_a_rolling_update_and_says_what_was_there() -> None:
    tail = (
        " -> Recreate (--rollout=recreate): the old pods are deleted before the new ones are created, so the "
        "rollout needs no GPUs beyond those the InferenceService holds; the model is down until the new pods "
        "are Ready, and later changes roll the same way until `fix --undo` or the strategy is changed back"
    )
    plain = fix(isvc(V0151), V0151, target=patch.FixTarget(recreate=True))
    assert [(p, old, new, s) for p, old, new, s in _changes(plain) if "deploymentStrategy" in p] == [
        (
            "spec.predictor.deploymentStrategy",
            None,
            {"type": "Recreate"},
            "deploymentStrategy: RollingUpdate (KServe default)" + tail,
        )
    ]
    rolling = isvc(V0151, deploymentStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    plan = fix(rolling, V0151, target=patch.FixTarget(recreate=True))
    assert [(p, old, new, s) for p, old, new, s in _changes(plan) if "deploymentStrategy" in p] == [
        (
            "spec.predictor.deploymentStrategy.type",
            "RollingUpdate",
            "Recreate",
            "deploymentStrategy: RollingUpdate" + tail,
        ),
        (
            "spec.predictor.deploymentStrategy.rollingUpdate",
            {"maxSurge": 1},
            None,
            "deploymentStrategy: RollingUpdate" + tail,
        ),
    ]
    assert plan.after["spec"]["predictor"]["deploymentStrategy"] == {"type": "Recreate"}
    untyped = isvc(V0151, deploymentStrategy={"rollingUpdate": {"maxSurge": 1}})
    summary = fix(untyped, V0151, target=patch.FixTarget(recreate=True)).changes[-1].summary
    assert summary == "deploymentStrategy: RollingUpdate (KServe default)" + tail


def test_recreate_alone_rolls_a_working_object_and_plain_recreate_does_not() -> None:
    working = fix(isvc(V0151), V0151).after
    assert not fix(working, V0151, target=patch.FixTarget(recreate=True)).changed
    alone = fix(working, V0151, target=patch.FixTarget(recreate=True, recreate_alone=True))
    assert [c.path_text for c in alone.changes] == ["spec.predictor.deploymentStrategy"]


def test_a_parallel_size_env_of_zero_or_text_is_dropped_not_moved() -> None:
    obj = isvc(V0151, pp=None, tp=None)
    obj["spec"]["predictor"]["model"]["env"] += [
        {"name": "TENSOR_PARALLEL_SIZE", "value": "0"},
        {"name": "PIPELINE_PARALLEL_SIZE", "value": "2"},
    ]
    plan = fix(obj, V0151)
    moved = {c.path_text: (c.old, c.new) for c in plan.changes}
    # TP=0 is no size: the runtime's TP (1) stays; PP=2 moves into workerSpec.
    assert moved["spec.predictor.workerSpec.pipelineParallelSize"] == (None, 2)
    assert moved["spec.predictor.workerSpec.tensorParallelSize"] == (None, 1)
    assert plan.changes[0].summary == (
        "remove PIPELINE_PARALLEL_SIZE=2 from predictor.model.env: KServe's webhook forbids it on multi-node "
        "InferenceServices; the value goes to workerSpec.pipelineParallelSize"
    )
    assert [(c.path_text, c.index) for c in plan.changes[:2]] == [
        ("spec.predictor.model.env[name=PIPELINE_PARALLEL_SIZE]", 2),
        ("spec.predictor.model.env[name=TENSOR_PARALLEL_SIZE]", 1),
    ]
    text = isvc(V0151, pp=None, tp=None)
    text["spec"]["predictor"]["model"]["env"] += [{"name": "TENSOR_PARALLEL_SIZE", "valueFrom": {"x": 1}}]
    (first, *_) = fix(text, V0151).changes
    assert first.summary.startswith("remove TENSOR_PARALLEL_SIZE=(valueFrom) from predictor.model.env")


def test_a_working_pp4_tp4_is_kept_when_gpus_16_is_asked_for() -> None:
    four = {"requests": {GPU: "4"}, "limits": {GPU: "4"}}
    obj = isvc(V0151, pp=4, tp=4)
    obj["spec"]["predictor"]["model"]["resources"] = four
    obj["spec"]["predictor"]["workerSpec"]["containers"] = [{"name": "worker-container", "resources": four}]
    plan = fix(obj, V0151, target=patch.FixTarget(total_gpus=16))
    assert (plan.changed, plan.patch, plan.problem) == (False, {}, None)
    assert plan.controller is not None and (plan.controller.node_count, plan.controller.head.gpus) == (4, 4)
    other = fix(obj, V0151, target=patch.FixTarget(total_gpus=8))
    assert other.changed and other.layout is not None and other.layout.total_gpus == 8


def test_v0150_fix_writes_only_sizes_and_the_autoscaler_class() -> None:
    obj = isvc(V0150)
    obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "hpa"
    plan = fix(obj, V0150)
    assert _changes(plan)[0] == (
        'metadata.annotations["serving.kserve.io/autoscalerClass"]',
        "hpa",
        "external",
        "annotation serving.kserve.io/autoscalerClass: 'hpa' -> 'external': KServe v0.15.0 admits multi-node "
        "InferenceServices only with this class",
    )
    assert [c.path_text for c in plan.changes[1:]] == [
        "spec.predictor.workerSpec.pipelineParallelSize",
        "spec.predictor.workerSpec.tensorParallelSize",
    ]
    del obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"]
    unset = fix(obj, V0150).changes[0].summary
    assert unset.startswith("annotation serving.kserve.io/autoscalerClass: unset -> 'external'")


def test_fix_refuses_objects_it_cannot_change_saying_why() -> None:
    no_model = isvc(V0151)
    no_model["spec"]["predictor"]["model"] = "x"
    assert fix(no_model, V0151).problem == (
        "the predictor does not use predictor.model, which KServe's multi-node reconciler needs (it reads the "
        "runtime's workerSpec through it)"
    )
    no_worker = isvc(V0151)
    del no_worker["spec"]["predictor"]["workerSpec"]
    assert fix(no_worker, V0151).problem == "it is not multi-node (no spec.predictor.workerSpec)"
    from kubectl_kserve_mn.kserve.eras import era_for

    v014 = era_for((0, 14, 1))
    plan = patch.plan_fix(isvc(V0151), None, v014, inventory_of([gpu_node("a", 8)]))
    assert plan.problem == "KServe v0.14 has no multi-node support (workerSpec is inert)"
    assert plan.after == plan.before and not plan.changed and plan.previous_layout is None


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("spec", "predictor", "workerSpec"), "spec.predictor.workerSpec"),
        (("metadata", "annotations", "a/b"), 'metadata.annotations["a/b"]'),
        (("env", edits.Named("X"), "value"), "env[name=X].value"),
        (("containers", 0, "name"), "containers[0].name"),
        (("a_b-c", "d.e"), 'a_b-c["d.e"]'),
        (("x y",), '["x y"]'),
    ],
)
def test_path_text_spells_keys_indexes_and_named_entries(path: tuple[Any, ...], text: str) -> None:
    assert edits.path_text(path) == text


def test_get_at_and_set_at_follow_names_indexes_and_refuse_unreachable_places() -> None:
    obj: dict[str, Any] = {"env": [{"name": "A", "value": "1"}], "list": [1, 2], "scalar": 3}
    assert edits.get_at(obj, ("env", edits.Named("A"), "value")) == "1"
    assert edits.get_at(obj, ("env", edits.Named("B"))) is None
    assert edits.get_at(obj, ("list", 1)) == 2
    assert edits.get_at(obj, ("list", 2)) is None
    assert edits.get_at(obj, ("list", -1)) is None
    assert edits.set_at(obj, ("new", "deep", "key"), 5) is True
    assert obj["new"] == {"deep": {"key": 5}}
    assert edits.set_at(obj, ("list", 5), 1) is False
    assert edits.set_at(obj, ("list", 0), None) is True and obj["list"] == [2]
    assert edits.set_at(obj, ("list", 0), 7) is True and obj["list"] == [7]
    assert edits.set_at(obj, ("scalar", "x"), 1) is False
    assert edits.set_at(obj, ("list", "x"), 1) is False
    assert edits.set_at(obj, ("missing", "x"), None) is True and "missing" not in obj
    assert edits.set_at(obj, ("env", edits.Named("B")), {"name": "B"}, index=0) is True
    assert [e["name"] for e in obj["env"]] == ["B", "A"]
    assert edits.set_at(obj, ("env", edits.Named("C")), {"name": "C"}, index=99) is True
    assert [e["name"] for e in obj["env"]] == ["B", "A", "C"]
    assert edits.set_at(obj, ("env", edits.Named("A")), {"name": "A", "value": "2"}) is True
    assert obj["env"][1] == {"name": "A", "value": "2"}
    assert edits.set_at(obj, ("env", edits.Named("A")), None) is True
    assert [e["name"] for e in obj["env"]] == ["B", "C"]
    assert edits.set_at(obj, ("scalar", edits.Named("A")), {"name": "A"}) is False
    assert edits.set_at(obj, ("new", edits.Named("A")), None) is True


def test_the_diff_is_labelled_like_kubectl_diff_and_empty_when_nothing_changes() -> None:
    plan = fix(isvc(V0151), V0151)
    label = "serving.kserve.io.v1beta1.InferenceService.team-a.llama"
    diff = edits.unified_diff(plan.before, plan.after)
    assert diff.splitlines()[:3] == [
        f"diff -u -N LIVE/{label} MERGED/{label}",
        f"--- LIVE/{label}",
        f"+++ MERGED/{label}",
    ]
    assert {"-      pipelineParallelSize: 1", "+      pipelineParallelSize: 2"} <= set(diff.splitlines())
    assert edits.unified_diff(plan.before, plan.before) == ""
    core = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "x": 1}
    assert (
        edits.unified_diff(core, {**core, "x": 2}).splitlines()[0]
        == "diff -u -N LIVE/v1.Pod.p MERGED/v1.Pod.p"
    )


def test_object_yaml_sorts_keys_and_hides_managed_fields() -> None:
    obj = {"kind": "X", "metadata": {"name": "n", "managedFields": [{"m": 1}]}, "apiVersion": "v1"}
    assert edits.object_yaml(obj) == "apiVersion: v1\nkind: X\nmetadata:\n  name: n\n"
    assert obj["metadata"]["managedFields"] == [{"m": 1}]  # the caller's object is untouched


def test_own_gpu_resource_is_the_first_gpu_with_a_count_and_own_pods_are_left_out() -> None:
    amd = isvc(V0151)
    amd["spec"]["predictor"]["model"]["resources"] = {"limits": {"amd.com/gpu": "0", "example.com/npu": "2"}}
    assert patch.own_gpu_resource(amd, None) is None
    assert patch.own_gpu_resource(amd, None, ["example.com/npu"]) == "example.com/npu"
    amd["spec"]["predictor"]["model"]["resources"]["requests"] = {"amd.com/gpu": "1"}
    assert patch.own_gpu_resource(amd, None) == "amd.com/gpu"
    pods = pods_from_dicts(
        [
            {
                "metadata": {
                    "name": "own",
                    "namespace": "team-a",
                    "labels": {"serving.kserve.io/inferenceservice": "llama"},
                }
            },
            {
                "metadata": {
                    "name": "other-ns",
                    "namespace": "team-b",
                    "labels": {"serving.kserve.io/inferenceservice": "llama"},
                }
            },
            {
                "metadata": {
                    "name": "other",
                    "namespace": "team-a",
                    "labels": {"serving.kserve.io/inferenceservice": "x"},
                }
            },
        ]
    )
    assert [p.name for p in patch.without_own_pods(pods, "llama", "team-a")] == ["other-ns", "other"]


def test_merge_patch_between_sends_only_changes_and_nulls_for_removed_keys() -> None:
    before = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1], "gone": 0}
    after = {"a": 1, "b": {"c": 2, "d": 4}, "e": [1, 2], "new": {"x": 1}}
    assert edits.merge_patch_between(before, after) == {
        "gone": None,
        "b": {"d": 4},
        "e": [1, 2],
        "new": {"x": 1},
    }
    assert edits.apply_merge_patch(before, edits.merge_patch_between(before, after)) == after
    assert edits.merge_patch_between(1, {"a": 1}) == {"a": 1}
    assert edits.apply_merge_patch([1], {"a": None, "b": 2}) == {"b": 2}


def test_user_gpu_requests_that_still_work_are_kept_and_only_the_limits_are_added() -> None:
    obj = isvc(V0151)
    obj["spec"]["predictor"]["model"]["resources"] = {"requests": {GPU: "8"}}
    worker = {"name": "worker-container", "image": "x", "resources": {"requests": {GPU: "8"}}}
    obj["spec"]["predictor"]["workerSpec"]["containers"] = [worker]
    plan = fix(obj, V0151, target=patch.FixTarget(tensor_parallel=8, pipeline_parallel=2))
    assert [(c.path_text, c.old, c.new) for c in plan.changes] == [
        ("spec.predictor.workerSpec.pipelineParallelSize", 1, 2),
        ("spec.predictor.workerSpec.tensorParallelSize", 16, 8),
        ("spec.predictor.model.resources.limits", None, EIGHT),
        ("spec.predictor.workerSpec.containers[0].resources.limits", None, EIGHT),
    ]
    assert plan.after["spec"]["predictor"]["workerSpec"]["containers"] == [
        {"name": "worker-container", "image": "x", "resources": {"requests": EIGHT, "limits": EIGHT}}
    ]
    # As written (PP=1 x TP=16 over two pods of 8 requested GPUs) it already works: nothing changes.
    assert not fix(obj, V0151).changed


def test_user_gpu_requests_that_do_not_work_are_replaced_in_the_users_container() -> None:
    obj = isvc(V0151)
    obj["spec"]["predictor"]["model"]["resources"] = {"requests": {GPU: "3"}}
    obj["spec"]["predictor"]["workerSpec"]["containers"] = [
        {"name": "wc", "resources": {"requests": {GPU: "5"}}}
    ]
    plan = fix(obj, V0151)
    rule = RULE_2X8
    assert _changes(plan)[2:] == [
        (
            'spec.predictor.model.resources.requests["nvidia.com/gpu"]',
            "3",
            "8",
            f"head GPUs (predictor.model.resources) 3 -> 8 {GPU}: {rule}",
        ),
        (
            "spec.predictor.model.resources.limits",
            None,
            EIGHT,
            f"head GPUs (predictor.model.resources) 3 -> 8 {GPU}: {rule}",
        ),
        (
            'spec.predictor.workerSpec.containers[0].resources.requests["nvidia.com/gpu"]',
            "5",
            "8",
            f"worker GPUs (workerSpec.containers[0]) 5 -> 8 {GPU}: {rule}",
        ),
        (
            "spec.predictor.workerSpec.containers[0].resources.limits",
            None,
            EIGHT,
            f"worker GPUs (workerSpec.containers[0]) 5 -> 8 {GPU}: {rule}",
        ),
    ]
    assert plan.after["spec"]["predictor"]["workerSpec"]["containers"][0]["name"] == "wc"


def test_the_gpu_types_annotation_keeps_the_types_already_listed() -> None:
    inventory = inventory_of([gpu_node(n, 8, resource="gpu.intel.com/i915", product="x") for n in ("a", "b")])
    obj = isvc(V0151)
    obj["metadata"]["annotations"]["serving.kserve.io/gpu-resource-types"] = '["example.com/x"]'
    plan = fix(obj, V0151, inventory=inventory)
    annotation = plan.after["metadata"]["annotations"]["serving.kserve.io/gpu-resource-types"]
    assert json.loads(annotation) == ["example.com/x", "gpu.intel.com/i915"]
    listed = isvc(V0151)
    listed["metadata"]["annotations"]["serving.kserve.io/gpu-resource-types"] = '["gpu.intel.com/i915"]'
    assert "gpu-resource-types" not in " ".join(
        c.path_text for c in fix(listed, V0151, inventory=inventory).changes
    )


def test_a_diff_of_objects_without_metadata_is_labelled_by_kind() -> None:
    diff = edits.unified_diff({"kind": "X", "metadata": "odd"}, {"kind": "Y", "metadata": "odd"})
    assert diff.splitlines()[0] == "diff -u -N LIVE/X MERGED/X"


def test_a_working_one_gpu_head_and_worker_are_left_alone() -> None:
    one = {"requests": {GPU: "1"}, "limits": {GPU: "1"}}
    obj = isvc(V0151, pp=1, tp=2)
    obj["spec"]["predictor"]["model"]["resources"] = one
    obj["spec"]["predictor"]["workerSpec"]["containers"] = [{"name": "worker-container", "resources": one}]
    plan = fix(obj, V0151)
    assert (plan.changed, plan.problem) == (False, None)
    assert plan.controller is not None and (plan.controller.node_count, plan.controller.head.gpus) == (2, 1)


def test_a_plan_that_changes_nothing_hands_back_a_separate_copy() -> None:
    obj = isvc(V0151)
    del obj["spec"]["predictor"]["workerSpec"]
    plan = fix(obj, V0151)
    plan.after["spec"]["predictor"]["touched"] = True
    assert "touched" not in plan.before["spec"]["predictor"]
    assert "touched" not in obj["spec"]["predictor"]


def test_a_size_that_cannot_fit_is_resized_for_the_model_unless_the_flags_asked_for_it() -> None:
    from kubectl_kserve_mn.model import load_model

    model = load_model(
        str(Path(__file__).parent / "fixtures" / "models" / "meta-llama--Meta-Llama-3.1-8B.json")
    )
    sized = fix(isvc(V0151, pp=1, tp=32), V0151, model=model)
    assert sized.problem is None
    assert sized.notes == ("TP x PP = 32 GPUs cannot fit, so the layout is sized for the model instead",)
    assert sized.layout is not None and sized.layout.label == "PP=1 x TP=1"
    asked = fix(isvc(V0151, pp=1, tp=32), V0151, model=model, target=patch.FixTarget(tensor_parallel=32))
    assert asked.problem is not None
    assert asked.problem.startswith(
        "no layout of PP=1 x TP=32 (32 GPUs) fits this cluster under KServe v0.15.1"
    )
    assert asked.notes == ()


def test_a_working_layout_changed_by_the_flags_says_so() -> None:
    fixed = fix(isvc(V0151), V0151).after
    plan = fix(fixed, V0151, target=patch.FixTarget(tensor_parallel=4, pipeline_parallel=4))
    assert plan.explanations[0] == (
        "workerSpec: PP=2 x TP=8 -> PP=4 x TP=4 (16 GPUs); PP=2 x TP=8 is not kept because requested with the flags"
    )


def test_an_empty_worker_container_list_gets_the_worker_container() -> None:
    obj = isvc(V0151)
    obj["spec"]["predictor"]["workerSpec"]["containers"] = []
    plan = fix(obj, V0151)
    assert plan.problem is None
    assert plan.after["spec"]["predictor"]["workerSpec"]["containers"] == [
        {"name": "worker-container", "resources": {"limits": EIGHT, "requests": EIGHT}}
    ]
