"""`plan` from files, through the real CLI (click's runner), as a user runs the quick start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from kubectl_kserve_mn.cli import cli

ROOT = Path(__file__).resolve().parent.parent
TWO_BY_EIGHT = str(ROOT / "examples" / "cluster-2x8-h100.yaml")
MIXED = str(ROOT / "examples" / "cluster-mixed.yaml")
MIXED_PODS = str(ROOT / "examples" / "pods-mixed.yaml")


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_quick_start_recommends_pp2_tp8_and_prints_the_isvc_snippet() -> None:
    code, out, err = run("plan", "--nodes-file", TWO_BY_EIGHT, "--gpus", "16", "--kserve-version", "v0.15.1")
    assert code == 0, err
    assert "Recommended: PP=2 x TP=8" in out
    assert "pipelineParallelSize: 2" in out and "tensorParallelSize: 8" in out
    assert "nvidia.com/gpu: '8'" in out


def test_offline_without_kserve_version_warns_and_uses_the_newest_rules() -> None:
    code, out, err = run("plan", "--nodes-file", TWO_BY_EIGHT, "--gpus", "16")
    assert code == 0
    assert "warning:" in err and "newest" in err
    assert "Recommended: PP=2 x TP=8" in out


def test_json_output_has_the_documented_keys() -> None:
    code, out, _ = run(
        "plan", "--nodes-file", TWO_BY_EIGHT, "--gpus", "16", "--kserve-version", "v0.15.0", "-o", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["kserveVersion"] == "v0.15.0"
    assert data["gpuResource"] == "nvidia.com/gpu"
    (pool,) = data["pools"]
    assert {k: pool[k] for k in ("product", "gpusPerNode", "nodes", "freeGpus")} == {
        "product": "NVIDIA-H100-80GB-HBM3",
        "gpusPerNode": 8,
        "nodes": 2,
        "freeGpus": 16,
    }
    rec = data["recommendation"]
    assert (rec["pipelineParallelSize"], rec["tensorParallelSize"], rec["totalGpus"], rec["nodeCount"]) == (
        2,
        8,
        16,
        2,
    )
    assert rec["head"]["gpus"] == 8 and rec["worker"] == {"gpus": 8, "replicas": 1}
    assert {p["pod"] for p in rec["placement"]} == {"head", "worker-0"}
    assert isinstance(data["alternatives"], list)
    # v0.15.0 sets GPUs itself: the patch carries only the sizes.
    assert data["inferenceServicePatch"] == {
        "spec": {"predictor": {"workerSpec": {"pipelineParallelSize": 2, "tensorParallelSize": 8}}}
    }


def test_yaml_output_is_the_json_document_with_the_plan_in_it() -> None:
    args = [
        "plan",
        "--nodes-file",
        MIXED,
        "--pods-file",
        MIXED_PODS,
        "--gpus",
        "8",
        "--kserve-version",
        "v0.16.0",
    ]
    code, as_json, _ = run(*args, "-o", "json")
    _, as_yaml, _ = run(*args, "-o", "yaml")
    doc = yaml.safe_load(as_yaml)
    assert doc == json.loads(as_json)
    assert code == 0
    assert (doc["kserveVersion"], doc["kserveEra"], doc["kserveVersionSource"], doc["gpuResource"]) == (
        "v0.16.0",
        "v0.16.0",
        "flag",
        "nvidia.com/gpu",
    )
    assert [(p["name"], p["nodes"], p["freeGpus"]) for p in doc["pools"]] == [
        ("NVIDIA-H100-80GB-HBM3-x8", 3, 16),
        ("NVIDIA-L40S-x4", 2, 7),
        ("NVIDIA-A10G-SHARED-x4", 1, 16),
    ]
    rec = doc["recommendation"]
    assert (rec["pool"], rec["pipelineParallelSize"], rec["tensorParallelSize"], rec["placement"]) == (
        "NVIDIA-H100-80GB-HBM3-x8",
        1,
        8,
        [{"pod": "head", "node": "h100-3", "gpus": 8}],
    )
    # The busy L40S pool (7 free of 8) comes after every H100 layout: its layouts do not fit now.
    assert [
        (a["pool"][:11], a["pipelineParallelSize"], a["tensorParallelSize"], a["fitsNow"])
        for a in doc["alternatives"]
    ] == [
        ("NVIDIA-H100", 2, 4, True),
        ("NVIDIA-H100", 4, 2, True),
        ("NVIDIA-H100", 8, 1, True),
        ("NVIDIA-L40S", 2, 4, False),
        ("NVIDIA-L40S", 4, 2, False),
        ("NVIDIA-L40S", 8, 1, False),
        ("NVIDIA-L40S", 1, 8, False),
    ]
    assert doc["rejected"] == [
        {
            "layout": "any",
            "pool": "NVIDIA-A10G-SHARED-x4",
            "reason": "time-sliced/shared GPUs are not separate tensor-parallel ranks",
        }
    ]
    assert doc["warnings"] == []
    gpus = {"limits": {"nvidia.com/gpu": "8"}, "requests": {"nvidia.com/gpu": "8"}}
    assert doc["inferenceServicePatch"] == {
        "spec": {
            "predictor": {
                "model": {"resources": gpus},
                "workerSpec": {
                    "pipelineParallelSize": 1,
                    "tensorParallelSize": 8,
                    "containers": [{"name": "worker-container", "resources": gpus}],
                },
            }
        }
    }


def test_pods_file_lowers_free_gpus_and_cordoned_node_is_not_used() -> None:
    code, out, _ = run("plan", "--nodes-file", MIXED, "--pods-file", MIXED_PODS, "--gpus", "8", "-o", "json")
    assert code == 0
    data = json.loads(out)
    h100 = next(p for p in data["pools"] if p["product"] == "NVIDIA-H100-80GB-HBM3")
    assert h100["freeGpus"] == 2 + 6 + 8
    assert "h100-4" in h100["unschedulableNodes"]
    assert data["recommendation"]["placement"] == [{"pod": "head", "node": "h100-3", "gpus": 8}]


def test_nothing_fits_exits_1() -> None:
    code, out, _ = run("plan", "--nodes-file", TWO_BY_EIGHT, "--gpus", "64", "--kserve-version", "v0.15.1")
    assert code == 1
    assert "No layout fits." in out


def test_malformed_nodes_file_is_a_one_line_input_error_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "nodes.yaml"
    bad.write_text("items: [\n  - {kind: Node\n")
    code, out, err = run("plan", "--nodes-file", str(bad), "--gpus", "8")
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and "malformed" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_missing_file_and_wrong_kind_are_input_errors(tmp_path: Path) -> None:
    code, _, err = run("plan", "--nodes-file", str(tmp_path / "nope.yaml"), "--gpus", "8")
    assert code == 2 and "cannot read" in err
    pods_as_nodes = tmp_path / "pods.yaml"
    pods_as_nodes.write_text(Path(MIXED_PODS).read_text())
    code, _, err = run("plan", "--nodes-file", str(pods_as_nodes), "--gpus", "8")
    assert code == 2 and "expected Node objects" in err


def test_bad_flags_are_usage_errors_with_exit_2() -> None:
    assert run("plan", "--nodes-file", TWO_BY_EIGHT, "--gpus", "0")[0] == 2
    assert run("plan", "--nodes-file", TWO_BY_EIGHT, "--gpus", "16", "--kserve-version", "banana")[0] == 2
    code, _, err = run("plan", "--nodes-file", TWO_BY_EIGHT)
    assert code == 2 and "--gpus" in err
    code, _, err = run("plan", "--pods-file", MIXED_PODS, "--gpus", "8")
    assert code == 2 and "--nodes-file" in err
    code, _, err = run("plan", "--nodes-file", TWO_BY_EIGHT, "--gpus", "16", "--tensor-parallel-size", "3")
    assert code == 2


def test_nodes_from_stdin() -> None:
    code, out, _ = run("plan", "--nodes-file", "-", "--gpus", "16", input=Path(TWO_BY_EIGHT).read_text())
    assert code == 0 and "PP=2 x TP=8" in out


def test_help_does_not_import_the_kubernetes_client() -> None:
    probe = (
        "import sys\n"
        "from kubectl_kserve_mn.cli import main\n"
        "try:\n    main(['plan', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('kubernetes' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_usage_text_says_kubectl_kserve_mn_when_run_as_a_plugin(tmp_path: Path) -> None:
    from kubectl_kserve_mn.cli import program_name

    assert program_name("/usr/local/bin/kubectl-kserve_mn") == "kubectl kserve-mn"
    assert program_name("kubectl-kserve_mn.exe") == "kubectl kserve-mn"


def test_two_pipeline_stages_on_one_node_say_so() -> None:
    # PP=2 x TP=1 on 8-GPU nodes: KServe makes 2 pods; best-fit places both on one node (issue 11, "Also")
    code, out, err = run(
        "plan",
        "--nodes-file",
        TWO_BY_EIGHT,
        "--gpus",
        "2",
        "--pipeline-parallel-size",
        "2",
        "--kserve-version",
        "v0.16.0",
    )
    assert code == 0, err
    assert "Recommended: PP=2 x TP=1 on NVIDIA-H100-80GB-HBM3-x8: 2 pods on 1 node, head 1 GPUs" in out
    code, out, err = run("plan", "--nodes-file", TWO_BY_EIGHT, "--gpus", "16", "--kserve-version", "v0.16.0")
    assert "Recommended: PP=2 x TP=8 on NVIDIA-H100-80GB-HBM3-x8: 2 pods on 2 nodes" in out
    assert "PP=4 x TP=4   NVIDIA-H100-80GB-HBM3-x8  4 pods on 2 nodes" in out


def test_one_gpu_is_planned_as_a_single_node_inferenceservice_without_workerspec() -> None:
    code, out, err = run("plan", "--nodes-file", TWO_BY_EIGHT, "--gpus", "1", "--kserve-version", "v0.16.0")
    assert code == 0, err
    assert "Put this in the InferenceService (single-node form)" in out
    assert "workerSpec:" not in out
    assert "single-node InferenceService (no workerSpec) is enough" in out
    code, out, _ = run(
        "plan", "--nodes-file", TWO_BY_EIGHT, "--gpus", "1", "--kserve-version", "v0.16.0", "-o", "json"
    )
    assert json.loads(out)["inferenceServicePatch"] == {
        "spec": {
            "predictor": {
                "model": {
                    "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}
                }
            }
        }
    }
