"""The only package that talks to the Kubernetes API.

Everything else in the tool is pure functions over the plain values returned here. Modules:

- :mod:`.config`, :mod:`.kubeconfig`: kubectl's connection semantics without the kubernetes client
  (``--kubeconfig``, ``$KUBECONFIG`` merged first-wins, ``--context``/``--cluster``/``--user``,
  kubectl's global flags such as ``--server``, ``--token``, ``--as``, in-cluster config; namespace
  from the flag, the context, else ``default``).
- :mod:`.auth`: bearer tokens (static, re-read token files, exec credential plugins), basic auth, client
  certificates; :mod:`.legacy_auth` hands ``auth-provider`` users to the kubernetes client, imported
  only for them.
- :mod:`.transport`: HTTPS on ``http.client`` with a keep-alive pool, TLS, timeouts, retries of refused
  connects, ``User-Agent: kubectl-kserve-mn/<version>``.
- :mod:`.pages`: lists fetched one page ahead; several calls at once.
- :mod:`.errors`: non-2xx answers as one-line errors.

Reading lists. Every list is paginated (``limit=500``, ``continue``), one request per page:

- :meth:`Cluster.list_pages` ``(path, target, query) -> Iterator[bytes]`` yields the raw JSON body of
  each page (a ``NodeList``/``PodList``... with ``items``) while the next page is already being fetched
  on a background thread; stopping early (``break``, an exception) stops the fetching. This is the
  interface for typed decoders (msgspec) that consume bytes. :meth:`Cluster.node_pages` and
  :meth:`Cluster.gpu_pod_pages` are the two big lists.
- ``list_nodes``, ``list_gpu_pods``, ``list_pods`` and ``list_events`` return the input boundary's typed
  values (:mod:`kubectl_kserve_mn.inputs.k8s`), decoded page by page from the bytes with msgspec; the
  other ``list_*`` methods (KServe objects) return dicts, items completed with ``kind`` and ``apiVersion``
  like ``kubectl get -o json``, which the boundary then checks against the CRDs.
- :meth:`Cluster.concurrently` runs calls at once: ``nodes, pods = cluster.concurrently(cluster.list_nodes,
  cluster.list_gpu_pods)``.
- ``Cluster.progress``: an optional observer told what is being listed and how many items have arrived
  (the CLI draws a progress line on terminals).

Every failure becomes one :mod:`kubectl_kserve_mn.errors` exception with a one-line message that never
contains credentials. Importing this package imports neither the kubernetes client nor msgspec (the typed
decoders are imported when a list is read).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from kubectl_kserve_mn import __version__
from kubectl_kserve_mn.cluster.errors import ForbiddenError, Target, http_error
from kubectl_kserve_mn.cluster.kubeconfig import (
    SERVICE_ACCOUNT_DIR,
    NoConfigurationError,
    Overrides,
    parse_request_timeout,
    redactor,
)
from kubectl_kserve_mn.cluster.kubeconfig import kubeconfig_available as _kubeconfig_available
from kubectl_kserve_mn.errors import ClusterError, NotFoundError
from kubectl_kserve_mn.kserve import eras

if TYPE_CHECKING:
    from kubectl_kserve_mn.inputs.k8s import Event, Node, Pod

__all__ = [
    "GPU_POD_FIELD_SELECTOR",
    "PAGE_LIMIT",
    "Cluster",
    "ForbiddenError",
    "NoConfigurationError",
    "Progress",
    "Target",
    "kubeconfig_available",
    "parse_request_timeout",
]

PAGE_LIMIT = 500
"""Items per list request (kubectl's ``--chunk-size`` default)."""

GPU_POD_FIELD_SELECTOR = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"
"""Non-terminal pods bound to a node: the pods that hold GPUs (kubectl describe node uses the same)."""

FIELD_MANAGER = "kubectl-kserve-mn"
USER_AGENT = f"kubectl-kserve-mn/v{__version__}"

KSERVE_GROUP = "serving.kserve.io"
ISVC_CRD = "inferenceservices.serving.kserve.io"
LLMISVC_CRD = "llminferenceservices.serving.kserve.io"
LWS_GROUP = "leaderworkerset.x-k8s.io"
LWS_CRD = "leaderworkersets.leaderworkerset.x-k8s.io"
CONTROLLER_LABEL = "control-plane=kserve-controller-manager"
"""Label of the KServe controller Deployment in the release manifests and the Helm chart (SEMANTICS §5.1)."""
INFERENCESERVICE_CONFIG = "inferenceservice-config"
KSERVE_NAMESPACES = ("kserve", "kubeflow", "opendatahub", "redhat-ods-applications")
"""Where KServe's ConfigMap lives when the controller Deployment could not be found."""

_Target = Target  # the name other modules used before the split
T = TypeVar("T")
U = TypeVar("U")


def kubeconfig_available(kubeconfig: str | None = None) -> bool:
    """Whether a cluster connection is configured (files and environment only; nothing is imported)."""
    return _kubeconfig_available(kubeconfig, SERVICE_ACCOUNT_DIR)


class Progress(Protocol):
    """Told about long reads (the CLI's progress line); called from the fetching threads."""

    def started(self, what: str) -> None: ...

    def advanced(self, what: str, items: int) -> None:
        """``items``: how many items of ``what`` have arrived so far."""

    def finished(self, what: str) -> None: ...

    def pause(self, paused: bool) -> None:
        """Hide the line while something else may use the terminal (an exec plugin's prompt)."""


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
        server: str | None = None,
        token: str | None = None,
        impersonate: str | None = None,
        impersonate_groups: Sequence[str] = (),
        impersonate_uid: str | None = None,
        certificate_authority: str | None = None,
        client_certificate: str | None = None,
        client_key: str | None = None,
        insecure_skip_tls_verify: bool = False,
        tls_server_name: str | None = None,
    ) -> None:
        from kubectl_kserve_mn.cluster import kubeconfig as config_mod
        from kubectl_kserve_mn.cluster.auth import Credentials
        from kubectl_kserve_mn.cluster.transport import Transport

        timeout = parse_request_timeout(request_timeout)
        self._controller_cache: list[dict[str, Any]] | None = None
        self._controller_forbidden: str | None = None
        self.progress: Progress | None = None
        overrides = Overrides(
            context=context,
            cluster=cluster,
            user=user,
            server=server,
            token=token,
            impersonate=impersonate,
            impersonate_uid=impersonate_uid,
            impersonate_groups=tuple(impersonate_groups),
            certificate_authority=certificate_authority,
            client_certificate=client_certificate,
            client_key=client_key,
            insecure_skip_tls_verify=insecure_skip_tls_verify,
            tls_server_name=tls_server_name,
        )
        config = config_mod.load(kubeconfig, overrides, service_account_dir=SERVICE_ACCOUNT_DIR)
        self._secrets = list(config.secrets)
        self._redact_fn = redactor(self._secrets)
        self.config = config
        self.context_name: str = config.context
        self.namespace: str = namespace or config.namespace or "default"
        self.host: str = config.host
        self.insecure: bool = config.uses_tls and config.insecure
        """TLS verification is off (--insecure-skip-tls-verify): the CLI says so once."""
        self._credentials = Credentials(config, remember_secret=self._remember_secret)
        if self._credentials.plugin is not None:
            self._credentials.plugin.around_run = self._paused_progress
        self._transport = Transport(
            config,
            self._credentials,
            timeout=timeout,
            user_agent=USER_AGENT,
            redact=self._redact,
        )

    def close(self) -> None:
        """Close pooled connections (also done when the process exits)."""
        self._transport.close()

    # -- secrets ----------------------------------------------------------------------------------------

    def _remember_secret(self, value: str) -> None:
        for candidate in {value, value.strip()}:
            if len(candidate) >= 6 and candidate not in self._secrets:
                self._secrets.append(candidate)
                self._redact_fn = redactor(self._secrets)

    def _redact(self, text: str) -> str:
        return self._redact_fn(text)

    def _paused_progress(self) -> Any:
        from contextlib import contextmanager

        @contextmanager
        def paused() -> Iterator[None]:
            progress = self.progress
            if progress is not None:
                progress.pause(True)
            try:
                yield
            finally:
                if progress is not None:
                    progress.pause(False)

        return paused()

    # -- transport --------------------------------------------------------------------------------------

    def _raw(
        self,
        method: str,
        path: str,
        target: Target,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        """One API call; the raw body of a 2xx answer, else a mapped error."""
        response = self._transport.request(method, path, query=query, body=body, content_type=content_type)
        if not 200 <= response.status <= 299:
            raise http_error(
                response.status,
                response.body,
                method,
                path,
                target,
                context=self.context_name,
                redact=self._redact,
            )
        return response.body

    def _request(
        self,
        method: str,
        path: str,
        target: Target,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
    ) -> Any:
        """One API call; returns the decoded JSON body or raises a mapped error."""
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        data = self._raw(method, path, target, query=query, body=payload, content_type=content_type)
        try:
            return json.loads(data)
        except ValueError:
            raise ClusterError(f"{method} {path}: the server did not answer with JSON") from None

    def _get(self, path: str, target: Target, query: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        doc = self._request("GET", path, target, query=query)
        if not isinstance(doc, dict):
            raise ClusterError(f"GET {path}: unexpected answer from the server")
        return doc

    # -- lists ------------------------------------------------------------------------------------------

    def list_pages(self, path: str, target: Target, query: Sequence[tuple[str, str]] = ()) -> Iterator[bytes]:
        """The raw JSON body of every page of a list, the next page fetched while this one is used.

        ``path`` is the collection (``/api/v1/pods``), ``query`` its selectors; ``limit`` and ``continue``
        are added here. Close the iterator (or leave the ``for`` loop) to stop fetching."""
        from kubectl_kserve_mn.cluster.pages import prefetched

        what = target.label
        progress = self.progress
        seen = 0

        def fetch(token: str) -> bytes:
            page_query = [*query, ("limit", str(PAGE_LIMIT))]
            if token:
                page_query.append(("continue", token))
            return self._raw("GET", path, target, query=page_query)

        def on_page(items: int) -> None:
            nonlocal seen
            seen += items
            if progress is not None:
                progress.advanced(what, seen)

        if progress is not None:
            progress.started(what)
        try:
            yield from prefetched(fetch, f"GET {path}", on_page)
        finally:
            if progress is not None:
                progress.finished(what)

    def node_pages(self) -> Iterator[bytes]:
        """Raw pages of ``NodeList`` (see :meth:`list_pages`)."""
        return self.list_pages("/api/v1/nodes", Target("list", "nodes", kind="Node"))

    def gpu_pod_pages(self) -> Iterator[bytes]:
        """Raw pages of the ``PodList`` of :meth:`list_gpu_pods`."""
        return self.list_pages(
            "/api/v1/pods", Target("list", "pods", kind="Pod"), [("fieldSelector", GPU_POD_FIELD_SELECTOR)]
        )

    @overload
    def concurrently(self, first: Callable[[], T], second: Callable[[], U], /) -> tuple[T, U]: ...

    @overload
    def concurrently(self, *calls: Callable[[], T]) -> tuple[T, ...]: ...

    def concurrently(self, *calls: Callable[[], Any]) -> tuple[Any, ...]:
        """Run API calls at once and return their results in order; the first failure (in argument
        order) is raised after all have ended. ``nodes, pods = cluster.concurrently(cluster.list_nodes,
        cluster.list_gpu_pods)``."""
        from kubectl_kserve_mn.cluster.pages import run_concurrently

        return tuple(run_concurrently(calls))

    def _list(
        self, path: str, target: _Target, query: Sequence[tuple[str, str]] = (), *, kind: str = ""
    ) -> list[dict[str, Any]]:
        """All items of a list, page by page; items get ``kind``/``apiVersion`` like ``kubectl get -o json``."""
        from kubectl_kserve_mn.cluster.pages import gc_paused

        items: list[dict[str, Any]] = []
        for body in self.list_pages(path, target, query):
            try:
                with gc_paused():
                    doc = json.loads(body)
            except ValueError:
                raise ClusterError(f"GET {path}: the server did not answer with JSON") from None
            if not isinstance(doc, dict):
                raise ClusterError(f"GET {path}: unexpected answer from the server")
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
        return items

    # -- reads ------------------------------------------------------------------------------------------

    def _typed(
        self, path: str, target: _Target, query: Sequence[tuple[str, str]], decode: Callable[..., Any]
    ) -> list[Any]:
        """All items of a list decoded page by page into the input boundary's typed values
        (:mod:`kubectl_kserve_mn.inputs.k8s`): only the fields the tool uses are built, in C."""
        from kubectl_kserve_mn.cluster.pages import gc_paused
        from kubectl_kserve_mn.inputs.k8s import API

        items: list[Any] = []
        for body in self.list_pages(path, target, query):
            with gc_paused():
                items.extend(decode(body, API, len(items) + 1).items)
        return items

    def list_nodes(self) -> list[Node]:
        from kubectl_kserve_mn.inputs.k8s import decode_node_page

        return self._typed("/api/v1/nodes", _Target("list", "nodes", kind="Node"), (), decode_node_page)

    def list_gpu_pods(self) -> list[Pod]:
        """Non-terminal pods bound to nodes, all namespaces (the inventory keeps those holding GPUs)."""
        from kubectl_kserve_mn.inputs.k8s import decode_pod_page

        return self._typed(
            "/api/v1/pods",
            _Target("list", "pods", kind="Pod"),
            [("fieldSelector", GPU_POD_FIELD_SELECTOR)],
            decode_pod_page,
        )

    def list_pods(self, namespace: str | None, label_selector: str | None = None) -> list[Pod]:
        """Pods of one namespace, or of all namespaces when ``namespace`` is None."""
        from kubectl_kserve_mn.inputs.k8s import decode_pod_page

        query = [("labelSelector", label_selector)] if label_selector else []
        return self._typed(
            f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods",
            _Target("list", "pods", kind="Pod", namespace=namespace),
            query,
            decode_pod_page,
        )

    def list_events(self, namespace: str, field_selector: str | None = None) -> list[Event]:
        from kubectl_kserve_mn.inputs.k8s import decode_event_page

        query = [("fieldSelector", field_selector)] if field_selector else []
        return self._typed(
            f"/api/v1/namespaces/{namespace}/events",
            _Target("list", "events", kind="Event", namespace=namespace),
            query,
            decode_event_page,
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

    # -- LLMInferenceService: check, fix (issue 10) -------------------------------------------------------
    # Kept together at the end of the class: the served API version (learned once, from discovery), the
    # objects, their LeaderWorkerSets and the LLMInferenceServiceConfigs the controller merges.

    _llmisvc_served: tuple[str | None] | None = None
    """Memo of :meth:`llmisvc_api_version` (a 1-tuple once known; the version None: no CRD)."""

    def llmisvc_api_version(self) -> str | None:
        """The version of serving.kserve.io that serves ``llminferenceservices``: ``v1alpha2`` (KServe
        v0.17.0+), else ``v1alpha1`` (v0.16.x); None when neither does (no LLMInferenceService CRD: an older
        KServe). Read once per connection from API discovery (``/apis/serving.kserve.io/<version>``), which
        every authenticated user may read (the ``system:discovery`` ClusterRole), so the answer does not
        depend on RBAC for the objects themselves."""
        if self._llmisvc_served is None:
            found: str | None = None
            for version in ("v1alpha2", "v1alpha1"):
                target = _Target("get", "discovery", KSERVE_GROUP, f"{KSERVE_GROUP}/{version}")
                try:
                    doc = self._get(f"/apis/{KSERVE_GROUP}/{version}", target)
                except NotFoundError:
                    continue
                resources = doc.get("resources")
                listed = resources if isinstance(resources, list) else []
                if any(isinstance(r, dict) and r.get("name") == "llminferenceservices" for r in listed):
                    found = version
                    break
            self._llmisvc_served = (found,)
        return self._llmisvc_served[0]

    def _llmisvc_version_or_missing(self) -> str:
        version = self.llmisvc_api_version()
        if version is None:
            raise NotFoundError(
                f"LLMInferenceService CRD ({LLMISVC_CRD}) not found: KServe v0.16.0 or later serves it"
            )
        return version

    @staticmethod
    def _llmisvc_target(verb: str, namespace: str | None, name: str | None = None) -> _Target:
        return _Target(
            verb, "llminferenceservices", KSERVE_GROUP, "LLMInferenceService", namespace, name, LLMISVC_CRD
        )

    def list_llminferenceservices_readable(
        self, namespaces: Sequence[str] | None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """LLMInferenceServices the user may read, and one message per namespace that answered 403, like
        :meth:`list_inferenceservices_readable`. NotFoundError when the cluster has no LLMInferenceService CRD."""
        version = self._llmisvc_version_or_missing()

        def lister(namespace: str | None) -> list[dict[str, Any]]:
            return self._list(
                _path(KSERVE_GROUP, version, "llminferenceservices", namespace),
                self._llmisvc_target("list", namespace),
                kind="LLMInferenceService",
            )

        return self._readable(lister, namespaces)

    def get_llminferenceservice(self, namespace: str, name: str) -> dict[str, Any]:
        """One LLMInferenceService in the served version; NotFoundError when it (or its CRD) does not exist."""
        version = self._llmisvc_version_or_missing()
        return self._get(
            _path(KSERVE_GROUP, version, "llminferenceservices", namespace, name),
            self._llmisvc_target("get", namespace, name),
        )

    def patch_llminferenceservice(
        self,
        namespace: str,
        name: str,
        patch: dict[str, Any],
        *,
        dry_run: bool = False,
        field_manager: str = FIELD_MANAGER,
    ) -> dict[str, Any]:
        """JSON merge patch of one LLMInferenceService, as :meth:`patch_inferenceservice` (``dryRun=All``,
        ``metadata.resourceVersion`` in the patch for a 409 on a concurrent change)."""
        version = self._llmisvc_version_or_missing()
        query = [("fieldManager", field_manager)]
        if dry_run:
            query.append(("dryRun", "All"))
        doc = self._request(
            "PATCH",
            _path(KSERVE_GROUP, version, "llminferenceservices", namespace, name),
            self._llmisvc_target("patch", namespace, name),
            query=query,
            body=patch,
            content_type="application/merge-patch+json",
        )
        if not isinstance(doc, dict):
            raise ClusterError("PATCH: unexpected answer from the server")
        return doc

    def list_llminferenceserviceconfigs(self, namespace: str | None) -> list[dict[str, Any]]:
        """LLMInferenceServiceConfigs (the presets and ``baseRefs`` the controller merges) in one namespace, or
        all when None, in the version the LLMInferenceServices are served in. NotFoundError without the CRD."""
        version = self._llmisvc_version_or_missing()
        return self._list(
            _path(KSERVE_GROUP, version, "llminferenceserviceconfigs", namespace),
            _Target(
                "list", "llminferenceserviceconfigs", KSERVE_GROUP, "LLMInferenceServiceConfig", namespace,
                crd="llminferenceserviceconfigs.serving.kserve.io",
            ),
            kind="LLMInferenceServiceConfig",
        )  # fmt: skip

    def list_leaderworkersets(self, namespace: str | None) -> list[dict[str, Any]]:
        """LeaderWorkerSets (``leaderworkerset.x-k8s.io/v1``) in one namespace, or all when None; NotFoundError
        when the LWS CRD is not installed."""
        return self._list(
            _path(LWS_GROUP, "v1", "leaderworkersets", namespace),
            _Target("list", "leaderworkersets", LWS_GROUP, "LeaderWorkerSet", namespace, crd=LWS_CRD),
            kind="LeaderWorkerSet",
        )


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
