"""The interconnect through the commands (issue 13 §3): `plan` and `check` against the fake HTTPS API
server with labelled nodes (GPU Feature Discovery's nvidia.com/gpu.clique, NFD's RDMA labels, an RDMA
device resource), and offline on the examples/ files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from kubectl_kserve_mn.cli import cli
from tests.conftest import CliResult
from tests.fakeapi import FakeKubeAPI
from tests.fixture_files import kserve_runtime, load_kind
from tests.nodes import controller_deployment, gpu_pod

ROOT = Path(__file__).resolve().parent.parent
GB200 = str(ROOT / "examples" / "cluster-gb200-cliques.yaml")
H100_RDMA = str(ROOT / "examples" / "cluster-2x8-h100-rdma.yaml")
ISVC_GB200 = str(ROOT / "examples" / "isvc-gb200-tp8.yaml")
RUNTIME = str(ROOT / "examples" / "runtime-v0.15.1.yaml")
CLIQUE = "nvidia.com/gpu.clique"
CLIQUE_A = "7b968a6d-c8aa-45e1-9e07-e1e51be99c31.1"
CLIQUE_B = "c2f3a9e0-5d1b-4c6e-8f7a-2b9d0e4c6a18.1"

Run = Callable[..., CliResult]


def offline(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def cluster(fake_api: FakeKubeAPI, nodes_file: str, *objects: dict[str, Any]) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(*load_kind(nodes_file, "Node"))
    fake_api.add(controller_deployment("kserve/kserve-controller:v0.15.1"), kserve_runtime("v0.15.1"))
    fake_api.add(*objects)


def gb200_isvc() -> dict[str, Any]:
    (obj,) = yaml.safe_load_all(Path(ISVC_GB200).read_text())
    return dict(obj)


# --- plan ------------------------------------------------------------------------------------------


def test_plan_on_a_live_gb200_cluster_keeps_tp8_in_one_clique_and_reports_the_interconnect(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    cluster(fake_api, GB200)
    result = run_cli("plan", "--tensor-parallel-size", "8", "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kserveVersion"] == "v0.15.1"
    rec = data["recommendation"]
    assert (rec["pipelineParallelSize"], rec["tensorParallelSize"], rec["crossNodeTensorParallel"]) == (
        1,
        8,
        True,
    )
    assert rec["nvlinkClique"] == CLIQUE_A
    assert [p["node"] for p in rec["placement"]] == ["gb200-r1-t1", "gb200-r1-t2"]
    assert any("IMEX channel" in note for note in rec["interconnect"])
    (pool,) = data["pools"]
    links = pool["interconnect"]
    assert [(c["id"], c["nodes"]) for c in links["nvlinkClique"]] == [
        (CLIQUE_A, ["gb200-r1-t1", "gb200-r1-t2"]),
        (CLIQUE_B, ["gb200-r2-t1", "gb200-r2-t2"]),
    ]
    assert links["rdma"] is True and links["source"]["nvlinkClique"] == CLIQUE
    assert data["inferenceServicePatch"]["spec"]["predictor"]["nodeSelector"] == {CLIQUE: CLIQUE_A}
    assert {n["name"]: n["interconnect"]["nvlinkClique"] for n in data["nodes"]}["gb200-r2-t1"] == CLIQUE_B


def test_plan_on_a_live_cluster_moves_to_the_clique_that_has_free_gpus(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    cluster(fake_api, GB200, gpu_pod("train", "gb200-r1-t1", 4, namespace="research"))
    result = run_cli("plan", "--tensor-parallel-size", "8")
    assert result.exit_code == 0, result.stderr
    assert "Recommended: PP=1 x TP=8 on NVIDIA-GB200-x4" in result.stdout
    assert f"inside NVLink clique {CLIQUE_B}" in result.stdout
    assert f"{CLIQUE}: {CLIQUE_B}" in result.stdout  # the nodeSelector in the snippet


def test_plan_table_shows_each_pools_interconnect_and_the_nodes_cliques() -> None:
    code, out, err = offline(
        "plan", "--nodes-file", GB200, "--tensor-parallel-size", "8", "--kserve-version", "v0.15.1"
    )
    assert code == 0, err
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("POOL") and "NVLINK CLIQUES" in line)
    row = lines[header + 1]
    assert row.startswith("NVIDIA-GB200-x4") and "NVLink (NVIDIA-GB200)" in row
    assert (
        f"2 from {CLIQUE}" in row and "label feature.node.kubernetes.io/rdma.available on every node" in row
    )
    node_header = next(line for line in lines if line.startswith("NODE"))
    assert "CLIQUE" in node_header and "RDMA" in node_header
    assert any(line.startswith("gb200-r2-t2") and CLIQUE_B in line for line in lines)
    assert any(
        line.startswith("  interconnect: tensor parallelism spans 2 pods inside NVLink clique")
        for line in lines
    )
    assert "      nodeSelector:" in out and f"nvidia.com/gpu.clique: {CLIQUE_A}" in out


def test_plan_on_the_rdma_example_names_the_device_resource() -> None:
    code, out, err = offline(
        "plan", "--nodes-file", H100_RDMA, "--gpus", "16", "--kserve-version", "v0.15.1", "-o", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    (pool,) = data["pools"]
    assert pool["interconnect"]["rdmaResources"] == ["rdma/rdma_shared_device_a"]
    assert pool["interconnect"]["nvlinkClique"] == [] and pool["interconnect"]["gpuLink"] == "nvlink"
    rec = data["recommendation"]
    assert (rec["pipelineParallelSize"], rec["tensorParallelSize"], rec["nvlinkClique"]) == (2, 8, None)
    assert rec["interconnect"] == [
        "pipeline stages cross nodes: request rdma/rdma_shared_device_a in the head and worker containers "
        "(listed in the serving.kserve.io/gpu-resource-types annotation, which KServe's webhook requires for "
        "any extended resource it does not know) so NCCL uses RDMA"
    ]


def test_the_seed_plan_is_unchanged_and_says_tp16_would_run_over_tcp() -> None:
    seed = str(ROOT / "examples" / "cluster-2x8-h100.yaml")
    code, out, err = offline(
        "plan", "--nodes-file", seed, "--gpus", "16", "--kserve-version", "v0.15.1", "-o", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    rec = data["recommendation"]
    assert (rec["pipelineParallelSize"], rec["tensorParallelSize"], rec["interconnect"]) == (2, 8, [])
    assert "nodeSelector" not in data["inferenceServicePatch"]["spec"]["predictor"]
    cross = next(a for a in data["alternatives"] if a["crossNodeTensorParallel"])
    assert "no RDMA found" in cross["interconnect"][0]


# --- check -----------------------------------------------------------------------------------------


def test_check_on_a_live_gb200_cluster_warns_that_tp_can_cross_cliques(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    cluster(fake_api, GB200, gb200_isvc(), gpu_pod("train", "gb200-r1-t2", 2, namespace="research"))
    result = run_cli("check", "llama-gb200", "-n", "team-a", "-o", "json")
    assert result.exit_code == 0, result.stderr  # a warning
    (report,) = [i for i in json.loads(result.stdout)["items"] if i["kind"] == "InferenceService"]
    (finding,) = report["findings"]
    assert (finding["code"], finding["severity"]) == ("tp-spans-interconnect", "warning")
    assert "2 cliques" in finding["message"]
    # Clique A has a GPU-holding pod on one tray: the free clique is the one to pin.
    assert f"nodeSelector {CLIQUE}: {CLIQUE_B}" in finding["suggestion"]


def test_check_on_a_live_cluster_is_clean_once_the_clique_is_pinned(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    obj = gb200_isvc()
    obj["spec"]["predictor"]["nodeSelector"] = {CLIQUE: CLIQUE_A}
    obj["spec"]["predictor"]["workerSpec"]["nodeSelector"] = {CLIQUE: CLIQUE_A}
    cluster(fake_api, GB200, obj)
    result = run_cli("check", "llama-gb200", "-n", "team-a", "-o", "json")
    assert result.exit_code == 0, result.stderr
    (report,) = [i for i in json.loads(result.stdout)["items"] if i["kind"] == "InferenceService"]
    assert report["findings"] == []


def test_check_example_file_offline_reports_the_finding_in_the_table() -> None:
    code, out, err = offline(
        "check", "-f", ISVC_GB200, "-f", RUNTIME, "--nodes-file", GB200, "--kserve-version", "v0.15.1"
    )
    assert code == 0, err
    assert (
        "WARNING [tp-spans-interconnect] tensor parallelism (TP=8) spans the head and 1 worker pod(s)" in out
    )
    assert "WARN (1 warning)" in out


def test_check_offline_on_rdma_nodes_asks_for_the_rdma_device(tmp_path: Path) -> None:
    obj = gb200_isvc()
    for resources in (
        obj["spec"]["predictor"]["model"]["resources"],
        obj["spec"]["predictor"]["workerSpec"]["containers"][0]["resources"],
    ):
        resources["limits"]["nvidia.com/gpu"] = resources["requests"]["nvidia.com/gpu"] = "8"
    obj["spec"]["predictor"]["workerSpec"]["tensorParallelSize"] = 16
    path = tmp_path / "isvc.yaml"
    path.write_text(yaml.safe_dump(obj))
    code, out, err = offline(
        "check", "-f", str(path), "--nodes-file", H100_RDMA, "--kserve-version", "v0.15.1", "-o", "json"
    )
    assert code == 0, err
    (report,) = [i for i in json.loads(out)["items"] if i["kind"] == "InferenceService"]
    (finding,) = report["findings"]
    assert finding["code"] == "tp-spans-interconnect"
    assert "the pods do not request it" in finding["message"]
    assert finding["suggestion"].startswith(
        "request rdma/rdma_shared_device_a in the head and worker containers"
    )
