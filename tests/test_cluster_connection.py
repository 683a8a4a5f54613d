"""How Cluster connects and authenticates, against the fake HTTPS API server: the transport (keep-alive,
gzip, chunked bodies, proxies), TLS (client certificates, tls-server-name, insecure), kubectl's
global-flag overrides, exec credential plugins (client-go plugin/pkg/client/auth/exec/exec.go), token
files, legacy auth providers, pages fetched ahead and calls run at once."""

from __future__ import annotations

import base64
import json
import os
import select
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from kubectl_kserve_mn import __version__
from kubectl_kserve_mn.cluster import Cluster, ForbiddenError
from kubectl_kserve_mn.errors import ClusterError, InputError
from tests.fakeapi import FakeKubeAPI

REPO = Path(__file__).resolve().parent.parent


def _pod(name: str, namespace: str = "team-a") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": "Running"},
    }


def _node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


def _write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def _wait_for(condition: Any, what: str, limit: float = 30.0) -> None:
    """Poll until ``condition()`` holds (a liveness bound, not a timing assertion)."""
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


# -- transport ---------------------------------------------------------------------------------------------


def test_requests_carry_our_user_agent_and_reuse_one_connection(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.add_all(_pod(f"p-{i:04d}") for i in range(1200))
    cluster = Cluster(kubeconfig=str(kubeconfig))
    assert len(cluster.list_pods("team-a")) == 1200
    cluster.list_nodes()
    calls = fake_api.requests("GET")
    assert len(calls) == 4
    assert {c.header("User-Agent") for c in calls} == {f"kubectl-kserve-mn/v{__version__}"}
    assert len({c.peer for c in calls}) == 1  # keep-alive: every request on the same connection


def test_gzip_answers_are_decoded_and_compression_can_be_disabled(
    fake_api: FakeKubeAPI, tmp_path: Path
) -> None:
    fake_api.gzip = True
    fake_api.add_all(_pod(f"p-{i:03d}") for i in range(50))
    config = fake_api.kubeconfig_dict()
    path = _write_config(tmp_path / "config", config)
    assert len(Cluster(kubeconfig=str(path)).list_pods("team-a")) == 50
    assert fake_api.requests("GET")[-1].header("Accept-Encoding") == "gzip"
    config["clusters"][0]["cluster"]["disable-compression"] = True
    path = _write_config(tmp_path / "config", config)
    assert len(Cluster(kubeconfig=str(path)).list_pods("team-a")) == 50
    assert fake_api.requests("GET")[-1].header("Accept-Encoding") is None


def test_chunked_answers_like_kube_apiserver_sends_lists(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.chunked = True
    fake_api.add_all(_pod(f"p-{i:04d}") for i in range(700))
    names = [p.name for p in Cluster(kubeconfig=str(kubeconfig), request_timeout="30s").list_pods("team-a")]
    assert names == [f"p-{i:04d}" for i in range(700)]


class _ConnectProxy:
    """A minimal HTTP CONNECT proxy on 127.0.0.1 that records the targets it tunnelled to."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.targets: list[str] = []
        self.auth: list[str | None] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(4096)
            if not data:
                return
            head += data
        lines = head.decode().split("\r\n")
        target = lines[0].split()[1]
        self.targets.append(target)
        self.auth.append(
            next(
                (ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("proxy-authorization")),
                None,
            )
        )
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pair = {client: upstream, upstream: client}
        while True:
            readable, _, _ = select.select(list(pair), [], [])
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    client.close()
                    upstream.close()
                    return
                pair[sock].sendall(data)

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def proxy() -> Iterator[_ConnectProxy]:
    server = _ConnectProxy()
    yield server
    server.close()


def test_proxy_url_of_the_cluster_tunnels_through_the_proxy(
    fake_api: FakeKubeAPI, tmp_path: Path, proxy: _ConnectProxy
) -> None:
    config = fake_api.kubeconfig_dict()
    config["clusters"][0]["cluster"]["proxy-url"] = f"http://user:pa%40ss@127.0.0.1:{proxy.port}"
    fake_api.add(_node("n1"))
    assert [n.name for n in Cluster(kubeconfig=str(_write_config(tmp_path / "c", config))).list_nodes()] == [
        "n1"
    ]
    assert proxy.targets == [f"127.0.0.1:{fake_api.port}"]
    assert proxy.auth == ["Basic " + base64.b64encode(b"user:pa@ss").decode()]


def test_https_proxy_env_is_not_used_for_loopback_or_no_proxy_hosts(
    fake_api: FakeKubeAPI, kubeconfig: Path, proxy: _ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"127.0.0.1:{proxy.port}")
    assert Cluster(kubeconfig=str(kubeconfig)).list_nodes() == []
    assert proxy.targets == []  # Go's httpproxy never proxies loopback addresses
    from kubectl_kserve_mn.cluster.kubeconfig import ConnectionConfig
    from kubectl_kserve_mn.cluster.transport import proxy_for

    remote = ConnectionConfig(host="https://api.example.com:6443", context="x")
    assert proxy_for(remote, "https", "api.example.com", 6443) == ("127.0.0.1", proxy.port, {})
    monkeypatch.setenv("NO_PROXY", "10.0.0.0/8,.example.com")
    assert proxy_for(remote, "https", "api.example.com", 6443) is None
    assert proxy_for(remote, "https", "10.1.2.3", 6443) is None
    assert proxy_for(remote, "https", "example.org", 6443) is not None


# -- TLS -----------------------------------------------------------------------------------------------------


def test_server_requiring_a_client_certificate_refuses_a_token_user_with_a_tls_error(tmp_path: Path) -> None:
    with FakeKubeAPI(require_client_cert=True) as api:
        with pytest.raises(ClusterError) as info:
            Cluster(kubeconfig=str(api.write_kubeconfig(tmp_path / "config"))).list_nodes()
        assert "client certificate" in info.value.message
        assert "\n" not in info.value.message


def test_client_certificate_flags_authenticate_without_a_token(tmp_path: Path) -> None:
    with FakeKubeAPI(require_client_cert=True) as api:
        leaf = api.ca.issue_cert("jane@example.com", common_name="jane")
        cert, key = tmp_path / "jane.crt", tmp_path / "jane.key"
        leaf.cert_chain_pems[0].write_to_path(str(cert))
        leaf.private_key_pem.write_to_path(str(key))
        config = api.kubeconfig_dict()
        config["users"][0]["user"] = {}
        path = _write_config(tmp_path / "config", config)
        cluster = Cluster(kubeconfig=str(path), client_certificate=str(cert), client_key=str(key))
        assert cluster.list_nodes() == []
        assert api.requests("GET")[0].header("Authorization") is None


def test_mismatched_client_certificate_and_key_is_an_input_error(
    fake_api: FakeKubeAPI, tmp_path: Path
) -> None:
    one, other = fake_api.client_cert_user("one"), fake_api.client_cert_user("other")
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {
        "client-certificate-data": one["client-certificate-data"],
        "client-key-data": other["client-key-data"],
    }
    with pytest.raises(InputError, match="do not belong together"):
        Cluster(kubeconfig=str(_write_config(tmp_path / "config", config)))


def test_client_key_data_is_never_left_on_disk(
    fake_api: FakeKubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = fake_api.client_cert_user()
    assert Cluster(kubeconfig=str(_write_config(tmp_path / "config", config))).list_nodes() == []
    assert list(scratch.iterdir()) == []


def test_tls_server_name_verifies_a_certificate_issued_for_another_name(tmp_path: Path) -> None:
    with FakeKubeAPI(server_names=("kube.internal",)) as api:
        path = api.write_kubeconfig(tmp_path / "config")
        with pytest.raises(ClusterError, match="TLS error") as info:
            Cluster(kubeconfig=str(path)).list_nodes()
        assert "127.0.0.1" in info.value.message
        assert Cluster(kubeconfig=str(path), tls_server_name="kube.internal").list_nodes() == []
        assert api.requests("GET")[-1].sni == "kube.internal"
        config = api.kubeconfig_dict()
        config["clusters"][0]["cluster"]["tls-server-name"] = "kube.internal"
        assert Cluster(kubeconfig=str(_write_config(tmp_path / "c2", config))).list_nodes() == []


def test_insecure_skip_tls_verify_accepts_an_unknown_ca(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    path = fake_api.write_kubeconfig(tmp_path / "config", ca_pem=trustme.CA().cert_pem.bytes())
    with pytest.raises(ClusterError, match="TLS"):
        Cluster(kubeconfig=str(path)).list_nodes()
    cluster = Cluster(kubeconfig=str(path), insecure_skip_tls_verify=True)
    assert cluster.insecure
    assert cluster.list_nodes() == []


def test_certificate_authority_flag_replaces_the_kubeconfig_ca(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    path = fake_api.write_kubeconfig(tmp_path / "config", ca_pem=trustme.CA().cert_pem.bytes())
    ca = tmp_path / "ca.pem"
    fake_api.ca.cert_pem.write_to_path(str(ca))
    assert Cluster(kubeconfig=str(path), certificate_authority=str(ca)).list_nodes() == []


def test_server_and_token_flags_connect_without_a_kubeconfig(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    fake_api.ca.cert_pem.write_to_path(str(ca))
    cluster = Cluster(server=fake_api.url, token=fake_api.token, certificate_authority=str(ca))
    assert (cluster.namespace, cluster.context_name) == ("default", "(flags)")
    fake_api.add(_node("n1"))
    assert [n.name for n in cluster.list_nodes()] == ["n1"]


# -- identity ------------------------------------------------------------------------------------------------


def test_impersonation_sends_kubectls_headers_and_403_names_the_impersonated_user(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.fail("GET", "/api/v1/pods", 403)
    cluster = Cluster(
        kubeconfig=str(kubeconfig),
        impersonate="jane",
        impersonate_groups=["devs", "ops"],
        impersonate_uid="42",
    )
    cluster.list_nodes()
    (call,) = fake_api.requests("GET", "/api/v1/nodes")
    assert call.header_values("Impersonate-User") == ["jane"]
    assert call.header_values("Impersonate-Group") == ["devs", "ops"]
    assert call.header_values("Impersonate-Uid") == ["42"]
    assert call.header("Authorization") == f"Bearer {fake_api.token}"  # still our own credential
    with pytest.raises(ForbiddenError, match='User "jane" cannot list resource "pods"'):
        cluster.list_gpu_pods()


def test_token_flag_wins_over_an_exec_plugin_which_never_runs(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {"exec": _exec(tmp_path, f"open({str(marker)!r}, 'w').close()", token="x")}
    cluster = Cluster(kubeconfig=str(_write_config(tmp_path / "config", config)), token=fake_api.token)
    assert cluster.list_nodes() == []
    assert not marker.exists()


def test_basic_auth_from_the_kubeconfig_is_sent(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {"username": "admin", "password": "hunter2-secret"}
    with pytest.raises(ClusterError, match="unauthorized") as info:  # the fake server only knows tokens
        Cluster(kubeconfig=str(_write_config(tmp_path / "config", config))).list_nodes()
    (call,) = fake_api.requests("GET")  # nothing to refresh: no retry
    assert call.header("Authorization") == "Basic " + base64.b64encode(b"admin:hunter2-secret").decode()
    assert "hunter2" not in info.value.message


def test_token_file_is_read_again_after_a_401(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(fake_api.token)
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {"tokenFile": str(token_file)}
    cluster = Cluster(kubeconfig=str(_write_config(tmp_path / "config", config)))
    assert cluster.list_nodes() == []
    fake_api.token = "rotated-token-abcdef"  # the kubelet rotates a projected token
    token_file.write_text("rotated-token-abcdef\n")
    assert cluster.list_nodes() == []
    statuses = [c.status for c in fake_api.requests("GET")]
    assert statuses == [200, 401, 200]


# -- exec credential plugins ------------------------------------------------------------------------------


def _exec(
    tmp_path: Path,
    body: str = "",
    *,
    token: str | None = None,
    api_version: str = "client.authentication.k8s.io/v1",
    expiry: str | None = None,
    status: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A kubeconfig ``exec`` entry running a Python plugin: ``body`` first, then it prints the credential."""
    credential_status = status if status is not None else {"token": token}
    if expiry:
        credential_status["expirationTimestamp"] = expiry
    credential = {"apiVersion": api_version, "kind": "ExecCredential", "status": credential_status}
    script = tmp_path / f"plugin-{len(list(tmp_path.glob('plugin-*')))}.py"
    script.write_text(
        "import json, os, sys\n" + textwrap.dedent(body) + f"\nprint(json.dumps({credential!r}))\n"
    )
    return {
        "apiVersion": api_version,
        "command": sys.executable,
        "args": [str(script)],
        "interactiveMode": "Never",
        **extra,
    }


def test_exec_plugin_gets_env_args_and_cluster_info(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    record = f"""
    json.dump({{"argv": sys.argv[1:], "env": os.environ.get("PLUGIN_MODE"),
               "info": json.loads(os.environ["KUBERNETES_EXEC_INFO"]), "stdin_tty": sys.stdin.isatty()}},
              open({str(seen)!r}, "w"))
    """
    entry = _exec(
        tmp_path,
        record,
        token=fake_api.token,
        provideClusterInfo=True,
        env=[{"name": "PLUGIN_MODE", "value": "test"}],
    )
    entry["args"].append("--region=eu")
    config = fake_api.kubeconfig_dict()
    config["clusters"][0]["cluster"]["extensions"] = [
        {"name": "client.authentication.k8s.io/exec", "extension": {"audience": "kube"}}
    ]
    config["users"][0]["user"] = {"exec": entry}
    assert Cluster(kubeconfig=str(_write_config(tmp_path / "config", config))).list_nodes() == []
    got = json.loads(seen.read_text())
    assert got["argv"][-1] == "--region=eu" and got["env"] == "test" and got["stdin_tty"] is False
    info = got["info"]
    assert (info["kind"], info["apiVersion"], info["spec"]["interactive"]) == (
        "ExecCredential",
        "client.authentication.k8s.io/v1",
        False,
    )
    cluster_info = info["spec"]["cluster"]
    assert cluster_info["server"] == fake_api.url
    assert base64.b64decode(cluster_info["certificate-authority-data"]) == fake_api.ca.cert_pem.bytes()
    assert cluster_info["config"] == {"audience": "kube"}


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
@pytest.mark.parametrize(("mode", "interactive"), [("IfAvailable", True), ("Never", False)])
def test_exec_plugin_gets_the_terminal_only_when_interactive(
    fake_api: FakeKubeAPI, tmp_path: Path, mode: str, interactive: bool
) -> None:
    import pty

    seen = tmp_path / "seen.json"
    record = f"""
    info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
    json.dump([info["spec"]["interactive"], sys.stdin.isatty()], open({str(seen)!r}, "w"))
    """
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {"exec": _exec(tmp_path, record, token=fake_api.token, interactiveMode=mode)}
    path = _write_config(tmp_path / "config", config)
    probe = f"from kubectl_kserve_mn.cluster import Cluster; Cluster(kubeconfig={str(path)!r}).list_nodes()"
    master, slave = pty.openpty()
    try:
        env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
        proc = subprocess.run(
            [sys.executable, "-c", probe], stdin=slave, capture_output=True, env=env, timeout=120
        )
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(seen.read_text()) == [interactive, interactive]


def _runs_counter(tmp_path: Path) -> tuple[str, Path]:
    counter = tmp_path / "runs"
    counter.write_text("0")
    body = f"n = int(open({str(counter)!r}).read()) + 1\nopen({str(counter)!r}, 'w').write(str(n))\n"
    return body, counter


def test_exec_credential_is_cached_until_it_expires(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    body, counter = _runs_counter(tmp_path)
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {
        "exec": _exec(tmp_path, body, token=fake_api.token, expiry="2999-01-01T00:00:00Z")
    }
    cluster = Cluster(kubeconfig=str(_write_config(tmp_path / "config", config)))
    for _ in range(3):
        cluster.list_nodes()
    assert counter.read_text() == "1"
    config["users"][0]["user"] = {
        "exec": _exec(tmp_path, body, token=fake_api.token, expiry="2000-01-01T00:00:00.123456789Z")
    }
    cluster = Cluster(kubeconfig=str(_write_config(tmp_path / "config", config)))
    for _ in range(3):
        cluster.list_nodes()
    assert counter.read_text() == "4"  # expired at once: re-run before each request


def test_exec_plugin_runs_again_after_a_401_and_the_request_is_retried(
    fake_api: FakeKubeAPI, tmp_path: Path
) -> None:
    body, counter = _runs_counter(tmp_path)
    # The first run returns a stale token, later runs the good one.
    body += f"\ntoken = 'stale-token-123456' if n == 1 else {fake_api.token!r}\n"
    body += "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential', 'status': {'token': token}}))\nsys.exit(0)\n"
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {
        "exec": _exec(tmp_path, body, api_version="client.authentication.k8s.io/v1beta1")
    }
    assert Cluster(kubeconfig=str(_write_config(tmp_path / "config", config))).list_nodes() == []
    assert counter.read_text() == "2"
    assert [c.status for c in fake_api.requests("GET")] == [401, 200]


def test_exec_plugin_client_certificate_is_used_for_tls(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    user = fake_api.client_cert_user("plugin-user")
    status = {
        "clientCertificateData": base64.b64decode(user["client-certificate-data"]).decode(),
        "clientKeyData": base64.b64decode(user["client-key-data"]).decode(),
    }
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {"exec": _exec(tmp_path, status=status)}
    assert Cluster(kubeconfig=str(_write_config(tmp_path / "config", config))).list_nodes() == []
    assert fake_api.requests("GET")[0].header("Authorization") is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"command": "/no/such/plugin", "installHint": "install it with: brew install plugin"},
            "executable /no/such/plugin not found.*brew install plugin",
        ),
        ({"body": "sys.exit(3)"}, "failed with exit code 3"),
        (
            {"api_version_out": "client.authentication.k8s.io/v1beta1"},
            "plugin returned version client.authentication.k8s.io/v1beta1",
        ),
        ({"status": {}}, "didn't return a token or cert/key pair"),
        ({"status": {"clientKeyData": "x"}}, "returned only certificate or key"),
        ({"interactiveMode": "Always"}, "standard input is not a terminal"),
    ],
)
def test_exec_plugin_failures_are_one_line_cluster_errors(
    fake_api: FakeKubeAPI, tmp_path: Path, entry: dict[str, Any], message: str
) -> None:
    exec_entry = _exec(tmp_path, entry.get("body", ""), token="t-123456", status=entry.get("status"))
    if "api_version_out" in entry:
        exec_entry = _exec(tmp_path, token="t-123456", api_version=entry["api_version_out"])
        exec_entry["apiVersion"] = "client.authentication.k8s.io/v1"
    for key in ("command", "installHint", "interactiveMode"):
        if key in entry:
            exec_entry[key] = entry[key]
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {"exec": exec_entry}
    cluster = Cluster(kubeconfig=str(_write_config(tmp_path / "config", config)))
    with pytest.raises(ClusterError, match=message) as info:
        cluster.list_nodes()
    assert "\n" not in info.value.message
    assert fake_api.requests() == []


def test_exec_token_echoed_by_the_server_is_redacted(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    fake_api.token = "exec-issued-token-" + "z" * 20
    fake_api.fail("GET", "/api/v1/nodes", 500, f"webhook rejected {fake_api.token}")
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {"exec": _exec(tmp_path, token=fake_api.token)}
    with pytest.raises(ClusterError) as info:
        Cluster(kubeconfig=str(_write_config(tmp_path / "config", config))).list_nodes()
    assert fake_api.token not in info.value.message and "<redacted>" in info.value.message


# -- what gets imported ----------------------------------------------------------------------------------


def _imports_kubernetes(kubeconfig: Path, tmp_path: Path) -> bool:
    probe = textwrap.dedent(
        f"""
        import sys
        from kubectl_kserve_mn.cluster import Cluster
        Cluster(kubeconfig={str(kubeconfig)!r}).list_nodes()
        print("kubernetes" in sys.modules)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip() == "True"


def test_listing_with_a_token_never_imports_the_kubernetes_client(
    fake_api: FakeKubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    assert _imports_kubernetes(kubeconfig, tmp_path) is False


def test_oidc_auth_provider_goes_through_the_kubernetes_client(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    claims = base64.urlsafe_b64encode(json.dumps({"exp": 32503680000}).encode()).decode().rstrip("=")
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=")
    fake_api.token = f"{header}.{claims}.c2ln"
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = {
        "auth-provider": {
            "name": "oidc",
            "config": {
                "id-token": fake_api.token,
                "client-id": "kube",
                "idp-issuer-url": "https://127.0.0.1:1",
            },
        }
    }
    path = _write_config(tmp_path / "config", config)
    assert _imports_kubernetes(path, tmp_path) is True
    assert fake_api.requests("GET")[-1].header("Authorization") == f"Bearer {fake_api.token}"


# -- pages and concurrency ------------------------------------------------------------------------------------


def test_list_pages_yields_raw_pages_and_fetches_the_next_while_one_is_used(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.add_all(_pod(f"p-{i:04d}") for i in range(1200))
    cluster = Cluster(kubeconfig=str(kubeconfig))
    sizes = []
    for body in cluster.list_pages("/api/v1/namespaces/team-a/pods", _target("pods")):
        assert isinstance(body, bytes)
        sizes.append(len(json.loads(body)["items"]))
        if len(sizes) == 1:
            # Still holding page 1: page 2 is requested meanwhile.
            _wait_for(lambda: len(fake_api.requests("GET")) >= 2, "the prefetch of page 2")
    assert sizes == [500, 500, 200]


def test_stopping_early_stops_fetching_pages(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.add_all(_pod(f"p-{i:04d}") for i in range(3000))
    pages = Cluster(kubeconfig=str(kubeconfig)).list_pages("/api/v1/namespaces/team-a/pods", _target("pods"))
    next(pages)
    pages.close()
    _wait_for(
        lambda: not any(t.name == "kserve-mn-pages" for t in threading.enumerate()), "the page thread to end"
    )
    assert len(fake_api.requests("GET")) <= 2  # page 1, and at most the page already in flight


def test_a_page_that_fails_later_raises_in_the_consumer(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.add_all(_pod(f"p-{i:04d}") for i in range(1200))
    cluster = Cluster(kubeconfig=str(kubeconfig))
    got = 0
    with pytest.raises(ClusterError, match="410 Gone"):
        for _ in cluster.list_pages("/api/v1/namespaces/team-a/pods", _target("pods")):
            got += 1
            if got == 1:  # the continue token expires while the list is read (page 2 or 3 fails)
                fake_api.fail("GET", "/api/v1/namespaces/team-a/pods", 410, "continue token expired")
    assert got in (1, 2)


def test_node_and_gpu_pod_pages_are_the_two_big_lists(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.add(_node("n1"), _pod("p1"))
    cluster = Cluster(kubeconfig=str(kubeconfig))
    assert [i["metadata"]["name"] for b in cluster.node_pages() for i in json.loads(b)["items"]] == ["n1"]
    assert [i["metadata"]["name"] for b in cluster.gpu_pod_pages() for i in json.loads(b)["items"]] == ["p1"]
    assert fake_api.requests("GET", "/api/v1/pods")[0].param("fieldSelector") == (
        "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"
    )


def test_concurrently_runs_calls_at_once_and_keeps_their_order(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.add(_node("n1"), _pod("p1"))
    cluster = Cluster(kubeconfig=str(kubeconfig))
    both = threading.Barrier(2, timeout=30)

    def nodes() -> list[Any]:
        items = cluster.list_nodes()
        both.wait()  # only passes when the other call runs at the same time
        return items

    def pods() -> list[Any]:
        items = cluster.list_gpu_pods()
        both.wait()
        return items

    got_nodes, got_pods = cluster.concurrently(nodes, pods)
    assert [n.name for n in got_nodes] == ["n1"] and [p.name for p in got_pods] == ["p1"]


def test_concurrently_raises_the_first_failure_in_argument_order(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.fail("GET", "/api/v1/nodes", 403)
    fake_api.fail("GET", "/api/v1/pods", 500)
    cluster = Cluster(kubeconfig=str(kubeconfig))
    with pytest.raises(ClusterError, match="server error"):
        cluster.concurrently(cluster.list_gpu_pods, cluster.list_nodes)
    with pytest.raises(ForbiddenError):
        cluster.concurrently(cluster.list_nodes, cluster.list_gpu_pods)


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int]] = []

    def started(self, what: str) -> None:
        self.events.append(("started", what, 0))

    def advanced(self, what: str, items: int) -> None:
        self.events.append(("advanced", what, items))

    def finished(self, what: str) -> None:
        self.events.append(("finished", what, 0))

    def pause(self, paused: bool) -> None:
        self.events.append(("pause", str(paused), 0))


def test_progress_observer_hears_what_is_listed_and_the_running_count(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.add_all(_pod(f"p-{i:04d}") for i in range(1200))
    cluster = Cluster(kubeconfig=str(kubeconfig))
    recorder = _Recorder()
    cluster.progress = recorder
    cluster.list_pods("team-a")
    assert recorder.events == [
        ("started", "pods in team-a", 0),
        ("advanced", "pods in team-a", 500),
        ("advanced", "pods in team-a", 1000),
        ("advanced", "pods in team-a", 1200),
        ("finished", "pods in team-a", 0),
    ]


def _target(resource: str) -> Any:
    from kubectl_kserve_mn.cluster import Target

    return Target("list", resource, kind=resource[:-1].title(), namespace="team-a")
