"""The planner: the best pipeline x tensor parallel layout for a pool of GPU nodes, for one KServe era.

Policy (vLLM's guidance, docs/serving/parallelism_scaling.md: TP = GPUs per pod, PP = pods):
- tensor parallelism stays inside a pod and a pod stays on one node; one pool only, never mixed GPUs;
- fewest pods first; the user's wish wins when it works ("prefer what the user specified");
- v0.15.0: PP >= 2 and every pod gets exactly TP GPUs (KServe overwrites GPU requests);
- v0.15.1+: head and worker GPU requests are always set explicitly, never left to KServe's
  one-GPU-per-pod default; TP across pods (Ray) is listed, and recommended only when asked for or
  when its pods fit inside one NVLink clique (``nvidia.com/gpu.clique``, GB200 NVL72 and the like):
  there the clique, not the node, is the NVLink domain, so TP may span its pods and fewer pipeline
  stages are preferred (interconnect.py says where each signal comes from);
- a layout that fits the nodes' capacity but not the GPUs free right now says so.
Pure functions: the inputs are an :class:`~kubectl_kserve_mn.inventory.Inventory`, an
:class:`~kubectl_kserve_mn.kserve.eras.Era` and optional model facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.interconnect import layout_notes
from kubectl_kserve_mn.inventory import KSERVE_GPU_RESOURCES, Inventory, Pool
from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.placement import Placement, place_layout, place_pods

if TYPE_CHECKING:
    from kubectl_kserve_mn.model import MemoryEstimate, ModelFacts

__all__ = [
    "Layout",
    "MemoryOptions",
    "Placement",
    "PlanRequest",
    "PlanResult",
    "Rejection",
    "place_pods",
    "plan",
]

GPU_RESOURCE_TYPES_ANNOTATION = "serving.kserve.io/gpu-resource-types"


@dataclass(frozen=True)
class MemoryOptions:
    """How to size memory when a model is given."""

    gpu_memory_bytes: int | None = None
    """--gpu-memory: used when node labels do not say."""
    utilization: float = 0.9
    max_model_len: int | None = None


@dataclass(frozen=True)
class PlanRequest:
    total_gpus: int | None = None
    tensor_parallel: int | None = None
    pipeline_parallel: int | None = None
    allow_cross_node_tp: bool = False
    known_gpu_resources: tuple[str, ...] = KSERVE_GPU_RESOURCES
    """KServe's list plus the cluster's ``customGPUResourceTypeList``: the names the controller counts."""
    model: ModelFacts | None = None
    memory: MemoryOptions = field(default_factory=MemoryOptions)

    @property
    def wish(self) -> tuple[int, int] | None:
        """(PP, TP) the user asked for, if any."""
        if self.tensor_parallel is None:
            return None
        return (self.pipeline_parallel or 1, self.tensor_parallel)

    @property
    def wanted_total(self) -> int | None:
        if self.total_gpus is not None:
            return self.total_gpus
        if self.tensor_parallel is not None:
            return self.tensor_parallel * (self.pipeline_parallel or 1)
        return None


@dataclass(frozen=True)
class Layout:
    pool: str
    gpu_resource: str
    pipeline_parallel_size: int
    tensor_parallel_size: int
    head_gpus: int
    worker_gpus: int
    worker_replicas: int
    placement: tuple[Placement, ...] = ()
    """Where the pods go: on today's free GPUs when they fit, else on the nodes' capacity."""
    fits_now: bool = False
    fits_capacity: bool = False
    cross_node_tp: bool = False
    matches_wish: bool = False
    notes: tuple[str, ...] = ()
    memory: MemoryEstimate | None = None
    nvlink_clique: str | None = None
    """The NVLink clique holding every pod (None: the pods span cliques, or the nodes have none)."""
    interconnect: tuple[str, ...] = ()
    """What carries the layout's traffic between pods: NVLink clique, RDMA, TCP (interconnect.py)."""

    @property
    def total_gpus(self) -> int:
        return self.pipeline_parallel_size * self.tensor_parallel_size

    @property
    def node_count(self) -> int:
        """KServe's RAY_NODE_COUNT: the head plus the workers (one pod each)."""
        return 1 + self.worker_replicas

    @property
    def pod_gpus(self) -> list[int]:
        return [self.head_gpus] + [self.worker_gpus] * self.worker_replicas

    @property
    def hosts(self) -> int:
        return len({p.node for p in self.placement}) if self.placement else self.node_count

    @property
    def label(self) -> str:
        return f"PP={self.pipeline_parallel_size} x TP={self.tensor_parallel_size}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "pool": self.pool,
            "gpuResource": self.gpu_resource,
            "pipelineParallelSize": self.pipeline_parallel_size,
            "tensorParallelSize": self.tensor_parallel_size,
            "totalGpus": self.total_gpus,
            "nodeCount": self.node_count,
            "head": {"gpus": self.head_gpus},
            "worker": {"gpus": self.worker_gpus, "replicas": self.worker_replicas},
            "placement": [p.to_json() for p in self.placement],
            "fitsNow": self.fits_now,
            "fitsCapacity": self.fits_capacity,
            "crossNodeTensorParallel": self.cross_node_tp,
            "matchesRequest": self.matches_wish,
            "notes": list(self.notes),
            "nvlinkClique": self.nvlink_clique,
            "interconnect": list(self.interconnect),
        }
        if self.memory is not None:
            data["memory"] = self.memory.to_json()
        return data


@dataclass(frozen=True)
class Rejection:
    layout: str
    pool: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"layout": self.layout, "pool": self.pool, "reason": self.reason}


@dataclass(frozen=True)
class PlanResult:
    era: Era
    gpu_resource: str | None
    pools: tuple[Pool, ...]
    recommendation: Layout | None
    alternatives: tuple[Layout, ...]
    rejected: tuple[Rejection, ...]
    warnings: tuple[str, ...] = ()

    @property
    def feasible(self) -> bool:
        return self.recommendation is not None


# ---------------------------------------------------------------------------------------------
# Placement (the rules are in placement.py)


def _placed(layout: Layout, pool: Pool) -> Layout:
    where = place_layout(layout.pod_gpus, pool.nodes, one_clique=layout.cross_node_tp)
    return replace(
        layout,
        placement=where.placement,
        fits_now=where.fits_now,
        fits_capacity=where.fits_capacity,
        nvlink_clique=where.clique,
    )


def _interconnect(layout: Layout, pool: Pool) -> tuple[str, ...]:
    by_name = {n.name: n for n in pool.nodes}
    return layout_notes(
        cross_node_tp=layout.cross_node_tp,
        pods=layout.node_count,
        tensor_parallel=layout.tensor_parallel_size,
        placed=[by_name[p.node] for p in layout.placement],
        pool=pool.nodes,
        clique=layout.nvlink_clique,
        link=pool.interconnect.gpu_link,
        product=pool.product,
    )


# ---------------------------------------------------------------------------------------------
# Candidate layouts


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _pod_layout(pool: Pool, era: Era, pp: int, tp: int) -> Layout:
    """One pod per pipeline stage, TP GPUs each (the same on every era)."""
    return Layout(
        pool=pool.name,
        gpu_resource=pool.gpu_resource,
        pipeline_parallel_size=pp,
        tensor_parallel_size=tp,
        head_gpus=tp,
        worker_gpus=tp,
        worker_replicas=pp - 1,
    )


def _cross_node_layout(pool: Pool, pp: int, tp: int) -> Layout:
    """TP spread over pods of a full node each (v0.15.1+ Ray): N = ceil(T/W), H = T - W(N-1)."""
    total = pp * tp
    per_pod = pool.gpus_per_node
    pods = -(-total // per_pod)
    head = total - per_pod * (pods - 1)
    return Layout(
        pool=pool.name,
        gpu_resource=pool.gpu_resource,
        pipeline_parallel_size=pp,
        tensor_parallel_size=tp,
        head_gpus=head,
        worker_gpus=per_pod,
        worker_replicas=pods - 1,
        cross_node_tp=True,
    )


def _notes(layout: Layout, pool: Pool, request: PlanRequest) -> tuple[str, ...]:
    notes = list(layout.notes)
    if layout.total_gpus == 1:
        notes.append("one pod of one GPU: a single-node InferenceService (no workerSpec) is enough, as below")
    elif layout.node_count == 1:
        notes.append(
            "one pod holds the whole model: a single-node InferenceService (no workerSpec) would do as well"
        )
    if layout.fits_capacity and not layout.fits_now:
        notes.append(
            f"fits the nodes' capacity but not the GPUs free right now ({pool.free_gpus} free in pool "
            f"{pool.name}): pods stay Pending until GPUs are released"
        )
    if pool.gpu_resource not in request.known_gpu_resources:
        notes.append(
            f"KServe does not count {pool.gpu_resource} GPUs: add it to customGPUResourceTypeList "
            "(inferenceservice-config, key multiNode) or the controller makes TP x PP single-GPU pods; "
            f"the webhook also needs the {GPU_RESOURCE_TYPES_ANNOTATION} annotation"
        )
    used = {p.node for p in layout.placement}
    taints = sorted({t for n in pool.nodes if n.name in used for t in n.hard_taints})
    if taints:
        notes.append("pods need tolerations for node taints: " + ", ".join(taints))
    return tuple(notes)


def _model_gate(layout: Layout, pool: Pool, request: PlanRequest) -> tuple[Layout | None, str | None]:
    """Apply the model's vLLM rules and memory estimate; (layout with memory, None) or (None, reason)."""
    model = request.model
    if model is None:
        return layout, None
    from kubectl_kserve_mn.model import estimate_memory, layout_violations, memory_violations

    tp, pp = layout.tensor_parallel_size, layout.pipeline_parallel_size
    violations = layout_violations(model, tp, pp)
    refused = [v for v in violations if v.severity == "error"]
    if refused:
        return None, refused[0].message
    cautions = tuple(v.message for v in violations if v.severity != "error")
    layout = replace(layout, notes=layout.notes + cautions)
    # An explicit --gpu-memory wins over the nodes' labels: the user knows something the labels do not.
    memory_bytes = request.memory.gpu_memory_bytes or (pool.memory_mib * 2**20 if pool.memory_mib else None)
    if memory_bytes is None:
        return layout, None
    estimate = estimate_memory(
        model,
        tp,
        pp,
        memory_bytes,
        utilization=request.memory.utilization,
        max_model_len=request.memory.max_model_len,
        gpu_product=pool.product,
    )
    problems = memory_violations(estimate)
    errors = [v for v in problems if v.severity == "error"]
    if errors:
        return None, errors[0].message
    warnings = tuple(v.message for v in problems if v.severity != "error")
    return replace(layout, memory=estimate, notes=layout.notes + warnings), None


def _candidates_for_total(
    pool: Pool, era: Era, request: PlanRequest, total: int
) -> tuple[list[Layout], list[Rejection]]:
    layouts: list[Layout] = []
    rejected: list[Rejection] = []
    per_node = pool.gpus_per_node
    for tp in sorted(_divisors(total), reverse=True):
        pp = total // tp
        label = f"PP={pp} x TP={tp}"
        if pp < era.min_pipeline_parallel:
            rejected.append(
                Rejection(
                    label,
                    pool.name,
                    f"KServe {era.key} requires pipelineParallelSize >= {era.min_pipeline_parallel}",
                )
            )
            continue
        if tp <= per_node:
            layouts.append(_pod_layout(pool, era, pp, tp))
        elif era.pod_gpus_are_tp:
            rejected.append(
                Rejection(
                    label,
                    pool.name,
                    f"KServe {era.key} gives every pod TP={tp} GPUs; nodes in {pool.name} have {per_node}",
                )
            )
        elif era.cross_node_tensor_parallel:
            layouts.append(_cross_node_layout(pool, pp, tp))
    return layouts, rejected


def _rank_key(
    layout: Layout, request: PlanRequest, clique_pools: frozenset[str] = frozenset()
) -> tuple[Any, ...]:
    """Sort key, best first. ``clique_pools``: the pools whose nodes carry NVLink cliques."""
    # Tensor parallelism across pods is penalised unless its pods sit in one NVLink clique (or the user
    # vouches for the interconnect with --allow-cross-node-tp).
    cross_penalty = (
        0 if request.allow_cross_node_tp else int(layout.cross_node_tp and layout.nvlink_clique is None)
    )
    in_cliques = layout.pool in clique_pools
    kv = -(layout.memory.kv_cache_tokens if layout.memory is not None else 0)
    # A layout vLLM may refuse ("tight": within the estimate's uncertainty) comes after every one that fits.
    tight = layout.memory is not None and not layout.memory.fits
    if request.model is not None and request.wanted_total is None:
        # Model-driven sizing: fewest nodes, then pods, then GPUs, then (in an NVLink clique) fewer
        # pipeline stages, then the larger KV cache.
        return (
            not layout.fits_now,
            tight,
            cross_penalty,
            layout.hosts,
            layout.node_count,
            layout.total_gpus,
            layout.pipeline_parallel_size if in_cliques else 0,
            kv,
        )
    # Cross-node TP comes after the wish: TP=16 on 8-GPU nodes is corrected to PP=2 x TP=8 unless
    # --allow-cross-node-tp says the interconnect is good enough, or one NVLink clique holds the pods.
    return (
        not layout.fits_now,
        tight,
        cross_penalty,
        not layout.matches_wish,
        layout.node_count,
        layout.hosts,
        layout.pipeline_parallel_size if request.allow_cross_node_tp or in_cliques else 0,
        kv,
    )


def _max_total(pool: Pool) -> int:
    return pool.gpus_per_node * len(pool.nodes)


def _model_totals(pool: Pool, era: Era, request: PlanRequest) -> tuple[list[int], list[Rejection]]:
    """Without --gpus: for each TP, the smallest PP that passes the model rules (more stages only
    add pods), bounded by the pool's capacity; and, per TP, why the layout just below it fails."""
    model = request.model
    assert model is not None
    totals: set[int] = set()
    rejected: list[Rejection] = []
    tps = list(range(1, pool.gpus_per_node + 1))
    if era.cross_node_tensor_parallel:
        # TP across pods: over the whole pool when asked for, else as far as one NVLink clique reaches.
        cliques = pool.interconnect.cliques
        reach = (
            len(pool.nodes)
            if request.allow_cross_node_tp
            else max((len(c.nodes) for c in cliques), default=1)
        )
        tps += [pool.gpus_per_node * k for k in range(2, reach + 1)]
    from kubectl_kserve_mn.model import layout_violations

    for tp in tps:
        # Rules on TP alone (heads, KV heads, shard alignment) fail for every PP: say it once.
        tp_errors = [v for v in layout_violations(model, tp, 1) if v.severity == "error"]
        if tp_errors:
            rejected.append(Rejection(f"TP={tp}", pool.name, tp_errors[0].message))
            continue
        max_pp = min(model.num_layers, max(1, _max_total(pool) // tp))
        last_failure: Rejection | None = None
        for pp in range(era.min_pipeline_parallel, max_pp + 1):
            layout = _pod_layout(pool, era, pp, tp)
            gated, reason = _model_gate(layout, pool, request)
            if gated is not None:
                totals.add(pp * tp)
                break
            last_failure = Rejection(layout.label, pool.name, reason or "rejected by the model rules")
        else:
            if last_failure is not None:
                last_failure = replace(
                    last_failure, reason=f"{last_failure.reason} (and no PP up to {max_pp} fits this pool)"
                )
        if last_failure is not None:
            rejected.append(last_failure)
    return sorted(totals), rejected


def plan(inventory: Inventory, era: Era, request: PlanRequest) -> PlanResult:
    """The recommended layout, ranked alternatives and the rejected ones with reasons."""
    if not era.multinode:
        raise InputError(f"KServe {era.key} has no multi-node support (workerSpec is inert before v0.15.0)")
    total = request.wanted_total
    if total is None and request.model is None:
        raise InputError("say what to plan: --gpus N, --tensor-parallel-size N, --isvc NAME or --model M")
    if total is not None and total < 1:
        raise InputError("the total number of GPUs must be at least 1")
    warnings: list[str] = []
    layouts: list[Layout] = []
    rejected: list[Rejection] = []
    pools = inventory.pools
    if not pools:
        warnings.append("no GPU nodes found (no node advertises a GPU resource)")
    for pool in pools:
        if (
            request.model is not None
            and pool.placeable
            and not pool.memory_mib
            and not request.memory.gpu_memory_bytes
        ):
            warnings.append(
                f"GPU memory of pool {pool.name} is unknown (no nvidia.com/gpu.memory or amd.com/gpu.vram label): "
                "memory was not checked; pass --gpu-memory"
            )
        if not pool.placeable:
            why = (
                "time-sliced/shared GPUs are not separate tensor-parallel ranks"
                if pool.shared
                else "MIG slices are not whole GPUs"
                if pool.mig
                else "no schedulable node (NotReady or cordoned)"
            )
            rejected.append(Rejection("any", pool.name, why))
            continue
        if total is not None:
            totals = [total]
        else:
            totals, refused_sizes = _model_totals(pool, era, request)
            rejected.extend(refused_sizes)
        if total is None and not totals:
            rejected.append(Rejection("any", pool.name, "no layout within the pool passes the model's rules"))
        for size in totals:
            if size > _max_total(pool):
                # Nothing of this size fits the pool; enumerating divisors of a huge total would not end.
                rejected.append(
                    Rejection(
                        f"{size} GPUs",
                        pool.name,
                        f"the pool has {_max_total(pool)} GPUs ({len(pool.nodes)} schedulable node(s) x "
                        f"{pool.gpus_per_node})",
                    )
                )
                continue
            candidates, refused = _candidates_for_total(pool, era, request, size)
            rejected.extend(refused)
            for candidate in candidates:
                gated, reason = _model_gate(candidate, pool, request)
                if gated is None:
                    rejected.append(
                        Rejection(candidate.label, pool.name, reason or "rejected by the model rules")
                    )
                    continue
                placed = _placed(gated, pool)
                if not placed.fits_capacity:
                    rejected.append(
                        Rejection(
                            placed.label,
                            pool.name,
                            f"{placed.node_count} pods of {_pods_text(placed)} GPUs do not fit on "
                            f"{len(pool.nodes)} schedulable node(s) of {pool.gpus_per_node} GPUs",
                        )
                    )
                    continue
                wish = request.wish
                matches = wish is not None and wish == (
                    placed.pipeline_parallel_size,
                    placed.tensor_parallel_size,
                )
                placed = replace(placed, matches_wish=matches)
                layouts.append(
                    replace(
                        placed, notes=_notes(placed, pool, request), interconnect=_interconnect(placed, pool)
                    )
                )
    clique_pools = frozenset(p.name for p in pools if p.placeable and p.interconnect.cliques)
    layouts.sort(key=lambda layout: _rank_key(layout, request, clique_pools))
    rejected = _tidy_rejections(rejected)
    recommendation = layouts[0] if layouts else None
    if recommendation is not None and not recommendation.fits_now:
        warnings.append(
            f"no layout fits the GPUs free right now; {recommendation.label} fits the nodes' capacity "
            "and will schedule once GPUs are released"
        )
    wish = request.wish
    if recommendation is not None and wish is not None and not recommendation.matches_wish:
        warnings.append(
            f"the requested PP={wish[0]} x TP={wish[1]} was changed to {recommendation.label}: "
            + _why_not_wish(wish, recommendation, rejected, layouts, clique_pools)
        )
    if recommendation is not None and recommendation.fits_now:
        better = [
            x
            for x in layouts
            if not x.fits_now
            and _rank_key(replace(x, fits_now=True), request, clique_pools)
            < _rank_key(recommendation, request, clique_pools)
        ]
        if better:
            best = min(better, key=lambda x: _rank_key(replace(x, fits_now=True), request, clique_pools))
            warnings.append(
                f"{best.label} on {best.pool} ({best.node_count} pods) would be preferred but fits only the "
                f"nodes' capacity, not the GPUs free right now; {recommendation.label} fits now"
            )
    gpu_resource = recommendation.gpu_resource if recommendation else _single_resource(inventory)
    return PlanResult(
        era=era,
        gpu_resource=gpu_resource,
        pools=pools,
        recommendation=recommendation,
        alternatives=tuple(layouts[1:]),
        rejected=tuple(rejected),
        warnings=tuple(warnings),
    )


def _tidy_rejections(rejected: Sequence[Rejection]) -> list[Rejection]:
    """One line per layout and pool; none for a PP x TP whose TP is already refused for every PP."""
    refused_tps = {(r.pool, r.layout) for r in rejected if r.layout.startswith("TP=")}
    unique = list({(r.layout, r.pool): r for r in reversed(rejected)}.values())[::-1]
    return [
        r
        for r in unique
        if not (" x TP=" in r.layout and (r.pool, "TP=" + r.layout.split(" x TP=")[1]) in refused_tps)
    ]


def _pods_text(layout: Layout) -> str:
    sizes = sorted(set(layout.pod_gpus), reverse=True)
    return "/".join(str(s) for s in sizes)


def _why_not_wish(
    wish: tuple[int, int],
    recommendation: Layout,
    rejected: Sequence[Rejection],
    layouts: Sequence[Layout],
    clique_pools: frozenset[str] = frozenset(),
) -> str:
    """Why the user's PP x TP is not the recommendation, preferring the reason in the chosen pool."""
    label = f"PP={wish[0]} x TP={wish[1]}"
    same_pool = [x for x in layouts if x.label == label and x.pool == recommendation.pool]
    for layout in same_pool:
        if layout.cross_node_tp and layout.nvlink_clique is None:
            where = " and no NVLink clique holds them all" if layout.pool in clique_pools else ""
            return (
                f"it spreads tensor parallelism across pods{where} (use --allow-cross-node-tp to prefer it)"
            )
        if not layout.fits_now:
            return "it does not fit the GPUs free right now"
    for rejection in sorted(rejected, key=lambda r: r.pool != recommendation.pool):
        if rejection.layout == label:
            return rejection.reason
    return "it does not fit the nodes"


def _single_resource(inventory: Inventory) -> str | None:
    resources = inventory.resources()
    return resources[0] if len(resources) == 1 else None
