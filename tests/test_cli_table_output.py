"""The text output as a kubectl user drives it (issue 14 §3): ``-o wide``, ``-o name``, ``--no-headers``, and
the width the tables and paragraphs are laid out for (``COLUMNS``, a real terminal, a pipe)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubectl_kserve_mn.cli import cli
from tests.conftest import REPO

EXAMPLES = REPO / "examples"
CLUSTER = str(EXAMPLES / "cluster-2x8-h100.yaml")
TP16 = str(EXAMPLES / "isvc-tp16.yaml")
RUNTIME = str(EXAMPLES / "runtime-v0.15.1.yaml")
LLM_SAMPLES = REPO / "tests" / "fixtures" / "llmisvc" / "samples"
DEEPSEEK = str(LLM_SAMPLES / "llm-inference-service-dp-ep-deepseek-r1-gpu-naive.yaml")
QWEN_PD = str(LLM_SAMPLES / "llm-inference-service-pd-qwen2-7b-gpu.yaml")


def run(*args: str, columns: int | None = None) -> tuple[int, str, str]:
    env = {"COLUMNS": str(columns)} if columns is not None else {}
    result = CliRunner(env=env).invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def row(out: str, kind: str, name: str) -> list[str]:
    """The table row of ``kind`` ``name``, split on the runs of two or more spaces that separate columns."""
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == kind and name in cells[1:3]:
            return cells
    raise AssertionError(f"no row for {kind} {name} in:\n{out}")


# --- check -o wide | name, --no-headers -------------------------------------------------------------------


def test_check_wide_adds_runtime_gpu_resource_and_node_count() -> None:
    code, out, err = run(
        "check",
        "-f",
        TP16,
        "-f",
        RUNTIME,
        "--nodes-file",
        CLUSTER,
        "--kserve-version",
        "v0.15.1",
        "-o",
        "wide",
    )
    assert code == 0, err
    header = out.splitlines()[2].split()
    assert header[-5:] == ["VERDICT", "RUNTIME", "GPU", "RESOURCE", "NODES"]
    # TP=16 without GPU requests on v0.15.1: 16 one-GPU pods (RAY_NODE_COUNT=16)
    assert row(out, "InferenceService", "llama-tp16")[-3:] == [
        "kserve-huggingfaceserver-multinode",
        "nvidia.com/gpu",
        "16",
    ]
    assert row(out, "ClusterServingRuntime", "kserve-huggingfaceserver-multinode")[-3:] == ["-", "-", "-"]


def test_check_wide_shows_an_llminferenceservice_preset_and_leaderworkerset() -> None:
    code, out, err = run("check", "-f", DEEPSEEK, "--kserve-version", "v0.20.0", "-o", "wide")
    assert code == 0, err
    assert row(out, "LLMInferenceService", "deepseek-coder-v2")[-3:] == [
        "kserve-config-llm-worker-data-parallel",
        "nvidia.com/gpu",
        "LWS 1 x 2",
    ]
    code, out, err = run("check", "-f", QWEN_PD, "--kserve-version", "v0.20.0", "-o", "wide")
    assert code == 0, err
    assert row(out, "LLMInferenceService", "qwen2-7b-instruct-pd")[-3:] == [
        "kserve-config-llm-decode-template; prefill kserve-config-llm-prefill-template",
        "nvidia.com/gpu",
        "1; prefill 2",
    ]


def test_check_name_prints_kubectls_resource_names_and_keeps_checks_exit_code() -> None:
    args = ("check", "-f", TP16, "-f", RUNTIME, "--nodes-file", CLUSTER)
    code, out, err = run(*args, "--kserve-version", "v0.15.1", "-o", "name")
    assert code == 0, err
    assert out == (
        "inferenceservice.serving.kserve.io/llama-tp16\n"
        "clusterservingruntime.serving.kserve.io/kserve-huggingfaceserver-multinode\n"
    )
    # v0.15.0 rejects it: exit 1, as with -o table and -o json; nothing but names on stdout
    code, out, err = run(*args, "--kserve-version", "v0.15.0", "-o", "name")
    json_code, _, _ = run(*args, "--kserve-version", "v0.15.0", "-o", "json")
    assert code == json_code == 1
    assert all(line.endswith(".serving.kserve.io/" + line.rpartition("/")[2]) for line in out.splitlines())
    code, out, _ = run("check", "-f", DEEPSEEK, "--kserve-version", "v0.20.0", "-o", "name")
    assert (code, out) == (0, "llminferenceservice.serving.kserve.io/deepseek-coder-v2\n")


def test_check_no_headers_starts_with_the_first_row_and_keeps_the_findings() -> None:
    code, out, err = run(
        "check", "-f", TP16, "-f", RUNTIME, "--kserve-version", "v0.15.1", "--no-headers", "-o", "wide"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["InferenceService", "team-a", "llama-tp16"]
    assert lines[1].split()[0] == "ClusterServingRuntime"
    assert "KIND" not in out and "KServe:" not in out
    assert "  WARNING [no-gpu-requests]" in out


# --- plan -o wide, --no-headers -----------------------------------------------------------------------------


def test_plan_wide_places_the_pods_of_every_alternative_like_the_recommendations() -> None:
    code, out, err = run(
        "plan", "--nodes-file", CLUSTER, "--gpus", "16", "--kserve-version", "v0.15.1", "-o", "wide"
    )
    assert code == 0, err
    section = out.split("Placement of the alternatives:\n", 1)[1]
    titles = [line.strip() for line in section.splitlines() if line.startswith("  #")]
    assert titles == [
        "#2 PP=4 x TP=4 on NVIDIA-H100-80GB-HBM3-x8:",
        "#3 PP=8 x TP=2 on NVIDIA-H100-80GB-HBM3-x8:",
        "#4 PP=16 x TP=1 on NVIDIA-H100-80GB-HBM3-x8:",
        "#5 PP=1 x TP=16 on NVIDIA-H100-80GB-HBM3-x8:",
    ]
    pp4 = section.split("  #2 ", 1)[1].split("  #3 ", 1)[0].splitlines()[1:]
    assert [line.split() for line in pp4] == [
        ["POD", "NODE", "GPUS"],
        ["head", "gpu-h100-a", "4"],
        ["worker-0", "gpu-h100-a", "4"],
        ["worker-1", "gpu-h100-b", "4"],
        ["worker-2", "gpu-h100-b", "4"],
    ]
    pp16 = section.split("  #4 ", 1)[1].split("  #5 ", 1)[0]
    assert pp16.count("gpu-h100-a") == 8 and pp16.count("gpu-h100-b") == 8
    code, table, _ = run("plan", "--nodes-file", CLUSTER, "--gpus", "16", "--kserve-version", "v0.15.1")
    assert "Placement of the alternatives" not in table


def test_plan_wide_for_an_llminferenceservice_places_each_alternatives_pods() -> None:
    code, out, err = run("plan", "--kind", "llmisvc", "--gpus", "16", "--nodes-file", CLUSTER, "-o", "wide")
    assert code == 0, err
    section = out.split("Placement of the alternatives:\n", 1)[1]
    assert section.splitlines()[0].startswith("  #2 TP=")
    assert [line.split() for line in section.splitlines()[1:4]] == [
        ["POD", "NODE", "GPUS"],
        ["leader", "gpu-h100-a", "8"],
        ["worker-0", "gpu-h100-b", "8"],
    ]


def test_plan_no_headers_drops_the_first_line_and_every_header_row() -> None:
    code, out, err = run(
        "plan", "--nodes-file", CLUSTER, "--gpus", "16", "--kserve-version", "v0.15.1", "--no-headers"
    )
    assert code == 0, err
    assert out.splitlines()[0].split()[0] == "NVIDIA-H100-80GB-HBM3-x8"
    for header in ("KServe:", "POOL ", "NODE ", "POD ", "LAYOUT"):
        assert header not in out
    assert "Recommended: PP=2 x TP=8" in out
    placement = out.split("Recommended: ", 1)[1].splitlines()[1:3]
    assert [line.split() for line in placement] == [
        ["head", "gpu-h100-a", "8"],
        ["worker-0", "gpu-h100-b", "8"],
    ]


# --- widths -------------------------------------------------------------------------------------------------


def paragraph_lines(out: str) -> list[str]:
    """The wrapped lines of check's findings and notes (not the table rows)."""
    tail = out.split("\n\n", 2)[2]
    return [line for line in tail.splitlines() if line]


CHECK = ("check", "-f", TP16, "-f", RUNTIME, "--nodes-file", CLUSTER, "--kserve-version", "v0.15.1")


@pytest.mark.parametrize("columns", [60, 80, 150])
def test_check_paragraphs_wrap_at_columns(columns: int) -> None:
    code, out, err = run(*CHECK, columns=columns)
    assert code == 0, err
    lines = paragraph_lines(out)
    assert max(len(line) for line in lines) <= columns
    assert max(len(line) for line in lines) > columns - 15  # filled, not just short
    assert "      -> kubectl kserve-mn fix llama-tp16 -n team-a" in lines


def test_check_paragraphs_in_a_pipe_keep_the_110_column_width() -> None:
    _, out, _ = run(*CHECK)
    lines = paragraph_lines(out)
    assert 100 < max(len(line) for line in lines) <= 110


def test_a_columns_value_that_is_no_width_is_ignored_and_a_tiny_one_is_raised_to_40() -> None:
    _, piped, _ = run(*CHECK)
    assert run(*CHECK, columns=0)[1] == piped
    _, narrow, _ = run(*CHECK, columns=10)
    assert max(len(line) for line in paragraph_lines(narrow)) <= 40


PLAN = ("plan", "--nodes-file", CLUSTER, "--gpus", "16", "--kserve-version", "v0.15.1")


def test_plan_alternatives_notes_wrap_on_a_terminal_width_and_stay_one_line_in_a_pipe() -> None:
    _, piped, _ = run(*PLAN)
    (long_row,) = [line for line in piped.splitlines() if line.startswith("  5    PP=1 x TP=16")]
    assert len(long_row) > 160
    _, wrapped, _ = run(*PLAN, columns=140)
    alternatives = wrapped.split("Alternatives:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert max(len(line) for line in alternatives) <= 140
    assert len(alternatives) > 5  # the last row's NOTES continue on lines of their own
    notes_column = alternatives[0].index("NOTES")
    continuation = alternatives[-1]
    assert continuation[:notes_column].strip() == "" and continuation[notes_column:].strip()


def test_plan_recommendation_notes_wrap_under_their_text(tmp_path: Path) -> None:
    gb200 = str(EXAMPLES / "cluster-gb200-cliques.yaml")
    _, piped, _ = run("plan", "--nodes-file", gb200, "--tensor-parallel-size", "16")
    (note,) = [line for line in piped.splitlines() if line.startswith("  interconnect: ")]
    assert len(note) > 100
    _, out, _ = run("plan", "--nodes-file", gb200, "--tensor-parallel-size", "16", columns=70)
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  interconnect: "))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * len("  interconnect: ")):
            break
        block.append(line)
    assert len(block) > 1 and max(len(line) for line in block) <= 70
    assert " ".join(part.strip() for part in block) == note.strip()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_on_a_real_terminal_without_columns_the_terminal_width_is_used(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 72, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update({"PYTHONPATH": str(REPO), "HOME": str(tmp_path), "TERM": "xterm"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubectl_kserve_mn", *CHECK],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    assert proc.stderr is not None
    proc.stderr.close()
    os.close(master)
    out = b"".join(chunks).decode().replace("\r\n", "\n")
    assert proc.returncode == 0, out
    lines = paragraph_lines(out)
    assert max(len(line) for line in lines) <= 72
    assert max(len(line) for line in lines) > 60


def test_json_output_is_the_same_whatever_the_width() -> None:
    _, narrow, _ = run(*CHECK, "-o", "json", columns=50)
    _, piped, _ = run(*CHECK, "-o", "json")
    assert json.loads(narrow) == json.loads(piped)
