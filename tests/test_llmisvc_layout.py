"""What the LLMInferenceService controller builds, per version: LeaderWorkerSets, presets, the vLLM flags the
shipped presets render, GPUs per pod from the merged templates, and the controller's failures.

Sources: kserve/kserve@<tag>:pkg/controller/v1alpha{1,2}/llmisvc/{workload_multi_node.go,workload.go,
config_merge.go} for v0.16.0..v0.20.0 and the presets in tests/fixtures/llmisvc/presets/.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_kserve_mn.kserve.llmisvc import compute_llm_layout
from kubectl_kserve_mn.kserve.llmisvc.layout import command_tokens, parallel_flags
from kubectl_kserve_mn.kserve.llmisvc.presets import WORKER_PIPELINE_PARALLEL
from tests.llmisvc_objects import TAGS, era, llmisvc, pod

DP = {"data": 2, "dataLocal": 1}


def layout(obj: dict[str, Any], tag: str = "v0.20.0", **kwargs: Any) -> Any:
    return compute_llm_layout(obj, era(tag), **kwargs)


# --- the LeaderWorkerSet ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parallelism", "size"),
    [
        ({"data": 16, "dataLocal": 8}, 2),
        ({"data": 4, "dataLocal": 1, "tensor": 3}, 4),  # tensor never counts
        ({"data": 1, "dataLocal": 1, "tensor": 2}, 1),  # kserve#4946: tensor 2, size 1
        ({"data": 4, "dataLocal": 3}, 1),  # Go integer division
        ({"data": 1, "dataLocal": 8}, 1),  # max(.., 1)
        ({"dataLocal": 2}, 1),  # data unset counts as 1
        ({"pipeline": 3, "tensor": 8}, 3),
        ({"tensor": 8}, None),  # neither: unset (LWS default 1)
    ],
)
def test_lws_size_is_data_over_data_local_else_pipeline_never_tensor(
    parallelism: dict[str, int], size: int | None
) -> None:
    lws = layout(llmisvc(parallelism=parallelism, worker=pod(8))).main.lws
    assert lws is not None and lws.size == size


def test_lws_names_are_child_names_of_the_object() -> None:
    result = layout(llmisvc(parallelism=DP, worker=pod(8), prefill={"parallelism": DP, "worker": pod(8)}))
    assert result.main.lws.name == "llama-kserve-mn"
    assert result.prefill.lws.name == "llama-kserve-mn-prefill"
    long = layout(llmisvc("x" * 60, parallelism=DP, worker=pod(8))).main.lws.name
    assert len(long) == 63 and long.endswith("-kserve-mn") and long.startswith("x" * 21)


def test_no_worker_means_no_lws() -> None:
    result = layout(llmisvc(parallelism={"tensor": 2}, template=pod(2), replicas=3))
    assert result.main.lws is None and not result.main.multi_node
    assert result.main.replicas == 3
    assert result.to_json()["lws"] is None


@pytest.mark.parametrize(
    ("tag", "live", "replicas", "note"),
    [
        (
            "v0.16.0",
            {"llama-kserve-mn": 4},
            1,
            "writes the LeaderWorkerSet without replicas on every reconcile",
        ),
        ("v0.17.0", {"llama-kserve-mn": 4}, 4, "the live LeaderWorkerSet's 4 replicas are kept"),
        ("v0.20.0", {"llama-kserve-mn": 4}, 4, "the live LeaderWorkerSet's 4 replicas are kept"),
        ("v0.20.0", None, 1, "a new LeaderWorkerSet starts at 1 replica"),
    ],
)
def test_unset_replicas_keep_the_live_lws_from_v017(
    tag: str, live: dict[str, int] | None, replicas: int, note: str
) -> None:
    obj = llmisvc(version="v1alpha1", parallelism=DP, worker=pod(8))
    result = layout(obj, tag, live_lws_replicas=live).main
    assert result.lws.replicas == replicas
    assert any(note in n for n in result.notes)


def test_spec_replicas_win_over_the_live_lws() -> None:
    obj = llmisvc(parallelism=DP, worker=pod(8), replicas=2)
    assert layout(obj, live_lws_replicas={"llama-kserve-mn": 5}).main.lws.replicas == 2


def test_prefill_lws_uses_the_prefill_block() -> None:
    obj = llmisvc(
        parallelism={"data": 8, "dataLocal": 8},
        worker=pod(8),
        prefill={
            "parallelism": {"data": 4, "dataLocal": 2, "tensor": 2},
            "worker": pod(4),
            "template": pod(4),
            "replicas": 2,
        },
    )
    result = layout(obj)
    assert (result.main.lws.size, result.main.role) == (1, "decode")
    assert (result.prefill.lws.size, result.prefill.lws.replicas, result.prefill.role) == (2, 2, "prefill")
    assert result.prefill.vllm_args == (
        "--tensor-parallel-size", "2", "--data-parallel-size", "4", "--data-parallel-size-local", "2",
        "--data-parallel-rpc-port", "5555",
    )  # fmt: skip


# --- the vLLM flags the presets render ----------------------------------------------------------------


@pytest.mark.parametrize("tag", TAGS)
def test_data_parallel_preset_flags(tag: str) -> None:
    obj = llmisvc(
        version="v1alpha1",
        parallelism={"data": 16, "dataLocal": 8, "tensor": 1, "expert": True, "dataRPCPort": 6000},
        worker=pod(8),
        template=pod(8),
    )
    result = layout(obj, tag).main
    assert result.preset == "kserve-config-llm-worker-data-parallel"
    assert result.vllm_args == (
        "--enable-expert-parallel", "--tensor-parallel-size", "1", "--data-parallel-size", "16",
        "--data-parallel-size-local", "8", "--data-parallel-rpc-port", "6000",
    )  # fmt: skip


def test_data_parallel_defaults_render_when_unset() -> None:
    result = layout(llmisvc(parallelism={"dataLocal": 2}, worker=pod(2), template=pod(2))).main
    assert result.vllm_args == (
        "--data-parallel-size", "1", "--data-parallel-size-local", "2", "--data-parallel-rpc-port", "5555",
    )  # fmt: skip


@pytest.mark.parametrize(("tag", "rendered"), [(t, t == "v0.20.0") for t in TAGS])
def test_single_node_tensor_is_rendered_only_from_v020(tag: str, rendered: bool) -> None:
    result = layout(
        llmisvc(version="v1alpha1", parallelism={"tensor": 4, "pipeline": 2}, template=pod(8)), tag
    ).main
    assert result.preset == "kserve-config-llm-template"
    assert result.vllm_args == (("--tensor-parallel-size", "4") if rendered else ())
    assert result.vllm.pipeline == 1  # kserve#6044: pipeline is never rendered on a single node


@pytest.mark.parametrize(
    ("tag", "channel"),
    [
        ("v0.16.0", "args (replacing the preset's list)"),
        ("v0.17.0", "args"),
        ("v0.18.0", "env VLLM_ADDITIONAL_ARGS"),
        ("v0.20.0", "env VLLM_ADDITIONAL_ARGS"),
    ],
)
def test_how_each_release_takes_extra_vllm_flags(tag: str, channel: str) -> None:
    assert layout(llmisvc(version="v1alpha1"), tag).main.args_channel == channel


def test_vllm_additional_args_and_positional_args_override_the_rendered_flags() -> None:
    template = pod(8)
    template["containers"][0]["env"] = [
        {"name": "VLLM_ADDITIONAL_ARGS", "value": "--tensor-parallel-size 8 --max-model-len 8192"}
    ]
    result = layout(llmisvc(parallelism={"tensor": 4}, template=template)).main
    assert result.vllm_args == ("--tensor-parallel-size", "4", "--tensor-parallel-size", "8")
    assert result.vllm.tensor == 8  # argparse: the last one wins
    assert "--max-model-len" in result.command


def test_v017_single_node_args_are_appended_to_the_command() -> None:
    template = pod(4)
    template["containers"][0]["args"] = ["--tensor-parallel-size=4"]
    result = layout(llmisvc(parallelism={"tensor": 4}, template=template), "v0.17.0").main
    assert result.vllm_args == ("--tensor-parallel-size=4",)
    assert result.vllm.tensor == 4


def test_the_shell_form_takes_positional_args_after_dollar_zero() -> None:
    container = {
        "command": ["/bin/bash", "-c", 'exec vllm serve /m --port 8000 ${VLLM_ADDITIONAL_ARGS} "$@"'],
        "args": ["--", "-tp", "2"],
    }
    words, uses_env = command_tokens(container, {"Spec": {}, "ObjectMeta": {}, "GlobalConfig": {}})
    assert words == ["vllm", "serve", "/m", "--port", "8000", "-tp", "2"] and uses_env
    assert parallel_flags(words)[1].tensor == 2


# --- GPUs from the merged templates -------------------------------------------------------------------


def test_gpus_per_pod_come_from_the_user_containers_merged_into_the_preset() -> None:
    result = layout(
        llmisvc(parallelism={"data": 4, "dataLocal": 2}, template=pod(8), worker=pod(4, limits_only=True))
    ).main
    assert (result.leader_gpus, result.worker_gpus, result.gpu_resource) == (8, 4, "nvidia.com/gpu")
    assert result.pod_gpus() == [8, 4]


def test_a_container_with_another_name_is_added_next_to_the_presets_main() -> None:
    # Strategic merge by name: "vllm" is a second container; its GPUs still count for the pod.
    result = layout(llmisvc(template=pod(2, name="vllm"))).main
    names = [c["name"] for c in result.leader_pod["containers"]]
    assert names == ["main", "vllm"] and result.leader_gpus == 2


def test_without_a_template_the_leader_is_a_worker_pod() -> None:
    # The shipped preset has a template (no GPUs): a user who sets only the worker gets a GPU-less leader.
    result = layout(llmisvc(parallelism=DP, worker=pod(8))).main
    assert (result.leader_gpus, result.worker_gpus) == (0, 8)
    no_template = layout(
        llmisvc(parallelism=DP, worker=pod(8)), configs={"kserve-config-llm-worker-data-parallel": {}}
    )
    assert no_template.main.leader_gpus == 8


def test_other_gpu_resources_are_counted() -> None:
    result = layout(llmisvc(template=pod(4, resource="amd.com/gpu"))).main
    assert (result.gpu_resource, result.leader_gpus) == ("amd.com/gpu", 4)


def test_a_fractional_gpu_count_makes_the_pods_fail_not_the_tool() -> None:
    # The LLMInferenceService is admitted (its template is a PodSpec of quantities), but the API server
    # refuses pods whose extended resources are not whole numbers: the controller never gets pods.
    obj = llmisvc(parallelism=DP, template=pod(8), worker=pod(8))
    obj["spec"]["worker"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "1.5"
    result = layout(obj).main
    assert result.controller_error is not None
    assert 'the main pods: spec.containers[0].resources.limits["nvidia.com/gpu"]: "1.5" is not a whole' in (
        result.controller_error
    )
    assert result.worker_gpus == 0


def test_no_gpus_at_all() -> None:
    result = layout(llmisvc(template=pod(None))).main
    assert (result.gpu_resource, result.leader_gpus) == (None, 0)


# --- controller failures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "error"),
    [
        (
            "v0.16.0",
            "PresetsCombined=False (CombineBaseError): failed to get LLMInferenceServiceConfig "
            '"kserve-config-llm-worker-pipeline-parallel" from namespaces ["team-a", "kserve"]: '
            'llminferenceserviceconfigs.serving.kserve.io "kserve-config-llm-worker-pipeline-parallel" not found',
        ),
        (
            "v0.18.0",
            "PresetsCombined=False (CombineBaseError): failed to get LLMInferenceServiceConfig "
            '"kserve-config-llm-worker-pipeline-parallel" from namespaces ["team-a", "kserve"]: '
            'llminferenceserviceconfigs.serving.kserve.io "kserve-config-llm-worker-pipeline-parallel" not found',
        ),
        (
            "v0.19.0",
            "PresetsCombined=False (ConfigNotFound): LLMInferenceServiceConfig "
            '"kserve-config-llm-worker-pipeline-parallel" not found in namespaces [team-a kserve]',
        ),
        (
            "v0.20.0",
            "PresetsCombined=False (ConfigNotFound): LLMInferenceServiceConfig "
            '"kserve-config-llm-worker-pipeline-parallel" not found in namespaces [team-a kserve]',
        ),
    ],
)
def test_worker_with_pipeline_fails_for_want_of_the_preset(tag: str, error: str) -> None:
    result = layout(llmisvc(version="v1alpha1", parallelism={"pipeline": 2, "tensor": 8}, worker=pod(8)), tag)
    assert result.main.preset == WORKER_PIPELINE_PARALLEL
    assert result.main.controller_error == error
    assert result.to_json()["controllerError"] == error


def test_a_pipeline_preset_the_cluster_has_is_used() -> None:
    config = {
        "spec": {
            "template": {
                "containers": [
                    {
                        "name": "main",
                        "command": ["vllm", "serve", "/m"],
                        "args": [
                            "--pipeline-parallel-size",
                            "{{ .Spec.Parallelism.Pipeline }}",
                            "--tensor-parallel-size",
                            "{{ .Spec.Parallelism.Tensor }}",
                        ],
                    }
                ]
            }
        }
    }
    result = layout(
        llmisvc(parallelism={"pipeline": 2, "tensor": 8}, worker=pod(8)),
        configs={WORKER_PIPELINE_PARALLEL: config},
    ).main
    assert result.controller_error is None
    assert (result.vllm.pipeline, result.vllm.tensor) == (2, 8)


def test_base_refs_the_cluster_lacks_fail_only_when_the_configs_are_complete() -> None:
    obj = llmisvc(baseRefs=[{"name": "my-config"}])
    offline = layout(obj)
    assert offline.main.controller_error is None
    assert offline.notes == ("baseRefs my-config was not read: its values are not included",)
    online = layout(obj, configs={}, configs_complete=True)
    assert online.main.controller_error == (
        'PresetsCombined=False (ConfigNotFound): LLMInferenceServiceConfig "my-config" not found in namespaces '
        "[team-a kserve]"
    )


def test_base_refs_parallelism_sizes_the_lws_but_the_flags_render_from_the_object() -> None:
    # llmSvc.Spec becomes the merged spec for the workloads; ReplaceVariables saw the submitted object.
    obj = llmisvc(
        parallelism={"data": 2, "dataLocal": 1}, worker=pod(8), template=pod(8), baseRefs=[{"name": "big"}]
    )
    result = layout(obj, configs={"big": {"parallelism": {"data": 8}}})
    assert result.main.lws.size == 2  # the object's own data wins the merge over the base ref
    obj["spec"]["parallelism"] = {"dataLocal": 1}
    result = layout(obj, configs={"big": {"parallelism": {"data": 8}}})
    assert result.main.lws.size == 8
    assert "--data-parallel-size" in result.main.vllm_args
    assert result.main.vllm_args[result.main.vllm_args.index("--data-parallel-size") + 1] == "1"


def test_a_template_error_is_a_controller_error() -> None:
    template = pod(1)
    template["containers"][0]["args"] = ["{{ .Spec.Prefill.Parallelism.Tensor }}"]
    result = layout(llmisvc(template=template), "v0.17.0").main
    assert result.controller_error is not None
    assert result.controller_error.startswith(
        "PresetsCombined=False (CombineBaseError): failed to merge config: nil pointer"
    )


def test_json_shape_of_a_layout() -> None:
    data = layout(
        llmisvc(parallelism={"data": 2, "dataLocal": 1, "tensor": 8}, template=pod(8), worker=pod(8))
    ).to_json()
    assert data == {
        "multiNode": True,
        "parallelism": {"tensor": 8, "pipeline": None, "data": 2, "dataLocal": 1, "expert": False},
        "preset": "kserve-config-llm-worker-data-parallel",
        "lws": {"name": "llama-kserve-mn", "size": 2, "replicas": 1},
        "vllmArgs": [
            "--tensor-parallel-size",
            "8",
            "--data-parallel-size",
            "2",
            "--data-parallel-size-local",
            "1",
            "--data-parallel-rpc-port",
            "5555",
        ],
        "leaderGpus": 8,
        "workerGpus": 8,
        "gpuResource": "nvidia.com/gpu",
        "controllerError": None,
        "prefill": None,
    }
