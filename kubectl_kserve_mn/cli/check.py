"""`kubectl kserve-mn check`: flags, input gathering and rendering; the rules are in findings.py and kserve/."""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click
from tabulate import tabulate

from kubectl_kserve_mn import files
from kubectl_kserve_mn.cli import render
from kubectl_kserve_mn.cli.options import (
    ConnectionOptions,
    connect,
    connection_options,
    finish,
    kserve_version_option,
    output_option,
    resolve_kserve_version,
    warn,
)
from kubectl_kserve_mn.errors import EXIT_FINDINGS, EXIT_OK, ClusterError, InputError, NotFoundError
from kubectl_kserve_mn.findings import (
    ISVC_LABEL,
    ItemReport,
    NodeView,
    check_inferenceservice,
    check_runtime,
    has_errors,
)
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.kserve.runtimes import (
    CLUSTER_SERVING_RUNTIME,
    SERVING_RUNTIME,
    SHIPPED_MULTINODE_RUNTIME,
    select_runtime,
    shipped_runtime,
)

if TYPE_CHECKING:
    from kubectl_kserve_mn.cluster import Cluster

RUNTIME_KINDS = (SERVING_RUNTIME, CLUSTER_SERVING_RUNTIME)


@dataclass
class CheckRun:
    version: KServeVersion
    reports: list[ItemReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "kserveVersion": self.version.display,
            "kserveVersionSource": self.version.source,
            "items": [report.to_json() for report in self.reports],
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _is_multinode(isvc: dict[str, Any]) -> bool:
    predictor = (isvc.get("spec") or {}).get("predictor") if isinstance(isvc.get("spec"), dict) else None
    return isinstance(predictor, dict) and isinstance(predictor.get("workerSpec"), dict)


@click.command("check")
@click.argument("names", nargs=-1)
@click.option("-A", "--all-namespaces", is_flag=True, help="Check InferenceServices in every namespace.")
@click.option(
    "-f",
    "--filename",
    "filenames",
    multiple=True,
    metavar="FILE",
    help="Check InferenceServices/ServingRuntimes from a file ('-' for stdin; repeatable) instead of the cluster.",
)
@click.option(
    "--nodes-file", metavar="FILE", help="Nodes from `kubectl get nodes -o yaml|json` instead of the cluster."
)
@click.option(
    "--pods-file", metavar="FILE", help="Pods from `kubectl get pods -A -o yaml|json` (with --nodes-file)."
)
@click.option("--gpu-resource", metavar="NAME", help="Only consider nodes' GPUs of this resource.")
@kserve_version_option
@output_option(("table", "json", "yaml"), "table")
@connection_options
def check(
    names: tuple[str, ...],
    all_namespaces: bool,
    filenames: tuple[str, ...],
    nodes_file: str | None,
    pods_file: str | None,
    gpu_resource: str | None,
    kserve_version: str,
    output: str,
    conn: ConnectionOptions,
) -> None:
    """Predict what KServe will do with multi-node InferenceServices, and why it will fail.

    For each InferenceService with spec.predictor.workerSpec: would KServe's webhook admit it,
    what Deployments and GPU counts the controller would create, and whether those pods can
    schedule on the nodes. ServingRuntimes given with -f are checked against the webhook too.

    \b
    Examples:
      # every multi-node InferenceService in the current namespace
      kubectl kserve-mn check
      # all namespaces, as JSON
      kubectl kserve-mn check -A -o json
      # pre-merge gate for a GitOps repo: no cluster access at all
      kubectl kserve-mn check -f isvc.yaml --kserve-version v0.15.1
      # offline, with the cluster's nodes saved earlier
      kubectl kserve-mn check -f isvc.yaml --nodes-file nodes.yaml --kserve-version v0.16.0

    Exit status: 0 no error findings; 1 error findings; 2 bad input; 3 cluster error.
    """
    if all_namespaces and conn.namespace:
        raise InputError("-A/--all-namespaces cannot be combined with -n/--namespace")
    if pods_file and not nodes_file:
        raise InputError("--pods-file needs --nodes-file")
    if gpu_resource is not None and not gpu_resource.strip():
        raise InputError("--gpu-resource must not be empty")
    if filenames:
        if all_namespaces:
            raise InputError("-A/--all-namespaces cannot be combined with -f")
        run = _offline(names, filenames, nodes_file, pods_file, gpu_resource, kserve_version, conn)
    else:
        if names and all_namespaces:
            raise InputError("a name cannot be combined with -A/--all-namespaces (give -n NAMESPACE)")
        run = _online(names, all_namespaces, nodes_file, pods_file, gpu_resource, kserve_version, conn)
    for message in run.warnings:
        warn(message)
    if output == "table":
        click.echo(render_table(run), nl=False)
    else:
        render.emit(run.to_json(), output)
    finish(EXIT_FINDINGS if has_errors(run.reports) else EXIT_OK)


# --- offline ------------------------------------------------------------------------------------


def _offline(
    names: tuple[str, ...],
    filenames: tuple[str, ...],
    nodes_file: str | None,
    pods_file: str | None,
    gpu_resource: str | None,
    flag: str,
    conn: ConnectionOptions,
) -> CheckRun:
    """-f: no cluster access at all."""
    version = resolve_kserve_version(flag, None)
    run = CheckRun(version)
    if version.warning:
        run.warnings.append(version.warning)
    objects: list[dict[str, Any]] = []
    for path in filenames:
        objects.extend(files.load_objects(path))
    default_ns = conn.namespace or "default"
    isvcs: list[dict[str, Any]] = []
    runtimes: list[dict[str, Any]] = []
    ignored: dict[str, int] = {}
    for obj in objects:
        kind = str(obj.get("kind"))
        if kind == "InferenceService" or kind == SERVING_RUNTIME:
            obj = copy.deepcopy(obj)
            obj.setdefault("metadata", {})
            if not isinstance(obj["metadata"], dict):
                raise InputError(f"{kind}: metadata must be a mapping")
            obj["metadata"].setdefault("namespace", default_ns)
            (isvcs if kind == "InferenceService" else runtimes).append(obj)
        elif kind == CLUSTER_SERVING_RUNTIME:
            runtimes.append(obj)
        else:
            ignored[kind] = ignored.get(kind, 0) + 1
    if ignored:
        run.notes.append(
            "ignored objects of other kinds: "
            + ", ".join(f"{count} {kind}" for kind, count in sorted(ignored.items()))
        )
    if names:
        wanted = set(names)
        found = {str(_meta(o).get("name")) for o in isvcs + runtimes}
        missing = [n for n in names if n not in found]
        if len(missing) == len(set(names)):
            raise InputError(f"no InferenceService or runtime named {', '.join(missing)} in the files")
        for name in missing:
            run.warnings.append(f"{name}: not found in the files")
        isvcs = [o for o in isvcs if _meta(o).get("name") in wanted]
        checked_runtimes = [o for o in runtimes if _meta(o).get("name") in wanted]
    else:
        checked_runtimes = list(runtimes)
    candidates = list(runtimes)
    assumed_shipped = not any(_meta(r).get("name") == SHIPPED_MULTINODE_RUNTIME for r in runtimes)
    if assumed_shipped:
        candidates.append(shipped_runtime(version.era))
    view: NodeView | None = None
    if nodes_file:
        nodes = files.load_kind(nodes_file, "Node")
        pods = files.load_kind(pods_file, "Pod") if pods_file else []
        view = NodeView(nodes, pods, free_known=bool(pods_file), gpu_resource=gpu_resource)
        if not pods_file:
            run.notes.append("no --pods-file: GPUs in use are unknown, only the nodes' capacity is checked")
    else:
        run.notes.append(
            "schedulability findings skipped: -f without --nodes-file reads no cluster "
            "(pass --nodes-file from `kubectl get nodes -o yaml` to check capacity)"
        )
    multinode = [o for o in isvcs if _is_multinode(o)]
    skipped = len(isvcs) - len(multinode)
    if skipped:
        run.notes.append(
            f"{skipped} InferenceService(s) without spec.predictor.workerSpec skipped (not multi-node)"
        )
    used_shipped = False
    for isvc in multinode:
        report = check_inferenceservice(isvc, candidates, version, nodes=view, offline=True)
        run.reports.append(report)
        choice = select_runtime(isvc, candidates)
        used_shipped = used_shipped or (assumed_shipped and choice.name == SHIPPED_MULTINODE_RUNTIME)
    if used_shipped:
        run.notes.append(
            f"ClusterServingRuntime {SHIPPED_MULTINODE_RUNTIME} is not in the files: assumed the one KServe "
            f"{version.era.key} ships (pass your copy with -f if it differs)"
        )
    for rt in checked_runtimes:
        run.reports.append(check_runtime(rt, version))
    if not run.reports:
        run.notes.append("no multi-node InferenceService or runtime found in the files")
    return run


# --- on a cluster -------------------------------------------------------------------------------


def _online(
    names: tuple[str, ...],
    all_namespaces: bool,
    nodes_file: str | None,
    pods_file: str | None,
    gpu_resource: str | None,
    flag: str,
    conn: ConnectionOptions,
) -> CheckRun:
    cluster = connect(conn)
    version = resolve_kserve_version(flag, cluster)
    run = CheckRun(version)
    if version.warning:
        run.warnings.append(version.warning)
    namespace = conn.namespace or cluster.namespace
    isvcs = _read_isvcs(cluster, run, names, None if all_namespaces else namespace)
    multinode = [o for o in isvcs if _is_multinode(o)]
    for obj in isvcs:
        if not _is_multinode(obj) and names:
            run.notes.append(
                f"InferenceService {_meta(obj).get('namespace')}/{_meta(obj).get('name')} is not multi-node "
                "(no spec.predictor.workerSpec): nothing to check"
            )
    if not names and len(isvcs) > len(multinode):
        run.notes.append(f"{len(isvcs) - len(multinode)} InferenceService(s) without workerSpec skipped")
    if not multinode:
        run.notes.append("no multi-node InferenceService found")
        return run
    namespaces = sorted({str(_meta(o).get("namespace")) for o in multinode})
    runtimes: list[dict[str, Any]] = []
    srs, problems = cluster.list_servingruntimes_readable(namespaces)
    runtimes.extend(srs)
    run.warnings.extend(f"cannot read ServingRuntimes in {p}" for p in problems)
    try:
        runtimes.extend(cluster.list_clusterservingruntimes())
    except ClusterError as err:
        run.warnings.append(f"cannot read ClusterServingRuntimes: {err.message}")
    custom = cluster.read_multinode_config()
    view = _node_view(cluster, run, nodes_file, pods_file, gpu_resource)
    events_by_ns: dict[str, list[dict[str, Any]]] = {}
    used: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    for isvc in multinode:
        ns, name = str(_meta(isvc).get("namespace")), str(_meta(isvc).get("name"))
        pods, events = _pods_and_events(cluster, run, ns, name, events_by_ns)
        run.reports.append(
            check_inferenceservice(
                isvc,
                runtimes,
                version,
                custom_gpu_types=custom,
                nodes=view,
                existing=True,
                pods=pods,
                events=events,
            )
        )
        choice = select_runtime(isvc, runtimes)
        if choice.runtime is not None:
            rt_ns = _meta(choice.runtime).get("namespace")
            used[(str(choice.kind), str(rt_ns) if rt_ns else None, str(choice.name))] = choice.runtime
    for key in sorted(used, key=lambda k: (k[0], k[1] or "", k[2])):
        run.reports.append(check_runtime(used[key], version, existing=used[key]))
    return run


def _read_isvcs(
    cluster: Cluster, run: CheckRun, names: tuple[str, ...], namespace: str | None
) -> list[dict[str, Any]]:
    if names:
        assert namespace is not None
        found: list[dict[str, Any]] = []
        failures: list[str] = []
        for name in dict.fromkeys(names):
            try:
                found.append(cluster.get_inferenceservice(namespace, name))
            except NotFoundError as err:
                failures.append(
                    f'inferenceservice "{name}" not found in namespace "{namespace}" ({err.message})'
                )
            except ClusterError as err:
                failures.append(err.message)
        if not found and failures:
            raise ClusterError("; ".join(failures))
        run.warnings.extend(failures)
        return found
    items, problems = cluster.list_inferenceservices_readable(None if namespace is None else [namespace])
    if problems and not items:
        raise ClusterError("cannot read InferenceServices: " + "; ".join(problems))
    for problem in problems:
        run.warnings.append(f"could not read InferenceServices in {problem}")
    if problems:
        run.notes.append(
            f"partial result: InferenceServices in {len(problems)} namespace(s) could not be read"
        )
    return items


def _node_view(
    cluster: Cluster, run: CheckRun, nodes_file: str | None, pods_file: str | None, gpu_resource: str | None
) -> NodeView | None:
    if nodes_file:
        nodes = files.load_kind(nodes_file, "Node")
        pods = files.load_kind(pods_file, "Pod") if pods_file else []
        return NodeView(nodes, pods, free_known=bool(pods_file), gpu_resource=gpu_resource)
    try:
        nodes = cluster.list_nodes()
    except ClusterError as err:
        run.warnings.append(f"cannot read nodes, schedulability findings skipped: {err.message}")
        return None
    try:
        pods = cluster.list_gpu_pods()
    except ClusterError as err:
        run.warnings.append(f"cannot read pods, only the nodes' capacity is checked: {err.message}")
        return NodeView(nodes, [], free_known=False, gpu_resource=gpu_resource)
    return NodeView(nodes, pods, gpu_resource=gpu_resource)


def _pods_and_events(
    cluster: Cluster, run: CheckRun, namespace: str, name: str, events_by_ns: dict[str, list[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    try:
        pods = cluster.list_pods(namespace, f"{ISVC_LABEL}={name}")
    except ClusterError as err:
        run.warnings.append(f"cannot read pods of {namespace}/{name}: {err.message}")
        return [], []
    if not any((p.get("status") or {}).get("phase") == "Pending" for p in pods):
        return pods, []
    if namespace not in events_by_ns:
        try:
            events_by_ns[namespace] = cluster.list_events(namespace, "reason=FailedScheduling")
        except ClusterError as err:
            run.warnings.append(f"cannot read events in {namespace}: {err.message}")
            events_by_ns[namespace] = []
    return pods, events_by_ns[namespace]


# --- rendering ----------------------------------------------------------------------------------


def _layout_text(report: ItemReport) -> str:
    layout = report.layout
    if layout is None:
        return "-"
    if layout.error:
        return f"PP{layout.pipeline_parallel_size} x TP{layout.tensor_parallel_size}: controller error"
    text = (
        f"PP{layout.pipeline_parallel_size} x TP{layout.tensor_parallel_size} ({layout.backend}): "
        f"head {layout.head.gpus} {layout.head.gpu_resource}"
    )
    if layout.worker_replicas:
        text += f" + {layout.worker_replicas} x {layout.worker.gpus} {layout.worker.gpu_resource}"
    return text


def _verdict(report: ItemReport) -> str:
    if report.errors:
        return f"FAIL ({report.errors} error{'s' if report.errors > 1 else ''})"
    if report.warnings:
        return f"WARN ({report.warnings} warning{'s' if report.warnings > 1 else ''})"
    return "OK"


def render_table(run: CheckRun) -> str:
    lines = [f"KServe: {run.version.display}", ""]
    if run.reports:
        rows = [
            [
                r.kind,
                r.namespace or "",
                r.name,
                "allowed" if r.admission.allowed else "rejected",
                _layout_text(r),
                _verdict(r),
            ]
            for r in run.reports
        ]
        lines.append(
            tabulate(
                rows,
                headers=["KIND", "NAMESPACE", "NAME", "ADMISSION", "LAYOUT", "VERDICT"],
                tablefmt="plain",
            )
        )
    for report in run.reports:
        if not report.findings:
            continue
        where = f"{report.namespace}/{report.name}" if report.namespace else report.name
        lines += ["", f"{report.kind} {where}:"]
        for finding in report.findings:
            lines.append(
                textwrap.fill(
                    f"{finding.severity.upper()} [{finding.code}] {finding.message}",
                    width=110,
                    initial_indent="  ",
                    subsequent_indent="      ",
                )
            )
            if finding.suggestion:
                lines.append(
                    textwrap.fill(
                        f"-> {finding.suggestion}",
                        width=110,
                        initial_indent="      ",
                        subsequent_indent="         ",
                    )
                )
    if run.notes:
        lines.append("")
        lines += [f"note: {note}" for note in run.notes]
    return "\n".join(lines) + "\n"
