"""The only module that talks to the Kubernetes API.

Everything else in the tool is pure functions over the plain dicts returned here. Design points:

- kubectl's connection semantics: ``--kubeconfig``, ``$KUBECONFIG`` with several files joined by
  ``os.pathsep`` (merged first-wins by the client's ``KubeConfigMerger``, as kubectl does), ``--context``,
  ``--cluster`` and ``--user`` overrides, in-cluster config in a pod, namespace from the flag, else the
  context, else ``default``. Authentication (token, client certificate, exec plugin, auth providers) is the
  kubernetes client's ``KubeConfigLoader``.
- Lists are paginated (``limit``/``continue``) and read as raw JSON: the client's model classes are very
  slow for 20,000 pods, so every request goes through ``ApiClient.param_serialize`` (auth headers,
  token refresh) and ``ApiClient.call_api`` and the body is ``json.loads``-ed.
- The kubernetes package is imported inside :class:`Cluster` only: ``--help`` must not pay for it.
- Every failure becomes one :mod:`kubectl_kserve_mn.errors` exception with a one-line message that never
  contains credentials.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.errors import ClusterError, ConflictError, InputError, NotFoundError
from kubectl_kserve_mn.kserve import eras

PAGE_LIMIT = 500
"""Items per list request (kubectl's ``--chunk-size`` default)."""

GPU_POD_FIELD_SELECTOR = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"
"""Non-terminal pods bound to a node: the pods that hold GPUs (kubectl describe node uses the same)."""

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

FIELD_MANAGER = "kubectl-kserve-mn"

KSERVE_GROUP = "serving.kserve.io"
ISVC_CRD = "inferenceservices.serving.kserve.io"
LLMISVC_CRD = "llminferenceservices.serving.kserve.io"
CONTROLLER_LABEL = "control-plane=kserve-controller-manager"
"""Label of the KServe controller Deployment in the release manifests and the Helm chart (SEMANTICS §5.1)."""
INFERENCESERVICE_CONFIG = "inferenceservice-config"
KSERVE_NAMESPACES = ("kserve", "kubeflow", "opendatahub", "redhat-ods-applications")
"""Where KServe's ConfigMap lives when the controller Deployment could not be found."""

# client-go's default dialer gives up connecting after 30s (k8s.io/client-go/transport/cache.go); kubectl
# has no read timeout unless --request-timeout is set.
DEFAULT_CONNECT_TIMEOUT = 30.0

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
    return seconds or None


def _kubeconfig_paths(kubeconfig: str | None) -> list[str]:
    """The kubeconfig files kubectl would read, existing ones only."""
    if kubeconfig:
        return [os.path.expanduser(kubeconfig)]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in (os.path.expanduser(x) for x in env.split(os.pathsep) if x) if os.path.isfile(p)]
    default = os.path.expanduser(os.path.join("~", ".kube", "config"))
    return [default] if os.path.isfile(default) else []


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.isfile(
        os.path.join(SERVICE_ACCOUNT_DIR, "token")
    )


def kubeconfig_available(kubeconfig: str | None = None) -> bool:
    """Whether a cluster connection is configured (without importing the kubernetes client)."""
    if kubeconfig:
        return os.path.isfile(os.path.expanduser(kubeconfig))
    env = os.environ.get("KUBECONFIG")
    if env and any(os.path.isfile(os.path.expanduser(p)) for p in env.split(os.pathsep) if p):
        return True
    if os.path.isfile(os.path.expanduser(os.path.join("~", ".kube", "config"))):
        return True
    return _in_cluster()


@dataclass(frozen=True)
class _Target:
    """What a request is about, for error messages."""

    verb: str
    """Kubernetes verb: list, get, patch."""
    resource: str
    """Plural resource name, e.g. ``pods``."""
    group: str = ""
    kind: str = ""
    namespace: str | None = None
    name: str | None = None
    crd: str | None = None
    """The CRD that serves this resource (None for built-in resources)."""

    @property
    def scope(self) -> str:
        return f'in the namespace "{self.namespace}"' if self.namespace else "at the cluster scope"


class ForbiddenError(ClusterError):
    """HTTP 403: the user may not perform this verb on this resource (exit 3)."""


def _status_of(body: bytes) -> tuple[str, dict[str, Any]]:
    """The message of a Kubernetes ``Status`` body (or the plain text), and its details."""
    text = body.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:300], {}
    if isinstance(doc, dict):
        details = doc.get("details")
        return str(doc.get("message") or doc.get("reason") or ""), details if isinstance(
            details, dict
        ) else {}
    return " ".join(text.split())[:300], {}


class Cluster:
    """A connection to one cluster, described by kubectl's global flags."""

    def __init__(
        self,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        cluster: str | None = None,
        user: str | None = None,
        namespace: str | None = None,
        request_timeout: str | None = None,
    ) -> None:
        timeout = parse_request_timeout(request_timeout)
        self._timeout: float | tuple[float, None] = (
            timeout if timeout is not None else (DEFAULT_CONNECT_TIMEOUT, None)
        )
        self._secrets: list[str] = []
        self._controller_cache: list[dict[str, Any]] | None = None
        self._controller_forbidden: str | None = None

        # Imported here, not at module level: the client's import alone costs about half a second.
        import yaml
        from kubernetes import client as k8s_client
        from kubernetes.config.config_exception import ConfigException

        configuration = k8s_client.Configuration()
        paths = _kubeconfig_paths(kubeconfig)
        if kubeconfig and not os.path.isfile(paths[0]):
            raise InputError(f"--kubeconfig {kubeconfig}: file not found")
        try:
            if paths:
                self.context_name, ctx_namespace = self._load_kubeconfig(
                    configuration, paths, context=context, cluster=cluster, user=user
                )
            elif _in_cluster():
                self.context_name, ctx_namespace = self._load_in_cluster(configuration)
            else:
                where = "$KUBECONFIG" if os.environ.get("KUBECONFIG") else "~/.kube/config"
                raise InputError(
                    f"no kubeconfig found ({where} does not exist) and not running in a pod: "
                    "pass --kubeconfig, set KUBECONFIG, or use --nodes-file for offline input"
                )
        except ConfigException as err:
            raise InputError(f"kubeconfig: {self._redact(str(err))}") from None
        except yaml.YAMLError as err:
            raise InputError(
                f"kubeconfig is not valid YAML: {self._redact(' '.join(str(err).split()))}"
            ) from None
        except OSError as err:
            raise InputError(f"kubeconfig: {self._redact(str(err))}") from None

        self.namespace: str = namespace or ctx_namespace or "default"
        self.host: str = str(configuration.host).rstrip("/")
        for value in configuration.api_key.values():
            self._remember_secret(re.sub(r"^(?i:bearer)\s+", "", str(value)).strip())
        # urllib3 logs each retry as a WARNING, which Python prints to stderr without a handler.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)

        from urllib3.util.retry import Retry

        # Retry refused/failed connects twice like a flaky network deserves, but never re-send a request
        # whose answer we did not read, and fail fast on TLS errors.
        configuration.retries = Retry(total=2, connect=2, read=0, redirect=0, status=0, other=0)
        self._api = k8s_client.ApiClient(configuration)
        self._api.user_agent = "kubectl-kserve-mn"

    # -- configuration ----------------------------------------------------------------------------------

    def _load_kubeconfig(
        self,
        configuration: Any,
        paths: list[str],
        *,
        context: str | None,
        cluster: str | None,
        user: str | None,
    ) -> tuple[str, str | None]:
        from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

        # KubeConfigMerger splits on os.pathsep and merges first-wins by name, like kubectl.
        merger = KubeConfigMerger(os.pathsep.join(paths))
        merged = merger.config
        if merged is None:
            raise InputError(f"kubeconfig {os.pathsep.join(paths)}: no configuration found")
        raw: dict[str, Any] = merged.value
        for entry in [*(raw.get("clusters") or []), *(raw.get("users") or [])]:
            self._collect_secrets(entry.value if hasattr(entry, "value") else entry)

        def names(section: str) -> list[str]:
            return [str(e["name"]) for e in raw.get(section) or [] if "name" in e]

        def find(section: str, name: str) -> Any:
            for entry in raw.get(section) or []:
                if "name" in entry and entry["name"] == name:
                    return entry.value if hasattr(entry, "value") else entry
            return None

        source = os.pathsep.join(paths)
        context_name = context or raw.get("current-context") or ""
        ctx_body: dict[str, Any] = {}
        if context_name:
            ctx_entry = find("contexts", context_name)
            if ctx_entry is None:
                raise InputError(f'context "{context_name}" not found in kubeconfig {source}')
            ctx_body = dict(ctx_entry.get("context") or {})
        elif not cluster:
            raise InputError(f"kubeconfig {source} has no current-context: pass --context")
        if cluster:
            if cluster not in names("clusters"):
                raise InputError(f'cluster "{cluster}" not found in kubeconfig {source}')
            ctx_body["cluster"] = cluster
        if user:
            if user not in names("users"):
                raise InputError(f'user "{user}" not found in kubeconfig {source}')
            ctx_body["user"] = user
        if not ctx_body.get("cluster"):
            raise InputError(f'context "{context_name}" in kubeconfig {source} names no cluster')
        if ctx_body["cluster"] not in names("clusters"):
            raise InputError(
                f'cluster "{ctx_body["cluster"]}" (context "{context_name}") not found in {source}'
            )
        active = context_name
        if cluster or user or not context_name:
            # The loader only knows contexts: give it one with the overrides applied.
            active = "kubectl-kserve-mn-override"
            raw["contexts"].append({"name": active, "context": ctx_body})
        loader = KubeConfigLoader(
            config_dict=merged,
            active_context=active,
            config_base_path=None,
            config_persister=merger.save_changes,
        )
        loader.load_and_set(configuration)
        namespace = ctx_body.get("namespace")
        return context_name or active, str(namespace) if namespace else None

    def _load_in_cluster(self, configuration: Any) -> tuple[str, str | None]:
        from kubernetes.config.incluster_config import InClusterConfigLoader

        InClusterConfigLoader(
            token_filename=os.path.join(SERVICE_ACCOUNT_DIR, "token"),
            cert_filename=os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt"),
        ).load_and_set(configuration)
        namespace = None
        try:
            with open(os.path.join(SERVICE_ACCOUNT_DIR, "namespace"), encoding="utf-8") as handle:
                namespace = handle.read().strip() or None
        except OSError:
            pass
        return "in-cluster", namespace

    def _collect_secrets(self, entry: Any) -> None:
        if not isinstance(entry, dict):
            return
        body = entry.get("user") or entry.get("cluster") or {}
        if not isinstance(body, dict):
            return
        for key in ("token", "client-key-data", "client-certificate-data", "password"):
            value = body.get(key)
            if isinstance(value, str):
                self._remember_secret(value)

    def _remember_secret(self, value: str) -> None:
        if len(value) >= 6 and value not in self._secrets:
            self._secrets.append(value)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text

    # -- transport --------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        target: _Target,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
    ) -> Any:
        """One API call; returns the decoded JSON body or raises a mapped error."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            _, url, header_params, req_body, _ = self._api.param_serialize(
                method=method,
                resource_path=path,
                query_params=list(query),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(
                method, url, header_params=header_params, body=req_body, _request_timeout=self._timeout
            )
            data = response.read()
        except ApiException as err:  # the REST layer turns TLS errors into status-0 ApiExceptions
            raise self._transport_error(str(err.reason or err)) from None
        except urllib3.exceptions.HTTPError as err:
            raise self._transport_error(err) from None
        except OSError as err:
            raise self._transport_error(err) from None
        if not 200 <= response.status <= 299:
            raise self._http_error(response.status, data or b"", method, path, target)
        try:
            return json.loads(data)
        except ValueError:
            raise ClusterError(f"{method} {path}: the server did not answer with JSON") from None

    def _transport_error(self, err: BaseException | str) -> ClusterError:
        import urllib3

        reason: BaseException | str = err
        if isinstance(err, urllib3.exceptions.MaxRetryError) and err.reason is not None:
            reason = err.reason
        text = str(reason)
        if (
            isinstance(reason, urllib3.exceptions.SSLError)
            or "SSLError" in text
            or "CERTIFICATE" in text.upper()
        ):
            detail = re.search(r"\[SSL[^\]]*\]\s*([^()]+?)(?:\s*\(_ssl|\)|$)", text)
            why = detail.group(1).strip() if detail else text.split("\n")[-1]
            return ClusterError(
                self._redact(
                    f"TLS error talking to {self.host}: {why}; check the cluster's certificate-authority "
                    "(or tls-server-name) in your kubeconfig"
                )
            )
        if isinstance(reason, urllib3.exceptions.NameResolutionError) or "Name or service not known" in text:
            why = "cannot resolve the host name (DNS)"
        elif "refused" in text.lower():  # before timeouts: NewConnectionError subclasses ConnectTimeoutError
            why = "connection refused"
        elif isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
            why = "connection timed out"
        elif isinstance(reason, urllib3.exceptions.ReadTimeoutError | TimeoutError):
            why = "request timed out (--request-timeout)"
        else:
            errno_text = re.search(r"\[Errno -?\d+\]\s*([^'\")]+)", text)
            why = errno_text.group(1).strip() if errno_text else text.split(": ")[-1]
        return ClusterError(self._redact(f"cannot reach the cluster at {self.host}: {why}"))

    def _http_error(self, status: int, body: bytes, method: str, path: str, target: _Target) -> ClusterError:
        message, details = _status_of(body)
        message = self._redact(message)
        if status == 401:
            return ClusterError(
                f'unauthorized (401): check your credentials for context "{self.context_name}"'
            )
        if status == 403:
            if not message or "forbidden" not in message:
                message = (
                    f'cannot {target.verb} resource "{target.resource}" in API group "{target.group}" '
                    f"{target.scope}"
                )
            return ForbiddenError(f"forbidden (403): {message}")
        if status == 404:
            object_missing = target.name is not None and (
                details.get("name") == target.name or not target.crd
            )
            if object_missing:
                where = f' in namespace "{target.namespace}"' if target.namespace else ""
                return NotFoundError(f'{target.kind or target.resource} "{target.name}" not found{where}')
            if target.crd:
                return NotFoundError(f"{target.kind} CRD ({target.crd}) not found: is KServe installed?")
            return NotFoundError(f"{method} {path}: not found (404){': ' + message if message else ''}")
        if status == 409:
            where = f"{target.namespace}/" if target.namespace else ""
            return ConflictError(
                f"{target.kind or target.resource} {where}{target.name} was changed by someone else since it was "
                "read (409 Conflict): re-run the command to work from the latest version"
            )
        if status == 410:
            return ClusterError(
                f"{method} {path}: the list changed while it was being read (410 Gone): re-run"
            )
        if status >= 500:
            return ClusterError(f"server error ({status}) on {method} {path}: {message or 'no details'}")
        return ClusterError(f"{method} {path} was rejected ({status}): {message or 'no details'}")

    def _get(self, path: str, target: _Target, query: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        doc = self._request("GET", path, target, query=query)
        if not isinstance(doc, dict):
            raise ClusterError(f"GET {path}: unexpected answer from the server")
        return doc

    def _list(
        self, path: str, target: _Target, query: Sequence[tuple[str, str]] = (), *, kind: str = ""
    ) -> list[dict[str, Any]]:
        """All items of a list, page by page; items get ``kind``/``apiVersion`` like ``kubectl get -o json``."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            page_query = [*query, ("limit", str(PAGE_LIMIT))]
            if token:
                page_query.append(("continue", token))
            doc = self._get(path, target, page_query)
            page = doc.get("items") or []
            api_version = doc.get("apiVersion")
            item_kind = kind or str(doc.get("kind") or "").removesuffix("List")
            for item in page:
                if isinstance(item, dict):
                    if item_kind:
                        item.setdefault("kind", item_kind)
                    if api_version:
                        item.setdefault("apiVersion", api_version)
                    items.append(item)
            token = str((doc.get("metadata") or {}).get("continue") or "")
            if not token:
                return items

    # -- reads ------------------------------------------------------------------------------------------

    def list_nodes(self) -> list[dict[str, Any]]:
        return self._list("/api/v1/nodes", _Target("list", "nodes", kind="Node"), kind="Node")

    def list_gpu_pods(self) -> list[dict[str, Any]]:
        """Non-terminal pods bound to nodes, all namespaces (the inventory keeps those holding GPUs)."""
        return self._list(
            "/api/v1/pods",
            _Target("list", "pods", kind="Pod"),
            [("fieldSelector", GPU_POD_FIELD_SELECTOR)],
            kind="Pod",
        )

    def list_pods(self, namespace: str | None, label_selector: str | None = None) -> list[dict[str, Any]]:
        """Pods of one namespace, or of all namespaces when ``namespace`` is None."""
        query = [("labelSelector", label_selector)] if label_selector else []
        return self._list(
            f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods",
            _Target("list", "pods", kind="Pod", namespace=namespace),
            query,
            kind="Pod",
        )

    def list_events(self, namespace: str, field_selector: str | None = None) -> list[dict[str, Any]]:
        query = [("fieldSelector", field_selector)] if field_selector else []
        return self._list(
            f"/api/v1/namespaces/{namespace}/events",
            _Target("list", "events", kind="Event", namespace=namespace),
            query,
            kind="Event",
        )

    def list_namespaces(self) -> list[str]:
        items = self._list(
            "/api/v1/namespaces", _Target("list", "namespaces", kind="Namespace"), kind="Namespace"
        )
        return [
            str(item.get("metadata", {}).get("name"))
            for item in items
            if item.get("metadata", {}).get("name")
        ]

    @staticmethod
    def _isvc_target(verb: str, namespace: str | None, name: str | None = None) -> _Target:
        return _Target(verb, "inferenceservices", KSERVE_GROUP, "InferenceService", namespace, name, ISVC_CRD)

    def list_inferenceservices(self, namespace: str | None) -> list[dict[str, Any]]:
        """InferenceServices (serving.kserve.io/v1beta1) in one namespace, or all when None."""
        return self._list(
            _path(KSERVE_GROUP, "v1beta1", "inferenceservices", namespace),
            self._isvc_target("list", namespace),
            kind="InferenceService",
        )

    def list_inferenceservices_readable(
        self, namespaces: Sequence[str] | None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """InferenceServices the user may read, and one message per namespace that answered 403.

        None means all namespaces: one cluster-scope list, or, when that is forbidden, one list per
        namespace (RBAC often grants namespaces one by one)."""
        return self._readable(self.list_inferenceservices, namespaces)

    def list_servingruntimes_readable(
        self, namespaces: Sequence[str] | None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """ServingRuntimes the user may read, like :meth:`list_inferenceservices_readable`."""
        return self._readable(self.list_servingruntimes, namespaces)

    def _readable(
        self, lister: Any, namespaces: Sequence[str] | None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        if namespaces is None:
            try:
                return list(lister(None)), []
            except ForbiddenError as cluster_wide:
                try:
                    namespaces = self.list_namespaces()
                except ForbiddenError:
                    raise cluster_wide from None
        items: list[dict[str, Any]] = []
        problems: list[str] = []
        for namespace in namespaces:
            try:
                items.extend(lister(namespace))
            except ForbiddenError as err:
                problems.append(f'namespace "{namespace}": {err.message}')
        return items, problems

    def get_inferenceservice(self, namespace: str, name: str) -> dict[str, Any]:
        return self._get(
            _path(KSERVE_GROUP, "v1beta1", "inferenceservices", namespace, name),
            self._isvc_target("get", namespace, name),
        )

    def list_servingruntimes(self, namespace: str | None) -> list[dict[str, Any]]:
        return self._list(
            _path(KSERVE_GROUP, "v1alpha1", "servingruntimes", namespace),
            _Target(
                "list", "servingruntimes", KSERVE_GROUP, "ServingRuntime", namespace,
                crd="servingruntimes.serving.kserve.io",
            ),
            kind="ServingRuntime",
        )  # fmt: skip

    def list_clusterservingruntimes(self) -> list[dict[str, Any]]:
        return self._list(
            _path(KSERVE_GROUP, "v1alpha1", "clusterservingruntimes", None),
            _Target(
                "list", "clusterservingruntimes", KSERVE_GROUP, "ClusterServingRuntime",
                crd="clusterservingruntimes.serving.kserve.io",
            ),
            kind="ClusterServingRuntime",
        )  # fmt: skip

    def _get_crd(self, name: str) -> dict[str, Any] | None:
        """A CustomResourceDefinition, None when it does not exist."""
        target = _Target(
            "get", "customresourcedefinitions", "apiextensions.k8s.io", "CustomResourceDefinition", None, name
        )
        try:
            return self._get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}", target)
        except NotFoundError:
            return None

    def _controller_deployments(self) -> list[dict[str, Any]]:
        """KServe controller Deployments in any namespace ([] when none or forbidden)."""
        if self._controller_cache is None:
            try:
                self._controller_cache = self._list(
                    "/apis/apps/v1/deployments",
                    _Target("list", "deployments", "apps", "Deployment"),
                    [("labelSelector", CONTROLLER_LABEL)],
                    kind="Deployment",
                )
            except ForbiddenError as err:
                self._controller_forbidden = err.message
                self._controller_cache = []
        return self._controller_cache

    def read_multinode_config(self) -> list[str]:
        """``customGPUResourceTypeList`` of the ``multiNode`` key of KServe's ``inferenceservice-config``
        ConfigMap ([] when absent or forbidden). KServe adds these to its four known GPU resources
        (pkg/apis/serving/v1beta1/configmap.go ``MultiNodeConfig``; SEMANTICS §3.3)."""
        namespaces = [str(d.get("metadata", {}).get("namespace")) for d in self._controller_deployments()]
        for namespace in dict.fromkeys([*namespaces, *KSERVE_NAMESPACES]):
            target = _Target(
                "get", "configmaps", kind="ConfigMap", namespace=namespace, name=INFERENCESERVICE_CONFIG
            )
            try:
                configmap = self._get(
                    f"/api/v1/namespaces/{namespace}/configmaps/{INFERENCESERVICE_CONFIG}", target
                )
            except (NotFoundError, ForbiddenError):
                continue
            raw = (configmap.get("data") or {}).get("multiNode")
            if not raw:
                return []
            try:
                doc = json.loads(raw)
            except ValueError:
                return []
            values = doc.get("customGPUResourceTypeList") if isinstance(doc, dict) else None
            return [str(v) for v in values] if isinstance(values, list) else []
        return []

    # -- KServe version ---------------------------------------------------------------------------------

    def detect_kserve_version(self) -> eras.KServeVersion:
        """The installed KServe: controller image tag, else CRD schema probes, else the newest rules.

        SEMANTICS §5: the tag of ``kserve/kserve-controller`` is exact, but downstream builds retag
        images (digests, ``latest``), so the CRD schema is the fallback; it knows eras, not patch levels.
        """
        tags: list[str] = []
        for deployment in self._controller_deployments():
            for image in _container_images(deployment):
                tag = _image_tag(image)
                if tag is None:
                    tags.append(image)
                    continue
                try:
                    version = eras.parse_version(tag)
                except ValueError:
                    tags.append(image)
                    continue
                found = eras.format_version(version)
                return eras.KServeVersion(found, eras.era_for(version), "controller-image")
        why_not_image = (
            f"the controller image ({', '.join(tags[:2])}) has no version tag"
            if tags
            else "no kserve-controller-manager Deployment was readable"
            + (" (forbidden)" if self._controller_forbidden else "")
        )
        return self._detect_from_crds(why_not_image)

    def _detect_from_crds(self, why_not_image: str) -> eras.KServeVersion:
        try:
            crd = self._get_crd(ISVC_CRD)
        except ForbiddenError:
            return eras.newest_fallback(f"{why_not_image} and the CRDs cannot be read (forbidden)")
        if crd is None:
            raise NotFoundError(f"InferenceService CRD ({ISVC_CRD}) not found: is KServe installed?")
        spec = _crd_version_schema(crd, "v1beta1")
        worker = _schema_at(spec, "spec", "predictor", "workerSpec")
        prefix = f"KServe version from the CRD schema ({why_not_image})"
        if worker is None or "pipelineParallelSize" not in (worker.get("properties") or {}):
            reason = "workerSpec.size only" if worker is not None else "no workerSpec"
            version: eras.Version = (0, 14, 0) if worker is not None else (0, 13, 0)
            return eras.KServeVersion(
                None,
                eras.era_for(version),
                "crd-schema",
                f"{prefix}: {reason}, so before v0.15.0 (no multi-node support); pass --kserve-version to be exact",
            )
        try:
            llm = self._get_crd(LLMISVC_CRD)
        except ForbiddenError:
            llm = None
        if llm is not None:
            served = {
                str(v.get("name")) for v in llm.get("spec", {}).get("versions") or [] if v.get("served")
            }
            floor: eras.Version = (0, 17, 0) if "v1alpha2" in served else (0, 16, 0)
            evidence = (
                "llminferenceservices serves v1alpha2"
                if floor == (0, 17, 0)
                else "llminferenceservices exists"
            )
            return eras.KServeVersion(
                None,
                eras.era_for(floor),
                "crd-schema",
                f"{prefix}: {evidence}, so KServe >= {eras.format_version(floor)}; using the "
                f"{eras.era_for(floor).key} rules (the oldest that fit); pass --kserve-version to be exact",
            )
        # v0.15.0 and v0.15.1 share the workerSpec schema. Weak hint (SEMANTICS §5.2): v0.15.1 added
        # logger.metadataAnnotations to the ISVC CRD, but CRDs are not always upgraded with the controller.
        logger = _schema_at(spec, "spec", "predictor", "logger") or {}
        if "metadataAnnotations" in (logger.get("properties") or {}):
            chosen: eras.Version = (0, 15, 1)
            hint = "logger.metadataAnnotations is present, which suggests v0.15.1"
        else:
            chosen = (0, 15, 0)
            hint = "logger.metadataAnnotations is absent, which suggests v0.15.0"
        return eras.KServeVersion(
            None,
            eras.era_for(chosen),
            "crd-schema",
            f"{prefix}: workerSpec.pipelineParallelSize exists, so v0.15.x, but v0.15.0 and v0.15.1 (different "
            f"multi-node rules) cannot be told apart reliably; {hint}, using the {eras.era_for(chosen).key} "
            "rules; pass --kserve-version to be sure",
        )

    # -- writes -----------------------------------------------------------------------------------------

    def patch_inferenceservice(
        self,
        namespace: str,
        name: str,
        patch: dict[str, Any],
        *,
        dry_run: bool = False,
        field_manager: str = FIELD_MANAGER,
    ) -> dict[str, Any]:
        """JSON merge patch (RFC 7386) of one InferenceService; ``dry_run`` sends ``dryRun=All`` (admission
        webhooks run, nothing is stored). Put ``metadata.resourceVersion`` in the patch to fail with
        :class:`ConflictError` when the object changed since it was read."""
        query = [("fieldManager", field_manager)]
        if dry_run:
            query.append(("dryRun", "All"))
        doc = self._request(
            "PATCH",
            _path(KSERVE_GROUP, "v1beta1", "inferenceservices", namespace, name),
            self._isvc_target("patch", namespace, name),
            query=query,
            body=patch,
            content_type="application/merge-patch+json",
        )
        if not isinstance(doc, dict):
            raise ClusterError("PATCH: unexpected answer from the server")
        return doc

    def list_llminferenceservices(self, namespace: str | None) -> list[dict[str, Any]]:
        """LLMInferenceServices in one namespace, or all when None: serving.kserve.io/v1alpha2 (KServe
        v0.17.0+), else v1alpha1 (v0.16.x serves only that). NotFoundError when neither is served."""
        for version in ("v1alpha2", "v1alpha1"):
            try:
                return self._list(
                    _path(KSERVE_GROUP, version, "llminferenceservices", namespace),
                    _Target(
                        "list", "llminferenceservices", KSERVE_GROUP, "LLMInferenceService", namespace,
                        crd=LLMISVC_CRD,
                    ),
                    kind="LLMInferenceService",
                )  # fmt: skip
            except NotFoundError:
                if version == "v1alpha1":
                    raise
        raise AssertionError("unreachable")


def _path(group: str, version: str, resource: str, namespace: str | None, name: str | None = None) -> str:
    path = f"/apis/{group}/{version}"
    if namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{resource}"
    if name:
        path += f"/{name}"
    return path


def _container_images(deployment: dict[str, Any]) -> list[str]:
    """Controller images first: the ``manager`` container (release manifests), then any kserve-controller."""
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    images = [str(c.get("image") or "") for c in containers if isinstance(c, dict)]
    ranked = [i for i in images if "kserve-controller" in i] + [
        str(c.get("image") or "") for c in containers if isinstance(c, dict) and c.get("name") == "manager"
    ]
    return [i for i in dict.fromkeys(ranked) if i]


def _image_tag(image: str) -> str | None:
    """``repo/name:tag`` → tag; None for digests (``@sha256:``) and untagged images."""
    if "@" in image:
        return None
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return None
    return name.rsplit(":", 1)[1]


def _crd_version_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    versions = crd.get("spec", {}).get("versions") or []
    chosen = next((v for v in versions if v.get("name") == version), versions[0] if versions else {})
    schema = chosen.get("schema", {}).get("openAPIV3Schema") or {}
    return schema if isinstance(schema, dict) else {}


def _schema_at(schema: dict[str, Any], *keys: str) -> dict[str, Any] | None:
    node: Any = schema
    for key in keys:
        node = (node.get("properties") or {}).get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node if isinstance(node, dict) else None
