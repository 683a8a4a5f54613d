"""LLMInferenceServices without a cluster, through the CLI's entry point (issue 10): ``check -f`` with v1alpha1
and v1alpha2 objects and KServe's own samples (tests/fixtures/llmisvc/samples, provenance in the README
there), ``check --upgrade-to``, and ``plan --kind llmisvc`` on the repository's example cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CliResult, _run_in_process
from tests.llmisvc_objects import SAMPLES, llmisvc, pod

ROOT = Path(__file__).resolve().parent.parent
TWO_BY_EIGHT = str(ROOT / "examples" / "cluster-2x8-h100.yaml")
LLAMA_405B = str(ROOT / "examples" / "models" / "meta-llama--Meta-Llama-3.1-405B.json")
GPU = "nvidia.com/gpu"


@pytest.fixture(autouse=True)
def _no_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may connect: any attempt fails the test."""

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("tried to reach a cluster")

    monkeypatch.setattr("kubectl_kserve_mn.cli.check_gather.connect", refuse)
    monkeypatch.setattr("kubectl_kserve_mn.cli.plan.connect", refuse)


def write(tmp_path: Path, *objects: dict[str, Any], name: str = "objects.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return str(path)


def check_json(*args: str) -> tuple[CliResult, dict[str, Any]]:
    result = _run_in_process(["check", *args, "-o", "json"])
    assert result.stdout, result.stderr
    return result, json.loads(result.stdout)


def items(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in doc["items"] if i["kind"] == "LLMInferenceService"}


def codes(item: dict[str, Any]) -> list[str]:
    return [f["code"] for f in item["findings"]]


# --- check -f ---------------------------------------------------------------------------------------------


def test_v1alpha1_and_v1alpha2_objects_from_files_are_both_checked(tmp_path: Path) -> None:
    old = llmisvc("old", version="v1alpha1", parallelism={"tensor": 4}, template=pod(4))
    new = llmisvc(
        "new",
        parallelism={"tensor": 8, "data": 2, "dataLocal": 1},
        template=pod(8),
        worker=pod(8),
        replicas=1,
    )
    result, doc = check_json(
        "-f", write(tmp_path, old, new), "--nodes-file", TWO_BY_EIGHT, "--kserve-version", "v0.19.0"
    )
    found = items(doc)
    assert {n: i["apiVersion"] for n, i in found.items()} == {
        "old": "serving.kserve.io/v1alpha1",
        "new": "serving.kserve.io/v1alpha2",
    }
    # v0.19.0 drops a single-node tensor (kserve#5773): 4 GPUs held, vLLM on 1.
    assert codes(found["old"]) == ["llmisvc-tensor-dropped"]
    assert found["old"]["layout"]["vllmArgs"] == []
    assert codes(found["new"]) == [] and found["new"]["layout"]["lws"]["size"] == 2
    assert result.exit_code == 0
    # v0.20.0 renders it.
    _, on_020 = check_json("-f", write(tmp_path, old), "--kserve-version", "v0.20.0")
    assert items(on_020)["old"]["layout"]["vllmArgs"] == ["--tensor-parallel-size", "4"]


def test_a_version_the_release_does_not_serve_is_an_input_error(tmp_path: Path) -> None:
    result = _run_in_process(["check", "-f", write(tmp_path, llmisvc()), "--kserve-version", "v0.16.0"])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert (
        'no matches for kind "LLMInferenceService" in version "serving.kserve.io/v1alpha2"' in result.stderr
    )
    assert "serves LLMInferenceService as serving.kserve.io/v1alpha1" in result.stderr


def test_crd_bounds_are_answered_first_in_the_api_servers_words(tmp_path: Path) -> None:
    bad = llmisvc("bad", parallelism={"tensor": 0, "data": 2, "dataLocal": 1}, template=pod(8), worker=pod(8))
    result, doc = check_json("-f", write(tmp_path, bad), "--kserve-version", "v0.20.0")
    admission = items(doc)["bad"]["admission"]
    assert admission["allowed"] is False
    assert admission["message"] == (
        'LLMInferenceService.serving.kserve.io "bad" is invalid: spec.parallelism.tensor: Invalid value: 0: '
        "spec.parallelism.tensor in body should be greater than or equal to 1"
    )
    assert result.exit_code == 1


def test_the_webhooks_worker_rule_with_its_exact_message(tmp_path: Path) -> None:
    obj = llmisvc("tp-only", parallelism={"tensor": 16}, template=pod(8), worker=pod(8))
    _, doc = check_json("-f", write(tmp_path, obj), "--kserve-version", "v0.20.0")
    message = items(doc)["tp-only"]["admission"]["message"]
    assert message.startswith(
        'LLMInferenceService.serving.kserve.io "tp-only" is invalid: spec.worker: Invalid value: '
    )
    assert message.endswith(
        "when worker is specified, parallelism must be configured for either data parallelism or pipeline parallelism"
    )


def test_worker_with_pipeline_is_admitted_but_the_controller_fails_without_the_preset(tmp_path: Path) -> None:
    obj = llmisvc("pp", parallelism={"tensor": 8, "pipeline": 2}, template=pod(8), worker=pod(8))
    result, doc = check_json("-f", write(tmp_path, obj), "--kserve-version", "v0.18.0")
    item = items(doc)["pp"]
    assert item["admission"]["allowed"] is True
    assert codes(item) == ["llmisvc-pipeline-preset-missing"]
    assert item["layout"]["controllerError"].startswith("PresetsCombined=False (CombineBaseError)")
    assert result.exit_code == 1


def test_names_select_objects_by_kind_in_the_files(tmp_path: Path) -> None:
    path = write(tmp_path, llmisvc("llama", parallelism={"tensor": 2}, template=pod(2)), llmisvc("other"))
    result, doc = check_json("-f", path, "llmisvc/llama", "--kserve-version", "v0.20.0")
    assert [i["name"] for i in doc["items"]] == ["llama"] and result.exit_code == 0
    missing = _run_in_process(["check", "-f", path, "isvc/llama", "--kserve-version", "v0.20.0"])
    assert missing.exit_code == 2
    assert "no InferenceService, LLMInferenceService or runtime named isvc/llama" in missing.stderr


def test_an_llminferenceserviceconfig_in_the_files_is_merged_for_baserefs(tmp_path: Path) -> None:
    obj = llmisvc(
        "llama",
        parallelism={"tensor": 8, "data": 2, "dataLocal": 1},
        template=pod(),
        worker=pod(),
        baseRefs=[{"name": "gpus-8"}],
    )
    config = {
        "apiVersion": "serving.kserve.io/v1alpha2",
        "kind": "LLMInferenceServiceConfig",
        "metadata": {"name": "gpus-8", "namespace": "team-a"},
        "spec": {"template": pod(8), "worker": pod(8)},
    }
    result, with_config = check_json("-f", write(tmp_path, obj, config), "--kserve-version", "v0.20.0")
    layout = items(with_config)["llama"]["layout"]
    assert (layout["leaderGpus"], layout["workerGpus"]) == (8, 8)
    assert result.exit_code == 0
    _, without = check_json("-f", write(tmp_path, obj, name="alone.yaml"), "--kserve-version", "v0.20.0")
    assert "llmisvc-gpus-mismatch" in codes(items(without)["llama"])
    assert any("baseRefs gpus-8 was not read" in n for n in without["notes"])


def test_a_finding_from_a_file_points_to_plan_kind_llmisvc(tmp_path: Path) -> None:
    obj = llmisvc("llama", parallelism={"tensor": 8, "data": 2, "dataLocal": 1}, template=pod(), worker=pod())
    result = _run_in_process(
        ["check", "-f", write(tmp_path, obj), "--nodes-file", TWO_BY_EIGHT, "--kserve-version", "v0.20.0"]
    )
    assert result.exit_code == 1
    flat = " ".join(result.stdout.split())
    assert (
        "`kubectl kserve-mn plan --kind llmisvc --tensor-parallel-size 8 --data-parallel-size 2 --nodes-file "
        f"{TWO_BY_EIGHT} --kserve-version v0.20.0` prints the fields to put in the file"
    ) in flat


# KServe's samples on the example cluster (2 x 8 H100) under v0.20.0: what the README says.
SAMPLE_VERDICTS = {
    "deepseek-coder-v2": ("LWS 1 x [leader 8 + 1 x 8 nvidia.com/gpu] (TP1 DP16/8 local EP)", []),
    "deepseek-r1-0528": (
        "LWS 1 x [leader 8 + 3 x 8 nvidia.com/gpu] (TP1 DP32/8 local EP)",
        ["exceeds-cluster-capacity"],
    ),
    "qwen2-7b-instruct-single": ("3 x 1 pod of 1 nvidia.com/gpu (TP1)", []),
    "qwen2-7b-instruct-pd": (
        "1 x 1 pod of 1 nvidia.com/gpu (TP1); prefill 2 x 1 pod of 1 nvidia.com/gpu (TP1)",
        [],
    ),
}


def test_kserves_own_samples_through_check() -> None:
    files = [
        "llm-inference-service-dp-ep-deepseek-r1-gpu-naive.yaml",
        "llm-inference-service-dp-ep-deepseek-r1-gpu-deepep-ht.yaml",
        "llm-inference-service-qwen2-7b-gpu.yaml",
        "llm-inference-service-pd-qwen2-7b-gpu.yaml",
    ]
    args = [arg for f in files for arg in ("-f", str(SAMPLES / f))]
    result = _run_in_process(["check", *args, "--nodes-file", TWO_BY_EIGHT, "--kserve-version", "v0.20.0"])
    assert result.exit_code == 1  # deepseek-r1-0528 needs 32 GPUs
    for name, (layout, found) in SAMPLE_VERDICTS.items():
        row = next(line for line in result.stdout.splitlines() if f" {name} " in line)
        assert row.startswith("LLMInferenceService") and "allowed" in row and layout in row, row
        assert row.rstrip().endswith("OK" if not found else f"FAIL ({len(found)} error)"), row


# --- check --upgrade-to -----------------------------------------------------------------------------------


def test_upgrade_to_v0200_renders_the_single_node_tensor_that_v0190_drops(tmp_path: Path) -> None:
    obj = llmisvc("llama", parallelism={"tensor": 4}, template=pod(4))
    path = write(tmp_path, obj)
    flags = ["--nodes-file", TWO_BY_EIGHT, "--kserve-version", "v0.19.0", "--upgrade-to", "v0.20.0"]
    result, doc = check_json("-f", path, *flags)
    upgrade = items(doc)["llama"]["upgrade"]
    assert (upgrade["from"], upgrade["to"], upgrade["verdict"]) == ("v0.19.0", "v0.20.0", "changes")
    assert upgrade["layout"]["vllmArgs"] == ["--tensor-parallel-size", "4"]
    assert upgrade["installed"]["layout"]["vllmArgs"] == []
    assert (
        "spec: vLLM parallelism flags (no parallelism flags) -> --tensor-parallel-size 4"
        in upgrade["differences"]
    )
    assert "gone: warning [llmisvc-tensor-dropped]" in upgrade["differences"]
    assert upgrade["fixFirst"] == "nothing to change"
    assert result.exit_code == 0
    table = _run_in_process(["check", "-f", path, *flags])
    row = next(line for line in table.stdout.splitlines() if "changes" in line)
    assert "1 x 1 pod of 4 nvidia.com/gpu (TP4)" in row


def test_upgrade_from_v0160_says_v0170_also_serves_v1alpha2(tmp_path: Path) -> None:
    obj = llmisvc("llama", version="v1alpha1", parallelism={"tensor": 8, "data": 2, "dataLocal": 1},
                  template=pod(8), worker=pod(8), replicas=2)  # fmt: skip
    _, doc = check_json("-f", write(tmp_path, obj), "--kserve-version", "v0.16.0", "--upgrade-to", "v0.17.0")
    upgrade = items(doc)["llama"]["upgrade"]
    assert upgrade["verdict"] == "unchanged"
    assert any(
        "also serves serving.kserve.io/v1alpha2" in n and "v1alpha1 stays served" in n
        for n in upgrade["notes"]
    )


def test_upgrade_changes_the_missing_preset_reason_to_config_not_found(tmp_path: Path) -> None:
    obj = llmisvc("pp", parallelism={"tensor": 8, "pipeline": 2}, template=pod(8), worker=pod(8), replicas=1)
    _, doc = check_json("-f", write(tmp_path, obj), "--kserve-version", "v0.18.0", "--upgrade-to", "v0.19.0")
    upgrade = items(doc)["pp"]["upgrade"]
    assert upgrade["verdict"] == "changes"
    line = next(d for d in upgrade["differences"] if "the controller's error becomes" in d)
    assert "PresetsCombined=False (ConfigNotFound)" in line


# --- plan --kind llmisvc ----------------------------------------------------------------------------------


def plan(*args: str) -> CliResult:
    return _run_in_process(["plan", "--kind", "llmisvc", "--nodes-file", TWO_BY_EIGHT, *args])


def test_plan_16_gpus_is_two_pods_of_tensor_8_with_the_snippet_to_paste() -> None:
    result = plan("--gpus", "16", "--kserve-version", "v0.20.0")
    assert result.exit_code == 0, result.stderr
    assert (
        "Recommended: TP=8 x DP=2 (1 per pod) on NVIDIA-H100-80GB-HBM3-x8: LeaderWorkerSet of 2 pods"
        in result.stdout
    )
    snippet = result.stdout.split("Put this in the LLMInferenceService (KServe v0.20.0 rules):\n", 1)[1]
    block = yaml.safe_load(snippet.split("\n\n", 1)[0])
    gpus = {"limits": {GPU: "8"}, "requests": {GPU: "8"}}
    assert block == {
        "spec": {
            "parallelism": {"tensor": 8, "data": 2, "dataLocal": 1},
            "template": {"containers": [{"name": "main", "resources": gpus}]},
            "worker": {"containers": [{"name": "main", "resources": gpus}]},
        }
    }
    assert "&id" not in snippet  # no YAML aliases in what users paste
    assert "TP=16" in result.stdout.split("Rejected:", 1)[1]


def test_plan_json_has_the_shape_and_the_patch() -> None:
    result = plan("--tensor-parallel-size", "4", "--kserve-version", "v0.19.0", "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["kind"] == "LLMInferenceService" and doc["kserveEra"] == "v0.19.0"
    rec = doc["recommendation"]
    assert (rec["tensor"], rec["data"], rec["multiNode"], rec["podGpus"]) == (4, 1, False, 4)
    container = doc["llmInferenceServicePatch"]["spec"]["template"]["containers"][0]
    # v0.19.0 drops a single-node tensor: the snippet passes the flag the way its preset reads extra flags.
    assert container["env"] == [{"name": "VLLM_ADDITIONAL_ARGS", "value": "--tensor-parallel-size 4"}]
    assert result.exit_code == 0


def test_plan_with_a_model_rejects_tensor_sizes_its_heads_do_not_divide() -> None:
    result = plan(
        "--model", LLAMA_405B, "--tensor-parallel-size", "3", "--kserve-version", "v0.20.0", "-o", "json"
    )
    doc = json.loads(result.stdout)
    assert doc["recommendation"] is None
    assert "must be divisible by tensor parallel size (3)" in doc["rejected"][0]["reason"]
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "llmisvc", "--pipeline-parallel-size", "2", "--gpus", "4"], "kserve#5047"),
        (["--kind", "llmisvc", "--allow-cross-node-tp"], "tensor parallelism stays inside a pod"),
        (["--data-parallel-size", "2"], "--data-parallel-size is for --kind llmisvc"),
    ],
)
def test_plan_flags_that_do_not_apply_to_the_kind_are_usage_errors(args: list[str], message: str) -> None:
    result = _run_in_process(["plan", "--nodes-file", TWO_BY_EIGHT, *args])
    assert result.exit_code == 2 and message in result.stderr


def test_plan_before_v0160_has_no_llminferenceservice() -> None:
    result = plan("--gpus", "8", "--kserve-version", "v0.15.1")
    assert result.exit_code == 1
    assert "KServe v0.15.1 has no LLMInferenceService (v0.16.0 and later)" in result.stderr


# --- the model ----------------------------------------------------------------------------------------------


def test_model_flag_applies_vllms_rules_at_the_rendered_tensor(tmp_path: Path) -> None:
    obj = llmisvc("llama", parallelism={"tensor": 3}, template=pod(3))
    result, doc = check_json("-f", write(tmp_path, obj), "--kserve-version", "v0.20.0", "--model", LLAMA_405B)
    rule = next(f for f in items(doc)["llama"]["findings"] if f["code"] == "model-heads-not-divisible")
    assert "must be divisible by tensor parallel size (3)" in rule["message"]
    assert rule["suggestion"].startswith("kubectl kserve-mn plan --kind llmisvc --model ")
    assert result.exit_code == 1


def test_an_hf_model_uri_is_used_only_from_the_hugging_face_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubectl_kserve_mn import model as model_package
    from tests.fixture_files import model_facts

    calls: list[tuple[str, bool | None]] = []

    def cached(spec: str, *, offline: bool | None = None) -> Any:
        calls.append((spec, offline))
        return model_facts("meta-llama--Meta-Llama-3.1-405B")

    monkeypatch.setattr(model_package, "load_model", cached)
    obj = llmisvc("llama", parallelism={"tensor": 8}, template=pod(8))
    obj["spec"]["model"]["uri"] = "hf://meta-llama/Llama-3.1-405B"
    result, doc = check_json(
        "-f", write(tmp_path, obj), "--nodes-file", TWO_BY_EIGHT, "--kserve-version", "v0.20.0"
    )
    assert calls == [("meta-llama/Llama-3.1-405B", True)]  # the cache only, never a download
    # 405B parameters in bf16 do not fit 8 x 80 GB.
    assert "model-weights-exceed-memory" in codes(items(doc)["llama"])
    assert result.exit_code == 1
