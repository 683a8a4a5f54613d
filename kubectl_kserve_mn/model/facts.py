"""Model facts from a Hugging Face ``config.json``: shapes, quantization, context length, parameters and
weight bytes (pure; no I/O).

The parameter formula uses the standard HF module shapes (the same logic as the "computed" figures of the
model SOURCES notes): per layer q/k/v/o (+ biases, q/k-norm), the MLP or the experts and router, two
RMSNorms; plus embeddings, lm_head unless tied, and the final norm. It reproduces the published
``metadata.total_size`` of Llama-3.1-8B/70B and Mixtral-8x7B exactly.

Weight bytes are per component: unquantized tensors at the checkpoint dtype, quantized linears at the
quantization's bits plus its scales (FP8 block: fp32 scale per block; MXFP4: 4 bits + an 8-bit scale per
32; AWQ/GPTQ: packed ints + fp16 scales and packed zeros per group). A ``model.safetensors.index.json``
(its ``metadata.total_size``) overrides the computed total; the decoder layers are then scaled to match,
so the per-GPU estimate follows the real checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kubectl_kserve_mn.errors import InputError

# Bytes per element of the checkpoint dtype (config ``torch_dtype`` / ``dtype``).
DTYPE_BYTES: dict[str, int] = {
    "bfloat16": 2,
    "float16": 2,
    "half": 2,
    "float32": 4,
    "float": 4,
    "float64": 8,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
}

# Architectures that implement vLLM's ``SupportsPP`` (vllm-constraints.md §1.1, vLLM 0.33.0
# vllm/model_executor/models/*.py). MistralForCausalLM is vLLM's LlamaForCausalLM subclass.
PP_SUPPORTED_ARCHITECTURES: frozenset[str] = frozenset(
    {
        "LlamaForCausalLM",
        "MistralForCausalLM",
        "Qwen2ForCausalLM",
        "Qwen3ForCausalLM",
        "Qwen3MoeForCausalLM",
        "MixtralForCausalLM",
        "DeepseekV2ForCausalLM",
        "DeepseekV3ForCausalLM",
        "GptOssForCausalLM",
        "Glm4MoeForCausalLM",
    }
)

# vLLM's CONFIG_FIELD_ALIASES for the KV head count (vllm/transformers_utils/config.py), first wins.
_KV_HEAD_KEYS = (
    "n_head_kv",
    "num_kv_heads",
    "num_key_value_heads",
    "multi_query_group_num",
    "num_attention_groups",
)
# Keys vLLM's _get_and_verify_max_len reads; the smallest present wins (vllm/config/model.py).
_MAX_LEN_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "model_max_length",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
)

WeightBytesSource = Literal["safetensors-index", "computed"]


@dataclass(frozen=True)
class QuantInfo:
    """A checkpoint's weight quantization, as far as layout and size are concerned."""

    method: str  # quant_method: fp8, mxfp4, awq, gptq, compressed-tensors, modelopt, fbgemm_fp8, ...
    bits: int | None = None  # weight bits (8 for FP8, 4 for MXFP4/AWQ/GPTQ int4); None when unknown
    block_size: tuple[int, int] | None = None  # FP8 block (block_n, block_k), e.g. (128, 128)
    group_size: int | None = None  # AWQ/GPTQ/compressed-tensors group size along the input dim
    kv_cache_dtype: str | None = None  # "fp8" when the checkpoint configures an FP8 KV cache
    quantizes_attention: bool = True  # False when the attention projections stay unquantized
    experts_only: bool = False  # MXFP4 in gpt-oss quantizes the MoE experts only

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method}
        if self.bits is not None:
            out["bits"] = self.bits
        if self.block_size is not None:
            out["blockSize"] = list(self.block_size)
        if self.group_size is not None:
            out["groupSize"] = self.group_size
        if self.kv_cache_dtype is not None:
            out["kvCacheDtype"] = self.kv_cache_dtype
        return out


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
class LayerWeights:
    """Loaded bytes of one decoder layer by how vLLM shards them."""

    sharded: int  # split over TP (column/row-parallel linears, their biases)
    replicated: int  # on every TP rank (norms, routers, MLA down-projections, row-parallel biases)
    kv_proj: int  # K/V projections: split over TP down to one KV head per rank, then replicated
    experts: int  # routed experts: a 1/TP slice of every expert, or whole experts under EP
    moe: bool

    def per_rank(self, tp: int, *, kv_heads: int, num_experts: int, expert_parallel: bool) -> int:
        kv_share = self.kv_proj * max(1, kv_heads // tp) // kv_heads if kv_heads else 0
        if expert_parallel and num_experts:
            # determine_expert_map: E // EP each, the remainder on the last rank (the largest).
            most = num_experts // tp + num_experts % tp
            experts = self.experts * most // num_experts
        else:
            experts = self.experts // tp
        return self.sharded // tp + self.replicated + kv_share + experts


@dataclass(frozen=True)
class ModelFacts:
    name: str
    architecture: str
    model_type: str
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    hidden_size: int
    intermediate_size: int  # the dense MLP's (config ``intermediate_size``)
    moe_intermediate_size: int | None  # per routed expert; None for dense models
    num_experts: int  # routed experts, 0 for dense models
    dense_mlp_layers: int  # layers with a dense MLP of ``intermediate_size``
    shared_expert_intermediate_size: int | None  # TP-sharded even under EP
    vocab_size: int
    tie_word_embeddings: bool
    mla: MLAInfo | None
    dtype: str
    quantization: QuantInfo | None
    max_context: int
    parameters: int  # what vLLM loads (DeepSeek's MTP layer excluded)
    mtp_parameters: int  # DeepSeek/Kimi next-token-prediction layers (in the checkpoint, not loaded)
    weight_bytes: int  # checkpoint bytes
    weight_bytes_source: WeightBytesSource
    embedding_bytes: int  # loaded bytes of embed_tokens (split over TP on the first stage)
    lm_head_bytes: int  # loaded bytes of lm_head on the last stage (the embedding itself when tied, PP=1)
    layers: tuple[LayerWeights, ...]
    supports_pp: bool

    @property
    def weights_dtype(self) -> str:
        """The weights' format for display: the torch dtype, or the quantization (e.g. "fp8 block 128x128")."""
        q = self.quantization
        if q is None:
            return self.dtype
        if q.block_size is not None:
            return f"{q.method} block {q.block_size[0]}x{q.block_size[1]}"
        if q.experts_only:
            return f"{q.method} experts, {self.dtype}"
        if q.group_size is not None and q.bits is not None:
            return f"{q.method} int{q.bits} g{q.group_size}"
        return q.method

    def kv_bytes_per_token(
        self, tensor_parallel: int = 1, layers: int | None = None, dtype_bytes: int = 2
    ) -> int:
        """KV cache bytes per token on one GPU for ``layers`` layers (default all), vLLM's formula
        (vllm/v1/kv_cache_interface.py): 2 x max(1, kv_heads // TP) x head_dim x dtype per layer,
        or the MLA latent (not split by TP)."""
        count = self.num_layers if layers is None else layers
        if self.mla is not None:
            return count * self.mla.latent_dim * dtype_bytes
        return count * 2 * max(1, self.num_kv_heads // tensor_parallel) * self.head_dim * dtype_bytes

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "architecture": self.architecture,
            "parameters": self.parameters,
            "weightBytes": self.weight_bytes,
            "weightBytesSource": self.weight_bytes_source,
            "dtype": self.weights_dtype,
            "torchDtype": self.dtype,
            "quantization": self.quantization.to_json() if self.quantization else None,
            "layers": self.num_layers,
            "attentionHeads": self.num_attention_heads,
            "kvHeads": self.num_kv_heads,
            "headDim": self.head_dim,
            "hiddenSize": self.hidden_size,
            "intermediateSize": self.intermediate_size,
            "experts": self.num_experts,
            "maxContext": self.max_context,
            "supportsPipelineParallel": self.supports_pp,
        }
        if self.moe_intermediate_size is not None:
            out["moeIntermediateSize"] = self.moe_intermediate_size
        if self.mla is not None:
            out["mla"] = {"kvLoraRank": self.mla.kv_lora_rank, "qkRopeHeadDim": self.mla.qk_rope_head_dim}
        if self.mtp_parameters:
            out["mtpParameters"] = self.mtp_parameters
        return out


# --- config reading -------------------------------------------------------------------------------


def _int(cfg: Mapping[str, Any], key: str, name: str, default: int | None = None) -> int:
    value = cfg.get(key)
    if value is None:
        if default is not None:
            return default
        raise InputError(f"config.json for {name}: missing {key}")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"config.json for {name}: {key} must be a non-negative integer, got {value!r}")
    return value


def _opt_int(cfg: Mapping[str, Any], key: str, name: str) -> int | None:
    return _int(cfg, key, name) if cfg.get(key) is not None else None


def _first_int(cfg: Mapping[str, Any], keys: tuple[str, ...], name: str) -> int | None:
    for key in keys:
        if cfg.get(key) is not None:
            return _int(cfg, key, name)
    return None


def parse_quantization(qcfg: Any, name: str) -> QuantInfo | None:
    """QuantInfo from a ``quantization_config`` (or a ModelOpt ``hf_quant_config.json`` ``quantization``)."""
    if qcfg is None:
        return None
    if not isinstance(qcfg, Mapping):
        raise InputError(f"config.json for {name}: quantization_config must be an object")
    if "quantization" in qcfg and isinstance(qcfg["quantization"], Mapping):  # hf_quant_config.json shape
        qcfg = {"quant_method": "modelopt", **qcfg["quantization"]}
    method = str(qcfg.get("quant_method") or ("modelopt" if "quant_algo" in qcfg else "unknown")).lower()
    not_convert = [str(m) for m in qcfg.get("modules_to_not_convert") or qcfg.get("ignore") or []]
    attention = not any("self_attn" in m for m in not_convert)
    if method == "fp8":
        block = qcfg.get("weight_block_size")
        size = None
        if isinstance(block, list) and len(block) == 2 and all(isinstance(b, int) and b > 0 for b in block):
            size = (block[0], block[1])
        return QuantInfo("fp8", bits=8, block_size=size, quantizes_attention=attention)
    if method == "mxfp4":
        return QuantInfo("mxfp4", bits=4, group_size=32, quantizes_attention=False, experts_only=True)
    if method in ("awq", "gptq", "awq_marlin", "gptq_marlin"):
        bits = qcfg.get("bits", qcfg.get("w_bit", 4))
        group = qcfg.get("group_size", qcfg.get("q_group_size"))
        return QuantInfo(
            method,
            bits=bits if isinstance(bits, int) else 4,
            group_size=group if isinstance(group, int) and group > 0 else None,
            quantizes_attention=attention,
        )
    if method == "modelopt":
        algo = str(qcfg.get("quant_algo") or "").upper()
        kv = "fp8" if str(qcfg.get("kv_cache_quant_algo") or "").upper() == "FP8" else None
        if algo == "NVFP4":
            return QuantInfo("modelopt-nvfp4", bits=4, group_size=16, kv_cache_dtype=kv)
        return QuantInfo(
            "modelopt-fp8" if algo.startswith("FP8") else f"modelopt-{algo.lower()}", 8, kv_cache_dtype=kv
        )
    if method == "compressed-tensors":
        return _compressed_tensors(qcfg)
    if method == "fbgemm_fp8":
        return QuantInfo("fbgemm_fp8", bits=8)
    if method == "bitsandbytes":
        return QuantInfo("bitsandbytes", bits=4 if qcfg.get("load_in_4bit") else 8)
    return QuantInfo(method)


def _compressed_tensors(qcfg: Mapping[str, Any]) -> QuantInfo:
    kv_scheme = qcfg.get("kv_cache_scheme")
    kv = "fp8" if isinstance(kv_scheme, Mapping) and kv_scheme.get("num_bits") == 8 else None
    groups = qcfg.get("config_groups")
    weights: Mapping[str, Any] = {}
    if isinstance(groups, Mapping):
        for group in groups.values():
            if isinstance(group, Mapping) and isinstance(group.get("weights"), Mapping):
                weights = group["weights"]
                break
    bits = weights.get("num_bits")
    strategy = weights.get("strategy")
    block = weights.get("block_structure")
    block_size = None
    if strategy == "block" and isinstance(block, list) and len(block) == 2:
        block_size = (int(block[0]), int(block[1]))
    group = weights.get("group_size") if strategy == "group" else None
    return QuantInfo(
        "compressed-tensors",
        bits=bits if isinstance(bits, int) else None,
        block_size=block_size,
        group_size=group if isinstance(group, int) and group > 0 else None,
        kv_cache_dtype=kv,
    )


def derive_max_context(cfg: Mapping[str, Any]) -> int | None:
    """vLLM's derived max_model_len (vllm/config/model.py, _get_and_verify_max_len): the smallest of the
    length keys, scaled by the RoPE factor unless the rope type already accounts for it."""
    lengths = [
        cfg[k] for k in _MAX_LEN_KEYS if isinstance(cfg.get(k), int) and not isinstance(cfg.get(k), bool)
    ]
    if not lengths:
        return None
    derived = float(min(lengths))
    rope = cfg.get("rope_scaling")
    if isinstance(rope, Mapping) and isinstance(rope.get("factor"), (int, float)):
        rope_type = rope.get("rope_type", rope.get("type"))
        if rope_type not in ("su", "longrope", "llama3", "mrope", "default"):
            if rope_type == "yarn" and isinstance(rope.get("original_max_position_embeddings"), int):
                derived = float(rope["original_max_position_embeddings"])
            derived *= float(rope["factor"])
    return int(derived)


# --- weight bytes --------------------------------------------------------------------------------


def _linear_bytes(out: int, inp: int, quant: QuantInfo | None, quantized: bool, dtype_bytes: int) -> int:
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
class _Tally:
    """Parameters and bytes of one layer, by sharding mode."""

    params: int = 0
    sharded: int = 0
    replicated: int = 0
    kv_proj: int = 0
    experts: int = 0

    def add(self, mode: str, params: int, nbytes: int) -> None:
        self.params += params
        setattr(self, mode, getattr(self, mode) + nbytes)


@dataclass(frozen=True)
class _Shapes:
    h: int
    nh: int
    kv: int
    hd: int
    vocab: int
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


def _layer_tally(s: _Shapes, moe: bool, quant: QuantInfo | None, dt: int) -> _Tally:
    t = _Tally()
    q_attn = quant is not None and quant.quantizes_attention and not quant.experts_only
    q_mlp = quant is not None and not quant.experts_only

    def lin(mode: str, out: int, inp: int, quantized: bool, mult: int = 1) -> None:
        t.add(mode, out * inp * mult, _linear_bytes(out, inp, quant, quantized, dt) * mult)

    def vec(mode: str, n: int) -> None:
        t.add(mode, n, n * dt)

    if s.mla is not None:
        m = s.mla
        qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank:
            lin("replicated", m.q_lora_rank, s.h, q_attn)  # q_a_proj (ReplicatedLinear)
            vec("replicated", m.q_lora_rank)  # q_a_layernorm
            lin("sharded", s.nh * qk_head, m.q_lora_rank, q_attn)  # q_b_proj
        else:
            lin("sharded", s.nh * qk_head, s.h, q_attn)
        lin("replicated", m.kv_lora_rank + m.qk_rope_head_dim, s.h, q_attn)  # kv_a_proj_with_mqa
        vec("replicated", m.kv_lora_rank)  # kv_a_layernorm
        lin("sharded", s.nh * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank, q_attn)  # kv_b_proj
        lin("sharded", s.h, s.nh * m.v_head_dim, q_attn)  # o_proj
    else:
        lin("sharded", s.nh * s.hd, s.h, q_attn)
        lin("kv_proj", 2 * s.kv * s.hd, s.h, q_attn)
        lin("sharded", s.h, s.nh * s.hd, q_attn)
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
        q_exp = quant is not None
        lin("experts", 3 * s.moe_inter, s.h, q_exp, s.experts)  # gate, up, down of every routed expert
        if s.expert_bias:  # gpt-oss: gate_up and down biases of every expert
            vec("experts", s.experts * (2 * s.moe_inter + s.h))
        lin("replicated", s.experts, s.h, False)  # router (never quantized in vLLM)
        if s.router_bias:
            vec("replicated", s.experts)
        if s.score_bias:
            vec("replicated", s.experts)  # e_score_correction_bias
        if s.shared_inter:
            lin("sharded", 3 * s.shared_inter, s.h, q_mlp)
            if s.shared_gate:
                lin("replicated", 1, s.h, False)
    else:
        lin("sharded", 3 * s.inter, s.h, q_mlp)
    return t


def _is_moe_layer(cfg: Mapping[str, Any], index: int, experts: int) -> bool:
    if not experts:
        return False
    if "first_k_dense_replace" in cfg:  # DeepSeek / Kimi / GLM-4.5
        freq = cfg.get("moe_layer_freq") or 1
        return index >= int(cfg["first_k_dense_replace"] or 0) and index % int(freq) == 0
    if "decoder_sparse_step" in cfg or "mlp_only_layers" in cfg:  # Qwen2-MoE / Qwen3-MoE
        step = int(cfg.get("decoder_sparse_step") or 1)
        return index not in (cfg.get("mlp_only_layers") or []) and (index + 1) % step == 0
    return True


def model_from_config(
    config: Mapping[str, Any], name: str, *, index: Mapping[str, Any] | None = None
) -> ModelFacts:
    """ModelFacts from a config.json (and optionally a model.safetensors.index.json)."""
    if not isinstance(config, Mapping):
        raise InputError(f"config.json for {name}: expected a JSON object")
    cfg: dict[str, Any] = dict(config)
    text = cfg.get("text_config")
    if "num_hidden_layers" not in cfg and isinstance(text, Mapping):  # multimodal wrappers
        cfg = {**cfg, **text}
    archs = cfg.get("architectures")
    architecture = (
        str(archs[0]) if isinstance(archs, list) and archs else str(cfg.get("model_type") or "unknown")
    )

    layers = _int(cfg, "num_hidden_layers", name)
    heads = _int(cfg, "num_attention_heads", name)
    hidden = _int(cfg, "hidden_size", name)
    if layers == 0 or heads == 0 or hidden == 0:
        raise InputError(
            f"config.json for {name}: num_hidden_layers, num_attention_heads and hidden_size must be > 0"
        )
    kv_heads = _first_int(cfg, _KV_HEAD_KEYS, name) or heads
    head_dim = _opt_int(cfg, "head_dim", name) or hidden // heads
    vocab = _int(cfg, "vocab_size", name)
    inter = _int(cfg, "intermediate_size", name, default=4 * hidden)
    experts = _first_int(cfg, ("n_routed_experts", "num_local_experts", "num_experts"), name) or 0
    moe_inter = (_opt_int(cfg, "moe_intermediate_size", name) or inter) if experts else None
    tied = bool(cfg.get("tie_word_embeddings", False))

    mla = None
    if cfg.get("kv_lora_rank"):
        mla = MLAInfo(
            kv_lora_rank=_int(cfg, "kv_lora_rank", name),
            qk_rope_head_dim=_int(cfg, "qk_rope_head_dim", name),
            qk_nope_head_dim=_int(cfg, "qk_nope_head_dim", name),
            v_head_dim=_int(cfg, "v_head_dim", name),
            q_lora_rank=_opt_int(cfg, "q_lora_rank", name),
        )
    shared_inter: int | None = None
    if experts and cfg.get("n_shared_experts"):
        shared_inter = _int(cfg, "n_shared_experts", name) * (moe_inter or inter)
    elif experts and cfg.get("shared_expert_intermediate_size"):
        shared_inter = _int(cfg, "shared_expert_intermediate_size", name)

    dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16").replace("torch.", "")
    if dtype not in DTYPE_BYTES:
        raise InputError(f"config.json for {name}: unknown torch_dtype {dtype!r}")
    ckpt_dt = DTYPE_BYTES[dtype]
    load_dt = min(ckpt_dt, 2)  # vLLM's dtype "auto" casts float32 checkpoints to 16-bit
    quant = parse_quantization(cfg.get("quantization_config"), name)

    model_type = str(cfg.get("model_type") or "")
    is_gpt_oss = model_type == "gpt_oss"
    shapes = _Shapes(
        h=hidden,
        nh=heads,
        kv=kv_heads,
        hd=head_dim,
        vocab=vocab,
        inter=inter,
        moe_inter=moe_inter or 0,
        experts=experts,
        shared_inter=shared_inter,
        shared_gate=bool(shared_inter) and "shared_expert_intermediate_size" in cfg,
        mla=mla,
        qkv_bias=bool(cfg.get("attention_bias")) or model_type in ("qwen2", "qwen2_moe"),
        o_bias=bool(cfg.get("attention_bias")) and mla is None,
        qk_norm=model_type in ("qwen3", "qwen3_moe") or bool(cfg.get("use_qk_norm")),
        sinks=is_gpt_oss,
        expert_bias=is_gpt_oss,
        router_bias=is_gpt_oss,
        score_bias=cfg.get("topk_method") == "noaux_tc",
    )

    moe_flags = [_is_moe_layer(cfg, i, experts) for i in range(layers)]
    cache: dict[tuple[bool, int], _Tally] = {}

    def tally(moe: bool, dt: int) -> _Tally:
        if (moe, dt) not in cache:
            cache[(moe, dt)] = _layer_tally(shapes, moe, quant, dt)
        return cache[(moe, dt)]

    def total(t: _Tally) -> int:
        return t.sharded + t.replicated + t.kv_proj + t.experts

    embed_params = vocab * hidden
    params = embed_params + (0 if tied else embed_params) + hidden
    params += sum(tally(flag, ckpt_dt).params for flag in moe_flags)
    layer_ckpt = sum(total(tally(flag, ckpt_dt)) for flag in moe_flags)
    ends_ckpt = (embed_params + (0 if tied else embed_params) + hidden) * ckpt_dt

    # DeepSeek-style MTP layers: a MoE decoder layer + enorm, hnorm, eh_proj, shared_head norm/head and
    # their own embed_tokens copy. In the checkpoint, loaded only for MTP speculative decoding.
    mtp_layers = int(cfg.get("num_nextn_predict_layers") or 0) if mla is not None else 0
    mtp_params = 0
    mtp_bytes = 0
    if mtp_layers:
        # Unique parameters: the embed/head copies are duplicates (README_WEIGHTS: "MTP 11.5B unique").
        mtp_params = mtp_layers * (tally(bool(experts), ckpt_dt).params + 3 * hidden + 2 * hidden * hidden)
        eh_proj = _linear_bytes(
            hidden, 2 * hidden, quant, quant is not None and not quant.experts_only, ckpt_dt
        )
        mtp_bytes = mtp_layers * (
            total(tally(bool(experts), ckpt_dt)) + eh_proj + (3 * hidden + 2 * embed_params) * ckpt_dt
        )
    computed = layer_ckpt + ends_ckpt + mtp_bytes

    weight_bytes, scale = computed, 1.0
    source: WeightBytesSource = "computed"
    total_size = None
    if index is not None:
        meta = index.get("metadata") if isinstance(index, Mapping) else None
        total_size = meta.get("total_size") if isinstance(meta, Mapping) else None
        if not isinstance(total_size, (int, float)) or isinstance(total_size, bool) or total_size <= 0:
            raise InputError(f"model.safetensors.index.json for {name}: missing metadata.total_size")
        weight_bytes, source = int(total_size), "safetensors-index"
        # Attribute the difference to the decoder layers (embeddings and lm_head sizes are exact).
        rest = weight_bytes - ends_ckpt
        base = layer_ckpt + mtp_bytes
        scale = rest / base if rest > 0 and base > 0 else weight_bytes / computed

    def scaled(n: int) -> int:
        return round(n * scale)

    layer_weights = tuple(
        LayerWeights(
            sharded=scaled(tally(flag, load_dt).sharded),
            replicated=scaled(tally(flag, load_dt).replicated),
            kv_proj=scaled(tally(flag, load_dt).kv_proj),
            experts=scaled(tally(flag, load_dt).experts),
            moe=flag,
        )
        for flag in moe_flags
    )
    max_context = derive_max_context(cfg)
    if max_context is None:
        raise InputError(f"config.json for {name}: no max_position_embeddings (or another context length)")
    return ModelFacts(
        name=name,
        architecture=architecture,
        model_type=model_type,
        num_layers=layers,
        num_attention_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        hidden_size=hidden,
        intermediate_size=inter,
        moe_intermediate_size=moe_inter,
        num_experts=experts,
        dense_mlp_layers=moe_flags.count(False),
        shared_expert_intermediate_size=shared_inter,
        vocab_size=vocab,
        tie_word_embeddings=tied,
        mla=mla,
        dtype=dtype,
        quantization=quant,
        max_context=max_context,
        parameters=params,
        mtp_parameters=mtp_params,
        weight_bytes=weight_bytes,
        weight_bytes_source=source,
        embedding_bytes=embed_params * load_dt,
        lm_head_bytes=embed_params * load_dt,
        layers=layer_weights,
        supports_pp=architecture in PP_SUPPORTED_ARCHITECTURES,
    )
