"""What a connection is (:class:`ConnectionConfig`), kubectl's flags that change it (:class:`Overrides`),
the checks kubectl makes on it, and the in-cluster (service account) connection.

:mod:`.kubeconfig` builds a ConnectionConfig from kubeconfig files; :func:`in_cluster` from the pod's
service account (kubernetes/client-go@32ce75a7 ``rest/config.go`` InClusterConfig,
``tools/clientcmd/merged_client_builder.go`` inClusterClientConfig). Nothing here touches the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubectl_kserve_mn.errors import InputError

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
"""The ExecCredential versions client-go accepts (plugin/pkg/client/auth/exec/exec.go ``apiVersions``)."""
EXEC_CLUSTER_EXTENSION = "client.authentication.k8s.io/exec"
"""The cluster extension handed to exec plugins as ``spec.cluster.config`` (clientcmd ``clusterExtensionKey``)."""
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")

# Go's time.Duration is an int64 of nanoseconds: kubectl refuses anything longer.
MAX_DURATION_SECONDS = (2**63 - 1) / 1e9

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_request_timeout(text: str | None) -> float | None:
    """kubectl's ``--request-timeout``: ``0`` (none), a plain number of seconds or a Go duration
    (``500ms``, ``10s``, ``1m30s``). Returns seconds, None for no timeout."""
    if text is None:
        return None
    value = text.strip()
    bad = InputError(
        f"--request-timeout {text!r}: expected a number of seconds or a duration with a unit (e.g. 10s, 2m, 500ms)"
    )
    if not value:
        raise bad
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        seconds = float(value)
    else:
        pos = 0
        seconds = 0.0
        for match in _DURATION_PART.finditer(value):
            if match.start() != pos:
                raise bad
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos != len(value) or pos == 0:
            raise bad
    if seconds > MAX_DURATION_SECONDS:
        raise InputError(
            f"--request-timeout {text!r}: out of range (kubectl allows at most 2562047h, about 292 years)"
        )
    return seconds or None


@dataclass(frozen=True)
class Overrides:
    """kubectl's global flags that change where and as whom the tool connects (clientcmd ConfigOverrides)."""

    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    server: str | None = None
    token: str | None = None
    impersonate: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None


@dataclass
class ExecConfig:
    """A kubeconfig user's ``exec`` credential plugin (clientcmd/api ExecConfig)."""

    command: str
    args: list[str] = field(repr=False)
    env: list[tuple[str, str]] = field(repr=False)
    api_version: str
    interactive_mode: str
    provide_cluster_info: bool = False
    install_hint: str = ""
    cluster_config: Any = None
    """The cluster's ``client.authentication.k8s.io/exec`` extension, passed to the plugin."""


@dataclass
class AuthProvider:
    """A legacy ``auth-provider`` user (gcp, oidc, azure): only the kubernetes client knows these."""

    name: str
    user_name: str
    user: dict[str, Any]
    """The whole kubeconfig user body (the client's loader reads and may refresh it)."""
    source: str | None
    """The kubeconfig file that holds the user (refreshed tokens are written back there)."""


@dataclass
class ConnectionConfig:
    """Everything needed to talk to one API server (client-go's rest.Config, the parts we use)."""

    host: str
    """``https://host:port`` plus any path prefix, no trailing slash."""
    context: str
    """Named in error messages: the kubeconfig context, ``in-cluster`` or ``(flags)``."""
    namespace: str | None = None
    """The context's (or the pod's) namespace; None means ``default`` unless a flag says otherwise."""
    ca_file: str | None = None
    ca_data: bytes | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    disable_compression: bool = False
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None
    """Re-read while running (client-go re-reads it every minute and after a 401)."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cert_file: str | None = None
    cert_data: bytes | None = field(default=None, repr=False)
    key_file: str | None = None
    key_data: bytes | None = field(default=None, repr=False)
    exec: ExecConfig | None = None
    auth_provider: AuthProvider | None = field(default=None, repr=False)
    impersonate: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_extra: dict[str, list[str]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list, repr=False)
    """Credential strings that must never be printed (error messages are scrubbed of them)."""

    @property
    def uses_tls(self) -> bool:
        return self.host.startswith("https://")


class NoConfigurationError(InputError):
    """No kubeconfig, no ``--server`` and not in a pod (exit 2); the CLI adds command-specific advice."""


def normalize_host(server: str, *, tls: bool) -> str:
    """client-go's DefaultServerURL: a server without a scheme gets https when TLS is configured."""
    from urllib.parse import urlsplit

    text = server.strip()
    if "://" not in text:
        text = ("https://" if tls else "http://") + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"server {server!r}: expected a URL such as https://host:6443")
    try:
        _ = parts.port
    except ValueError:
        raise InputError(f"server {server!r}: the port is not a number between 0 and 65535") from None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def resolve_path(path: str, source: str) -> str:
    path = os.path.expanduser(path)
    if os.path.isabs(path) or not source or source.startswith("("):
        return path
    return os.path.join(os.path.dirname(os.path.abspath(source)), path)


def remember(config: ConnectionConfig, value: str | None) -> None:
    if value and len(value) >= 6 and value not in config.secrets:
        config.secrets.append(value)
        stripped = value.strip()
        if stripped != value and len(stripped) >= 6:
            config.secrets.append(stripped)


def validate(config: ConnectionConfig, user: str, cluster: str) -> None:
    """clientcmd validation.go (validateClusterInfo, validateAuthInfo) and the transport's TLS checks."""
    if config.ca_file and config.ca_data:
        raise InputError(
            f"certificate-authority-data and certificate-authority are both specified for cluster {cluster!r}"
        )
    if config.ca_file:
        _readable(config.ca_file, f"certificate-authority for cluster {cluster!r}")
    if config.insecure and (config.ca_file or config.ca_data):
        raise InputError(
            f"cluster {cluster!r}: a certificate authority and insecure-skip-tls-verify cannot both be set "
            "(kubectl refuses it too)"
        )
    if config.cert_file or config.cert_data:
        if config.cert_file and config.cert_data:
            raise InputError(
                f"client-certificate-data and client-certificate are both specified for user {user!r}"
            )
        if config.key_file and config.key_data:
            raise InputError(f"client-key-data and client-key are both specified for user {user!r}")
        if not config.key_file and not config.key_data:
            raise InputError(f"user {user!r} has a client certificate but no client-key or client-key-data")
        if config.cert_file:
            _readable(config.cert_file, f"client-certificate for user {user!r}")
        if config.key_file:
            _readable(config.key_file, f"client-key for user {user!r}")
    elif config.key_file or config.key_data:
        raise InputError(f"user {user!r} has a client key but no client-certificate")
    if config.token and (config.username or config.password):
        raise InputError(
            f"more than one authentication method found for user {user!r}: token and basic auth; only one is allowed"
        )
    if config.exec is not None and config.auth_provider is not None:
        raise InputError(f"user {user!r}: auth-provider and exec cannot be used together")
    if (
        config.impersonate_uid or config.impersonate_groups or config.impersonate_extra
    ) and not config.impersonate:
        raise InputError(
            "--as-group, --as-uid or as-user-extra need a user to impersonate (--as or the user's 'as')"
        )
    if config.token_file and not config.token:
        config.token = read_token_file(config.token_file, f"tokenFile of user {user!r}")
        remember(config, config.token)


def _readable(path: str, what: str) -> None:
    if os.path.isdir(path):
        raise InputError(f"{what}: {path} is a directory, not a file")
    if not os.access(path, os.R_OK):
        reason = "no such file" if not os.path.exists(path) else "permission denied"
        raise InputError(f"{what}: cannot read {path} ({reason})")


def read_token_file(path: str, what: str = "token file") -> str:
    """A bearer token file's content, stripped (client-go trims the file-based token source)."""
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as err:
        raise InputError(f"{what}: cannot read {path} ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise InputError(f"{what}: {path} is not UTF-8 text") from None
    if not token:
        raise InputError(f"{what}: {path} is empty")
    return token


def in_cluster_possible(service_account_dir: str = SERVICE_ACCOUNT_DIR) -> bool:
    """client-go's ``inClusterClientConfig.Possible``: service env vars and a token file."""
    return (
        bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        and bool(os.environ.get("KUBERNETES_SERVICE_PORT"))
        and os.path.isfile(os.path.join(service_account_dir, "token"))
    )


def in_cluster(overrides: Overrides, service_account_dir: str) -> ConnectionConfig:
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ["KUBERNETES_SERVICE_PORT"]
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    token_file = os.path.join(service_account_dir, "token")
    ca_file = os.path.join(service_account_dir, "ca.crt")
    config = ConnectionConfig(
        host=f"https://{netloc}",
        context="in-cluster",
        namespace=_pod_namespace(service_account_dir),
        ca_file=ca_file if os.path.isfile(ca_file) else None,
        token_file=token_file,
    )
    # merged_client_builder.go inClusterClientConfig: only server, token and CA file flags apply.
    if overrides.server:
        config.host = normalize_host(overrides.server, tls=True)
    if overrides.certificate_authority:
        config.ca_file = resolve_path(overrides.certificate_authority, "")
    if overrides.token:
        config.token, config.token_file = overrides.token, None
    else:
        config.token = read_token_file(token_file, "the service account token")
    config.impersonate = overrides.impersonate
    config.impersonate_uid = overrides.impersonate_uid
    config.impersonate_groups = tuple(overrides.impersonate_groups)
    remember(config, config.token)
    validate(config, "in-cluster", "in-cluster")
    return config


def _pod_namespace(service_account_dir: str) -> str | None:
    """inClusterClientConfig.Namespace: POD_NAMESPACE, else the service account's namespace file."""
    namespace = os.environ.get("POD_NAMESPACE")
    if namespace:
        return namespace
    try:
        with open(os.path.join(service_account_dir, "namespace"), encoding="utf-8") as handle:
            return handle.read().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


Redactor = Callable[[str], str]


def redactor(secrets: list[str]) -> Redactor:
    """A function that replaces every known credential in a text with ``<redacted>``."""
    ordered = sorted(set(secrets), key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in ordered:
            if secret in text:
                text = text.replace(secret, "<redacted>")
        return text

    return redact
