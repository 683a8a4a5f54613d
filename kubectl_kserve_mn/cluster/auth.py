"""Credentials for API requests: bearer tokens (static, token files, exec plugins, legacy auth providers),
basic auth and client certificates.

:class:`Credentials` gives the transport the ``Authorization`` header and the client certificate for the
next request, and refreshes them when they expire or the server answers 401.

Exec credential plugins follow client-go's protocol (kubernetes/client-go@32ce75a7,
``plugin/pkg/client/auth/exec/exec.go``): the plugin runs with the caller's environment plus the
config's ``env`` and ``KUBERNETES_EXEC_INFO`` (an ``ExecCredential`` whose ``spec.interactive`` says
whether it may prompt, and ``spec.cluster`` when ``provideClusterInfo`` is set); its stdin is the
terminal only when interactive; its stderr is the user's. It must print an ``ExecCredential`` of the
configured ``apiVersion`` with ``status.token`` or a client certificate and key. The result is cached
until ``status.expirationTimestamp`` and re-run after a 401. A token, basic auth or a client
certificate from the kubeconfig or flags win over the plugin (``UpdateTransportConfig``), so
``--token`` works with an exec user.

``auth-provider`` users (gcp, oidc) are handed to the kubernetes client's own loader, imported only then.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.cluster.config import ConnectionConfig, ExecConfig, read_token_file
from kubectl_kserve_mn.errors import ClusterError, InputError

TOKEN_FILE_PERIOD = 60.0
"""client-go re-reads token files after a minute (transport/token_source.go NewCachedFileTokenSource)."""
EXEC_INFO_ENV = "KUBERNETES_EXEC_INFO"

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:\d{2})$")


def parse_rfc3339(text: str) -> float:
    """An RFC 3339 timestamp (``2024-05-01T10:00:00.123456789Z``) as a POSIX time."""
    import calendar

    match = _RFC3339.match(text.strip())
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    seconds = float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
    if match.group(7):
        seconds += float(match.group(7))
    zone = match.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds


@dataclass
class ClientCertificate:
    """A client certificate and key in PEM (from the kubeconfig, a file pair or an exec plugin)."""

    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    cert_file: str | None = None
    key_file: str | None = None


class ExecPlugin:
    """Runs one exec credential plugin and caches what it returns."""

    def __init__(
        self,
        config: ExecConfig,
        cluster_info: dict[str, Any] | None,
        *,
        remember_secret: Callable[[str], None],
        stdin_is_tty: Callable[[], bool] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.cluster_info = cluster_info
        self._remember_secret = remember_secret
        self._stdin_is_tty = stdin_is_tty or _stdin_is_tty
        self._now = now
        self.token: str | None = None
        self.certificate: ClientCertificate | None = None
        self.expiry: float | None = None
        self.generation = 0
        """Bumped on each run; the transport rebuilds TLS when the certificate changes."""
        self.runs = 0
        self.around_run: Callable[[], AbstractContextManager[None]] = nullcontext
        """Wraps each run (the CLI pauses its progress line while a plugin may prompt)."""

    @property
    def valid(self) -> bool:
        if self.generation == 0:
            return False
        return self.expiry is None or self._now() < self.expiry

    def _interactive(self) -> bool:
        mode = self.config.interactive_mode
        if mode == "Never":
            return False
        tty = self._stdin_is_tty()
        if mode == "Always" and not tty:
            raise ClusterError(
                f"exec plugin {self.config.command}: it needs a terminal (interactiveMode: Always) "
                "but standard input is not a terminal"
            )
        return tty

    def run(self) -> None:
        """Run the plugin and cache its credential (client-go ``refreshCredsLocked``)."""
        interactive = self._interactive()
        spec: dict[str, Any] = {"interactive": interactive}
        if self.config.provide_cluster_info and self.cluster_info is not None:
            spec["cluster"] = self.cluster_info
        request = {"kind": "ExecCredential", "apiVersion": self.config.api_version, "spec": spec}
        env = dict(os.environ)
        env.update(self.config.env)
        env[EXEC_INFO_ENV] = json.dumps(request, separators=(",", ":"))
        command = self.config.command
        with self.around_run():
            try:
                proc = subprocess.run(
                    [command, *self.config.args],
                    env=env,
                    stdin=None if interactive else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=None,
                    check=False,
                )
            except FileNotFoundError:
                hint = f" ({self.config.install_hint.strip()})" if self.config.install_hint.strip() else ""
                raise ClusterError(
                    f"exec plugin: executable {command} not found; it is needed to log in to the cluster{hint}"
                ) from None
            except PermissionError:
                raise ClusterError(f"exec plugin: {command} is not executable") from None
            except OSError as err:
                raise ClusterError(f"exec plugin {command}: {err.strerror or err}") from None
        self.runs += 1
        if proc.returncode != 0:
            raise ClusterError(f"exec plugin: executable {command} failed with exit code {proc.returncode}")
        self._accept(proc.stdout)

    def _accept(self, stdout: bytes) -> None:
        command = self.config.command
        try:
            doc = json.loads(stdout)
        except ValueError:
            raise ClusterError(
                f"exec plugin {command}: its output is not an ExecCredential (not JSON)"
            ) from None
        if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
            raise ClusterError(f"exec plugin {command}: its output is not an ExecCredential")
        if doc.get("apiVersion") != self.config.api_version:
            raise ClusterError(
                f"exec plugin {command} is configured to use API version {self.config.api_version}, "
                f"plugin returned version {doc.get('apiVersion')}"
            )
        status = doc.get("status")
        if not isinstance(status, dict):
            raise ClusterError(f"exec plugin {command} didn't return a status field")
        token = status.get("token") or None
        cert = status.get("clientCertificateData") or None
        key = status.get("clientKeyData") or None
        if not all(isinstance(v, str | None) for v in (token, cert, key)):
            raise ClusterError(f"exec plugin {command}: status fields must be strings")
        if not token and not cert and not key:
            raise ClusterError(f"exec plugin {command} didn't return a token or cert/key pair")
        if bool(cert) != bool(key):
            raise ClusterError(f"exec plugin {command} returned only certificate or key, not both")
        expiry: float | None = None
        stamp = status.get("expirationTimestamp")
        if stamp:
            try:
                expiry = parse_rfc3339(str(stamp))
            except ValueError:
                raise ClusterError(
                    f"exec plugin {command}: expirationTimestamp {str(stamp)[:40]!r} is not an RFC 3339 time"
                ) from None
        for secret in (token, key, cert):
            if secret:
                self._remember_secret(secret)
        self.token = token
        self.certificate = (
            ClientCertificate(cert_pem=cert.encode(), key_pem=key.encode()) if cert and key else None
        )
        self.expiry = expiry
        self.generation += 1


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


def exec_cluster_info(config: ConnectionConfig) -> dict[str, Any]:
    """``spec.cluster`` for ``provideClusterInfo`` plugins (client-go rest/exec.go ConfigToExecCluster)."""
    info: dict[str, Any] = {"server": config.host}
    if config.tls_server_name:
        info["tls-server-name"] = config.tls_server_name
    if config.insecure:
        info["insecure-skip-tls-verify"] = True
    ca = config.ca_data
    if ca is None and config.ca_file:
        try:
            with open(config.ca_file, "rb") as handle:
                ca = handle.read()
        except OSError as err:
            raise InputError(f"certificate-authority {config.ca_file}: {err.strerror or err}") from None
    if ca:
        info["certificate-authority-data"] = base64.b64encode(ca).decode()
    if config.proxy_url:
        info["proxy-url"] = config.proxy_url
    if config.disable_compression:
        info["disable-compression"] = True
    if config.exec is not None and config.exec.cluster_config is not None:
        info["config"] = config.exec.cluster_config
    return info


class Credentials:
    """What identifies the user on each request, kept fresh (thread-safe)."""

    def __init__(self, config: ConnectionConfig, *, remember_secret: Callable[[str], None]) -> None:
        self._config = config
        self._remember_secret = remember_secret
        self._lock = threading.RLock()
        self._token = config.token
        self._token_read_at = time.monotonic()
        self._basic: str | None = None
        if config.username or config.password:
            raw = f"{config.username or ''}:{config.password or ''}".encode()
            self._basic = "Basic " + base64.b64encode(raw).decode()
            remember_secret(self._basic.split(" ", 1)[1])
        self.static_certificate: ClientCertificate | None = None
        if config.cert_file or config.cert_data:
            self.static_certificate = ClientCertificate(
                cert_pem=config.cert_data,
                key_pem=config.key_data,
                cert_file=config.cert_file,
                key_file=config.key_file,
            )
        self.plugin: ExecPlugin | None = None
        # exec.go UpdateTransportConfig: a token, basic auth or a client certificate wins over the plugin.
        if config.exec is not None and not (self._token or self._basic or self.static_certificate):
            self.plugin = ExecPlugin(
                config.exec,
                exec_cluster_info(config) if config.exec.provide_cluster_info else None,
                remember_secret=remember_secret,
            )
        self._provider_refresh: Callable[[], str | None] | None = None
        if config.auth_provider is not None and not (self._token or self._basic or self.static_certificate):
            from kubectl_kserve_mn.cluster.legacy_auth import auth_provider_token

            self._token, self._provider_refresh = auth_provider_token(config)
            if self._token:
                remember_secret(self._token)

    @property
    def active(self) -> bool:
        """Whether any credential is configured (else requests are anonymous)."""
        return bool(
            self._token or self._basic or self.static_certificate or self.plugin or self._config.token_file
        )

    def prepare(self) -> None:
        """Make sure the credentials are there before a request (runs an exec plugin the first time)."""
        with self._lock:
            if self.plugin is not None and not self.plugin.valid:
                self.plugin.run()
            elif self._config.token_file and time.monotonic() - self._token_read_at > TOKEN_FILE_PERIOD:
                self._reread_token_file()

    def certificate(self) -> tuple[ClientCertificate | None, int]:
        """The client certificate for new TLS connections and a version number that changes with it."""
        with self._lock:
            if self.plugin is not None:
                return self.plugin.certificate, self.plugin.generation
            return self.static_certificate, 0

    def authorization(self) -> str | None:
        """The ``Authorization`` header value, or None."""
        with self._lock:
            if self._token:
                return f"Bearer {self._token}"
            if self._basic:
                return self._basic
            if self.plugin is not None and self.plugin.token:
                return f"Bearer {self.plugin.token}"
            return None

    def refresh_after_401(self, used: str | None) -> bool:
        """After a 401: re-run the plugin or re-read the token file, unless someone already did.

        Returns whether a retry may succeed (the credential changed)."""
        with self._lock:
            if self.authorization() != used:
                return True  # another thread refreshed meanwhile
            if self.plugin is not None:
                self.plugin.run()
                return self.authorization() != used
            if self._config.token_file:
                before = self._token
                self._reread_token_file()
                return self._token != before
            if self._provider_refresh is not None:
                token = self._provider_refresh()
                if token and token != self._token:
                    self._token = token
                    self._remember_secret(token)
                    return True
            return False

    def _reread_token_file(self) -> None:
        assert self._config.token_file is not None
        try:
            token = read_token_file(self._config.token_file)
        except InputError:
            return  # keep the previous token, like client-go's caching token source
        self._token_read_at = time.monotonic()
        if token != self._token:
            self._token = token
            self._remember_secret(token)
