"""`kubectl kserve-mn fix NAME`: flags, confirmation and rendering; the change itself is in patch.py."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from kubectl_kserve_mn import edits, patch
from kubectl_kserve_mn.cli import render
from kubectl_kserve_mn.cli.kinds import KIND_CHOICES, LLM_INFERENCE_SERVICE, kind_of_flag, parse_name
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
    ClusterInputs,
    load_cluster_inputs,
    model_options,
    parse_gpu_memory,
    resolve_model,
)
from kubectl_kserve_mn.errors import EXIT_FINDINGS, EXIT_OK, ClusterError, InputError
from kubectl_kserve_mn.inputs.k8s import Pod
from kubectl_kserve_mn.inputs.kserve_objects import validate_live
from kubectl_kserve_mn.kserve.rollout import (
    RolloutPlan,
    own_pods,
    placement_text,
    pod_names,
    rollout_in_progress,
)
from kubectl_kserve_mn.model.source import model_spec_from_isvc
from kubectl_kserve_mn.planner import MemoryOptions
from kubectl_kserve_mn.undo import plan_undo

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
    "--data-parallel-size",
    "data_parallel",
    type=click.IntRange(min=1),
    help="LLMInferenceService: target spec.parallelism.data (a new total size needs a recreate).",
)
@click.option(
    "--data-parallel-size-local",
    "data_local",
    type=click.IntRange(min=1),
    help="LLMInferenceService: target spec.parallelism.dataLocal (ranks per pod).",
)
@click.option(
    "--kind",
    "kind_flag",
    type=click.Choice(KIND_CHOICES, case_sensitive=False),
    help="The kind of NAME (default: InferenceService); llmisvc/NAME says the same as --kind llmisvc.",
)
@click.option(
    "--allow-cross-node-tp",
    is_flag=True,
    help="Prefer tensor parallelism across pods (Ray, v0.15.1+) over pipeline stages; needs InfiniBand/RoCE.",
)
@click.option(
    "--dry-run",
    type=click.Choice(["none", "client", "server"]),
    default="none",
    is_flag=False,
    flag_value="client",
    show_default=True,
    help="client (also plain --dry-run, as kubectl takes it): show the change, send nothing; server: send it "
    "with dryRun=All so KServe's webhook judges it.",
)
@click.option("-y", "--yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--rollout",
    type=click.Choice(["rolling", "recreate"]),
    default="rolling",
    show_default=True,
    help="rolling: keep the object's deploymentStrategy (KServe's RollingUpdate needs the new pods' GPUs next "
    "to the old ones); recreate: set deploymentStrategy.type Recreate in the same patch (old pods go first: "
    "no extra GPUs, downtime).",
)
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
    data_parallel: int | None,
    data_local: int | None,
    kind_flag: str | None,
    allow_cross_node_tp: bool,
    dry_run: str,
    yes: bool,
    rollout: str,
    undo: bool,
    model: str | None,
    gpu_memory: str | None,
    gpu_memory_utilization: float,
    max_model_len: int | None,
    kserve_version: str,
    output: str,
    conn: ConnectionOptions,
) -> None:
    """Patch one InferenceService (or LLMInferenceService) to a layout that KServe admits and the nodes can schedule.

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
      # no GPUs for a second set of pods: delete the old pods first (downtime)
      kubectl kserve-mn fix llama -n team-a --rollout=recreate
      # an LLMInferenceService: GPU requests to dataLocal x tensor, tensor flags KServe drops
      kubectl kserve-mn fix llmisvc/deepseek -n team-a --dry-run=client

    Before applying, fix states the rollout the change starts: KServe rolls the head and worker
    Deployments with RollingUpdate (new pods next to the old ones) unless the InferenceService sets
    spec.predictor.deploymentStrategy; when the new pods do not fit next to the old ones, fix asks (on a
    terminal) or does not apply (without one) unless --yes is given.

    An LLMInferenceService (llmisvc/NAME or --kind llmisvc) gets GPU requests of dataLocal x tensor per
    pod, its single-node pipeline moved into tensor, and the tensor flag older releases drop; its
    total parallelism size is never changed (KServe's webhook forbids it): fix prints the manifest to
    recreate it instead and exits 1.
    """
    ref = parse_name(name)
    kind = kind_of_flag(kind_flag)
    if ref.kind is not None and kind is not None and ref.kind != kind:
        raise InputError(f"{name} names a {ref.kind} but --kind says {kind}")
    if (ref.kind or kind) == LLM_INFERENCE_SERVICE:
        from kubectl_kserve_mn.cli.fix_llmisvc import LlmFixFlags, fix_llmisvc, refuse_isvc_flags

        refuse_isvc_flags(
            gpus=gpus,
            pipeline_parallel=pipeline_parallel,
            allow_cross_node_tp=allow_cross_node_tp,
            rollout=rollout,
        )
        flags = LlmFixFlags(
            tensor_parallel, data_parallel, data_local, dry_run, yes, undo, model, output, kserve_version
        )
        fix_llmisvc(ref.name, flags, conn)
    if data_parallel is not None or data_local is not None:
        raise InputError(
            "--data-parallel-size and --data-parallel-size-local are for an LLMInferenceService (llmisvc/NAME)"
        )
    name = ref.name
    opts = PlanOptions(gpus, tensor_parallel, pipeline_parallel, None)
    opts.validate()
    if undo and (gpus or tensor_parallel or pipeline_parallel or model or rollout != "rolling"):
        raise InputError(
            "--undo restores the recorded values; do not combine it with sizes, --model or --rollout"
        )
    cluster = connect(conn)
    namespace = conn.namespace or cluster.namespace
    version = resolve_kserve_version(kserve_version, cluster)
    if version.warning:
        warn(version.warning)
    isvc = validate_live(cluster.get_inferenceservice(namespace, name), kserve_version=version)
    where = f"InferenceService {namespace}/{name}"
    inputs = _read_inputs(cluster, namespace, isvc)
    if undo:
        plan = undo_to_send(
            plan_undo(isvc, version.era, custom_gpu_types=inputs.cluster.custom_gpu_resources), where, version
        )
    else:
        plan = _plan_fix(
            inputs,
            isvc,
            version,
            opts,
            allow_cross_node_tp,
            rollout == "recreate",
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
            if rollout == "recreate":
                warn(
                    "--rollout=recreate: the strategy is not set on its own: nothing else changes and no "
                    "rollout is under way, and changing the spec alone would restart the pods"
                )
            elif rollout_in_progress(inputs.own_pods, isvc):
                warn(
                    "a rollout is under way (pods of an older isvc.generation run): `kubectl kserve-mn check "
                    f"{name} -n {namespace}` says whether the new pods fit; --rollout=recreate lets the old pods "
                    "go first"
                )
            finish(EXIT_OK)
    for line in plan.explanations:
        click.echo(f"change: {line}", err=True)
    for note in plan.notes:
        warn(note)
    rolls = _rollout(inputs, plan.after, version)
    if rolls is not None:
        recreate_alternative = (
            _rollout(inputs, plan.after, version, recreate=True)
            if not rolls.fits and not rolls.recreate
            else None
        )
        for line in _rollout_lines(rolls, recreate_alternative, undo=undo):
            click.echo(f"rollout: {line}", err=True)
    blocked = rolls is not None and not rolls.fits
    rejected = not undo and plan.admission is not None and not plan.admission.allowed
    if rejected:
        assert plan.admission is not None
        warn(
            f"KServe {version.display} would still reject the updated object: {plan.admission.message}; "
            "this needs a change fix does not make"
        )
    if dry_run == "client" or (rejected and dry_run != "server"):
        _emit(plan, plan.after, output, rolls, applied=False)
        if rejected:
            click.echo(f"{where}: not applied", err=True)
        finish(EXIT_FINDINGS if output == "diff" or rejected else EXIT_OK)
    if dry_run == "server":
        answer = cluster.patch_inferenceservice(namespace, name, plan.patch, dry_run=True)
        _emit(plan, answer, output, rolls, applied=False)
        click.echo(f"{where}: the API server accepts the change (server dry run, nothing stored)", err=True)
        finish(EXIT_FINDINGS if output == "diff" else EXIT_OK)
    shown = False
    if not yes:
        if not stdin_is_tty():
            _emit(plan, plan.after, output, rolls, applied=False)
            recreate_hint = rolls is not None and not rolls.recreate and not undo
            why = (
                "the new pods do not fit next to the old ones (see the rollout lines); re-run with "
                + ("--rollout=recreate, or with " if recreate_hint else "")
                + "--yes to apply anyway"
                if blocked
                else "re-run with --yes to apply"
            )
            click.echo(f"{where}: not applied: no terminal to confirm on; {why}", err=True)
            finish(EXIT_FINDINGS)
        click.echo(edits.unified_diff(plan.before, plan.after), nl=False)
        shown = output == "diff"
        if not confirm(_question(where, rolls)):
            click.echo(f"{where}: not applied", err=True)
            finish(EXIT_FINDINGS)
    elif blocked:
        warn("applying although the new pods do not fit next to the old ones (--yes)")
    answer = cluster.patch_inferenceservice(namespace, name, plan.patch)
    if not shown:
        # The diff is the change itself (kubectl diff style), not the server's new resourceVersion.
        _emit(plan, plan.after if output == "diff" else answer, output, rolls, applied=True)
    click.echo(f"inferenceservice.serving.kserve.io/{name} patched", err=output != "diff")
    finish(EXIT_OK)


fix = fix_command


def _emit(
    plan: patch.FixPlan, after: dict[str, Any], output: str, rolls: RolloutPlan | None, *, applied: bool
) -> None:
    if output == "diff":
        click.echo(edits.unified_diff(plan.before, after), nl=False)
    elif output == "patch":
        click.echo(render.to_json(plan.patch))
    elif output == "json":
        # The machine-readable result: the object as before (under "object"), what changed and the rollout.
        report = {
            "applied": applied,
            "changes": [change.to_json() for change in plan.changes],
            "patch": plan.patch,
            "rollout": None if rolls is None else rolls.to_json(),
            "object": after,
        }
        render.emit(report, output)
    else:
        render.emit(after, output)


def _question(where: str, rolls: RolloutPlan | None) -> str:
    if rolls is None or rolls.fits:
        return f"Apply this change to {where}?"
    pending = pod_names(rolls.pending) or "some new pods"
    primary = rolls.primary
    short = (
        f" ({primary.extra_gpus} {primary.gpu_resource} needed on top of what it holds, {primary.free_gpus} free)"
        if primary
        else ""
    )
    down = "; the model is down meanwhile" if rolls.downtime else ""
    return (
        f"The new pods do not fit: {pending} would stay Pending{short}{down}. "
        f"Apply this change to {where} anyway?"
    )


def _rollout_lines(rolls: RolloutPlan, recreate: RolloutPlan | None, *, undo: bool) -> list[str]:
    """What the change's rollout needs and what will happen, for the ``rollout:`` lines on stderr."""
    lines = [f"{rolls.strategy} needs {rolls.gpu_text()}"]
    if rolls.placement_known and rolls.placement:
        lines.append("new pods: " + placement_text(rolls.placement))
    lines.append(rolls.outcome)
    if recreate is not None and not undo:
        outcome = (
            "the new pods then fit"
            if recreate.fits
            else "the new pods still do not fit: " + recreate.gpu_text()
        )
        lines.append(
            "--rollout=recreate sets deploymentStrategy.type: Recreate in the same patch: the old pods are "
            f"deleted first, so no GPUs beyond those it holds are needed ({outcome}); the model is down from "
            "then until the new pods are Ready"
        )
    return lines


@dataclass(frozen=True)
class _Inputs:
    """What fix reads besides the InferenceService: its runtime, the nodes and the GPU pods."""

    runtime: dict[str, Any] | None
    cluster: ClusterInputs
    name: str
    namespace: str

    @property
    def own_pods(self) -> list[Pod]:
        """The InferenceService's pods bound to nodes (the GPU pods list holds only those)."""
        return own_pods(self.cluster.pods, self.name, self.namespace)


def undo_to_send(plan: patch.FixPlan | None, where: str, version: KServeVersion) -> patch.FixPlan:
    """``--undo``'s plan, or exit 0 saying there is nothing to undo; a warning when the release's webhook
    would reject the restored values (they are sent anyway: the API server decides)."""
    if plan is None:
        click.echo(f"{where}: nothing to undo (no {edits.PREVIOUS_LAYOUT_ANNOTATION} annotation)", err=True)
        finish(EXIT_OK)
    if plan.admission is not None and not plan.admission.allowed:
        warn(
            f"KServe {version.display} would reject the restored object ({plan.admission.message}); "
            "sending it anyway: the API server decides"
        )
    return plan


def _read_inputs(cluster: Cluster, namespace: str, isvc: dict[str, Any]) -> _Inputs:
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
    return _Inputs(choice.runtime, inputs, name, namespace)


def _rollout(
    inputs: _Inputs, after: dict[str, Any], version: KServeVersion, *, recreate: bool = False
) -> RolloutPlan | None:
    """The rollout that storing ``after`` starts: the object's pods hold their GPUs until the strategy lets
    them go (the inventory counts them, unlike the one the layout is planned on)."""
    from kubectl_kserve_mn.inventory import build_inventory
    from kubectl_kserve_mn.kserve.rollout import RECREATE, Strategy, plan_update_rollout, running_pods

    return plan_update_rollout(
        after,
        inputs.runtime,
        version.era,
        build_inventory(inputs.cluster.nodes, inputs.cluster.pods),
        running_pods(inputs.own_pods),
        custom_gpu_types=inputs.cluster.custom_gpu_resources,
        strategy=Strategy(RECREATE, 0, 1) if recreate else None,
    )


def _plan_fix(
    inputs: _Inputs,
    isvc: dict[str, Any],
    version: KServeVersion,
    opts: PlanOptions,
    allow_cross_node_tp: bool,
    recreate: bool,
    model_spec: str | None,
    memory: MemoryOptions,
) -> patch.FixPlan:
    from kubectl_kserve_mn.inventory import build_inventory

    pods = patch.without_own_pods(inputs.cluster.pods, inputs.name, inputs.namespace)
    resource = patch.own_gpu_resource(isvc, inputs.runtime, inputs.cluster.custom_gpu_resources)
    inventory = build_inventory(inputs.cluster.nodes, pods, gpu_resource=resource)
    target = patch.FixTarget(
        tensor_parallel=opts.tensor_parallel,
        pipeline_parallel=opts.pipeline_parallel,
        total_gpus=opts.gpus if opts.tensor_parallel is None else None,
        allow_cross_node_tp=allow_cross_node_tp,
        recreate=recreate,
        recreate_alone=recreate and rollout_in_progress(inputs.own_pods, isvc),
    )
    return patch.plan_fix(
        isvc,
        inputs.runtime,
        version.era,
        inventory,
        target=target,
        custom_gpu_types=inputs.cluster.custom_gpu_resources,
        model=resolve_model(model_spec),
        memory=memory,
    )
