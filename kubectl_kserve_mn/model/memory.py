"""Per-GPU memory and KV-cache estimate of a (TP, PP) layout, the way vLLM sizes it (pure).

vLLM (vllm-constraints.md §2): each worker may use ``gpu memory x gpu_memory_utilization``; after the
weights and the profiled activation peak / CUDA graphs, the rest is KV cache, and the engine takes the
smallest number of KV blocks over all workers (kv_cache_planning.get_kv_cache_configs). Weights per GPU
are estimated per PP stage: the stage's layers sliced by TP (K/V projections only down to one head per
rank, MLA down-projections, norms and routers replicated), ``embed/TP`` on the first stage and
``lm_head/TP`` on the last (vocab-parallel, padded to 64 per shard).

Reserve: activations and CUDA graphs are not predictable without profiling; the doc suggests a fixed
2-4 GiB per GPU. We take 3 GiB: with it, Llama-3.1-405B at TP=8 x PP=2 on H100-80GB lands inside the doc's
worked example (20-22 GiB of KV), and 2 GiB would be optimistic for vLLM's default 8192-token profile run
plus CUDA graphs on large hidden sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.model.facts import ModelFacts
from kubectl_kserve_mn.model.rules import ModelViolation, pp_partition

GIB = 1 << 30
MIB = 1 << 20
DEFAULT_RESERVE_BYTES = 3 * GIB
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9  # the default; vLLM 0.33 defaults to 0.92 (older: 0.9)
KV_BLOCK_SIZE = 16  # CacheConfig.DEFAULT_BLOCK_SIZE
VOCAB_PADDING = 64  # DEFAULT_VOCAB_PADDING_SIZE

WEIGHTS_EXCEED_MEMORY = "model-weights-exceed-memory"
KV_BELOW_CONTEXT = "model-kv-below-context"
KV_LOW_CONCURRENCY = "model-kv-low-concurrency"
MAX_LEN_EXCEEDS_MODEL = "model-max-len-exceeds-context"

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
    kv_cache_bytes: int
    kv_cache_tokens: int

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "layers": self.layers,
            "weightsBytes": self.weights_bytes,
            "kvBytesPerToken": self.kv_bytes_per_token,
            "kvCacheBytes": self.kv_cache_bytes,
            "kvCacheTokens": self.kv_cache_tokens,
        }


@dataclass(frozen=True)
class MemoryEstimate:
    tensor_parallel: int
    pipeline_parallel: int
    gpu_memory_bytes: int
    utilization: float
    budget_bytes: int  # ceil(memory x utilization), vLLM's requested_memory
    reserve_bytes: int
    per_gpu_weights_bytes: int  # the largest stage's rank
    kv_bytes_per_token: int  # per GPU, of the stage that limits the KV cache
    kv_cache_bytes: int  # per GPU, of the stage that limits the KV cache
    kv_cache_tokens: int  # the minimum over stages, as vLLM takes the smallest
    kv_cache_dtype_bytes: int
    max_model_len: int
    model_max_context: int
    stages: tuple[StageMemory, ...]

    @property
    def weights_fit(self) -> bool:
        return self.per_gpu_weights_bytes + self.reserve_bytes <= self.budget_bytes

    @property
    def fits(self) -> bool:
        return self.weights_fit and self.kv_cache_tokens >= self.max_model_len

    @property
    def concurrency(self) -> float:
        """Full-length requests the KV cache holds at once (vLLM's "Maximum concurrency")."""
        return self.kv_cache_tokens / self.max_model_len if self.max_model_len else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
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
        }

    def table_row(self) -> dict[str, str]:
        """Short human figures for a memory table (GiB per GPU)."""
        return {
            "WEIGHTS/GPU": gib(self.per_gpu_weights_bytes),
            "RESERVE": gib(self.reserve_bytes),
            "BUDGET": f"{gib(self.budget_bytes)} ({self.utilization:g} x {gib(self.gpu_memory_bytes)})",
            "KV/GPU": gib(self.kv_cache_bytes),
            "KV TOKENS": f"{self.kv_cache_tokens:,}",
            "MAX LEN": f"{self.max_model_len:,}",
            "CONCURRENCY": f"{self.concurrency:.2f}x",
            "FITS": "yes" if self.fits else "no",
        }


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
    reserve_bytes: int = DEFAULT_RESERVE_BYTES,
    max_model_len: int | None = None,
    kv_cache_dtype_bytes: int | None = None,
    expert_parallel: bool = False,
    pp_layer_partition: str | None = None,
) -> MemoryEstimate:
    """Per-GPU weights, KV bytes per token and KV-cache tokens of ``model`` at TP x PP on GPUs of
    ``gpu_memory_bytes`` each."""
    tp, pp = tensor_parallel, pipeline_parallel
    if tp < 1 or pp < 1:
        raise InputError(f"tensor and pipeline parallel sizes must be >= 1, got TP={tp} PP={pp}")
    if gpu_memory_bytes <= 0:
        raise InputError(f"GPU memory must be positive, got {gpu_memory_bytes} bytes")
    if not 0 < utilization <= 1:
        raise InputError(f"--gpu-memory-utilization must be in (0, 1], got {utilization}")
    if reserve_bytes < 0:
        raise InputError(f"the activation reserve must be >= 0, got {reserve_bytes}")
    if max_model_len is not None and max_model_len < 1:
        raise InputError(f"--max-model-len must be >= 1, got {max_model_len}")
    if kv_cache_dtype_bytes is not None and kv_cache_dtype_bytes < 1:
        raise InputError(f"KV cache dtype bytes must be >= 1, got {kv_cache_dtype_bytes}")
    length = max_model_len or model.max_context
    kv_dt = kv_cache_dtype_bytes or _model_kv_dtype_bytes(model)
    budget = math.ceil(gpu_memory_bytes * utilization)  # vllm/v1/worker/utils.py request_memory

    layers = pp_partition(model.num_layers, pp, pp_layer_partition)
    weights = stage_weights(model, tp, layers, expert_parallel=expert_parallel)
    stages: list[StageMemory] = []
    for index, (count, weight) in enumerate(zip(layers, weights, strict=True)):
        per_token = model.kv_bytes_per_token(tp, count, kv_dt)
        free = max(0, budget - weight - reserve_bytes)
        tokens = free // (per_token * KV_BLOCK_SIZE) * KV_BLOCK_SIZE if per_token else 0
        stages.append(StageMemory(index, count, weight, per_token, free, tokens))
    holding = [s for s in stages if s.kv_bytes_per_token] or stages
    limiting = min(holding, key=lambda s: (s.kv_cache_tokens, -s.kv_bytes_per_token))
    return MemoryEstimate(
        tensor_parallel=tp,
        pipeline_parallel=pp,
        gpu_memory_bytes=gpu_memory_bytes,
        utilization=utilization,
        budget_bytes=budget,
        reserve_bytes=reserve_bytes,
        per_gpu_weights_bytes=max(weights),
        kv_bytes_per_token=limiting.kv_bytes_per_token,
        kv_cache_bytes=limiting.kv_cache_bytes,
        kv_cache_tokens=limiting.kv_cache_tokens,
        kv_cache_dtype_bytes=kv_dt,
        max_model_len=length,
        model_max_context=model.max_context,
        stages=tuple(stages),
    )


def memory_violations(estimate: MemoryEstimate, *, min_concurrency: float = 4.0) -> list[ModelViolation]:
    """Errors when vLLM would refuse to start (weights do not fit, the KV cache cannot hold one
    max-length request, max_model_len above the model's), a warning below ``min_concurrency``."""
    e = estimate
    found: list[ModelViolation] = []
    usable = f"{gib(e.budget_bytes)} usable ({e.utilization:g} x {gib(e.gpu_memory_bytes)})"
    if e.max_model_len > e.model_max_context:
        found.append(
            ModelViolation(
                MAX_LEN_EXCEEDS_MODEL,
                f"User-specified max_model_len ({e.max_model_len}) is greater than the derived max_model_len "
                f"({e.model_max_context}) in model's config.json.",
            )
        )
    if not e.weights_fit:
        found.append(
            ModelViolation(
                WEIGHTS_EXCEED_MEMORY,
                f"weights need {gib(e.per_gpu_weights_bytes)} per GPU (largest stage) + {gib(e.reserve_bytes)} "
                f"reserve, more than the {usable} at TP={e.tensor_parallel} PP={e.pipeline_parallel}",
            )
        )
        return found
    needed = e.max_model_len * e.kv_bytes_per_token
    if e.kv_cache_tokens < e.max_model_len:
        found.append(
            ModelViolation(
                KV_BELOW_CONTEXT,
                f"To serve at least one request with the model's max seq len ({e.max_model_len}), "
                f"({needed / GIB:.2f} GiB KV cache is needed, which is larger than the available KV cache "
                f"memory ({e.kv_cache_bytes / GIB:.2f} GiB). Based on the available memory, the estimated maximum "
                f"model length is {e.kv_cache_tokens}. (predicted: weights {gib(e.per_gpu_weights_bytes)} + "
                f"reserve {gib(e.reserve_bytes)} of {usable})",
            )
        )
    elif e.concurrency < min_concurrency:
        found.append(
            ModelViolation(
                KV_LOW_CONCURRENCY,
                f"the KV cache holds {e.kv_cache_tokens:,} tokens, {e.concurrency:.2f} concurrent requests of "
                f"{e.max_model_len:,} tokens (fewer than {min_concurrency:g})",
                severity="warning",
            )
        )
    return found
