"""check's findings for LLMInferenceServices: one test per rule, per version where the versions differ."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_kserve_mn.findings import ItemReport, ModelInput
from kubectl_kserve_mn.findings.llmisvc import LlmItemReport, check_llminferenceservice
from kubectl_kserve_mn.inputs.k8s import events_from_dicts, pods_from_dicts
from tests.fixture_files import model_facts
from tests.llmisvc_objects import kv, llmisvc, pod
from tests.nodes import gpu_node, gpu_pod, node_view

TWO_NODES = node_view([gpu_node("gpu-a"), gpu_node("gpu-b")])
DP = {"data": 2, "dataLocal": 1}


def check(obj: dict[str, Any], tag: str = "v0.20.0", **kwargs: Any) -> LlmItemReport:
    return check_llminferenceservice(obj, kv(tag), **kwargs)


def codes(report: ItemReport) -> list[str]:
    return [f.code for f in report.findings]


def only(report: ItemReport, code: str) -> Any:
    (found,) = [f for f in report.findings if f.code == code]
    return found


def test_a_working_data_parallel_layout_has_no_findings() -> None:
    report = check(llmisvc(parallelism={**DP, "tensor": 8}, template=pod(8), worker=pod(8)), nodes=TWO_NODES)
    assert report.findings == ()
    assert report.errors == report.warnings == 0
    assert report.layout_text == "LWS 1 x [leader 8 + 1 x 8 nvidia.com/gpu] (TP8 DP2/1 local)"


# --- admission -------------------------------------------------------------------------------------


def test_webhook_rejection_is_an_error_with_kserves_message() -> None:
    finding = only(check(llmisvc(parallelism={"tensor": 8}, worker=pod(8))), "admission-rejected")
    assert finding.severity == "error"
    assert finding.message.startswith(
        'KServe v0.20.0 rejects this LLMInferenceService: LLMInferenceService.serving.kserve.io "llama" is invalid: spec.worker: Invalid value: '
    )
    assert "set spec.parallelism.data and dataLocal" in finding.suggestion


def test_a_size_change_against_the_live_object_is_an_update_rejection() -> None:
    live = llmisvc(parallelism=DP, template=pod(8), worker=pod(8))
    new = llmisvc(parallelism={"data": 4, "dataLocal": 1}, template=pod(8), worker=pod(8))
    finding = only(check(new, live=live), "admission-rejected")
    assert "rejects this update of the LLMInferenceService" in finding.message
    assert "total parallelism size is immutable, previous size 2, curr size 4" in finding.message
    assert "delete it and create it again" in finding.suggestion


def test_schema_errors_come_from_the_input_boundary() -> None:
    error = "spec.parallelism.dataRPCPort: Invalid value: 70000: spec.parallelism.dataRPCPort in body should be less than or equal to 65535"
    finding = only(
        check(llmisvc(parallelism={**DP, "dataRPCPort": 70000}), schema_errors=[error]), "admission-rejected"
    )
    assert finding.message.endswith(error)
    assert "within the CRD's bounds" in finding.suggestion


def test_before_v016_there_is_no_llmisvc_to_check() -> None:
    report = check(llmisvc(parallelism=DP, worker=pod(8)), "v0.15.1")
    assert codes(report) == ["admission-rejected"]
    assert report.llm_layout is None
    assert (
        only(report, "admission-rejected").suggestion == "LLMInferenceService needs KServe v0.16.0 or later"
    )


def test_v1alpha2_on_v016_says_which_version_to_use() -> None:
    finding = only(check(llmisvc(), "v0.16.0"), "admission-rejected")
    assert finding.suggestion == "use apiVersion serving.kserve.io/v1alpha1 (served by KServe v0.16.0)"


# --- #5047 pipeline + worker ------------------------------------------------------------------------


@pytest.mark.parametrize(("tag", "reason"), [("v0.18.0", "CombineBaseError"), ("v0.19.0", "ConfigNotFound")])
def test_worker_with_pipeline_is_admitted_but_never_deploys(tag: str, reason: str) -> None:
    report = check(
        llmisvc(parallelism={"pipeline": 2, "tensor": 8}, template=pod(8), worker=pod(8)),
        tag,
        nodes=TWO_NODES,
    )
    assert report.admission.allowed
    assert codes(report) == ["llmisvc-pipeline-preset-missing"]
    finding = only(report, "llmisvc-pipeline-preset-missing")
    assert f"PresetsCombined=False ({reason})" in finding.message and "kserve#5047" in finding.message
    assert "kserve-config-llm-worker-pipeline-parallel" in finding.suggestion
    assert report.layout_text == "controller error"


# --- #4946 tensor larger than a pod ----------------------------------------------------------------


def test_tensor_larger_than_the_pod_hangs_vllm() -> None:
    obj = llmisvc(parallelism={"tensor": 16, **DP}, template=pod(8), worker=pod(8))
    report = check(obj, nodes=TWO_NODES)
    finding = only(report, "llmisvc-tensor-exceeds-pod")
    assert finding.severity == "error"
    assert (
        "tensor 16 needs 16 GPUs inside each vLLM rank, but the leader pod has 8 nvidia.com/gpu"
        in finding.message
    )
    assert "size 2, tensor ignored, kserve#4946" in finding.message
    assert "llmisvc-gpus-mismatch" not in codes(report)


def test_the_issue_4946_shape_tensor_2_data_1() -> None:
    obj = llmisvc(parallelism={"tensor": 2, "data": 1, "dataLocal": 1}, template=pod(1), worker=pod(1))
    finding = only(check(obj), "llmisvc-tensor-exceeds-pod")
    assert "size 1, tensor ignored" in finding.message


# --- GPUs per pod ------------------------------------------------------------------------------------


def test_fewer_gpus_than_data_local_times_tensor_is_an_error() -> None:
    obj = llmisvc(parallelism={"tensor": 2, "data": 4, "dataLocal": 2}, template=pod(2), worker=pod(4))
    finding = only(check(obj), "llmisvc-gpus-mismatch")
    assert finding.severity == "error"
    assert finding.message == (
        "spec: the leader pod requests 2 nvidia.com/gpu but its vLLM ranks need dataLocal 2 x tensor 2 = 4: vLLM "
        "cannot start"
    )
    assert (
        finding.suggestion
        == "request 4 nvidia.com/gpu in spec.template (kubectl kserve-mn fix llmisvc/llama -n team-a)"
    )


def test_a_leader_without_gpus_when_only_the_worker_asks() -> None:
    report = check(llmisvc(parallelism={**DP, "tensor": 8}, worker=pod(8)))
    finding = only(report, "llmisvc-gpus-mismatch")
    assert finding.severity == "error"
    assert "the leader pod requests 0 nvidia.com/gpu (the controller sets no GPU resources" in finding.message


def test_more_gpus_than_used_is_a_warning_with_the_idle_count() -> None:
    obj = llmisvc(parallelism={"tensor": 4, **DP}, template=pod(8), worker=pod(8))
    findings = [f for f in check(obj).findings if f.code == "llmisvc-gpus-mismatch"]
    assert [f.severity for f in findings] == ["warning", "warning"]
    assert "4 GPUs are reserved and idle" in findings[0].message


@pytest.mark.parametrize(
    ("parallelism", "text"),
    [
        ({"data": 4, "dataLocal": 3}, "data 4 is not a multiple of dataLocal 3"),
        ({"data": 1, "dataLocal": 8}, "data_parallel_size_local (8) must be <= data_parallel_size (1)"),
    ],
)
def test_data_ranks_that_never_join(parallelism: dict[str, int], text: str) -> None:
    finding = only(
        check(llmisvc(parallelism=parallelism, template=pod(8), worker=pod(8))), "llmisvc-data-ranks-mismatch"
    )
    assert text in finding.message and finding.severity == "error"


def test_a_data_parallel_size_overridden_by_hand_leaves_ranks_missing() -> None:
    template = pod(1)
    template["containers"][0]["env"] = [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--data-parallel-size 8"}]
    finding = only(
        check(llmisvc(parallelism=DP, template=template, worker=pod(1))), "llmisvc-data-ranks-mismatch"
    )
    assert "--data-parallel-size 8 but only 2 ranks run" in finding.message


# --- single node: #6044, #5773 ----------------------------------------------------------------------


def test_single_node_pipeline_is_ignored_and_its_gpus_idle() -> None:
    report = check(llmisvc(parallelism={"pipeline": 2, "tensor": 4}, template=pod(8)), "v0.20.0")
    finding = only(report, "llmisvc-pipeline-ignored")
    assert finding.severity == "warning"
    assert finding.message == (
        "spec.parallelism.pipeline 2 is ignored on a single-node workload (no worker; kserve#6044, open at "
        "v0.20.0): vLLM runs with pipeline parallel size 1; 4 of the pod's 8 nvidia.com/gpu sit idle"
    )
    assert "set tensor 8 and remove pipeline" in finding.suggestion
    assert "tensor-dropped" not in " ".join(codes(report))


@pytest.mark.parametrize("tag", ["v0.16.0", "v0.17.0", "v0.18.0", "v0.19.0"])
def test_single_node_tensor_is_dropped_before_v020(tag: str) -> None:
    report = check(llmisvc(version="v1alpha1", parallelism={"tensor": 4}, template=pod(4)), tag)
    finding = only(report, "llmisvc-tensor-dropped")
    assert finding.message == (
        f"spec.parallelism.tensor 4 is dropped on a single-node workload by KServe {tag} (kserve#5773, rendered "
        "from v0.20.0): vLLM runs with --tensor-parallel-size 1; 3 of the pod's 4 nvidia.com/gpu sit idle"
    )
    assert finding.suggestion.endswith("or upgrade KServe to v0.20.0")


def test_single_node_tensor_works_on_v020_and_when_passed_by_hand() -> None:
    assert check(llmisvc(parallelism={"tensor": 4}, template=pod(4)), "v0.20.0").findings == ()
    template = pod(4)
    template["containers"][0]["env"] = [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--tensor-parallel-size 4"}]
    assert check(llmisvc(parallelism={"tensor": 4}, template=template), "v0.18.0").findings == ()


def test_the_tensor_flag_suggestion_follows_the_release() -> None:
    v018 = only(
        check(llmisvc(parallelism={"tensor": 4}, template=pod(4)), "v0.18.0"), "llmisvc-tensor-dropped"
    )
    assert v018.suggestion.startswith(
        'set env VLLM_ADDITIONAL_ARGS="--tensor-parallel-size 4" on the main container'
    )
    v017 = only(
        check(llmisvc(parallelism={"tensor": 4}, template=pod(4)), "v0.17.0"), "llmisvc-tensor-dropped"
    )
    assert v017.suggestion.startswith("add args ['--tensor-parallel-size', '4'] to the main container")


def test_single_node_data_is_not_rendered() -> None:
    finding = only(
        check(llmisvc(parallelism={"data": 2, "dataLocal": 2}, template=pod(2))), "llmisvc-data-ignored"
    )
    assert "1 of the pod's 2 nvidia.com/gpu sit idle" in finding.message


def test_a_cpu_only_single_pod_is_fine() -> None:
    assert check(llmisvc(template=pod(None))).findings == ()


# --- scheduling ---------------------------------------------------------------------------------------


def test_a_pod_bigger_than_any_node() -> None:
    obj = llmisvc(parallelism={"tensor": 8, "data": 4, "dataLocal": 2}, template=pod(16), worker=pod(16))
    finding = only(check(obj, nodes=TWO_NODES), "pod-exceeds-node")
    assert (
        "the leader pod asks for 16, the worker pod asks for 16 nvidia.com/gpu but the largest schedulable node has 8"
        in finding.message
    )


def test_groups_times_replicas_that_exceed_the_cluster() -> None:
    obj = llmisvc(parallelism={"tensor": 8, **DP}, template=pod(8), worker=pod(8), replicas=2)
    finding = only(check(obj, nodes=TWO_NODES), "exceeds-cluster-capacity")
    assert "4 pods (leader and worker) needing 32 nvidia.com/gpu" in finding.message


def test_a_group_that_fits_capacity_but_not_the_free_gpus() -> None:
    view = node_view([gpu_node("gpu-a"), gpu_node("gpu-b")], [gpu_pod("other", "gpu-b", 4)])
    obj = llmisvc(parallelism={"tensor": 8, **DP}, template=pod(8), worker=pod(8))
    finding = only(check(obj, nodes=view), "insufficient-free-gpus")
    assert finding.severity == "warning"
    assert "16 nvidia.com/gpu needed in pods of [8, 8], 12 free (gpu-a=8, gpu-b=4)" in finding.message


def test_the_objects_own_pods_do_not_count_as_used() -> None:
    own = gpu_pod("llama-kserve-mn-0", "gpu-b", 8, namespace="team-a")
    own["metadata"]["labels"] = {
        "app.kubernetes.io/name": "llama",
        "app.kubernetes.io/part-of": "llminferenceservice",
    }
    view = node_view([gpu_node("gpu-a"), gpu_node("gpu-b")], [own])
    obj = llmisvc(parallelism={"tensor": 8, **DP}, template=pod(8), worker=pod(8))
    assert check(obj, nodes=view).findings == ()


def test_prefill_and_decode_share_the_nodes() -> None:
    obj = llmisvc(
        parallelism={"tensor": 8, **DP}, template=pod(8), worker=pod(8),
        prefill={"parallelism": {"tensor": 8, **DP}, "template": pod(8), "worker": pod(8)},
    )  # fmt: skip
    finding = only(check(obj, nodes=TWO_NODES), "exceeds-cluster-capacity")
    assert "decode leader and decode worker and prefill leader and prefill worker" in finding.message


def test_no_node_of_the_gpu_type() -> None:
    finding = only(
        check(llmisvc(template=pod(1, resource="amd.com/gpu")), nodes=TWO_NODES), "pod-exceeds-node"
    )
    assert "no schedulable node offers whole amd.com/gpu GPUs" in finding.message


def test_pending_pods_are_linked_to_their_cause() -> None:
    pending = gpu_pod("llama-kserve-mn-0", None, 16, phase="Pending", namespace="team-a")
    event = {
        "reason": "FailedScheduling",
        "involvedObject": {"name": "llama-kserve-mn-0"},
        "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
    }
    obj = llmisvc(parallelism={"tensor": 16, "data": 1, "dataLocal": 1}, template=pod(16), worker=pod(16))
    report = check(
        obj, live=obj, nodes=TWO_NODES, pods=pods_from_dicts([pending]), events=events_from_dicts([event])
    )
    finding = only(report, "pods-pending")
    assert "Cause: see pod-exceeds-node above." in finding.message


# --- the model --------------------------------------------------------------------------------------


def model(name: str, **kwargs: Any) -> ModelInput:
    return ModelInput(spec=name, facts=model_facts(name), **kwargs)


def test_model_rules_at_the_rendered_tensor() -> None:
    obj = llmisvc(parallelism={"tensor": 3, "data": 2, "dataLocal": 2}, template=pod(6), worker=pod(6))
    report = check(obj, model=model("meta-llama--Meta-Llama-3.1-8B"), nodes=TWO_NODES)
    finding = only(report, "model-heads-not-divisible")
    assert finding.message.startswith("spec: vLLM will refuse to start")
    assert (
        "Total number of attention heads (32) must be divisible by tensor parallel size (3)."
        in finding.message
    )


def test_model_memory_from_the_node_labels() -> None:
    obj = llmisvc(parallelism={"tensor": 1, "data": 2, "dataLocal": 1}, template=pod(1), worker=pod(1))
    report = check(obj, model=model("meta-llama--Meta-Llama-3.1-70B"), nodes=TWO_NODES)
    finding = only(report, "model-weights-exceed-memory")
    assert "81,559 MiB per GPU from the labels of gpu-a, gpu-b" in finding.message
    assert report.memory is not None and not report.memory.fits


def test_moe_with_data_parallelism_is_not_estimated() -> None:
    obj = llmisvc(
        parallelism={"tensor": 1, "data": 16, "dataLocal": 8, "expert": True}, template=pod(8), worker=pod(8)
    )
    report = check(obj, model=model("deepseek-ai--DeepSeek-V3"), nodes=TWO_NODES)
    assert "shards its experts over data x tensor ranks" in only(report, "model-memory-unknown").message
    assert report.memory is None


def test_expert_parallel_on_a_dense_model() -> None:
    obj = llmisvc(parallelism={"tensor": 8, **DP, "expert": True}, template=pod(8), worker=pod(8))
    finding = only(
        check(obj, model=model("meta-llama--Meta-Llama-3.1-8B")), "model-expert-parallel-without-experts"
    )
    assert finding.message.endswith(
        "Number of experts in the model must be greater than 0 when expert parallelism is enabled."
    )


def test_an_unreadable_model_is_one_finding() -> None:
    report = check(llmisvc(template=pod(1)), model=ModelInput(spec="nope/x", facts=None, error="404"))
    assert codes(report) == ["model-unreadable"]


# --- the report --------------------------------------------------------------------------------------


def test_json_item_has_exactly_the_issues_fields() -> None:
    report = check(llmisvc(parallelism={"tensor": 16, **DP}, template=pod(8), worker=pod(8)))
    data = report.to_json()
    assert list(data) == ["kind", "namespace", "name", "apiVersion", "admission", "layout", "findings"]
    assert data["kind"] == "LLMInferenceService" and data["apiVersion"] == "serving.kserve.io/v1alpha2"
    assert data["admission"] == {"allowed": True, "message": None}
    assert list(data["layout"]) == [
        "multiNode", "parallelism", "preset", "lws", "vllmArgs", "leaderGpus", "workerGpus", "gpuResource",
        "controllerError", "prefill",
    ]  # fmt: skip
    assert data["findings"][0]["code"] == "llmisvc-tensor-exceeds-pod"


def test_the_report_is_an_item_report_for_the_table() -> None:
    report = check(llmisvc(parallelism={"pipeline": 2}, template=pod(2)))
    assert isinstance(report, ItemReport)
    assert report.layout is None and report.kind == "LLMInferenceService"
    assert report.layout_text == "1 x 1 pod of 2 nvidia.com/gpu (TP1)"
    assert any("not checked" in n for n in report.notes)


# --- robustness ---------------------------------------------------------------------------------------

_SIZES = st.one_of(st.none(), st.integers(min_value=-3, max_value=40), st.sampled_from([10**9, 2**31]))
_GPUS = st.one_of(st.none(), st.integers(min_value=0, max_value=32), st.sampled_from(["abc", "1.5", "8", -2]))


def _pod_of(gpus: Any) -> dict[str, Any] | None:
    if gpus is None:
        return None
    return {"containers": [{"name": "main", "resources": {"limits": {"nvidia.com/gpu": gpus}}}]}


@settings(max_examples=120, deadline=None)
@given(
    tensor=_SIZES,
    pipeline=_SIZES,
    data=_SIZES,
    local=_SIZES,
    replicas=_SIZES,
    template=_GPUS,
    worker=_GPUS,
    prefill=st.booleans(),
    tag=st.sampled_from(["v0.15.1", "v0.16.0", "v0.17.0", "v0.19.0", "v0.20.0"]),
    expert=st.booleans(),
)
def test_any_sizes_give_a_report_never_a_crash(
    tensor: Any,
    pipeline: Any,
    data: Any,
    local: Any,
    replicas: Any,
    template: Any,
    worker: Any,
    prefill: bool,
    tag: str,
    expert: bool,
) -> None:
    parallelism = {
        k: v
        for k, v in {"tensor": tensor, "pipeline": pipeline, "data": data, "dataLocal": local}.items()
        if v is not None
    }
    parallelism["expert"] = expert
    obj = llmisvc(
        version="v1alpha1",
        parallelism=parallelism,
        template=_pod_of(template),
        worker=_pod_of(worker),
        replicas=replicas,
        prefill={"parallelism": dict(parallelism), "worker": _pod_of(worker)} if prefill else None,
    )
    report = check(
        obj,
        tag,
        nodes=TWO_NODES,
        live=obj,
        model=ModelInput("m", model_facts("meta-llama--Meta-Llama-3.1-8B")),
    )
    assert report.to_json()["name"] == "llama"
    assert isinstance(report.layout_text, str)
