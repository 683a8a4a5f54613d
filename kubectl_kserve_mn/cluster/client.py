"""The connection itself: set up from the kubeconfig and kubectl's flags, requests over our own HTTPS
transport, paginated lists fetched one page ahead, and several calls at once. What is read lives in
:mod:`.kserve_api` (KServe's objects) and the package's :class:`Cluster` (nodes, pods, events, the KServe
version)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from kubectl_kserve_mn import __version__
from kubectl_kserve_mn.cluster.errors import Target, http_error
from kubectl_kserve_mn.cluster.kubeconfig import (
    SERVICE_ACCOUNT_DIR,
    Overrides,
    parse_request_timeout,
    redactor,
)
from kubectl_kserve_mn.errors import ClusterError

if TYPE_CHECKING:
    pass


PAGE_LIMIT = 500
"""Items per list request (kubectl's ``--chunk-size`` default)."""

GPU_POD_FIELD_SELECTOR = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"
"""Non-terminal pods bound to a node: the pods that hold GPUs (kubectl describe node uses the same)."""

FIELD_MANAGER = "kubectl-kserve-mn"
USER_AGENT = f"kubectl-kserve-mn/v{__version__}"

_Target = Target  # the name other modules used before the split
T = TypeVar("T")
U = TypeVar("U")


class Progress(Protocol):
    """Told about long reads (the CLI's progress line); called from the fetching threads."""

    def started(self, what: str) -> None: ...

    def advanced(self, what: str, items: int) -> None:
        """``items``: how many items of ``what`` have arrived so far."""

    def finished(self, what: str) -> None: ...

    def pause(self, paused: bool) -> None:
        """Hide the line while something else may use the terminal (an exec plugin's prompt)."""


class ApiClient:
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

    def list_namespaces(self) -> list[str]:
        items = self._list(
            "/api/v1/namespaces", _Target("list", "namespaces", kind="Namespace"), kind="Namespace"
        )
        return [
            str(item.get("metadata", {}).get("name"))
            for item in items
            if item.get("metadata", {}).get("name")
        ]


def _path(group: str, version: str, resource: str, namespace: str | None, name: str | None = None) -> str:
    path = f"/apis/{group}/{version}"
    if namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{resource}"
    if name:
        path += f"/{name}"
    return path
