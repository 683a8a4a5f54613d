"""``plan --kind llmisvc``: the ``parallelism`` block and GPU requests of an LLMInferenceService that KServe
(v0.16..v0.20) and vLLM will run on a pool of GPU nodes. Pure functions over an
:class:`~kubectl_kserve_mn.inventory.Inventory` and an :class:`~kubectl_kserve_mn.kserve.eras.Era`.

The shapes KServe's presets can run (SEMANTICS §4, vLLM's data-parallel deployment docs):
- one pod (no ``worker``): vLLM with ``--tensor-parallel-size T`` on T GPUs; KServe renders ``tensor`` on
  a single node only from v0.20.0 (kserve#5773), so older releases need the flag passed by hand;
- a LeaderWorkerSet (``worker`` + ``data``/``dataLocal``): ``data / dataLocal`` pods, each running
  ``dataLocal`` data-parallel ranks of ``tensor`` GPUs, so every pod requests ``dataLocal x tensor`` GPUs and
  the tensor-parallel group stays inside a pod (the LWS size ignores tensor, kserve#4946);
- pipeline parallelism across pods needs the ``kserve-config-llm-worker-pipeline-parallel`` preset, which no
  release ships (kserve#5047): it is listed as rejected, never recommended.
Each data-parallel rank holds a whole copy of a dense model: the model rules and the memory estimate apply
at TP=tensor, PP=1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inventory import KSERVE_GPU_RESOURCES, Inventory, Pool
from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.kserve.llmisvc.layout import TENSOR_FLAG, preset_args_channel
from kubectl_kserve_mn.kserve.llmisvc.presets import TEMPLATE, WORKER_PIPELINE_PARALLEL
from kubectl_kserve_mn.model import (
    MemoryEstimate,
    ModelFacts,
    estimate_memory,
    layout_violations,
    memory_violations,
)
from kubectl_kserve_mn.planner import MemoryOptions, Placement, Rejection, place_pods
from kubectl_kserve_mn.snippet import gpu_resources_block

MAIN_CONTAINER = "main"
_MAX_TOTAL = 1 << 16


@dataclass(frozen=True)
class LlmPlanRequest:
    total_gpus: int | None = None
    tensor_parallel: int | None = None
    data_parallel: int | None = None
    expert_parallel: bool = False
    model: ModelFacts | None = None
    memory: MemoryOptions = field(default_factory=MemoryOptions)
    known_gpu_resources: tuple[str, ...] = KSERVE_GPU_RESOURCES


@dataclass(frozen=True)
class LlmShape:
    """One way to run the model: ``data`` ranks of ``tensor`` GPUs, ``data_local`` per pod."""

    pool: str
    gpu_resource: str
    tensor: int
    data: int
    data_local: int
    multi_node: bool
    """A LeaderWorkerSet (``worker`` set), else one Deployment pod."""
    placement: tuple[Placement, ...] = ()
    fits_now: bool = False
    fits_capacity: bool = False
    matches_wish: bool = False
    notes: tuple[str, ...] = ()
    memory: MemoryEstimate | None = None

    @property
    def pods(self) -> int:
        """The LWS size (data / dataLocal), 1 for one pod."""
        return self.data // self.data_local if self.multi_node else 1

    @property
    def pod_gpus(self) -> int:
        return self.data_local * self.tensor

    @property
    def total_gpus(self) -> int:
        return self.data * self.tensor

    @property
    def label(self) -> str:
        if not self.multi_node:
            return f"TP={self.tensor}"
        return f"TP={self.tensor} x DP={self.data} ({self.data_local} per pod)"

    def parallelism(self, expert: bool = False) -> dict[str, Any]:
        block: dict[str, Any] = {"tensor": self.tensor}
        if self.multi_node:
            block |= {"data": self.data, "dataLocal": self.data_local}
        if expert:
            block["expert"] = True
        return block

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "pool": self.pool,
            "gpuResource": self.gpu_resource,
            "tensor": self.tensor,
            "data": self.data,
            "dataLocal": self.data_local,
            "multiNode": self.multi_node,
            "pods": self.pods,
            "podGpus": self.pod_gpus,
            "totalGpus": self.total_gpus,
            "placement": [p.to_json() for p in self.placement],
            "fitsNow": self.fits_now,
            "fitsCapacity": self.fits_capacity,
            "matchesRequest": self.matches_wish,
            "notes": list(self.notes),
        }
        if self.memory is not None:
            data["memory"] = self.memory.to_json()
        return data


@dataclass(frozen=True)
class LlmPlanResult:
    era: Era
    pools: tuple[Pool, ...]
    recommendation: LlmShape | None
    alternatives: tuple[LlmShape, ...]
    rejected: tuple[Rejection, ...]
    warnings: tuple[str, ...] = ()

    @property
    def feasible(self) -> bool:
        return self.recommendation is not None


def _check_request(request: LlmPlanRequest) -> None:
    for flag, value in (
        ("--gpus", request.total_gpus),
        ("--tensor-parallel-size", request.tensor_parallel),
        ("--data-parallel-size", request.data_parallel),
    ):
        if value is not None and not 1 <= value <= _MAX_TOTAL:
            raise InputError(f"{flag} must be between 1 and {_MAX_TOTAL}, got {value}")


def _totals(pool: Pool, request: LlmPlanRequest) -> list[int]:
    """The total GPU counts to try on ``pool``."""
    t, d, g = request.tensor_parallel, request.data_parallel, request.total_gpus
    if t is not None and d is not None:
        return [t * d]
    if g is not None:
        return [g]
    if t is not None:
        return [t]
    if d is not None:
        return [d * k for k in range(1, pool.gpus_per_node + 1)]
    if request.model is not None:
        return list(range(1, pool.gpus_per_node + 1))
    return [pool.gpus_per_node]


def _pairs(total: int, request: LlmPlanRequest) -> list[tuple[int, int]]:
    out = []
    for tensor in range(1, total + 1):
        if total % tensor:
            continue
        data = total // tensor
        if request.tensor_parallel is not None and tensor != request.tensor_parallel:
            continue
        if request.data_parallel is not None and data != request.data_parallel:
            continue
        out.append((tensor, data))
    return out


def _model_gate(
    pool: Pool, tensor: int, data: int, request: LlmPlanRequest
) -> tuple[str | None, MemoryEstimate | None, str | None]:
    """(rejection reason, memory estimate, note) for the model at TP=tensor, PP=1 on ``pool``."""
    model = request.model
    if model is None:
        return None, None, None
    if request.expert_parallel and model.num_experts == 0:
        return (
            "Number of experts in the model must be greater than 0 when expert parallelism is enabled.",
            None,
            None,
        )
    errors = [
        v
        for v in layout_violations(model, tensor, 1, expert_parallel=request.expert_parallel)
        if v.severity == "error"
    ]
    if errors:
        return errors[0].message, None, None
    if model.num_experts and data > 1:
        return None, None, "memory not estimated: vLLM shards the experts over data x tensor ranks"
    memory = request.memory.gpu_memory_bytes or (pool.memory_mib << 20 if pool.memory_mib else None)
    if memory is None:
        return None, None, "GPU memory unknown: memory not checked"
    estimate = estimate_memory(
        model,
        tensor,
        1,
        memory,
        utilization=request.memory.utilization,
        max_model_len=request.memory.max_model_len,
        expert_parallel=request.expert_parallel,
    )
    problems = [v for v in memory_violations(estimate) if v.severity == "error"]
    if problems:
        return problems[0].message, estimate, None
    return None, estimate, None


def _place(shape: LlmShape, pool: Pool) -> LlmShape:
    gpus = [shape.pod_gpus] * shape.pods
    now = place_pods(gpus, pool.nodes, use_free=True)
    capacity = now or place_pods(gpus, pool.nodes, use_free=False)
    nodes = now or capacity or []
    names = ["leader"] + [f"worker-{i}" for i in range(shape.pods - 1)] if shape.multi_node else ["pod"]
    placement = tuple(Placement(p, n, g) for p, n, g in zip(names, nodes, gpus, strict=False))
    return replace(shape, placement=placement, fits_now=now is not None, fits_capacity=capacity is not None)


def _rank(shape: LlmShape, request: LlmPlanRequest) -> tuple[Any, ...]:
    # With a model whose memory is known, the smallest tensor that fits gives the most replicas; without,
    # the largest tensor is the safe choice (each rank holds a whole copy of a dense model).
    tensor_key = shape.tensor if request.model is not None and shape.memory is not None else -shape.tensor
    return (
        not shape.matches_wish,
        not shape.fits_now,
        not shape.fits_capacity,
        shape.total_gpus if request.total_gpus is None and request.tensor_parallel is None else 0,
        shape.pods,
        tensor_key,
        shape.pool,
    )


def plan_llmisvc(inventory: Inventory, era: Era, request: LlmPlanRequest) -> LlmPlanResult:
    """The recommended LLMInferenceService shape for ``inventory`` under ``era``, with alternatives and the
    shapes rejected (and why)."""
    _check_request(request)
    pools = tuple(p for p in inventory.pools if p.placeable)
    if not era.llmisvc_api_versions:
        return LlmPlanResult(
            era, pools, None, (), (), (f"KServe {era.key} has no LLMInferenceService (v0.16.0 and later)",)
        )
    shapes: list[LlmShape] = []
    rejected: list[Rejection] = []
    warnings: list[str] = []
    t, d, g = request.tensor_parallel, request.data_parallel, request.total_gpus
    if t is not None and d is not None and g is not None and g != t * d:
        warnings.append(
            f"--gpus {g} is not --tensor-parallel-size x --data-parallel-size ({t * d}); the sizes win"
        )
    for pool in pools:
        per_node = pool.gpus_per_node
        for total in _totals(pool, request):
            for tensor, data in _pairs(total, request):
                label = f"TP={tensor} x DP={data}" if data > 1 else f"TP={tensor}"
                if tensor > per_node:
                    rejected.append(
                        Rejection(
                            label,
                            pool.name,
                            f"tensor {tensor} does not fit one pod of {per_node} GPUs: KServe sizes the "
                            "LeaderWorkerSet from data/dataLocal only (kserve#4946); pipeline parallelism across "
                            f"pods needs {WORKER_PIPELINE_PARALLEL}, which no release ships (kserve#5047)",
                        )
                    )
                    continue
                reason, estimate, note = _model_gate(pool, tensor, data, request)
                if reason is not None:
                    rejected.append(Rejection(label, pool.name, reason))
                    continue
                local = max(k for k in range(1, data + 1) if data % k == 0 and k * tensor <= per_node)
                multi = data > 1
                notes: list[str] = [note] if note else []
                if not multi and tensor > 1 and not era.llmisvc_single_node_tensor:
                    notes.append(
                        f"KServe {era.key} drops parallelism.tensor on one pod (kserve#5773): the snippet passes "
                        f"{TENSOR_FLAG} itself"
                    )
                if multi and data // local == 1:
                    notes.append("one pod: a LeaderWorkerSet of size 1 runs all data-parallel ranks locally")
                shape = LlmShape(
                    pool=pool.name,
                    gpu_resource=pool.gpu_resource,
                    tensor=tensor,
                    data=data,
                    data_local=local,
                    multi_node=multi,
                    matches_wish=request.tensor_parallel in (None, tensor)
                    and request.data_parallel in (None, data),
                    notes=tuple(notes),
                    memory=estimate,
                )
                shapes.append(_place(shape, pool))
    shapes.sort(key=lambda s: _rank(s, request))
    if request.model is not None and request.total_gpus is None and request.tensor_parallel is None:
        # Model-sized: only the smallest total that works is interesting.
        smallest = min((s.total_gpus for s in shapes if s.fits_capacity), default=None)
        shapes = [s for s in shapes if smallest is None or s.total_gpus == smallest] or shapes
    usable = [s for s in shapes if s.fits_capacity]
    if not usable and shapes:
        warnings.append("no shape fits the nodes' capacity")
    best = usable[0] if usable else None
    others = tuple(s for s in usable[1:6])
    return LlmPlanResult(era, pools, best, others, tuple(rejected), tuple(warnings))


def llmisvc_snippet(shape: LlmShape, era: Era, *, expert: bool = False) -> dict[str, Any]:
    """The part of an LLMInferenceService's ``spec`` that makes KServe ``era`` run ``shape``: the
    ``parallelism`` block and the GPU requests of the leader (``template``) and the workers (``worker``)."""
    resources = gpu_resources_block(shape.gpu_resource, shape.pod_gpus)
    container: dict[str, Any] = {"name": MAIN_CONTAINER, "resources": resources}
    spec: dict[str, Any] = {"parallelism": shape.parallelism(expert)}
    if not shape.multi_node and shape.tensor > 1 and not era.llmisvc_single_node_tensor:
        channel, preset_args = preset_args_channel(era, TEMPLATE)
        flags = [TENSOR_FLAG, str(shape.tensor)]
        if channel.startswith("env"):
            container["env"] = [{"name": "VLLM_ADDITIONAL_ARGS", "value": " ".join(flags)}]
        elif channel == "args":
            container["args"] = flags
        else:
            container["args"] = [*preset_args, *flags]
    spec["template"] = {"containers": [container]}
    if shape.multi_node:
        # A block of its own (not shared with the leader's): YAML would print a shared one as an alias.
        worker_resources = gpu_resources_block(shape.gpu_resource, shape.pod_gpus)
        spec["worker"] = {"containers": [{"name": MAIN_CONTAINER, "resources": worker_resources}]}
    return {"spec": spec}
