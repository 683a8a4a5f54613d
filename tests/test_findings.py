"""check's findings: pure functions over ISVCs, runtimes, nodes and pods."""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_kserve_mn.findings import (
    ERROR,
    INFO,
    WARNING,
    Finding,
    add_findings,
    check_inferenceservice,
    check_runtime,
    has_errors,
    pending_pod_findings,
)
from kubectl_kserve_mn.inputs.k8s import events_from_dicts, pods_from_dicts
from kubectl_kserve_mn.kserve.eras import from_flag
from tests.fixture_files import kserve_runtime as runtime
from tests.nodes import gpu_node, node_view

NVIDIA = "nvidia.com/gpu"
INTEL = "intel.com/gpu"


def make_isvc(
    *,
    pp: int | None = None,
    tp: int | None = None,
    head: tuple[str, int] | None = None,
    worker: tuple[str, int] | None = None,
    autoscaler: str = "none",
    mode: str | None = "RawDeployment",
    extra_annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    ws: dict[str, Any] = {}
    if pp is not None:
        ws["pipelineParallelSize"] = pp
    if tp is not None:
        ws["tensorParallelSize"] = tp
    if worker is not None:
        ws["containers"] = [{"name": "worker-container", "resources": gpus(*worker)}]
    model: dict[str, Any] = {"modelFormat": {"name": "huggingface"}, "storageUri": "pvc://models/llama"}
    if head is not None:
        model["resources"] = gpus(*head)
    annotations = {"serving.kserve.io/autoscalerClass": autoscaler, **(extra_annotations or {})}
    if mode is not None:
        annotations["serving.kserve.io/deploymentMode"] = mode
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llama", "namespace": "ml", "annotations": annotations},
        "spec": {"predictor": {"model": model, "workerSpec": ws}},
    }


def gpus(resource: str, count: int) -> dict[str, Any]:
    return {"requests": {resource: str(count)}, "limits": {resource: str(count)}}


def pod(
    name: str, node: str, count: int, *, isvc: str | None = None, phase: str = "Running"
) -> dict[str, Any]:
    labels = {"serving.kserve.io/inferenceservice": isvc} if isvc else {}
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ml", "labels": labels},
        "spec": {"nodeName": node, "containers": [{"name": "c", "resources": gpus(NVIDIA, count)}]},
        "status": {"phase": phase},
    }


def two_h100(pods: list[dict[str, Any]] | None = None, free_known: bool = True) -> Any:
    return node_view([gpu_node("h100-a", 8), gpu_node("h100-b", 8)], pods or [], free_known=free_known)


def codes(report: Any) -> list[str]:
    return [f.code for f in report.findings]


def only(report: Any, code: str) -> Finding:
    (found,) = [f for f in report.findings if f.code == code]
    return found


V0150, V0151, V016, V020 = (from_flag(v) for v in ("v0.15.0", "v0.15.1", "v0.16.0", "v0.20.0"))


# --- the seed and schedulability -------------------------------------------------------------


def test_seed_v0150_tp16_on_8_gpu_nodes_stays_pending_forever() -> None:
    obj = make_isvc(tp=16, head=(NVIDIA, 8), worker=(NVIDIA, 8), autoscaler="external")
    report = check_inferenceservice(obj, [runtime("v0.15.0")], V0150, nodes=two_h100())
    assert report.admission.allowed
    assert report.layout is not None and report.layout.head.gpus == 16
    finding = only(report, "pod-exceeds-node")
    assert finding.severity == ERROR
    assert "asks for 16 nvidia.com/gpu but the largest schedulable node has 8" in finding.message
    assert finding.suggestion == "kubectl kserve-mn fix llama -n ml"
    assert has_errors([report])


def test_same_request_on_v0151_spans_two_nodes_and_fits() -> None:
    obj = make_isvc(tp=16, pp=1, head=(NVIDIA, 8), worker=(NVIDIA, 8))
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=two_h100())
    assert report.layout is not None
    assert (report.layout.node_count, report.layout.head.gpus, report.layout.worker.gpus) == (2, 8, 8)
    # It schedules; only its tensor parallelism across the two pods is said (tests/test_interconnect.py).
    assert codes(report) == ["tp-spans-interconnect"]


def test_fits_capacity_but_not_free_gpus_is_a_warning_with_free_count() -> None:
    obj = make_isvc(tp=16, pp=1, head=(NVIDIA, 8), worker=(NVIDIA, 8))
    busy = [pod("other", "h100-a", 6)]
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=two_h100(busy))
    finding = only(report, "insufficient-free-gpus")
    assert finding.severity == WARNING
    assert "16 nvidia.com/gpu needed" in finding.message
    assert "10 free (h100-a=2, h100-b=8)" in finding.message
    assert not has_errors([report])


def test_free_gpu_count_leaves_out_nodes_too_small_for_any_of_the_pods() -> None:
    view = node_view(
        [gpu_node("h100-a", 8), gpu_node("h100-b", 8), gpu_node("l40s-a", 4, product="NVIDIA-L40S")],
        [pod("other", "h100-a", 6)],
        free_known=True,
    )
    obj = make_isvc(tp=16, pp=1, head=(NVIDIA, 8), worker=(NVIDIA, 8))
    finding = only(
        check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=view), "insufficient-free-gpus"
    )
    assert "10 free (h100-a=2, h100-b=8)" in finding.message
    assert "l40s-a" not in finding.message


def test_more_single_gpu_workers_than_cluster_gpus_is_reported_without_listing_each_pod() -> None:
    # No GPU requests on v0.15.1+: one pod per GPU, here a billion of them.
    obj = make_isvc(tp=10**9, pp=1)
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=two_h100())
    finding = only(report, "exceeds-cluster-capacity")
    assert finding.severity == ERROR
    assert "cannot fit the 16 whole GPUs" in finding.message


def test_own_pods_do_not_count_as_used() -> None:
    obj = make_isvc(tp=16, pp=1, head=(NVIDIA, 8), worker=(NVIDIA, 8))
    own = [
        pod("llama-predictor-0", "h100-a", 8, isvc="llama"),
        pod("llama-worker-0", "h100-b", 8, isvc="llama"),
    ]
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=two_h100(own), existing=True)
    assert "insufficient-free-gpus" not in codes(report)


def test_free_check_skipped_when_pods_unknown() -> None:
    obj = make_isvc(tp=16, pp=1, head=(NVIDIA, 8), worker=(NVIDIA, 8))
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=two_h100(free_known=False))
    assert "insufficient-free-gpus" not in codes(report)
    assert codes(report) == ["tp-spans-interconnect"]  # TP=16 over two pods (tests/test_interconnect.py)


def test_no_gpu_requests_single_gpu_pods_that_cannot_schedule_is_an_error() -> None:
    obj = make_isvc(tp=16, pp=2)
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=two_h100())
    assert report.layout is not None and report.layout.node_count == 32
    no_req = only(report, "no-gpu-requests")
    assert no_req.severity == ERROR
    assert "32 pods of one GPU each (1 head + 31 worker pods)" in no_req.message
    assert only(report, "exceeds-cluster-capacity").severity == ERROR


def test_no_gpu_requests_is_a_warning_without_nodes() -> None:
    report = check_inferenceservice(make_isvc(tp=2, pp=2), [runtime("v0.15.1")], V0151)
    assert only(report, "no-gpu-requests").severity == WARNING


def test_no_gpu_type_on_the_nodes() -> None:
    obj = make_isvc(tp=2, pp=1, head=(INTEL, 1), worker=(INTEL, 1))
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=two_h100())
    assert "no schedulable node offers whole intel.com/gpu GPUs" in only(report, "pod-exceeds-node").message


def test_pods_on_different_products_are_flagged() -> None:
    view = node_view([gpu_node("h100-a", 8), gpu_node("a100-a", 8, product="NVIDIA-A100-SXM4-80GB")], [])
    obj = make_isvc(tp=16, pp=1, head=(NVIDIA, 8), worker=(NVIDIA, 8))
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=view)
    assert "NVIDIA-A100-SXM4-80GB, NVIDIA-H100-80GB-HBM3" in only(report, "gpu-type-mismatch").message


def test_node_selector_limits_the_nodes() -> None:
    view = node_view([gpu_node("h100-a", 8), gpu_node("h100-b", 8, labels={"pool": "llm"})], [])
    obj = make_isvc(tp=16, pp=1, head=(NVIDIA, 8), worker=(NVIDIA, 8))
    obj["spec"]["predictor"]["nodeSelector"] = {"pool": "llm"}
    obj["spec"]["predictor"]["workerSpec"]["nodeSelector"] = {"pool": "llm"}
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=view)
    assert only(report, "exceeds-cluster-capacity").severity == ERROR


# --- controller and GPU accounting --------------------------------------------------------------


def test_invalid_gpu_allocation_is_a_controller_error_and_skips_scheduling() -> None:
    obj = make_isvc(pp=1, tp=7, head=(INTEL, 2), worker=(INTEL, 4))
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, nodes=two_h100())
    finding = only(report, "controller-error")
    assert "InvalidGPUAllocation" in finding.message
    assert (
        "the total required number of GPUs(7) is less than the number of GPUs assigned to the head node(2) "
        "+ worker node(4)" in finding.message
    )
    assert report.layout is not None and report.layout.error is not None
    assert "pod-exceeds-node" not in codes(report)


def test_over_allocation_counts_wasted_gpus() -> None:
    obj = make_isvc(pp=2, tp=16, head=(NVIDIA, 4), worker=(NVIDIA, 3))
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151)
    finding = only(report, "gpu-overallocated")
    assert "hold 34 GPUs but TP x PP is 32: 2 GPUs are reserved and unused" in finding.message


def test_head_and_worker_on_different_gpu_resources() -> None:
    obj = make_isvc(tp=4, head=(INTEL, 2))
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151)
    assert (
        "head uses intel.com/gpu but workers use nvidia.com/gpu" in only(report, "gpu-type-mismatch").message
    )


def test_gpus_only_in_limits_are_flagged() -> None:
    obj = make_isvc(tp=8)
    obj["spec"]["predictor"]["model"]["resources"] = {"limits": {NVIDIA: "8"}}
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151)
    assert "head container sets GPUs only in limits" in only(report, "gpu-limits-without-requests").message


def test_annotated_custom_gpu_is_still_ignored_by_the_arithmetic() -> None:
    ann = {"serving.kserve.io/gpu-resource-types": '["example.com/npu"]'}
    obj = make_isvc(tp=4, pp=1, head=("example.com/npu", 4), extra_annotations=ann)
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151)
    assert report.admission.allowed
    finding = only(report, "gpu-resource-unknown")
    assert finding.severity == WARNING and "counts as 0" in finding.message
    assert report.layout is not None and report.layout.node_count == 4  # H counted as 0


def test_unknown_gpu_rejected_by_webhook_is_not_reported_twice() -> None:
    obj = make_isvc(tp=4, pp=1, head=("example.com/npu", 4))
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151)
    assert "Unknown GPU resource type" in (report.admission.message or "")
    assert "gpu-resource-unknown" not in codes(report)


def test_configmap_custom_type_is_counted() -> None:
    obj = make_isvc(tp=4, pp=1, head=("example.com/npu", 4))
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, custom_gpu_types=["example.com/npu"])
    assert report.admission.allowed and codes(report) == []
    assert report.layout is not None and report.layout.node_count == 1


# --- admission, mode, runtime ---------------------------------------------------------------------


def test_rejected_file_object_is_an_admission_error_with_exact_message() -> None:
    report = check_inferenceservice(make_isvc(autoscaler="external"), [runtime("v0.15.1")], V0151)
    finding = only(report, "admission-rejected")
    assert finding.severity == ERROR
    assert finding.message.endswith(
        "the InferenceService \"llama\" is invalid: Multinode only supports 'none' autoscaler(external)"
    )
    assert finding.suggestion == "set the annotation serving.kserve.io/autoscalerClass: none"
    assert report.layout is not None  # layout is still computed for a rejected object


def test_existing_object_rejected_by_installed_version_is_an_upgrade_hazard() -> None:
    report = check_inferenceservice(
        make_isvc(autoscaler="external"), [runtime("v0.15.1")], V0151, existing=True
    )
    finding = only(report, "upgrade-hazard")
    assert finding.severity == WARNING
    assert "(KServe v0.15.0 rules admit it)" in finding.message
    assert "admission-rejected" not in codes(report)


def test_object_valid_now_but_rejected_by_newer_kserve_is_info() -> None:
    report = check_inferenceservice(make_isvc(autoscaler="external"), [runtime("v0.15.0")], V0150)
    finding = only(report, "upgrade-hazard")
    assert finding.severity == INFO
    assert "KServe v0.15.1 and later reject it" in finding.message


@pytest.mark.parametrize(
    ("mode", "version", "severity", "text"),
    [
        ("Serverless", V0151, ERROR, "deployment mode 'Serverless'"),
        ("Knative", V016, ERROR, "deployment mode 'Knative'"),
        ("Standard", V0151, ERROR, "does not know 'Standard'"),
        (None, V016, WARNING, "the cluster default applies"),
    ],
)
def test_deployment_mode(mode: str | None, version: Any, severity: str, text: str) -> None:
    report = check_inferenceservice(make_isvc(mode=mode), [runtime("v0.15.1")], version)
    finding = only(report, "not-raw-deployment")
    assert finding.severity == severity and text in finding.message


def test_standard_mode_is_fine_from_v016() -> None:
    report = check_inferenceservice(
        make_isvc(mode="Standard", tp=1, head=(NVIDIA, 1)), [runtime("v0.20.0")], V016
    )
    assert "not-raw-deployment" not in codes(report)


def test_missing_runtime_is_error_online_and_warning_offline() -> None:
    obj = make_isvc()
    obj["spec"]["predictor"]["model"]["runtime"] = "my-runtime"
    online = check_inferenceservice(obj, [runtime("v0.15.1")], V0151)
    offline = check_inferenceservice(obj, [runtime("v0.15.1")], V0151, offline=True)
    assert only(online, "runtime-not-found").severity == ERROR
    assert only(offline, "runtime-not-found").severity == WARNING
    assert online.layout is None
    assert (
        "No ServingRuntimes or ClusterServingRuntimes with the name: my-runtime"
        in only(online, "runtime-not-found").message
    )


def test_v014_workerspec_is_ignored() -> None:
    report = check_inferenceservice(make_isvc(), [runtime("v0.15.1")], from_flag("v0.14.1"))
    assert only(report, "workerspec-ignored").severity == ERROR
    assert report.layout is None


# --- pending pods ---------------------------------------------------------------------------------


def test_pending_pods_with_gpu_failed_scheduling_are_reported_and_linked() -> None:
    pods = [pod("llama-predictor-abc", "", 16, isvc="llama", phase="Pending")]
    pods[0]["spec"].pop("nodeName")
    events = [
        {
            "reason": "FailedScheduling",
            "involvedObject": {"kind": "Pod", "name": "llama-predictor-abc"},
            "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
        },
        {
            "reason": "FailedScheduling",
            "involvedObject": {"name": "other"},
            "message": "Insufficient nvidia.com/gpu",
        },
    ]
    obj = make_isvc(tp=16, head=(NVIDIA, 8), worker=(NVIDIA, 8), autoscaler="external")
    report = check_inferenceservice(
        obj,
        [runtime("v0.15.0")],
        V0150,
        nodes=two_h100(),
        existing=True,
        pods=pods_from_dicts(pods),
        events=events_from_dicts(events),
    )
    finding = only(report, "pods-pending")
    assert "llama-predictor-abc: 0/2 nodes are available: 2 Insufficient nvidia.com/gpu." in finding.message
    assert "Cause: see pod-exceeds-node above." in finding.message
    assert "other" not in finding.message


def test_pending_without_gpu_events_is_not_reported() -> None:
    pending = [{"metadata": {"name": "p"}, "status": {"phase": "Pending"}}]
    events = [
        {"reason": "FailedScheduling", "involvedObject": {"name": "p"}, "message": "pod has unbound PVC"}
    ]
    assert pending_pod_findings(pods_from_dicts(pending), events_from_dicts(events)) == []


# --- runtimes, plumbing -------------------------------------------------------------------------


def test_runtime_admission_items() -> None:
    new = check_runtime(runtime("v0.15.1"), V0150)
    assert only(new, "admission-rejected").severity == ERROR
    assert "cannot be less than 2 (1)" in (new.admission.message or "")
    stored = check_runtime(runtime("v0.15.1"), V0150, existing=runtime("v0.15.1"))
    assert only(stored, "upgrade-hazard").severity == WARNING
    assert check_runtime(runtime("v0.20.0"), V020).findings == ()


def test_add_findings_appends_other_sources_and_changes_the_verdict() -> None:
    obj = make_isvc(tp=1, head=(NVIDIA, 1))
    report = check_inferenceservice(obj, [runtime("v0.15.1")], V0151)
    assert not has_errors([report])
    more = add_findings(report, [Finding("model-too-big", ERROR, "weights do not fit", None)])
    assert has_errors([more]) and codes(more)[-1] == "model-too-big"


def test_item_json_shape() -> None:
    data = check_inferenceservice(
        make_isvc(tp=2, pp=1, head=(NVIDIA, 2)), [runtime("v0.15.1")], V0151
    ).to_json()
    assert set(data) >= {"kind", "namespace", "name", "admission", "layout", "findings"}
    assert data["admission"] == {"allowed": True, "message": None}
    assert data["layout"]["head"] == {"gpuResource": NVIDIA, "gpus": 2}
    assert data["runtime"] == "ClusterServingRuntime/kserve-huggingfaceserver-multinode"
