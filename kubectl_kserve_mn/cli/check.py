"""`kubectl kserve-mn check`: flags and the run; gathering is in check_gather.py, the table in check_render.py,
the rules in findings/ and kserve/."""

from __future__ import annotations

from dataclasses import replace

import click

from kubectl_kserve_mn.cli import render
from kubectl_kserve_mn.cli.check_gather import ModelSource, offline, online
from kubectl_kserve_mn.cli.check_render import render_names, render_table
from kubectl_kserve_mn.cli.kinds import parse_names
from kubectl_kserve_mn.cli.options import (
    Command,
    ConnectionOptions,
    check_gpu_resource,
    connection_options,
    exit_codes,
    finish,
    kserve_version_option,
    no_headers_option,
    output_option,
    parse_label_selector,
    warn,
)
from kubectl_kserve_mn.cli.sources import model_options, parse_gpu_memory, resolve_model
from kubectl_kserve_mn.cli.terminal import TextStyle
from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.findings import ModelInput


@click.command(
    "check",
    cls=Command,
    epilog=exit_codes(
        "no error findings",
        "error findings (with --upgrade-to: also when the upgrade breaks something)",
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
    metavar="FILE|DIR",
    help="Check InferenceServices, LLMInferenceServices and runtimes from a file, or the .json, .yaml and .yml "
    "files of a directory ('-' for stdin; repeatable) instead of the cluster.",
)
@click.option(
    "-R",
    "--recursive",
    is_flag=True,
    help="With -f DIR: read its subdirectories too, like kubectl -R.",
)
@click.option(
    "-l",
    "--selector",
    metavar="SELECTOR",
    help="Only objects whose labels match, in kubectl's syntax (a=b,c!=d,e in (x,y),f notin (z),!g,h): sent to "
    "the API server, applied to -f objects too. Runtimes are still read to resolve the selected objects.",
)
@click.option(
    "--nodes-file", metavar="FILE", help="Nodes from `kubectl get nodes -o yaml|json` instead of the cluster."
)
@click.option(
    "--pods-file", metavar="FILE", help="Pods from `kubectl get pods -A -o yaml|json` (with --nodes-file)."
)
@click.option("--gpu-resource", metavar="NAME", help="Only consider nodes' GPUs of this resource.")
@click.option(
    "--upgrade-to",
    metavar="vX.Y.Z",
    help="Also judge every object under this KServe release, side by side with the installed one "
    "(unchanged / changes / breaks; exit 1 when something breaks).",
)
@model_options
@kserve_version_option
@output_option(
    ("table", "wide", "name", "json", "yaml"),
    "table",
    "Output format. wide: also RUNTIME, GPU RESOURCE and NODES; name: kind.serving.kserve.io/NAME per line.",
)
@no_headers_option
@connection_options
def check(
    names: tuple[str, ...],
    all_namespaces: bool,
    filenames: tuple[str, ...],
    recursive: bool,
    selector: str | None,
    nodes_file: str | None,
    pods_file: str | None,
    gpu_resource: str | None,
    upgrade_to: str | None,
    model: str | None,
    gpu_memory: str | None,
    gpu_memory_utilization: float,
    max_model_len: int | None,
    kserve_version: str,
    output: str,
    no_headers: bool,
    conn: ConnectionOptions,
) -> None:
    """Predict what KServe will do with multi-node InferenceServices, and why it will fail.

    For each InferenceService with spec.predictor.workerSpec: would KServe's webhook admit it,
    what Deployments and GPU counts the controller would create, and whether those pods can
    schedule on the nodes. ServingRuntimes given with -f are checked against the webhook too.

    Every LLMInferenceService (KServe v0.16.0+) is checked next to them: admission, the
    LeaderWorkerSet and vLLM flags the controller makes of spec.parallelism, the GPUs per pod,
    and whether the groups schedule. NAME is an InferenceService or an LLMInferenceService;
    llmisvc/NAME (or isvc/NAME) names only that kind.

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
      # what upgrading KServe to v0.16.0 does to every multi-node object
      kubectl kserve-mn check -A --upgrade-to v0.16.0
      # one LLMInferenceService
      kubectl kserve-mn check llmisvc/deepseek -n team-a
      # the objects labelled team=search, in every namespace, with runtime, GPU resource and node count
      kubectl kserve-mn check -A -l team=search -o wide
      # every .yaml/.yml/.json file under a GitOps tree
      kubectl kserve-mn check -f deploy/ -R --kserve-version v0.16.0

    With --upgrade-to (a full release, not older than the installed one) every object is also judged
    under that release: admission on its next update, the pods and GPUs its controller creates, whether
    they fit the free GPUs now, and what fix would change first.
    """
    if all_namespaces and conn.namespace:
        raise InputError("-A/--all-namespaces cannot be combined with -n/--namespace")
    if pods_file and not nodes_file:
        raise InputError("--pods-file needs --nodes-file")
    gpu_resource = check_gpu_resource(gpu_resource)
    if filenames and all_namespaces:
        raise InputError("-A/--all-namespaces cannot be combined with -f")
    if names and all_namespaces:
        raise InputError("a name cannot be combined with -A/--all-namespaces (give -n NAMESPACE)")
    parse_names(names)  # a malformed TYPE/NAME is refused before anything is read
    label_selector = parse_label_selector(selector)
    if names and label_selector is not None:
        raise InputError("a name cannot be combined with -l/--selector: the selector chooses the objects")
    models = _model_source(
        model,
        gpu_memory,
        gpu_memory_utilization,
        max_model_len,
        nodes_file,
        pods_file,
        offline=bool(filenames),
    )
    if upgrade_to is not None and not upgrade_to.strip():
        raise InputError("--upgrade-to is empty: give a KServe release, e.g. v0.16.0")
    if filenames:
        run = offline(
            names,
            filenames,
            nodes_file,
            pods_file,
            gpu_resource,
            kserve_version,
            conn,
            models,
            upgrade_to,
            selector=label_selector,
            recursive=recursive,
        )
    else:
        run = online(
            names,
            all_namespaces,
            nodes_file,
            pods_file,
            gpu_resource,
            kserve_version,
            conn,
            models,
            upgrade_to,
            selector=label_selector,
        )
    for message in run.warnings:
        warn(message)
    if output in ("table", "wide"):
        style = TextStyle.for_output(wide=output == "wide", headers=not no_headers)
        click.echo(render_table(run, style), nl=False)
    elif output == "name":
        click.echo(render_names(run), nl=False)
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
