"""`kubectl kserve-mn fix NAME`: flags, confirmation and rendering; the change itself is in patch.py."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from kubectl_kserve_mn import patch
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
from kubectl_kserve_mn.cli.plan import PlanOptions
from kubectl_kserve_mn.cli.sources import (
    load_cluster_inputs,
    model_options,
    parse_gpu_memory,
    resolve_model,
)
from kubectl_kserve_mn.errors import EXIT_FINDINGS, EXIT_OK, ClusterError, InputError
from kubectl_kserve_mn.model.source import model_spec_from_isvc
from kubectl_kserve_mn.planner import MemoryOptions

if TYPE_CHECKING:
    from kubectl_kserve_mn.cluster import Cluster
    from kubectl_kserve_mn.kserve.eras import KServeVersion


def stdin_is_tty() -> bool:
    """Whether a person can answer the confirmation (tests replace this)."""
    return sys.stdin.isatty()


def confirm(question: str) -> bool:
    """Ask on the terminal (tests replace this)."""
    return click.confirm(question, default=False)


@click.command(
    "fix",
    cls=Command,
    epilog=exit_codes(
        "applied, or nothing to change (also a server dry run with -o yaml|json|patch)",
        "not applied: a diff exists (--dry-run with -o diff), no terminal and no --yes, not confirmed, "
        "no layout fits, or KServe would still reject the object",
    ),
)
@click.argument("name")
@click.option(
    "--gpus", type=click.IntRange(min=1), help="Target total GPUs (TP x PP) instead of the current total."
)
@click.option(
    "--tensor-parallel-size",
    "tensor_parallel",
    type=click.IntRange(min=1),
    help="Target TP (may be corrected).",
)
@click.option("--pipeline-parallel-size", "pipeline_parallel", type=click.IntRange(min=1), help="Target PP.")
@click.option(
    "--allow-cross-node-tp",
    is_flag=True,
    help="Prefer tensor parallelism across pods (Ray, v0.15.1+) over pipeline stages; needs InfiniBand/RoCE.",
)
@click.option(
    "--dry-run",
    type=click.Choice(["none", "client", "server"]),
    default="none",
    show_default=True,
    help="client: show the change, send nothing; server: send it with dryRun=All so KServe's webhook judges it.",
)
@click.option("-y", "--yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--undo",
    is_flag=True,
    help="Restore the fields the last fix changed (from the kserve-mn/previous-layout annotation).",
)
@model_options
@kserve_version_option
@output_option(("diff", "yaml", "json", "patch"), "diff")
@connection_options
def fix_command(
    name: str,
    gpus: int | None,
    tensor_parallel: int | None,
    pipeline_parallel: int | None,
    allow_cross_node_tp: bool,
    dry_run: str,
    yes: bool,
    undo: bool,
    model: str | None,
    gpu_memory: str | None,
    gpu_memory_utilization: float,
    max_model_len: int | None,
    kserve_version: str,
    output: str,
    conn: ConnectionOptions,
) -> None:
    """Patch one InferenceService to a layout that KServe admits and the nodes can schedule.

    Shows the change as a diff and applies it only when confirmed (or with --yes). Only the changed
    fields are patched, with the object's resourceVersion, so a concurrent change is refused (exit 3).
    The previous values are kept in the annotation kserve-mn/previous-layout for --undo.

    \b
    Examples:
      # show what would change (exit 1 when something would)
      kubectl kserve-mn fix llama -n team-a --dry-run=client
      # let KServe's webhook judge the change without storing it
      kubectl kserve-mn fix llama -n team-a --dry-run=server
      # apply without asking, then undo it
      kubectl kserve-mn fix llama -n team-a --yes
      kubectl kserve-mn fix llama -n team-a --undo --yes
    """
    opts = PlanOptions(gpus, tensor_parallel, pipeline_parallel, None)
    opts.validate()
    if undo and (gpus or tensor_parallel or pipeline_parallel or model):
        raise InputError("--undo restores the recorded values; do not combine it with sizes or --model")
    cluster = connect(conn)
    namespace = conn.namespace or cluster.namespace
    version = resolve_kserve_version(kserve_version, cluster)
    if version.warning:
        warn(version.warning)
    isvc = cluster.get_inferenceservice(namespace, name)
    where = f"InferenceService {namespace}/{name}"
    if undo:
        plan = patch.plan_undo(isvc, version.era, custom_gpu_types=_custom_types(cluster))
        if plan is None:
            click.echo(
                f"{where}: nothing to undo (no {patch.PREVIOUS_LAYOUT_ANNOTATION} annotation)", err=True
            )
            finish(EXIT_OK)
        if plan.admission is not None and not plan.admission.allowed:
            warn(
                f"KServe {version.display} would reject the restored object ({plan.admission.message}); "
                "sending it anyway: the API server decides"
            )
    else:
        plan = _plan_fix(
            cluster,
            namespace,
            isvc,
            version,
            opts,
            allow_cross_node_tp,
            model or model_spec_from_isvc(isvc),
            MemoryOptions(
                gpu_memory_bytes=parse_gpu_memory(gpu_memory),
                utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
            ),
        )
        if plan.problem:
            click.echo(f"{where}: cannot fix: {plan.problem}; nothing changed", err=True)
            finish(EXIT_FINDINGS)
        if not plan.changed:
            message = f"{where}: nothing to change"
            click.echo(message, err=output != "diff")
            for note in plan.notes:
                warn(note)
            finish(EXIT_OK)
    for line in plan.explanations:
        click.echo(f"change: {line}", err=True)
    for note in plan.notes:
        warn(note)
    rejected = not undo and plan.admission is not None and not plan.admission.allowed
    if rejected:
        assert plan.admission is not None
        warn(
            f"KServe {version.display} would still reject the updated object: {plan.admission.message}; "
            "this needs a change fix does not make"
        )
    if dry_run == "client" or (rejected and dry_run != "server"):
        _emit(plan, plan.after, output)
        if rejected:
            click.echo(f"{where}: not applied", err=True)
        finish(EXIT_FINDINGS if output == "diff" or rejected else EXIT_OK)
    if dry_run == "server":
        answer = cluster.patch_inferenceservice(namespace, name, plan.patch, dry_run=True)
        _emit(plan, answer, output)
        click.echo(f"{where}: the API server accepts the change (server dry run, nothing stored)", err=True)
        finish(EXIT_FINDINGS if output == "diff" else EXIT_OK)
    shown = False
    if not yes:
        if not stdin_is_tty():
            _emit(plan, plan.after, output)
            click.echo(
                f"{where}: not applied: no terminal to confirm on; re-run with --yes to apply", err=True
            )
            finish(EXIT_FINDINGS)
        click.echo(patch.unified_diff(plan.before, plan.after), nl=False)
        shown = output == "diff"
        if not confirm(f"Apply this change to {where}?"):
            click.echo(f"{where}: not applied", err=True)
            finish(EXIT_FINDINGS)
    answer = cluster.patch_inferenceservice(namespace, name, plan.patch)
    if not shown:
        # The diff is the change itself (kubectl diff style), not the server's new resourceVersion.
        _emit(plan, plan.after if output == "diff" else answer, output)
    click.echo(f"inferenceservice.serving.kserve.io/{name} patched", err=output != "diff")
    finish(EXIT_OK)


fix = fix_command


def _emit(plan: patch.FixPlan, after: dict[str, Any], output: str) -> None:
    if output == "diff":
        click.echo(patch.unified_diff(plan.before, after), nl=False)
    elif output == "patch":
        click.echo(render.to_json(plan.patch))
    else:
        render.emit(after, output)


def _custom_types(cluster: Cluster) -> list[str]:
    try:
        return cluster.read_multinode_config()
    except ClusterError:
        return []


def _plan_fix(
    cluster: Cluster,
    namespace: str,
    isvc: dict[str, Any],
    version: KServeVersion,
    opts: PlanOptions,
    allow_cross_node_tp: bool,
    model_spec: str | None,
    memory: MemoryOptions,
) -> patch.FixPlan:
    from kubectl_kserve_mn.inventory import build_inventory
    from kubectl_kserve_mn.kserve.runtimes import select_runtime

    name = str((isvc.get("metadata") or {}).get("name") or "")
    try:
        runtimes = cluster.list_servingruntimes(namespace) + cluster.list_clusterservingruntimes()
    except ClusterError as err:
        warn(f"cannot read the serving runtimes ({err.message}); using the InferenceService's values only")
        runtimes = []
    choice = select_runtime(isvc, runtimes)
    if choice.runtime is None and runtimes:
        warn(f"{choice.error or choice.reason}; using the InferenceService's values only")
    inputs = load_cluster_inputs(cluster, None, None)
    for message in inputs.warnings:
        warn(message)
    pods = patch.without_own_pods(inputs.pods, name, namespace)
    resource = patch.own_gpu_resource(isvc, choice.runtime, inputs.custom_gpu_resources)
    inventory = build_inventory(inputs.nodes, pods, gpu_resource=resource)
    target = patch.FixTarget(
        tensor_parallel=opts.tensor_parallel,
        pipeline_parallel=opts.pipeline_parallel,
        total_gpus=opts.gpus if opts.tensor_parallel is None else None,
        allow_cross_node_tp=allow_cross_node_tp,
    )
    return patch.plan_fix(
        isvc,
        choice.runtime,
        version.era,
        inventory,
        target=target,
        custom_gpu_types=inputs.custom_gpu_resources,
        model=resolve_model(model_spec),
        memory=memory,
    )
