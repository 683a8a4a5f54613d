"""HTTPS to the API server on ``http.client``: a keep-alive pool, TLS, proxies, timeouts, retries.

Chosen over urllib3 by measurement (``python -X importtime``, docs in the package docstring): the
standard library's ``http.client`` and ``ssl`` import in a fraction of urllib3's time and give what a
kubectl-like client needs:

- TLS with the kubeconfig's CA (data or file; the system's roots when none is given), the client
  certificate and key (data is written to 0600 files in a private temporary directory for
  ``ssl.load_cert_chain`` and removed at once), ``insecure-skip-tls-verify``, ``tls-server-name`` (the
  name sent as SNI and checked against the certificate), TLS 1.2 or newer like client-go.
- Connections are reused (HTTP/1.1 keep-alive) from a small pool, one per concurrent request; a pooled
  connection the server closed is detected before reuse, and a request that fails on a reused
  connection before any answer is sent again once on a fresh one.
- Timeouts like kubectl: connecting gives up after 30 s (client-go's dialer); ``--request-timeout``
  bounds each whole request, body included; without it there is no read timeout.
- Retries only for refused connections (twice, quickly): nothing is re-sent once the server may have
  seen it, except after a 401 when the credential was refreshed (exec plugin, token file).
- ``Accept-Encoding: gzip`` unless the kubeconfig sets ``disable-compression`` (kubectl asks for gzip too).
- Proxies: the cluster's ``proxy-url`` (http), else ``HTTPS_PROXY``/``HTTP_PROXY`` with ``NO_PROXY``
  like Go's ``httpproxy`` (loopback addresses never go through a proxy), as CONNECT tunnels.

Every failure becomes a one-line :class:`~kubectl_kserve_mn.errors.ClusterError`.
"""

from __future__ import annotations

import base64
import http.client
import os
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlencode, urlsplit

from kubectl_kserve_mn.cluster.auth import ClientCertificate, Credentials
from kubectl_kserve_mn.cluster.config import ConnectionConfig
from kubectl_kserve_mn.errors import ClusterError, InputError

CONNECT_TIMEOUT = 30.0
"""client-go's dialer gives up connecting after 30 s (k8s.io/client-go/transport/cache.go)."""
CONNECT_RETRIES = 2
READ_CHUNK = 1 << 20
MAX_SOCKET_TIMEOUT = 1e7
"""Longer socket timeouts overflow the C timer; nobody waits 115 days for an answer."""


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class _Connection(http.client.HTTPConnection):
    """One TCP (+ CONNECT tunnel) + TLS connection, with its own SNI/verification name."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float,
        context: ssl.SSLContext | None,
        server_hostname: str,
        proxy: tuple[str, int, dict[str, str]] | None,
        generation: int,
    ) -> None:
        if proxy is not None:
            super().__init__(proxy[0], proxy[1], timeout=timeout)
            self.set_tunnel(host, port, headers=proxy[2])
        else:
            super().__init__(host, port, timeout=timeout)
        self._context = context
        self._server_hostname = server_hostname
        self.generation = generation
        self.used = False

    def connect(self) -> None:
        super().connect()  # TCP, then the proxy's CONNECT when tunnelling
        if self._context is not None:
            self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_hostname)

    def dropped(self) -> bool:
        """Whether the server closed this idle connection (urllib3's is_connection_dropped)."""
        sock = self.sock
        if sock is None:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


def _no_password() -> bytes:
    raise ValueError("encrypted private keys are not supported (kubectl does not support them either)")


def _tls_context(config: ConnectionConfig, certificate: ClientCertificate | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif config.ca_data or config.ca_file:
        try:
            if config.ca_data:
                context.load_verify_locations(cadata=config.ca_data.decode("ascii", "replace"))
            else:
                context.load_verify_locations(cafile=config.ca_file)
        except (ssl.SSLError, ValueError) as err:
            where = (
                "certificate-authority-data" if config.ca_data else f"certificate-authority {config.ca_file}"
            )
            raise InputError(f"{where}: not a PEM certificate ({_ssl_reason(err)})") from None
        except OSError as err:
            raise InputError(f"certificate-authority {config.ca_file}: {err.strerror or err}") from None
    else:
        context.load_default_certs()
        try:
            import certifi

            context.load_verify_locations(cafile=certifi.where())
        except (ImportError, OSError, ssl.SSLError):
            pass
    if certificate is not None:
        _load_client_certificate(context, certificate)
    return context


def _load_client_certificate(context: ssl.SSLContext, cert: ClientCertificate) -> None:
    """``load_cert_chain`` needs files: PEM data goes to 0600 files in a private directory, removed at once."""
    import shutil
    import tempfile

    folder: str | None = None
    try:
        cert_path, key_path = cert.cert_file, cert.key_file
        if cert.cert_pem is not None or cert.key_pem is not None:
            folder = tempfile.mkdtemp(prefix="kserve-mn-tls-")  # mode 0700
            if cert.cert_pem is not None:
                cert_path = _private_file(folder, "client.crt", cert.cert_pem)
            if cert.key_pem is not None:
                key_path = _private_file(folder, "client.key", cert.key_pem)
        assert cert_path is not None
        context.load_cert_chain(cert_path, key_path, password=_no_password)
    except ValueError as err:
        raise InputError(f"client key: {err}") from None
    except ssl.SSLError as err:
        reason = _ssl_reason(err)
        if "KEY_VALUES_MISMATCH" in reason.upper():
            raise InputError("the client certificate and client key do not belong together") from None
        raise InputError(f"client certificate or key: not valid PEM ({reason})") from None
    except OSError as err:
        raise InputError(f"client certificate or key: {err.strerror or err}") from None
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _private_file(folder: str, name: str, data: bytes) -> str:
    path = os.path.join(folder, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def _ssl_reason(err: BaseException) -> str:
    verify = getattr(err, "verify_message", None)
    if verify:
        return str(verify).strip().rstrip(".")
    reason = getattr(err, "reason", None)
    if reason:
        return str(reason)
    text = " ".join(str(err).split())
    return text.split("] ", 1)[-1].split(" (_ssl")[0]


_TLS_REASONS = {
    "CERTIFICATE_REQUIRED": "the server requires a client certificate (none was sent)",
    "BAD_CERTIFICATE": "the server refused the client certificate",
    "UNKNOWN_CA": "the server does not trust the client certificate's issuer",
    "CERTIFICATE_UNKNOWN": "the server refused the client certificate",
    "WRONG_VERSION_NUMBER": "the server does not speak TLS on this port (is it http://?)",
}


def _tls_why(err: BaseException) -> str:
    if isinstance(err, ssl.SSLEOFError):
        return "the server closed the connection during the TLS handshake (does it require a client certificate?)"
    reason = _ssl_reason(err)
    for key, text in _TLS_REASONS.items():
        if key in reason.upper():
            return text
    return reason.replace("_", " ").lower() if reason.isupper() else reason


# -- proxies ------------------------------------------------------------------------------------------------


def _env(*names: str) -> str:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return ""


def _no_proxy_matches(host: str, port: int, no_proxy: str) -> bool:
    """Go's golang.org/x/net/http/httpproxy ``useProxy`` for one host (False: use the proxy)."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            network = None
        if network is not None and "/" in entry:
            if ip is not None and ip in network:
                return True
            continue
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port != str(port):
            continue
        if ip is not None:
            if name.strip("[]") == str(ip):
                return True
            continue
        host_l = host.lower()
        if name.startswith("*."):
            name = name[1:]
        if host_l == name.lstrip(".") or (
            host_l.endswith(name) if name.startswith(".") else host_l.endswith("." + name)
        ):
            return True
    return False


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def proxy_for(
    config: ConnectionConfig, scheme: str, host: str, port: int
) -> tuple[str, int, dict[str, str]] | None:
    """The proxy (host, port, CONNECT headers) for the API server, or None for a direct connection."""
    url = config.proxy_url
    if not url:
        url = _env("HTTPS_PROXY", "https_proxy") if scheme == "https" else _env("HTTP_PROXY", "http_proxy")
        if not url or _is_loopback(host) or _no_proxy_matches(host, port, _env("NO_PROXY", "no_proxy")):
            return None
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise InputError(
            f"proxy {parts.scheme}://{parts.hostname or ''}: only http:// proxies are supported by kubectl-kserve-mn"
        )
    headers: dict[str, str] = {}
    if parts.username is not None:
        raw = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(raw).decode()
    return parts.hostname, parts.port or 80, headers


# -- the transport ------------------------------------------------------------------------------------------


class Transport:
    """Requests to one API server, thread-safe (one pooled connection per concurrent request)."""

    def __init__(
        self,
        config: ConnectionConfig,
        credentials: Credentials,
        *,
        timeout: float | None,
        user_agent: str,
        redact: Callable[[str], str],
    ) -> None:
        self.config = config
        self.credentials = credentials
        self.timeout = timeout
        self.user_agent = user_agent
        self._redact = redact
        parts = urlsplit(config.host)
        self.scheme = parts.scheme
        self.hostname = parts.hostname or ""
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self._proxy = proxy_for(config, self.scheme, self.hostname, self.port)
        self._lock = threading.Lock()
        self._idle: list[_Connection] = []
        self._contexts: dict[int, ssl.SSLContext] = {}
        self._static_headers = self._make_static_headers()
        if self.scheme == "https":
            # Bad CA or client certificate files are input errors: find them before the first request.
            cert, generation = credentials.certificate()
            self._contexts[generation] = _tls_context(config, cert)

    def _make_static_headers(self) -> list[tuple[str, str]]:
        headers = [("User-Agent", self.user_agent)]
        if not self.config.disable_compression:
            headers.append(("Accept-Encoding", "gzip"))
        config = self.config
        if config.impersonate:
            # client-go transport/round_trippers.go impersonatingRoundTripper
            headers.append(("Impersonate-User", config.impersonate))
            if config.impersonate_uid:
                headers.append(("Impersonate-Uid", config.impersonate_uid))
            headers.extend(("Impersonate-Group", group) for group in config.impersonate_groups)
            for key, values in config.impersonate_extra.items():
                from urllib.parse import quote

                headers.extend((f"Impersonate-Extra-{quote(key, safe='')}", value) for value in values)
        return headers

    # -- connections -----------------------------------------------------------------------------------

    def _context(self) -> tuple[ssl.SSLContext | None, int]:
        if self.scheme != "https":
            return None, 0
        cert, generation = self.credentials.certificate()
        with self._lock:
            context = self._contexts.get(generation)
            if context is None:
                self._contexts = {generation: _tls_context(self.config, cert)}
                context = self._contexts[generation]
                stale, self._idle = self._idle, []
            else:
                stale = []
        for conn in stale:
            conn.close()
        return context, generation

    def _take(self, deadline: float | None) -> _Connection:
        context, generation = self._context()
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if conn.generation == generation and not conn.dropped():
                return conn
            conn.close()
        connect_timeout = CONNECT_TIMEOUT
        if deadline is not None:
            connect_timeout = max(0.001, min(connect_timeout, deadline - time.monotonic()))
        return _Connection(
            self.hostname,
            self.port,
            timeout=connect_timeout,
            context=context,
            server_hostname=self.config.tls_server_name or self.hostname,
            proxy=self._proxy,
            generation=generation,
        )

    def _give_back(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < 8:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- requests ----------------------------------------------------------------------------------------

    def url_path(self, path: str, query: Sequence[tuple[str, str]] = ()) -> str:
        return self.prefix + path + ("?" + urlencode(list(query)) if query else "")

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> Response:
        """Send one request; the whole answer is read (any status). Raises ClusterError when there is none."""
        target = self.url_path(path, query)
        deadline = time.monotonic() + self.timeout if self.timeout else None
        uses_tls = self.scheme == "https"
        if uses_tls:
            self.credentials.prepare()
        refreshed = False
        while True:
            authorization = self.credentials.authorization() if uses_tls else None
            headers = list(self._static_headers)
            headers.append(("Accept", "application/json"))
            if authorization:
                headers.append(("Authorization", authorization))
            if content_type:
                headers.append(("Content-Type", content_type))
            response = self._send(method, target, headers, body, deadline)
            if response.status == 401 and uses_tls and not refreshed:
                refreshed = True
                if self.credentials.refresh_after_401(authorization):
                    continue
            return response

    def _send(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        deadline: float | None,
    ) -> Response:
        refused = 0
        resent = False
        while True:
            conn = self._take(deadline)
            reused = conn.sock is not None
            if not reused:
                try:
                    conn.connect()
                except ConnectionRefusedError:
                    conn.close()
                    if refused < CONNECT_RETRIES:
                        refused += 1
                        time.sleep(0.05 * refused)
                        continue
                    raise self._unreachable("connection refused") from None
                except ssl.SSLError as err:
                    conn.close()
                    raise self._tls_error(err) from None
                except OSError as err:
                    conn.close()
                    raise self._connect_error(err) from None
            try:
                response = self._exchange(conn, method, target, headers, body, deadline)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as err:
                conn.close()
                if reused and not resent:
                    resent = True  # the server closed an idle keep-alive connection: nothing was processed
                    continue
                if isinstance(err, ConnectionResetError) and self.scheme == "https" and not reused:
                    raise ClusterError(
                        self._redact(
                            f"TLS error talking to {self.config.host}: the server closed the connection "
                            "(does it require a client certificate?)"
                        )
                    ) from None
                raise self._unreachable("the server closed the connection") from None
            except ssl.SSLError as err:
                conn.close()
                raise self._tls_error(err) from None
            except TimeoutError:
                conn.close()
                raise self._unreachable("request timed out (--request-timeout)") from None
            except http.client.IncompleteRead:
                conn.close()
                raise self._unreachable("the connection closed while the answer was being read") from None
            except (http.client.HTTPException, OSError) as err:
                conn.close()
                raise self._unreachable(_os_why(err)) from None
            return response

    def _exchange(
        self,
        conn: _Connection,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        deadline: float | None,
    ) -> Response:
        self._set_timeout(conn, deadline, default=None)
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        raw = conn.getresponse()
        if deadline is None:
            data = raw.read()
        else:
            chunks: list[bytes] = []
            while True:
                self._set_timeout(conn, deadline, default=None)
                chunk = raw.read(READ_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
            data = b"".join(chunks)
        if raw.getheader("Content-Encoding", "").lower() == "gzip":
            try:
                data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
            except zlib.error:
                raise http.client.HTTPException("the server sent a broken gzip body") from None
        response = Response(raw.status, raw.headers, data)
        if raw.will_close:
            conn.close()
        else:
            self._give_back(conn)
        return response

    @staticmethod
    def _set_timeout(conn: _Connection, deadline: float | None, default: float | None) -> None:
        if conn.sock is None:
            return
        if deadline is None:
            conn.sock.settimeout(default)
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        conn.sock.settimeout(min(remaining, MAX_SOCKET_TIMEOUT))

    # -- errors ------------------------------------------------------------------------------------------

    def _unreachable(self, why: str) -> ClusterError:
        return ClusterError(self._redact(f"cannot reach the cluster at {self.config.host}: {why}"))

    def _tls_error(self, err: BaseException) -> ClusterError:
        return ClusterError(
            self._redact(
                f"TLS error talking to {self.config.host}: {_tls_why(err)}; check the cluster's "
                "certificate-authority (or tls-server-name) in your kubeconfig"
            )
        )

    def _connect_error(self, err: OSError) -> ClusterError:
        if isinstance(err, socket.gaierror):
            return self._unreachable("cannot resolve the host name (DNS)")
        if isinstance(err, TimeoutError):
            return self._unreachable("connection timed out")
        if self._proxy is not None and isinstance(err, OSError) and "Tunnel connection failed" in str(err):
            return self._unreachable(f"the proxy refused the tunnel ({str(err).split(':', 1)[-1].strip()})")
        return self._unreachable(_os_why(err))


def _os_why(err: BaseException) -> str:
    text = str(getattr(err, "strerror", None) or " ".join(str(err).split()) or type(err).__name__)
    return text[:1].lower() + text[1:]
