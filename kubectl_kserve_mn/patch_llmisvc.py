"""What ``fix llmisvc/NAME`` changes in one LLMInferenceService: a minimal JSON merge patch, its
explanation and its undo record, reusing :mod:`kubectl_kserve_mn.patch` (the editor, the merge patch
with ``metadata.resourceVersion``, the ``kserve-mn/previous-layout`` annotation, undo and diff).

Rules (SEMANTICS §4):
- the total parallelism size (``GetSize``: data / dataLocal, else pipeline, else 1) of ``spec`` and
  ``spec.prefill`` never changes: KServe's webhook rejects that update (``total parallelism size is
  immutable``); a wanted change of it is refused with the manifest to delete and recreate the object;
- ``tensor`` may change (the webhook ignores it on update), and so may the GPU requests: each pod of a
  LeaderWorkerSet gets ``dataLocal x tensor`` GPUs, a single pod ``tensor`` (in the ``main`` container, requests
  and limits, the user's own spelling kept when it already says the same number);
- a single-node ``pipeline`` (ignored, kserve#6044) moves into ``tensor`` where vLLM allows it (the model's
  heads divide); that removes the pipeline size, so it is a recreate unless the pipeline was 1;
- before v0.20.0 a single-node ``tensor`` is dropped (kserve#5773): the flag is passed the way the
  release's preset allows (``VLLM_ADDITIONAL_ARGS`` or the container's ``args``).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.edits import (
    PREVIOUS_LAYOUT_ANNOTATION,
    Editor,
    Named,
    Path,
    finish,
    get_at,
    previous_layout_value,
    set_at,
)
from kubectl_kserve_mn.inventory import Inventory
from kubectl_kserve_mn.kserve.admission import Admission
from kubectl_kserve_mn.kserve.controller import quantity_value
from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.kserve.llmisvc.admission import SIZE_IMMUTABLE, admit_llmisvc
from kubectl_kserve_mn.kserve.llmisvc.layout import (
    ADDITIONAL_ARGS_ENV,
    MAIN_CONTAINER,
    TENSOR_FLAG,
    WorkloadLayout,
    compute_llm_layout,
    preset_args_channel,
)
from kubectl_kserve_mn.kserve.llmisvc.spec import Parallelism, read, size_of
from kubectl_kserve_mn.model import ModelFacts, layout_violations
from kubectl_kserve_mn.patch import FixPlan
from kubectl_kserve_mn.undo import plan_undo

DEFAULT_GPU_RESOURCE = "nvidia.com/gpu"
_SERVER_FIELDS = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


@dataclass(frozen=True)
class LlmFixTarget:
    """``--tensor-parallel-size`` / ``--data-parallel-size`` / ``--data-parallel-size-local`` for ``spec``."""

    tensor: int | None = None
    data: int | None = None
    data_local: int | None = None


@dataclass(frozen=True)
class LlmFixResult:
    plan: FixPlan
    """The patch (empty when nothing changes or the change needs a recreate)."""
    recreate: dict[str, Any] | None = None
    """The manifest to delete and create again, when the wanted change alters the total size."""
    refused: str | None = None
    """Why the change cannot be an update (the webhook's rule, with both sizes)."""


def _size(parallelism: Any) -> int:
    size = size_of(parallelism if isinstance(parallelism, Parallelism) else None)
    return 1 if size is None else size


def recreate_manifest(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` as a manifest to create again: no status, no server-set metadata, no undo record."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in _SERVER_FIELDS:
            meta.pop(key, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(PREVIOUS_LAYOUT_ANNOTATION, None)
            if not annotations:
                meta.pop("annotations")
    return out


def _container_path(field: str, pod: str) -> Path:
    base: tuple[str, ...] = ("spec", "prefill") if field == "spec.prefill" else ("spec",)
    return (*base, pod, "containers", Named(MAIN_CONTAINER))


def _set_pod_gpus(
    edit: Editor, work: dict[str, Any], field: str, pod: str, resource: str, gpus: int, summary: str
) -> None:
    path = _container_path(field, pod)
    containers = get_at(work, path[:-1])
    current = get_at(work, path)
    if not isinstance(containers, list):
        block = {"limits": {resource: str(gpus)}, "requests": {resource: str(gpus)}}
        edit.set(path[:-1], [{"name": MAIN_CONTAINER, "resources": block}], summary)
        return
    if not isinstance(current, dict):
        block = {"limits": {resource: str(gpus)}, "requests": {resource: str(gpus)}}
        edit.set(path, {"name": MAIN_CONTAINER, "resources": block}, summary)
        return
    resources = current.get("resources") if isinstance(current.get("resources"), dict) else {}
    for section in ("requests", "limits"):
        existing = get_at(resources, (section, resource))
        if existing is not None and quantity_value(existing) == gpus:
            continue
        edit.set((*path, "resources", section, resource), str(gpus), summary)


def _largest_node(inventory: Inventory | None, resource: str) -> int | None:
    if inventory is None:
        return None
    sizes = [n.physical for n in inventory.nodes if n.gpu_resource == resource and n.placeable]
    return max(sizes) if sizes else None


def _pass_tensor_flag(edit: Editor, work: dict[str, Any], era: Era, w: WorkloadLayout, tensor: int) -> None:
    """Before v0.20.0, a single-node tensor reaches vLLM only as a flag the user passes."""
    channel, preset_args = preset_args_channel(era, w.preset or "", w.role)
    path = _container_path(w.field, "template")
    flags = [TENSOR_FLAG, str(tensor)]
    summary = (
        f"{w.field}: pass {TENSOR_FLAG} {tensor} through the main container's {channel}: KServe {era.key} drops "
        "parallelism.tensor on a single-node workload (kserve#5773, rendered from v0.20.0)"
    )
    container = get_at(work, path)
    if channel.startswith("env"):
        entry = get_at(work, (*path, "env", Named(ADDITIONAL_ARGS_ENV)))
        value = " ".join(flags)
        if isinstance(entry, dict) and isinstance(entry.get("value"), str) and entry["value"].strip():
            value = f"{entry['value']} {value}"
        new_entry = {"name": ADDITIONAL_ARGS_ENV, "value": value}
        if isinstance(container, dict) and isinstance(container.get("env"), list):
            edit.set((*path, "env", Named(ADDITIONAL_ARGS_ENV)), new_entry, summary)
        elif isinstance(container, dict):
            edit.set((*path, "env"), [new_entry], summary)
        else:
            _ensure_container(edit, work, path, {"name": MAIN_CONTAINER, "env": [new_entry]}, summary)
        return
    current = container.get("args") if isinstance(container, dict) else None
    args = (
        [str(a) for a in current] if isinstance(current, list) else (preset_args if channel != "args" else [])
    )
    if isinstance(container, dict):
        edit.set((*path, "args"), [*args, *flags], summary)
    else:
        _ensure_container(edit, work, path, {"name": MAIN_CONTAINER, "args": [*args, *flags]}, summary)


def _ensure_container(
    edit: Editor, work: dict[str, Any], path: Path, value: dict[str, Any], summary: str
) -> None:
    if isinstance(get_at(work, path[:-1]), list):
        edit.set(path, value, summary)
    else:
        edit.set(path[:-1], [value], summary)


def plan_llm_fix(
    obj: Mapping[str, Any],
    era: Era,
    *,
    target: LlmFixTarget | None = None,
    inventory: Inventory | None = None,
    model: ModelFacts | None = None,
    configs: Mapping[str, Mapping[str, Any]] | None = None,
) -> LlmFixResult:
    """The minimal change that makes ``obj``'s vLLM use what its pods hold, under ``era``.

    ``target``: sizes asked for on the command line (``spec`` only). ``inventory``: the nodes (a GPU count a
    node cannot hold is not written). ``model``: vLLM's rules gate moving a pipeline into tensor.
    """
    target = target or LlmFixTarget()
    before = copy.deepcopy(dict(obj))
    same = FixPlan(before=before, after=copy.deepcopy(before))
    if not era.llmisvc_api_versions:
        return LlmFixResult(dataclasses.replace(same, problem=f"KServe {era.key} has no LLMInferenceService"))
    item = read(before)
    layout = compute_llm_layout(before, era, configs=configs)
    work = copy.deepcopy(before)
    edit = Editor(work)
    notes: list[str] = []
    problems: list[str] = []

    # 1. Sizes: the flags, then a single-node pipeline moved into tensor.
    for key, value in (("tensor", target.tensor), ("data", target.data), ("dataLocal", target.data_local)):
        if value is not None:
            edit.set(("spec", "parallelism", key), value, f"spec.parallelism.{key} -> {value} (requested)")
    for w in layout.workloads:
        p = w.parallelism
        base: tuple[str, ...] = ("spec", "prefill") if w.field == "spec.prefill" else ("spec",)
        if w.lws is not None or p is None or (p.pipeline or 1) <= 1 or w.vllm.pipeline > 1:
            continue
        if w.field == "spec" and target.tensor is not None:
            continue
        merged = p.pipeline * (p.tensor or 1) if p.pipeline else p.tensor or 1
        refused = [
            v.message for v in (layout_violations(model, merged, 1) if model else []) if v.severity == "error"
        ]
        if refused:
            notes.append(f"{w.field}: pipeline {p.pipeline} is not moved into tensor {merged}: {refused[0]}")
            continue
        summary = (
            f"{w.field}.parallelism: pipeline {p.pipeline} x tensor {p.tensor or 1} -> tensor {merged}: a single-node "
            "workload ignores pipeline (kserve#6044), tensor uses the pod's GPUs"
        )
        edit.set((*base, "parallelism", "pipeline"), None, summary)
        edit.set((*base, "parallelism", "tensor"), merged, summary)

    # 2. GPUs per pod, and the tensor flag older releases drop.
    new_layout = compute_llm_layout(work, era, configs=configs)
    for w in new_layout.workloads:
        if w.controller_error is not None:
            problems.append(f"{w.field}: the controller fails ({w.controller_error}); GPUs are not changed")
            continue
        v = w.vllm
        if min(v.tensor, v.pipeline, v.data, v.data_local or 1) < 1:
            problems.append(
                f"{w.field}: parallelism sizes below 1 are refused by the CRD schema; correct them first"
            )
            continue
        p = w.parallelism or Parallelism()
        if (p.tensor or 1) < 1:
            continue
        single_tensor = w.lws is None and (p.tensor or 1) > 1 and w.vllm.tensor == 1
        if single_tensor:
            _pass_tensor_flag(edit, work, era, w, p.tensor or 1)
        tensor = (p.tensor or 1) if single_tensor else w.vllm.tensor
        local = (w.vllm.data_local or 1) if w.lws is not None else 1
        need = local * tensor * w.vllm.pipeline
        resource = w.gpu_resource or _only_resource(inventory) or DEFAULT_GPU_RESOURCE
        if w.gpu_resource is None and need == 1:
            continue  # a one-GPU-or-CPU pod the user chose: nothing to say
        largest = _largest_node(inventory, resource)
        if largest is not None and need > largest:
            problems.append(
                f"{w.field}: each pod needs dataLocal x tensor = {need} {resource} but the largest node has {largest}; "
                "lower tensor (allowed on update) with --tensor-parallel-size, e.g. "
                f"{max(t for t in range(1, largest + 1) if largest % t == 0)}"
            )
            continue
        pods = [("template", w.leader_gpus, "leader")]
        if w.lws is not None and w.lws.pods > 1:
            pods.append(("worker", w.worker_gpus or 0, "worker"))
        for pod, gpus, role in pods:
            if gpus != need:
                _set_pod_gpus(
                    edit,
                    work,
                    w.field,
                    pod,
                    resource,
                    need,
                    f"{w.field}.{pod} GPUs {gpus or 'unset'} -> {need} {resource}: each {role} pod runs "
                    f"{local} data-parallel rank(s) x tensor {tensor}",
                )

    # 3. The total size may not change on an existing object: a recreate, with every change above.
    after_item = read(work)
    changed: list[str] = []
    pairs = [("spec", item.main.parallelism, after_item.main.parallelism)]
    if item.prefill is not None and after_item.prefill is not None:
        pairs.append(("spec.prefill", item.prefill.parallelism, after_item.prefill.parallelism))
    for where, was, now in pairs:
        if _size(was) != _size(now):
            changed.append(
                f"{where}.parallelism: " + SIZE_IMMUTABLE.format(previous=_size(was), current=_size(now))
            )
    if changed:
        refused_text = (
            "the change alters the total parallelism size, which KServe's webhook forbids on update ("
            + "; ".join(changed)
            + "): delete the LLMInferenceService and create it from the manifest below"
        )
        return LlmFixResult(
            dataclasses.replace(same, problem=refused_text, notes=tuple(notes)),
            recreate=recreate_manifest(work),
            refused=refused_text,
        )

    if not edit.changes:
        admission = admit_llmisvc(before, era, live=before)
        problem = "; ".join(problems) or None
        return LlmFixResult(
            dataclasses.replace(same, admission=admission, problem=problem, notes=tuple(notes))
        )
    record = previous_layout_value(edit.changes)
    set_at(work, ("metadata", "annotations", PREVIOUS_LAYOUT_ANNOTATION), record)
    patch, after = finish(before, work)
    admission = admit_llmisvc(after, era, live=before)
    notes += [f"not changed: {p}" for p in problems]
    return LlmFixResult(
        FixPlan(
            before=before,
            after=after,
            changes=tuple(edit.changes),
            patch=patch,
            admission=admission,
            notes=tuple(notes),
        )
    )


def _only_resource(inventory: Inventory | None) -> str | None:
    resources = sorted({n.gpu_resource for n in inventory.nodes if n.placeable}) if inventory else []
    return resources[0] if len(resources) == 1 else None


def plan_llm_undo(obj: Mapping[str, Any], era: Era) -> FixPlan | None:
    """``fix --undo``: the patch restoring what ``kserve-mn/previous-layout`` recorded (None: no record),
    judged by ``era``'s LLMInferenceService webhook as an update of ``obj``."""
    plan = plan_undo(obj, dataclasses.replace(era, multinode=False))
    if plan is None:
        return None
    admission: Admission = admit_llmisvc(plan.after, era, live=obj)
    return dataclasses.replace(plan, admission=admission)


def sizes(obj: Mapping[str, Any]) -> dict[str, int]:
    """``GetSize`` (unset = 1) of ``spec`` and ``spec.prefill``: what the webhook keeps immutable."""
    item = read(obj)
    out = {"spec": _size(item.main.parallelism)}
    if item.prefill is not None:
        out["spec.prefill"] = _size(item.prefill.parallelism)
    return out
