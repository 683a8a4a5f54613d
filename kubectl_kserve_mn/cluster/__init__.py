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
- :mod:`.client`: :class:`ApiClient`, the connection: requests, paginated lists, calls at once.
- :mod:`.kserve_api`: :class:`KServeApi`, KServe's objects (InferenceServices, runtimes,
  LLMInferenceServices, LeaderWorkerSets, configs), reads and merge patches.
- here: :class:`Cluster`, which adds the nodes, pods and events (typed by the input boundary) and the
  detection of the installed KServe version.

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

from typing import TYPE_CHECKING, Any

from kubectl_kserve_mn.cluster import client
from kubectl_kserve_mn.cluster.client import (
    GPU_POD_FIELD_SELECTOR,
    PAGE_LIMIT,
    ApiClient,
    Progress,
    _Target,
)
from kubectl_kserve_mn.cluster.errors import ForbiddenError, Target
from kubectl_kserve_mn.cluster.kserve_api import ISVC_CRD, LLMISVC_CRD, KServeApi
from kubectl_kserve_mn.cluster.kubeconfig import (
    SERVICE_ACCOUNT_DIR,
    NoConfigurationError,
    parse_request_timeout,
)
from kubectl_kserve_mn.cluster.kubeconfig import kubeconfig_available as _kubeconfig_available
from kubectl_kserve_mn.errors import NotFoundError
from kubectl_kserve_mn.kserve import eras

if TYPE_CHECKING:
    from kubectl_kserve_mn.inputs.k8s import Event, Node, Pod

__all__ = [
    "GPU_POD_FIELD_SELECTOR",
    "PAGE_LIMIT",
    "ApiClient",
    "Cluster",
    "ForbiddenError",
    "KServeApi",
    "NoConfigurationError",
    "Progress",
    "Target",
    "client",
    "kubeconfig_available",
    "parse_request_timeout",
]


def kubeconfig_available(kubeconfig: str | None = None) -> bool:
    """Whether a cluster connection is configured (files and environment only; nothing is imported)."""
    return _kubeconfig_available(kubeconfig, SERVICE_ACCOUNT_DIR)


class Cluster(KServeApi):
    """A connection to one cluster (:class:`ApiClient`), what it reads of KServe (:class:`KServeApi`), and
    the nodes, pods and events the inventory and the findings need, and the installed KServe version."""

    # -- nodes, pods, events ----------------------------------------------------------------------------

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
