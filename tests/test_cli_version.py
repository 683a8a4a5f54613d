"""``kubectl kserve-mn version``: what it prints, when it contacts the cluster, and that the fast paths
(--help, version --client) never import the kubernetes client."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import kubectl_kserve_mn
from kubectl_kserve_mn.cli import cli, main, options
from kubectl_kserve_mn.cli import version as version_cmd
from kubectl_kserve_mn.errors import EXIT_CLUSTER, ClusterError, NotFoundError
from kubectl_kserve_mn.kserve import eras
from tests.fakeapi import FakeKubeAPI
from tests.nodes import controller_deployment

ROOT = Path(__file__).resolve().parent.parent
SOURCE_VERSION = "v" + kubectl_kserve_mn.__version__


def _no_cluster_allowed(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("the cluster must not be contacted")


class _FakeCluster:
    def __init__(self, detected: eras.KServeVersion | Exception) -> None:
        self.detected = detected

    def detect_kserve_version(self) -> eras.KServeVersion:
        if isinstance(self.detected, Exception):
            raise self.detected
        return self.detected


def _invoke(args: list[str]) -> Any:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


# --- the fast paths do not import kubernetes ------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["version", "--client"], ["version", "--client", "-o", "json"], ["version"]],
    ids=["help", "version-client", "version-client-json", "version-without-kubeconfig"],
)
def test_fast_paths_never_import_the_kubernetes_client(argv: list[str], tmp_path: Path) -> None:
    probe = textwrap.dedent(
        f"""
        import sys
        from kubectl_kserve_mn.cli import main
        try:
            main({argv!r})
        except SystemExit as exit_:
            code = exit_.code
        loaded = sorted(m for m in sys.modules if m == "kubernetes" or m.startswith("kubernetes."))
        print("EXIT", code, file=sys.stderr)
        print("KUBERNETES", loaded, file=sys.stderr)
        """
    )
    env = dict(os.environ, HOME=str(tmp_path), KUBECONFIG=str(tmp_path / "absent"))
    env.pop("KUBERNETES_SERVICE_HOST", None)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
    assert "EXIT 0" in proc.stderr, proc.stderr
    assert "KUBERNETES []" in proc.stderr, proc.stderr


# --- what is printed ----------------------------------------------------------------------------


def test_version_client_json_reports_plugin_version_python_and_platform(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(version_cmd, "_cluster_configured", _no_cluster_allowed)
    monkeypatch.setattr(options, "connect", _no_cluster_allowed)
    result = _invoke(["version", "--client", "-o", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    goos, goarch = version_cmd.go_platform()
    assert data == {
        "plugin": {
            "version": SOURCE_VERSION,
            "python": platform.python_version(),
            "platform": f"{goos}/{goarch}",
        },
        "kserve": None,
    }


def test_version_client_text_starts_with_the_plugin_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(version_cmd, "_cluster_configured", _no_cluster_allowed)
    result = _invoke(["version", "--client"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"Plugin Version: {SOURCE_VERSION}"
    assert lines[1].startswith(f"Python Version: {platform.python_version()} ")
    assert not any(line.startswith("KServe") for line in lines)


def test_version_without_kubeconfig_reports_kserve_unknown_and_exits_0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(version_cmd, "_cluster_configured", lambda conn: False)
    monkeypatch.setattr(options, "connect", _no_cluster_allowed)
    result = _invoke(["version"])
    assert result.exit_code == 0
    assert "KServe Version: unknown (no kubeconfig or in-cluster config found)" in result.stdout
    data = json.loads(_invoke(["version", "-o", "json"]).stdout)
    assert data["kserve"] is None


def test_version_passes_the_kubeconfig_flag_to_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []

    def probe(conn: options.ConnectionOptions) -> bool:
        seen.append(conn.kubeconfig)
        return False

    monkeypatch.setattr(version_cmd, "_cluster_configured", probe)
    assert _invoke(["version", "--kubeconfig", "/some/where/config"]).exit_code == 0
    assert seen == ["/some/where/config"]


def test_version_reports_the_detected_kserve_version(monkeypatch: pytest.MonkeyPatch) -> None:
    detected = eras.KServeVersion("v0.15.1", eras.era_for((0, 15, 1)), "controller-image")
    monkeypatch.setattr(version_cmd, "_cluster_configured", lambda conn: True)
    monkeypatch.setattr(options, "connect", lambda conn: _FakeCluster(detected))
    data = json.loads(_invoke(["version", "-o", "json"]).stdout)
    assert data["kserve"] == {
        "version": "v0.15.1",
        "era": "v0.15.1",
        "source": "controller-image",
        "warning": None,
    }
    text = _invoke(["version"]).stdout
    assert "KServe Version: v0.15.1 (v0.15.1 rules, from controller-image)" in text


def test_version_yaml_output_has_the_same_fields_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    monkeypatch.setattr(version_cmd, "_cluster_configured", _no_cluster_allowed)
    as_yaml = yaml.safe_load(_invoke(["version", "--client", "-o", "yaml"]).stdout)
    as_json = json.loads(_invoke(["version", "--client", "-o", "json"]).stdout)
    assert as_yaml == as_json


def test_version_client_skips_detection_even_with_a_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(version_cmd, "_cluster_configured", lambda conn: True)
    monkeypatch.setattr(options, "connect", _no_cluster_allowed)
    result = _invoke(["version", "--client", "-o", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["kserve"] is None


def test_explicit_kserve_version_is_reported_offline_with_its_era(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(version_cmd, "_cluster_configured", _no_cluster_allowed)
    monkeypatch.setattr(options, "connect", _no_cluster_allowed)
    data = json.loads(_invoke(["version", "--kserve-version", "v0.15.0", "-o", "json"]).stdout)
    # SEMANTICS: v0.15.0 has its own era (PP >= 2, pod GPUs = TP).
    assert data["kserve"] == {"version": "v0.15.0", "era": "v0.15.0", "source": "flag", "warning": None}


def test_malformed_kserve_version_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["version", "--kserve-version", "latest"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --kserve-version") and err.count("\n") == 1


def test_detection_warning_goes_to_stderr_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fallback = eras.newest_fallback("KServe is not installed")
    monkeypatch.setattr(version_cmd, "_cluster_configured", lambda conn: True)
    monkeypatch.setattr(options, "connect", lambda conn: _FakeCluster(fallback))
    with pytest.raises(SystemExit) as exit_:
        main(["version", "-o", "json"])
    assert exit_.value.code == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["kserve"]["source"] == "default"
    assert err.startswith("warning: KServe is not installed")


def test_cluster_error_prints_plugin_version_first_then_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(version_cmd, "_cluster_configured", lambda conn: True)
    monkeypatch.setattr(options, "connect", lambda conn: _FakeCluster(ClusterError("connection refused")))
    with pytest.raises(SystemExit) as exit_:
        main(["version", "-o", "json"])
    assert exit_.value.code == EXIT_CLUSTER
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["plugin"]["version"] == SOURCE_VERSION
    assert data["kserve"] is None
    assert err == "error: connection refused\n"


def test_cluster_without_kserve_warns_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = NotFoundError("InferenceService CRD not found: is KServe installed?")
    monkeypatch.setattr(version_cmd, "_cluster_configured", lambda conn: True)
    monkeypatch.setattr(options, "connect", lambda conn: _FakeCluster(missing))
    with pytest.raises(SystemExit) as exit_:
        main(["version"])
    assert exit_.value.code == 0
    out, err = capsys.readouterr()
    assert "KServe Version: unknown (not installed on the cluster)" in out
    assert err == "warning: InferenceService CRD not found: is KServe installed?\n"


def _controller(image: str) -> dict[str, Any]:
    return controller_deployment(image)


def test_version_reads_kserve_from_a_cluster_over_https(
    fake_api: FakeKubeAPI,
    kubeconfig: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_api.add(_controller("kserve/kserve-controller:v0.15.1"))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with pytest.raises(SystemExit) as exit_:
        main(["version", "-o", "json"])
    assert exit_.value.code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kserve"]["version"] == "v0.15.1"
    assert data["kserve"]["source"] == "controller-image"
    assert fake_api.requests("GET", "/apis/apps/v1/deployments")


def test_version_client_sends_no_request_even_with_a_kubeconfig(
    fake_api: FakeKubeAPI, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with pytest.raises(SystemExit) as exit_:
        main(["version", "--client"])
    assert exit_.value.code == 0
    assert fake_api.requests() == []


def test_unreachable_cluster_from_a_real_kubeconfig_exits_3(tmp_path: Path) -> None:
    # A port on 127.0.0.1 that nothing listens on: bind, read the port, close.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        textwrap.dedent(
            f"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: dead
              cluster: {{server: "http://127.0.0.1:{port}"}}
            users:
            - name: me
              user: {{token: not-a-secret}}
            contexts:
            - name: dead
              context: {{cluster: dead, user: me}}
            current-context: dead
            """
        )
    )
    env = dict(os.environ, HOME=str(tmp_path), KUBECONFIG=str(kubeconfig))
    env.pop("KUBERNETES_SERVICE_HOST", None)
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_kserve_mn", "version", "--request-timeout", "5s"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert proc.returncode == EXIT_CLUSTER, proc.stderr
    assert proc.stdout.splitlines()[0] == f"Plugin Version: {SOURCE_VERSION}"
    assert "KServe Version: unknown" in proc.stdout
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


# --- platform names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "machine", "expected"),
    [
        ("Linux", "x86_64", ("linux", "amd64")),
        ("Linux", "aarch64", ("linux", "arm64")),
        ("Darwin", "arm64", ("darwin", "arm64")),
        ("Darwin", "x86_64", ("darwin", "amd64")),
        ("Windows", "AMD64", ("windows", "amd64")),
        ("Windows", "ARM64", ("windows", "arm64")),
    ],
)
def test_go_platform_uses_go_names(system: str, machine: str, expected: tuple[str, str]) -> None:
    assert version_cmd.go_platform(system, machine) == expected


def test_package_version_is_the_one_setup_cfg_reads() -> None:
    # setup.cfg must take the version from the package, not repeat it.
    setup_cfg = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    assert "version = attr: kubectl_kserve_mn.__version__" in setup_cfg
    assert kubectl_kserve_mn.__version__ not in setup_cfg
