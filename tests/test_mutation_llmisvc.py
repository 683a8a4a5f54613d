"""LLMInferenceService details pinned exactly: Go's template printing and truth, the webhook's JSON values,
the ``vllm serve`` command as a shell script, the parallelism flags vLLM reads, and the spec reader.

Written from a mutation audit (docs/testing.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_kserve_mn.inputs import BadInput
from kubectl_kserve_mn.kserve.llmisvc import admit_llmisvc, compute_llm_layout
from kubectl_kserve_mn.kserve.llmisvc.gotemplate import TemplateError, child_name, render, template_data
from kubectl_kserve_mn.kserve.llmisvc.layout import VllmParallelism, command_tokens, parallel_flags
from kubectl_kserve_mn.kserve.llmisvc.presets import shipped_presets
from kubectl_kserve_mn.kserve.llmisvc.spec import Parallelism
from tests.llmisvc_objects import era, llmisvc, pod

PREFIX = 'LLMInferenceService.serving.kserve.io "llama" is invalid: '
DATA = {"data": 2, "dataLocal": 1}
PIPELINE_AND_DATA = (
    "cannot set both pipeline parallelism and data parallelism (data or dataLocal) simultaneously"
)


def _data() -> dict[str, Any]:
    # Built per test, not at import: a module-level value would be computed before any mutant is active.
    return template_data({"metadata": {"name": "m"}, "spec": {"model": {"uri": "hf://x"}}})


def test_the_webhook_prints_values_as_go_json_with_html_characters_escaped() -> None:
    obj = llmisvc(worker={"containers": [{"name": "a<b>&"}]})
    assert admit_llmisvc(obj, era("v0.18.0")).message == (
        f'{PREFIX}spec.worker: Invalid value: {{"containers":[{{"name":"a\\u003cb\\u003e\\u0026"}}]}}: '
        "when worker is specified, parallelism must be configured for either data parallelism or pipeline "
        "parallelism"
    )


def test_the_parallelism_value_lists_every_set_field_and_expert_only_when_true() -> None:
    block = {"pipeline": 2, "data": 4, "dataLocal": 2, "dataRPCPort": 5555, "expert": True}
    assert admit_llmisvc(llmisvc(parallelism=block, worker=pod(4)), era("v0.18.0")).message == (
        f'{PREFIX}spec.parallelism: Invalid value: {{"pipeline":2,"data":4,"dataLocal":2,"dataRPCPort":5555,'
        f'"expert":true}}: {PIPELINE_AND_DATA}'
    )
    quiet = {"pipeline": 2, "data": 4, "dataLocal": 2, "expert": False}
    assert admit_llmisvc(llmisvc(parallelism=quiet, worker=pod(4)), era("v0.18.0")).message == (
        f'{PREFIX}spec.parallelism: Invalid value: {{"pipeline":2,"data":4,"dataLocal":2}}: {PIPELINE_AND_DATA}'
    )


def test_template_data_defaults_the_model_name_to_the_object_name() -> None:
    assert _data() == {
        "Spec": {"model": {"uri": "hf://x", "name": "m"}},
        "ObjectMeta": {"name": "m"},
        "GlobalConfig": {"enableTLS": True, "inferencePoolNamespacedName": ""},
    }
    named = template_data({"metadata": {"name": "m"}, "spec": {"model": {"name": "own"}}}, enable_tls=False)
    assert named["Spec"]["model"] == {"name": "own"}
    assert named["GlobalConfig"]["enableTLS"] is False
    assert template_data({"metadata": {"name": "m"}, "spec": "x"})["Spec"] == {"model": {"name": "m"}}


def test_templates_print_like_go() -> None:
    text = "{{ .Spec.model.name }}|{{ .Spec.nothing }}|{{ .GlobalConfig.enableTLS }}|{{ false }}|{{ 0 }}"
    assert render(text, _data()) == "m|<nil>|true|false|0"
    assert render("no template", _data()) == "no template"


@pytest.mark.parametrize(
    ("template", "out"),
    [
        ("{{ if 0 }}a{{ else }}b{{ end }}", "b"),
        ("{{ if 1 }}a{{ else }}b{{ end }}", "a"),
        ("{{ if -1 }}a{{ else }}b{{ end }}", "a"),
        ('{{ if "" }}a{{ else }}b{{ end }}', "b"),
        ("{{ if .Spec.model }}a{{ else }}b{{ end }}", "a"),
        ("{{ if .Spec.nothing }}a{{ else }}b{{ end }}", "b"),
        ('{{ or 0 "" }}', ""),
        ("{{ or 0 7 }}", "7"),
        ("{{ and 1 0 }}", "0"),
        ("{{ not 0 }}", "true"),
        ("{{ not 3 }}", "false"),
    ],
)
def test_go_truth_of_numbers_strings_and_fields(template: str, out: str) -> None:
    assert render(template, _data()) == out


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{{ and }}", "wrong number of args for and: want at least 1 got 0"),
        ("{{ or }}", "wrong number of args for or: want at least 1 got 0"),
        ("{{ else }}", "unexpected {{else}}"),
        ("{{ nosuch }}", 'function "nosuch" not defined'),
        ("{{ 1 2 }}", "can't give argument to non-function 1"),
    ],
)
def test_template_errors_use_gos_wording(template: str, error: str) -> None:
    with pytest.raises(TemplateError) as failed:
        render(template, _data())
    assert str(failed.value) == error


def test_child_name_hashes_names_longer_than_63_characters() -> None:
    assert child_name("llama", "-kserve") == "llama-kserve"
    long = child_name("x" * 70, "-kserve")
    assert len(long) == 63 and long.endswith("-kserve") and long.startswith("x" * 24)
    huge = child_name("x" * 70, "-kserve-workload-leader-something-long-suffix")
    assert huge == "x" * 31 + "9289c0532299158052a1c299cc738d1a"


def test_a_shell_command_yields_the_vllm_serve_line_with_env_args_and_positionals() -> None:
    container = {
        "command": [
            "/bin/sh",
            "-c",
            '# vllm serve old\nvllm serve model --tensor-parallel-size 2 "${VLLM_ADDITIONAL_ARGS}" $@',
            "sh",
            "--x",
        ],
        "env": [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--pipeline-parallel-size=3 'a b'"}],
    }
    assert command_tokens(container, _data()) == (
        ["vllm", "serve", "model", "--tensor-parallel-size", "2", "--pipeline-parallel-size=3", "a b", "--x"],
        True,
    )
    bash = {"command": ["bash", "-c", "exec vllm serve m '--data-parallel-size' 2"]}
    assert command_tokens(bash, _data()) == (["vllm", "serve", "m", "--data-parallel-size", "2"], False)
    assert command_tokens({"command": ["bash", "-c"]}, _data()) == ([], False)
    plain = {"command": ["vllm", "serve"], "args": ["{{ .Spec.model.name }}", "-c"]}
    assert command_tokens(plain, _data()) == (["vllm", "serve", "m", "-c"], False)
    quoted = {"command": ["sh", "-c", "vllm serve 'modelX' \"--tensor-parallel-size\" X"]}
    assert command_tokens(quoted, _data()) == (
        ["vllm", "serve", "modelX", "--tensor-parallel-size", "X"],
        False,
    )


def test_parallel_flags_read_vllms_spellings_and_the_last_value_wins() -> None:
    shown, value = parallel_flags(
        [
            "--enable-expert-parallel=false",
            "-tp",
            "4",
            "--data_parallel_size=2",
            "--enable-expert-parallel=0",
            "--pipeline-parallel-size",
            "x",
            "--other",
        ]
    )
    assert shown == [
        "--enable-expert-parallel=false",
        "-tp",
        "4",
        "--data_parallel_size=2",
        "--enable-expert-parallel=0",
        "--pipeline-parallel-size",
        "x",
    ]
    assert value == VllmParallelism(tensor=4, pipeline=1, data=2, data_local=None, expert=False)
    _, on = parallel_flags(["--enable-expert-parallel=TRUE", "--data-parallel-size-local", "2"])
    assert on == VllmParallelism(tensor=1, pipeline=1, data=1, data_local=2, expert=True)
    _, bare = parallel_flags(["--enable-expert-parallel", "--tensor-parallel-size"])
    assert bare == VllmParallelism(tensor=1, pipeline=1, data=1, data_local=None, expert=True)


def test_parallelism_reads_expert_as_false_when_unset_or_null_and_refuses_other_types() -> None:
    obj = llmisvc()
    assert Parallelism.read({}, obj, ["spec", "parallelism"]) == Parallelism()
    assert Parallelism.read({"expert": None, "tensor": 2}, obj, ["spec", "parallelism"]) == Parallelism(
        tensor=2
    )
    assert Parallelism.read({"expert": True}, obj, ["spec", "parallelism"]) == Parallelism(expert=True)
    assert Parallelism.read(None, obj, ["spec", "parallelism"]) is None
    with pytest.raises(BadInput) as refused:
        Parallelism.read({"expert": "yes"}, obj, ["spec", "parallelism"])
    assert "spec.parallelism.expert" in str(refused.value) and "is not a boolean" in str(refused.value)


def test_shipped_presets_are_a_private_copy() -> None:
    first: dict[str, Any] = shipped_presets(era("v0.20.0"))
    name = sorted(first)[0]
    first[name]["mutated"] = True
    assert "mutated" not in shipped_presets(era("v0.20.0"))[name]
    assert shipped_presets(era("v0.15.1")) == {}


def test_a_prefill_block_that_is_not_a_mapping_is_refused_at_its_path() -> None:
    from kubectl_kserve_mn.kserve.llmisvc.spec import read

    with pytest.raises(BadInput) as refused:
        read(llmisvc(prefill="x"))
    assert str(refused.value) == 'LLMInferenceService team-a/llama: spec.prefill: "x" is not a mapping'


def test_a_prefill_and_decode_layout_serializes_both_workloads() -> None:
    obj = llmisvc(parallelism=DATA, worker=pod(8), prefill={"parallelism": DATA, "worker": pod(4)})
    result = compute_llm_layout(obj, era("v0.20.0"))
    data = result.to_json()
    assert data["prefill"] == result.prefill.to_json()
    assert (data["prefill"]["lws"]["name"], data["prefill"]["workerGpus"]) == ("llama-kserve-mn-prefill", 4)


def test_the_decode_workload_merges_the_decode_preset_not_the_single_node_one() -> None:
    # kserve-config-llm-decode-template serves on 8001 (the routing sidecar takes 8000); the main preset on 8000.
    result = compute_llm_layout(llmisvc(prefill={"template": pod(4)}, template=pod(8)), era("v0.17.0"))
    assert result.main.preset == "kserve-config-llm-decode-template"
    assert result.main.command[result.main.command.index("--port") + 1] == "8001"


def test_a_prefill_workload_reads_its_args_channel_from_the_presets_prefill_block() -> None:
    # v0.16.0's prefill preset sets args under spec.prefill.template, not under spec.template.
    result = compute_llm_layout(llmisvc(prefill={"template": pod(4)}, template=pod(8)), era("v0.16.0"))
    assert result.prefill.args_channel == "args (replacing the preset's list)"


def test_a_pod_the_api_server_refuses_is_a_bare_pod_create_failure() -> None:
    leader = {"containers": [{"name": "main", "resources": {"limits": {"nvidia.com/gpu": "1.5"}}}]}
    main = compute_llm_layout(llmisvc(parallelism=DATA, worker=pod(8), template=leader), era("v0.20.0")).main
    assert main.controller_reason == "PodCreateFailed"
    assert main.controller_error == (
        'the API server refuses the main pods: spec.containers[0].resources.limits["nvidia.com/gpu"]: '
        '"1.5" is not a whole number (must be an integer)'
    )


def test_the_worker_pod_template_is_kept_for_the_placement_checks() -> None:
    worker = {"nodeSelector": {"pool": "h100"}, "containers": [{"name": "main"}]}
    main = compute_llm_layout(llmisvc(parallelism=DATA, worker=worker, template=pod(8)), era("v0.20.0")).main
    assert main.worker_pod is not None and main.worker_pod["nodeSelector"] == {"pool": "h100"}
