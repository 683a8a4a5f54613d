"""`check` with a model (issue 6): vLLM's rules at the controller's layout and the per-GPU memory estimate.

Offline through the real CLI (click's runner) with the public Llama-3.1-405B config
(tests/fixtures/models, provenance in its README) and KServe v0.15.1's shipped runtime.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kubectl_kserve_mn.cli import cli
from kubectl_kserve_mn.findings import vllm_arg
from tests.nodes import gpu_node

MODELS = Path(__file__).parent / "fixtures" / "models"
LLAMA_405B = MODELS / "meta-llama--Meta-Llama-3.1-405B.json"
RUNTIME = Path(__file__).parent / "fixtures" / "kserve" / "runtimes"
RT_0151 = str(RUNTIME / "kserve-huggingfaceserver-multinode.install-v0.15.1.yaml")
GIB = 1 << 30
MIB = 1 << 20


@pytest.fixture(autouse=True)
def _no_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("check -f tried to reach a cluster")

    monkeypatch.setattr("kubectl_kserve_mn.cli.check_gather.connect", refuse)


def isvc(
    name: str = "llama",
    *,
    pp: int = 2,
    tp: int = 8,
    gpus: int = 8,
    model: str | None = None,
    args: list[str] | None = None,
) -> dict[str, Any]:
    gpu = {"nvidia.com/gpu": str(gpus)}
    annotations = {
        "serving.kserve.io/deploymentMode": "RawDeployment",
        "serving.kserve.io/autoscalerClass": "none",
    }
    if model is not None:
        annotations["kserve-mn/model"] = model
    head: dict[str, Any] = {
        "modelFormat": {"name": "huggingface"},
        "runtime": "kserve-huggingfaceserver-multinode",
        "storageUri": "pvc://models/llama",
        "resources": {"requests": gpu, "limits": gpu},
    }
    if args:
        head["args"] = args
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": "ml", "annotations": annotations},
        "spec": {
            "predictor": {
                "model": head,
                "workerSpec": {
                    "pipelineParallelSize": pp,
                    "tensorParallelSize": tp,
                    "containers": [
                        {"name": "worker-container", "resources": {"requests": gpu, "limits": gpu}}
                    ],
                },
            }
        },
    }


def write(tmp_path: Path, name: str, *docs: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs))
    return str(path)


def nodes(tmp_path: Path, *, memory_mib: int | None = 81559, count: int = 2) -> str:
    items = [gpu_node(f"gpu-{i}", memory_mib=memory_mib) for i in range(count)]
    return write(tmp_path, "nodes.yaml", {"apiVersion": "v1", "kind": "List", "items": items})


def check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["check", *args, "--kserve-version", "v0.15.1"])
    return result.exit_code, result.stdout, result.stderr


def check_json(*args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = check(*args, "-o", "json")
    assert out, err
    return code, json.loads(out), err


def item(doc: dict[str, Any], name: str = "llama") -> dict[str, Any]:
    return next(i for i in doc["items"] if i["kind"] == "InferenceService" and i["name"] == name)


def finding(report: dict[str, Any], code: str) -> dict[str, Any]:
    return next(f for f in report["findings"] if f["code"] == code)


def codes(report: dict[str, Any]) -> list[str]:
    return [f["code"] for f in report["findings"]]


# --- vLLM's layout rules at the controller's TP x PP ---------------------------------------------------


def test_annotation_model_rejects_tp_that_does_not_divide_the_attention_heads(tmp_path: Path) -> None:
    heads = json.loads(LLAMA_405B.read_text())["num_attention_heads"]
    path = write(tmp_path, "isvc.yaml", isvc(pp=2, tp=6, gpus=6, model=str(LLAMA_405B)))
    code, doc, _ = check_json("-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path))
    report = item(doc)
    bad = finding(report, "model-heads-not-divisible")
    assert bad["severity"] == "error"
    assert f"({heads}) must be divisible by tensor parallel size (6)" in bad["message"]
    assert "TP=6 x PP=2" in bad["message"]
    assert bad["suggestion"].startswith(f"kubectl kserve-mn plan --model {LLAMA_405B}")
    assert code == 1


def test_the_layout_checked_is_the_controllers_not_the_wish(tmp_path: Path) -> None:
    # No pipelineParallelSize on the ISVC: the v0.15.1 runtime's PP=1 applies, so vLLM gets PP=1.
    doc = isvc(tp=8, model=str(LLAMA_405B))
    del doc["spec"]["predictor"]["workerSpec"]["pipelineParallelSize"]
    code, out, _ = check_json("-f", write(tmp_path, "isvc.yaml", doc), "-f", RT_0151, "--gpu-memory", "80Gi")
    report = item(out)
    assert report["layout"]["pipelineParallelSize"] == 1
    # 405B parameters in bfloat16 over 8 GPUs is about 94 GiB each: more than an 80 GiB GPU.
    weights = finding(report, "model-weights-exceed-memory")
    assert weights["severity"] == "error" and "TP=8 x PP=1" in weights["message"]
    assert report["layout"]["memory"]["fits"] is False
    assert report["layout"]["memory"]["perGpuWeightsBytes"] > 80 * GIB
    assert code == 1


# --- where the GPU memory comes from -------------------------------------------------------------------


def test_memory_comes_from_the_node_labels_of_the_pods_pool(tmp_path: Path) -> None:
    path = write(tmp_path, "isvc.yaml", isvc(model=str(LLAMA_405B)))
    code, doc, err = check_json("-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path, memory_mib=81559))
    report = item(doc)
    memory = report["layout"]["memory"]
    assert memory["gpuMemoryBytes"] == 81559 * MIB
    assert memory["gpuMemoryUtilization"] == 0.9
    assert memory["maxModelLen"] == json.loads(LLAMA_405B.read_text())["max_position_embeddings"]
    assert memory["fits"] is True and memory["kvCacheTokens"] >= memory["maxModelLen"]
    assert report["model"]["layers"] == json.loads(LLAMA_405B.read_text())["num_hidden_layers"]
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    assert code == 0, err


def test_an_explicit_gpu_memory_flag_wins_over_node_labels(tmp_path: Path) -> None:
    path = write(tmp_path, "isvc.yaml", isvc(model=str(LLAMA_405B)))
    _, doc, _ = check_json(
        "-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path, memory_mib=143771), "--gpu-memory", "80Gi"
    )
    assert item(doc)["layout"]["memory"]["gpuMemoryBytes"] == 80 * 1024 * MIB


def test_gpu_memory_flag_is_used_when_the_nodes_have_no_memory_label(tmp_path: Path) -> None:
    path = write(tmp_path, "isvc.yaml", isvc(model=str(LLAMA_405B)))
    _, doc, _ = check_json(
        "-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path, memory_mib=None), "--gpu-memory", "96Gi"
    )
    assert item(doc)["layout"]["memory"]["gpuMemoryBytes"] == 96 * GIB


def test_unknown_memory_is_an_info_finding_and_no_estimate(tmp_path: Path) -> None:
    path = write(tmp_path, "isvc.yaml", isvc(model=str(LLAMA_405B)))
    code, doc, err = check_json("-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path, memory_mib=None))
    report = item(doc)
    unknown = finding(report, "model-memory-unknown")
    assert unknown["severity"] == "info" and "--gpu-memory" in unknown["suggestion"]
    assert report["layout"]["memory"] is None
    assert report["model"] is not None
    assert code == 0, err


# --- vLLM settings: the InferenceService's args, overridden by flags ----------------------------------


def test_max_model_len_and_utilization_come_from_the_isvc_args(tmp_path: Path) -> None:
    args = ["--max-model-len=8192", "--gpu-memory-utilization", "0.95"]
    path = write(tmp_path, "isvc.yaml", isvc(model=str(LLAMA_405B), args=args))
    _, doc, _ = check_json("-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path))
    memory = item(doc)["layout"]["memory"]
    assert (memory["maxModelLen"], memory["gpuMemoryUtilization"]) == (8192, 0.95)


def test_flags_override_the_isvc_args(tmp_path: Path) -> None:
    args = ["--max-model-len=8192", "--gpu-memory-utilization=0.95"]
    path = write(tmp_path, "isvc.yaml", isvc(model=str(LLAMA_405B), args=args))
    _, doc, _ = check_json(
        "-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path),
        "--max-model-len", "4096", "--gpu-memory-utilization", "0.8",
    )  # fmt: skip
    memory = item(doc)["layout"]["memory"]
    assert (memory["maxModelLen"], memory["gpuMemoryUtilization"]) == (4096, 0.8)


def test_max_model_len_above_the_models_context_is_refused(tmp_path: Path) -> None:
    context = json.loads(LLAMA_405B.read_text())["max_position_embeddings"]
    path = write(tmp_path, "isvc.yaml", isvc(model=str(LLAMA_405B), args=[f"--max_model_len={context * 2}"]))
    code, doc, _ = check_json("-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path))
    too_long = finding(item(doc), "model-max-len-exceeds-context")
    assert too_long["severity"] == "error"
    assert f"({context * 2}) is greater than the derived max_model_len ({context})" in too_long["message"]
    assert code == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--max-model-len=8192"], "8192"),
        (["--max-model-len", "32k"], "32k"),
        (["--max_model_len=100", "--max-model-len=200"], "200"),
        (["--max-model-lens=5"], None),
        (["--max-model-len"], None),
        ([], None),
    ],
)
def test_vllm_arg_reads_both_spellings_and_the_last_value(args: list[str], expected: str | None) -> None:
    assert vllm_arg({"args": args}, "--max-model-len") == expected


def test_binary_k_suffix_in_max_model_len_is_1024(tmp_path: Path) -> None:
    path = write(tmp_path, "isvc.yaml", isvc(model=str(LLAMA_405B), args=["--max-model-len", "32K"]))
    _, doc, _ = check_json("-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path))
    assert item(doc)["layout"]["memory"]["maxModelLen"] == 32 * 1024


# --- where the model comes from --------------------------------------------------------------------------


def test_model_flag_overrides_every_annotation(tmp_path: Path) -> None:
    path = write(tmp_path, "isvc.yaml", isvc(model="./no-such-config.json"))
    code, doc, err = check_json("-f", path, "-f", RT_0151, "--model", str(LLAMA_405B), "--gpu-memory", "80Gi")
    report = item(doc)
    assert "model-unreadable" not in codes(report)
    assert report["layout"]["memory"] is not None
    assert code == 0, err


def test_a_bad_annotation_fails_only_its_item(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "isvcs.yaml",
        isvc("broken", model="./no-such-config.json"),
        isvc("good", model=str(LLAMA_405B)),
    )
    code, doc, err = check_json("-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path))
    broken = item(doc, "broken")
    bad = finding(broken, "model-unreadable")
    assert bad["severity"] == "error"
    assert "./no-such-config.json" in bad["message"] and "no such file" in bad["message"]
    assert broken["model"] is None and broken["layout"]["memory"] is None
    good = item(doc, "good")
    assert good["layout"]["memory"]["fits"] is True
    assert code == 1, err


def test_a_malformed_model_config_in_an_annotation_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    path = write(tmp_path, "isvc.yaml", isvc(model=str(tmp_path / "bad.json")))
    code, doc, _ = check_json("-f", path, "-f", RT_0151)
    assert "num_hidden_layers" in finding(item(doc), "model-unreadable")["message"]
    assert code == 1


def test_a_bad_model_flag_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, "isvc.yaml", isvc())
    code, out, err = check("-f", path, "--model", str(tmp_path / "missing.json"))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "no such file" in err


def test_a_bad_gpu_memory_flag_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = check("-f", write(tmp_path, "isvc.yaml", isvc()), "--gpu-memory", "80")
    assert code == 2 and "--gpu-memory" in err


def test_relative_annotation_path_is_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "gitops"
    (repo / "apps" / "models").mkdir(parents=True)
    shutil.copy(LLAMA_405B, repo / "apps" / "models" / "llama.json")
    path = write(repo / "apps", "isvc.yaml", isvc(model="models/llama.json"))
    elsewhere = tmp_path / "ci"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, doc, err = check_json("-f", path, "-f", RT_0151, "--gpu-memory", "80Gi")
    report = item(doc)
    assert report["model"] is not None and "model-unreadable" not in codes(report)
    assert code == 0, err


def test_isvc_without_model_has_null_model_and_memory(tmp_path: Path) -> None:
    code, doc, _ = check_json("-f", write(tmp_path, "isvc.yaml", isvc()), "-f", RT_0151)
    report = item(doc)
    assert report["model"] is None and report["layout"]["memory"] is None
    assert not [c for c in codes(report) if c.startswith("model-")]
    assert code == 0


# --- table ------------------------------------------------------------------------------------------


def test_table_has_a_memory_row_per_model(tmp_path: Path) -> None:
    path = write(tmp_path, "isvcs.yaml", isvc("sized", model=str(LLAMA_405B)), isvc("unsized"))
    code, out, _ = check("-f", path, "-f", RT_0151, "--nodes-file", nodes(tmp_path))
    lines = out.splitlines()
    start = lines.index("Model memory per GPU (vLLM estimate):")
    header = lines[start + 1].split()
    assert header[:4] == ["NAMESPACE", "NAME", "MODEL", "LAYOUT"] and "FITS" in header
    rows = [line for line in lines[start + 2 :] if line.strip()][:1]
    assert rows[0].split()[:2] == ["ml", "sized"] and rows[0].split()[-1] == "yes"
    assert "131,072" in rows[0]
    assert not any(line.split()[:2] == ["ml", "unsized"] for line in lines[start:])
    assert code == 0


def test_memory_is_the_smallest_of_the_nodes_the_pods_may_land_on(tmp_path: Path) -> None:
    mixed = [
        gpu_node("h100", memory_mib=81559),
        gpu_node("h200", product="NVIDIA-H200", memory_mib=143771),
        gpu_node("l40s", 4, product="NVIDIA-L40S", memory_mib=46068),  # too small for an 8-GPU pod
    ]
    nodes_path = write(tmp_path, "nodes.yaml", {"apiVersion": "v1", "kind": "List", "items": mixed})
    # An over-long context makes a memory finding, whose message says where the GPU memory came from.
    path = write(tmp_path, "isvc.yaml", isvc(model=str(LLAMA_405B), args=["--max-model-len=1000000"]))
    _, doc, _ = check_json("-f", path, "-f", RT_0151, "--nodes-file", nodes_path)
    report = item(doc)
    assert report["layout"]["memory"]["gpuMemoryBytes"] == 81559 * MIB
    message = finding(report, "model-max-len-exceeds-context")["message"]
    assert "from the labels of h100, h200" in message and "l40s" not in message
    assert "the smallest of 81,559, 143,771 MiB" in message
