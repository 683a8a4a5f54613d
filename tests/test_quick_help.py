"""The top-level help printed without click (cli/quick_help.py, issue 12's start-up bar): byte for byte
what the click group prints, at every width and under every program name; click still prints every
other help, and whatever the fast path is not sure of."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kubectl_kserve_mn.cli import COMMANDS, app, main, program_name, quick_help
from kubectl_kserve_mn.cli.help_text import CONNECTION_FLAGS, MAX_HELP_WIDTH, help_width

REPO = Path(__file__).resolve().parent.parent

PROGRAM_NAMES = ["kubectl kserve-mn", "kubectl-kserve_mn", "python -m kubectl_kserve_mn"]
# the program name the help shows -> an argv[0] that gives it (cli/__init__.py program_name)
ARGV0 = {
    "kubectl kserve-mn": "/home/u/.krew/bin/kubectl-kserve_mn",
    "python -m kubectl_kserve_mn": "/repo/kubectl_kserve_mn/__main__.py",
}
TOP_LEVEL_HELP_ARGS = [[], ["-h"], ["--help"], ["help"]]
WIDTHS = range(50, MAX_HELP_WIDTH + 1)


def _click_help(
    args: list[str], prog: str, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch
) -> str:
    """What the click group prints for ``args`` in a process started with the current COLUMNS (the group
    takes its width once, at import: set here to what that process would have computed)."""
    mp.setitem(app.cli.context_settings, "terminal_width", help_width())
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        app.cli.main(args=list(args), prog_name=prog)
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("prog", PROGRAM_NAMES)
def test_quick_help_is_clicks_help_byte_for_byte_at_every_width(
    prog: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    unsure = []
    for columns in WIDTHS:
        monkeypatch.setenv("COLUMNS", str(columns))
        expected = _click_help(["--help"], prog, capsys, monkeypatch)
        fast = quick_help.top_level_help(prog, help_width())
        if fast is None:
            unsure.append(columns)
            continue
        assert fast + "\n" == expected, f"COLUMNS={columns}"
    # The one case left to click: the usage line does not fit beside `Usage: python -m kubectl_kserve_mn `
    # (35 columns + 20) at widths below 55 (COLUMNS 50..56), and click then puts the arguments below it.
    assert unsure == (list(range(50, 57)) if prog.startswith("python") else [])


def test_the_width_is_columns_else_80_when_not_a_terminal_and_at_most_the_maximum(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for columns in (None, "0", "abc", "20", str(MAX_HELP_WIDTH + 1), "500"):
        if columns is None:
            monkeypatch.delenv("COLUMNS", raising=False)
        else:
            monkeypatch.setenv("COLUMNS", columns)
        fast = quick_help.top_level_help("kubectl kserve-mn", help_width())
        assert fast is not None
        assert fast + "\n" == _click_help(["--help"], "kubectl kserve-mn", capsys, monkeypatch), columns


@pytest.mark.parametrize("args", TOP_LEVEL_HELP_ARGS, ids=["no-args", "-h", "--help", "help"])
@pytest.mark.parametrize("prog", list(ARGV0))
def test_no_command_h_help_and_the_help_command_all_print_clicks_top_level_help(
    args: list[str],
    prog: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys, "argv", [ARGV0[prog], *args])
    assert program_name() == prog
    expected = _click_help(args, prog, capsys, monkeypatch)
    assert expected == _click_help(["--help"], prog, capsys, monkeypatch)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 0
    assert capsys.readouterr().out == expected
    assert expected.startswith(f"Usage: {prog} [OPTIONS] [COMMAND] [ARGS]...\n")


def _probe(args: list[str], argv0: str, columns: str = "80") -> tuple[str, int, list[str]]:
    """main(args) in a fresh interpreter: (stdout, exit code, modules loaded)."""
    code = textwrap.dedent(
        f"""
        import sys
        sys.argv = [{argv0!r}, *{args!r}]
        from kubectl_kserve_mn.cli import main
        try:
            main({args!r})
        except SystemExit as exit_:
            code = exit_.code
        sys.stdout.flush()
        print("EXIT", code, file=sys.stderr)
        print("MODULES", " ".join(sorted(sys.modules)), file=sys.stderr)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": columns}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    exit_line, modules = proc.stderr.split("MODULES", 1)
    return proc.stdout, int(exit_line.split("EXIT")[1]), modules.split()


def _click_probe(args: list[str], prog: str, columns: str = "80") -> str:
    """The click group's output in a fresh interpreter, the fast path bypassed."""
    code = f"from kubectl_kserve_mn.cli.app import cli\ncli.main(args={args!r}, prog_name={prog!r})\n"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": columns}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return proc.stdout


@pytest.mark.parametrize("args", TOP_LEVEL_HELP_ARGS, ids=["no-args", "-h", "--help", "help"])
def test_top_level_help_never_imports_click_and_prints_what_click_prints(args: list[str]) -> None:
    out, code, modules = _probe(args, "kubectl-kserve_mn", columns="72")
    assert code == 0
    assert "click" not in modules and "kubectl_kserve_mn.cli.app" not in modules
    assert out == _click_probe(args, "kubectl kserve-mn", columns="72")


@pytest.mark.parametrize("args", [["plan", "--help"], ["help", "plan"], ["-n", "x", "--help"], ["--version"]])
def test_other_help_still_goes_through_click(args: list[str]) -> None:
    out, code, modules = _probe(args, "kubectl-kserve_mn")
    assert code == 0
    assert "click" in modules
    assert out == _click_probe(args, "kubectl kserve-mn")
    if "plan" in args:
        assert out.startswith("Usage: kubectl kserve-mn plan [OPTIONS]")


def test_a_program_name_too_long_for_the_usage_line_is_left_to_click(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv0 = "kubectl-" + "x" * 60
    monkeypatch.setattr(sys, "argv", [argv0, "--help"])
    assert quick_help.top_level_help(program_name(argv0), help_width()) is None
    expected = _click_help(["--help"], program_name(argv0), capsys, monkeypatch)
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == expected


def test_what_the_quick_help_cannot_lay_out_like_click_is_left_to_click(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def render() -> str | None:
        return quick_help.top_level_help("kubectl kserve-mn", 78)

    assert render() is not None
    # a word longer than its column: click and textwrap break it differently
    monkeypatch.setitem(COMMANDS, "plan", (COMMANDS["plan"][0], "x" * 70))
    assert render() is None
    monkeypatch.undo()
    # a flag whose help record would show more than its names and metavar (a default, a type)
    (decls, attrs), *rest = CONNECTION_FLAGS
    monkeypatch.setattr(quick_help, "CONNECTION_FLAGS", ((decls, {**attrs, "show_default": True}), *rest))
    assert render() is None
    monkeypatch.setattr(quick_help, "CONNECTION_FLAGS", ((decls, {"help": "no metavar"}), *rest))
    assert render() is None
    monkeypatch.undo()
    # a help text that inspect.cleandoc would change, or a tab click would expand
    monkeypatch.setattr(quick_help, "GROUP_HELP", "  Indented.\n  Help.")
    assert render() is None
    monkeypatch.setattr(quick_help, "GROUP_HELP", "Plan\tand check.")
    assert render() is None


def test_clicks_shell_completion_variable_still_reaches_click(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["kubectl-kserve_mn"])
    monkeypatch.setenv("_KUBECTL KSERVE_MN_COMPLETE", "bash_source")
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "_KUBECTL KSERVE_MN_COMPLETE=bash_complete" in out and "Usage:" not in out  # click's bash script


def _run_with_stdout(args: list[str], stdout: int) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubectl_kserve_mn", *args], stdout=stdout, stderr=subprocess.PIPE, env=env
    )
    _, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, b"", err)


@pytest.mark.parametrize("args", [*TOP_LEVEL_HELP_ARGS, ["version", "--client"]])
def test_a_reader_gone_before_the_help_is_written_is_not_an_error(args: list[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `kubectl kserve-mn --help | true`, the reader gone before the first write
    try:
        proc = _run_with_stdout(args, write_end)
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (0, b"")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", [["--help"], ["help"], ["version", "--client"]])
def test_help_that_cannot_be_written_is_the_groups_one_line_and_exit_1(args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        proc = _run_with_stdout(args, full.fileno())
    assert proc.returncode == 1
    assert proc.stderr.decode() == "error: cannot write the output: No space left on device\n"
