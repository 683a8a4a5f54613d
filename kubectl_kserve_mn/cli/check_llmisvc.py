"""``check``'s LLMInferenceServices (issue 10): from ``-f`` files and from the cluster, through the same input
boundary as InferenceServices, judged by :func:`kubectl_kserve_mn.findings.llmisvc.check_llminferenceservice`
and listed in the same table.

On a cluster, besides the objects (one list per namespace, or one for ``-A``; by name with ``llmisvc/NAME``
or a bare NAME), it reads once per run, never once per object:

- the LeaderWorkerSets (``leaderworkerset.x-k8s.io/v1``): the replicas KServe v0.17.0+ keeps when
  ``spec.replicas`` is unset; a cluster without the LWS CRD gets a note;
- the LLMInferenceServiceConfigs of the objects' namespaces and of ``kserve``, where the controller looks
  them up (``config_merge.go`` ``getConfig``: the object's namespace first), so ``baseRefs`` and a cluster's
  own presets are merged as the controller merges them;
- the pods labelled ``app.kubernetes.io/part-of=llminferenceservice`` (one list, grouped by
  ``app.kubernetes.io/name`` on the client), and the ``FailedScheduling`` events of the namespaces where
  one of them is Pending.

Labels: kserve/kserve@1fb781055dd1567164358233e1125142ca6ef1fe (v0.20.0):pkg/controller/v1alpha2/llmisvc/
workload_multi_node.go (``KubernetesPartOfLabelKey: LLMInferenceServicePartOfValue``,
``KubernetesAppNameLabelKey: llmSvc.GetName()``) and pkg/constants/constants.go.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubectl_kserve_mn.cli.kinds import LLM_INFERENCE_SERVICE, NameRef
from kubectl_kserve_mn.cli.owned_pods import pods_and_events
from kubectl_kserve_mn.errors import ClusterError, InputError, NotFoundError
from kubectl_kserve_mn.findings import Finding, ModelInput, NodeView
from kubectl_kserve_mn.findings.llmisvc import LlmItemReport, check_llminferenceservice
from kubectl_kserve_mn.findings.llmisvc_cluster import NAME_LABEL, PART_OF, PART_OF_LABEL, fix_hint
from kubectl_kserve_mn.inputs.documents import SourcedObject
from kubectl_kserve_mn.inputs.kserve_objects import ObjectCheck, validate_live
from kubectl_kserve_mn.inputs.problems import BadInput, describe_value
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.kserve.llmisvc.admission import NOT_CHECKED
from kubectl_kserve_mn.kserve.llmisvc.layout import SYSTEM_NAMESPACE
from kubectl_kserve_mn.kserve.llmisvc.spec import read

if TYPE_CHECKING:
    from kubectl_kserve_mn.cli.check_gather import CheckRun, ModelSource
    from kubectl_kserve_mn.cluster import Cluster

KIND = LLM_INFERENCE_SERVICE
LLM_CONFIG = "LLMInferenceServiceConfig"
PODS_SELECTOR = f"{PART_OF_LABEL}={PART_OF}"
HF_SCHEME = "hf://"


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _where(obj: Mapping[str, Any]) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name"))


# --- the model ------------------------------------------------------------------------------------------


def model_for(models: ModelSource, obj: dict[str, Any], base_dir: Path | None = None) -> ModelInput | None:
    """``--model``, else the ``kserve-mn/model`` annotation (as for InferenceServices), else the object's
    ``spec.model.uri`` when it is ``hf://ORG/NAME`` and that config is in the Hugging Face cache (never a
    download: ``check`` must not reach the network for every object)."""
    chosen = models.for_isvc(obj, base_dir)
    if chosen is not None:
        return chosen
    spec = obj.get("spec")
    model = spec.get("model") if isinstance(spec, dict) else None
    uri = model.get("uri") if isinstance(model, dict) else None
    if not isinstance(uri, str) or not uri.startswith(HF_SCHEME):
        return None
    parts = [p for p in uri[len(HF_SCHEME) :].split("/") if p]
    if len(parts) < 2:
        return None
    repo = "/".join(parts[:2])
    key = f"{HF_SCHEME}{repo}"
    if key not in models.cache:
        from kubectl_kserve_mn.model import load_model

        try:
            facts = load_model(repo, offline=True)
        except InputError:
            models.cache[key] = replace(models.settings, spec=repo, facts=None, source="spec.model.uri")
        else:
            models.cache[key] = replace(models.settings, spec=repo, facts=facts, source="spec.model.uri")
    cached = models.cache[key]
    return cached if cached.facts is not None else None


# --- reports --------------------------------------------------------------------------------------------


def _add_notes(run: CheckRun, report: LlmItemReport) -> None:
    where = f"{report.namespace}/{report.name}" if report.namespace else report.name
    for note in report.notes:
        if note != NOT_CHECKED:
            run.notes.append(f"{KIND} {where}: {note}")
    general = f"{KIND}: {NOT_CHECKED}"
    if NOT_CHECKED in report.notes and general not in run.notes:
        run.notes.append(general)


def _plan_command(report: LlmItemReport, version: KServeVersion, flags: Sequence[str]) -> str:
    """The ``plan --kind llmisvc`` that prints the fields to put in a file's object."""
    args = ["--kind", "llmisvc"]
    layout = report.llm_layout
    if layout is not None:
        main = layout.main
        p = main.parallelism
        tensor = (p.tensor if p is not None and p.tensor else None) or main.vllm.tensor
        args += ["--tensor-parallel-size", str(max(tensor, 1))]
        if main.lws is not None and main.vllm.data > 1:
            args += ["--data-parallel-size", str(main.vllm.data)]
    version_flag = ["--kserve-version", version.version] if version.version else []
    return "kubectl kserve-mn plan " + shlex.join([*args, *flags, *version_flag])


@dataclass(frozen=True)
class Configs:
    """LLMInferenceServiceConfigs by namespace, and the namespaces that could not be read."""

    by_namespace: Mapping[str, Mapping[str, Mapping[str, Any]]]
    unread: frozenset[str]
    available: bool
    """False: the cluster has no LLMInferenceServiceConfig CRD (or none could be read at all)."""

    def for_object(self, namespace: str) -> tuple[dict[str, Mapping[str, Any]], bool]:
        """(name -> config the controller finds for an object in ``namespace``, whether that is all of them)."""
        found = {**self.by_namespace.get(SYSTEM_NAMESPACE, {}), **self.by_namespace.get(namespace, {})}
        complete = self.available and not ({namespace, SYSTEM_NAMESPACE} & self.unread)
        return found, complete


@dataclass
class FileObject:
    """An LLMInferenceService from ``-f``, with what the input boundary said about it."""

    obj: dict[str, Any]
    checked: ObjectCheck
    base_dir: Path | None
    extra: list[Finding] = field(default_factory=list)


def file_config(item: SourcedObject, flag_namespace: str | None) -> dict[str, Any]:
    """An LLMInferenceServiceConfig from ``-f`` (a ``baseRefs`` target or a preset override), its namespace
    filled in as ``kubectl apply`` would. Its CRD schema is not in the package: only the shape the merge reads
    is checked (a name, a ``spec`` mapping)."""
    obj = item.obj
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    label = f"{LLM_CONFIG} {name}" if isinstance(name, str) and name else f"{LLM_CONFIG} #{item.index}"
    if not isinstance(name, str) or not name:
        raise BadInput(
            "missing: a name is required", source=item.source, obj=label, path=["metadata", "name"]
        )
    if not isinstance(obj.get("spec"), dict):
        raise BadInput(
            f"{describe_value(obj.get('spec'))} is not a mapping",
            source=item.source,
            obj=label,
            path=["spec"],
        )
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return {
        **obj,
        "metadata": {**(meta or {}), "namespace": namespace or flag_namespace or "default"},
    }


def offline_reports(
    run: CheckRun,
    objects: Sequence[FileObject],
    view: NodeView | None,
    models: ModelSource,
    configs: Sequence[dict[str, Any]] = (),
) -> None:
    """Check each LLMInferenceService read from the files (a create: no live object, no cluster).
    ``configs``: LLMInferenceServiceConfigs from the files (the cluster may hold more: never complete)."""
    by_namespace: dict[str, dict[str, Mapping[str, Any]]] = {}
    for config in configs:
        meta = _meta(config)
        by_namespace.setdefault(str(meta.get("namespace")), {})[str(meta.get("name"))] = config
    known = Configs(by_namespace, frozenset(), False)
    for item in objects:
        obj = item.obj
        model = model_for(models, obj, item.base_dir)
        found, _ = known.for_object(str(_meta(obj).get("namespace") or "default"))
        report = check_llminferenceservice(
            obj,
            run.version,
            schema_errors=[v.message for v in item.checked.rejected],
            configs=found or None,
            nodes=view,
            model=model,
            extra_findings=item.extra,
        )
        _add_notes(run, report)
        run.reports.append(run.judged(obj, report, model=model, inputs={"configs": found or None}))
        fix = fix_hint(report.name, report.namespace)
        if any(fix in (f.suggestion or "") for f in report.findings):
            plan = _plan_command(report, run.version, models.settings.plan_flags)
            run.notes.append(
                f"{KIND} {_where(obj)} is read from a file: `{fix}` changes it once it is on the cluster; before "
                f"that, `{plan}` prints the fields to put in the file"
            )


# --- on a cluster ---------------------------------------------------------------------------------------


@dataclass
class Named:
    """The result of looking names up: what was found, and what failed (one message each)."""

    found: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Bare names that are no LLMInferenceService (the caller words the failure when they are no
    InferenceService either)."""
    served: bool = False
    """The cluster has the LLMInferenceService CRD."""


def read_online(
    cluster: Cluster,
    run: CheckRun,
    refs: Sequence[NameRef],
    namespace: str | None,
    *,
    selector: str | None = None,
) -> Named:
    """The LLMInferenceServices to check: the named ones (``refs`` that can be one: ``llmisvc/NAME`` or a bare
    NAME), else all in ``namespace`` (None: every namespace) that match the label ``selector`` (``-l``). A
    cluster without the CRD has none, and nothing is said unless one was named as ``llmisvc/NAME``."""
    out = Named()
    if refs:
        assert namespace is not None
        by_name: dict[str, NameRef] = {}
        for ref in refs:  # one look-up per name; llmisvc/NAME over a bare NAME
            if ref.matches(KIND) and (ref.name not in by_name or ref.kind is not None):
                by_name[ref.name] = ref
        asked = list(by_name.values())
        if not asked:
            return out
        try:
            served = cluster.llmisvc_api_version()
        except ClusterError as err:
            out.failures.append(f"cannot tell whether the cluster serves LLMInferenceServices: {err.message}")
            return out
        out.served = served is not None
        for ref in asked:
            if served is None:
                if ref.kind is None:
                    out.missing.append(ref.name)
                else:
                    out.failures.append(
                        f"{ref}: the cluster has no LLMInferenceService CRD (llminferenceservices.serving.kserve.io; "
                        "KServe v0.16.0 or later serves it)"
                    )
                continue
            try:
                out.found.append(cluster.get_llminferenceservice(namespace, ref.name))
            except NotFoundError as err:
                if ref.kind is None:
                    out.missing.append(ref.name)
                else:
                    out.failures.append(
                        f'llminferenceservice "{ref.name}" not found in namespace "{namespace}" ({err.message})'
                    )
            except ClusterError as err:
                out.failures.append(err.message)
        return out
    try:
        items, problems = cluster.list_llminferenceservices_readable(
            None if namespace is None else [namespace], label_selector=selector
        )
    except NotFoundError:
        return out  # no LLMInferenceService CRD: an older KServe
    except ClusterError as err:
        out.served = True
        run.warnings.append(f"cannot read LLMInferenceServices: {err.message}")
        run.unreadable.append(f"LLMInferenceServices: {err.message}")
        return out
    out.served = True
    for problem in problems:
        run.warnings.append(f"could not read LLMInferenceServices in {problem}")
    run.unreadable.extend(f"LLMInferenceServices in {problem}" for problem in problems)
    if problems:
        run.notes.append(
            f"partial result: LLMInferenceServices in {len(problems)} namespace(s) could not be read "
            "(exit status 3); the others are reported above"
        )
    out.found = items
    return out


def named_failures(
    run: CheckRun,
    refs: Sequence[NameRef],
    isvcs: Sequence[dict[str, Any]],
    isvc_failures: Mapping[NameRef, str],
    llms: Named,
) -> None:
    """Names given on the command line that could not be read as any kind they may be: none read at all is
    one error (exit 3), some is a partial result (reported, exit 3). A bare NAME is missing only when it is
    neither an InferenceService nor an LLMInferenceService."""
    if not refs:
        return
    either = "; no llminferenceservice of that name either" if llms.served else ""
    failures = [
        m + (either if r.kind is None else "")
        for r, m in isvc_failures.items()
        if r.kind is not None or r.name in llms.missing
    ]
    failures += llms.failures
    if not isvcs and not llms.found and failures:
        raise ClusterError("; ".join(failures))
    run.warnings.extend(failures)
    run.unreadable.extend(failures)


def validated(obj: dict[str, Any], version: KServeVersion) -> dict[str, Any]:
    """A live object through the input boundary (:func:`validate_live`)."""
    return validate_live(obj, kserve_version=version)


def _multi_node(obj: Mapping[str, Any]) -> bool:
    item = read(obj)
    return any(w.multi_node for w in item.workloads)


def _lws_replicas(
    cluster: Cluster, run: CheckRun, objects: Sequence[dict[str, Any]], namespace: str | None
) -> dict[str, dict[str, int | None]]:
    """namespace -> LeaderWorkerSet name -> spec.replicas, for the objects with a ``worker``."""
    if not any(_multi_node(o) for o in objects):
        return {}
    try:
        items = cluster.list_leaderworkersets(namespace)
    except NotFoundError:
        names = ", ".join(_where(o) for o in objects if _multi_node(o))
        run.notes.append(
            "no LeaderWorkerSet CRD (leaderworkersets.leaderworkerset.x-k8s.io) on the cluster: KServe's controller "
            f"needs it to create the multi-node workloads of {names}; their live replicas are unknown"
        )
        return {}
    except ClusterError as err:
        run.warnings.append(
            f"cannot read LeaderWorkerSets ({err.message}): the live replicas of LLMInferenceServices without "
            "spec.replicas are unknown"
        )
        return {}
    found: dict[str, dict[str, int | None]] = {}
    for lws in items:
        meta = _meta(lws)
        spec = lws.get("spec")
        replicas = spec.get("replicas") if isinstance(spec, dict) else None
        value = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else None
        found.setdefault(str(meta.get("namespace") or ""), {})[str(meta.get("name"))] = value
    return found


def read_configs(
    cluster: Cluster, namespaces: Sequence[str], all_namespaces: bool
) -> tuple[Configs, list[str]]:
    """The configs of the objects' namespaces and ``kserve`` (one cluster-wide list with -A, per namespace
    when that is forbidden; else one list per namespace), and warnings for what could not be read."""
    from kubectl_kserve_mn.cluster import ForbiddenError

    wanted = sorted({*namespaces, SYSTEM_NAMESPACE})
    items: list[dict[str, Any]] = []
    unread: set[str] = set()
    warnings: list[str] = []
    try:
        if all_namespaces:
            try:
                items = cluster.list_llminferenceserviceconfigs(None)
                wanted = []
            except ForbiddenError:
                pass
        for namespace in wanted:
            try:
                items += cluster.list_llminferenceserviceconfigs(namespace)
            except NotFoundError:
                raise
            except ClusterError as err:
                unread.add(namespace)
                warnings.append(
                    f"cannot read LLMInferenceServiceConfigs in {namespace} ({err.message}): its baseRefs and presets "
                    "are not known"
                )
    except NotFoundError:
        return Configs({}, frozenset(), False), warnings
    except ClusterError as err:
        warnings.append(
            f"cannot read LLMInferenceServiceConfigs ({err.message}): only the shipped presets are used"
        )
        return Configs({}, frozenset(), False), warnings
    by_namespace: dict[str, dict[str, Mapping[str, Any]]] = {}
    for config in items:
        meta = _meta(config)
        if not isinstance(config.get("spec"), dict) or not meta.get("name"):
            continue
        by_namespace.setdefault(str(meta.get("namespace") or ""), {})[str(meta["name"])] = config
    return Configs(by_namespace, frozenset(unread), True), warnings


def online_reports(
    cluster: Cluster,
    run: CheckRun,
    objects: Sequence[dict[str, Any]],
    namespace: str | None,
    *,
    names: Sequence[str],
    view: NodeView | None,
    models: ModelSource,
    custom_gpu_types: Sequence[str],
) -> None:
    """Check the live LLMInferenceServices ``objects`` (``namespace`` None: read with -A)."""
    if not objects:
        return
    objects = sorted(objects, key=lambda o: (str(_meta(o).get("namespace")), str(_meta(o).get("name"))))
    for obj in objects:
        validated(obj, run.version)
    namespaces = sorted({str(_meta(o).get("namespace") or "") for o in objects})
    lws = _lws_replicas(cluster, run, objects, namespace)
    configs, warnings = read_configs(cluster, namespaces, namespace is None)
    run.warnings.extend(warnings)
    owned = PODS_SELECTOR + (f",{NAME_LABEL} in ({','.join(sorted(set(names)))})" if names else "")
    pods_by_object, events_by_ns = pods_and_events(
        cluster, run.warnings, namespace, owned, NAME_LABEL, "LLMInferenceServices"
    )
    for obj in objects:
        ns, name = str(_meta(obj).get("namespace") or ""), str(_meta(obj).get("name"))
        pods = pods_by_object.get((ns, name), [])
        events = events_by_ns.get(ns, []) if any(p.phase == "Pending" for p in pods) else []
        found, complete = configs.for_object(ns)
        inputs: dict[str, Any] = {
            "configs": found or None,
            "configs_complete": complete,
            "live_lws_replicas": lws.get(ns),
            "events": events,
        }
        model = model_for(models, obj)
        report = check_llminferenceservice(
            obj,
            run.version,
            live=obj,
            pods=pods,
            nodes=view,
            model=model,
            custom_gpu_types=custom_gpu_types,
            **inputs,
        )
        _add_notes(run, report)
        run.reports.append(run.judged(obj, report, pods=pods, model=model, inputs=inputs))
