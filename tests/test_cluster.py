"""kubectl_kserve_mn.cluster (our own kubeconfig loader and HTTPS client) against the fake HTTPS API server."""

from __future__ import annotations

import base64
import importlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from kubectl_kserve_mn import cluster as cluster_mod
from kubectl_kserve_mn.cluster import (
    GPU_POD_FIELD_SELECTOR,
    Cluster,
    ForbiddenError,
    kubeconfig_available,
    parse_request_timeout,
)
from kubectl_kserve_mn.errors import (
    EXIT_CLUSTER,
    EXIT_USAGE,
    ClusterError,
    ConflictError,
    InputError,
    KserveMnError,
    NotFoundError,
)
from kubectl_kserve_mn.inputs import BadInput
from kubectl_kserve_mn.inputs.k8s import Node
from kubectl_kserve_mn.kserve import eras
from tests.fakeapi import FakeKubeAPI
from tests.nodes import controller_deployment

REPO = Path(__file__).resolve().parent.parent


def _pod(
    name: str, namespace: str = "team-a", node: str | None = "n1", phase: str = "Running"
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name.split("-")[0]}},
        "spec": spec,
        "status": {"phase": phase},
    }


def _isvc(name: str, namespace: str = "team-a", pp: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": "huggingface"}, "storageUri": "pvc://models/llama"},
                "workerSpec": {"pipelineParallelSize": pp, "tensorParallelSize": 8},
            }
        },
    }


def _controller(image: str, namespace: str = "kserve") -> dict[str, Any]:
    return controller_deployment(image, namespace)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- lists --------------------------------------------------------------------------------------------


def test_pod_list_is_paginated_with_limit_and_continue(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.add_all(_pod(f"p-{i:04d}") for i in range(1200))
    pods = Cluster(kubeconfig=str(kubeconfig)).list_pods("team-a")
    assert sorted(p.name for p in pods) == [f"p-{i:04d}" for i in range(1200)]
    calls = fake_api.requests("GET", "/api/v1/namespaces/team-a/pods")
    assert len(calls) == 3
    assert {c.param("limit") for c in calls} == {"500"}
    assert calls[0].param("continue") is None
    assert calls[1].param("continue") and calls[2].param("continue")
    assert calls[1].param("continue") != calls[2].param("continue")


def test_gpu_pod_list_sends_field_selector_and_gets_only_bound_live_pods(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.add(
        _pod("live-a", node="n1"),
        _pod("live-b", namespace="team-b", node="n2", phase="Pending"),
        _pod("done", node="n1", phase="Succeeded"),
        _pod("crashed", node="n1", phase="Failed"),
        _pod("unbound", node=None, phase="Pending"),
    )
    pods = Cluster(kubeconfig=str(kubeconfig)).list_gpu_pods()
    assert sorted(p.name for p in pods) == ["live-a", "live-b"]
    (call,) = fake_api.requests("GET", "/api/v1/pods")
    assert call.param("fieldSelector") == "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"
    assert call.param("fieldSelector") == GPU_POD_FIELD_SELECTOR


def test_node_lists_decode_into_the_boundarys_typed_nodes_skipping_unknown_fields(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1", "labels": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}},
        "spec": {"futureField": {"x": 1}},
        "status": {
            "capacity": {"cpu": "96", "nvidia.com/gpu": "8"},
            "allocatable": {"cpu": "95500m", "nvidia.com/gpu": "8"},
        },
    }
    fake_api.add(node)
    (item,) = Cluster(kubeconfig=str(kubeconfig)).list_nodes()
    assert isinstance(item, Node)
    assert item.name == "n1" and item.labels == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    # Device counts are whole numbers; CPU and memory are never read.
    assert item.capacity == {"nvidia.com/gpu": 8} and item.allocatable == {"nvidia.com/gpu": 8}


def test_a_node_the_api_sends_with_a_bad_gpu_count_is_refused_naming_it(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.add(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n1"},
            "status": {"allocatable": {"nvidia.com/gpu": "7.5"}},
        }
    )
    with pytest.raises(BadInput) as caught:
        Cluster(kubeconfig=str(kubeconfig)).list_nodes()
    assert caught.value.message == (
        'the API server: Node n1: status.allocatable["nvidia.com/gpu"]: "7.5" is not a whole number'
    )


def test_label_and_field_selectors_are_passed_through(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.add(_pod("llama-head"), _pod("other-x"))
    cluster = Cluster(kubeconfig=str(kubeconfig))
    pods = cluster.list_pods("team-a", label_selector="app=llama")
    assert [p.name for p in pods] == ["llama-head"]
    fake_api.add(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e1", "namespace": "team-a"},
            "involvedObject": {"kind": "Pod", "name": "llama-head"},
            "reason": "FailedScheduling",
        },
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e2", "namespace": "team-a"},
            "involvedObject": {"kind": "Pod", "name": "other-x"},
            "reason": "Pulled",
        },
    )
    events = cluster.list_events("team-a", field_selector="involvedObject.name=llama-head")
    assert [(e.involved_name, e.reason) for e in events] == [("llama-head", "FailedScheduling")]
    assert fake_api.requests("GET", "/api/v1/namespaces/team-a/events")[0].param("fieldSelector") == (
        "involvedObject.name=llama-head"
    )


def test_list_namespaces_returns_names(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.add(_pod("a", namespace="ns-1"), _pod("b", namespace="ns-2"))
    assert Cluster(kubeconfig=str(kubeconfig)).list_namespaces() == ["ns-1", "ns-2"]


# -- kubeconfig, context, namespace -----------------------------------------------------------------


def test_kubeconfig_env_merges_two_files_first_one_wins(
    fake_api: FakeKubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = fake_api.kubeconfig_dict(context="merged", user="u", cluster="c", namespace="team-m")
    first = {**full, "users": []}  # cluster and context only
    second = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}
        ],  # shadowed by the first file
        "users": full["users"],
    }
    (tmp_path / "a").write_text(yaml.safe_dump(first))
    (tmp_path / "b").write_text(yaml.safe_dump(second))
    monkeypatch.setenv(
        "KUBECONFIG", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "missing"), str(tmp_path / "b")])
    )
    fake_api.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    cluster = Cluster()
    assert [n.name for n in cluster.list_nodes()] == ["n1"]
    assert cluster.namespace == "team-m"
    assert fake_api.requests("GET", "/api/v1/nodes")[0].header("Authorization") == f"Bearer {fake_api.token}"


def _two_context_config(fake_api: FakeKubeAPI) -> dict[str, Any]:
    good = fake_api.kubeconfig_dict(context="good", user="good-user", namespace="team-b")
    bad = fake_api.kubeconfig_dict(context="bad", user="bad-user", token="wrong-token-123456", namespace=None)
    return {
        **good,
        "current-context": "bad",
        "contexts": bad["contexts"] + good["contexts"],
        "users": bad["users"] + good["users"],
    }


def test_context_flag_selects_the_context_and_its_namespace(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(_two_context_config(fake_api)))
    cluster = Cluster(kubeconfig=str(path), context="good")
    assert cluster.namespace == "team-b"
    assert cluster.list_nodes() == []
    with pytest.raises(ClusterError, match="401"):
        Cluster(kubeconfig=str(path)).list_nodes()  # the current context uses the wrong token


def test_user_flag_overrides_the_context_user(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(_two_context_config(fake_api)))
    assert Cluster(kubeconfig=str(path), user="good-user").list_nodes() == []


def test_cluster_flag_overrides_the_context_cluster(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    config = fake_api.kubeconfig_dict(cluster="real")
    config["clusters"].append({"name": "dead", "cluster": {"server": f"https://127.0.0.1:{_free_port()}"}})
    config["contexts"][0]["context"]["cluster"] = "dead"
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ClusterError, match="cannot reach"):
        Cluster(kubeconfig=str(path)).list_nodes()
    assert Cluster(kubeconfig=str(path), cluster="real").list_nodes() == []


def test_namespace_is_flag_then_context_then_default(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    with_ns = fake_api.write_kubeconfig(tmp_path / "with", namespace="team-ctx")
    without_ns = fake_api.write_kubeconfig(tmp_path / "without", namespace=None)
    assert Cluster(kubeconfig=str(with_ns), namespace="team-flag").namespace == "team-flag"
    assert Cluster(kubeconfig=str(with_ns)).namespace == "team-ctx"
    assert Cluster(kubeconfig=str(without_ns)).namespace == "default"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context": "nope"}, 'context "nope" not found'),
        ({"user": "nobody"}, 'user "nobody" not found'),
        ({"cluster": "nowhere"}, 'cluster "nowhere" not found'),
    ],
)
def test_unknown_context_user_or_cluster_is_an_input_error(
    kubeconfig: Path, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(InputError, match=message) as info:
        Cluster(kubeconfig=str(kubeconfig), **kwargs)
    assert info.value.exit_code == EXIT_USAGE


def test_missing_or_malformed_kubeconfig_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        Cluster(kubeconfig=str(tmp_path / "absent"))
    broken = tmp_path / "broken"
    broken.write_text("clusters: [\n  - {name: x")
    with pytest.raises(InputError, match="YAML"):
        Cluster(kubeconfig=str(broken))
    no_context = tmp_path / "no-context"
    no_context.write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": []})
    )
    with pytest.raises(InputError, match="current-context"):
        Cluster(kubeconfig=str(no_context))


def test_no_configuration_at_all_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no kubeconfig"):
        Cluster()


def test_in_cluster_config_uses_service_account_files(
    fake_api: FakeKubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(fake_api.token)
    (sa / "ca.crt").write_bytes(fake_api.ca.cert_pem.bytes())
    (sa / "namespace").write_text("pod-ns\n")
    monkeypatch.setattr(cluster_mod, "SERVICE_ACCOUNT_DIR", str(sa))  # kubeconfig_available()
    monkeypatch.setattr(cluster_mod.client, "SERVICE_ACCOUNT_DIR", str(sa))  # Cluster()
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(fake_api.port))
    assert kubeconfig_available()
    cluster = Cluster()
    assert cluster.namespace == "pod-ns"
    assert cluster.list_nodes() == []


def test_exec_plugin_credentials_are_used(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    config = fake_api.kubeconfig_dict()
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": fake_api.token},
    }
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
            "interactiveMode": "Never",
        }
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    assert Cluster(kubeconfig=str(path)).list_nodes() == []


def test_client_certificate_credentials_are_used(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    config = fake_api.kubeconfig_dict()
    config["users"][0]["user"] = fake_api.client_cert_user()
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    assert Cluster(kubeconfig=str(path)).list_nodes() == []
    assert fake_api.requests("GET", "/api/v1/nodes")[0].header("Authorization") is None


def test_kubeconfig_available_follows_kubectl_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    present = tmp_path / "present"
    present.write_text("apiVersion: v1\n")
    assert not kubeconfig_available()
    assert kubeconfig_available(str(present))
    assert not kubeconfig_available(str(tmp_path / "absent"))
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "absent"), str(present)]))
    assert kubeconfig_available()
    monkeypatch.delenv("KUBECONFIG")
    home = Path(os.environ["HOME"])
    (home / ".kube").mkdir()
    (home / ".kube" / "config").write_text("apiVersion: v1\n")
    assert kubeconfig_available()


def test_cluster_module_does_not_import_the_kubernetes_client() -> None:
    code = "import sys, kubectl_kserve_mn.cluster; print('kubernetes' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.stdout.strip() == "False"


# -- request timeout --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", None),
        ("0s", None),
        ("10s", 10.0),
        ("1m", 60.0),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        ("7", 7.0),
        ("2.5", 2.5),
        ("1h", 3600.0),
    ],
)
def test_request_timeout_accepts_kubectl_durations(text: str, seconds: float | None) -> None:
    assert parse_request_timeout(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "-5s", "s", "1m-", "10 s", "1.2.3"])
def test_request_timeout_rejects_bad_values(text: str, kubeconfig: Path) -> None:
    with pytest.raises(InputError, match="--request-timeout"):
        Cluster(kubeconfig=str(kubeconfig), request_timeout=text)


def test_slow_server_hits_the_request_timeout(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.delay("GET", "/api/v1/nodes", 3.0, times=1)
    with pytest.raises(ClusterError, match="timed out"):
        Cluster(kubeconfig=str(kubeconfig), request_timeout="200ms").list_nodes()


# -- HTTP errors ------------------------------------------------------------------------------------


def test_wrong_token_is_401_naming_the_context_not_the_token(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    path = fake_api.write_kubeconfig(tmp_path / "config", context="prod", token="s3cr3t-wrong-token-value")
    with pytest.raises(ClusterError) as info:
        Cluster(kubeconfig=str(path)).list_nodes()
    assert info.value.exit_code == EXIT_CLUSTER
    assert "unauthorized (401)" in info.value.message and '"prod"' in info.value.message
    assert "s3cr3t-wrong-token-value" not in info.value.message


def test_forbidden_names_the_verb_and_resource(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.fail("GET", "/api/v1/pods", 403)
    with pytest.raises(ForbiddenError) as info:
        Cluster(kubeconfig=str(kubeconfig)).list_gpu_pods()
    assert info.value.exit_code == EXIT_CLUSTER
    assert info.value.message.startswith("forbidden (403): ")
    assert 'cannot list resource "pods" in API group "" at the cluster scope' in info.value.message


def test_forbidden_without_status_body_still_names_verb_and_resource(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.load_kserve_crds()
    fake_api.fail("GET", "/apis/serving.kserve.io/v1beta1/namespaces/team-b", 403, message="denied")
    with pytest.raises(ForbiddenError) as info:
        Cluster(kubeconfig=str(kubeconfig)).list_inferenceservices("team-b")
    assert info.value.message == (
        'forbidden (403): cannot list resource "inferenceservices" in API group "serving.kserve.io" '
        'in the namespace "team-b"'
    )


def test_missing_inferenceservice_is_not_found_with_kind_namespace_and_name(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.load_kserve_crds()
    with pytest.raises(NotFoundError) as info:
        Cluster(kubeconfig=str(kubeconfig)).get_inferenceservice("team-a", "llama")
    assert info.value.message == 'InferenceService "llama" not found in namespace "team-a"'
    assert info.value.exit_code == EXIT_CLUSTER


@pytest.mark.parametrize("call", ["list", "get"])
def test_inferenceservices_without_the_crd_say_kserve_is_missing(
    fake_api: FakeKubeAPI, kubeconfig: Path, call: str
) -> None:
    cluster = Cluster(kubeconfig=str(kubeconfig))
    with pytest.raises(
        NotFoundError, match=r"inferenceservices\.serving\.kserve\.io\) not found: is KServe installed"
    ):
        if call == "list":
            cluster.list_inferenceservices(None)
        else:
            cluster.get_inferenceservice("team-a", "llama")


def test_server_error_carries_the_status_message(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.fail("GET", "/api/v1/nodes", 500, "etcdserver: request timed out")
    with pytest.raises(ClusterError) as info:
        Cluster(kubeconfig=str(kubeconfig)).list_nodes()
    assert "500" in info.value.message and "etcdserver: request timed out" in info.value.message
    assert not isinstance(info.value, NotFoundError)


def test_closed_port_is_connection_refused(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    port = _free_port()
    path = fake_api.write_kubeconfig(tmp_path / "config", server=f"https://127.0.0.1:{port}")
    with pytest.raises(ClusterError) as info:
        Cluster(kubeconfig=str(path)).list_nodes()
    assert info.value.message == f"cannot reach the cluster at https://127.0.0.1:{port}: connection refused"


def test_server_certificate_from_another_ca_is_a_tls_error(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    other_ca = trustme.CA()
    path = fake_api.write_kubeconfig(tmp_path / "config", ca_pem=other_ca.cert_pem.bytes())
    with pytest.raises(ClusterError) as info:
        Cluster(kubeconfig=str(path)).list_nodes()
    assert "TLS" in info.value.message and "certificate" in info.value.message.lower()
    assert "\n" not in info.value.message
    assert fake_api.requests() == []  # the handshake failed before any request


def test_credentials_never_appear_in_error_messages(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    secret_token = "tok-" + "s3cr3t" * 6
    config = fake_api.kubeconfig_dict(token=secret_token)
    cert_user = fake_api.client_cert_user()
    config["users"].append({"name": "cert", "user": cert_user})
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    # The server echoes the token back in its error message: we must still not print it.
    fake_api.token = secret_token
    fake_api.fail("GET", "/api/v1/nodes", 500, f"token {secret_token} rejected by webhook")
    fake_api.fail("GET", "/api/v1/pods", 403)
    cluster = Cluster(kubeconfig=str(path))
    messages: list[str] = []
    for call in (cluster.list_nodes, cluster.list_gpu_pods):
        with pytest.raises(KserveMnError) as info:
            call()
        messages.append(info.value.message)
    fake_api.token = "rotated-token-zzzzzz"
    with pytest.raises(KserveMnError) as info:
        cluster.list_namespaces()
    messages.append(info.value.message)
    with pytest.raises(KserveMnError) as info:
        Cluster(kubeconfig=str(path), context="missing")
    messages.append(info.value.message)
    secrets = [secret_token, cert_user["client-key-data"], cert_user["client-certificate-data"]]
    secrets.append(base64.b64decode(cert_user["client-key-data"]).decode().splitlines()[1])
    for message in messages:
        for secret in secrets:
            assert secret not in message
    assert "<redacted>" in messages[0]


# -- -A with partial RBAC -------------------------------------------------------------------------------


def test_readable_inferenceservices_fall_back_to_namespaces_and_report_403s(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(_isvc("a1", "team-a"), _isvc("b1", "team-b"), _isvc("c1", "team-c"))
    fake_api.fail("GET", "/apis/serving.kserve.io/v1beta1/inferenceservices", 403)
    fake_api.fail("GET", "/apis/serving.kserve.io/v1beta1/namespaces/team-b/", 403)
    items, problems = Cluster(kubeconfig=str(kubeconfig)).list_inferenceservices_readable(None)
    assert sorted(i["metadata"]["name"] for i in items) == ["a1", "c1"]
    assert len(problems) == 1
    assert problems[0].startswith('namespace "team-b": forbidden (403):')
    assert 'cannot list resource "inferenceservices" in API group "serving.kserve.io"' in problems[0]


def test_readable_inferenceservices_use_one_cluster_wide_list_when_allowed(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(_isvc("a1", "team-a"), _isvc("b1", "team-b"))
    items, problems = Cluster(kubeconfig=str(kubeconfig)).list_inferenceservices_readable(None)
    assert (sorted(i["metadata"]["name"] for i in items), problems) == (["a1", "b1"], [])
    assert [r.path for r in fake_api.requests("GET")] == ["/apis/serving.kserve.io/v1beta1/inferenceservices"]


def test_runtimes_are_listed_per_namespace_and_cluster_wide(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.load_kserve_crds()
    runtime = yaml.safe_load(
        (
            REPO / "tests/fixtures/kserve/runtimes/kserve-huggingfaceserver-multinode.install-v0.15.1.yaml"
        ).read_text()
    )
    fake_api.add(
        runtime, {**runtime, "kind": "ServingRuntime", "metadata": {"name": "ns-rt", "namespace": "team-a"}}
    )
    cluster = Cluster(kubeconfig=str(kubeconfig))
    assert [r["metadata"]["name"] for r in cluster.list_clusterservingruntimes()] == [
        runtime["metadata"]["name"]
    ]
    assert [r["metadata"]["name"] for r in cluster.list_servingruntimes("team-a")] == ["ns-rt"]
    assert [r["kind"] for r in cluster.list_servingruntimes(None)] == ["ServingRuntime"]


# -- multiNode config -----------------------------------------------------------------------------------


def test_multinode_config_reads_custom_gpu_resources(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.add(
        _controller("kserve/kserve-controller:v0.15.1", namespace="kserve-system"),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "inferenceservice-config", "namespace": "kserve-system"},
            "data": {"multiNode": json.dumps({"customGPUResourceTypeList": ["nvidia.com/mig-1g.5gb"]})},
        },
    )
    assert Cluster(kubeconfig=str(kubeconfig)).read_multinode_config() == ["nvidia.com/mig-1g.5gb"]


def test_multinode_config_is_empty_when_absent_or_forbidden(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    assert Cluster(kubeconfig=str(kubeconfig)).read_multinode_config() == []
    fake_api.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "inferenceservice-config", "namespace": "kserve"},
            "data": {"multiNode": json.dumps({"customGPUResourceTypeList": ["x.com/gpu"]})},
        }
    )
    fake_api.fail("GET", "/api/v1/namespaces/kserve/configmaps", 403)
    assert Cluster(kubeconfig=str(kubeconfig)).read_multinode_config() == []


# -- KServe version detection ---------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["v0.15.0", "v0.15.1", "v0.20.0"])
def test_version_from_controller_image_tag(fake_api: FakeKubeAPI, kubeconfig: Path, tag: str) -> None:
    fake_api.add(_controller(f"kserve/kserve-controller:{tag}"))
    found = Cluster(kubeconfig=str(kubeconfig)).detect_kserve_version()
    assert (found.version, found.source, found.warning) == (tag, "controller-image", None)
    assert found.era == eras.era_for(eras.parse_version(tag))
    (call,) = fake_api.requests("GET", "/apis/apps/v1/deployments")
    assert call.param("labelSelector") == "control-plane=kserve-controller-manager"


def test_controller_image_from_a_private_registry_with_port(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.add(_controller("registry.local:5000/mirror/kserve-controller:v0.16.0"))
    assert Cluster(kubeconfig=str(kubeconfig)).detect_kserve_version().version == "v0.16.0"


def test_digest_image_falls_back_to_the_crd_schema(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.add(_controller("quay.io/odh/kserve-controller@sha256:" + "a" * 64))
    fake_api.load_crd("v0.14.1", "inferenceservices")
    found = Cluster(kubeconfig=str(kubeconfig)).detect_kserve_version()
    assert found.source == "crd-schema"
    assert found.version is None
    assert not found.era.multinode
    assert found.warning is not None and "sha256" in found.warning


def test_v0141_crd_schema_gives_the_pre_multinode_era(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.load_crd("v0.14.1", "inferenceservices")
    found = Cluster(kubeconfig=str(kubeconfig)).detect_kserve_version()
    assert found.era == eras.era_for((0, 14, 1))
    assert found.source == "crd-schema" and found.warning and "workerSpec.size" in found.warning


def test_v0150_crd_schema_is_v015_with_an_ambiguity_warning(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.load_crd("v0.15.0", "inferenceservices")
    found = Cluster(kubeconfig=str(kubeconfig)).detect_kserve_version()
    assert found.source == "crd-schema" and found.version is None
    assert found.era == eras.era_for((0, 15, 0))
    assert found.warning is not None
    assert "v0.15.0 and v0.15.1" in found.warning and "--kserve-version" in found.warning


def test_master_crds_with_llmisvc_v1alpha2_mean_at_least_v017(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.load_kserve_crds("master", llmisvc=True)
    found = Cluster(kubeconfig=str(kubeconfig)).detect_kserve_version()
    assert found.source == "crd-schema" and found.version is None
    assert found.era == eras.era_for((0, 17, 0))
    assert found.warning is not None and ">= v0.17.0" in found.warning


def test_master_isvc_crd_without_llmisvc_is_read_as_v0151(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    # The master ISVC CRD carries logger.metadataAnnotations (added in v0.15.1).
    fake_api.load_crd("master", "inferenceservices")
    found = Cluster(kubeconfig=str(kubeconfig)).detect_kserve_version()
    assert found.era == eras.era_for((0, 15, 1))
    assert found.warning is not None and "cannot be told apart" in found.warning


def test_no_kserve_crd_is_not_found(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    with pytest.raises(NotFoundError) as info:
        Cluster(kubeconfig=str(kubeconfig)).detect_kserve_version()
    assert info.value.message == (
        "InferenceService CRD (inferenceservices.serving.kserve.io) not found: is KServe installed?"
    )


def test_unreadable_deployments_and_crds_fall_back_to_newest_rules(
    fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    fake_api.fail("GET", "/apis/apps/v1/deployments", 403)
    fake_api.fail("GET", "/apis/apiextensions.k8s.io/", 403)
    found = Cluster(kubeconfig=str(kubeconfig)).detect_kserve_version()
    assert found.source == "default"
    assert found.era == eras.newest_era()
    assert found.warning is not None and "forbidden" in found.warning


# -- patches --------------------------------------------------------------------------------------------


def test_stale_resource_version_in_merge_patch_is_a_conflict(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(_isvc("llama"))
    cluster = Cluster(kubeconfig=str(kubeconfig))
    read = cluster.get_inferenceservice("team-a", "llama")
    fake_api.add(_isvc("llama", pp=3))  # someone else writes in between
    patch = {
        "metadata": {"resourceVersion": read["metadata"]["resourceVersion"]},
        "spec": {"predictor": {"workerSpec": {"pipelineParallelSize": 4}}},
    }
    with pytest.raises(ConflictError) as info:
        cluster.patch_inferenceservice("team-a", "llama", patch)
    assert "re-run" in info.value.message and "team-a/llama" in info.value.message
    stored = fake_api.get("inferenceservices", "llama", "team-a")
    assert stored is not None and stored["spec"]["predictor"]["workerSpec"]["pipelineParallelSize"] == 3


def test_dry_run_patch_sends_dry_run_all_and_stores_nothing(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(_isvc("llama"))
    before = fake_api.get("inferenceservices", "llama", "team-a")
    assert before is not None
    result = Cluster(kubeconfig=str(kubeconfig)).patch_inferenceservice(
        "team-a", "llama", {"spec": {"predictor": {"workerSpec": {"pipelineParallelSize": 4}}}}, dry_run=True
    )
    assert result["spec"]["predictor"]["workerSpec"]["pipelineParallelSize"] == 4
    assert fake_api.get("inferenceservices", "llama", "team-a") == before
    (call,) = fake_api.requests("PATCH")
    assert call.param("dryRun") == "All"
    assert call.param("fieldManager") == "kubectl-kserve-mn"
    assert call.header("Content-Type") == "application/merge-patch+json"


def test_real_patch_bumps_resource_version_and_generation(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(_isvc("llama"))
    before = fake_api.get("inferenceservices", "llama", "team-a")
    assert before is not None
    result = Cluster(kubeconfig=str(kubeconfig)).patch_inferenceservice(
        "team-a",
        "llama",
        {"spec": {"predictor": {"workerSpec": {"tensorParallelSize": 4}}}},
        field_manager="me",
    )
    assert int(result["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert result["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert result["spec"]["predictor"]["workerSpec"] == {"pipelineParallelSize": 2, "tensorParallelSize": 4}
    assert fake_api.requests("PATCH")[0].param("dryRun") is None


def test_patch_rejected_by_schema_is_a_cluster_error(fake_api: FakeKubeAPI, kubeconfig: Path) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(_isvc("llama"))
    with pytest.raises(ClusterError, match="must be of type integer"):
        Cluster(kubeconfig=str(kubeconfig)).patch_inferenceservice(
            "team-a", "llama", {"spec": {"predictor": {"workerSpec": {"tensorParallelSize": "eight"}}}}
        )


# -- end to end through the CLI -------------------------------------------------------------------------


def _synthetic(nodes: int, pods: int) -> Any:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        synthetic_cluster = importlib.import_module("synthetic_cluster")
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return synthetic_cluster.generate(nodes=nodes, pods=pods)


def test_cli_plan_reads_the_cluster_and_detects_kserve(fake_api: FakeKubeAPI, run_cli: Any) -> None:
    fake_api.add_all(_synthetic(nodes=2, pods=0).objects())
    result = run_cli("plan", "--gpus", "16", "-o", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["kserveVersion"] == "v0.15.1"  # from the synthetic controller image
    assert doc["recommendation"]["pipelineParallelSize"] * doc["recommendation"]["tensorParallelSize"] == 16
    assert {r.path for r in fake_api.requests("GET")} >= {
        "/api/v1/nodes",
        "/api/v1/pods",
        "/apis/apps/v1/deployments",
    }


def test_cli_forbidden_pods_exit_3_with_one_line_naming_verb_and_resource(
    fake_api: FakeKubeAPI, run_cli: Any
) -> None:
    fake_api.add_all(_synthetic(nodes=2, pods=0).objects())
    fake_api.fail("GET", "/api/v1/pods", 403)
    result = run_cli("plan", "--gpus", "16")
    assert result.exit_code == EXIT_CLUSTER
    assert len(result.stderr.strip().splitlines()) == 1
    assert 'cannot list resource "pods" in API group "" at the cluster scope' in result.stderr
    assert "Traceback" not in result.stderr
