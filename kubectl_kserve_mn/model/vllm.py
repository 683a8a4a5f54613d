"""What vLLM's V1 engine (0.10 and later) keeps outside the weights and the KV cache, and the memory it
budgets from (pure).

vLLM's start-up (vllm-project/vllm@v0.11.0: vllm/v1/worker/gpu_worker.py ``determine_available_memory``,
vllm/utils/__init__.py ``memory_profiling``)::

    requested   = total memory CUDA reports x gpu_memory_utilization
    KV cache    = requested - (weights + torch peak increase + non-torch increase) [- CUDA graphs, 0.21+]

* **Base**: ``torch.cuda.mem_get_info()`` total, which is the device memory minus what the driver keeps
  for itself; the GFD label ``nvidia.com/gpu.memory`` is NVML's total, larger by that amount (an H100 80GB
  HBM3 labelled 81,559 MiB reports 79.18-79.19 GiB to CUDA).
* **Activation** (torch peak increase): the profile run is one forward pass of ``max_num_batched_tokens``
  tokens, then the sampler warm-up on ``min(max_num_seqs, max_num_batched_tokens)`` dummy requests
  (gpu_model_runner.py ``profile_run``, ``_dummy_run``, ``_dummy_sampler_run``) with top-k = vocab-1 and
  top-p = 0.9. The sampler's peak is ``requests x vocab x bytes per logit``, which dominates for every
  model with a large vocabulary; its bytes depend on the top-k/top-p implementation of the release.
* **Non-torch**: cuBLAS/NCCL workspaces and, with TP > 1, the all-reduce buffers.
* **CUDA graphs**: captured after the KV cache is allocated, outside the budget, until 0.21 made
  ``VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS`` default on and subtracts a profiled estimate.

The defaults of ``max_num_batched_tokens`` / ``max_num_seqs`` follow vllm/engine/arg_utils.py
``_set_default_args`` (OpenAI server: 8192 / 1024 on GPUs of 70 GiB or more other than A100, else
2048 / 256).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from kubectl_kserve_mn.errors import InputError

GIB = 1 << 30
MIB = 1 << 20

SamplerPath = Literal["flashinfer", "sort", "triton"]

# Bytes per logit element (requests x vocab) at the sampler warm-up's peak.
# sort: vllm/v1/sample/ops/topk_topp_sampler.py apply_top_k_top_p: bf16 logits (2) + their fp32 copy (4) +
#   logits.sort() values (4) and int64 indices (8) + the scratch of PyTorch's segmented cub sort for rows
#   above 4096 elements (aten/src/ATen/native/cuda/Sort.h should_use_small_sort, SortStable.cu: an int64
#   index iota and the key/value double buffers, 8 + 4 + 8) = 38. Measured: Llama-3.1-8B 4.76 GiB, Qwen3-0.6B
#   5.56 GiB, gpt-oss-20b 7.38 GiB of activation are 38.4-38.9 bytes x 1024 requests x vocab.
# flashinfer / triton: bf16 logits (2) + fp32 copy (4) + masked logits or probabilities (4) + the sampled
#   distribution (4) = 14, no sort. Measured (vLLM 0.19): Gemma-2 (vocab 256,000) 3.62-3.66 GiB,
#   Llama-3.1-8B 1.89 GiB; (vLLM 0.11.0 image, FlashInfer) Mistral-Small-3.2-24B 2.12 GiB.
SAMPLER_BYTES: dict[SamplerPath, int] = {"sort": 38, "flashinfer": 14, "triton": 14}


@dataclass(frozen=True)
class VllmEra:
    """The memory-relevant behaviour of a range of vLLM releases."""

    key: str  # "0.12" = from 0.12.0 up to the next era
    first: tuple[int, int]
    sampler: SamplerPath
    non_torch_bytes: int  # non-torch increase at TP = 1
    non_torch_tp_bytes: int  # added per GPU when TP > 1 (all-reduce buffers)
    cuda_graphs_in_budget: bool
    why: str

    @property
    def sampler_bytes(self) -> int:
        return SAMPLER_BYTES[self.sampler]


VLLM_ERAS: tuple[VllmEra, ...] = (
    VllmEra(
        "0.10",
        (0, 10),
        "sort",
        round(0.13 * GIB),
        round(0.42 * GIB),
        False,
        "v0.12.0-v0.16.0 topk_topp_sampler.py: FlashInfer only with VLLM_USE_FLASHINFER_SAMPLER=1, else "
        "logits.sort(); v0.10-v0.11 use FlashInfer only where it is installed (the vllm-openai images), so "
        "pip installs sort too (vllm-project/vllm#23278, v0.10.1: 7.43 GiB of reserve for gpt-oss-120b); "
        "llm-d H100 runs: non-torch 0.13 GiB at TP=1, 0.55 GiB at TP=2",
    ),
    VllmEra(
        "0.17",
        (0, 17),
        "triton",
        round(0.25 * GIB),
        round(1.83 * GIB),
        False,
        "v0.17.1/v0.19.0 apply_top_k_top_p_triton (no sort); llm-d-planner v0.19.0 H100 runs: non-torch "
        "0.24-0.25 GiB at TP=1, 2.06-2.17 GiB at TP=2-4",
    ),
    VllmEra(
        "0.21",
        (0, 21),
        "flashinfer",
        round(0.25 * GIB),
        round(1.83 * GIB),
        True,
        "v0.21.0 envs.py: VLLM_USE_FLASHINFER_SAMPLER and VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS default "
        "on (CUDA graphs taken from the KV budget)",
    ),
)

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[.+-].*)?$")


def vllm_eras(version: str | None) -> tuple[VllmEra, ...]:
    """The era of ``version`` ("0.19.1", "v0.11.0"), or every era when it is None (unknown): the
    estimate then takes the largest reserve of them, so a version it was not told cannot make it
    optimistic."""
    if version is None:
        return VLLM_ERAS
    match = _VERSION.match(version.strip())
    if not match:
        raise InputError(f"invalid vLLM version {version!r}: expected MAJOR.MINOR[.PATCH], e.g. 0.11.0")
    major, minor = int(match.group(1)), int(match.group(2))
    if (major, minor) < VLLM_ERAS[0].first:
        raise InputError(
            f"vLLM {version} is older than 0.10: the memory model follows the V1 engine of vLLM 0.10 and later"
        )
    chosen = VLLM_ERAS[0]
    for era in VLLM_ERAS:
        if (major, minor) >= era.first:
            chosen = era
    return (chosen,)


# --- the base: what CUDA reports -------------------------------------------------------------------

# Memory the driver keeps, as the difference between the GFD/NVML label and the total vLLM logs
# ("Free memory on device (free/total GiB) on startup"). Keys match the product label case-insensitively
# as substrings; the first match wins.
DRIVER_RESERVED: tuple[tuple[str, int, str], ...] = (
    (
        "h100-80gb",
        81559 * MIB - round(79.185 * GIB),
        "H100 80GB HBM3: label 81,559 MiB, CUDA total 79.18 GiB (llm-d, vLLM 0.11) and 79.19 GiB "
        "(llm-d-planner, vLLM 0.19)",
    ),
    (
        "a100",
        81920 * MIB - round(79.32 * GIB),
        "A100 80GB: label 81,920 MiB, CUDA total 79.32 GiB (vllm-project/vllm-omni#276)",
    ),
    (
        "h200",
        143771 * MIB - round(139.72 * GIB),
        "H200: label 143,771 MiB, CUDA total 139.72 GiB (vllm-project/vllm#23192)",
    ),
)
# Unknown products: the largest reserve seen above, so the base is never overstated.
DEFAULT_DRIVER_RESERVED = max(reserved for _, reserved, _ in DRIVER_RESERVED)


@dataclass(frozen=True)
class DeviceBase:
    label_bytes: int  # the node label's (or --gpu-memory's) total
    driver_reserved_bytes: int
    product: str | None
    known: bool  # the product's reserve was measured

    @property
    def cuda_total_bytes(self) -> int:
        return max(0, self.label_bytes - self.driver_reserved_bytes)


def device_base(label_bytes: int, product: str | None) -> DeviceBase:
    key = (product or "").lower()
    for pattern, reserved, _ in DRIVER_RESERVED:
        if pattern in key:
            return DeviceBase(label_bytes, reserved, product, True)
    return DeviceBase(label_bytes, DEFAULT_DRIVER_RESERVED, product, False)


@dataclass(frozen=True)
class SchedulerLimits:
    max_num_batched_tokens: int
    max_num_seqs: int

    @property
    def sampler_requests(self) -> int:
        return min(self.max_num_seqs, self.max_num_batched_tokens)


def scheduler_limits(
    cuda_total_bytes: int,
    product: str | None,
    *,
    max_num_batched_tokens: int | None = None,
    max_num_seqs: int | None = None,
    max_model_len: int | None = None,
    chunked_prefill: bool = True,
) -> SchedulerLimits:
    """vLLM's defaults for the OpenAI server (arg_utils.py ``_set_default_args``), overridden by the
    values given. Without chunked prefill, the batch must hold a whole ``max_model_len`` prompt."""
    large = cuda_total_bytes >= 70 * GIB and "a100" not in (product or "").lower()
    tokens = max_num_batched_tokens or (8192 if large else 2048)
    if not chunked_prefill and max_num_batched_tokens is None and max_model_len:
        tokens = max(tokens, max_model_len)
    seqs = max_num_seqs or min(1024 if large else 256, tokens)
    return SchedulerLimits(tokens, seqs)
