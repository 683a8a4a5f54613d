"""``check -l/--selector`` and ``check -f DIR [-R]`` (issue 14 §3): offline through click's runner, and on a
cluster through our HTTPS client against the fake API server, whose request log shows the ``labelSelector``
each list was sent with."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kubectl_kserve_mn.cli import cli
from tests.conftest import CliResult
from tests.fakeapi import FakeKubeAPI
from tests.fixture_files import kserve_runtime
from tests.llmisvc_objects import llmisvc, pod
from tests.nodes import controller_deployment, gpu_node

GPU = "nvidia.com/gpu"
ISVCS = "/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices"
ISVCS_ALL = "/apis/serving.kserve.io/v1beta1/inferenceservices"
LLMS = "/apis/serving.kserve.io/v1alpha2/namespaces/team-a/llminferenceservices"
TRIMMED = Path(__file__).parent / "fixtures" / "crds" / "trimmed"

Run = Callable[..., CliResult]


def isvc(name: str, namespace: str | None = "team-a", labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A v0.15.1-style multi-node InferenceService with 8 GPUs per pod (PP=2 x TP=8: 2 pods)."""
    gpus = {"requests": {GPU: "8"}, "limits": {GPU: "8"}}
    meta: dict[str, Any] = {
        "name": name,
        "annotations": {
            "serving.kserve.io/deploymentMode": "RawDeployment",
            "serving.kserve.io/autoscalerClass": "none",
        },
    }
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": meta,
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "storageUri": "pvc://m/llama",
                    "resources": gpus,
                },
                "workerSpec": {
                    "tensorParallelSize": 8,
                    "pipelineParallelSize": 2,
                    "containers": [{"name": "worker-container", "resources": gpus}],
                },
            }
        },
    }


def write(path: Path, *objects: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(objects))
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["check", *args])
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(*args, "-o", "json")
    assert out, err
    return code, json.loads(out), err


def names(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["kind"], item["name"]) for item in doc["items"]]


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    """A GitOps tree: the runtime at the top, one team per directory, files KServe does not care about."""
    root = tmp_path / "deploy"
    runtime = kserve_runtime("v0.15.1")
    write(root / "runtime.yaml", runtime)
    write(root / "team-a" / "llama.yaml", isvc("llama-a", labels={"team": "a", "tier": "gpu"}))
    write(root / "team-b" / "llama.yml", isvc("llama-b", "team-b", labels={"team": "b", "tier": "gpu"}))
    (root / "team-b" / "llama.json").write_text(
        json.dumps(isvc("llama-c", "team-b", labels={"team": "b", "tier": "cpu"}))
    )
    (root / "team-b" / "notes.txt").write_text("not read")
    (root / "team-b" / "empty.yaml").write_text("# nothing yet\n")
    return root


@pytest.fixture(autouse=True)
def _offline_never_connects(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    if "fake_api" in request.fixturenames:
        return

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("check -f tried to reach a cluster")

    monkeypatch.setattr("kubectl_kserve_mn.cli.check_gather.connect", refuse)


# --- -f DIR and -R ----------------------------------------------------------------------------------------


def test_f_dir_reads_only_its_own_files_and_r_walks_the_subdirectories_in_kubectl_order(gitops: Path) -> None:
    code, doc, err = run_json("-f", str(gitops), "--kserve-version", "v0.15.1")
    assert code == 0, err
    assert names(doc) == [("ClusterServingRuntime", "kserve-huggingfaceserver-multinode")]
    code, doc, err = run_json("-f", str(gitops), "-R", "--kserve-version", "v0.15.1")
    assert code == 0, err
    # team-a/llama.yaml, then team-b/llama.json before team-b/llama.yml; empty.yaml and notes.txt add nothing
    assert names(doc) == [
        ("InferenceService", "llama-a"),
        ("InferenceService", "llama-c"),
        ("InferenceService", "llama-b"),
        ("ClusterServingRuntime", "kserve-huggingfaceserver-multinode"),
    ]
    assert [i["namespace"] for i in doc["items"][:3]] == ["team-a", "team-b", "team-b"]


def test_a_file_named_on_the_command_line_is_read_whatever_its_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "isvc.txt", isvc("llama-a"))
    code, doc, err = run_json("-f", str(path), "--kserve-version", "v0.15.1")
    assert code == 0, err
    assert names(doc) == [("InferenceService", "llama-a")]


def test_f_of_a_directory_without_files_to_read_is_one_line_and_exit_2(gitops: Path, tmp_path: Path) -> None:
    """Even after a directory that had some (kubectl complains only when no -f path so far gave a file)."""
    (empty := tmp_path / "empty").mkdir()
    (empty / "README.md").write_text("docs")
    code, out, err = run("-f", str(gitops), "-f", str(empty), "--kserve-version", "v0.15.1")
    assert (code, out) == (2, "")
    assert err == (
        f"error: {empty}: no .json, .yaml or .yml file in this directory (the files kubectl reads from a "
        "directory)\n"
    )


def test_a_directory_whose_files_hold_no_objects_is_refused_but_an_empty_file_inside_one_is_skipped(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yaml").write_text("---\n")
    (tmp_path / "b.json").write_text("")
    code, out, err = run("-f", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == f"error: {tmp_path}: its .json, .yaml and .yml files hold no Kubernetes objects\n"
    code, _, err = run("-f", str(tmp_path / "a.yaml"))
    assert code == 2
    assert err == f"error: {tmp_path / 'a.yaml'}: holds no Kubernetes objects (an empty file?)\n"


def test_the_same_object_in_two_files_of_a_directory_is_refused_as_before(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", isvc("llama"))
    write(tmp_path / "b.yaml", isvc("llama"))
    code, _, err = run("-f", str(tmp_path))
    assert code == 2
    assert "defined twice" in err and str(tmp_path / "a.yaml") in err


# --- -l on files --------------------------------------------------------------------------------------------


def test_l_keeps_the_file_objects_whose_labels_match_and_still_resolves_their_runtime(gitops: Path) -> None:
    code, doc, err = run_json(
        "-f", str(gitops), "-R", "-l", "team=b,tier in (gpu)", "--kserve-version", "v0.15.1"
    )
    assert code == 0, err
    assert names(doc) == [("InferenceService", "llama-b")]
    (item,) = doc["items"]
    # the file's runtime does not match -l, yet it is the one llama-b uses (no "assumed the shipped one" note)
    assert item["runtime"] == "ClusterServingRuntime/kserve-huggingfaceserver-multinode"
    assert not any("is not in the files" in note for note in doc["notes"])
    assert (
        "-l team=b,tier in (gpu): 3 InferenceService(s), LLMInferenceService(s) or runtime(s) in the files do not "
        "match and are not checked"
    ) in doc["notes"]


def test_l_with_set_based_and_negative_requirements_on_files(gitops: Path) -> None:
    _, doc, _ = run_json(
        "-f", str(gitops), "-R", "-l", "team notin (a),!missing", "--kserve-version", "v0.15.1"
    )
    # the runtime has no team label: notin and ! match objects without the label
    assert names(doc) == [
        ("InferenceService", "llama-c"),
        ("InferenceService", "llama-b"),
        ("ClusterServingRuntime", "kserve-huggingfaceserver-multinode"),
    ]
    _, doc, _ = run_json("-f", str(gitops), "-R", "-l", "!team", "--kserve-version", "v0.15.1")
    assert names(doc) == [("ClusterServingRuntime", "kserve-huggingfaceserver-multinode")]


def test_l_that_matches_nothing_in_the_files_says_so_and_exits_0(gitops: Path) -> None:
    code, out, err = run("-f", str(gitops), "-R", "-l", "team=z", "--kserve-version", "v0.15.1")
    assert code == 0, err
    assert (
        "note: no multi-node InferenceService, LLMInferenceService or runtime matching -l team=z found in the files"
        in out
    )


def test_l_filters_llminferenceservices_from_files_too(tmp_path: Path) -> None:
    chosen = llmisvc(
        "chosen", parallelism={"tensor": 8, "data": 2, "dataLocal": 1}, template=pod(8), worker=pod(8)
    )
    other = llmisvc("other", parallelism={"tensor": 8}, template=pod(8))
    chosen["metadata"]["labels"] = {"app": "llm"}
    path = write(tmp_path / "llm.yaml", chosen, other)
    code, doc, err = run_json("-f", str(path), "-l", "app=llm", "--kserve-version", "v0.20.0")
    assert code == 0, err
    assert names(doc) == [("LLMInferenceService", "chosen")]


def test_a_malformed_selector_is_one_line_in_kubectl_words_and_exit_2_before_any_file_is_read(
    tmp_path: Path,
) -> None:
    code, out, err = run("-f", str(tmp_path / "missing.yaml"), "-l", "team in (a b)")
    assert (code, out) == (2, "")
    assert err == (
        "error: the provided selector \"team in (a b)\" is not valid: unable to parse requirement: found 'b', "
        "expected: ',' or ')'\n"
    )
    code, _, err = run("-f", str(tmp_path / "missing.yaml"), "-l", "tier=gpu_")
    assert code == 2
    assert err.startswith(
        'error: the provided selector "tier=gpu_" is not valid: unable to parse requirement: values[0][tier]: '
        'Invalid value: "gpu_": a valid label must be an empty string or consist of alphanumeric characters'
    )
    assert "'MyValue',  or 'my_value',  or '12345'" in err  # apimachinery's spacing, kept
    assert err.count("\n") == 1


def test_a_name_and_a_selector_together_are_refused(gitops: Path) -> None:
    code, out, err = run("llama-a", "-f", str(gitops), "-R", "-l", "team=a")
    assert (code, out) == (2, "")
    assert err == "error: a name cannot be combined with -l/--selector: the selector chooses the objects\n"


def test_a_blank_selector_selects_everything_as_in_kubectl(gitops: Path) -> None:
    _, doc, _ = run_json("-f", str(gitops), "-R", "-l", "  ", "--kserve-version", "v0.15.1")
    assert len(doc["items"]) == 4


# --- -l on a cluster ------------------------------------------------------------------------------------------


def install(fake_api: FakeKubeAPI, *objects: dict[str, Any], llm: bool = False) -> None:
    fake_api.load_kserve_crds("master")
    if llm:
        fake_api.load_crd("llmisvc/v0.20.0", "llminferenceservices")
        fake_api.add(
            yaml.safe_load(
                (TRIMMED / "serving.kserve.io_llminferenceserviceconfigs.v0.20.0.yaml").read_text()
            )
        )
        fake_api.add(yaml.safe_load((TRIMMED / "leaderworkerset.x-k8s.io_leaderworkersets.yaml").read_text()))
    fake_api.add(controller_deployment("kserve/kserve-controller:v0.20.0"), kserve_runtime("v0.20.0"))
    fake_api.add(gpu_node("gpu-0"), gpu_node("gpu-1"))
    fake_api.add(*objects)


def selectors_sent(fake_api: FakeKubeAPI, path: str) -> list[str | None]:
    return [r.param("labelSelector") for r in fake_api.requests("GET", path) if r.path == path]


def test_l_is_sent_as_the_label_selector_of_the_inferenceservice_and_llminferenceservice_lists(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    llm = llmisvc(
        "chat", parallelism={"tensor": 8, "data": 2, "dataLocal": 1}, template=pod(8), worker=pod(8)
    )
    llm["metadata"]["labels"] = {"team": "a"}
    install(
        fake_api,
        isvc("llama-a", labels={"team": "a"}),
        isvc("llama-b", labels={"team": "b"}),
        isvc("unlabelled"),
        llm,
        llmisvc("other", parallelism={"tensor": 8}, template=pod(8)),
        llm=True,
    )
    result = run_cli("check", "-n", "team-a", "-l", "team in (a, z)", "-o", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [(i["kind"], i["name"]) for i in doc["items"] if i["kind"] != "ClusterServingRuntime"] == [
        ("InferenceService", "llama-a"),
        ("LLMInferenceService", "chat"),
    ]
    # exactly what was typed, once per list (kubectl sends the string unchanged)
    assert selectors_sent(fake_api, ISVCS) == ["team in (a, z)"]
    assert selectors_sent(fake_api, LLMS) == ["team in (a, z)"]
    # the runtimes the objects use are read whole: -l chooses what is checked, not what it is checked against
    runtimes = fake_api.requests("GET", "/apis/serving.kserve.io/v1alpha1/clusterservingruntimes")
    assert runtimes and all(r.param("labelSelector") is None for r in runtimes)


def test_l_with_all_namespaces_is_one_cluster_wide_list_with_the_selector(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    install(
        fake_api,
        isvc("llama-a", labels={"tier": "gpu"}),
        isvc("llama-b", "team-b", labels={"tier": "gpu"}),
        isvc("llama-c", "team-b", labels={"tier": "cpu"}),
    )
    result = run_cli("check", "-A", "-l", "tier=gpu", "-o", "name")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "inferenceservice.serving.kserve.io/llama-a",
        "inferenceservice.serving.kserve.io/llama-b",
    ]
    assert selectors_sent(fake_api, ISVCS_ALL) == ["tier=gpu"]


def test_l_matching_nothing_on_the_cluster_says_so(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, isvc("llama-a", labels={"team": "a"}))
    result = run_cli("check", "-n", "team-a", "-l", "team=z")
    assert result.exit_code == 0, result.stderr
    assert "note: no multi-node InferenceService matching -l team=z found" in result.stdout


def test_a_malformed_selector_sends_no_request(fake_api: FakeKubeAPI, run_cli: Run) -> None:
    install(fake_api, isvc("llama-a"))
    fake_api.clear_log()
    result = run_cli("check", "-l", "a,,b")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: the provided selector \"a,,b\" is not valid: found ',', expected: identifier after ','\n"
    )
    assert fake_api.requests() == []


# --- completion ---------------------------------------------------------------------------------------------


def test_the_new_flags_and_output_formats_complete_from_the_click_definitions() -> None:
    from kubectl_kserve_mn.cli.completion import Directive, complete

    flags = [c.value for c in complete(["check", "-"], {}).candidates]
    for flag in ("-l", "--selector", "-R", "--recursive", "--no-headers"):
        assert flag in flags
    assert "--no-headers" in [c.value for c in complete(["plan", "--no-h"], {}).candidates]
    formats = complete(["check", "-o", ""], {})
    assert [c.value for c in formats.candidates] == ["table", "wide", "name", "json", "yaml"]
    # -f takes files and directories from the shell; a selector is typed, never a file name
    assert complete(["check", "-f", ""], {}).directive == Directive.DEFAULT
    assert complete(["check", "-l", ""], {}).directive == Directive.NO_FILE_COMP
