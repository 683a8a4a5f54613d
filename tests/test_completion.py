"""Shell completion's engine and protocol (cobra's ``__complete``), in-process.

The protocol is spf13/cobra's (completions.go): candidates one per line, ``value<TAB>description``,
then ``:<directive>`` with the ShellCompDirective bits. End-to-end runs through kubectl and the shells
are in test_completion_e2e.py."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from kubectl_kserve_mn.cli import COMMANDS
from kubectl_kserve_mn.cli import completion as comp
from kubectl_kserve_mn.cli.completion import Candidate, Completions, Directive, Line, complete
from kubectl_kserve_mn.cli.completion_scripts import script
from kubectl_kserve_mn.kserve import eras
from tests.conftest import _run_in_process
from tests.fakeapi import FakeKubeAPI, load_crd_fixture


def _values(result: Completions) -> list[str]:
    return [c.value for c in result.candidates]


def _no_cluster(line: Line) -> list[Candidate]:
    raise AssertionError("no cluster look-up expected")


OFFLINE = {**comp.SOURCES, "namespace": _no_cluster, "name": _no_cluster, "names": _no_cluster}


# --- the protocol ------------------------------------------------------------------------------------


def test_render_prints_value_tab_description_lines_then_the_directive() -> None:
    result = Completions(
        (Candidate("check", "Predict\nwhat KServe will do."), Candidate("fix"), Candidate("")),
        Directive.NO_FILE_COMP,
    )
    assert result.render() == "check\tPredict what KServe will do.\nfix\n:4\n"


def test_directive_bits_are_cobras_shell_comp_directive_values() -> None:
    # spf13/cobra completions.go: Error, NoSpace, NoFileComp, FilterFileExt, FilterDirs, KeepOrder = 1 << iota
    assert {d.name: int(d) for d in Directive.__members__.values()} == {
        "DEFAULT": 0,
        "ERROR": 1,
        "NO_SPACE": 2,
        "NO_FILE_COMP": 4,
        "FILTER_FILE_EXT": 8,
        "FILTER_DIRS": 16,
        "KEEP_ORDER": 32,
    }


def test_main_complete_command_keeps_every_word_including_double_dash_and_help() -> None:
    result = _run_in_process(["__complete", "check", "--he"])
    assert result.stdout == "--help\tShow this message and exit.\n:4\n"
    # After "--" a word is an argument, never a flag: `check -- --he` has no flag to offer.
    assert _run_in_process(["__complete", "check", "--", "--he"]).stdout == ":4\n"
    assert result.exit_code == 0 and result.stderr == ""


def test_kubectl_complete_entry_point_writes_bytes_with_unix_newlines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Stdout(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.buffer = io.BytesIO()

    out = Stdout()
    monkeypatch.setattr("sys.stdout", out)
    assert comp.kubectl_complete_main(["check", "--dry"]) == 0
    assert out.buffer.getvalue() == b":4\n"
    assert comp.kubectl_complete_main(["fix", "--dry"]) == 0
    second = out.buffer.getvalue()[len(b":4\n") :]
    assert second.startswith(b"--dry-run\tclient") and second.endswith(b".\n:4\n")
    assert b"\r" not in second and second.count(b"\n") == 2


def test_an_internal_failure_answers_the_error_directive_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(args: Any, sources: Any = None) -> Completions:
        raise RuntimeError("bug")

    monkeypatch.setattr(comp, "complete", broken)
    monkeypatch.delenv("KSERVE_MN_DEBUG", raising=False)
    result = _run_in_process(["__complete", "check", ""])
    assert (result.exit_code, result.stdout, result.stderr) == (0, ":1\n", "")


# --- commands and flags, from the click definitions ---------------------------------------------------


def test_top_level_completes_the_visible_commands_with_their_help_without_importing_them() -> None:
    result = complete([""], OFFLINE)
    assert _values(result) == [name for name in COMMANDS if not name.startswith("_")]
    assert "__complete" not in _values(result)
    assert result.candidates[0] == Candidate("plan", COMMANDS["plan"][1])
    assert result.directive == Directive.NO_FILE_COMP
    assert _values(complete(["c"], OFFLINE)) == ["check", "completion"]


def test_help_lists_completion_but_not_the_hidden_protocol_command() -> None:
    out = _run_in_process(["--help"]).stdout
    assert "  completion " in out
    assert "__complete" not in out


def test_flags_of_a_command_long_and_short_with_their_help() -> None:
    result = complete(["check", "-"], OFFLINE)
    values = _values(result)
    for flag in ("-A", "--all-namespaces", "-f", "--filename", "-o", "--output", "-n", "--namespace", "-h"):
        assert flag in values
    assert Candidate("-A", "Check InferenceServices in every namespace.") in result.candidates
    assert "--yes" not in values  # fix's flag, not check's
    assert result.directive == Directive.NO_FILE_COMP
    assert _values(complete(["fix", "--dr"], OFFLINE)) == ["--dry-run"]


def test_a_flag_already_given_is_not_offered_again_unless_it_repeats() -> None:
    values = _values(complete(["check", "-o", "json", "-f", "a.yaml", "--"], OFFLINE))
    assert "--output" not in values
    assert "--filename" in values  # multiple=True


def test_top_level_flags_before_the_command() -> None:
    # kubectl's connection flags are accepted before the command too, so they complete there.
    values = _values(complete(["--"], OFFLINE))
    assert values[0] == "--version" and values[-1] == "--help"
    assert {"--kubeconfig", "--context", "--namespace", "--server", "--as", "--tls-server-name"} <= set(
        values
    )
    assert "--output" not in values  # a command's own flag


def test_choice_values_for_output_per_command_and_dry_run() -> None:
    assert _values(complete(["plan", "-o", ""], OFFLINE)) == ["table", "wide", "json", "yaml"]
    assert _values(complete(["fix", "-o", ""], OFFLINE)) == ["diff", "yaml", "json", "patch"]
    assert _values(complete(["check", "--output", "y"], OFFLINE)) == ["yaml"]
    assert _values(complete(["fix", "--dry-run", "s"], OFFLINE)) == ["server"]
    assert _values(complete(["completion", ""], OFFLINE)) == ["bash", "zsh", "fish"]


@pytest.mark.parametrize(
    "words",
    [["check", "--output=j"], ["check", "-o=j"], ["check", "-oj"], ["check", "-A", "-o", "j"]],
    ids=["long-equals", "short-equals", "short-attached-is-a-flag-word", "after-a-flag"],
)
def test_value_forms(words: list[str]) -> None:
    result = complete(words, OFFLINE)
    if words[-1] == "-oj":  # like cobra: a word starting with "-" and no "=" completes flag names
        assert _values(result) == []
    else:
        assert _values(result) == ["json"]


def test_kserve_versions_are_auto_and_every_era_the_tool_knows() -> None:
    result = complete(["plan", "--kserve-version", ""], OFFLINE)
    assert _values(result) == ["auto"] + [eras.format_version(era.since) for era in eras.ERAS]
    assert _values(complete(["check", "--kserve-version", "v0.15"], OFFLINE)) == ["v0.15.0", "v0.15.1"]


def test_file_flags_ask_the_shell_for_file_names_and_other_values_for_nothing() -> None:
    for words in (
        ["check", "-f", ""],
        ["plan", "--nodes-file", ""],
        ["check", "--kubeconfig", ""],
        ["plan", "--model", ""],
    ):
        assert complete(words, OFFLINE) == Completions((), Directive.DEFAULT), words
    for words in (["plan", "--gpus", ""], ["plan", "--node-selector", ""], ["fix", "--gpu-memory", "8"]):
        assert complete(words, OFFLINE) == Completions((), Directive.NO_FILE_COMP), words
    # "-" after -f is stdin, not a flag word.
    assert complete(["check", "-f", "-"], OFFLINE).directive == Directive.DEFAULT


def test_commands_without_arguments_complete_nothing_and_unknown_commands_let_the_shell_decide() -> None:
    assert complete(["plan", ""], OFFLINE) == Completions((), Directive.NO_FILE_COMP)
    assert complete(["fix", "llama", ""], OFFLINE) == Completions((), Directive.NO_FILE_COMP)
    assert complete(["nope", ""], OFFLINE) == Completions((), Directive.DEFAULT)


def test_arguments_come_from_their_source_with_the_line_and_each_check_name_once() -> None:
    seen: list[Line] = []

    def names(line: Line) -> list[Candidate]:
        seen.append(line)
        return [Candidate("llama"), Candidate("mixtral"), Candidate("llmisvc/deepseek")]

    sources = {**OFFLINE, "name": names, "names": names}
    result = complete(["--version", "check", "-n", "team-b", "--context=prod", "llama", "m"], sources)
    assert _values(result) == ["mixtral"]
    assert seen[-1].command == "check"
    assert seen[-1].value("namespace") == "team-b" and seen[-1].value("context") == "prod"
    assert _values(complete(["fix", "-nteam-a", ""], sources)) == ["llama", "mixtral", "llmisvc/deepseek"]
    assert seen[-1].value("namespace") == "team-a"


def test_a_flag_given_twice_uses_the_last_value() -> None:
    seen: list[Line] = []
    sources = {**OFFLINE, "names": lambda line: seen.append(line) or []}
    complete(["check", "-n", "a", "--namespace", "b", ""], sources)
    assert seen[0].value("namespace") == "b"


# A command that exists only in this test: completion must follow its definition with no change.
@click.command("demo")
@click.argument("target", type=click.Path(file_okay=False))
@click.option("--mode", type=click.Choice(["fast", "safe"]))
@click.option("--input", "input_", type=click.File())
@click.option("-v", "--verbose", count=True)
@click.option("--label", multiple=True)
@click.option("--secret", hidden=True)
def _demo(**_: Any) -> None:
    pass


def test_a_new_command_and_its_flags_complete_from_the_definition_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(COMMANDS, "demo", ("tests.test_completion:_demo", "A demo."))
    assert Candidate("demo", "A demo.") in complete([""], OFFLINE).candidates
    assert _values(complete(["demo", "--"], OFFLINE)) == [
        "--mode",
        "--input",
        "--verbose",
        "--label",
        "--help",
    ]
    assert _values(complete(["demo", "-v", "-v", "--label", "x", "--la"], OFFLINE)) == ["--label"]
    assert _values(complete(["demo", "--mode", ""], OFFLINE)) == ["fast", "safe"]
    assert complete(["demo", "--input", ""], OFFLINE).directive == Directive.DEFAULT
    assert complete(["demo", ""], OFFLINE).directive == Directive.FILTER_DIRS
    assert complete(["demo", "--secret", "x", "dir", ""], OFFLINE).directive == Directive.NO_FILE_COMP


# --- the kubeconfig, read as YAML -----------------------------------------------------------------------


def _kubeconfig(path: Path, current: str, contexts: list[str], clusters: list[str], users: list[str]) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "contexts": [{"name": n, "context": {"cluster": clusters[0], "user": users[0]}} for n in contexts],
        "clusters": [{"name": n, "cluster": {"server": "https://127.0.0.1:1"}} for n in clusters],
        "users": [{"name": n, "user": {"token": "t0k3n-secret"}} for n in users],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def test_contexts_clusters_and_users_come_from_every_kubeconfig_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _kubeconfig(tmp_path / "a", "prod", ["prod", "arn:aws:eks:eu-west-1:1:cluster/x"], ["c1"], ["u1"])
    second = _kubeconfig(tmp_path / "b", "dev", ["dev", "prod"], ["c2"], ["u2"])
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    contexts = complete(["check", "--context", ""], OFFLINE)
    assert contexts.candidates == (
        Candidate("prod", "current context"),
        Candidate("arn:aws:eks:eu-west-1:1:cluster/x"),
        Candidate("dev"),
    )
    assert _values(complete(["plan", "--cluster", ""], OFFLINE)) == ["c1", "c2"]
    assert _values(complete(["fix", "--user", "u"], OFFLINE)) == ["u1", "u2"]
    # --kubeconfig on the line wins over $KUBECONFIG.
    assert _values(complete(["check", "--kubeconfig", str(second), "--context", ""], OFFLINE)) == [
        "dev",
        "prod",
    ]


def test_an_unreadable_kubeconfig_completes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad"
    bad.write_text("clusters: [unclosed\n")
    monkeypatch.setenv("KUBECONFIG", str(bad))
    assert complete(["check", "--context", ""], OFFLINE) == Completions((), Directive.NO_FILE_COMP)


# --- the cluster (fake API server, in-process) ----------------------------------------------------------


def _isvc(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"}}}},
    }


def _llmisvc(name: str, namespace: str, version: str = "v1alpha2") -> dict[str, Any]:
    return {
        "apiVersion": f"serving.kserve.io/{version}",
        "kind": "LLMInferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {},
    }


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """A generous deadline: these tests prove what is listed, not how fast (the machine may be busy)."""
    monkeypatch.setenv(comp.DEADLINE_ENV, "60")


@pytest.mark.usefixtures("patient")
def test_namespaces_and_names_come_from_the_cluster_of_the_kubeconfig_on_the_line(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(_isvc("llama", "team-a"), _isvc("mixtral", "team-b"))
    kc = ["--kubeconfig", str(kubeconfig)]
    assert _values(complete(["check", *kc, "-n", "team"])) == ["team-a", "team-b"]
    # The context's namespace (team-a) by default, -n on the line otherwise.
    assert _values(complete(["fix", *kc, ""])) == ["llama"]
    assert _values(complete(["check", *kc, "--namespace=team-b", ""])) == ["mixtral"]
    assert _values(complete(["plan", *kc, "-n", "team-b", "--isvc", ""])) == ["mixtral"]


@pytest.mark.usefixtures("patient")
def test_llminferenceservices_complete_as_llmisvc_names_from_v1alpha2(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.load_kserve_crds(llmisvc=True)
    fake_api.add(_isvc("llama", "team-a"), _llmisvc("deepseek", "team-a"))
    result = complete(["check", "--kubeconfig", str(kubeconfig), ""])
    assert result.candidates == (Candidate("llama"), Candidate("llmisvc/deepseek", "LLMInferenceService"))
    assert (
        fake_api.requests("GET", "/apis/serving.kserve.io/v1alpha1/namespaces/team-a/llminferenceservices")
        == []
    )
    # plan --isvc takes InferenceServices only.
    assert _values(complete(["plan", "--kubeconfig", str(kubeconfig), "--isvc", ""])) == ["llama"]


@pytest.mark.usefixtures("patient")
def test_llminferenceservices_fall_back_to_v1alpha1_when_v1alpha2_is_not_served(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.load_kserve_crds()
    crd = load_crd_fixture("master", "llminferenceservices")
    crd["spec"]["versions"] = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    crd["spec"]["versions"][0]["storage"] = True
    fake_api.add(crd, _llmisvc("deepseek", "team-a", "v1alpha1"))
    result = complete(["fix", "--kubeconfig", str(kubeconfig), "llm"])
    assert _values(result) == ["llmisvc/deepseek"]


@pytest.mark.usefixtures("patient")
def test_without_the_crds_or_with_a_403_the_other_names_still_complete(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(_isvc("llama", "team-a"))
    assert _values(complete(["check", "--kubeconfig", str(kubeconfig), ""])) == ["llama"]
    fake_api.fail("GET", "/apis/serving.kserve.io/v1beta1/", 403)
    fake_api.load_crd("master", "llminferenceservices")
    fake_api.add(_llmisvc("deepseek", "team-a"))
    assert _values(complete(["check", "--kubeconfig", str(kubeconfig), ""])) == ["llmisvc/deepseek"]


def test_no_kubeconfig_completes_no_names(tmp_path: Path) -> None:
    assert complete(["check", "-n", ""]) == Completions((), Directive.NO_FILE_COMP)
    missing = str(tmp_path / "nope")
    assert complete(["fix", "--kubeconfig", missing, ""]) == Completions((), Directive.NO_FILE_COMP)


def test_a_look_up_past_the_deadline_completes_nothing(
    fake_api: FakeKubeAPI, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(comp.DEADLINE_ENV, "0.5")
    fake_api.delay("GET", "/api/v1/namespaces", 30)
    assert complete(["check", "--kubeconfig", str(kubeconfig), "-n", ""]).candidates == ()
    fake_api.clear_faults()


@pytest.mark.parametrize(("text", "expected"), [("", 1.0), ("2.5", 2.5), ("0", 1.0), ("x", 1.0)])
def test_the_deadline_is_one_second_unless_the_environment_says_otherwise(
    text: str, expected: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(comp.DEADLINE_ENV, text)
    assert comp.lookup_deadline() == expected


# --- the scripts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_command_prints_a_script_that_calls_back_the_program(shell: str) -> None:
    result = _run_in_process(["completion", shell])
    assert result.exit_code == 0
    assert result.stdout == script(shell)
    assert "kubectl-kserve_mn __complete" in result.stdout or "__complete" in result.stdout
    assert "_kubectl_kserve_mn" in result.stdout


@pytest.mark.parametrize(
    ("shell", "check_syntax"),
    [("bash", ["bash", "-n"]), ("zsh", ["zsh", "-n"]), ("fish", ["fish", "--no-execute"])],
)
def test_completion_scripts_parse_in_their_shells(
    shell: str, check_syntax: list[str], tmp_path: Path
) -> None:
    if shutil.which(check_syntax[0]) is None:
        pytest.skip(f"{shell} is not installed")
    path = tmp_path / f"completion.{shell}"
    path.write_text(script(shell))
    proc = subprocess.run([*check_syntax, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_completion_command_refuses_another_shell_in_one_line() -> None:
    result = _run_in_process(["completion", "powershell"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith("error: Invalid value for '{bash|zsh|fish}'")


@pytest.mark.parametrize(
    ("words", "unwanted"),
    [
        ([""], ["kubernetes", "kubectl_kserve_mn.cli.check", "kubectl_kserve_mn.cluster", "yaml"]),
        (["check", "-o", ""], ["kubernetes", "kubectl_kserve_mn.cluster", "kubectl_kserve_mn.cli.plan"]),
        (["fix", "--context", ""], ["kubernetes", "kubectl_kserve_mn.cluster"]),
    ],
    ids=["commands", "flag-values", "kubeconfig-names"],
)
def test_completion_without_a_cluster_look_up_never_imports_the_kubernetes_client(
    words: list[str], unwanted: list[str]
) -> None:
    import subprocess
    import sys

    probe = (
        "import io, sys\n"
        "from kubectl_kserve_mn.cli.completion import kubectl_complete_main\n"
        "sys.stdout = io.StringIO()\n"
        f"kubectl_complete_main({words!r})\n"
        f"print([m for m in {unwanted!r} if m in sys.modules], file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert proc.stderr.strip() == "[]"


def test_with_debug_on_a_failed_look_up_says_why_on_stderr_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KSERVE_MN_DEBUG", "1")
    assert complete(["fix", "--kubeconfig", str(tmp_path / "nope"), ""]).candidates == ()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("kserve-mn completion: InputError: --kubeconfig ")


@pytest.mark.usefixtures("patient")
def test_the_context_on_the_line_chooses_the_cluster_and_its_namespace(
    fake_api: FakeKubeAPI, tmp_path: Path
) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(_isvc("llama", "team-a"), _isvc("mixtral", "team-b"))
    doc = fake_api.kubeconfig_dict()
    other = fake_api.kubeconfig_dict(context="other", namespace="team-b")
    doc["contexts"] += other["contexts"]
    path = tmp_path / "two-contexts"
    path.write_text(yaml.safe_dump(doc))
    kc = ["--kubeconfig", str(path)]
    assert _values(complete(["fix", *kc, ""])) == ["llama"]
    assert _values(complete(["fix", *kc, "--context", "other", ""])) == ["mixtral"]
    assert _values(complete(["fix", *kc, "--context=other", "-n", "team-a", ""])) == ["llama"]
    assert complete(["fix", *kc, "--context", "missing", ""]).candidates == ()
