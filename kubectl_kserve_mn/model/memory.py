"""Per-GPU memory and KV cache of a (TP, PP) layout, and vLLM's own start-up verdict on it (pure).

For each PP stage (one worker per GPU; the stage's layers sliced by TP, ``embed/TP`` on the first and
``lm_head/TP`` on the last, vocab padded to 64 per shard)::

    available KV = CUDA total x gpu_memory_utilization - weights - reserve
    reserve      = activation peak + non-torch [+ CUDA graphs from vLLM 0.21]      (see vllm.py)

then vLLM's KV arithmetic (kvcache.py): blocks per worker, the smallest over workers, the tokens and the
concurrency it logs, and the check that refuses to start when one ``max_model_len`` request does not fit.

The verdict is that check with the estimate's own uncertainty (weights ±1.5 % plus, for MXFP4 experts,
the Marlin backend's extra padding, activation ±20 %,
non-torch ±50 %, CUDA graphs ±50 %, the driver's share ±0.02 GiB for a measured GPU and ±0.25 GiB
otherwise): ``fits`` only when the request fits by more than that, ``does-not-fit`` when it misses by
more, ``tight`` in between, with the margin and the length that would fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.model.facts import ModelFacts
from kubectl_kserve_mn.model.kvcache import KvLayout, kv_layout
from kubectl_kserve_mn.model.reserve import Reserve, profile_reserve, uncertainty
from kubectl_kserve_mn.model.rules import ModelViolation, pp_partition
from kubectl_kserve_mn.model.vllm import (
    GIB,
    MIB,
    DeviceBase,
    SchedulerLimits,
    device_base,
    scheduler_limits,
    vllm_eras,
)

DEFAULT_GPU_MEMORY_UTILIZATION = 0.9  # vLLM up to 0.2x; 0.33 defaults to 0.92
DEFAULT_RESERVE_BYTES = 3 * GIB  # kept for callers that passed it; the model now computes the reserve
KV_BLOCK_SIZE = 16  # CacheConfig.DEFAULT_BLOCK_SIZE
VOCAB_PADDING = 64  # DEFAULT_VOCAB_PADDING_SIZE
WEIGHTS_EXCEED_MEMORY = "model-weights-exceed-memory"
KV_BELOW_CONTEXT = "model-kv-below-context"
KV_LOW_CONCURRENCY = "model-kv-low-concurrency"
MEMORY_TIGHT = "model-memory-tight"
MAX_LEN_EXCEEDS_MODEL = "model-max-len-exceeds-context"

Verdict = Literal["fits", "tight", "does-not-fit"]

KV_DTYPE_BYTES: dict[str, int] = {
    "auto": 0,  # the model dtype
    "bfloat16": 2,
    "float16": 2,
    "half": 2,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "fp8_ds_mla": 1,
}


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


@dataclass(frozen=True)
class StageMemory:
    stage: int
    layers: int
    weights_bytes: int  # per GPU of this stage
    kv_bytes_per_token: int  # per GPU of this stage
    kv_cache_bytes: int  # available for the KV cache (may be negative: vLLM then refuses)
    kv_cache_tokens: int
    reserve: Reserve
    needed_bytes: int  # one max_model_len request on this stage
    uncertainty_bytes: int

    @property
    def margin_bytes(self) -> int:
        return self.kv_cache_bytes - self.needed_bytes

    @property
    def verdict(self) -> Verdict:
        if self.margin_bytes >= self.uncertainty_bytes:
            return "fits"
        if self.margin_bytes <= -self.uncertainty_bytes:
            return "does-not-fit"
        return "tight"

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "layers": self.layers,
            "weightsBytes": self.weights_bytes,
            "kvBytesPerToken": self.kv_bytes_per_token,
            "kvCacheBytes": max(0, self.kv_cache_bytes),
            "kvCacheTokens": self.kv_cache_tokens,
            "reserveBytes": self.reserve.total,
            "neededBytes": self.needed_bytes,
            "marginBytes": self.margin_bytes,
        }


_RANK: dict[Verdict, int] = {"does-not-fit": 0, "tight": 1, "fits": 2}


@dataclass(frozen=True)
class MemoryEstimate:
    tensor_parallel: int
    pipeline_parallel: int
    gpu_memory_bytes: int  # the label's (or --gpu-memory's) total
    utilization: float
    budget_bytes: int  # ceil(CUDA total x utilization), vLLM's requested memory
    reserve_bytes: int  # of the stage that limits the verdict
    per_gpu_weights_bytes: int  # the largest stage's rank
    kv_bytes_per_token: int  # per GPU, of the stage that limits the KV cache
    kv_cache_bytes: int  # per GPU, of the stage that limits the KV cache (>= 0)
    kv_cache_tokens: int  # what vLLM logs as "GPU KV cache size"
    kv_cache_dtype_bytes: int
    max_model_len: int
    model_max_context: int
    stages: tuple[StageMemory, ...]
    base: DeviceBase | None = None
    limits: SchedulerLimits | None = None
    max_len_fit: int = 0  # the longest max_model_len vLLM would accept (up to the model's context)
    max_len_safe: int = 0  # the longest that fits with the estimate's uncertainty to spare
    vllm_concurrency: float = 0.0  # vLLM's "Maximum concurrency for max_model_len tokens per request"
    vllm_version: str | None = None
    hybrid: bool = False

    @property
    def critical(self) -> StageMemory:
        """The stage that decides the verdict: the worst verdict, then the smallest margin."""
        return min(self.stages, key=lambda s: (_RANK[s.verdict], s.margin_bytes))

    @property
    def reserve(self) -> Reserve:
        return self.critical.reserve

    @property
    def verdict(self) -> Verdict:
        return self.critical.verdict

    @property
    def margin_bytes(self) -> int:
        return self.critical.margin_bytes

    @property
    def uncertainty_bytes(self) -> int:
        return self.critical.uncertainty_bytes

    @property
    def fits(self) -> bool:
        """vLLM starts, by more than the estimate's uncertainty."""
        return self.verdict == "fits"

    @property
    def concurrency(self) -> float:
        """Full-length requests the KV cache holds at once (vLLM's "Maximum concurrency")."""
        if self.vllm_concurrency:
            return self.vllm_concurrency
        return self.kv_cache_tokens / self.max_model_len if self.max_model_len else 0.0

    def to_json(self) -> dict[str, Any]:
        critical = self.critical
        out: dict[str, Any] = {
            "gpuMemoryBytes": self.gpu_memory_bytes,
            "gpuMemoryUtilization": self.utilization,
            "budgetBytes": self.budget_bytes,
            "reserveBytes": self.reserve_bytes,
            "perGpuWeightsBytes": self.per_gpu_weights_bytes,
            "kvBytesPerToken": self.kv_bytes_per_token,
            "kvCacheBytes": self.kv_cache_bytes,
            "kvCacheTokens": self.kv_cache_tokens,
            "kvCacheDtypeBytes": self.kv_cache_dtype_bytes,
            "maxModelLen": self.max_model_len,
            "concurrency": round(self.concurrency, 2),
            "fits": self.fits,
            "stages": [stage.to_json() for stage in self.stages],
            "reserve": critical.reserve.to_json(),
            "margin": {
                "verdict": self.verdict,
                "bytes": critical.margin_bytes,
                "uncertaintyBytes": critical.uncertainty_bytes,
                "stage": critical.stage,
                "maxModelLenFit": self.max_len_fit,
                "maxModelLenWithMargin": self.max_len_safe,
            },
            "vllmVersion": self.vllm_version or "unknown (0.10 or later: the largest reserve)",
            "hybridKvCache": self.hybrid,
        }
        if self.base is not None:
            out["base"] = {
                "labelBytes": self.base.label_bytes,
                "driverReservedBytes": self.base.driver_reserved_bytes,
                "cudaTotalBytes": self.base.cuda_total_bytes,
                "driverReservedMeasured": self.base.known,
            }
        if self.limits is not None:
            out["maxNumBatchedTokens"] = self.limits.max_num_batched_tokens
            out["maxNumSeqs"] = self.limits.max_num_seqs
        return out

    def table_row(self) -> dict[str, str]:
        """Short human figures for a memory table (GiB per GPU)."""
        return {
            "WEIGHTS/GPU": gib(self.per_gpu_weights_bytes),
            "RESERVE": gib(self.reserve_bytes),
            "BUDGET": f"{gib(self.budget_bytes)} ({self.utilization:g} x {gib(self.cuda_total_bytes)})",
            "KV/GPU": gib(self.kv_cache_bytes),
            "KV TOKENS": f"{self.kv_cache_tokens:,}",
            "MAX LEN": f"{self.max_model_len:,}",
            "CONCURRENCY": f"{self.concurrency:.2f}x",
            "FITS": self.verdict_text,
        }

    @property
    def cuda_total_bytes(self) -> int:
        return self.base.cuda_total_bytes if self.base is not None else self.gpu_memory_bytes

    @property
    def verdict_text(self) -> str:
        """``yes``, ``no``, or ``tight (+1.2 GiB ± 2.0)``."""
        if self.verdict == "fits":
            return "yes"
        if self.verdict == "does-not-fit":
            return "no"
        return f"tight ({signed_gib(self.margin_bytes)} ± {self.uncertainty_bytes / GIB:.1f} GiB)"


def signed_gib(n: int) -> str:
    return f"{'+' if n >= 0 else '-'}{abs(n) / GIB:.1f} GiB"


def kv_cache_dtype_bytes(name: str, model: ModelFacts) -> int:
    """Bytes per KV element for a ``--kv-cache-dtype`` value ("auto" follows the model)."""
    key = name.strip().lower()
    if key not in KV_DTYPE_BYTES:
        raise InputError(f"unknown --kv-cache-dtype {name!r} (expected one of {', '.join(KV_DTYPE_BYTES)})")
    return KV_DTYPE_BYTES[key] or _model_kv_dtype_bytes(model)


def _model_kv_dtype_bytes(model: ModelFacts) -> int:
    # "auto" is the model dtype; an FP8 weight checkpoint keeps a 16-bit KV cache unless its quantization
    # config also quantizes the KV cache (ModelOpt kv_cache_quant_algo, compressed-tensors kv_cache_scheme).
    if model.quantization is not None and model.quantization.kv_cache_dtype == "fp8":
        return 1
    return min(2, {"float32": 4, "float": 4, "float64": 8}.get(model.dtype, 2))


def stage_weights(
    model: ModelFacts, tp: int, stage_layers: list[int], *, expert_parallel: bool = False
) -> list[int]:
    """Loaded weight bytes on one GPU of each PP stage."""
    padded_vocab = math.ceil(model.vocab_size / VOCAB_PADDING) * VOCAB_PADDING
    vocab_share = math.ceil(padded_vocab / tp) / model.vocab_size
    embed = round(model.embedding_bytes * vocab_share)
    head = round(model.lm_head_bytes * vocab_share)
    out: list[int] = []
    start = 0
    for stage, count in enumerate(stage_layers):
        total = sum(
            layer.per_rank(
                tp,
                kv_heads=model.num_kv_heads,
                num_experts=model.num_experts,
                expert_parallel=expert_parallel,
            )
            for layer in model.layers[start : start + count]
        )
        start += count
        first, last = stage == 0, stage == len(stage_layers) - 1
        if first:
            total += embed
            if model.vision is not None:
                total += model.vision.bytes // tp
        if last:
            total += model.hidden_size * 2  # final norm
            # Tied embeddings share one tensor when PP = 1; with PP > 1 the last stage holds its own copy.
            if not (model.tie_word_embeddings and first):
                total += head
        out.append(total)
    return out


def estimate_memory(
    model: ModelFacts,
    tensor_parallel: int,
    pipeline_parallel: int,
    gpu_memory_bytes: int,
    *,
    utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    reserve_bytes: int | None = None,
    max_model_len: int | None = None,
    kv_cache_dtype_bytes: int | None = None,
    expert_parallel: bool = False,
    pp_layer_partition: str | None = None,
    gpu_product: str | None = None,
    vllm_version: str | None = None,
    max_num_batched_tokens: int | None = None,
    max_num_seqs: int | None = None,
    block_size: int = KV_BLOCK_SIZE,
    hybrid_kv_cache: bool = True,
    cuda_graphs: bool = True,
    chunked_prefill: bool = True,
) -> MemoryEstimate:
    """Per-GPU weights, reserve, KV cache and vLLM's start-up verdict for ``model`` at TP x PP on GPUs
    whose label (or ``--gpu-memory``) says ``gpu_memory_bytes``.

    ``reserve_bytes`` replaces the modelled reserve with a fixed figure (no uncertainty); ``vllm_version``
    picks the release's behaviour (None: the largest reserve of vLLM 0.10 and later); ``gpu_product`` (the
    GFD product label) picks the driver's share and vLLM's scheduler defaults."""
    tp, pp = tensor_parallel, pipeline_parallel
    if tp < 1 or pp < 1:
        raise InputError(f"tensor and pipeline parallel sizes must be >= 1, got TP={tp} PP={pp}")
    if gpu_memory_bytes <= 0:
        raise InputError(f"GPU memory must be positive, got {gpu_memory_bytes} bytes")
    if not (0 < utilization <= 1):  # also refuses NaN
        raise InputError(f"--gpu-memory-utilization must be in (0, 1], got {utilization}")
    if reserve_bytes is not None and reserve_bytes < 0:
        raise InputError(f"the activation reserve must be >= 0, got {reserve_bytes}")
    if max_model_len is not None and max_model_len < 1:
        raise InputError(f"--max-model-len must be >= 1, got {max_model_len}")
    if kv_cache_dtype_bytes is not None and kv_cache_dtype_bytes < 1:
        raise InputError(f"KV cache dtype bytes must be >= 1, got {kv_cache_dtype_bytes}")
    if block_size < 1:
        raise InputError(f"--block-size must be >= 1, got {block_size}")
    length = max_model_len or model.max_context
    kv_dt = kv_cache_dtype_bytes or _model_kv_dtype_bytes(model)
    eras = vllm_eras(vllm_version)
    base = device_base(gpu_memory_bytes, gpu_product)
    if reserve_bytes is not None:  # a fixed figure: the budget is the label's, nothing else is modelled
        base = DeviceBase(gpu_memory_bytes, 0, gpu_product, True)
    limits = scheduler_limits(
        base.cuda_total_bytes,
        gpu_product,
        max_num_batched_tokens=max_num_batched_tokens,
        max_num_seqs=max_num_seqs,
        max_model_len=length,
        chunked_prefill=chunked_prefill,
    )
    budget = math.ceil(base.cuda_total_bytes * utilization)  # vllm/v1/worker/utils.py request_memory

    layer_counts = pp_partition(model.num_layers, pp, pp_layer_partition)
    weights = stage_weights(model, tp, layer_counts, expert_parallel=expert_parallel)
    layout: KvLayout = kv_layout(model, tp, kv_dt, block_size, hybrid=hybrid_kv_cache)
    stages: list[StageMemory] = []
    blocks: list[int] = []
    start = 0
    for index, (count, weight) in enumerate(zip(layer_counts, weights, strict=True)):
        held = range(start, start + count)
        start += count
        if reserve_bytes is not None:
            reserve = Reserve(reserve_bytes, 0, 0, 0, 0, "fixed")
            spread = 0
        else:
            candidates = [
                profile_reserve(
                    model,
                    tp,
                    count,
                    first=index == 0,
                    last=index == pp - 1,
                    era=era,
                    limits=limits,
                    cuda_graphs=cuda_graphs,
                )
                for era in eras
            ]
            reserve = max(candidates, key=lambda r: r.total)
            backend = sum(
                layer.backend_spread(tp, num_experts=model.num_experts, expert_parallel=expert_parallel)
                for layer in model.layers[held.start : held.stop]
            )
            spread = uncertainty(weight, reserve, base, backend)
        available = budget - weight - reserve.total
        needed = layout.needed(held, length, limits.max_num_batched_tokens) if count else 0
        stage_blocks = layout.num_blocks(held, available) if count else 0
        blocks.append(stage_blocks)
        stages.append(
            StageMemory(
                stage=index,
                layers=count,
                weights_bytes=weight,
                kv_bytes_per_token=layout.bytes_per_token(list(held)),
                kv_cache_bytes=available,
                kv_cache_tokens=layout.tokens(stage_blocks),
                reserve=reserve,
                needed_bytes=needed,
                uncertainty_bytes=spread,
            )
        )
    holding = [i for i, s in enumerate(stages) if s.layers] or list(range(len(stages)))
    limiting = min(holding, key=lambda i: (blocks[i], -stages[i].kv_bytes_per_token))
    min_blocks = min(blocks[i] for i in holding)
    starts = [sum(layer_counts[:i]) for i in range(pp)]
    longest = max(length, model.max_context)

    def fitting(spare: bool) -> int:
        return min(
            layout.fit_len(
                range(starts[i], starts[i] + layer_counts[i]),
                stages[i].kv_cache_bytes - (stages[i].uncertainty_bytes if spare else 0),
                longest,
                limits.max_num_batched_tokens,
            )
            for i in holding
        )

    lim_range = range(starts[limiting], starts[limiting] + layer_counts[limiting])
    estimate = MemoryEstimate(
        tensor_parallel=tp,
        pipeline_parallel=pp,
        gpu_memory_bytes=gpu_memory_bytes,
        utilization=utilization,
        budget_bytes=budget,
        reserve_bytes=0,
        per_gpu_weights_bytes=max(weights),
        kv_bytes_per_token=stages[limiting].kv_bytes_per_token,
        kv_cache_bytes=max(0, stages[limiting].kv_cache_bytes),
        kv_cache_tokens=layout.tokens(min_blocks),
        kv_cache_dtype_bytes=kv_dt,
        max_model_len=length,
        model_max_context=model.max_context,
        stages=tuple(stages),
        base=base,
        limits=limits,
        max_len_fit=fitting(False),
        max_len_safe=fitting(True),
        vllm_concurrency=layout.concurrency(lim_range, min_blocks, length, limits.max_num_batched_tokens),
        vllm_version=eras[0].key if len(eras) == 1 else None,
        hybrid=layout.hybrid,
    )
    return replace(estimate, reserve_bytes=estimate.critical.reserve.total)


def memory_violations(estimate: MemoryEstimate, *, min_concurrency: float = 4.0) -> list[ModelViolation]:
    """vLLM's start-up refusals (no room for a KV cache; one max-length request does not fit; max_model_len
    above the model's), ``tight`` within the estimate's uncertainty, a warning below ``min_concurrency``."""
    e = estimate
    found: list[ModelViolation] = []
    base = e.cuda_total_bytes
    usable = f"{gib(e.budget_bytes)} usable ({e.utilization:g} x {gib(base)} CUDA total)"
    if e.max_model_len > e.model_max_context:
        found.append(
            ModelViolation(
                MAX_LEN_EXCEEDS_MODEL,
                f"User-specified max_model_len ({e.max_model_len}) is greater than the derived max_model_len "
                f"({e.model_max_context}) in model's config.json.",
            )
        )
    c = e.critical
    r = c.reserve
    parts = f"activation {gib(r.activation)}, non-torch {gib(r.non_torch)}"
    if r.cuda_graphs:
        parts += f", CUDA graphs {gib(r.cuda_graphs)}"
    predicted = f"predicted per GPU of stage {c.stage}: weights {gib(c.weights_bytes)} + reserve {gib(r.total)} ({parts}) of {usable}"
    where = f"at TP={e.tensor_parallel} PP={e.pipeline_parallel}"
    if e.verdict == "does-not-fit" and c.kv_cache_bytes <= 0:
        alone = (
            " (the weights alone exceed the GPU: loading fails with CUDA out of memory)"
            if c.weights_bytes > base
            else ""
        )
        found.append(
            ModelViolation(
                WEIGHTS_EXCEED_MEMORY,
                f"No available memory for the cache blocks {where}{alone}: {predicted}",
            )
        )
        return found
    if e.verdict == "does-not-fit":
        fit = (
            f" Based on the available memory, the estimated maximum model length is {e.max_len_fit}."
            if e.max_len_fit
            else ""
        )
        found.append(
            ModelViolation(
                KV_BELOW_CONTEXT,
                f"To serve at least one request with the model's max seq len ({e.max_model_len}), "
                f"({c.needed_bytes / GIB:.2f} GiB KV cache is needed, which is larger than the available KV cache "
                f"memory ({max(0, c.kv_cache_bytes) / GIB:.2f} GiB).{fit} ({predicted})",
            )
        )
        return found
    if e.verdict == "tight":
        short = "to spare" if c.margin_bytes >= 0 else "short"
        safe = (
            f"--max-model-len {e.max_len_safe:,} fits with that margin"
            if e.max_len_safe
            else "no length fits with that margin: add GPUs"
        )
        found.append(
            ModelViolation(
                MEMORY_TIGHT,
                f"tight {where}: one {e.max_model_len:,}-token request fits the KV cache with "
                f"{abs(c.margin_bytes) / GIB:.1f} GiB {short}, within the estimate's uncertainty of "
                f"±{c.uncertainty_bytes / GIB:.1f} GiB: vLLM may refuse to start; {safe} ({predicted})",
                severity="warning",
            )
        )
        return found
    if e.concurrency < min_concurrency:
        found.append(
            ModelViolation(
                KV_LOW_CONCURRENCY,
                f"the KV cache holds {e.kv_cache_tokens:,} tokens, {e.concurrency:.2f} concurrent requests of "
                f"{e.max_model_len:,} tokens (fewer than {min_concurrency:g})",
                severity="warning",
            )
        )
    return found


__all__ = [
    "DEFAULT_GPU_MEMORY_UTILIZATION",
    "DEFAULT_RESERVE_BYTES",
    "KV_BELOW_CONTEXT",
    "KV_LOW_CONCURRENCY",
    "MAX_LEN_EXCEEDS_MODEL",
    "MEMORY_TIGHT",
    "MIB",
    "WEIGHTS_EXCEED_MEMORY",
    "MemoryEstimate",
    "Reserve",
    "StageMemory",
    "estimate_memory",
    "kv_cache_dtype_bytes",
    "memory_violations",
]
