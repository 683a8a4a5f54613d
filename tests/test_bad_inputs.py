"""Bad input, table-driven: each row is a command over a file of ``tests/bad_inputs/`` (or a bad flag), the
exit code it must end with and the text its one-line message must contain.

Every refusal must be one ``error:`` line on stderr naming the bad value (never a traceback, never exit 4
"internal error", never a silent pass), and nothing on stdout. The files say in their first line what is
wrong with them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, _run_in_process

BAD = Path(__file__).parent / "bad_inputs"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GOOD_NODES = str(EXAMPLES / "cluster-2x8-h100.yaml")


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    exit_code: int
    stderr: str
    """Text the message must contain (the bad value and where it is)."""


def plan_nodes(name: str) -> tuple[str, ...]:
    return ("plan", "--gpus", "16", "--kserve-version", "v0.16.0", "--nodes-file", str(BAD / name))


def plan_pods(name: str) -> tuple[str, ...]:
    return (
        "plan",
        "--gpus",
        "8",
        "--kserve-version",
        "v0.16.0",
        "--nodes-file",
        GOOD_NODES,
        "--pods-file",
        str(BAD / name),
    )


def check_file(name: str, *extra: str) -> tuple[str, ...]:
    return ("check", "-f", str(BAD / name), "--kserve-version", "v0.16.0", *extra)


def plan_flag(*flags: str) -> tuple[str, ...]:
    return ("plan", "--gpus", "16", "--kserve-version", "v0.16.0", "--nodes-file", GOOD_NODES, *flags)


def check_upgrade(*flags: str) -> tuple[str, ...]:
    return ("check", "-f", str(EXAMPLES / "isvc-tp16.yaml"), "--nodes-file", GOOD_NODES, *flags)


CASES = [
    # -- files that are not Kubernetes objects at all
    Case("empty file", plan_nodes("empty.yaml"), 2, "empty.yaml: holds no Node objects"),
    Case("--- only", plan_nodes("dashes-only.yaml"), 2, "dashes-only.yaml: holds no Node objects"),
    Case("list of strings", plan_nodes("not-objects.yaml"), 2, "item #1: expected a Kubernetes object"),
    Case("malformed YAML", plan_nodes("malformed.yaml"), 2, "malformed YAML (line 4, column"),
    Case("not UTF-8", plan_nodes("not-utf8.yaml"), 2, "not-utf8.yaml: not UTF-8 text"),
    Case("10,000 levels of JSON", plan_nodes("deep.json"), 2, "deep.json: nested too deeply"),
    Case("10,000 levels of YAML", plan_nodes("deep.yaml"), 2, "deep.yaml: nested too deeply"),
    Case("alias bomb", plan_nodes("alias-bomb.yaml"), 2, "alias-bomb.yaml: excessive aliasing"),
    Case("directory", plan_nodes(""), 2, "is a directory, not a file"),
    Case(
        "missing file", plan_nodes("no-such-file.yaml"), 2, "no-such-file.yaml: cannot read it: No such file"
    ),
    Case("wrong kind", plan_nodes("nodes-wrong-kind.yaml"), 2, "expected Node objects"),
    # -- Nodes with a field of the wrong type
    Case(
        "status a string",
        plan_nodes("nodes-status-string.yaml"),
        2,
        'Node gpu-h100-a: status: "Ready" is not a mapping',
    ),
    Case(
        "labels a list",
        plan_nodes("nodes-labels-list.yaml"),
        2,
        "Node gpu-h100-a: metadata.labels: a list is not a mapping",
    ),
    Case(
        "taints a string",
        plan_nodes("nodes-taints-string.yaml"),
        2,
        'Node gpu-h100-a: spec.taints: "nvidia.com/gpu=present:NoSchedule" is not a list',
    ),
    Case(
        "conditions a mapping",
        plan_nodes("nodes-conditions-mapping.yaml"),
        2,
        "Node gpu-h100-a: status.conditions: a mapping is not a list",
    ),
    Case(
        "allocatable a list",
        plan_nodes("nodes-allocatable-list.yaml"),
        2,
        "Node gpu-h100-a: status.allocatable: a list is not a mapping",
    ),
    Case("name null", plan_nodes("nodes-name-null.yaml"), 2, "Node #1: metadata.name: null is not a string"),
    Case(
        "name a number", plan_nodes("nodes-name-number.yaml"), 2, "Node #1: metadata.name: 42 is not a string"
    ),
    Case(
        "unschedulable a string",
        plan_nodes("nodes-unschedulable-string.yaml"),
        2,
        'Node gpu-h100-a: spec.unschedulable: "true" is not true or false',
    ),
    # -- GPU quantities
    Case(
        "GPUs abc",
        plan_nodes("nodes-gpu-abc.yaml"),
        2,
        'status.allocatable["nvidia.com/gpu"]: "abc" is not a Kubernetes quantity',
    ),
    Case(
        "GPUs -4",
        plan_nodes("nodes-gpu-negative.yaml"),
        2,
        'status.allocatable["nvidia.com/gpu"]: "-4" is negative',
    ),
    Case(
        "GPUs 8.5",
        plan_nodes("nodes-gpu-fraction.yaml"),
        2,
        'Node gpu-h100-a: status.allocatable["nvidia.com/gpu"]: "8.5" is not a whole number',
    ),
    Case(
        "GPUs 1e400",
        plan_nodes("nodes-gpu-huge.yaml"),
        2,
        'status.allocatable["nvidia.com/gpu"]: "1e400" is too large',
    ),
    Case(
        "GPUs 8.5 in JSON",
        plan_nodes("nodes-gpu-fraction.json"),
        2,
        'Node gpu-h100-a: status.allocatable["nvidia.com/gpu"]: "8.5" is not a whole number',
    ),
    Case(
        "status a string in JSON",
        plan_nodes("nodes-status-string.json"),
        2,
        'Node gpu-h100-a: status: "Ready" is not a mapping',
    ),
    Case(
        "Pods as Nodes in JSON",
        plan_nodes("pods-as-nodes.json"),
        2,
        "expected Node objects (the output of `kubectl get nodes -o yaml`), found Pod",
    ),
    Case("GPUs an integer 8", plan_nodes("nodes-gpu-integer.yaml"), 0, ""),
    Case(
        "duplicate node", plan_nodes("nodes-duplicate.yaml"), 2, "Node gpu-h100-a: appears twice (#1 and #2)"
    ),
    Case(
        "bad memory label",
        plan_nodes("nodes-memory-label-bad.yaml"),
        0,
        "warning: node gpu-h100-a: label nvidia.com/gpu.memory='80GB' is not a number",
    ),
    # -- Pods
    Case(
        "containers a string",
        plan_pods("pods-containers-string.yaml"),
        2,
        'Pod research/train: spec.containers: "t" is not a list',
    ),
    Case(
        "initContainers a mapping",
        plan_pods("pods-initcontainers-mapping.yaml"),
        2,
        "Pod research/train: spec.initContainers: a mapping is not a list",
    ),
    Case(
        "GPU request four",
        plan_pods("pods-request-bad.yaml"),
        2,
        'spec.containers[0].resources.requests["nvidia.com/gpu"]: "four" is not a Kubernetes quantity',
    ),
    Case(
        "GPU overhead 0.5",
        plan_pods("pods-overhead-bad.yaml"),
        2,
        'Pod research/train: spec.overhead["nvidia.com/gpu"]: "0.5" is not a whole number',
    ),
    Case("duplicate pod", plan_pods("pods-duplicate.yaml"), 2, "Pod research/train: appears twice"),
    Case(
        "pods without nodes",
        ("plan", "--gpus", "8", "--pods-file", str(BAD / "pods-duplicate.yaml")),
        2,
        "--pods-file needs --nodes-file",
    ),
    # -- InferenceServices in check -f: what the API server would refuse is refused, never "skipped"
    Case("check -f an empty file", check_file("empty.yaml"), 2, "empty.yaml: holds no Kubernetes objects"),
    Case(
        "workerSpec a list",
        check_file("isvc-workerspec-list.yaml"),
        2,
        'InferenceService team-a/llama: spec.predictor.workerSpec: a list: the API server would refuse it: Invalid value: "array": spec.predictor.workerSpec in body must be of type object: "array"',
    ),
    Case(
        "spec a string",
        check_file("isvc-spec-string.yaml"),
        2,
        'InferenceService team-a/llama: spec: "predictor": the API server would refuse it',
    ),
    Case(
        "predictor null",
        check_file("isvc-predictor-null.yaml"),
        2,
        "spec.predictor: null: the API server would refuse it: Required value",
    ),
    Case(
        "no name",
        check_file("isvc-no-name.yaml"),
        2,
        "InferenceService #1: metadata.name: missing: the API server would refuse it",
    ),
    Case(
        "unserved apiVersion",
        check_file("isvc-v1alpha1.yaml"),
        2,
        'no matches for kind "InferenceService" in version "serving.kserve.io/v1alpha1"',
    ),
    Case(
        "TP a string",
        check_file("isvc-tp-string.yaml"),
        2,
        'spec.predictor.workerSpec.tensorParallelSize: "eight": the API server would refuse it',
    ),
    Case("TP -2", check_file("isvc-tp-negative.yaml"), 1, ""),
    Case("TP misspelt", check_file("isvc-tp-typo.yaml"), 1, ""),
    Case(
        "duplicate InferenceService",
        check_file("isvc-duplicate.yaml"),
        2,
        "InferenceService team-a/llama: defined twice",
    ),
    Case(
        "-n contradicts the file",
        check_file("isvc-tp-negative.yaml", "-n", "other"),
        2,
        'the namespace from the provided object "team-a" does not match the namespace "other"',
    ),
    Case(
        "canary workerSpec on v0.20",
        ("check", "-f", str(BAD / "isvc-canary-workerspec.yaml"), "--kserve-version", "v0.20.0"),
        1,
        "",
    ),
    # -- flags
    Case("--kserve-version 0.15", plan_flag("--kserve-version", "0.15"), 2, "'0.15' is not a KServe release"),
    Case(
        "--kserve-version v0.15", plan_flag("--kserve-version", "v0.15"), 2, "'v0.15' is not a KServe release"
    ),
    Case(
        "--kserve-version newer",
        plan_flag("--kserve-version", "v0.99.0"),
        0,
        "warning: KServe v0.99.0 is newer than the newest rules this tool knows",
    ),
    Case(
        "--node-selector a=b=c",
        plan_flag("--node-selector", "a=b=c"),
        2,
        "--node-selector 'a=b=c': a label value must",
    ),
    Case(
        "--node-selector no =",
        plan_flag("--node-selector", "gpu"),
        2,
        "--node-selector 'gpu': expected key=value",
    ),
    Case(
        "--gpu-resource with a space",
        plan_flag("--gpu-resource", "foo bar"),
        2,
        "--gpu-resource 'foo bar' is not a resource name",
    ),
    Case(
        "--gpu-memory-utilization nan",
        plan_flag("--gpu-memory-utilization", "nan", "--model", "x"),
        2,
        "nan is not a number between 0 and 1",
    ),
    Case("--gpus 0", plan_flag("--gpus", "0"), 2, "0 is not in the range x>=1"),
    Case(
        "--upgrade-to v0.16",
        check_upgrade("--kserve-version", "v0.15.1", "--upgrade-to", "v0.16"),
        2,
        "--upgrade-to: 'v0.16' is not a KServe release",
    ),
    Case(
        "--upgrade-to older",
        check_upgrade("--kserve-version", "v0.16.0", "--upgrade-to", "v0.15.1"),
        2,
        "--upgrade-to v0.15.1 is older than the installed KServe v0.16.0",
    ),
    Case(
        "--upgrade-to offline without --kserve-version",
        check_upgrade("--upgrade-to", "v0.16.0"),
        2,
        "the installed KServe is assumed to be the newest known: give --kserve-version",
    ),
    Case("--upgrade-to empty", check_upgrade("--upgrade-to", " "), 2, "--upgrade-to is empty"),
]


def run(argv: tuple[str, ...]) -> CliResult:
    return _run_in_process(list(argv))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_one_line_naming_the_value_and_its_exit_code(case: Case) -> None:
    result = run(case.argv)
    assert result.exit_code == case.exit_code, result.stderr
    assert case.stderr in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if case.exit_code == 2:
        error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(error_lines) == 1, result.stderr
        assert result.stdout == ""


def test_the_table_covers_every_file_of_the_bad_inputs_directory() -> None:
    used = {Path(arg).name for case in CASES for arg in case.argv if arg.startswith(str(BAD))}
    files = {p.name for p in BAD.iterdir()}
    assert files <= used, f"files no case uses: {sorted(files - used)}"


def _check_json(*argv: str) -> dict[str, Any]:
    result = run((*argv, "-o", "json"))
    assert result.exit_code == 1, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_a_negative_tp_is_an_admission_error_with_nothing_derived_from_it() -> None:
    (item,) = _check_json(*check_file("isvc-tp-negative.yaml"))["items"]
    assert item["admission"]["allowed"] is False
    assert "TensorParallelSize cannot be less than 1(-2)" in item["admission"]["message"]
    assert item["layout"] is None
    assert [f["code"] for f in item["findings"]] == ["admission-rejected"]


def test_a_misspelt_field_is_an_error_finding_not_a_silent_pass() -> None:
    (item,) = _check_json(*check_file("isvc-tp-typo.yaml"))["items"]
    unknown = [f for f in item["findings"] if f["code"] == "unknown-field"]
    assert unknown and unknown[0]["severity"] == "error"
    assert "spec.predictor.workerSpec.tensorParalelSize" in unknown[0]["message"]


def test_a_canary_with_workerspec_is_checked_and_rejected_by_v020() -> None:
    (item,) = _check_json(
        "check", "-f", str(BAD / "isvc-canary-workerspec.yaml"), "--kserve-version", "v0.20.0"
    )["items"]
    assert item["admission"]["message"] == (
        'canary "next" must not set workerSpec (multi-node is not yet supported for canary)'
    )


def test_node_selector_commas_mean_several_pairs_as_in_kubectl() -> None:
    from kubectl_kserve_mn.cli.options import parse_node_selector

    assert parse_node_selector(("a=b,c=d",)) == {"a": "b", "c": "d"}
    assert parse_node_selector(("a=b", "c=d")) == {"a": "b", "c": "d"}


def _cli_subprocess(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run(
        [sys.executable, "-m", "kubectl_kserve_mn", *argv], env=env, check=False, timeout=120, **kwargs
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_output_that_cannot_be_written_is_one_line_and_exit_1_not_an_internal_error() -> None:
    with open("/dev/full", "w") as full:
        proc = _cli_subprocess(
            ["plan", "--gpus", "16", "--kserve-version", "v0.16.0", "--nodes-file", GOOD_NODES, "-o", "json"],
            stdout=full,
            stderr=subprocess.PIPE,
        )
    assert proc.returncode == 1
    assert proc.stderr.decode() == "error: cannot write the output: No space left on device\n"


def test_a_reader_that_stops_early_is_not_an_error() -> None:
    # `check -o json | head -1`: the pipe closes while we write; nothing on stderr, exit 0.
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubectl_kserve_mn",
            "plan",
            "--gpus",
            "16",
            "--kserve-version",
            "v0.16.0",
            "--nodes-file",
            str(BAD / "nodes-gpu-integer.yaml"),
            "-o",
            "yaml",
        ],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    os.close(write_end)
    os.close(read_end)  # the reader is gone before the first write
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert err.decode() == ""
