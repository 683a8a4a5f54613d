"""Bytes of a model's weights: per decoder layer by how vLLM shards them, the vision tower of a
multimodal checkpoint, and MXFP4 experts as vLLM pads them (pure).

The parameter formula uses the standard HF module shapes: per layer q/k/v/o (+ biases, q/k-norm), the
MLP or the experts and router, two RMSNorms; plus embeddings, lm_head unless tied, and the final norm.
Quantized linears are counted at the quantization's bits plus its scales (FP8 block: an fp32 scale per
block; MXFP4: 4 bits + an 8-bit scale per 32; AWQ/GPTQ: packed ints + fp16 scales and packed zeros per
group); a module the checkpoint lists as not converted stays at the checkpoint dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kubectl_kserve_mn.model.quant import QuantInfo

# MXFP4 MoE weights as vLLM allocates them on Hopper (vllm-project/vllm@v0.11.0:
# vllm/model_executor/layers/quantization/mxfp4.py create_weights: the intermediate size per partition is
# rounded up to 64, then the Triton backend's swizzled layout holds the hidden dimension rounded up to 256,
# as the Marlin backend does explicitly). gpt-oss-20b: hidden 2880 -> 3072.
MXFP4_INTERMEDIATE_ALIGN = 64
MXFP4_MARLIN_INTERMEDIATE_ALIGN = 128
MXFP4_HIDDEN_ALIGN = 256
MXFP4_BLOCK = 32


def round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


@dataclass(frozen=True)
class MLAInfo:
    """Multi-head latent attention (DeepSeek-V2/V3/R1, Kimi-K2): the KV cache holds one latent
    of ``kv_lora_rank + qk_rope_head_dim`` per token and layer, not split by TP."""

    kv_lora_rank: int
    qk_rope_head_dim: int
    qk_nope_head_dim: int
    v_head_dim: int
    q_lora_rank: int | None

    @property
    def latent_dim(self) -> int:
        return self.kv_lora_rank + self.qk_rope_head_dim


@dataclass(frozen=True)
class Mxfp4Experts:
    """Routed experts stored as MXFP4, sized per rank the way vLLM allocates them."""

    experts: int
    hidden: int
    intermediate: int

    def bytes_per_rank(self, tp: int, local_experts: int | None = None, *, marlin: bool = False) -> int:
        """Bytes on one rank; ``marlin`` for the Marlin backend (GPUs before Hopper, or no triton_kernels),
        which also rounds the intermediate size up to 128 (mxfp4.py create_weights)."""
        whole = self.intermediate if local_experts is not None else max(1, self.intermediate // tp)
        part = round_up(whole, MXFP4_MARLIN_INTERMEDIATE_ALIGN if marlin else MXFP4_INTERMEDIATE_ALIGN)
        hidden = round_up(self.hidden, MXFP4_HIDDEN_ALIGN)
        count = self.experts if local_experts is None else local_experts
        w13 = (
            2 * part * hidden // 2 + 2 * part * hidden // MXFP4_BLOCK + 2 * part * 2
        )  # weights, scales, bias
        w2 = hidden * part // 2 + hidden * part // MXFP4_BLOCK + hidden * 2
        return count * (w13 + w2)


@dataclass(frozen=True)
class LayerWeights:
    """Loaded bytes of one decoder layer by how vLLM shards them."""

    sharded: int  # split over TP (column/row-parallel linears, their biases)
    replicated: int  # on every TP rank (norms, routers, MLA down-projections, row-parallel biases)
    kv_proj: int  # K/V projections: split over TP down to one KV head per rank, then replicated
    experts: int  # routed experts: a 1/TP slice of every expert, or whole experts under EP
    moe: bool
    mxfp4: Mxfp4Experts | None = None

    def per_rank(self, tp: int, *, kv_heads: int, num_experts: int, expert_parallel: bool) -> int:
        kv_share = self.kv_proj * max(1, kv_heads // tp) // kv_heads if kv_heads else 0
        local: int | None = None
        if expert_parallel and num_experts:
            # determine_expert_map: E // EP each, the remainder on the last rank (the largest).
            local = num_experts // tp + num_experts % tp
        if self.mxfp4 is not None:
            experts = self.mxfp4.bytes_per_rank(tp, local)
        elif local is not None:
            experts = self.experts * local // num_experts
        else:
            experts = self.experts // tp
        return self.sharded // tp + self.replicated + kv_share + experts

    def backend_spread(self, tp: int, *, num_experts: int, expert_parallel: bool) -> int:
        """How much more the same layer takes on another MXFP4 backend (Marlin's padding), 0 otherwise."""
        if self.mxfp4 is None:
            return 0
        local = num_experts // tp + num_experts % tp if expert_parallel and num_experts else None
        return self.mxfp4.bytes_per_rank(tp, local, marlin=True) - self.mxfp4.bytes_per_rank(tp, local)


def linear_bytes(out: int, inp: int, quant: QuantInfo | None, quantized: bool, dtype_bytes: int) -> int:
    """Checkpoint bytes of one (out x in) linear weight."""
    count = out * inp
    if quant is None or not quantized or quant.bits is None:
        return count * dtype_bytes
    if quant.block_size is not None:  # FP8 block: e4m3 weights + an fp32 scale per block
        bn, bk = quant.block_size
        return count * quant.bits // 8 + math.ceil(out / bn) * math.ceil(inp / bk) * 4
    if quant.method == "mxfp4":  # 4-bit e2m1 + an 8-bit e8m0 scale per 32 (4.25 bits/param)
        return count // 2 + count // 32
    if quant.method == "modelopt-nvfp4":  # 4-bit + an fp8 scale per 16
        return count // 2 + count // 16
    if quant.group_size is not None:  # packed ints + fp16 scale and packed zero per group
        groups = math.ceil(inp / quant.group_size) * out
        return count * quant.bits // 8 + groups * 2 + groups * quant.bits // 8
    return count * quant.bits // 8 + out * 4  # per-channel (or per-tensor) scales


@dataclass
class Tally:
    """Parameters and bytes of one layer, by sharding mode."""

    params: int = 0
    sharded: int = 0
    replicated: int = 0
    kv_proj: int = 0
    experts: int = 0

    def add(self, mode: str, params: int, nbytes: int) -> None:
        self.params += params
        setattr(self, mode, getattr(self, mode) + nbytes)

    @property
    def total(self) -> int:
        return self.sharded + self.replicated + self.kv_proj + self.experts


@dataclass(frozen=True)
class Shapes:
    h: int
    nh: int
    kv: int
    hd: int
    inter: int
    moe_inter: int
    experts: int
    shared_inter: int | None
    shared_gate: bool
    mla: MLAInfo | None
    qkv_bias: bool
    o_bias: bool
    qk_norm: bool
    sinks: bool
    expert_bias: bool
    router_bias: bool
    score_bias: bool


@dataclass(frozen=True)
class Converted:
    """Which module kinds of one layer the checkpoint stores quantized."""

    q: bool = True
    k: bool = True
    v: bool = True
    o: bool = True
    mlp: bool = True  # dense MLP or shared experts
    experts: bool = True


# HF module names per kind, for matching modules_to_not_convert / ignore lists.
_MODULES: dict[str, tuple[str, ...]] = {
    "q": ("self_attn.q_proj", "self_attn.q_a_proj", "self_attn.q_b_proj"),
    "k": ("self_attn.k_proj", "self_attn.kv_a_proj_with_mqa", "self_attn.kv_b_proj"),
    "v": ("self_attn.v_proj",),
    "o": ("self_attn.o_proj",),
    "mlp": (
        "mlp.gate_proj",
        "mlp.up_proj",
        "mlp.down_proj",
        "mlp.shared_experts.gate_proj",
        "mlp.shared_expert.gate_proj",
    ),
    "experts": ("mlp.experts", "block_sparse_moe.experts"),
}


def converted(quant: QuantInfo | None, index: int) -> Converted:
    """What of layer ``index`` is quantized, after the checkpoint's list of modules not converted."""
    if quant is None:
        return Converted(False, False, False, False, False, False)
    if quant.experts_only:
        return Converted(False, False, False, False, False, not _skipped(quant, index, "experts"))
    return Converted(*(not _skipped(quant, index, kind) for kind in ("q", "k", "v", "o", "mlp", "experts")))


def _skipped(quant: QuantInfo, index: int, kind: str) -> bool:
    if not quant.not_converted:
        return False
    return quant.skips([f"model.layers.{index}.{module}" for module in _MODULES[kind]])


def layer_tally(s: Shapes, moe: bool, quant: QuantInfo | None, conv: Converted, dt: int) -> Tally:
    t = Tally()

    def lin(mode: str, out: int, inp: int, quantized: bool, mult: int = 1) -> None:
        t.add(mode, out * inp * mult, linear_bytes(out, inp, quant, quantized, dt) * mult)

    def vec(mode: str, n: int) -> None:
        t.add(mode, n, n * dt)

    if s.mla is not None:
        m = s.mla
        qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank:
            lin("replicated", m.q_lora_rank, s.h, conv.q)  # q_a_proj (ReplicatedLinear)
            vec("replicated", m.q_lora_rank)  # q_a_layernorm
            lin("sharded", s.nh * qk_head, m.q_lora_rank, conv.q)  # q_b_proj
        else:
            lin("sharded", s.nh * qk_head, s.h, conv.q)
        lin("replicated", m.kv_lora_rank + m.qk_rope_head_dim, s.h, conv.k)  # kv_a_proj_with_mqa
        vec("replicated", m.kv_lora_rank)  # kv_a_layernorm
        lin("sharded", s.nh * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank, conv.k)  # kv_b_proj
        lin("sharded", s.h, s.nh * m.v_head_dim, conv.o)  # o_proj
    else:
        lin("sharded", s.nh * s.hd, s.h, conv.q)
        lin("kv_proj", s.kv * s.hd, s.h, conv.k)
        lin("kv_proj", s.kv * s.hd, s.h, conv.v)
        lin("sharded", s.h, s.nh * s.hd, conv.o)
        if s.qkv_bias:
            vec("sharded", s.nh * s.hd)
            vec("kv_proj", 2 * s.kv * s.hd)
        if s.o_bias:
            vec("replicated", s.h)  # a row-parallel bias is added once, held by every rank
        if s.qk_norm:
            vec("replicated", 2 * s.hd)
        if s.sinks:
            vec("sharded", s.nh)
    vec("replicated", 2 * s.h)  # input_layernorm, post_attention_layernorm
    if moe:
        lin("experts", 2 * s.moe_inter, s.h, conv.experts, s.experts)  # gate and up of every expert
        lin("experts", s.h, s.moe_inter, conv.experts, s.experts)  # down
        if s.expert_bias:  # gpt-oss: gate_up and down biases of every expert
            vec("experts", s.experts * (2 * s.moe_inter + s.h))
        lin("replicated", s.experts, s.h, False)  # router (never quantized in vLLM)
        if s.router_bias:
            vec("replicated", s.experts)
        if s.score_bias:
            vec("replicated", s.experts)  # e_score_correction_bias
        if s.shared_inter:
            lin("sharded", 2 * s.shared_inter, s.h, conv.mlp)
            lin("sharded", s.h, s.shared_inter, conv.mlp)
            if s.shared_gate:
                lin("replicated", 1, s.h, False)
    else:
        lin("sharded", 2 * s.inter, s.h, conv.mlp)  # gate_up_proj
        lin("sharded", s.h, s.inter, conv.mlp)  # down_proj
    return t


@dataclass(frozen=True)
class VisionTower:
    """The vision encoder and projector of a multimodal checkpoint (loaded on the first PP stage, its
    linears sharded over TP like the language model's)."""

    parameters: int
    bytes: int


def vision_tower(
    *,
    hidden: int,
    intermediate: int,
    layers: int,
    patch: int,
    channels: int,
    gated: bool,
    text_hidden: int,
    merge: int,
    dtype_bytes: int,
) -> VisionTower:
    """A ViT's parameters: per layer q/k/v/o (4 h^2 with biases), the MLP (2 or 3 h x i, gated for
    Pixtral/Qwen-VL), two norms; the patch embedding; and a two-linear projector into the text model
    (the vision output, ``merge^2`` patches merged, to the text hidden size, then text to text)."""
    per_layer = 4 * hidden * hidden + 4 * hidden + (3 if gated else 2) * hidden * intermediate
    per_layer += intermediate + hidden + 4 * hidden  # MLP biases, two norms (weight + bias)
    embed = channels * patch * patch * hidden + hidden
    projector = hidden * merge * merge * text_hidden + text_hidden * text_hidden + 2 * text_hidden
    if merge > 1:
        projector += hidden * merge * merge * hidden  # the patch merger
    params = layers * per_layer + embed + projector + 2 * hidden
    return VisionTower(params, params * dtype_bytes)
