"""kubectl's habits at the command line: global flags before or after the command, the help, the exit-code
block of every command's help, one-line kubeconfig errors, and the progress line on terminals."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CliResult, _run_in_process
from tests.fakeapi import FakeKubeAPI
from tests.fixture_files import load_kind
from tests.nodes import controller_deployment

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_NODES = REPO / "examples" / "cluster-2x8-h100.yaml"


def run(*args: str) -> CliResult:
    return _run_in_process(list(args))


def _kserve_cluster(fake_api: FakeKubeAPI) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(*load_kind(str(EXAMPLE_NODES), "Node"))
    fake_api.add(controller_deployment("kserve/kserve-controller:v0.15.1"))


def _isvc_list_paths(fake_api: FakeKubeAPI) -> list[str]:
    return [r.path for r in fake_api.requests("GET") if r.path.endswith("/inferenceservices")]


# -- flags before or after the command -------------------------------------------------------------------


def test_namespace_before_the_command_is_used(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    _kserve_cluster(fake_api)
    result = run("--kubeconfig", str(kubeconfig), "-n", "team-b", "check")
    assert result.exit_code == 0, result.stderr
    assert _isvc_list_paths(fake_api) == [
        "/apis/serving.kserve.io/v1beta1/namespaces/team-b/inferenceservices"
    ]


def test_a_flag_given_before_and_after_the_command_takes_the_one_after(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    _kserve_cluster(fake_api)
    result = run(
        "-n",
        "team-b",
        "--kubeconfig",
        "/nonexistent",
        "check",
        "-n",
        "team-c",
        "--kubeconfig",
        str(kubeconfig),
    )
    assert result.exit_code == 0, result.stderr
    assert _isvc_list_paths(fake_api) == [
        "/apis/serving.kserve.io/v1beta1/namespaces/team-c/inferenceservices"
    ]


def test_context_before_the_command_selects_the_context(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    good = fake_api.kubeconfig_dict(context="good", user="good-user", namespace="team-g")
    bad = fake_api.kubeconfig_dict(context="bad", user="bad-user", token="wrong-token-123456")
    config = {
        **good,
        "current-context": "bad",
        "contexts": bad["contexts"] + good["contexts"],
        "users": bad["users"] + good["users"],
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    _kserve_cluster(fake_api)
    assert run("--kubeconfig", str(path), "check").exit_code == 3  # the current context's token is wrong
    result = run("--kubeconfig", str(path), "--context", "good", "check")
    assert result.exit_code == 0, result.stderr
    assert (
        _isvc_list_paths(fake_api)[-1]
        == "/apis/serving.kserve.io/v1beta1/namespaces/team-g/inferenceservices"
    )


def test_server_token_and_ca_flags_work_without_a_kubeconfig(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    _kserve_cluster(fake_api)
    ca = tmp_path / "ca.pem"
    fake_api.ca.cert_pem.write_to_path(str(ca))
    result = run(
        "--server", fake_api.url, "--token", fake_api.token, "--certificate-authority", str(ca),
        "plan", "--gpus", "16", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["recommendation"]["tensorParallelSize"] == 8
    assert fake_api.token not in result.stderr


def test_impersonation_flags_reach_the_api_server(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    _kserve_cluster(fake_api)
    result = run(
        "--as",
        "jane",
        "--as-group",
        "devs",
        "plan",
        "--gpus",
        "16",
        "--kubeconfig",
        str(kubeconfig),
        "--as-group",
        "ops",
    )
    assert result.exit_code == 0, result.stderr
    calls = fake_api.requests("GET")
    assert {tuple(c.header_values("Impersonate-User")) for c in calls} == {("jane",)}
    # --as-group after the command replaces the groups given before it, like any other flag.
    assert {tuple(c.header_values("Impersonate-Group")) for c in calls} == {("ops",)}


def test_insecure_skip_tls_verify_says_so_once_on_stderr(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    import trustme

    _kserve_cluster(fake_api)
    path = fake_api.write_kubeconfig(tmp_path / "config", ca_pem=trustme.CA().cert_pem.bytes())
    assert run("plan", "--gpus", "16", "--kubeconfig", str(path)).exit_code == 3
    for flag in ("--insecure-skip-tls-verify", "--insecure-skip-tls-verify=true"):
        result = run(flag, "plan", "--gpus", "16", "--kubeconfig", str(path), "-o", "json")
        assert result.exit_code == 0, result.stderr
        warnings = [line for line in result.stderr.splitlines() if "not checked" in line]
        assert len(warnings) == 1 and warnings[0].startswith("warning: ")
        assert "InsecureRequestWarning" not in result.stderr
    result = run(
        "--insecure-skip-tls-verify",
        "plan",
        "--gpus",
        "16",
        "--kubeconfig",
        str(path),
        "--insecure-skip-tls-verify=false",
    )
    assert result.exit_code == 3  # =false after the command turns it off again
    assert run("plan", "--insecure-skip-tls-verify=maybe").exit_code == 2


# -- help ----------------------------------------------------------------------------------------------------


def test_no_arguments_prints_the_help_and_exits_0() -> None:
    result = run()
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    assert (
        len(result.stdout.splitlines()) > 20
        and "Commands:" in result.stdout
        and "Exit codes:" in result.stdout
    )
    assert result.stderr == ""


def test_help_command_prints_the_tools_or_a_commands_help() -> None:
    assert run("help").stdout == run("--help").stdout
    plan_help = run("help", "plan")
    assert plan_help.exit_code == 0
    assert plan_help.stdout == run("plan", "--help").stdout
    unknown = run("help", "nope")
    assert unknown.exit_code == 2 and 'unknown command "nope"' in unknown.stderr


@pytest.mark.parametrize("command", ["plan", "check", "fix", "version"])
def test_every_commands_help_states_the_exit_codes_the_same_way(command: str) -> None:
    text = run(command, "--help").stdout
    block = text[text.index("Exit codes:") :].splitlines()
    codes = [
        line.split()[0]
        for line in block[1:]
        if line.strip() and line.startswith("    ") and line.split()[0].isdigit()
    ]
    assert codes == ["0", "1", "2", "3", "4"]
    assert "2  usage or input error: a bad flag, an unreadable or malformed file or kubeconfig" in text
    assert "4  internal error (a bug: please report it; KSERVE_MN_DEBUG=1 prints the traceback)" in text
    assert "Connection options:" in text and "the one after the command wins" in text


# -- one-line errors ---------------------------------------------------------------------------------------------


def test_fix_without_a_kubeconfig_does_not_suggest_nodes_file() -> None:
    fix = run("fix", "llama")
    assert fix.exit_code == 2
    assert "no kubeconfig found" in fix.stderr and "--nodes-file" not in fix.stderr
    plan = run("plan", "--gpus", "16")
    assert plan.exit_code == 2 and "--nodes-file" in plan.stderr


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("plain-text", "plain text, not a kubeconfig"),
        ("directory", "is a directory, not a kubeconfig file"),
        ("timeout", "out of range"),
        ("bad-port", "the port is not a number"),
    ],
)
def test_bad_connection_input_is_one_line_and_exit_2(tmp_path: Path, setup: str, message: str) -> None:
    args = ["plan", "--gpus", "16"]
    if setup == "plain-text":
        (tmp_path / "config").write_text("hello there\n")
        args += ["--kubeconfig", str(tmp_path / "config")]
    elif setup == "directory":
        args += ["--kubeconfig", str(tmp_path)]
    elif setup == "timeout":
        args += ["--server", "https://127.0.0.1:1", "--request-timeout", "99999999999999s"]
    else:
        args += ["--server", "https://127.0.0.1:99999"]
    result = run(*args)
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


# -- the progress line --------------------------------------------------------------------------------------------


def _read_all(fds: dict[int, bytearray], proc: subprocess.Popen[bytes]) -> None:
    """Drain the pty masters until the process has ended and they are closed (a pty's buffer is small)."""
    open_fds = set(fds)
    while open_fds:
        readable, _, _ = select.select(list(open_fds), [], [], 0.1)
        for fd in readable:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its side
                data = b""
            if data:
                fds[fd].extend(data)
            else:
                open_fds.discard(fd)
        if not readable and proc.poll() is not None:
            return


def _run_on_ttys(args: list[str], *, stdout_tty: bool, stderr_tty: bool, home: Path) -> tuple[int, str, str]:
    """Run the CLI with stdout and/or stderr on their own pseudo-terminals."""
    import pty

    masters: dict[int, bytearray] = {}
    streams: dict[str, Any] = {}
    slaves: list[int] = []
    for name, tty in (("stdout", stdout_tty), ("stderr", stderr_tty)):
        if tty:
            master, slave = pty.openpty()
            masters[master] = bytearray()
            streams[name] = slave
            slaves.append(slave)
            streams[name + "_master"] = master
        else:
            streams[name] = subprocess.PIPE
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home), "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubectl_kserve_mn", *args],
        stdin=subprocess.DEVNULL,
        stdout=streams["stdout"],
        stderr=streams["stderr"],
        env=env,
    )
    for slave in slaves:
        os.close(slave)
    piped: dict[str, bytes] = {}
    if masters:
        _read_all(masters, proc)
    for name in ("stdout", "stderr"):
        if streams[name] is subprocess.PIPE:
            stream = getattr(proc, name)
            piped[name] = stream.read()
            stream.close()
    proc.wait(timeout=120)
    out = piped.get("stdout", bytes(masters.get(streams.get("stdout_master", -1), b"")))
    err = piped.get("stderr", bytes(masters.get(streams.get("stderr_master", -1), b"")))
    for master in masters:
        os.close(master)
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@pytest.fixture
def slow_cluster(fake_api: FakeKubeAPI) -> FakeKubeAPI:
    """The example nodes plus 1,200 pods, each page of pods answered after 0.7 s (reading takes > 1 s)."""
    _kserve_cluster(fake_api)
    pods = []
    for i in range(1200):
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"p-{i:04d}", "namespace": "team-a"},
                "spec": {"nodeName": "gpu-h100-a", "containers": [{"name": "c", "image": "x"}]},
                "status": {"phase": "Running"},
            }
        )
    fake_api.add_all(pods)
    fake_api.delay("GET", "/api/v1/pods", 0.7)
    return fake_api


@posix_only
def test_progress_line_on_a_terminal_is_drawn_on_stderr_and_cleared(
    slow_cluster: FakeKubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    code, out, err = _run_on_ttys(
        ["plan", "--gpus", "16", "--kubeconfig", str(kubeconfig)],
        stdout_tty=True,
        stderr_tty=True,
        home=tmp_path,
    )
    assert code == 0, err
    assert "listing " in err and "pods: " in err
    assert "pods: 1,000" in err or "pods: 500" in err  # the running count, between pages
    assert "\r" in err
    assert err.split("\r")[-1].strip() == ""  # the last thing written to the line clears it
    assert "listing" not in out and "Recommended: PP=2 x TP=8" in out


@posix_only
@pytest.mark.parametrize(
    ("stdout_tty", "stderr_tty", "extra"),
    [(False, True, []), (True, False, []), (True, True, ["-o", "json"])],
    ids=["stdout-piped", "stderr-piped", "json-output"],
)
def test_no_progress_line_when_output_is_not_for_a_person_on_a_terminal(
    slow_cluster: FakeKubeAPI,
    kubeconfig: Path,
    tmp_path: Path,
    stdout_tty: bool,
    stderr_tty: bool,
    extra: list[str],
) -> None:
    code, out, err = _run_on_ttys(
        ["plan", "--gpus", "16", "--kubeconfig", str(kubeconfig), *extra],
        stdout_tty=stdout_tty,
        stderr_tty=stderr_tty,
        home=tmp_path,
    )
    assert code == 0, err
    assert "listing" not in err and "listing" not in out
    assert "\r" not in err


# -- start-up --------------------------------------------------------------------------------------------


def _loaded_modules(args: list[str], tmp_path: Path) -> tuple[str, list[str]]:
    probe = (
        "import sys, io, contextlib\n"
        "from kubectl_kserve_mn.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        f"        main({args!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(out.getvalue(), end='')\n"
        "print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    modules = proc.stderr.split("MODULES", 1)[1].split()
    return proc.stdout, modules


def test_version_client_prints_what_the_version_command_prints_without_importing_click(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from kubectl_kserve_mn.cli import cli

    fast, modules = _loaded_modules(["version", "--client"], tmp_path)
    assert "click" not in modules and "kubectl_kserve_mn.cli.app" not in modules
    assert fast == CliRunner().invoke(cli, ["version", "--client"]).stdout
    assert fast.startswith("Plugin Version: v")


def test_help_imports_neither_the_cluster_package_nor_yaml_nor_shutil(tmp_path: Path) -> None:
    text, modules = _loaded_modules(["--help"], tmp_path)
    assert text.startswith("Usage: ")
    loaded = {m.split(".")[0] for m in modules} | set(modules)
    for heavy in ("kubectl_kserve_mn.cluster", "yaml", "tabulate", "json", "shutil", "msgspec", "kubernetes"):
        assert heavy not in loaded, heavy
