"""What KServe's LLMInferenceService controller builds for an object, per version (SEMANTICS §4).

``combineBaseRefsConfig`` (``config_merge.go``) selects the well-known presets (:mod:`.presets`), merges them,
the ``baseRefs`` configs and the object's spec (:mod:`.merge`), and renders the Go templates of the result
with the *submitted* object (:mod:`.gotemplate`); a missing config fails the reconcile with condition
``PresetsCombined=False``. The controller then reconciles from the merged spec
(``workload_multi_node.go``, ``expectedMainMultiNodeLWS`` / ``expectedPrefillMultiNodeLWS``):

- a ``worker`` makes a LeaderWorkerSet ``<name>-kserve-mn`` (prefill: ``<name>-kserve-mn-prefill``, names
  by knative's ``kmeta.ChildName``) of ``size = parallelism.GetSize()`` (data/dataLocal, else pipeline,
  else unset: LWS's default 1; never tensor, kserve#4946) and ``replicas = spec.replicas``; when that is
  unset, v0.17.0+ keeps the live LWS's replicas (``PreserveLWSReplicas``), a new LWS starts at 1, and
  v0.16.0 resets it to 1 on every reconcile;
- the leader pod is the merged ``template`` (the worker's when there is none), the workers the merged
  ``worker``; the controller sets no GPU resources, so each pod holds what its containers request;
- without a ``worker`` the workload is one Deployment of the merged ``template``.

vLLM's flags come from the rendered ``main`` container of the leader: the shell script of the presets
(``${VLLM_ADDITIONAL_ARGS}`` and the positional ``$@`` included) or, for the v0.16.0/v0.17.0 single-node
template, ``command`` + ``args``. vLLM's argparse keeps the last value of a repeated flag.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.inputs import BadInput, path_text
from kubectl_kserve_mn.inputs.k8s import pod_from_spec
from kubectl_kserve_mn.inventory import KSERVE_GPU_RESOURCES, is_gpu_resource, pod_effective_request
from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.kserve.llmisvc.gotemplate import TemplateError, child_name, render, template_data
from kubectl_kserve_mn.kserve.llmisvc.merge import merge_specs
from kubectl_kserve_mn.kserve.llmisvc.presets import (
    PIPELINE_PRESETS,
    configs_by_name,
    role_of,
    select_preset,
)
from kubectl_kserve_mn.kserve.llmisvc.spec import (
    MAIN_LWS_SUFFIX,
    PREFILL_LWS_SUFFIX,
    LLMInferenceService,
    Parallelism,
    Workload,
    read,
)

MAIN_CONTAINER = "main"
ADDITIONAL_ARGS_ENV = "VLLM_ADDITIONAL_ARGS"
SYSTEM_NAMESPACE = "kserve"

TENSOR_FLAG = "--tensor-parallel-size"
PIPELINE_FLAG = "--pipeline-parallel-size"
DATA_FLAG = "--data-parallel-size"
DATA_LOCAL_FLAG = "--data-parallel-size-local"
RPC_PORT_FLAG = "--data-parallel-rpc-port"
EXPERT_FLAG = "--enable-expert-parallel"
_VALUE_FLAGS = (TENSOR_FLAG, PIPELINE_FLAG, DATA_FLAG, DATA_LOCAL_FLAG, RPC_PORT_FLAG)
_SHORT = {"-tp": TENSOR_FLAG, "-pp": PIPELINE_FLAG, "-dp": DATA_FLAG, "-dpl": DATA_LOCAL_FLAG}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Lws:
    name: str
    size: int | None
    """``leaderWorkerTemplate.size``; None: unset (LWS's default 1)."""
    replicas: int

    @property
    def pods(self) -> int:
        """Pods per group: the leader and ``size - 1`` workers."""
        return max(self.size or 1, 1)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "replicas": self.replicas}


@dataclass(frozen=True)
class VllmParallelism:
    """What vLLM is started with (its defaults where no flag is given)."""

    tensor: int = 1
    pipeline: int = 1
    data: int = 1
    data_local: int | None = None
    """None: not given (vLLM then runs every data-parallel rank locally)."""
    expert: bool = False


@dataclass(frozen=True)
class WorkloadLayout:
    """One workload (``spec`` or ``spec.prefill``) as the controller builds it."""

    role: str
    """``main``, ``decode`` or ``prefill``."""
    field: str
    """``spec`` or ``spec.prefill``."""
    multi_node: bool
    parallelism: Parallelism | None
    """The submitted object's block (what the templates render from)."""
    preset: str | None
    lws: Lws | None
    replicas: int
    """LWS replicas (groups), or the Deployment's replicas for a single-node workload."""
    vllm_args: tuple[str, ...]
    """The parallelism flags of the leader's vLLM command, in order, as rendered."""
    vllm: VllmParallelism
    leader_gpus: int
    worker_gpus: int | None
    gpu_resource: str | None
    controller_error: str | None
    controller_reason: str | None = None
    args_channel: str = ""
    """How extra vLLM flags reach this preset's command (for suggestions)."""
    notes: tuple[str, ...] = ()
    leader_pod: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    worker_pod: Mapping[str, Any] | None = dataclasses.field(default=None, compare=False, repr=False)
    merged_parallelism: Parallelism | None = None
    """The merged spec's block (with ``baseRefs``): what sizes the LeaderWorkerSet."""
    command: tuple[str, ...] = dataclasses.field(default=(), compare=False, repr=False)
    """Every rendered word of the leader's ``vllm serve`` command (other vLLM flags are read from it)."""

    @property
    def pods_per_group(self) -> int:
        return self.lws.pods if self.lws is not None else 1

    def pod_gpus(self) -> list[int]:
        """GPUs of each pod of one group, leader first."""
        if self.lws is None:
            return [self.leader_gpus]
        return [self.leader_gpus] + [self.worker_gpus or 0] * (self.lws.pods - 1)

    def to_json(self) -> dict[str, Any]:
        parallelism = self.parallelism or Parallelism()
        return {
            "multiNode": self.multi_node,
            "parallelism": parallelism.to_json(),
            "preset": self.preset,
            "lws": None if self.lws is None else self.lws.to_json(),
            "vllmArgs": list(self.vllm_args),
            "leaderGpus": self.leader_gpus,
            "workerGpus": self.worker_gpus,
            "gpuResource": self.gpu_resource,
            "controllerError": self.controller_error,
        }


@dataclass(frozen=True)
class LlmLayout:
    main: WorkloadLayout
    prefill: WorkloadLayout | None
    notes: tuple[str, ...] = ()

    @property
    def workloads(self) -> tuple[WorkloadLayout, ...]:
        return (self.main,) if self.prefill is None else (self.main, self.prefill)

    @property
    def controller_error(self) -> str | None:
        return next((w.controller_error for w in self.workloads if w.controller_error), None)

    def to_json(self) -> dict[str, Any]:
        data = self.main.to_json()
        data["prefill"] = None if self.prefill is None else self.prefill.to_json()
        return data


# --- GPUs ------------------------------------------------------------------------------------------


def pod_gpu_resource(
    pod: Mapping[str, Any] | None, known: Sequence[str] = KSERVE_GPU_RESOURCES
) -> str | None:
    """The GPU resource a pod's containers ask for (the first with a count), None when none does."""
    spec = _dict(pod)
    for container in _list(spec.get("containers")) + _list(spec.get("initContainers")):
        resources = _dict(_dict(container).get("resources"))
        for section in ("requests", "limits"):
            for name in _dict(resources.get(section)):
                if (name in known or is_gpu_resource(str(name))) and pod_gpus(spec, str(name)):
                    return str(name)
    return None


def pod_gpus(pod: Mapping[str, Any] | None, resource: str | None) -> int:
    """Kubernetes' effective request of ``resource`` for the pod (limits count for extended resources);
    0 when the pod could not be created (see :func:`pod_problem`)."""
    if pod is None or resource is None or pod_problem(pod) is not None:
        return 0
    return pod_effective_request(pod_from_spec(pod), resource)


def pod_problem(pod: Mapping[str, Any] | None) -> str | None:
    """Why the API server would refuse pods made from this template (an extended resource such as a GPU
    that is not a whole number: "must be an integer"), or None. The LLMInferenceService itself is admitted:
    only the LeaderWorkerSet's pods fail."""
    if pod is None:
        return None
    try:
        pod_from_spec(pod)
    except BadInput as err:
        where = path_text(("spec", *err.path[1:])) if err.path else ""
        return f"{where}: {err.problem}" if where else err.problem
    return None


# --- vLLM flags ------------------------------------------------------------------------------------


def _container(pod: Mapping[str, Any] | None, name: str = MAIN_CONTAINER) -> dict[str, Any]:
    containers = [c for c in _list(_dict(pod).get("containers")) if isinstance(c, dict)]
    for container in containers:
        if container.get("name") == name:
            return container
    return containers[0] if containers else {}


def _env(container: Mapping[str, Any], name: str) -> str | None:
    for entry in _list(container.get("env")):
        if _dict(entry).get("name") == name and isinstance(_dict(entry).get("value"), str):
            return str(_dict(entry)["value"])
    return None


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def command_tokens(container: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The rendered words of the ``vllm serve`` command of ``container`` (with ``${VLLM_ADDITIONAL_ARGS}``
    and ``$@`` put in), and whether extra flags go through ``VLLM_ADDITIONAL_ARGS``. Raises
    :class:`TemplateError` like the controller's template execution."""
    words = [render(str(w), data) for w in _list(container.get("command")) + _list(container.get("args"))]
    shell = words and words[0].rsplit("/", 1)[-1] in ("bash", "sh") and "-c" in words[:3]
    if not shell:
        return words, False
    at = words.index("-c")
    script = words[at + 1] if len(words) > at + 1 else ""
    positional = words[at + 3 :]  # words[at + 2] is $0
    joined = script.replace("\\\n", " ")
    line = next(
        (ln for ln in joined.splitlines() if "vllm serve" in ln and not ln.lstrip().startswith("#")), ""
    )
    line = line[line.index("vllm serve") :] if line else ""
    uses_env = f"${{{ADDITIONAL_ARGS_ENV}}}" in line or f"${ADDITIONAL_ARGS_ENV}" in line
    out: list[str] = []
    for raw in line.split():
        word = raw.strip('"').strip("'")
        if word in (f"${{{ADDITIONAL_ARGS_ENV}}}", f"${ADDITIONAL_ARGS_ENV}"):
            out += _split(_env(container, ADDITIONAL_ARGS_ENV) or "")
        elif word in ("$@", "${@}"):
            out += positional
        elif word:
            out.append(word)
    return out, uses_env


def parallel_flags(tokens: Sequence[str]) -> tuple[list[str], VllmParallelism]:
    """The parallelism flags among ``tokens`` (in order, as written) and their effect (last one wins)."""
    shown: list[str] = []
    values: dict[str, str] = {}
    expert = False
    for index, token in enumerate(tokens):
        key, sep, inline = token.partition("=")
        flag = _SHORT.get(key, "--" + key[2:].replace("_", "-") if key.startswith("--") else key)
        if flag == EXPERT_FLAG:
            shown.append(token)
            expert = inline.lower() not in ("false", "0") if sep else True
        elif flag in _VALUE_FLAGS:
            value = inline if sep else (tokens[index + 1] if index + 1 < len(tokens) else "")
            shown += [token] if sep else [token, value]
            values[flag] = value

    def number(flag: str) -> int | None:
        try:
            return int(values[flag]) if flag in values else None
        except ValueError:
            return None

    return shown, VllmParallelism(
        tensor=number(TENSOR_FLAG) or 1,
        pipeline=number(PIPELINE_FLAG) or 1,
        data=number(DATA_FLAG) or 1,
        data_local=number(DATA_LOCAL_FLAG),
        expert=expert,
    )


def args_channel(preset_spec: Mapping[str, Any] | None, role: str, uses_env: bool) -> str:
    """How a user adds a vLLM flag to this preset's command: the ``VLLM_ADDITIONAL_ARGS`` env var when
    the script reads it; the container's ``args`` when the preset sets none (they are appended); else
    the whole ``args`` list, which replaces the preset's."""
    if uses_env:
        return f"env {ADDITIONAL_ARGS_ENV}"
    pod = _workload_block(preset_spec, role).get("template")
    if not _list(_container(pod).get("args")):
        return "args"
    return "args (replacing the preset's list)"


def preset_args_channel(era: Era, preset: str, role: str = "main") -> tuple[str, list[str]]:
    """(channel, the preset's own ``args`` of the leader's main container) for ``era``'s shipped ``preset``."""
    spec = configs_by_name(None, era).get(preset)
    container = _container(_workload_block(spec, role).get("template"))
    text = " ".join(str(w) for w in _list(container.get("command")) + _list(container.get("args")))
    uses_env = f"${{{ADDITIONAL_ARGS_ENV}}}" in text or f"${ADDITIONAL_ARGS_ENV} " in text
    return args_channel(spec, role, uses_env), [str(a) for a in _list(container.get("args"))]


def how_to_pass(channel: str, flags: Sequence[str]) -> str:
    """A suggestion that adds vLLM ``flags`` to the main container the way ``channel`` (from
    :func:`args_channel`) allows."""
    words = " ".join(flags)
    if channel.startswith("env"):
        return f'set env {ADDITIONAL_ARGS_ENV}="{words}" on the main container'
    if channel == "args":
        return f"add args {list(flags)} to the main container"
    return (
        f"set the main container's args to the preset's list followed by {list(flags)} (a list replaces it)"
    )


# --- the layout ------------------------------------------------------------------------------------


def _workload_block(spec: Mapping[str, Any] | None, role: str) -> dict[str, Any]:
    spec = _dict(spec)
    return _dict(spec.get("prefill")) if role == "prefill" else dict(spec)


def missing_config_error(era: Era, name: str, namespace: str) -> tuple[str, str]:
    """(reason, message) of ``PresetsCombined=False`` when config ``name`` exists in neither the object's
    namespace nor ``kserve`` (``getConfig`` in ``config_merge.go``): ``CombineBaseError`` with the client's
    NotFound up to v0.18.x, ``ConfigNotFound`` with its own message from v0.19.0."""
    if era.llmisvc_missing_preset_reason == "ConfigNotFound":
        return (
            "ConfigNotFound",
            f'LLMInferenceServiceConfig "{name}" not found in namespaces [{namespace} {SYSTEM_NAMESPACE}]',
        )
    return (
        "CombineBaseError",
        f'failed to get LLMInferenceServiceConfig "{name}" from namespaces ["{namespace}", "{SYSTEM_NAMESPACE}"]: '
        f'llminferenceserviceconfigs.serving.kserve.io "{name}" not found',
    )


def _replicas(
    workload: Workload, lws_name: str | None, era: Era, live: Mapping[str, int | None] | None
) -> tuple[int, str | None]:
    if workload.replicas is not None:
        return workload.replicas, None
    if lws_name is None:
        return 1, None
    if era.llmisvc_preserves_lws_replicas:
        kept = (live or {}).get(lws_name)
        if kept is not None:
            return (
                kept,
                f"{workload.field}.replicas is unset: the live LeaderWorkerSet's {kept} replicas are kept",
            )
        return 1, f"{workload.field}.replicas is unset: a new LeaderWorkerSet starts at 1 replica"
    return 1, (
        f"{workload.field}.replicas is unset: KServe {era.key} writes the LeaderWorkerSet without replicas on every "
        "reconcile, so it is 1 (scaling it by hand does not last)"
    )


def compute_llm_layout(
    obj: Mapping[str, Any],
    era: Era,
    *,
    configs: Mapping[str, Mapping[str, Any]] | None = None,
    configs_complete: bool = False,
    live_lws_replicas: Mapping[str, int | None] | None = None,
    gpu_types: Sequence[str] = KSERVE_GPU_RESOURCES,
) -> LlmLayout:
    """The LeaderWorkerSets (or Deployments), presets, vLLM flags and GPUs ``era``'s controller makes of ``obj``.

    ``configs``: LLMInferenceServiceConfigs found on the cluster or in files (name -> object or spec); they
    override the shipped presets of ``era``. ``configs_complete``: ``configs`` is everything the
    controller can find, so a missing ``baseRefs`` name is an error (else it is only a note).
    ``live_lws_replicas``: the live LeaderWorkerSets' ``spec.replicas`` by name (for an unset ``replicas``).
    """
    item = read(obj)
    namespace = item.namespace or "default"
    known = configs_by_name(configs, era)
    has_prefill = item.prefill is not None
    notes: list[str] = []

    # Step 1 (selection): the spec with its baseRefs merged over it.
    spec = _dict(obj.get("spec"))
    ref_specs: list[dict[str, Any]] = []
    missing_ref: str | None = None
    for name in item.base_refs:
        if name in known:
            ref_specs.append(known[name])
        elif configs_complete:
            missing_ref = missing_ref or name
        else:
            notes.append(f"baseRefs {name} was not read: its values are not included")
    resolved = merge_specs(spec, *ref_specs)
    selection = read({**dict(obj), "spec": resolved})
    workloads = [w for w in (selection.main, selection.prefill) if w is not None]
    presets = {role_of(w, has_prefill): select_preset(w, has_prefill) for w in workloads}

    # Step 2: presets (prefill first, as config_merge.go appends them), then baseRefs, then the spec.
    order = [presets[r] for r in ("prefill", "decode", "main") if presets.get(r)]
    missing = missing_ref or next((p for p in order if p is not None and p not in known), None)
    merged = merge_specs(*(known[p] for p in order if p is not None and p in known), *ref_specs, spec)
    merged_item = read({**dict(obj), "spec": merged})
    data = template_data(obj)
    error: tuple[str, str] | None = None
    if missing is not None:
        error = missing_config_error(era, missing, namespace)

    layouts: dict[str, WorkloadLayout] = {}
    for workload, submitted in ((merged_item.main, item.main), (merged_item.prefill, item.prefill)):
        if workload is None or submitted is None:
            continue
        role = role_of(workload, has_prefill)
        layouts[role] = _workload_layout(
            item,
            workload,
            submitted,
            role,
            presets.get(role),
            known,
            data,
            era,
            error,
            live_lws_replicas,
            gpu_types,
        )
    main = layouts.get("main") or layouts["decode"]
    return LlmLayout(main=main, prefill=layouts.get("prefill"), notes=tuple(notes))


def _workload_layout(
    item: LLMInferenceService,
    workload: Workload,
    submitted: Workload,
    role: str,
    preset: str | None,
    known: Mapping[str, Mapping[str, Any]],
    data: Mapping[str, Any],
    era: Era,
    error: tuple[str, str] | None,
    live: Mapping[str, int | None] | None,
    gpu_types: Sequence[str],
) -> WorkloadLayout:
    notes: list[str] = []
    multi_node = workload.worker is not None
    lws: Lws | None = None
    suffix = PREFILL_LWS_SUFFIX if role == "prefill" else MAIN_LWS_SUFFIX
    lws_name = child_name(item.name, suffix) if multi_node else None
    replicas, note = _replicas(workload, lws_name, era, live)
    if note and multi_node:
        notes.append(note)
    if workload.scaling:
        notes.append(
            f"{workload.field}.scaling is set: replicas follow the autoscaler (its rules are not checked)"
        )
    if lws_name is not None:
        size = workload.parallelism.size() if workload.parallelism is not None else None
        lws = Lws(lws_name, size, replicas)
    leader = workload.template if workload.template is not None else workload.worker
    resource = pod_gpu_resource(leader, gpu_types) or (
        pod_gpu_resource(workload.worker, gpu_types) if multi_node else None
    )
    reason: str | None = None
    message: str | None = None
    tokens: list[str] = []
    uses_env = False
    refused = pod_problem(leader) or (pod_problem(workload.worker) if multi_node else None)
    if error is None and refused is not None:
        error = ("PodCreateFailed", f"the API server refuses the {role} pods: {refused} (must be an integer)")
    if error is not None:
        reason, message = error
        if preset in PIPELINE_PRESETS and preset not in known:
            notes.append(f"no KServe release ships {preset} (kserve#5047)")
    else:
        try:
            tokens, uses_env = command_tokens(_container(leader), data)
        except TemplateError as err:
            reason, message = "CombineBaseError", f"failed to merge config: {err}"
    shown, vllm = parallel_flags(tokens)
    if error is None and message is None and not tokens:
        notes.append(f"no vllm serve command found in the {role} leader's main container: vLLM flags unknown")
    preset_spec = known.get(preset) if preset else None
    return WorkloadLayout(
        role=role,
        field=workload.field,
        multi_node=multi_node,
        parallelism=submitted.parallelism,
        preset=preset,
        lws=lws,
        replicas=replicas,
        vllm_args=tuple(shown),
        vllm=vllm,
        leader_gpus=pod_gpus(leader, resource),
        worker_gpus=pod_gpus(workload.worker, resource) if multi_node else None,
        gpu_resource=resource,
        controller_error=None
        if message is None
        else message
        if reason == "PodCreateFailed"
        else f"PresetsCombined=False ({reason}): {message}",
        controller_reason=reason,
        args_channel=args_channel(preset_spec, role, uses_env),
        notes=tuple(notes),
        leader_pod=dict(leader or {}),
        worker_pod=None if workload.worker is None else dict(workload.worker),
        merged_parallelism=workload.parallelism,
        command=tuple(tokens),
    )
