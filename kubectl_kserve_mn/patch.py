"""What ``fix`` changes in one InferenceService: a minimal JSON merge patch, its explanation, and its undo.

Pure functions over the object as read from the API. The rules:
- the layout comes from the planner for the installed KServe era and the cluster's nodes; the user's
  total GPU count (TP x PP) is kept, and everything the user wrote that already works is kept
  ("prefer what the user specified": a value is never rewritten just because a formula gives another);
- v0.15.0 (and the v0.18.0+ ``mp`` backend) give every pod exactly TP GPUs whatever the resources say
  (SEMANTICS §3.2, §3.4), so only ``workerSpec.pipelineParallelSize``/``tensorParallelSize`` change;
  from v0.15.1 the Ray arithmetic reads the GPU *requests* (§3.3), so head and worker requests and
  limits are written explicitly;
- what makes any update be rejected is fixed in the same patch: the autoscaler class a multi-node ISVC
  must carry (§2.1 step 2f, PR #4363) and the PIPELINE_PARALLEL_SIZE / TENSOR_PARALLEL_SIZE env vars the
  webhook forbids in ``predictor.model.env`` (§2.1 step 2a/2b; their values move into workerSpec);
- the patch holds only the changed fields (a merge patch replaces whole lists, so a changed list is
  sent complete, as read, with only the owned fields changed) and ``metadata.resourceVersion``, so a
  concurrent change makes the API server answer 409;
- the previous values of exactly the changed fields go into the annotation ``kserve-mn/previous-layout``
  (JSON) so that ``fix --undo`` restores them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kubectl_kserve_mn import planner, snippet

# The editing machinery lives in edits.py; its names are part of fix's vocabulary.
from kubectl_kserve_mn.edits import (
    PREVIOUS_LAYOUT_ANNOTATION,
    Change,
    Editor,
    Named,
    Path,
    finish,
    get_at,
    previous_layout_value,
    set_at,
)
from kubectl_kserve_mn.inputs.k8s import Pod
from kubectl_kserve_mn.interconnect import CLIQUE_LABEL
from kubectl_kserve_mn.inventory import Inventory
from kubectl_kserve_mn.kserve.admission import (
    AUTOSCALER_CLASS_ANNOTATION,
    GPU_TYPES_ANNOTATION,
    PIPELINE_ENV,
    TENSOR_ENV,
    WORKER_CONTAINER,
    Admission,
    admit_inferenceservice,
    annotations_of,
    is_int,
    parse_gpu_types_annotation,
)
from kubectl_kserve_mn.kserve.controller import (
    ControllerLayout,
    compute_layout,
    global_gpu_types,
    is_mp_backend,
    quantity_value,
    requested_gpus,
)
from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.kserve.runtimes import (
    effective_parallelism,
    merged_head_container,
    merged_worker_container,
)
from kubectl_kserve_mn.planner import Layout, MemoryOptions, PlanRequest, place_pods

"""Where ``fix`` records the previous values of the fields it changed (JSON; read by ``fix --undo``)."""

_WORKER_SPEC = ("spec", "predictor", "workerSpec")
_MODEL = ("spec", "predictor", "model")


@dataclass(frozen=True)
class FixTarget:
    """What the user asked for with --tensor-parallel-size / --pipeline-parallel-size / --gpus."""

    tensor_parallel: int | None = None
    pipeline_parallel: int | None = None
    total_gpus: int | None = None
    allow_cross_node_tp: bool = False
    recreate: bool = False
    """--rollout=recreate: set ``spec.predictor.deploymentStrategy.type: Recreate`` in the same patch, so
    the old pods go before the new ones are created (no second set of GPUs, but downtime)."""
    recreate_alone: bool = False
    """Set Recreate even when nothing else changes (a rollout of an older generation is stuck): the
    strategy change alone rolls the pods."""

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.tensor_parallel, self.pipeline_parallel, self.total_gpus))


@dataclass(frozen=True)
class FixPlan:
    before: dict[str, Any]
    after: dict[str, Any]
    """The object as it will be after the patch (the merge patch applied locally, RFC 7386)."""
    changes: tuple[Change, ...] = ()
    patch: dict[str, Any] = field(default_factory=dict)
    """The JSON merge patch; empty when there is nothing to change."""
    layout: Layout | None = None
    """The planner's layout when the layout had to change, else None (the user's layout is kept)."""
    controller: ControllerLayout | None = None
    """What KServe's controller computes for ``after``."""
    admission: Admission | None = None
    """KServe's webhook on ``after``."""
    problem: str | None = None
    """Why nothing can be changed (no layout fits, not a multi-node predictor, ...)."""
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def explanations(self) -> list[str]:
        """One line per reason, in the order of the changes."""
        return list(dict.fromkeys(c.summary for c in self.changes))

    @property
    def previous_layout(self) -> str | None:
        return annotations_of(self.after).get(PREVIOUS_LAYOUT_ANNOTATION) if self.changed else None


# ---------------------------------------------------------------------------------------------
# Does a layout work?


def _gpus_counted(runtime: Mapping[str, Any] | None, era: Era) -> bool:
    """Whether KServe reads the GPU requests (v0.15.1+ Ray) or sets every pod to TP itself."""
    return not era.pod_gpus_are_tp and not is_mp_backend(runtime, era)


def _planning_era(runtime: Mapping[str, Any] | None, era: Era) -> Era:
    # The mp backend (v0.18.0+, computeMpNodeAndGPUs) gives PP pods of exactly TP GPUs, like v0.15.0.
    return replace(era, pod_gpus_are_tp=True) if is_mp_backend(runtime, era) else era


def _fit_problem(layout: ControllerLayout, inventory: Inventory) -> str | None:
    """None when every pod of ``layout`` fits, by capacity, on one pool of its GPU resource."""
    by_resource: dict[str, list[int]] = {}
    for resource, gpus in layout.pod_gpus():
        if gpus > 0:
            by_resource.setdefault(resource, []).append(gpus)
    for resource, pod_sizes in by_resource.items():
        pools = [p for p in inventory.pools_for(resource) if p.placeable]
        if not any(place_pods(pod_sizes, pool.nodes, use_free=False) is not None for pool in pools):
            largest = max((p.gpus_per_node for p in pools), default=0)
            sizes = "/".join(str(g) for g in sorted(set(pod_sizes), reverse=True))
            return (
                f"{len(pod_sizes)} pod(s) of {sizes} {resource} GPUs do not fit on the schedulable nodes "
                f"(largest: {largest} GPUs)"
                if pools
                else f"no schedulable node offers whole {resource} GPUs"
            )
    return None


@dataclass(frozen=True)
class _Context:
    runtime: Mapping[str, Any] | None
    era: Era
    inventory: Inventory
    custom_gpu_types: tuple[str, ...]
    request: PlanRequest

    @property
    def known(self) -> tuple[str, ...]:
        return tuple(global_gpu_types(self.custom_gpu_types))


def _problem(obj: Mapping[str, Any], ctx: _Context) -> str | None:
    """Why ``obj`` would not be admitted, computed or scheduled as written (None: it works)."""
    admission = admit_inferenceservice(obj, ctx.era, custom_gpu_types=ctx.custom_gpu_types)
    if not admission.allowed:
        return f"KServe {ctx.era.key}'s webhook rejects it: {admission.message}"
    layout = compute_layout(obj, ctx.runtime, ctx.era, custom_gpu_types=ctx.custom_gpu_types)
    if layout.error:
        return f"KServe's controller fails: {layout.error}"
    if _gpus_counted(ctx.runtime, ctx.era):
        types = list(ctx.known)
        if requested_gpus(merged_head_container(obj, ctx.runtime), types) == 0:
            return "the head has no GPU request, so KServe makes TP x PP single-GPU pods"
        worker = requested_gpus(merged_worker_container(obj, ctx.runtime), types)
        if layout.worker_replicas and worker == 0:
            return "the worker has no GPU request, so KServe gives each worker one GPU"
        if layout.allocated_gpus > layout.total_gpus:
            return (
                f"head and workers hold {layout.allocated_gpus} GPUs for TP x PP = {layout.total_gpus}: "
                f"{layout.allocated_gpus - layout.total_gpus} reserved and unused"
            )
    fit = _fit_problem(layout, ctx.inventory)
    if fit:
        return fit
    if ctx.request.model is not None:
        label = f"PP={layout.pipeline_parallel_size} x TP={layout.tensor_parallel_size}"
        result = planner.plan(
            ctx.inventory,
            _planning_era(ctx.runtime, ctx.era),
            replace(
                ctx.request,
                total_gpus=None,
                tensor_parallel=layout.tensor_parallel_size,
                pipeline_parallel=layout.pipeline_parallel_size,
            ),
        )
        layouts = ([result.recommendation] if result.recommendation else []) + list(result.alternatives)
        if not any(x.label == label for x in layouts):
            reasons = [r.reason for r in result.rejected if r.layout == label]
            return f"{label} does not suit the model: " + (reasons[0] if reasons else "no pool holds it")
    return None


# ---------------------------------------------------------------------------------------------
# The fix


def _env_value(entry: Mapping[str, Any]) -> int | None:
    try:
        value = int(str(entry.get("value", "")).strip())
    except ValueError:
        return None
    return value if value > 0 else None


def _gpu_request_of(container: Any, resource: str) -> int | None:
    """A container's GPU request; like every extended resource it defaults to the limit."""
    if not isinstance(container, dict) or not isinstance(container.get("resources"), dict):
        return None
    resources = container["resources"]
    for section in ("requests", "limits"):
        entries = resources.get(section)
        if isinstance(entries, dict) and resource in entries:
            return quantity_value(entries[resource]) or None
    return None


def _set_gpus(
    edit: Editor, container_path: Path, resource: str, gpus: int, summary: str, current: Any
) -> None:
    resources = current.get("resources") if isinstance(current, dict) else None
    for section in ("requests", "limits"):
        existing = get_at(resources, (section, resource)) if isinstance(resources, dict) else None
        if existing is not None and quantity_value(existing) == gpus:
            continue  # the user's own spelling of the same number stays
        edit.set((*container_path, "resources", section, resource), str(gpus), summary)


def _with_gpus(
    obj: dict[str, Any], resource: str, head: int, worker: int, worker_name: str
) -> dict[str, Any]:
    """A copy of ``obj`` with these GPU requests and limits (for trying combinations)."""
    trial = copy.deepcopy(obj)
    edit = Editor(trial)
    model = get_at(trial, _MODEL)
    _set_gpus(edit, _MODEL, resource, head, "", model)
    containers = get_at(trial, (*_WORKER_SPEC, "containers"))
    if isinstance(containers, list) and containers and isinstance(containers[0], dict):
        _set_gpus(edit, (*_WORKER_SPEC, "containers", 0), resource, worker, "", containers[0])
    else:
        block = snippet.gpu_resources_block(resource, worker)
        edit.set((*_WORKER_SPEC, "containers"), [{"name": worker_name, "resources": block}], "")
    return trial


def plan_fix(
    isvc: Mapping[str, Any],
    runtime: Mapping[str, Any] | None,
    era: Era,
    inventory: Inventory,
    *,
    target: FixTarget | None = None,
    custom_gpu_types: Sequence[str] = (),
    model: Any = None,
    memory: MemoryOptions | None = None,
) -> FixPlan:
    """The change that makes ``isvc`` admissible and schedulable on ``inventory`` under ``era``.

    ``runtime`` is the ServingRuntime/ClusterServingRuntime KServe selects (None: ISVC values only);
    ``custom_gpu_types``: the configmap's ``customGPUResourceTypeList``; ``model``: ModelFacts to gate
    layouts on. ``inventory`` should not count the GPUs held by this InferenceService's own pods.
    """
    target = target or FixTarget()
    before = copy.deepcopy(dict(isvc))
    same = FixPlan(before=before, after=copy.deepcopy(before))
    predictor = get_at(before, ("spec", "predictor"))
    if not isinstance(get_at(before, _WORKER_SPEC), dict):
        return replace(same, problem="it is not multi-node (no spec.predictor.workerSpec)")
    if not isinstance(get_at(before, _MODEL), dict):
        return replace(
            same,
            problem="the predictor does not use predictor.model, which KServe's multi-node reconciler needs "
            "(it reads the runtime's workerSpec through it)",
        )
    if not era.multinode:
        return replace(same, problem=f"KServe {era.key} has no multi-node support (workerSpec is inert)")
    del predictor
    custom = tuple(custom_gpu_types)
    known = tuple(global_gpu_types(custom))
    request = PlanRequest(
        allow_cross_node_tp=target.allow_cross_node_tp,
        known_gpu_resources=known,
        model=model,
        memory=memory or MemoryOptions(),
    )
    ctx = _Context(runtime, era, inventory, custom, request)
    work = copy.deepcopy(before)
    edit = Editor(work)

    # 1. What would make any update be rejected.
    moved: dict[str, int | None] = {}
    for env_name, field_name in ((PIPELINE_ENV, "pipelineParallelSize"), (TENSOR_ENV, "tensorParallelSize")):
        entry = get_at(work, (*_MODEL, "env", Named(env_name)))
        if not isinstance(entry, dict):
            continue
        moved[field_name] = _env_value(entry)
        shown = entry.get("value", "(valueFrom)")
        edit.set(
            (*_MODEL, "env", Named(env_name)),
            None,
            f"remove {env_name}={shown} from predictor.model.env: KServe's webhook forbids it on multi-node "
            f"InferenceServices; the value goes to workerSpec.{field_name}",
        )
    autoscaler = annotations_of(work).get(AUTOSCALER_CLASS_ANNOTATION)
    if autoscaler != era.required_autoscaler_class:
        was = f"'{autoscaler}'" if autoscaler is not None else "unset"
        edit.set(
            ("metadata", "annotations", AUTOSCALER_CLASS_ANNOTATION),
            era.required_autoscaler_class,
            f"annotation {AUTOSCALER_CLASS_ANNOTATION}: {was} -> '{era.required_autoscaler_class}': KServe "
            f"{era.key} admits multi-node InferenceServices only with this class",
        )

    # 2. The wish: flags, else the ISVC's own values, else values moved from the env, else the runtime's.
    worker_spec = get_at(work, _WORKER_SPEC)
    explicit: dict[str, int | None] = {}
    for field_name in ("pipelineParallelSize", "tensorParallelSize"):
        value = worker_spec.get(field_name)
        explicit[field_name] = value if is_int(value) else None
    eff_pp, eff_tp = effective_parallelism(work, runtime, era)
    effective = {"pipelineParallelSize": eff_pp, "tensorParallelSize": eff_tp}
    own: dict[str, int] = {}
    for field_name, eff in effective.items():
        written = explicit[field_name] if explicit[field_name] is not None else moved.get(field_name)
        own[field_name] = written if written is not None else eff
    own_pp, own_tp = own["pipelineParallelSize"], own["tensorParallelSize"]
    if target.tensor_parallel is not None:
        wish_pp: int | None = target.pipeline_parallel or 1
        wish_tp: int | None = target.tensor_parallel
    elif target.total_gpus is not None:
        wish_pp = wish_tp = None
    else:
        wish_pp, wish_tp = own_pp, own_tp
    keep_possible = (wish_pp, wish_tp) == (own_pp, own_tp) or (
        wish_tp is None and target.total_gpus == own_pp * own_tp
    )

    def sizes_edits(obj_edit: Editor, pp: int, tp: int, summary: str) -> None:
        for field_name, value in (("pipelineParallelSize", pp), ("tensorParallelSize", tp)):
            if explicit[field_name] == value:
                continue
            if effective[field_name] != value or field_name in moved:
                obj_edit.set((*_WORKER_SPEC, field_name), value, summary)

    # 3. Keep the user's layout when it works as written.
    as_written = copy.deepcopy(work)
    sizes_edits(Editor(as_written), own_pp, own_tp, "")
    why_not = _problem(as_written, ctx)
    layout: Layout | None = None
    notes: list[str] = []
    if keep_possible and why_not is None:
        sizes_edits(
            edit,
            own_pp,
            own_tp,
            f"workerSpec: PP={own_pp} x TP={own_tp} set explicitly (moved from the forbidden env vars)",
        )
    else:
        # 4. Plan: keep the total GPU count unless it cannot fit.
        if wish_tp is not None:
            plan_request = replace(request, tensor_parallel=wish_tp, pipeline_parallel=wish_pp)
        else:
            plan_request = replace(request, total_gpus=target.total_gpus)
        plan_era = _planning_era(runtime, era)
        result = planner.plan(inventory, plan_era, plan_request)
        if not result.feasible and model is not None and not target.given:
            sized = planner.plan(inventory, plan_era, request)
            if sized.feasible:
                notes.append(
                    f"TP x PP = {own_pp * own_tp} GPUs cannot fit, so the layout is sized for the model instead"
                )
                result = sized
        if result.recommendation is None:
            return replace(same, problem=_no_layout_text(result, wish_pp, wish_tp, target))
        layout = result.recommendation
        why = next((w for w in result.warnings if w.startswith("the requested")), None)
        if why is None:
            why = why_not or "requested with the flags"
        why = why.split(": ", 1)[1] if why.startswith("the requested") and ": " in why else why
        summary = (
            f"workerSpec: PP={own_pp} x TP={own_tp} -> {layout.label} ({layout.total_gpus} GPUs); "
            f"PP={own_pp} x TP={own_tp} is not kept because {why}"
            if (own_pp, own_tp) != (layout.pipeline_parallel_size, layout.tensor_parallel_size)
            else f"workerSpec: {layout.label} set explicitly"
        )
        sizes_edits(edit, layout.pipeline_parallel_size, layout.tensor_parallel_size, summary)
        if _gpus_counted(runtime, era):
            _gpu_edits(edit, ctx, layout, runtime)
        if layout.cross_node_tp and layout.nvlink_clique is not None:
            _clique_edits(edit, layout.nvlink_clique)
    if _gpus_counted(runtime, era) and layout is not None:
        _gpu_type_annotation(edit, layout.gpu_resource, known)
    if target.recreate and (edit.changes or target.recreate_alone):
        _recreate_strategy(edit)

    if not edit.changes:
        return replace(
            same,
            controller=compute_layout(before, runtime, era, custom_gpu_types=custom),
            admission=admit_inferenceservice(before, era, custom_gpu_types=custom),
            notes=tuple(notes),
        )
    record = previous_layout_value(edit.changes)
    set_at(work, ("metadata", "annotations", PREVIOUS_LAYOUT_ANNOTATION), record)
    patch, after = finish(before, work)
    admission = admit_inferenceservice(after, era, custom_gpu_types=custom)
    controller = compute_layout(after, runtime, era, custom_gpu_types=custom)
    remaining = _problem(after, ctx)
    if remaining and admission.allowed:
        notes.append(f"after this change: {remaining}")
    return FixPlan(
        before=before,
        after=after,
        changes=tuple(edit.changes),
        patch=patch,
        layout=layout,
        controller=controller,
        admission=admission,
        notes=tuple(notes),
    )


def _gpu_edits(edit: Editor, ctx: _Context, layout: Layout, runtime: Mapping[str, Any] | None) -> None:
    """Head and worker GPUs for ``layout``; a value the user set is kept when the result still works."""
    resource = layout.gpu_resource
    work = edit.obj
    # KServe merges the ISVC's workerSpec.containers[0] over the runtime container that must be named
    # worker-container (constants.WorkerContainerName, SEMANTICS §3.1); a new container takes that name.
    worker_name = WORKER_CONTAINER
    containers = get_at(work, (*_WORKER_SPEC, "containers"))
    first = containers[0] if isinstance(containers, list) and containers else None
    user_head = _gpu_request_of(get_at(work, _MODEL), resource)
    user_worker = _gpu_request_of(first, resource)
    options: list[tuple[int, int]] = []
    for head, worker in (
        (user_head, user_worker),
        (user_head, layout.worker_gpus),
        (layout.head_gpus, user_worker),
        (layout.head_gpus, layout.worker_gpus),
    ):
        if head is not None and worker is not None and (head, worker) not in options:
            options.append((head, worker))
    chosen = options[-1]
    for head, worker in options:
        if _problem(_with_gpus(work, resource, head, worker, worker_name), ctx) is None:
            chosen = head, worker
            break
    head, worker = chosen
    trial = compute_layout(
        _with_gpus(work, resource, head, worker, worker_name),
        runtime,
        ctx.era,
        custom_gpu_types=ctx.custom_gpu_types,
    )
    pods = (
        f"{trial.node_count} pod(s): head {trial.head.gpus} + {trial.worker_replicas} x {trial.worker.gpus}"
        if trial.worker_replicas
        else f"1 pod of {trial.head.gpus}"
    )
    rule = (
        f"KServe {ctx.era.key} sizes pods from GPU requests (RAY_NODE_COUNT = ceil(TP x PP / worker GPUs)); "
        f"RAY_NODE_COUNT={trial.node_count}, {pods} GPUs"
    )
    head_now = get_at(work, _MODEL)
    old_head = _gpu_request_of(head_now, resource)
    _set_gpus(
        edit,
        _MODEL,
        resource,
        head,
        f"head GPUs (predictor.model.resources) {old_head or 'unset'} -> {head} {resource}: {rule}",
        head_now,
    )
    worker_summary = (
        f"worker GPUs (workerSpec.containers[0]) {user_worker or 'unset'} -> {worker} {resource}: {rule}"
    )
    if isinstance(first, dict):
        _set_gpus(edit, (*_WORKER_SPEC, "containers", 0), resource, worker, worker_summary, first)
    else:
        block = snippet.gpu_resources_block(resource, worker)
        edit.set(
            (*_WORKER_SPEC, "containers"),
            [{"name": worker_name, "resources": block}],
            worker_summary.replace("(workerSpec.containers[0])", f"(new workerSpec container {worker_name})"),
        )


def _clique_edits(edit: Editor, clique: str) -> None:
    """Tensor parallelism across pods is planned inside one NVLink clique: pin head and workers there."""
    summary = (
        f"nodeSelector {CLIQUE_LABEL}: {clique} on the head and the workers: their tensor parallelism spans "
        "pods, which is NVLink-fast only inside one clique (the pods also need IMEX channel access)"
    )
    edit.set(("spec", "predictor", "nodeSelector", CLIQUE_LABEL), clique, summary)
    edit.set((*_WORKER_SPEC, "nodeSelector", CLIQUE_LABEL), clique, summary)


def _gpu_type_annotation(edit: Editor, resource: str, known: Sequence[str]) -> None:
    """The webhook rejects GPU resources it does not know unless the ISVC annotation lists them (§3.5)."""
    if resource in known:
        return
    current = annotations_of(edit.obj).get(GPU_TYPES_ANNOTATION, "")
    listed = parse_gpu_types_annotation(current) or [] if current else []
    if resource in listed:
        return
    edit.set(
        ("metadata", "annotations", GPU_TYPES_ANNOTATION),
        json.dumps([*listed, resource]),
        f"annotation {GPU_TYPES_ANNOTATION} lists {resource}: KServe's webhook rejects GPU resources it does "
        "not know without it",
    )


_STRATEGY = ("spec", "predictor", "deploymentStrategy")


def _recreate_strategy(edit: Editor) -> None:
    """``deploymentStrategy.type: Recreate``, which KServe copies to the head and worker Deployments
    (``deployment_reconciler.go``, v0.15.1 to v0.20.0); a ``rollingUpdate`` block goes with it, because a
    Deployment may not have one with Recreate."""
    current = get_at(edit.obj, _STRATEGY)
    was = current.get("type") if isinstance(current, dict) and current.get("type") else None
    summary = (
        f"deploymentStrategy: {was or 'RollingUpdate (KServe default)'} -> Recreate (--rollout=recreate): the "
        "old pods are deleted before the new ones are created, so the rollout needs no GPUs beyond those the "
        "InferenceService holds; the model is down until the new pods are Ready, and later changes roll the "
        "same way until `fix --undo` or the strategy is changed back"
    )
    edit.set((*_STRATEGY, "type"), "Recreate", summary)
    if isinstance(current, dict) and "rollingUpdate" in current:
        edit.set((*_STRATEGY, "rollingUpdate"), None, summary)


def _no_layout_text(result: planner.PlanResult, pp: int | None, tp: int | None, target: FixTarget) -> str:
    # No TP wish means `--gpus N` (N >= 1, checked by the flag): N is the total asked for.
    total = tp * (pp or 1) if tp is not None else target.total_gpus
    wish = f"PP={pp} x TP={tp} ({total} GPUs)" if tp is not None else f"{total} GPUs"
    reasons = list(dict.fromkeys(f"{r.layout} on {r.pool}: {r.reason}" for r in result.rejected))
    text = f"no layout of {wish} fits this cluster under KServe {result.era.key} rules"
    if reasons:
        text += " (" + "; ".join(reasons[:4]) + ("; ..." if len(reasons) > 4 else "") + ")"
    elif result.warnings:
        text += " (" + "; ".join(result.warnings) + ")"
    return text + "; ask for another size with --gpus / --tensor-parallel-size, or give --model"


def own_gpu_resource(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, custom_gpu_types: Sequence[str] = ()
) -> str | None:
    """The GPU resource the InferenceService (or its runtime) already names with a non-zero count, if
    any: ``fix`` plans on nodes of that resource only, so it never switches the user's GPU type."""
    from kubectl_kserve_mn.inventory import is_gpu_resource

    known = global_gpu_types(custom_gpu_types)
    for container in (merged_head_container(isvc, runtime), merged_worker_container(isvc, runtime)):
        resources = container.get("resources") if isinstance(container.get("resources"), dict) else {}
        assert isinstance(resources, dict)
        for section in ("requests", "limits"):
            entries = resources.get(section)
            if not isinstance(entries, dict):
                continue
            for name, quantity in entries.items():
                if (name in known or is_gpu_resource(str(name))) and quantity_value(quantity) > 0:
                    return str(name)
    return None


def without_own_pods(pods: Sequence[Pod], name: str, namespace: str) -> list[Pod]:
    """``pods`` minus this InferenceService's own pods, whose GPUs the fix frees when it rolls them."""
    return [
        pod
        for pod in pods
        if not (pod.labels.get("serving.kserve.io/inferenceservice") == name and pod.namespace == namespace)
    ]
