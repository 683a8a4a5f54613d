"""Shared fixtures: a fake Kubernetes API server over real HTTPS, a kubeconfig for it, and CLI runners.

Every test runs with an empty HOME and no KUBECONFIG / in-cluster environment, so that no test can
ever reach a real cluster through the developer's own kubeconfig, and without COLUMNS.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakeapi import FakeKubeAPI

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_kube_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    # The text output wraps to $COLUMNS when it is set (cli/terminal.py): a developer's exported COLUMNS
    # must not change what the tests see; tests that want a width set it.
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def fake_api() -> Iterator[FakeKubeAPI]:
    """A started fake API server (token auth, own CA), stopped after the test."""
    api = FakeKubeAPI().start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def kubeconfig(fake_api: FakeKubeAPI, tmp_path: Path) -> Path:
    """A kubeconfig for ``fake_api``: context ``fake``, namespace ``team-a``, token auth, the fake CA."""
    return fake_api.write_kubeconfig(tmp_path / "kubeconfig")


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def _run_in_process(args: list[str]) -> CliResult:
    from kubectl_kserve_mn.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def run_cli(kubeconfig: Path) -> Callable[..., CliResult]:
    """Run the CLI in-process (through ``main()``, so errors map to exit codes) against ``fake_api``.

    ``run_cli("plan", "--gpus", "16")`` adds ``--kubeconfig`` unless ``kubeconfig=False`` is passed.
    """

    def run(*args: str, kubeconfig_flag: bool = True) -> CliResult:
        argv = list(args)
        if kubeconfig_flag and "--kubeconfig" not in argv:
            argv += ["--kubeconfig", str(kubeconfig)]
        return _run_in_process(argv)

    return run


@pytest.fixture
def run_cli_subprocess(kubeconfig: Path) -> Callable[..., CliResult]:
    """Run ``python -m kubectl_kserve_mn`` in a subprocess (a fresh interpreter, as a user would)."""

    def run(*args: str, kubeconfig_flag: bool = True, env: dict[str, str] | None = None) -> CliResult:
        argv = list(args)
        if kubeconfig_flag and "--kubeconfig" not in argv:
            argv += ["--kubeconfig", str(kubeconfig)]
        full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "kubectl_kserve_mn", *argv],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=120,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run
