"""check --upgrade-to's judges (findings/upgrade.py): objects under the installed KServe and a target release."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.findings import check_inferenceservice, check_runtime
from kubectl_kserve_mn.findings.upgrade import (
    BREAKS,
    CHANGES,
    JUDGES,
    UNCHANGED,
    UpgradeContext,
    upgrade_target,
    with_upgrade,
)
from kubectl_kserve_mn.kserve import eras
from kubectl_kserve_mn.kserve.eras import KServeVersion, from_flag
from tests.fixture_files import kserve_runtime as runtime
from tests.nodes import gpu_node, node_view

GPU = "nvidia.com/gpu"


def isvc(
    *,
    pp: int = 2,
    tp: int = 8,
    head: int | None = None,
    worker: int | None = None,
    autoscaler: str = "none",
    model_name: str | None = None,
    runtime_name: str | None = None,
) -> dict[str, Any]:
    model: dict[str, Any] = {"modelFormat": {"name": "huggingface"}, "storageUri": "pvc://models/llama"}
    if head is not None:
        model["resources"] = {"requests": {GPU: str(head)}, "limits": {GPU: str(head)}}
    if model_name:
        model["name"] = model_name
    if runtime_name:
        model["runtime"] = runtime_name
    worker_spec: dict[str, Any] = {"pipelineParallelSize": pp, "tensorParallelSize": tp}
    if worker is not None:
        worker_spec["containers"] = [
            {
                "name": "worker-container",
                "resources": {"requests": {GPU: str(worker)}, "limits": {GPU: str(worker)}},
            }
        ]
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llama",
            "namespace": "team-a",
            "generation": 1,
            "annotations": {
                "serving.kserve.io/autoscalerClass": autoscaler,
                "serving.kserve.io/deploymentMode": "RawDeployment",
            },
        },
        "spec": {"predictor": {"model": model, "workerSpec": worker_spec}},
    }


def judged(
    obj: dict[str, Any],
    installed: str,
    target: str,
    *,
    runtimes: list[dict[str, Any]] | None = None,
    nodes: list[dict[str, Any]] | None = None,
) -> Any:
    have = from_flag(installed)
    candidates = runtimes if runtimes is not None else [runtime(installed)]
    view = node_view(nodes) if nodes is not None else None
    report = check_inferenceservice(obj, candidates, have, nodes=view, existing=True)
    context = UpgradeContext(have, upgrade_target(target, have), candidates, nodes=view, existing=True)
    return with_upgrade(obj, report, context)


TWO_NODES = [gpu_node("gpu-a"), gpu_node("gpu-b")]


# --- the target ---------------------------------------------------------------------------------------------


def test_the_target_must_be_a_full_release_not_older_than_the_installed_one() -> None:
    installed = from_flag("v0.15.1")
    assert upgrade_target("v0.16.0", installed).version == "v0.16.0"
    assert upgrade_target("v0.15.1", installed).version == "v0.15.1"  # the same release: all unchanged
    with pytest.raises(InputError, match=re.escape("--upgrade-to: 'v0.16' is not a KServe release")):
        upgrade_target("v0.16", installed)
    with pytest.raises(
        InputError, match=re.escape("--upgrade-to v0.15.0 is older than the installed KServe v0.15.1")
    ):
        upgrade_target("v0.15.0", installed)


def test_an_installed_version_known_only_by_its_era_refuses_an_older_era() -> None:
    schema_only = KServeVersion(None, eras.era_for((0, 16, 0)), "crd-schema")
    assert upgrade_target("v0.17.0", schema_only).version == "v0.17.0"  # the same era: allowed
    with pytest.raises(InputError, match=re.escape("older than the installed KServe v0.16.0 rules")):
        upgrade_target("v0.15.2", schema_only)
    with pytest.raises(InputError, match="give --kserve-version"):
        upgrade_target("v0.16.0", eras.newest_fallback("offline"))


# --- InferenceServices --------------------------------------------------------------------------------------


def test_v0150_to_v0151_breaks_admission_and_turns_two_pods_into_sixteen() -> None:
    report = judged(isvc(autoscaler="external"), "v0.15.0", "v0.15.1", nodes=TWO_NODES)
    up = report.upgrade
    assert up.verdict == BREAKS
    assert (up.from_version, up.to_version) == ("v0.15.0", "v0.15.1")
    assert up.admission.message == (
        "the InferenceService \"llama\" is invalid: Multinode only supports 'none' autoscaler(external)"
    )
    assert (up.installed_layout.node_count, up.layout.node_count) == (2, 16)
    assert (up.layout.head.gpus, up.layout.worker.gpus, up.layout.worker_replicas) == (1, 1, 15)
    assert up.differences[0].startswith(
        "admission: allowed -> rejected: KServe v0.15.1 refuses its next update"
    )
    assert (
        "layout: PP2 x TP8 (ray): head 8 nvidia.com/gpu + 1 x 8 nvidia.com/gpu (2 pods) -> PP2 x TP8 (ray): head 1 "
        "nvidia.com/gpu + 15 x 1 nvidia.com/gpu (16 pods)"
    ) in up.differences
    assert (up.installed_fits_now, up.fits_now) == (True, True)
    assert up.fix_first == (
        "annotation serving.kserve.io/autoscalerClass: 'external' -> 'none': KServe v0.15.1 admits multi-node "
        "InferenceServices only with this class"
    )


def test_gpus_written_for_v0150_make_one_pod_too_big_for_four_gpu_nodes_on_v0151() -> None:
    # v0.15.0 overwrites every pod's GPUs with TP (2 pods of 4); v0.15.1 reads the requests: W=8 >= T=8, one pod.
    small = [gpu_node("a", 4), gpu_node("b", 4)]
    report = judged(
        isvc(pp=2, tp=4, head=8, worker=8, autoscaler="external"), "v0.15.0", "v0.15.1", nodes=small
    )
    up = report.upgrade
    assert up.verdict == BREAKS
    assert (up.installed_layout.node_count, up.layout.node_count, up.layout.head.gpus) == (2, 1, 8)
    assert (up.installed_fits_now, up.fits_now) == (True, False)
    assert "fits the free GPUs now: yes -> no" in up.differences
    assert any(d.startswith("new error [pod-exceeds-node]") for d in up.differences)


def test_a_working_object_is_unchanged_from_v0151_to_v0160() -> None:
    report = judged(isvc(head=8, worker=8), "v0.15.1", "v0.16.0", nodes=TWO_NODES)
    up = report.upgrade
    assert (up.verdict, up.differences) == (UNCHANGED, ())
    assert up.fix_first == "nothing to change"
    assert up.notes == (
        "uses ClusterServingRuntime kserve-huggingfaceserver-multinode: judged with the copy KServe v0.16.0 "
        "installs (an upgrade re-installs it)",
    )


def test_v0160_rejects_predictor_model_name_and_the_info_hazard_moves_into_the_report() -> None:
    obj = isvc(head=8, worker=8, model_name="kserve-container")
    plain = check_inferenceservice(obj, [runtime("v0.15.1")], from_flag("v0.15.1"), existing=True)
    assert [f.code for f in plain.findings if f.severity == "info"] == ["upgrade-hazard"]
    report = judged(obj, "v0.15.1", "v0.16.0")
    assert report.upgrade.verdict == BREAKS
    assert report.upgrade.admission.message == "the 'name' field is not allowed in standard predictor"
    assert [f for f in report.findings if f.code == "upgrade-hazard"] == []
    beyond = judged(obj, "v0.15.1", "v0.15.2")
    assert beyond.upgrade.verdict == UNCHANGED
    assert (
        "beyond v0.15.1: KServe v0.16.0 and later reject it: the 'name' field is not allowed in standard predictor"
        in (beyond.upgrade.notes)
    )


def test_v0180_mp_backend_changes_the_pods_of_an_annotated_runtime() -> None:
    mp_runtime = runtime("v0.20.0")
    mp_runtime["metadata"] = {"name": "vllm-mp", "namespace": "team-a"}
    mp_runtime["kind"] = "ServingRuntime"
    mp_runtime["spec"].setdefault("annotations", {})["multinode/executor-backend"] = "mp"
    obj = isvc(runtime_name="vllm-mp")
    report = judged(obj, "v0.16.0", "v0.18.0", runtimes=[mp_runtime], nodes=TWO_NODES)
    up = report.upgrade
    assert up.verdict == CHANGES
    assert (up.installed_layout.backend, up.installed_layout.node_count) == ("ray", 16)
    assert (up.layout.backend, up.layout.node_count, up.layout.head.gpus) == ("mp", 2, 8)
    assert "gone: warning [no-gpu-requests]" in up.differences
    assert up.notes == ()  # the user's own runtime is not replaced


# --- runtimes and other kinds -------------------------------------------------------------------------------


def test_a_runtime_with_pythonpath_breaks_on_v0180() -> None:
    rt = runtime("v0.20.0")
    rt["metadata"] = {"name": "custom", "namespace": "team-a"}
    rt["kind"] = "ServingRuntime"
    rt["spec"]["workerSpec"]["containers"][0]["env"] = [{"name": "PYTHONPATH", "value": "/opt"}]
    have = from_flag("v0.16.0")
    report = check_runtime(rt, have, existing=rt)
    up = with_upgrade(rt, report, UpgradeContext(have, from_flag("v0.18.0"), existing=True)).upgrade
    assert up.verdict == BREAKS
    assert up.admission.message is not None and "PYTHONPATH" in up.admission.message


def test_a_kind_without_a_judge_is_left_as_it_is_and_a_judge_plugs_in_by_kind() -> None:
    have = from_flag("v0.16.0")
    report = check_runtime(runtime("v0.20.0"), have)
    other = type(report)("InferenceGraph", "team-a", "x", report.admission, None)
    context = UpgradeContext(have, from_flag("v0.18.0"))
    assert with_upgrade({}, other, context) is other
    assert set(JUDGES) == {
        "InferenceService",
        "ServingRuntime",
        "ClusterServingRuntime",
        "LLMInferenceService",
    }


def test_new_pods_after_the_upgrade_roll_and_a_file_object_stands_in_with_its_installed_layout() -> None:
    mp_runtime = runtime("v0.20.0")
    mp_runtime["metadata"] = {"name": "vllm-mp", "namespace": "team-a"}
    mp_runtime["kind"] = "ServingRuntime"
    mp_runtime["spec"].setdefault("annotations", {})["multinode/executor-backend"] = "mp"
    obj = isvc(runtime_name="vllm-mp")
    have = from_flag("v0.16.0")
    view = node_view(TWO_NODES)
    report = check_inferenceservice(obj, [mp_runtime], have, nodes=view, offline=True)
    context = UpgradeContext(have, from_flag("v0.18.0"), [mp_runtime], nodes=view, offline=True)
    up = with_upgrade(obj, report, context).upgrade
    assert up.rollout is not None and up.rollout.source == "layout"
    assert (up.rollout.extra_gpus, up.rollout.fits) == (2, False)
    assert up.verdict == BREAKS
    assert any(
        d.startswith("the upgraded controller rolls the pods to the new layout: RollingUpdate needs 2")
        for d in up.differences
    )
