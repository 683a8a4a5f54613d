"""KServe's objects on the cluster: InferenceServices, runtimes, LLMInferenceServices with their
LeaderWorkerSets and configs, KServe's controller and ConfigMap; reads and merge patches."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kubectl_kserve_mn.cluster.errors import ForbiddenError
from kubectl_kserve_mn.errors import ClusterError, NotFoundError

if TYPE_CHECKING:
    pass


from kubectl_kserve_mn.cluster.client import FIELD_MANAGER, ApiClient, _path, _Target

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


def _selector_query(label_selector: str | None) -> list[tuple[str, str]]:
    return [("labelSelector", label_selector)] if label_selector else []


class KServeApi(ApiClient):
    """The KServe objects a connection reads and patches."""

    @staticmethod
    def _isvc_target(verb: str, namespace: str | None, name: str | None = None) -> _Target:
        return _Target(verb, "inferenceservices", KSERVE_GROUP, "InferenceService", namespace, name, ISVC_CRD)

    def list_inferenceservices(
        self, namespace: str | None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """InferenceServices (serving.kserve.io/v1beta1) in one namespace, or all when None; ``label_selector``
        (kubectl's ``-l`` syntax) is sent as the list's ``labelSelector``: the API server filters."""
        return self._list(
            _path(KSERVE_GROUP, "v1beta1", "inferenceservices", namespace),
            self._isvc_target("list", namespace),
            _selector_query(label_selector),
            kind="InferenceService",
        )

    def list_inferenceservices_readable(
        self, namespaces: Sequence[str] | None, label_selector: str | None = None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """InferenceServices the user may read, and one message per namespace that answered 403.

        None means all namespaces: one cluster-scope list, or, when that is forbidden, one list per
        namespace (RBAC often grants namespaces one by one)."""

        def lister(namespace: str | None) -> list[dict[str, Any]]:
            return self.list_inferenceservices(namespace, label_selector)

        return self._readable(lister, namespaces)

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
        return self._merge_patch(
            _path(KSERVE_GROUP, "v1beta1", "inferenceservices", namespace, name),
            self._isvc_target("patch", namespace, name),
            patch,
            dry_run=dry_run,
            field_manager=field_manager,
        )

    def _merge_patch(
        self, path: str, target: _Target, patch: dict[str, Any], *, dry_run: bool, field_manager: str
    ) -> dict[str, Any]:
        query = [("fieldManager", field_manager)]
        if dry_run:
            query.append(("dryRun", "All"))
        doc = self._request(
            "PATCH", path, target, query=query, body=patch, content_type="application/merge-patch+json"
        )
        if not isinstance(doc, dict):
            raise ClusterError("PATCH: unexpected answer from the server")
        return doc

    def list_llminferenceservices(
        self, namespace: str | None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
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
                    _selector_query(label_selector),
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
        self, namespaces: Sequence[str] | None, label_selector: str | None = None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """LLMInferenceServices the user may read, and one message per namespace that answered 403, like
        :meth:`list_inferenceservices_readable` (``label_selector`` too). NotFoundError when the cluster has no
        LLMInferenceService CRD."""
        version = self._llmisvc_version_or_missing()

        def lister(namespace: str | None) -> list[dict[str, Any]]:
            return self._list(
                _path(KSERVE_GROUP, version, "llminferenceservices", namespace),
                self._llmisvc_target("list", namespace),
                _selector_query(label_selector),
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
        return self._merge_patch(
            _path(KSERVE_GROUP, version, "llminferenceservices", namespace, name),
            self._llmisvc_target("patch", namespace, name),
            patch,
            dry_run=dry_run,
            field_manager=field_manager,
        )

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
