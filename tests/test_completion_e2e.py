"""Shell completion end to end: through the real kubectl, and through bash, zsh and fish.

kubectl 1.26+ completes a plugin by running ``kubectl_complete-<plugin>`` from PATH with the plugin's
words (kubernetes/kubernetes staging/src/k8s.io/kubectl/pkg/cmd/plugin/plugin_completion.go); the
shells run the scripts of ``kubectl-kserve_mn completion SHELL``, which call ``kubectl-kserve_mn
__complete``. The executables on PATH are wrappers that run the console-script entry points declared
in setup.cfg, as pip installs them, against the fake API server.
"""

from __future__ import annotations

import configparser
import os
import pty
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kubectl_kserve_mn.cli.completion import DEADLINE_ENV
from tests.fakeapi import FakeKubeAPI

REPO = Path(__file__).resolve().parent.parent
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX shell wrappers and pseudo-terminals")

# A bound on waiting, not a timing assertion: a completion that waited for a silent server (60 s)
# instead of giving up after its one-second deadline fails here.
HANG = 30


def _console_scripts() -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    lines = parser["options.entry_points"]["console_scripts"].strip().splitlines()
    entries = [line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#")]
    return {name.strip(): target.strip() for name, target in entries}


def test_pip_installs_the_kubectl_completion_executable_and_the_plugin() -> None:
    assert _console_scripts() == {
        "kubectl-kserve_mn": "kubectl_kserve_mn.cli:main",
        "kubectl_complete-kserve_mn": "kubectl_kserve_mn.cli.completion:kubectl_complete_main",
    }


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """kubectl-kserve_mn and kubectl_complete-kserve_mn: what pip's console scripts run."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, target in _console_scripts().items():
        module, function = target.split(":")
        code = f"import sys; from {module} import {function}; sys.exit({function}())"
        wrapper = folder / name
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c {shlex.quote(code)} "$@"\n')
        wrapper.chmod(0o755)
    return folder


@pytest.fixture
def env(bin_dir: Path, kubeconfig: Path) -> dict[str, str]:
    path = [str(bin_dir), "/usr/bin", "/bin"]
    if KUBECTL:
        path.insert(1, os.path.dirname(KUBECTL))
    return {
        **os.environ,
        "PATH": os.pathsep.join(path),
        "PYTHONPATH": str(REPO),
        "KUBECONFIG": str(kubeconfig),
        DEADLINE_ENV: "60",  # these prove what completes; the deadline tests set their own
    }


@pytest.fixture
def cluster(fake_api: FakeKubeAPI) -> FakeKubeAPI:
    fake_api.load_kserve_crds(llmisvc=True)
    for name, namespace in (("llama", "team-a"), ("qwen", "team-a"), ("mixtral", "team-b")):
        fake_api.add(
            {
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"}}}},
            }
        )
    fake_api.add(
        {
            "apiVersion": "serving.kserve.io/v1alpha2",
            "kind": "LLMInferenceService",
            "metadata": {"name": "deepseek", "namespace": "team-a"},
            "spec": {},
        }
    )
    return fake_api


def _kubectl_complete(env: dict[str, str], *words: str) -> tuple[list[str], str]:
    """``kubectl __complete kserve-mn WORDS...``: the candidates and the directive line."""
    assert KUBECTL is not None
    proc = subprocess.run(
        [KUBECTL, "__complete", "kserve-mn", *words], capture_output=True, text=True, env=env, timeout=HANG
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    return lines[:-1], lines[-1]


# --- through kubectl -----------------------------------------------------------------------------------


@needs_kubectl
@posix_only
@pytest.mark.usefixtures("cluster")
def test_kubectl_completes_the_plugin_commands_flags_and_values(env: dict[str, str]) -> None:
    comps, directive = _kubectl_complete(env, "")
    assert [c.split("\t")[0] for c in comps] == ["plan", "check", "fix", "version", "completion", "help"]
    assert comps[0] == "plan\tSuggest the best PP x TP layout for the cluster's GPU nodes."
    assert directive == ":4"
    comps, _ = _kubectl_complete(env, "fix", "--dr")
    assert [c.split("\t")[0] for c in comps] == ["--dry-run"]
    assert _kubectl_complete(env, "plan", "-o", "") == (["table", "wide", "json", "yaml"], ":4")
    comps, _ = _kubectl_complete(env, "check", "--kserve-version", "v0.15")
    assert [c.split("\t")[0] for c in comps] == ["v0.15.0", "v0.15.1"]
    assert _kubectl_complete(env, "check", "--context", "") == (["fake\tcurrent context"], ":4")
    # A file flag: no candidate and the default directive, so the shell completes file names.
    assert _kubectl_complete(env, "check", "-f", "") == ([], ":0")


@needs_kubectl
@posix_only
@pytest.mark.usefixtures("cluster")
def test_kubectl_completes_namespaces_and_names_from_the_cluster(
    env: dict[str, str], kubeconfig: Path
) -> None:
    assert _kubectl_complete(env, "check", "-n", "") == (["team-a", "team-b"], ":4")
    comps, _ = _kubectl_complete(env, "fix", "")
    assert comps == ["llama", "qwen", "llmisvc/deepseek\tLLMInferenceService"]
    assert _kubectl_complete(env, "check", "-n", "team-b", "") == (["mixtral"], ":4")
    assert _kubectl_complete(env, "check", "llama", "") == (
        ["qwen", "llmisvc/deepseek\tLLMInferenceService"],
        ":4",
    )
    # --kubeconfig typed on the line wins over $KUBECONFIG.
    other = dict(env, KUBECONFIG=str(kubeconfig.parent / "missing"))
    assert _kubectl_complete(other, "fix", "--kubeconfig", str(kubeconfig), "q") == (["qwen"], ":4")
    assert _kubectl_complete(other, "fix", "q") == ([], ":4")


def _run_complete_helper(env: dict[str, str], *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl_complete-kserve_mn", *words], capture_output=True, text=True, env=env, timeout=HANG
    )


@needs_kubectl
@posix_only
def test_a_silent_server_completes_nothing_quickly_and_quietly(
    env: dict[str, str], fake_api: FakeKubeAPI
) -> None:
    fake_api.delay("GET", "/api/v1/namespaces", 60)
    fake_api.delay("GET", "/apis/", 60)
    quick = {k: v for k, v in env.items() if k != DEADLINE_ENV}  # the default deadline: one second
    proc = _run_complete_helper(quick, "check", "-n", "")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, ":4\n", "")
    assert _kubectl_complete(quick, "fix", "") == ([], ":4")
    fake_api.clear_faults()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@needs_kubectl
@posix_only
def test_an_unreachable_server_or_no_kubeconfig_completes_nothing_without_an_error(
    env: dict[str, str], fake_api: FakeKubeAPI, tmp_path: Path, closed_port: int
) -> None:
    kubeconfig = fake_api.write_kubeconfig(
        tmp_path / "unreachable", server=f"https://127.0.0.1:{closed_port}"
    )
    quick = {k: v for k, v in env.items() if k != DEADLINE_ENV}
    quick["KUBECONFIG"] = str(kubeconfig)
    proc = _run_complete_helper(quick, "check", "-n", "")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, ":4\n", "")
    quick["KUBECONFIG"] = str(tmp_path / "none")
    proc = _run_complete_helper(quick, "fix", "")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, ":4\n", "")


# --- through the shells ---------------------------------------------------------------------------------


def _script(env: dict[str, str], shell: str, tmp_path: Path) -> Path:
    proc = subprocess.run(
        ["kubectl-kserve_mn", "completion", shell], capture_output=True, text=True, env=env, check=True
    )
    path = tmp_path / f"completion.{shell}"
    path.write_text(proc.stdout)
    return path


class Terminal:
    """An interactive shell in a pseudo-terminal: type keys, wait for text on the screen."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.execvpe(argv[0], argv, env)
        self.screen = b""

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def wait_for(self, pattern: str) -> bool:
        """Read until ``pattern`` (a regex) shows up; False when it has not within HANG seconds."""
        end = time.monotonic() + HANG
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.screen += os.read(self.fd, 65536)
                except OSError:
                    return False
                if re.search(pattern.encode(), self.screen):
                    return True
        return False

    def run(self, line: str) -> None:
        self.type(line + "\n")
        marker = f"done-{abs(hash(line)) % 1000}"
        self.type(f"echo {marker[:5]}''{marker[5:]}\n")  # the echoed text differs from the typed text
        assert self.wait_for(marker), self.screen.decode(errors="replace")
        self.screen = b""

    def close(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def _completed_line(term: Terminal, typed: str) -> str:
    """Type ``typed`` and TAB, then turn the line into `echo <line>` and run it: the completed line."""
    term.screen = b""
    term.type(typed + "\t")
    term.type("\x01echo LINE: \n")  # Ctrl-A: start of line (emacs keys in bash and zsh)
    assert term.wait_for(r"\nLINE: [^\r\n]*\r?\n"), term.screen.decode(errors="replace")
    match = re.search(rb"\nLINE: ([^\r\n]*)\r?\n", term.screen)
    assert match is not None
    return match.group(1).decode().rstrip()


@pytest.fixture
def shell_env(env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "nodes.yaml").write_text("items: []\n")
    return {**env, "HOME": str(home), "TERM": "dumb", "PS1": "$ ", "PROMPT": "$ "}


def _interactive(shell: str, env: dict[str, Any], script: Path, cwd: Path) -> Terminal:
    if shell == "bash":
        term = Terminal(["bash", "--norc", "--noprofile", "-i"], env)
        setup = [f"cd {shlex.quote(str(cwd))}", f"source {shlex.quote(str(script))}"]
    else:
        term = Terminal(["zsh", "-f", "-i"], env)
        setup = [
            f"cd {shlex.quote(str(cwd))}",
            "autoload -U compinit && compinit -u",
            f"source {shlex.quote(str(script))}",
        ]
    for line in setup:
        term.run(line)
    return term


@posix_only
@pytest.mark.usefixtures("cluster")
@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_interactive_shell_completes_through_the_script(
    shell: str, shell_env: dict[str, Any], tmp_path: Path
) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    term = _interactive(shell, shell_env, _script(shell_env, shell, tmp_path), tmp_path / "work")
    try:
        assert _completed_line(term, "kubectl-kserve_mn chec") == "kubectl-kserve_mn check"
        assert _completed_line(term, "kubectl-kserve_mn check -o j") == "kubectl-kserve_mn check -o json"
        assert (
            _completed_line(term, "kubectl-kserve_mn check --output=y")
            == "kubectl-kserve_mn check --output=yaml"
        )
        assert (
            _completed_line(term, "kubectl-kserve_mn fix -n team-b m")
            == "kubectl-kserve_mn fix -n team-b mixtral"
        )
        assert (
            _completed_line(term, "kubectl-kserve_mn fix --context=fa")
            == "kubectl-kserve_mn fix --context=fake"
        )
        # File flags complete file names; other values complete nothing (no file names either).
        assert (
            _completed_line(term, "kubectl-kserve_mn plan --nodes-file no")
            == "kubectl-kserve_mn plan --nodes-file nodes.yaml"
        )
        assert _completed_line(term, "kubectl-kserve_mn plan --gpus no") == "kubectl-kserve_mn plan --gpus no"
        term.screen = b""
        term.type("kubectl-kserve_mn \t\t")
        # The list is sorted: every command is on the screen once the last one is.
        assert term.wait_for(r"version"), term.screen.decode(errors="replace")
        screen = term.screen.decode(errors="replace")
        assert all(name in screen for name in ("check", "completion", "fix", "plan"))
    finally:
        term.close()


def _fish_complete(env: dict[str, str], script: Path, line: str) -> list[str]:
    proc = subprocess.run(
        ["fish", "--no-config", "-c", f"source {shlex.quote(str(script))}; complete -C {shlex.quote(line)}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG * 2,
        cwd=env["WORK"],
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@posix_only
@pytest.mark.usefixtures("cluster")
def test_fish_completes_through_the_script(shell_env: dict[str, Any], tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    shell_env = {**shell_env, "WORK": str(tmp_path / "work")}
    script = _script(shell_env, "fish", tmp_path)
    commands = _fish_complete(shell_env, script, "kubectl-kserve_mn ")
    assert [c.split("\t")[0] for c in commands] == ["check", "completion", "fix", "help", "plan", "version"]
    assert _fish_complete(shell_env, script, "kubectl-kserve_mn check --output=j") == ["--output=json"]
    assert _fish_complete(shell_env, script, "kubectl-kserve_mn check -n team-b ") == ["mixtral"]
    assert _fish_complete(shell_env, script, "kubectl-kserve_mn check --nodes-file no") == ["nodes.yaml"]
    assert _fish_complete(shell_env, script, "kubectl-kserve_mn plan --gpus ") == []
