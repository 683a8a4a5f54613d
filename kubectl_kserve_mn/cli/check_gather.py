"""Where ``check``'s objects come from: files (-f, no cluster at all) or the cluster, and the run's record."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kubectl_kserve_mn.cli.check_files import read_objects, unknown_field_finding, with_namespace
from kubectl_kserve_mn.cli.check_llmisvc import (
    LLM_CONFIG,
    FileObject,
    file_config,
    named_failures,
    read_online,
)
from kubectl_kserve_mn.cli.check_llmisvc import offline_reports as offline_llm_reports
from kubectl_kserve_mn.cli.check_llmisvc import online_reports as online_llm_reports
from kubectl_kserve_mn.cli.kinds import LLM_INFERENCE_SERVICE, NameRef, parse_names
from kubectl_kserve_mn.cli.options import (
    ConnectionOptions,
    connect,
    resolve_kserve_version,
)
from kubectl_kserve_mn.cli.owned_pods import pods_and_events
from kubectl_kserve_mn.errors import (
    EXIT_CLUSTER,
    EXIT_FINDINGS,
    EXIT_OK,
    ClusterError,
    InputError,
    NotFoundError,
)
from kubectl_kserve_mn.findings import (
    ISVC_LABEL,
    Finding,
    ItemReport,
    ModelInput,
    NodeView,
    add_findings,
    check_inferenceservice,
    check_runtime,
    fix_command,
    has_errors,
    offline_plan_command,
)
from kubectl_kserve_mn.findings.upgrade import UpgradeContext, gpu_view, upgrade_target, with_upgrade
from kubectl_kserve_mn.findings.upgrade import breaks as upgrade_breaks
from kubectl_kserve_mn.inputs import BadInput
from kubectl_kserve_mn.inputs.documents import SourcedObject
from kubectl_kserve_mn.inputs.k8s import (
    Pod,
    read_nodes_file,
    read_pods_file,
)
from kubectl_kserve_mn.inputs.kserve_objects import validate_live, validate_object
from kubectl_kserve_mn.inputs.selector import labels_of
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.kserve.runtimes import (
    CLUSTER_SERVING_RUNTIME,
    SERVING_RUNTIME,
    SHIPPED_MULTINODE_RUNTIME,
    runtimes_by_namespace,
    runtimes_in_scope,
    select_runtime,
    shipped_runtime,
)

if TYPE_CHECKING:
    from kubectl_kserve_mn.cluster import Cluster
    from kubectl_kserve_mn.inputs.selector import Selector


@dataclass
class CheckRun:
    version: KServeVersion
    reports: list[ItemReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """What could not be read (a 403 namespace during -A, a named object not found): the result is
    partial, so the exit status is 3 even though the rest is reported."""
    upgrade: UpgradeContext | None = None
    """``--upgrade-to``: the run's context for judging each object under the target release."""

    def to_json(self) -> dict[str, Any]:
        upgrade = (
            {}
            if self.upgrade is None
            else {"upgradeFrom": self.upgrade.installed.display, "upgradeTo": self.upgrade.target.display}
        )
        return {
            "kserveVersion": self.version.display,
            "kserveVersionSource": self.version.source,
            **upgrade,
            "items": [report.to_json() for report in self.reports],
            "unreadable": list(self.unreadable),
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }

    @property
    def exit_code(self) -> int:
        if self.unreadable:
            return EXIT_CLUSTER
        return EXIT_FINDINGS if has_errors(self.reports) or upgrade_breaks(self.reports) else EXIT_OK

    def judged(
        self,
        obj: dict[str, Any],
        report: ItemReport,
        *,
        pods: Sequence[Pod] = (),
        model: ModelInput | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> ItemReport:
        """``report`` with the ``--upgrade-to`` judgment, when asked for; ``inputs``: what the kind's check
        took beyond the shared inputs (``UpgradeContext.object_inputs``)."""
        if self.upgrade is None:
            return report
        context = replace(self.upgrade, pods=tuple(pods), model=model, object_inputs=dict(inputs or {}))
        return with_upgrade(obj, report, context)

    def start_upgrade(
        self,
        flag: str | None,
        runtimes: Sequence[dict[str, Any]],
        *,
        custom_gpu_types: Sequence[str] = (),
        nodes: NodeView | None = None,
        existing: bool,
    ) -> None:
        if flag is None:
            return
        target = upgrade_target(flag, self.version)
        if target.warning:
            self.warnings.append(target.warning)
        self.upgrade = UpgradeContext(
            self.version,
            target,
            tuple(runtimes),
            tuple(custom_gpu_types),
            gpu_view(nodes),
            existing=existing,
            offline=not existing,
        )


@dataclass
class ModelSource:
    """Each InferenceService's model: --model for all of them, else its ``kserve-mn/model`` annotation,
    loaded once per path or id. A bad annotation becomes a finding on its item, not a failed run."""

    given: ModelInput | None
    settings: ModelInput
    """The memory flags, with no model: the template of every annotation's ModelInput."""
    cache: dict[str, ModelInput] = field(default_factory=dict)

    def for_isvc(self, isvc: dict[str, Any], base_dir: Path | None = None) -> ModelInput | None:
        if self.given is not None:
            return self.given
        from kubectl_kserve_mn.model import MODEL_ANNOTATION, load_model, model_spec_from_isvc

        spec = model_spec_from_isvc(isvc)
        if spec is None:
            return None
        path = _beside(spec, base_dir)
        if path not in self.cache:
            source = f"annotation {MODEL_ANNOTATION}"
            try:
                self.cache[path] = replace(self.settings, spec=path, facts=load_model(path), source=source)
            except InputError as err:
                error = err.message.removeprefix(f"--model {path}: ")
                self.cache[path] = replace(self.settings, spec=spec, facts=None, error=error, source=source)
        return self.cache[path]


def _beside(spec: str, base_dir: Path | None) -> str:
    """A relative path in an annotation of a file given with -f is relative to that file (so a GitOps
    repository can be checked from anywhere); returned relative to the current directory."""
    if base_dir is None or os.path.isabs(os.path.expanduser(spec)) or spec.startswith("~"):
        return spec
    candidate = base_dir / spec
    if not candidate.exists() or (Path(spec).exists() and Path(spec).resolve() == candidate.resolve()):
        return spec
    try:
        return os.path.relpath(candidate)
    except ValueError:  # another drive on Windows
        return str(candidate.resolve())


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def is_multinode(isvc: dict[str, Any]) -> bool:
    """Has a workerSpec on its predictor, or on a canary's (which KServe v0.20.0+ rejects: checked too)."""
    spec: dict[str, Any] = isvc["spec"] if isinstance(isvc.get("spec"), dict) else {}
    predictors = [spec.get("predictor")] + [
        c.get("predictor") for c in spec.get("canary") or [] if isinstance(c, dict)
    ]
    return any(isinstance(p, dict) and isinstance(p.get("workerSpec"), dict) for p in predictors)


# --- offline ------------------------------------------------------------------------------------


def offline(
    names: tuple[str, ...],
    filenames: tuple[str, ...],
    nodes_file: str | None,
    pods_file: str | None,
    gpu_resource: str | None,
    flag: str,
    conn: ConnectionOptions,
    models: ModelSource,
    upgrade_to: str | None = None,
    *,
    selector: Selector | None = None,
    recursive: bool = False,
) -> CheckRun:
    """-f: no cluster access at all. ``selector``: ``-l``; ``recursive``: ``-R`` for directories."""
    version = resolve_kserve_version(flag, None)
    run = CheckRun(version)
    if upgrade_to is not None:
        upgrade_target(upgrade_to, version)  # a bad or older target is refused before any file is read
    if version.warning:
        run.warnings.append(version.warning)
    objects = read_objects(filenames, recursive=recursive)
    origin: dict[int, Path | None] = {}  # id of an object from the files -> the directory of its file
    isvcs: list[dict[str, Any]] = []
    runtimes: list[dict[str, Any]] = []
    llms: list[FileObject] = []
    llm_configs: list[dict[str, Any]] = []
    ignored: dict[str, int] = {}
    seen: dict[tuple[str, str | None, str], SourcedObject] = {}
    api_rejections: dict[int, str] = {}
    unknown: dict[int, list[Finding]] = {}
    not_checked = 0
    selected_runtimes: list[dict[str, Any]] = []
    not_selected = 0
    for item in objects:
        kind = str(item.obj.get("kind"))
        if kind == LLM_CONFIG:  # presets and baseRefs: context for the objects, never checked themselves
            llm_configs.append(file_config(item, conn.namespace))
            continue
        chosen = selector is None or selector.matches(labels_of(item.obj))
        if kind not in ("InferenceService", SERVING_RUNTIME, CLUSTER_SERVING_RUNTIME, LLM_INFERENCE_SERVICE):
            if chosen:
                ignored[kind] = ignored.get(kind, 0) + 1
            continue
        not_selected += not chosen
        obj = with_namespace(item, kind, conn.namespace)
        # The input boundary: the API server's own checks against this KServe's CRD. Malformed (exit 2)
        # raises here; values it would reject become the object's admission verdict.
        judged = validate_object(obj, source=item.source, kserve_version=version, position=item.index)
        if judged.rejected:
            api_rejections[id(obj)] = judged.api_message
        if judged.unknown_fields:
            unknown[id(obj)] = [unknown_field_finding(judged)]
        not_checked += len(judged.not_checked)
        key = (kind, meta(obj).get("namespace"), str(meta(obj).get("name")))
        if key in seen:
            first = seen[key]
            raise BadInput(
                f"defined twice (also {first.source} #{first.index}): the second would overwrite the first",
                source=item.source,
                obj=f"{kind} {'/'.join(k for k in key[1:] if k)}",
            )
        seen[key] = item
        origin[id(obj)] = None if item.source == "<stdin>" else Path(item.source).parent
        # -l, as kubectl filters -f objects (cli-runtime builder.go visitByPaths: FilterByLabelSelector); a
        # runtime it leaves out is still one the selected InferenceServices may use, as on a cluster.
        if kind == LLM_INFERENCE_SERVICE:
            if chosen:
                llms.append(FileObject(obj, judged, origin[id(obj)], unknown.get(id(obj), [])))
        elif kind == "InferenceService":
            if chosen:
                isvcs.append(obj)
        else:
            runtimes.append(obj)
            if chosen:
                selected_runtimes.append(obj)
    if not_checked:
        run.notes.append(
            f"{not_checked} CEL validation rule(s) of the CRDs (x-kubernetes-validations) apply to these objects "
            "and were not evaluated"
        )
    if selector is not None and not_selected:
        run.notes.append(
            f"-l {selector.text}: {not_selected} InferenceService(s), LLMInferenceService(s) or runtime(s) in the "
            "files do not match and are not checked"
        )
    if ignored:
        run.notes.append(
            "ignored objects of other kinds: "
            + ", ".join(f"{count} {kind}" for kind, count in sorted(ignored.items()))
        )
    if names:
        refs = parse_names(names)

        def wanted(obj: dict[str, Any], kind: str | None) -> bool:
            name = str(meta(obj).get("name"))
            return any(r.name == name and (r.kind is None or r.kind == kind) for r in refs)

        found = [
            *(o for o in isvcs if wanted(o, "InferenceService")),
            *(o for o in runtimes if wanted(o, None)),
            *(f.obj for f in llms if wanted(f.obj, LLM_INFERENCE_SERVICE)),
        ]
        missing = [str(r) for r in refs if not any(r.refers_to(o) for o in found)]
        if len(missing) == len(refs):
            raise InputError(
                f"no InferenceService, LLMInferenceService or runtime named {', '.join(missing)} in the files"
            )
        for name in missing:
            run.warnings.append(f"{name}: not found in the files")
        isvcs = [o for o in isvcs if wanted(o, "InferenceService")]
        checked_runtimes = [o for o in runtimes if wanted(o, None)]
        llms = [f for f in llms if wanted(f.obj, LLM_INFERENCE_SERVICE)]
    else:
        checked_runtimes = selected_runtimes
    candidates = list(runtimes)
    assumed_shipped = not any(meta(r).get("name") == SHIPPED_MULTINODE_RUNTIME for r in runtimes)
    if assumed_shipped:
        candidates.append(shipped_runtime(version.era))
    view: NodeView | None = None
    if nodes_file:
        nodes = read_nodes_file(nodes_file)
        pods = read_pods_file(pods_file) if pods_file else []
        view = NodeView(nodes, pods, free_known=bool(pods_file), gpu_resource=gpu_resource)
        if not pods_file:
            run.notes.append("no --pods-file: GPUs in use are unknown, only the nodes' capacity is checked")
    else:
        run.notes.append(
            "schedulability findings skipped: -f without --nodes-file reads no cluster "
            "(pass --nodes-file from `kubectl get nodes -o yaml` to check capacity)"
        )
    multinode = [o for o in isvcs if is_multinode(o)]
    skipped = len(isvcs) - len(multinode)
    if skipped:
        run.notes.append(
            f"{skipped} InferenceService(s) without spec.predictor.workerSpec skipped (not multi-node)"
        )
    used_shipped = False
    run.start_upgrade(upgrade_to, candidates, nodes=view, existing=False)
    for isvc in multinode:
        model = models.for_isvc(isvc, origin.get(id(isvc)))
        report = check_inferenceservice(
            isvc,
            candidates,
            version,
            nodes=view,
            offline=True,
            model=model,
            api_rejection=api_rejections.get(id(isvc)),
            extra_findings=unknown.get(id(isvc), ()),
        )
        report = run.judged(isvc, report, model=model)
        run.reports.append(report)
        fix = fix_command(report.name, report.namespace)
        if report.layout is not None and any(f.suggestion == fix for f in report.findings):
            plan = offline_plan_command(isvc, report.layout, version, models.settings.plan_flags)
            run.notes.append(
                f"{report.namespace}/{report.name} is read from a file: `{fix}` changes it once it is on the "
                f"cluster; before that, `{plan}` prints the fields to put in the file"
            )
        choice = select_runtime(isvc, candidates)
        used_shipped = used_shipped or (assumed_shipped and choice.name == SHIPPED_MULTINODE_RUNTIME)
    if used_shipped:
        run.notes.append(
            f"ClusterServingRuntime {SHIPPED_MULTINODE_RUNTIME} is not in the files: assumed the one KServe "
            f"{version.era.key} ships (pass your copy with -f if it differs)"
        )
    offline_llm_reports(run, llms, view, models, llm_configs)
    for rt in checked_runtimes:
        report = check_runtime(rt, version, api_rejection=api_rejections.get(id(rt)))
        run.reports.append(run.judged(rt, add_findings(report, unknown.get(id(rt), ()))))
    if not run.reports:
        matching = f" matching -l {selector.text}" if selector is not None else ""
        run.notes.append(
            f"no multi-node InferenceService, LLMInferenceService or runtime{matching} found in the files"
        )
    return run


# --- on a cluster -------------------------------------------------------------------------------


def online(
    names: tuple[str, ...],
    all_namespaces: bool,
    nodes_file: str | None,
    pods_file: str | None,
    gpu_resource: str | None,
    flag: str,
    conn: ConnectionOptions,
    models: ModelSource,
    upgrade_to: str | None = None,
    *,
    selector: Selector | None = None,
) -> CheckRun:
    """The cluster's objects: the named ones, else every one in the namespace (None: all), each kind in one
    list (``selector``: ``-l``, sent as the lists' ``labelSelector``)."""
    cluster = connect(conn)
    version = resolve_kserve_version(flag, cluster)
    run = CheckRun(version)
    if upgrade_to is not None:
        upgrade_target(upgrade_to, version)  # refused before the objects are read
    if version.warning:
        run.warnings.append(version.warning)
    namespace = conn.namespace or cluster.namespace
    scope = None if all_namespaces else namespace
    refs = parse_names(names)
    isvc_refs = [r for r in refs if r.matches("InferenceService")]
    label_selector = selector.text if selector is not None else None
    isvcs, isvc_missing = _read_isvcs(
        cluster, run, isvc_refs, scope, named=bool(refs), selector=label_selector
    )
    llms = read_online(cluster, run, refs, scope, selector=label_selector)
    named_failures(run, refs, isvcs, isvc_missing, llms)
    multinode = [o for o in isvcs if is_multinode(o)]
    for obj in isvcs:
        if not is_multinode(obj) and names:
            run.notes.append(
                f"InferenceService {meta(obj).get('namespace')}/{meta(obj).get('name')} is not multi-node "
                "(no spec.predictor.workerSpec): nothing to check"
            )
    if not names and len(isvcs) > len(multinode):
        run.notes.append(f"{len(isvcs) - len(multinode)} InferenceService(s) without workerSpec skipped")
    if not multinode and not llms.found:
        kinds = "InferenceService or LLMInferenceService" if llms.served else "InferenceService"
        matching = f" matching -l {label_selector}" if label_selector else ""
        run.notes.append(f"no multi-node {kinds}{matching} found")
        return run
    namespaces = sorted({str(meta(o).get("namespace")) for o in multinode})
    runtimes: list[dict[str, Any]] = []
    if multinode:
        # -A: one cluster-wide list (per namespace only when that is forbidden), never one per namespace.
        srs, problems = cluster.list_servingruntimes_readable(None if all_namespaces else namespaces)
        runtimes.extend(srs)
        run.warnings.extend(f"cannot read ServingRuntimes in {p}" for p in problems)
        try:
            runtimes.extend(cluster.list_clusterservingruntimes())
        except ClusterError as err:
            run.warnings.append(f"cannot read ClusterServingRuntimes: {err.message}")
    # The same boundary as for files: the core never sees a wrong type, even from a cluster whose CRD
    # differs from the one this KServe release ships.
    for obj in [*multinode, *runtimes]:
        validate_live(obj, kserve_version=version)
    custom = cluster.read_multinode_config()
    view = _node_view(cluster, run, nodes_file, pods_file, gpu_resource)
    run.start_upgrade(upgrade_to, runtimes, custom_gpu_types=custom, nodes=view, existing=True)
    used: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    if multinode:
        isvc_names = tuple(r.name for r in refs if r.matches("InferenceService"))
        owned = f"{ISVC_LABEL} in ({','.join(sorted(set(isvc_names)))})" if isvc_names else ISVC_LABEL
        pods_by_isvc, events_by_ns = pods_and_events(
            cluster, run.warnings, scope, owned, ISVC_LABEL, "InferenceServices"
        )
    runtime_groups = runtimes_by_namespace(runtimes)
    for isvc in multinode:
        ns, name = str(meta(isvc).get("namespace")), str(meta(isvc).get("name"))
        in_scope = runtimes_in_scope(runtime_groups, ns)
        pods = pods_by_isvc.get((ns, name), [])
        events = events_by_ns.get(ns, []) if any(p.phase == "Pending" for p in pods) else []
        model = models.for_isvc(isvc)
        report = check_inferenceservice(
            isvc,
            in_scope,
            version,
            custom_gpu_types=custom,
            nodes=view,
            existing=True,
            pods=pods,
            events=events,
            model=model,
        )
        run.reports.append(run.judged(isvc, report, pods=pods, model=model))
        choice = select_runtime(isvc, in_scope)
        if choice.runtime is not None:
            rt_ns = meta(choice.runtime).get("namespace")
            used[(str(choice.kind), str(rt_ns) if rt_ns else None, str(choice.name))] = choice.runtime
    online_llm_reports(
        cluster,
        run,
        llms.found,
        scope,
        names=[r.name for r in refs if r.matches(LLM_INFERENCE_SERVICE)],
        view=view,
        models=models,
        custom_gpu_types=custom,
    )
    for key in sorted(used, key=lambda k: (k[0], k[1] or "", k[2])):
        run.reports.append(run.judged(used[key], check_runtime(used[key], version, existing=used[key])))
    return run


def _read_isvcs(
    cluster: Cluster,
    run: CheckRun,
    refs: Sequence[NameRef],
    namespace: str | None,
    *,
    named: bool,
    selector: str | None = None,
) -> tuple[list[dict[str, Any]], dict[NameRef, str]]:
    """The InferenceServices to check (``named``: only those of ``refs``, which may be none), and the named ones
    that could not be read (with why): the caller decides, with the LLMInferenceServices of the same names,
    what is missing."""
    if named:
        assert namespace is not None
        found: list[dict[str, Any]] = []
        failures: dict[NameRef, str] = {}
        asked: set[str] = set()
        for ref in refs:
            if ref.name in asked:  # isvc/NAME and NAME: one object
                continue
            asked.add(ref.name)
            try:
                found.append(cluster.get_inferenceservice(namespace, ref.name))
            except NotFoundError as err:
                failures[ref] = (
                    f'inferenceservice "{ref.name}" not found in namespace "{namespace}" ({err.message})'
                )
            except ClusterError as err:
                failures[ref] = err.message
        return found, failures
    items, problems = cluster.list_inferenceservices_readable(
        None if namespace is None else [namespace], label_selector=selector
    )
    if problems and not items:
        raise ClusterError("cannot read InferenceServices: " + "; ".join(problems))
    for problem in problems:
        run.warnings.append(f"could not read InferenceServices in {problem}")
    run.unreadable.extend(f"InferenceServices in {problem}" for problem in problems)
    if problems:
        run.notes.append(
            f"partial result: InferenceServices in {len(problems)} namespace(s) could not be read "
            "(exit status 3); the others are reported above"
        )
    return items, {}


def _node_view(
    cluster: Cluster, run: CheckRun, nodes_file: str | None, pods_file: str | None, gpu_resource: str | None
) -> NodeView | None:
    if nodes_file:
        return NodeView(
            read_nodes_file(nodes_file),
            read_pods_file(pods_file) if pods_file else [],
            free_known=bool(pods_file),
            gpu_resource=gpu_resource,
        )
    # Both lists at once; each may fail on its own (RBAC often allows one and not the other).
    (nodes, node_error), (pods, pod_error) = cluster.concurrently(
        lambda: _attempt(cluster.list_nodes), lambda: _attempt(cluster.list_gpu_pods)
    )
    if node_error is not None or nodes is None:
        run.warnings.append(f"cannot read nodes, schedulability findings skipped: {node_error}")
        return None
    if pod_error is not None or pods is None:
        run.warnings.append(f"cannot read pods, only the nodes' capacity is checked: {pod_error}")
        return NodeView(nodes, [], free_known=False, gpu_resource=gpu_resource)
    return NodeView(nodes, pods, gpu_resource=gpu_resource)


R = TypeVar("R")


def _attempt(call: Callable[[], R]) -> tuple[R | None, str | None]:
    try:
        return call(), None
    except ClusterError as err:
        return None, err.message
