"""`kubectl kserve-mn check`: flags, input gathering and rendering; the rules are in findings.py and kserve/."""

from __future__ import annotations

import copy
import os
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from tabulate import tabulate

from kubectl_kserve_mn import files
from kubectl_kserve_mn.cli import render
from kubectl_kserve_mn.cli.options import (
    Command,
    ConnectionOptions,
    connect,
    connection_options,
    exit_codes,
    finish,
    kserve_version_option,
    output_option,
    resolve_kserve_version,
    warn,
)
from kubectl_kserve_mn.cli.sources import model_options, parse_gpu_memory, resolve_model
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
    ItemReport,
    ModelInput,
    NodeView,
    check_inferenceservice,
    check_runtime,
    fix_command,
    has_errors,
    offline_plan_command,
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
    unreadable: list[str] = field(default_factory=list)
    """What could not be read (a 403 namespace during -A, a named object not found): the result is
    partial, so the exit status is 3 even though the rest is reported."""

    def to_json(self) -> dict[str, Any]:
        return {
            "kserveVersion": self.version.display,
            "kserveVersionSource": self.version.source,
            "items": [report.to_json() for report in self.reports],
            "unreadable": list(self.unreadable),
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }

    @property
    def exit_code(self) -> int:
        if self.unreadable:
            return EXIT_CLUSTER
        return EXIT_FINDINGS if has_errors(self.reports) else EXIT_OK


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


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _is_multinode(isvc: dict[str, Any]) -> bool:
    predictor = (isvc.get("spec") or {}).get("predictor") if isinstance(isvc.get("spec"), dict) else None
    return isinstance(predictor, dict) and isinstance(predictor.get("workerSpec"), dict)


@click.command(
    "check",
    cls=Command,
    epilog=exit_codes(
        "no error findings",
        "error findings",
        "cluster or API error, also when some namespaces or named objects could not be read "
        "(what could be read is still reported)",
    ),
)
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
@model_options
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
    model: str | None,
    gpu_memory: str | None,
    gpu_memory_utilization: float,
    max_model_len: int | None,
    kserve_version: str,
    output: str,
    conn: ConnectionOptions,
) -> None:
    """Predict what KServe will do with multi-node InferenceServices, and why it will fail.

    For each InferenceService with spec.predictor.workerSpec: would KServe's webhook admit it,
    what Deployments and GPU counts the controller would create, and whether those pods can
    schedule on the nodes. ServingRuntimes given with -f are checked against the webhook too.

    With a model (--model for every InferenceService, else each one's kserve-mn/model annotation: a
    config.json path, relative to the -f file that holds it, a model directory or a Hugging Face id):
    vLLM's rules at the controller's TP x PP, and the weights and KV cache per GPU when the GPU
    memory is known (node labels, else --gpu-memory). vLLM args --max-model-len and
    --gpu-memory-utilization in the InferenceService are used unless given here.

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
      # does Llama-3.1-405B fit the layout the controller will make?
      kubectl kserve-mn check llama -n team-a --model ./Meta-Llama-3.1-405B/config.json
    """
    if all_namespaces and conn.namespace:
        raise InputError("-A/--all-namespaces cannot be combined with -n/--namespace")
    if pods_file and not nodes_file:
        raise InputError("--pods-file needs --nodes-file")
    if gpu_resource is not None and not gpu_resource.strip():
        raise InputError("--gpu-resource must not be empty")
    if filenames and all_namespaces:
        raise InputError("-A/--all-namespaces cannot be combined with -f")
    if names and all_namespaces:
        raise InputError("a name cannot be combined with -A/--all-namespaces (give -n NAMESPACE)")
    models = _model_source(
        model,
        gpu_memory,
        gpu_memory_utilization,
        max_model_len,
        nodes_file,
        pods_file,
        offline=bool(filenames),
    )
    if filenames:
        run = _offline(names, filenames, nodes_file, pods_file, gpu_resource, kserve_version, conn, models)
    else:
        run = _online(
            names, all_namespaces, nodes_file, pods_file, gpu_resource, kserve_version, conn, models
        )
    for message in run.warnings:
        warn(message)
    if output == "table":
        click.echo(render_table(run), nl=False)
    else:
        render.emit(run.to_json(), output)
    finish(run.exit_code)


def _model_source(
    spec: str | None,
    gpu_memory: str | None,
    utilization: float,
    max_model_len: int | None,
    nodes_file: str | None,
    pods_file: str | None,
    *,
    offline: bool,
) -> ModelSource:
    """The memory flags and --model, checked before anything is read (a bad flag is exit 2)."""
    if spec is not None and not spec.strip():
        raise InputError("--model is empty: give a config.json path, a model directory or a Hugging Face id")
    memory = parse_gpu_memory(gpu_memory)
    explicit = click.get_current_context().get_parameter_source("gpu_memory_utilization")
    given_utilization = utilization if explicit is not click.core.ParameterSource.DEFAULT else None
    flags: list[str] = []
    if gpu_memory is not None:
        flags += ["--gpu-memory", gpu_memory]
    if given_utilization is not None:
        flags += ["--gpu-memory-utilization", f"{given_utilization:g}"]
    if max_model_len is not None:
        flags += ["--max-model-len", str(max_model_len)]
    plan_flags: list[str] = []
    if offline and nodes_file:
        plan_flags += ["--nodes-file", nodes_file] + (["--pods-file", pods_file] if pods_file else [])
    settings = ModelInput(
        spec="",
        facts=None,
        gpu_memory_bytes=memory,
        utilization=given_utilization,
        max_model_len=max_model_len,
        flags=tuple(flags),
        plan_flags=tuple(plan_flags),
    )
    facts = resolve_model(spec)
    given = replace(settings, spec=spec, facts=facts) if spec and facts is not None else None
    return ModelSource(given, settings)


# --- offline ------------------------------------------------------------------------------------


def _offline(
    names: tuple[str, ...],
    filenames: tuple[str, ...],
    nodes_file: str | None,
    pods_file: str | None,
    gpu_resource: str | None,
    flag: str,
    conn: ConnectionOptions,
    models: ModelSource,
) -> CheckRun:
    """-f: no cluster access at all."""
    version = resolve_kserve_version(flag, None)
    run = CheckRun(version)
    if version.warning:
        run.warnings.append(version.warning)
    objects: list[dict[str, Any]] = []
    origin: dict[int, Path | None] = {}  # id of an object from the files -> the directory of its file
    for path in filenames:
        for obj in files.load_objects(path):
            origin[id(obj)] = None if path == "-" else Path(path).parent
            objects.append(obj)
    default_ns = conn.namespace or "default"
    isvcs: list[dict[str, Any]] = []
    runtimes: list[dict[str, Any]] = []
    ignored: dict[str, int] = {}
    for obj in objects:
        kind = str(obj.get("kind"))
        if kind == "InferenceService" or kind == SERVING_RUNTIME:
            base = origin.get(id(obj))
            obj = copy.deepcopy(obj)
            origin[id(obj)] = base
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
        report = check_inferenceservice(
            isvc,
            candidates,
            version,
            nodes=view,
            offline=True,
            model=models.for_isvc(isvc, origin.get(id(isvc))),
        )
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
    models: ModelSource,
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
                model=models.for_isvc(isvc),
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
        run.unreadable.extend(failures)
        return found
    items, problems = cluster.list_inferenceservices_readable(None if namespace is None else [namespace])
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


def _memory_table(reports: list[ItemReport]) -> list[str]:
    """One row per InferenceService with a model: the per-GPU figures of its controller layout."""
    gib = float(1 << 30)
    rows = []
    for r in reports:
        if r.model is None:
            continue
        layout = r.layout
        shape = f"PP{layout.pipeline_parallel_size} x TP{layout.tensor_parallel_size}" if layout else "-"
        mem = r.memory
        if mem is None:
            rows.append(
                [r.namespace or "", r.name, r.model.name, shape, "unknown", "-", "-", "-", "not checked"]
            )
            continue
        rows.append(
            [
                r.namespace or "",
                r.name,
                r.model.name,
                shape,
                f"{mem.gpu_memory_bytes / gib:.1f} GiB x {mem.utilization:g}",
                f"{mem.per_gpu_weights_bytes / gib:.1f} GiB",
                f"{mem.kv_cache_tokens:,}",
                f"{mem.max_model_len:,}",
                "yes" if mem.fits else "no",
            ]
        )
    if not rows:
        return []
    table = tabulate(
        rows,
        headers=[
            "NAMESPACE",
            "NAME",
            "MODEL",
            "LAYOUT",
            "GPU MEMORY",
            "WEIGHTS/GPU",
            "KV TOKENS",
            "MAX LEN",
            "FITS",
        ],
        tablefmt="plain",
        disable_numparse=True,
    )
    return ["", "Model memory per GPU (vLLM estimate):", table]


def _wrap(text: str, first: str, rest: str) -> str:
    """A paragraph of the table output, wrapped at 110 columns without splitting hyphenated names."""
    return textwrap.fill(
        text, width=110, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


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
    lines += _memory_table(run.reports)
    for report in run.reports:
        if not report.findings:
            continue
        where = f"{report.namespace}/{report.name}" if report.namespace else report.name
        lines += ["", f"{report.kind} {where}:"]
        for finding in report.findings:
            lines.append(
                _wrap(f"{finding.severity.upper()} [{finding.code}] {finding.message}", "  ", "      ")
            )
            if finding.suggestion:
                lines.append(_wrap(f"-> {finding.suggestion}", "      ", "         "))
    if run.notes:
        lines.append("")
        lines += [_wrap(f"note: {note}", "", "      ") for note in run.notes]
    return "\n".join(lines) + "\n"
