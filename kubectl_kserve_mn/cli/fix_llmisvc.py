"""``fix llmisvc/NAME`` (or ``fix --kind llmisvc NAME``): the change of
:func:`kubectl_kserve_mn.patch_llmisvc.plan_llm_fix` applied with every safety rule ``fix`` has for
InferenceServices (:mod:`kubectl_kserve_mn.cli.fix`): one JSON merge patch of the changed fields with
``metadata.resourceVersion`` (a concurrent change is a 409, exit 3), the diff, ``--dry-run=client|server``,
confirmation on a terminal or ``--yes``, the ``kserve-mn/previous-layout`` annotation and ``--undo``, and no
request at all when nothing changes.

The total parallelism size (data / dataLocal, else pipeline) of an existing object is never changed: KServe's
webhook refuses that update (``total parallelism size is immutable``), so ``fix`` says so, prints the manifest
to delete and create again, and exits 1 without sending anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import click

from kubectl_kserve_mn import edits, patch
from kubectl_kserve_mn.cli import fix as fix_cli
from kubectl_kserve_mn.cli import render
from kubectl_kserve_mn.cli.check_llmisvc import read_configs, validated
from kubectl_kserve_mn.cli.options import (
    ConnectionOptions,
    connect,
    finish,
    resolve_kserve_version,
    warn,
)
from kubectl_kserve_mn.cli.sources import load_cluster_inputs, resolve_model
from kubectl_kserve_mn.errors import EXIT_FINDINGS, EXIT_OK, InputError
from kubectl_kserve_mn.model.source import model_spec_from_isvc

if TYPE_CHECKING:
    from kubectl_kserve_mn.cluster import Cluster
    from kubectl_kserve_mn.kserve.eras import KServeVersion

KIND = "LLMInferenceService"


@dataclass(frozen=True)
class LlmFixFlags:
    """What ``fix`` was given, as it applies to an LLMInferenceService."""

    tensor: int | None
    data: int | None
    data_local: int | None
    dry_run: str
    yes: bool
    undo: bool
    model: str | None
    output: str
    kserve_version: str


def refuse_isvc_flags(
    *, gpus: int | None, pipeline_parallel: int | None, allow_cross_node_tp: bool, rollout: str
) -> None:
    """``fix`` flags that are about an InferenceService's Ray layout, refused for an LLMInferenceService."""
    if gpus is not None:
        raise InputError(
            "--gpus does not apply to an LLMInferenceService: give --tensor-parallel-size and/or "
            "--data-parallel-size (the GPUs per pod follow dataLocal x tensor)"
        )
    if pipeline_parallel is not None:
        raise InputError(
            "--pipeline-parallel-size does not apply to an LLMInferenceService: pipeline parallelism across pods "
            "needs the kserve-config-llm-worker-pipeline-parallel preset, which no KServe release ships (kserve#5047)"
        )
    if allow_cross_node_tp:
        raise InputError(
            "--allow-cross-node-tp does not apply to an LLMInferenceService: tensor parallelism stays inside a pod"
        )
    if rollout != "rolling":
        raise InputError(
            "--rollout applies to an InferenceService's Deployments, not to an LLMInferenceService"
        )


def _read_inputs(
    cluster: Cluster, namespace: str, obj: Mapping[str, Any]
) -> tuple[Any, dict[str, Mapping[str, Any]] | None]:
    """(the GPU inventory, the LLMInferenceServiceConfigs the controller finds for the object)."""
    from kubectl_kserve_mn.inventory import build_inventory

    inputs = load_cluster_inputs(cluster, None, None)
    for message in inputs.warnings:
        warn(message)
    configs, warnings = read_configs(cluster, [namespace], False)
    for message in warnings:
        warn(message)
    found, _ = configs.for_object(namespace)
    return build_inventory(inputs.nodes, inputs.pods), found or None


def _refuse_recreate(
    where: str, name: str, namespace: str, refused: str, manifest: dict[str, Any], output: str
) -> NoReturn:
    click.echo(f"{where}: not changed: {refused}", err=True)
    click.echo(
        f"to recreate it: kubectl delete llminferenceservice {name} -n {namespace}, then kubectl create -f the "
        "manifest printed on stdout (the model is down in between)",
        err=True,
    )
    render.emit(manifest, "json" if output == "json" else "yaml")
    finish(EXIT_FINDINGS)


def fix_llmisvc(name: str, flags: LlmFixFlags, conn: ConnectionOptions) -> NoReturn:
    """The whole ``fix`` of one LLMInferenceService; exits."""
    from kubectl_kserve_mn.patch_llmisvc import LlmFixTarget, plan_llm_fix, plan_llm_undo

    if flags.undo and (flags.tensor or flags.data or flags.data_local or flags.model):
        raise InputError("--undo restores the recorded values; do not combine it with sizes or --model")
    cluster = connect(conn)
    namespace = conn.namespace or cluster.namespace
    version: KServeVersion = resolve_kserve_version(flags.kserve_version, cluster)
    if version.warning:
        warn(version.warning)
    obj = validated(cluster.get_llminferenceservice(namespace, name), version)
    where = f"{KIND} {namespace}/{name}"
    if flags.undo:
        plan = fix_cli.undo_to_send(plan_llm_undo(obj, version.era), where, version)
    else:
        inventory, configs = _read_inputs(cluster, namespace, obj)
        result = plan_llm_fix(
            obj,
            version.era,
            target=LlmFixTarget(flags.tensor, flags.data, flags.data_local),
            inventory=inventory,
            model=resolve_model(flags.model or model_spec_from_isvc(obj)),
            configs=configs,
        )
        plan = result.plan
        for note in plan.notes:
            warn(note)
        if result.refused is not None and result.recreate is not None:
            _refuse_recreate(where, name, namespace, result.refused, result.recreate, flags.output)
        if not plan.changed:
            if plan.problem:
                click.echo(f"{where}: cannot fix: {plan.problem}; nothing changed", err=True)
                finish(EXIT_FINDINGS)
            click.echo(f"{where}: nothing to change", err=flags.output != "diff")
            finish(EXIT_OK)
    _apply(cluster, plan, where, name, namespace, version, flags)


def _apply(
    cluster: Cluster,
    plan: patch.FixPlan,
    where: str,
    name: str,
    namespace: str,
    version: KServeVersion,
    flags: LlmFixFlags,
) -> NoReturn:
    """Explain, then send the patch as the flags say (the same steps as ``fix`` of an InferenceService)."""
    output = flags.output
    for line in plan.explanations:
        click.echo(f"change: {line}", err=True)
    rejected = not flags.undo and plan.admission is not None and not plan.admission.allowed
    if rejected:
        assert plan.admission is not None
        warn(
            f"KServe {version.display} would still reject the updated object: {plan.admission.message}; "
            "this needs a change fix does not make"
        )
    if flags.dry_run == "client" or (rejected and flags.dry_run != "server"):
        fix_cli._emit(plan, plan.after, output, None, applied=False)
        if rejected:
            click.echo(f"{where}: not applied", err=True)
        finish(EXIT_FINDINGS if output == "diff" or rejected else EXIT_OK)
    if flags.dry_run == "server":
        answer = cluster.patch_llminferenceservice(namespace, name, plan.patch, dry_run=True)
        fix_cli._emit(plan, answer, output, None, applied=False)
        click.echo(f"{where}: the API server accepts the change (server dry run, nothing stored)", err=True)
        finish(EXIT_FINDINGS if output == "diff" else EXIT_OK)
    shown = False
    if not flags.yes:
        if not fix_cli.stdin_is_tty():
            fix_cli._emit(plan, plan.after, output, None, applied=False)
            click.echo(
                f"{where}: not applied: no terminal to confirm on; re-run with --yes to apply", err=True
            )
            finish(EXIT_FINDINGS)
        click.echo(edits.unified_diff(plan.before, plan.after), nl=False)
        shown = output == "diff"
        if not fix_cli.confirm(f"Apply this change to {where}?"):
            click.echo(f"{where}: not applied", err=True)
            finish(EXIT_FINDINGS)
    answer = cluster.patch_llminferenceservice(namespace, name, plan.patch)
    if not shown:
        fix_cli._emit(plan, plan.after if output == "diff" else answer, output, None, applied=True)
    click.echo(f"llminferenceservice.serving.kserve.io/{name} patched", err=output != "diff")
    finish(EXIT_OK)
