"""The LLMInferenceService judge of ``check --upgrade-to`` (findings/upgrade_llmisvc.py), on its own: what each
release step changes for objects on a cluster (SEMANTICS §4; the eras' ``llmisvc_*`` fields)."""

from __future__ import annotations

import dataclasses
from typing import Any

from kubectl_kserve_mn.findings.llmisvc import check_llminferenceservice
from kubectl_kserve_mn.findings.upgrade import JUDGES, UpgradeContext, with_upgrade
from tests.llmisvc_objects import kv, llmisvc, pod
from tests.nodes import gpu_node, gpu_pod, node_view


def judged(obj: dict[str, Any], installed: str, target: str, **inputs: Any) -> Any:
    """The object on a cluster (a live object), judged from ``installed`` to ``target``."""
    view = inputs.pop("nodes", None)
    report = check_llminferenceservice(obj, kv(installed), live=obj, nodes=view, **inputs)
    context = UpgradeContext(kv(installed), kv(target), nodes=view, existing=True, object_inputs=inputs)
    upgraded = with_upgrade(obj, report, context)
    assert upgraded.upgrade is not None
    return upgraded.upgrade


def test_the_judge_is_registered_for_the_kind() -> None:
    assert "LLMInferenceService" in JUDGES


def test_v0170_keeps_the_live_leaderworkersets_replicas_that_v0160_resets_to_one() -> None:
    obj = llmisvc(
        version="v1alpha1",
        parallelism={"tensor": 8, "data": 2, "dataLocal": 1},
        template=pod(8),
        worker=pod(8),
    )
    upgrade = judged(obj, "v0.16.0", "v0.17.0", live_lws_replicas={"llama-kserve-mn": 3})
    assert upgrade.verdict == "changes"
    assert upgrade.differences[0] == (
        "layout: LWS 1 x [leader 8 + 1 x 8 nvidia.com/gpu] (TP8 DP2/1 local) -> "
        "LWS 3 x [leader 8 + 1 x 8 nvidia.com/gpu] (TP8 DP2/1 local)"
    )
    assert upgrade.to_json()["layout"]["lws"] == {"name": "llama-kserve-mn", "size": 2, "replicas": 3}
    assert upgrade.to_json()["installed"]["layout"]["lws"]["replicas"] == 1


def test_more_replicas_that_no_longer_fit_the_free_gpus_break_the_upgrade() -> None:
    obj = llmisvc(
        version="v1alpha1",
        parallelism={"tensor": 8, "data": 2, "dataLocal": 1},
        template=pod(8),
        worker=pod(8),
    )
    nodes = node_view([gpu_node(f"gpu-{i}") for i in range(4)], [gpu_pod("busy", "gpu-3", 8)])
    upgrade = judged(obj, "v0.16.0", "v0.17.0", live_lws_replicas={"llama-kserve-mn": 2}, nodes=nodes)
    assert (upgrade.installed_fits_now, upgrade.fits_now) == (True, False)
    assert upgrade.verdict == "breaks"
    assert "fits the free GPUs now: yes -> no" in upgrade.differences


def test_an_unchanged_object_is_unchanged_and_fix_has_nothing_to_do() -> None:
    obj = llmisvc(
        parallelism={"tensor": 8, "data": 2, "dataLocal": 1}, template=pod(8), worker=pod(8), replicas=1
    )
    nodes = node_view([gpu_node("gpu-0"), gpu_node("gpu-1")])
    upgrade = judged(obj, "v0.19.0", "v0.20.0", nodes=nodes)
    assert (upgrade.verdict, upgrade.differences, upgrade.fix_first) == ("unchanged", (), "nothing to change")


def test_a_live_object_is_not_judged_by_the_targets_schema_but_a_file_is() -> None:
    # CRD validation ratcheting: unchanged fields of a live object are not re-validated on update.
    obj = llmisvc(parallelism={"tensor": 0}, template=pod(1))
    live = judged(obj, "v0.19.0", "v0.20.0")
    assert live.admission.allowed
    report = check_llminferenceservice(obj, kv("v0.19.0"))
    context = UpgradeContext(kv("v0.19.0"), kv("v0.20.0"), existing=False, offline=True)
    upgrade = JUDGES["LLMInferenceService"](obj, report, context)
    assert not upgrade.admission.allowed
    assert "spec.parallelism.tensor in body should be greater than or equal to 1" in (
        upgrade.admission.message or ""
    )


def test_the_report_keeps_its_fields_when_judged() -> None:
    obj = llmisvc(parallelism={"tensor": 2}, template=pod(2))
    report = check_llminferenceservice(obj, kv("v0.19.0"), live=obj)
    upgraded = with_upgrade(obj, report, UpgradeContext(kv("v0.19.0"), kv("v0.20.0"), existing=True))
    assert dataclasses.replace(upgraded, upgrade=None) == report
    assert upgraded.to_json()["upgrade"]["verdict"] == "changes"


def test_an_object_the_installed_release_does_not_serve_is_not_broken_by_the_upgrade() -> None:
    obj = llmisvc(
        parallelism={"tensor": 8, "data": 2, "dataLocal": 1}, template=pod(), worker=pod(), replicas=1
    )
    upgrade = judged(obj, "v0.16.0", "v0.17.0")  # v1alpha2: served from v0.17.0
    assert upgrade.verdict == "changes"  # its errors under v0.17.0 are not new breakage: it never ran
    assert upgrade.differences[0] == "admission: rejected -> allowed by KServe v0.17.0"
    assert (
        "KServe v0.17.0 serves this object's serving.kserve.io/v1alpha2, which v0.16.0 does not"
        in upgrade.notes
    )


def test_fix_under_the_target_names_the_recreate_instead_of_a_patch() -> None:
    obj = llmisvc(parallelism={"tensor": 4, "pipeline": 2}, template=pod(8), replicas=1)
    upgrade = judged(obj, "v0.19.0", "v0.20.0", nodes=node_view([gpu_node("gpu-0")]))
    assert upgrade.fix_first.startswith("nothing as an update: the change alters the total parallelism size")
    assert upgrade.fix_first.endswith(
        "; `kubectl kserve-mn fix llmisvc/llama -n team-a` prints the manifest to recreate it"
    )
