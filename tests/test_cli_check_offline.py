"""`check -f` through the real CLI (click's runner): no cluster access, findings, output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kubectl_kserve_mn.cli import cli
from tests.nodes import gpu_node

FIXTURES = Path(__file__).parent / "fixtures" / "kserve"
DOCS = FIXTURES / "docs-examples"
V0150_DOC = str(DOCS / "isvc-multinode.website-154e4714-v0.15.0-era.2.yaml")
BROKEN_DOC = str(DOCS / "isvc-multinode.website-98143494-v0.15.1-era.1.yaml")
MASTER_DOC = str(DOCS / "isvc-multinode.website-master.2.yaml")
RT_0151 = str(FIXTURES / "runtimes" / "kserve-huggingfaceserver-multinode.install-v0.15.1.yaml")


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["check", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str, input: str | None = None) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(*args, "-o", "json", input=input)
    return code, json.loads(out), err


@pytest.fixture(autouse=True)
def _no_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """-f must never connect: any attempt fails the test."""

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("check -f tried to reach a cluster")

    monkeypatch.setattr("kubectl_kserve_mn.cli.check_gather.connect", refuse)


def seed(tmp_path: Path, *, autoscaler: str = "external", requests: int = 8) -> str:
    """The seed case: TP=16 with 8 GPUs asked per pod; PP from the runtime (2 on v0.15.0, 1 later)."""
    gpu = {"nvidia.com/gpu": str(requests)}
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llama-405b",
            "namespace": "ml",
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "serving.kserve.io/autoscalerClass": autoscaler,
            },
        },
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "runtime": "kserve-huggingfaceserver-multinode",
                    "storageUri": "pvc://models/llama-405b",
                    "resources": {"requests": gpu, "limits": gpu},
                },
                "workerSpec": {
                    "tensorParallelSize": 16,
                    "containers": [
                        {"name": "worker-container", "resources": {"requests": gpu, "limits": gpu}}
                    ],
                },
            }
        },
    }
    path = tmp_path / "isvc.yaml"
    path.write_text(yaml.safe_dump(isvc))
    return str(path)


def nodes_file(tmp_path: Path) -> str:
    path = tmp_path / "nodes.yaml"
    path.write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [gpu_node("a"), gpu_node("b")]})
    )
    return str(path)


def items(doc: dict[str, Any], kind: str = "InferenceService") -> list[dict[str, Any]]:
    return [i for i in doc["items"] if i["kind"] == kind]


def codes(item: dict[str, Any]) -> list[str]:
    return [f["code"] for f in item["findings"]]


def test_v0150_docs_example_is_fine_on_v0150_with_its_shipped_runtime(tmp_path: Path) -> None:
    code, doc, err = run_json("-f", V0150_DOC, "--kserve-version", "v0.15.0")
    assert code == 0, err
    assert doc["kserveVersion"] == "v0.15.0"
    (item,) = items(doc)
    assert (item["namespace"], item["name"]) == ("default", "huggingface-llama3")
    assert item["admission"] == {"allowed": True, "message": None}
    layout = item["layout"]
    assert (layout["pipelineParallelSize"], layout["tensorParallelSize"], layout["nodeCount"]) == (2, 1, 2)
    assert layout["worker"] == {"gpuResource": "nvidia.com/gpu", "gpus": 1, "replicas": 1}
    assert codes(item) == ["upgrade-hazard"]
    assert any("kserve-huggingfaceserver-multinode is not in the files" in n for n in doc["notes"])


def test_v0150_docs_example_is_rejected_by_v0151_with_kserve_message(tmp_path: Path) -> None:
    code, doc, _ = run_json("-f", V0150_DOC, "--kserve-version", "v0.15.1")
    assert code == 1
    (item,) = items(doc)
    assert item["admission"]["message"] == (
        "the InferenceService \"huggingface-llama3\" is invalid: Multinode only supports 'none' autoscaler(external)"
    )
    assert item["layout"] is not None  # computed also when the webhook rejects
    assert "admission-rejected" in codes(item)


def test_published_invalid_yaml_is_a_one_line_input_error() -> None:
    code, out, err = run("-f", BROKEN_DOC, "--kserve-version", "v0.15.1")
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and "malformed YAML" in err
    assert err.count("\n") == 1


def test_without_nodes_schedulability_is_skipped_and_said(tmp_path: Path) -> None:
    code, out, err = run("-f", seed(tmp_path), "--kserve-version", "v0.15.0")
    assert code == 0, err  # nothing schedulability-related can be known offline
    assert "schedulability findings skipped" in out


def test_seed_tp16_on_8_gpu_nodes_fails_on_v0150(tmp_path: Path) -> None:
    code, doc, _ = run_json(
        "-f", seed(tmp_path), "--nodes-file", nodes_file(tmp_path), "--kserve-version", "v0.15.0"
    )
    assert code == 1
    (item,) = items(doc)
    assert item["admission"]["allowed"] is True
    assert item["layout"]["head"] == {"gpuResource": "nvidia.com/gpu", "gpus": 16}
    assert item["layout"]["worker"] == {"gpuResource": "nvidia.com/gpu", "gpus": 16, "replicas": 1}
    finding = next(f for f in item["findings"] if f["code"] == "pod-exceeds-node")
    assert finding["severity"] == "error"
    assert finding["suggestion"] == "kubectl kserve-mn fix llama-405b -n ml"


def test_same_file_fits_on_v0151(tmp_path: Path) -> None:
    code, doc, err = run_json(
        "-f",
        seed(tmp_path, autoscaler="none"),
        "--nodes-file",
        nodes_file(tmp_path),
        "--kserve-version",
        "v0.15.1",
    )
    assert code == 0, err
    (item,) = items(doc)
    assert item["layout"]["nodeCount"] == 2 and item["layout"]["head"]["gpus"] == 8
    # It fits; TP=16 over two pods on nodes with no NFD labels is the one (info) interconnect finding.
    assert [(f["code"], f["severity"]) for f in item["findings"]] == [("tp-spans-interconnect", "info")]


def test_busy_nodes_give_a_free_gpu_warning_but_exit_zero(tmp_path: Path) -> None:
    pods = {
        "kind": "List",
        "items": [
            {
                "kind": "Pod",
                "metadata": {"name": "busy", "namespace": "other"},
                "spec": {
                    "nodeName": "a",
                    "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": "4"}}}],
                },
                "status": {"phase": "Running"},
            }
        ],
    }
    pods_path = tmp_path / "pods.yaml"
    pods_path.write_text(yaml.safe_dump(pods))
    code, doc, _ = run_json(
        "-f", seed(tmp_path, autoscaler="none"), "--nodes-file", nodes_file(tmp_path), "--pods-file", str(pods_path),
        "--kserve-version", "v0.15.1",
    )  # fmt: skip
    assert code == 0
    (item,) = items(doc)
    (finding,) = [f for f in item["findings"] if f["code"] != "tp-spans-interconnect"]
    assert finding["code"] == "insufficient-free-gpus" and finding["severity"] == "warning"
    assert "12 free (a=4, b=8)" in finding["message"]


def test_stdin_and_runtimes_in_files_get_admission_items() -> None:
    text = Path(MASTER_DOC).read_text() + "\n---\n" + Path(RT_0151).read_text()
    code, doc, _ = run_json("-f", "-", "--kserve-version", "v0.15.0", input=text)
    (runtime_item,) = items(doc, "ClusterServingRuntime")
    assert runtime_item["namespace"] is None
    assert runtime_item["admission"]["allowed"] is False
    assert "cannot be less than 2 (1)" in runtime_item["admission"]["message"]
    assert code == 1


def test_yaml_output_has_the_issue_keys_and_values() -> None:
    code, out, _ = run("-f", MASTER_DOC, "--kserve-version", "v0.16.0", "-o", "yaml")
    doc = yaml.safe_load(out)
    assert (doc["kserveVersion"], doc["kserveVersionSource"], doc["unreadable"], doc["warnings"]) == (
        "v0.16.0",
        "flag",
        [],
        [],
    )
    (item,) = doc["items"]
    assert (item["kind"], item["namespace"], item["name"]) == (
        "InferenceService",
        "default",
        "huggingface-llama3",
    )
    assert item["admission"] == {"allowed": True, "message": None}
    # No GPU requests: KServe v0.16.0 makes TP x PP = 2 pods of one GPU each.
    assert item["layout"] == {
        "backend": "ray",
        "pipelineParallelSize": 2,
        "tensorParallelSize": 1,
        "totalGpus": 2,
        "nodeCount": 2,
        "head": {"gpuResource": "nvidia.com/gpu", "gpus": 1},
        "worker": {"gpuResource": "nvidia.com/gpu", "gpus": 1, "replicas": 1},
        "controllerError": None,
        "memory": None,
    }
    assert item["findings"] == [
        {
            "code": "no-gpu-requests",
            "severity": "warning",
            "message": "no GPU requests on head or worker: KServe v0.16.0 and later create TP x PP = 2 pods "
            "of one GPU each (1 head + 1 worker pods)",
            "suggestion": "kubectl kserve-mn fix huggingface-llama3 -n default",
        }
    ]
    assert doc["notes"][0].startswith("schedulability findings skipped: -f without --nodes-file")
    assert code == 0


def test_table_lists_objects_then_findings_by_object(tmp_path: Path) -> None:
    code, out, _ = run("-f", V0150_DOC, "--kserve-version", "v0.15.1")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "KServe: v0.15.1"
    header = next(i for i, line in enumerate(lines) if line.startswith("KIND"))
    assert "huggingface-llama3" in lines[header + 1] and "rejected" in lines[header + 1]
    assert "InferenceService default/huggingface-llama3:" in lines
    assert any("ERROR [admission-rejected]" in line for line in lines)


def test_offline_without_version_warns_on_stderr() -> None:
    code, out, err = run("-f", MASTER_DOC)
    assert "warning:" in err and "newest" in err
    assert "KServe: v0.20.0 rules (default)" in out
    assert code == 0


def test_name_filter_and_unknown_name(tmp_path: Path) -> None:
    path = seed(tmp_path)
    code, doc, _ = run_json("-f", path, "-f", MASTER_DOC, "llama-405b", "--kserve-version", "v0.15.0")
    assert [i["name"] for i in doc["items"]] == ["llama-405b"]
    assert code == 0  # the MASTER_DOC object (rejected by v0.15.0) was filtered out
    assert run("-f", path, "nope", "--kserve-version", "v0.15.0")[0] == 2


def test_non_multinode_isvc_is_skipped_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "single.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "metadata": {"name": "s"},
                "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"}}}},
            }
        )
    )
    code, doc, _ = run_json("-f", str(path), "--kserve-version", "v0.16.0")
    assert code == 0 and doc["items"] == []
    assert any("not multi-node" in n for n in doc["notes"])


def test_namespace_flag_sets_the_namespace_of_file_objects() -> None:
    _, doc, _ = run_json("-f", MASTER_DOC, "-n", "team-a", "--kserve-version", "v0.16.0")
    assert doc["items"][0]["namespace"] == "team-a"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["-A", "-f", MASTER_DOC], "-A/--all-namespaces"),
        (["-f", MASTER_DOC, "--pods-file", "p.yaml"], "--pods-file needs --nodes-file"),
        (["-f", MASTER_DOC, "--kserve-version", "banana"], "--kserve-version"),
        (["-f", MASTER_DOC, "--nodes-file", MASTER_DOC], "expected Node objects"),
    ],
)
def test_bad_flags_are_usage_errors(args: list[str], text: str) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert text in err
