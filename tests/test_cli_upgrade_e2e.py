"""`check --upgrade-to` end to end: a cluster running one KServe release (detected from the controller image, as
on a real cluster), every multi-node object judged under that release and under the target, side by side.

Fixtures: KServe's real CRDs and the kserve-huggingfaceserver-multinode ClusterServingRuntime each release installs
(tests/fixtures/kserve/runtimes, provenance in the README beside them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import CliResult
from tests.fakeapi import FakeKubeAPI
from tests.fixture_files import kserve_runtime as runtime
from tests.test_cli_check_e2e import install, item, seed
from tests.test_cli_rollout_e2e import seed_pods

Run = Callable[..., CliResult]
ISVCS = "/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def upgrade_json(run_cli: Run, *args: str) -> tuple[CliResult, dict[str, Any]]:
    result = run_cli("check", "-n", "team-a", *args, "-o", "json")
    assert result.stdout, result.stderr
    return result, json.loads(result.stdout)


def test_v0150_cluster_upgraded_to_v0151_breaks_and_its_pods_multiply(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(fake_api, "v0.15.0", seed("v0.15.0", pp=2, tp=8))
    result, doc = upgrade_json(run_cli, "--upgrade-to", "v0.15.1")
    assert result.exit_code == 1  # something breaks; under v0.15.0 alone the object is fine
    assert (doc["kserveVersion"], doc["upgradeFrom"], doc["upgradeTo"]) == ("v0.15.0", "v0.15.0", "v0.15.1")
    isvc = item(doc, "team-a", "llama")
    assert [f for f in isvc["findings"] if f["severity"] == "error"] == []
    up = isvc["upgrade"]
    assert (up["from"], up["to"], up["verdict"]) == ("v0.15.0", "v0.15.1", "breaks")
    assert up["admission"] == {
        "allowed": False,
        "message": "the InferenceService \"llama\" is invalid: Multinode only supports 'none' autoscaler(external)",
    }
    assert (up["installed"]["layout"]["nodeCount"], up["layout"]["nodeCount"]) == (2, 16)
    assert (up["layout"]["head"]["gpus"], up["layout"]["worker"]["gpus"]) == (1, 1)
    assert (up["installed"]["fitsNow"], up["fitsNow"]) == (True, True)
    assert up["fixFirst"].startswith("annotation serving.kserve.io/autoscalerClass: 'external' -> 'none'")
    [csr] = [i for i in doc["items"] if i["kind"] == "ClusterServingRuntime"]
    assert csr["upgrade"]["verdict"] == "unchanged"
    assert csr["upgrade"]["notes"] == [
        "KServe v0.15.1 re-installs its own kserve-huggingfaceserver-multinode"
    ]

    table = run_cli("check", "-n", "team-a", "--upgrade-to", "v0.15.1")
    assert table.exit_code == 1
    lines = table.stdout.splitlines()
    start = lines.index("Upgrade KServe v0.15.0 -> v0.15.1:")
    assert lines[start + 1].split() == [
        "KIND",
        "NAMESPACE",
        "NAME",
        "UPGRADE",
        "ADMISSION",
        "LAYOUT",
        "FITS",
        "NOW",
    ]
    assert lines[start + 2].split()[:5] == ["InferenceService", "team-a", "llama", "breaks", "rejected"]
    assert "InferenceService team-a/llama: breaks (v0.15.0 -> v0.15.1)" in lines


def test_a_working_object_is_unchanged_from_v0151_to_v0160(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, "v0.15.1", seed("v0.15.1", pp=2, tp=8, gpus=8))
    result, doc = upgrade_json(run_cli, "--upgrade-to", "v0.16.0")
    assert result.exit_code == 0, result.stderr
    up = item(doc, "team-a", "llama")["upgrade"]
    assert (up["verdict"], up["differences"], up["fixFirst"]) == ("unchanged", [], "nothing to change")
    assert up["layout"] == up["installed"]["layout"]
    assert up["fitsNow"] is True


def test_predictor_model_name_breaks_on_v0160_and_the_hazard_finding_moves_into_the_report(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    obj = seed("v0.15.1", pp=2, tp=8, gpus=8)
    obj["spec"]["predictor"]["model"]["name"] = "kserve-container"
    install(fake_api, "v0.15.1", obj)
    _, plain = upgrade_json(run_cli)
    assert [f["code"] for f in item(plain, "team-a", "llama")["findings"]] == ["upgrade-hazard"]
    result, doc = upgrade_json(run_cli, "--upgrade-to", "v0.16.0")
    assert result.exit_code == 1
    isvc = item(doc, "team-a", "llama")
    assert isvc["findings"] == []
    assert isvc["upgrade"]["verdict"] == "breaks"
    assert isvc["upgrade"]["admission"]["message"] == "the 'name' field is not allowed in standard predictor"


def test_an_older_target_is_refused_before_the_objects_are_read(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, "v0.15.1", seed("v0.15.1", pp=2, tp=8, gpus=8))
    result = run_cli("check", "-n", "team-a", "--upgrade-to", "v0.15.0")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --upgrade-to v0.15.0 is older than the installed KServe v0.15.1")
    assert fake_api.requests("GET", ISVCS) == []


def test_files_are_judged_under_both_releases_offline(tmp_path: Path, run_cli: Run) -> None:
    obj = yaml.safe_load((EXAMPLES / "isvc-tp16.yaml").read_text())
    obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "external"
    path = tmp_path / "isvc.yaml"
    path.write_text(yaml.safe_dump(obj))
    args = ("-f", str(path), "--nodes-file", str(EXAMPLES / "cluster-2x8-h100.yaml"))
    result = run_cli("check", *args, "--kserve-version", "v0.15.0", "--upgrade-to", "v0.16.0", "-o", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert "upgradeTo" in doc and doc["upgradeTo"] == "v0.16.0"
    [isvc] = [i for i in doc["items"] if i["kind"] == "InferenceService"]
    up = isvc["upgrade"]
    assert up["verdict"] == "breaks"
    assert up["installed"]["layout"]["pipelineParallelSize"] == 2  # v0.15.0's shipped runtime: PP=2
    assert up["layout"]["pipelineParallelSize"] == 1  # the runtime v0.16.0 installs: PP=1
    assert up["fitsNow"] is None  # no --pods-file: the GPUs in use are unknown


def test_pods_the_upgraded_controller_changes_roll_and_need_a_second_set_of_gpus(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    mp_runtime = runtime("v0.15.1")
    mp_runtime["kind"] = "ServingRuntime"
    mp_runtime["metadata"] = {"name": "vllm-mp", "namespace": "team-a"}
    mp_runtime["spec"].setdefault("annotations", {})["multinode/executor-backend"] = "mp"
    obj = seed("v0.15.1", pp=2, tp=8)
    obj["spec"]["predictor"]["model"]["runtime"] = "vllm-mp"
    install(fake_api, "v0.15.1", obj)
    fake_api.add(mp_runtime, *seed_pods())  # v0.15.1 ignores the mp annotation: 16 one-GPU Ray pods run
    result, doc = upgrade_json(run_cli, "--upgrade-to", "v0.18.0")
    assert result.exit_code == 1
    up = item(doc, "team-a", "llama")["upgrade"]
    assert (up["installed"]["layout"]["backend"], up["layout"]["backend"]) == ("ray", "mp")
    assert up["verdict"] == "breaks"
    rollout = up["rollout"]
    assert (rollout["strategy"], rollout["extraGpus"], rollout["freeGpus"], rollout["fits"]) == (
        "RollingUpdate",
        2,
        0,
        False,
    )
    assert rollout["source"] == "pods"
