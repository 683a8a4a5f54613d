"""What vLLM keeps on one GPU besides the weights and the KV cache, for one PP stage and one vLLM era,
and the estimate's own uncertainty (pure). The figures and their sources are in vllm.py and
docs/memory-model.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.model.facts import ModelFacts
from kubectl_kserve_mn.model.vllm import GIB, MIB, DeviceBase, SchedulerLimits, VllmEra

ACT_BYTES = 2  # activations in bf16/fp16
GRAPH_BYTES = MIB // 2  # device memory of one captured CUDA graph (kernel nodes and parameters)


# The estimate's own uncertainty, by term (see the module docstring and docs/memory-model.md).
WEIGHTS_UNCERTAINTY = 0.015
ACTIVATION_UNCERTAINTY = 0.20
NON_TORCH_UNCERTAINTY = 0.5
CUDA_GRAPH_UNCERTAINTY = 0.5
BASE_UNCERTAINTY_KNOWN = round(0.02 * GIB)
BASE_UNCERTAINTY_UNKNOWN = round(0.25 * GIB)


@dataclass(frozen=True)
class Reserve:
    """What vLLM keeps on one GPU besides weights and KV cache."""

    activation: int  # torch peak increase of the profile run
    non_torch: int
    cuda_graphs: int  # taken from the KV budget (vLLM 0.21+); 0 before
    sampler: int  # the sampler warm-up's share of the activation (last stage)
    forward: int  # the forward pass's peak
    era: str  # the vLLM era whose figures these are

    @property
    def total(self) -> int:
        return self.activation + self.non_torch + self.cuda_graphs

    def to_json(self) -> dict[str, Any]:
        return {
            "activationBytes": self.activation,
            "nonTorchBytes": self.non_torch,
            "cudaGraphsBytes": self.cuda_graphs,
            "totalBytes": self.total,
            "samplerWarmupBytes": self.sampler,
            "forwardPeakBytes": self.forward,
            "vllmEra": self.era,
        }


def _token_bytes(model: ModelFacts, tp: int) -> tuple[int, int]:
    """(residual stream, largest per-layer transient) activation elements per token on one GPU."""
    heads = max(1, model.num_attention_heads // tp)
    kv = max(1, model.num_kv_heads // tp)
    attention = (2 * heads + 2 * kv) * model.head_dim  # q, k, v projections out + attention out
    if model.num_experts:
        moe = model.moe_intermediate_size or model.intermediate_size
        mlp = model.experts_per_token * (3 * moe // tp + model.hidden_size) + 2 * model.num_experts
        if model.shared_expert_intermediate_size:
            mlp += 3 * model.shared_expert_intermediate_size // tp
        if model.dense_mlp_layers:
            mlp = max(mlp, 3 * model.intermediate_size // tp)
    else:
        mlp = 3 * model.intermediate_size // tp  # gate_up out + activation out
    return 3 * model.hidden_size, max(attention, mlp)


def profile_reserve(
    model: ModelFacts,
    tp: int,
    layers: int,
    *,
    first: bool,
    last: bool,
    era: VllmEra,
    limits: SchedulerLimits,
    cuda_graphs: bool,
) -> Reserve:
    stream, transient = _token_bytes(model, tp)
    tokens = limits.max_num_batched_tokens
    forward = tokens * (stream + transient) * ACT_BYTES
    if not first:  # the intermediate tensors received from the previous stage (hidden + residual)
        forward += 2 * tokens * model.hidden_size * ACT_BYTES
    if model.vision is not None and first:  # the encoder cache holds the dummy image embeddings
        forward += tokens * model.hidden_size * ACT_BYTES
    sampler = 0
    if last:
        requests = limits.sampler_requests
        held = tokens * model.hidden_size * ACT_BYTES + 2 * requests * model.hidden_size * ACT_BYTES
        sampler = requests * model.vocab_size * era.sampler_bytes + held
    non_torch = era.non_torch_bytes + (era.non_torch_tp_bytes if tp > 1 else 0)
    graphs = 0
    if era.cuda_graphs_in_budget and cuda_graphs:
        # One piecewise graph per capture size and per piece (a piece per layer, plus one), each holding
        # its instantiated kernels (~0.5 MiB), over one shared pool as large as the biggest piece's
        # activations (vLLM hands the intermediate outputs on as weak references). Sizes: 1, 2, 4, then
        # 8..248 by 8, then 256.. by 16 up to min(512, 2 x max_num_seqs) (vllm/config/compilation.py).
        largest = min(512, 2 * limits.max_num_seqs)
        sizes = len([n for n in (1, 2, 4, *range(8, 256, 8), *range(256, 1025, 16)) if n <= largest])
        graphs = sizes * (layers + 1) * GRAPH_BYTES + largest * (stream + transient) * ACT_BYTES
    return Reserve(max(forward, sampler), non_torch, graphs, sampler, forward, era.key)


def uncertainty(weights: int, reserve: Reserve, base: DeviceBase, spread: int) -> int:
    return round(
        spread
        + WEIGHTS_UNCERTAINTY * weights
        + ACTIVATION_UNCERTAINTY * reserve.activation
        + NON_TORCH_UNCERTAINTY * reserve.non_torch
        + CUDA_GRAPH_UNCERTAINTY * reserve.cuda_graphs
        + (BASE_UNCERTAINTY_KNOWN if base.known else BASE_UNCERTAINTY_UNKNOWN)
    )
