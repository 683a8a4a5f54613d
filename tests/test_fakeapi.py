"""The fake API server behaves like a real one where our tests and the benchmark rely on it."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fakeapi import ApiError, FakeKubeAPI, json_patch, label_matcher, merge_patch


def _call(
    api: FakeKubeAPI,
    path: str,
    *,
    method: str = "GET",
    body: Any = None,
    ctype: str = "",
    token: str | None = None,
) -> tuple[int, Any]:
    context = ssl.create_default_context(cadata=api.ca.cert_pem.bytes().decode())
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(api.url + path, data=data, method=method)
    if token != "":
        request.add_header("Authorization", f"Bearer {api.token if token is None else token}")
    if ctype:
        request.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode()


def test_merge_patch_follows_rfc7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "list": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "list": [3], "new": {"x": 1}}
    assert merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "list": [3], "new": {"x": 1}}


def test_json_patch_applies_operations_and_test_failures_raise() -> None:
    doc = {"spec": {"items": [1, 2], "x": 1}}
    ops = [
        {"op": "add", "path": "/spec/items/-", "value": 3},
        {"op": "replace", "path": "/spec/x", "value": 2},
        {"op": "remove", "path": "/spec/items/0"},
    ]
    assert json_patch(doc, ops) == {"spec": {"items": [2, 3], "x": 2}}
    assert doc == {"spec": {"items": [1, 2], "x": 1}}
    with pytest.raises(ValueError, match="test operation failed"):
        json_patch(doc, [{"op": "test", "path": "/spec/x", "value": 9}])


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=a", {"app": "a"}, True),
        ("app==a", {"app": "b"}, False),
        ("app!=a", {}, True),
        ("app", {"app": ""}, True),
        ("!app", {"app": "a"}, False),
        ("tier in (x, y),app", {"tier": "y", "app": "q"}, True),
        ("tier notin (x,y)", {"tier": "x"}, False),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert label_matcher(selector)(labels) is expected


def test_unparsable_label_selector_is_a_400() -> None:
    with pytest.raises(ApiError) as info:
        label_matcher("a b c")
    assert info.value.code == 400


def test_custom_resources_are_served_only_with_their_crd(fake_api: FakeKubeAPI) -> None:
    path = "/apis/serving.kserve.io/v1beta1/inferenceservices"
    status, body = _call(fake_api, path)
    assert status == 404 and "404 page not found" in body
    fake_api.load_crd("v0.15.0", "inferenceservices")
    status, body = _call(fake_api, path)
    assert status == 200 and body["kind"] == "InferenceServiceList" and body["items"] == []


def test_unknown_pod_field_selector_is_rejected(fake_api: FakeKubeAPI) -> None:
    status, body = _call(fake_api, "/api/v1/pods?fieldSelector=spec.bogus%3Dx")
    assert status == 400 and body["message"] == "field label not supported: spec.bogus"


def test_invalid_continue_token_is_a_400(fake_api: FakeKubeAPI) -> None:
    status, body = _call(fake_api, "/api/v1/pods?limit=1&continue=garbage")
    assert status == 400 and body["reason"] == "BadRequest"


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_missing_or_wrong_token_is_401_status(fake_api: FakeKubeAPI, token: str) -> None:
    status, body = _call(fake_api, "/api/v1/nodes", token=token)
    assert status == 401 and body["reason"] == "Unauthorized" and body["kind"] == "Status"
    assert _call(fake_api, "/api/v1/nodes")[0] == 200


def test_injected_403_has_the_api_server_message(fake_api: FakeKubeAPI) -> None:
    fake_api.load_kserve_crds()
    fake_api.fail("GET", "/apis/serving.kserve.io/v1beta1/namespaces/team-b/inferenceservices", 403, times=1)
    status, body = _call(fake_api, "/apis/serving.kserve.io/v1beta1/namespaces/team-b/inferenceservices")
    assert status == 403
    assert body["message"] == (
        'inferenceservices.serving.kserve.io is forbidden: User "system:serviceaccount:x:y" cannot list resource '
        '"inferenceservices" in API group "serving.kserve.io" in the namespace "team-b"'
    )
    status, _ = _call(fake_api, "/apis/serving.kserve.io/v1beta1/namespaces/team-b/inferenceservices")
    assert status == 200  # times=1


def test_custom_resources_reject_strategic_merge_patch(fake_api: FakeKubeAPI) -> None:
    fake_api.load_kserve_crds()
    fake_api.add(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "x", "namespace": "team-a"},
            "spec": {"predictor": {}},
        }
    )
    path = "/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices/x"
    status, body = _call(
        fake_api, path, method="PATCH", body={"spec": {}}, ctype="application/strategic-merge-patch+json"
    )
    assert status == 415 and body["reason"] == "UnsupportedMediaType"


def test_json_patch_with_stale_resource_version_test_conflicts(fake_api: FakeKubeAPI) -> None:
    fake_api.add(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}, "data": {}}
    )
    stored = fake_api.get("configmaps", "c", "a")
    assert stored is not None
    ops = [
        {"op": "replace", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "add", "path": "/data/k", "value": "v"},
    ]
    status, body = _call(
        fake_api,
        "/api/v1/namespaces/a/configmaps/c",
        method="PATCH",
        body=ops,
        ctype="application/json-patch+json",
    )
    assert status == 409 and body["reason"] == "Conflict"
    assert body["message"].startswith(
        'Operation cannot be fulfilled on configmaps "c": the object has been modified'
    )
    assert fake_api.get("configmaps", "c", "a") == stored


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_reads_nodes_and_paginated_pods_from_the_fake(
    fake_api: FakeKubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    fake_api.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    fake_api.add_all(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i:03d}", "namespace": "ns"}, "spec": {}}
        for i in range(600)
    )
    base = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache")]
    nodes = subprocess.run(
        [*base, "get", "nodes", "-o", "json"], capture_output=True, text=True, timeout=120, check=False
    )
    assert nodes.returncode == 0, nodes.stderr
    assert [n["metadata"]["name"] for n in json.loads(nodes.stdout)["items"]] == ["n1"]
    pods = subprocess.run(
        [*base, "get", "pods", "-A", "-o", "json"], capture_output=True, text=True, timeout=120, check=False
    )
    assert pods.returncode == 0, pods.stderr
    assert len(json.loads(pods.stdout)["items"]) == 600
    assert len(fake_api.requests("GET", "/api/v1/pods")) == 2
