"""kubectl_kserve_mn.cluster.kubeconfig: kubectl's (client-go clientcmd's) connection semantics, pure.

References: kubernetes/client-go@32ce75a7 tools/clientcmd/loader.go (merge, relative paths),
client_config.go (overrides), validation.go (errors), merged_client_builder.go (in-cluster).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubectl_kserve_mn.cluster.kubeconfig import (
    NoConfigurationError,
    Overrides,
    kubeconfig_available,
    load,
    parse_request_timeout,
)
from kubectl_kserve_mn.errors import EXIT_USAGE, InputError

CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()


def _config(
    *,
    clusters: list[dict[str, Any]] | None = None,
    users: list[dict[str, Any]] | None = None,
    contexts: list[dict[str, Any]] | None = None,
    current: str | None = "main",
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters
        if clusters is not None
        else [
            {"name": "c1", "cluster": {"server": "https://c1.example:6443", "certificate-authority-data": CA}}
        ],
        "users": users if users is not None else [{"name": "u1", "user": {"token": "token-u1-123456"}}],
        "contexts": contexts
        if contexts is not None
        else [{"name": "main", "context": {"cluster": "c1", "user": "u1", "namespace": "team-a"}}],
    }
    if current is not None:
        doc["current-context"] = current
    return doc


def _write(path: Path, doc: Any) -> Path:
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return path


def _load(path: Path | None = None, **overrides: Any) -> Any:
    return load(str(path) if path else None, Overrides(**overrides), service_account_dir="/nonexistent")


# -- files and merging -------------------------------------------------------------------------------


def test_kubeconfig_env_merges_files_first_file_wins_whole_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _config(users=[{"name": "u1", "user": {"token": "first-token-123"}}], current="main")
    second = _config(
        clusters=[{"name": "c1", "cluster": {"server": "https://shadowed:1"}}],
        users=[{"name": "u1", "user": {"token": "second-token-123", "username": "x"}}],
        current="other",
    )
    monkeypatch.setenv(
        "KUBECONFIG",
        os.pathsep.join([str(_write(tmp_path / "a", first)), str(_write(tmp_path / "b", second))]),
    )
    config = _load()
    assert config.host == "https://c1.example:6443"
    assert config.token == "first-token-123"
    assert config.username is None  # the second file's u1 is ignored entirely, not merged field by field
    assert config.context == "main"  # current-context of the first file that sets one


def test_current_context_comes_from_a_later_file_when_the_first_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _write(tmp_path / "a", _config(current=None))
    b = _write(tmp_path / "b", {"current-context": "main"})
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(a), str(tmp_path / "missing"), str(b)]))
    assert _load().namespace == "team-a"


def test_relative_paths_resolve_against_the_file_that_holds_them(tmp_path: Path) -> None:
    folder = tmp_path / "kube"
    folder.mkdir()
    (folder / "ca.crt").write_text("x")
    (folder / "token").write_text("file-token-123456\n")
    doc = _config(
        clusters=[{"name": "c1", "cluster": {"server": "https://h:6443", "certificate-authority": "ca.crt"}}],
        users=[{"name": "u1", "user": {"tokenFile": "token", "exec": None}}],
    )
    config = _load(_write(folder / "config", doc))
    assert config.ca_file == str(folder / "ca.crt")
    assert config.token_file == str(folder / "token")
    assert config.token == "file-token-123456"  # read at load time, stripped


def test_exec_command_with_a_path_separator_is_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    doc = _config(
        users=[
            {
                "name": "u1",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": "./bin/login",
                        "interactiveMode": "Never",
                    }
                },
            },
            {
                "name": "u2",
                "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws"}},
            },
        ]
    )
    path = _write(tmp_path / "config", doc)
    relative = _load(path).exec
    assert relative.command == os.path.join(str(tmp_path), "./bin/login")
    on_path = _load(path, user="u2").exec
    assert on_path.command == "aws"
    assert on_path.interactive_mode == "IfAvailable"  # v1beta1's default (clientcmd SetDefaults_ExecConfig)


# -- overrides (kubectl's global flags) -------------------------------------------------------------------


def test_server_flag_works_without_any_kubeconfig() -> None:
    config = _load(server="https://10.0.0.1:6443", token="flag-token-123456")
    assert (config.host, config.token, config.context, config.namespace) == (
        "https://10.0.0.1:6443",
        "flag-token-123456",
        "(flags)",
        None,
    )


def test_server_flag_overrides_the_cluster_and_clears_its_tls_server_name(tmp_path: Path) -> None:
    doc = _config(
        clusters=[
            {
                "name": "c1",
                "cluster": {
                    "server": "https://old:6443",
                    "tls-server-name": "old.internal",
                    "certificate-authority-data": CA,
                },
            }
        ]
    )
    path = _write(tmp_path / "config", doc)
    config = _load(path, server="https://new:6443")
    assert (config.host, config.tls_server_name, config.ca_data is not None) == (
        "https://new:6443",
        None,
        True,
    )
    assert _load(path).tls_server_name == "old.internal"
    assert _load(path, tls_server_name="flag.internal").tls_server_name == "flag.internal"


def test_certificate_authority_or_insecure_flag_replaces_all_ca_settings(tmp_path: Path) -> None:
    path = _write(tmp_path / "config", _config())
    ca = tmp_path / "flag-ca.crt"
    ca.write_text("x")
    with_ca = _load(path, certificate_authority=str(ca))
    assert (with_ca.ca_file, with_ca.ca_data, with_ca.insecure) == (str(ca), None, False)
    insecure = _load(path, insecure_skip_tls_verify=True)
    assert (insecure.ca_file, insecure.ca_data, insecure.insecure) == (None, None, True)


def test_token_flag_wins_over_the_users_token_file_and_exec_plugin(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-token-123456")
    doc = _config(
        users=[
            {
                "name": "u1",
                "user": {
                    "tokenFile": str(token_file),
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": "x",
                        "interactiveMode": "Never",
                    },
                },
            }
        ]
    )
    config = _load(_write(tmp_path / "config", doc), token="flag-token-123456")
    assert (config.token, config.token_file) == ("flag-token-123456", None)
    assert "flag-token-123456" in config.secrets


def test_client_certificate_flags_replace_the_users_certificate_data(tmp_path: Path) -> None:
    doc = _config(users=[{"name": "u1", "user": {"client-certificate-data": CA, "client-key-data": CA}}])
    cert, key = tmp_path / "c.crt", tmp_path / "c.key"
    cert.write_text("x")
    key.write_text("y")
    config = _load(_write(tmp_path / "config", doc), client_certificate=str(cert), client_key=str(key))
    assert (config.cert_file, config.cert_data, config.key_file, config.key_data) == (
        str(cert),
        None,
        str(key),
        None,
    )


def test_impersonation_flags_override_the_users_as_fields(tmp_path: Path) -> None:
    doc = _config(
        users=[{"name": "u1", "user": {"token": "t-123456", "as": "file-user", "as-groups": ["g0"]}}]
    )
    path = _write(tmp_path / "config", doc)
    from_file = _load(path)
    assert (from_file.impersonate, from_file.impersonate_groups) == ("file-user", ("g0",))
    flags = _load(path, impersonate="jane", impersonate_groups=("g1", "g2"), impersonate_uid="42")
    assert (flags.impersonate, flags.impersonate_groups, flags.impersonate_uid) == (
        "jane",
        ("g1", "g2"),
        "42",
    )


def test_groups_without_a_user_to_impersonate_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="need a user to impersonate"):
        _load(_write(tmp_path / "config", _config()), impersonate_groups=("admins",))


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ({"context": "nope"}, 'context "nope" not found'),
        ({"cluster": "nope"}, 'cluster "nope" not found'),
        ({"user": "nope"}, 'user "nope" not found'),
    ],
)
def test_unknown_names_in_flags_are_errors_even_with_server(
    tmp_path: Path, flag: dict[str, str], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        _load(_write(tmp_path / "config", _config()), server="https://x:1", **flag)


def test_a_context_user_missing_from_the_kubeconfig_means_anonymous(tmp_path: Path) -> None:
    doc = _config(contexts=[{"name": "main", "context": {"cluster": "c1", "user": "ghost"}}])
    config = _load(_write(tmp_path / "config", doc))
    assert (config.token, config.exec, config.cert_file) == (None, None, None)


def test_server_without_scheme_gets_https_when_tls_is_configured(tmp_path: Path) -> None:
    doc = _config(
        clusters=[{"name": "c1", "cluster": {"server": "10.0.0.1:6443", "certificate-authority-data": CA}}]
    )
    assert _load(_write(tmp_path / "config", doc)).host == "https://10.0.0.1:6443"
    assert _load(server="10.0.0.2:8080").host == "http://10.0.0.2:8080"


def test_a_server_path_prefix_is_kept(tmp_path: Path) -> None:
    # Rancher-style proxies serve the API under a path.
    assert (
        _load(server="https://rancher.example/k8s/clusters/c-1/").host
        == "https://rancher.example/k8s/clusters/c-1"
    )


# -- validation like kubectl's -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "message"),
    [
        (
            {"token": "t-123456", "username": "a", "password": "b-123456"},
            "more than one authentication method",
        ),
        ({"client-certificate-data": CA}, "no client-key"),
        ({"client-key-data": CA}, "no client-certificate"),
        ({"exec": {"command": "x"}}, r"exec\.apiVersion: is required"),
        ({"exec": {"apiVersion": "client.authentication.k8s.io/v1"}}, r"exec\.command: is required"),
        (
            {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "x"}},
            r"exec\.interactiveMode: is required with apiVersion client.authentication.k8s.io/v1",
        ),
        (
            {"exec": {"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "x"}},
            "is not supported",
        ),
        (
            {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": "x",
                    "interactiveMode": "Maybe",
                }
            },
            "'Maybe' is not one of Never, IfAvailable, Always",
        ),
        (
            {"client-key-data": "!!!not base64!!!", "client-certificate-data": CA},
            r'\["client-key-data"\]: is not valid base64',
        ),
        ({"token": 12345}, "user.token: a number, expected a string"),
    ],
)
def test_bad_users_are_refused_with_the_field_named(
    tmp_path: Path, user: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message) as info:
        _load(_write(tmp_path / "config", _config(users=[{"name": "u1", "user": user}])))
    assert info.value.exit_code == EXIT_USAGE
    assert "\n" not in info.value.message


def test_two_certificate_authority_sources_are_refused(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("x")
    doc = _config(
        clusters=[
            {
                "name": "c1",
                "cluster": {
                    "server": "https://h:1",
                    "certificate-authority": "ca.crt",
                    "certificate-authority-data": CA,
                },
            }
        ]
    )
    with pytest.raises(
        InputError, match="certificate-authority-data and certificate-authority are both specified"
    ):
        _load(_write(tmp_path / "config", doc))


def test_an_unreadable_certificate_authority_file_is_named(tmp_path: Path) -> None:
    doc = _config(
        clusters=[
            {"name": "c1", "cluster": {"server": "https://h:1", "certificate-authority": "missing.crt"}}
        ]
    )
    with pytest.raises(
        InputError, match=r"certificate-authority for cluster 'c1': cannot read .*missing\.crt"
    ):
        _load(_write(tmp_path / "config", doc))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("just some words\n", "plain text, not a kubeconfig"),
        ("- a\n- b\n", "a list, not a kubeconfig"),
        ("clusters: 42\n", "clusters: a number, expected a list"),
        (
            "clusters:\n- cluster: {server: x}\n",
            r"clusters\[0\]\.name: a name \(a non-empty string\) is required",
        ),
        ("clusters: [\n  - {name: x", "not valid YAML"),
        ("current-context: [a]\n", r"\[\"current-context\"\]: a list, expected a string"),
    ],
)
def test_malformed_kubeconfigs_are_input_errors_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = _write(tmp_path / "config", content)
    with pytest.raises(InputError, match=message) as info:
        _load(path)
    assert info.value.message.startswith(str(path))


def test_plain_text_kubeconfig_never_echoes_its_content(tmp_path: Path) -> None:
    secret = "eyJhbGciOiJSUzI1NiJ9.very-secret-token-pasted-here"
    with pytest.raises(InputError) as info:
        _load(_write(tmp_path / "config", secret + "\n"))
    assert secret not in info.value.message and "eyJ" not in info.value.message


def test_kubeconfig_that_is_a_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory, not a kubeconfig file"):
        _load(tmp_path)


def test_deeply_nested_kubeconfig_is_refused_not_a_crash(tmp_path: Path) -> None:
    path = _write(tmp_path / "config", "clusters: " + "[" * 20000 + "]" * 20000 + "\n")
    with pytest.raises(InputError, match=str(path)):
        _load(path)


def test_no_configuration_names_what_was_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NoConfigurationError, match=r"no kubeconfig found \(~/.kube/config does not exist\)"):
        _load()
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope"))
    with pytest.raises(NoConfigurationError, match=r"\$KUBECONFIG names no existing file"):
        _load()


# -- in a pod -------------------------------------------------------------------------------------------------


def _service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, namespace: str = "pod-ns") -> Path:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token-123456\n")
    (sa / "ca.crt").write_text("x")
    (sa / "namespace").write_text(namespace)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return sa


def test_in_cluster_uses_the_service_account_and_pod_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sa = _service_account(tmp_path, monkeypatch)
    config = load(None, Overrides(), service_account_dir=str(sa))
    assert (config.host, config.token, config.token_file, config.ca_file, config.namespace) == (
        "https://[fd00::1]:443",
        "sa-token-123456",
        str(sa / "token"),
        str(sa / "ca.crt"),
        "pod-ns",
    )
    monkeypatch.setenv("POD_NAMESPACE", "from-env")
    assert load(None, Overrides(), service_account_dir=str(sa)).namespace == "from-env"
    assert kubeconfig_available(None, str(sa))


def test_in_cluster_honours_server_and_token_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sa = _service_account(tmp_path, monkeypatch)
    config = load(
        None, Overrides(server="https://other:6443", token="flag-token-123"), service_account_dir=str(sa)
    )
    assert (config.host, config.token, config.token_file) == ("https://other:6443", "flag-token-123", None)


def test_in_cluster_needs_the_service_port_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sa = _service_account(tmp_path, monkeypatch)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT")
    assert not kubeconfig_available(None, str(sa))
    with pytest.raises(NoConfigurationError):
        load(None, Overrides(), service_account_dir=str(sa))


# -- --request-timeout ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["99999999999999s", "3000000h", "9223372037s"])
def test_request_timeout_longer_than_a_go_duration_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="out of range"):
        parse_request_timeout(text)


def test_request_timeout_at_the_go_maximum_is_accepted() -> None:
    assert parse_request_timeout("2562047h") == 2562047 * 3600.0
