"""Model facts from a Hugging Face ``config.json``: shapes, attention kinds, quantization, context length,
parameters and weight bytes (pure; no I/O).

Every field is read through :mod:`~kubectl_kserve_mn.model.config` (type, range, finite), so a bad config
is refused in one line naming the file, the field and the value (exit 2). Weight bytes are computed per
component (:mod:`~kubectl_kserve_mn.model.weights`); they reproduce the published ``metadata.total_size``
of Llama-3.1-8B/70B and Mixtral-8x7B exactly. A ``model.safetensors.index.json`` (its
``metadata.total_size``) overrides the computed total; the decoder layers are then scaled to match, so the
per-GPU estimate follows the real checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kubectl_kserve_mn.inputs import BadInput, describe_value
from kubectl_kserve_mn.model.config import (
    MAX_BYTES,
    MAX_CONTEXT,
    MAX_EXPERTS,
    MAX_HEAD_DIM,
    MAX_HEADS,
    MAX_HIDDEN,
    MAX_INTERMEDIATE,
    MAX_LAYERS,
    MAX_VOCAB,
    MAX_WINDOW,
    ConfigReader,
)
from kubectl_kserve_mn.model.quant import QuantInfo, quant_from, read_quantization
from kubectl_kserve_mn.model.weights import (
    LayerWeights,
    MLAInfo,
    Mxfp4Experts,
    Shapes,
    Tally,
    VisionTower,
    converted,
    layer_tally,
    linear_bytes,
    vision_tower,
)

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
_EXPERT_KEYS = ("n_routed_experts", "num_local_experts", "num_experts")
_TOPK_KEYS = ("num_experts_per_tok", "experts_per_token", "moe_topk")
_SLIDING = "sliding_attention"
_LAYER_TYPES = frozenset({_SLIDING, "full_attention"})
# Vision towers whose MLP is gated (three matrices): Pixtral (Mistral3), Qwen2/2.5-VL, Llama-4.
_GATED_VISION = frozenset({"pixtral", "qwen2_5_vl", "qwen2_vl", "llama4"})

WeightBytesSource = Literal["safetensors-index", "computed"]
Family = Literal["dense", "moe", "multimodal"]


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
    experts_per_token: int  # top-k routing (0 for dense models)
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
    attention_windows: tuple[int | None, ...] = ()
    """Per decoder layer: the sliding window in tokens, or None for full attention."""
    vision: VisionTower | None = None

    @property
    def family(self) -> Family:
        if self.vision is not None:
            return "multimodal"
        return "moe" if self.num_experts else "dense"

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

    def window(self, layer: int) -> int | None:
        return self.attention_windows[layer] if self.attention_windows else None

    def kv_bytes_per_token(
        self, tensor_parallel: int = 1, layers: int | None = None, dtype_bytes: int = 2
    ) -> int:
        """KV cache bytes per token on one GPU for ``layers`` layers (default all), counting every layer
        as full attention, vLLM's page formula (vllm/v1/kv_cache_interface.py): 2 x max(1, kv_heads // TP)
        x head_dim x dtype per layer, or the MLA latent (not split by TP)."""
        count = self.num_layers if layers is None else layers
        if self.mla is not None:
            return count * self.mla.latent_dim * dtype_bytes
        return count * 2 * max(1, self.num_kv_heads // tensor_parallel) * self.head_dim * dtype_bytes

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "architecture": self.architecture,
            "family": self.family,
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
        windows = [w for w in self.attention_windows if w is not None]
        if windows:
            out["slidingWindowLayers"] = len(windows)
            out["slidingWindow"] = max(windows)
        if self.vision is not None:
            out["visionParameters"] = self.vision.parameters
        return out


# --- config reading -------------------------------------------------------------------------------


def _reader(config: Any, source: str | None, obj: str | None) -> ConfigReader:
    if not isinstance(config, Mapping):
        raise BadInput(f"{describe_value(config)} is not a JSON object", source=source, obj=obj)
    text = config.get("text_config")
    if text is not None and not isinstance(text, Mapping):
        raise BadInput(
            f"{describe_value(text)} is not an object", source=source, obj=obj, path=["text_config"]
        )
    if isinstance(text, Mapping) and "num_hidden_layers" not in config:  # multimodal wrappers
        return ConfigReader(((text, ("text_config",)), (config, ())), source, obj)
    return ConfigReader(((config, ()),), source, obj)


def derive_max_context(cfg: Mapping[str, Any]) -> int | None:
    """vLLM's derived max_model_len (vllm/config/model.py, _get_and_verify_max_len): the smallest of the
    length keys, scaled by the RoPE factor unless the rope type already accounts for it."""
    return _max_context(ConfigReader.of(cfg, source=None, obj=None))


def _max_context(r: ConfigReader) -> int | None:
    lengths = [(r.integer(k, maximum=MAX_CONTEXT), k) for k in _MAX_LEN_KEYS if r.has(k)]
    if not lengths:
        return None
    smallest, _ = min(lengths)
    derived = float(smallest)
    rope = r.sub("rope_scaling")
    factor = rope.number("factor", minimum=0, maximum=1e6) if rope is not None else None
    if rope is not None and factor is not None:
        rope_type = rope.raw("rope_type") or rope.raw("type")
        if rope_type not in ("su", "longrope", "llama3", "mrope", "default"):
            if rope_type == "yarn" and rope.has("original_max_position_embeddings"):
                derived = float(rope.integer("original_max_position_embeddings", maximum=MAX_CONTEXT))
            derived *= factor
            if derived > MAX_CONTEXT:
                raise rope.bad(
                    rope.path("factor"),
                    f"{describe_value(rope.raw('factor'))} makes the context {int(derived):,} tokens "
                    f"(at most {MAX_CONTEXT:,})",
                )
    return max(1, int(derived))


def _dtype(r: ConfigReader) -> str:
    key = "torch_dtype" if r.has("torch_dtype") else "dtype"
    raw = r.text(key) or "bfloat16"
    dtype = raw.replace("torch.", "")
    if dtype not in DTYPE_BYTES:
        raise r.bad(
            r.path(key), f"{describe_value(raw)} is an unknown torch_dtype (one of {', '.join(DTYPE_BYTES)})"
        )
    return dtype


def _windows(r: ConfigReader, layers: int, model_type: str) -> tuple[int | None, ...]:
    """Sliding window per layer as vLLM's model classes read it: ``layer_types`` (gpt-oss, Gemma 3,
    newer configs), else Gemma 2 (even layers) and Gemma 3 (all but every ``sliding_window_pattern``-th)."""
    window = r.opt_integer("sliding_window", maximum=MAX_WINDOW)
    types = r.strings("layer_types")
    if types:
        if len(types) != layers:
            raise r.bad(
                r.path("layer_types"), f"has {len(types)} entries for {layers} layers (num_hidden_layers)"
            )
        for index, kind in enumerate(types):
            if kind == _SLIDING and window is None:
                raise r.missing("sliding_window", f"layer_types[{index}] is {kind}")
        return tuple(window if kind == _SLIDING else None for kind in types)
    if window is None or not r.flag("use_sliding_window", default=True):
        return ()
    if model_type == "gemma2":
        return tuple(window if i % 2 == 0 else None for i in range(layers))
    if model_type in ("gemma3", "gemma3_text"):
        pattern = r.integer("sliding_window_pattern", maximum=MAX_LAYERS, default=6)
        return tuple(None if (i + 1) % pattern == 0 else window for i in range(layers))
    return ()


def _is_moe_layer(r: ConfigReader, index: int, experts: int, layers: int) -> bool:
    if not experts:
        return False
    if r.has("first_k_dense_replace"):  # DeepSeek / Kimi / GLM-4.5
        first = r.integer("first_k_dense_replace", minimum=0, maximum=MAX_LAYERS)
        freq = r.integer("moe_layer_freq", maximum=MAX_LAYERS, default=1)
        return index >= first and index % freq == 0
    if r.has("decoder_sparse_step") or r.has("mlp_only_layers"):  # Qwen2-MoE / Qwen3-MoE
        step = r.integer("decoder_sparse_step", maximum=MAX_LAYERS, default=1)
        dense = r.integers("mlp_only_layers", minimum=0, maximum=MAX_LAYERS)
        return index not in dense and (index + 1) % step == 0
    return True


def _vision(r: ConfigReader, text_hidden: int, dtype_bytes: int) -> VisionTower | None:
    v = r.sub("vision_config")
    if v is None:
        return None
    hidden = v.integer("hidden_size", maximum=MAX_HIDDEN, what="vision_config.hidden_size")
    layers = v.first_integer(("num_hidden_layers", "depth"), maximum=MAX_LAYERS)
    if layers is None:
        raise v.missing("num_hidden_layers")
    return vision_tower(
        hidden=hidden,
        intermediate=v.integer("intermediate_size", maximum=MAX_INTERMEDIATE, default=4 * hidden),
        layers=layers,
        patch=v.integer("patch_size", maximum=4096, default=14),
        channels=v.integer("num_channels", maximum=64, default=3),
        gated=(v.text("model_type") or "") in _GATED_VISION,
        text_hidden=text_hidden,
        merge=r.integer(
            "spatial_merge_size", maximum=64, default=v.integer("spatial_merge_size", maximum=64, default=1)
        ),
        dtype_bytes=dtype_bytes,
    )


def model_from_config(
    config: Mapping[str, Any],
    name: str,
    *,
    index: Mapping[str, Any] | None = None,
    source: str | None = None,
    obj: str | None = None,
    hf_quant: Mapping[str, Any] | None = None,
    hf_quant_origin: tuple[str | None, str | None] = (None, None),
    index_origin: tuple[str | None, str | None] = (None, None),
) -> ModelFacts:
    """ModelFacts from a config.json (and optionally a model.safetensors.index.json and a ModelOpt
    hf_quant_config.json). ``source`` and ``obj`` name the file (or Hugging Face id) and the object in
    error messages (default: ``model NAME``); the ``*_origin`` pairs do the same for the other files."""
    obj = obj or f"model {name}"
    r = _reader(config, source, obj)
    archs = r.strings("architectures")
    architecture = archs[0] if archs else (r.text("model_type") or "unknown")
    model_type = r.text("model_type") or ""

    layers = r.integer("num_hidden_layers", maximum=MAX_LAYERS)
    heads = r.integer("num_attention_heads", maximum=MAX_HEADS)
    hidden = r.integer("hidden_size", maximum=MAX_HIDDEN)
    vocab = r.integer("vocab_size", maximum=MAX_VOCAB)
    inter = r.integer("intermediate_size", maximum=MAX_INTERMEDIATE, default=4 * hidden)
    experts = r.first_integer(_EXPERT_KEYS, minimum=0, maximum=MAX_EXPERTS) or 0
    topk = 0
    if experts:
        topk = r.first_integer(_TOPK_KEYS, maximum=experts) or min(2, experts)
    moe_inter = (
        (r.opt_integer("moe_intermediate_size", maximum=MAX_INTERMEDIATE) or inter) if experts else None
    )
    tied = r.flag("tie_word_embeddings")

    mla = None
    if r.opt_integer("kv_lora_rank", minimum=0, maximum=MAX_HIDDEN):
        mla = MLAInfo(
            kv_lora_rank=r.integer("kv_lora_rank", maximum=MAX_HIDDEN),
            qk_rope_head_dim=r.integer("qk_rope_head_dim", maximum=MAX_HEAD_DIM),
            qk_nope_head_dim=r.integer("qk_nope_head_dim", maximum=MAX_HEAD_DIM),
            v_head_dim=r.integer("v_head_dim", maximum=MAX_HEAD_DIM),
            q_lora_rank=r.opt_integer("q_lora_rank", minimum=0, maximum=MAX_HIDDEN) or None,
        )
    kv_heads = r.first_integer(_KV_HEAD_KEYS, maximum=MAX_HEADS) or heads
    if mla is None and kv_heads > heads:
        key = next(k for k in _KV_HEAD_KEYS if r.has(k))
        raise r.bad(r.path(key), f"{kv_heads} is more than num_attention_heads ({heads})")
    head_dim = r.opt_integer("head_dim", maximum=MAX_HEAD_DIM) or hidden // heads
    if head_dim < 1:
        raise r.bad(
            r.path("hidden_size"), f"{hidden} is smaller than num_attention_heads ({heads}): no head_dim"
        )

    shared_inter: int | None = None
    if experts and r.opt_integer("n_shared_experts", minimum=0, maximum=MAX_EXPERTS):
        shared_inter = r.integer("n_shared_experts", maximum=MAX_EXPERTS) * (moe_inter or inter)
    elif experts and r.opt_integer("shared_expert_intermediate_size", minimum=0, maximum=MAX_INTERMEDIATE):
        shared_inter = r.integer("shared_expert_intermediate_size", maximum=MAX_INTERMEDIATE)

    dtype = _dtype(r)
    ckpt_dt = DTYPE_BYTES[dtype]
    load_dt = min(ckpt_dt, 2)  # vLLM's dtype "auto" casts float32 checkpoints to 16-bit
    quant = read_quantization(r, "quantization_config")
    if quant is None and hf_quant is not None:
        quant_source, quant_obj = hf_quant_origin
        if not isinstance(hf_quant, Mapping):
            raise BadInput(
                f"{describe_value(hf_quant)} is not a JSON object", source=quant_source, obj=quant_obj
            )
        quant = quant_from(ConfigReader.of(hf_quant, source=quant_source, obj=quant_obj or obj))

    is_gpt_oss = model_type == "gpt_oss"
    attention_bias = r.flag("attention_bias")
    shapes = Shapes(
        h=hidden,
        nh=heads,
        kv=kv_heads,
        hd=head_dim,
        inter=inter,
        moe_inter=moe_inter or 0,
        experts=experts,
        shared_inter=shared_inter,
        shared_gate=bool(shared_inter) and r.has("shared_expert_intermediate_size"),
        mla=mla,
        qkv_bias=attention_bias or model_type in ("qwen2", "qwen2_moe"),
        o_bias=attention_bias and mla is None,
        qk_norm=model_type in ("qwen3", "qwen3_moe") or r.flag("use_qk_norm"),
        sinks=is_gpt_oss,
        expert_bias=is_gpt_oss,
        router_bias=is_gpt_oss,
        score_bias=r.raw("topk_method") == "noaux_tc",
    )

    moe_flags = [_is_moe_layer(r, i, experts, layers) for i in range(layers)]
    cache: dict[tuple[bool, Any, int], Tally] = {}

    def tally(i: int, moe: bool, dt: int) -> Tally:
        conv = converted(quant, i)
        if (moe, conv, dt) not in cache:
            cache[(moe, conv, dt)] = layer_tally(shapes, moe, quant, conv, dt)
        return cache[(moe, conv, dt)]

    embed_params = vocab * hidden
    params = embed_params + (0 if tied else embed_params) + hidden
    params += sum(tally(i, flag, ckpt_dt).params for i, flag in enumerate(moe_flags))
    layer_ckpt = sum(tally(i, flag, ckpt_dt).total for i, flag in enumerate(moe_flags))
    ends_ckpt = (embed_params + (0 if tied else embed_params) + hidden) * ckpt_dt
    vision = _vision(r, hidden, ckpt_dt)
    if vision is not None:
        params += vision.parameters
        ends_ckpt += vision.bytes

    # DeepSeek-style MTP layers: a MoE decoder layer + enorm, hnorm, eh_proj, shared_head norm/head and
    # their own embed_tokens copy. In the checkpoint, loaded only for MTP speculative decoding.
    mtp_layers = (
        (r.opt_integer("num_nextn_predict_layers", minimum=0, maximum=64) or 0) if mla is not None else 0
    )
    mtp_params = 0
    mtp_bytes = 0
    if mtp_layers:
        last = layers - 1
        # Unique parameters: the embed/head copies are duplicates (README_WEIGHTS: "MTP 11.5B unique").
        mtp_params = mtp_layers * (
            tally(last, bool(experts), ckpt_dt).params + 3 * hidden + 2 * hidden * hidden
        )
        eh_proj = linear_bytes(
            hidden, 2 * hidden, quant, quant is not None and not quant.experts_only, ckpt_dt
        )
        mtp_bytes = mtp_layers * (
            tally(last, bool(experts), ckpt_dt).total + eh_proj + (3 * hidden + 2 * embed_params) * ckpt_dt
        )
    computed = layer_ckpt + ends_ckpt + mtp_bytes

    weight_bytes, scale = computed, 1.0
    weight_source: WeightBytesSource = "computed"
    if index is not None:
        total_size = _index_total_size(index, *index_origin, default_obj=obj)
        weight_bytes, weight_source = total_size, "safetensors-index"
        # Attribute the difference to the decoder layers (embeddings and lm_head sizes are exact).
        rest = weight_bytes - ends_ckpt
        base = layer_ckpt + mtp_bytes
        scale = rest / base if rest > 0 and base > 0 else weight_bytes / computed

    def scaled(n: int) -> int:
        return round(n * scale)

    mxfp4 = (
        Mxfp4Experts(experts, hidden, moe_inter or inter)
        if quant is not None and quant.method == "mxfp4" and experts
        else None
    )
    layer_weights = tuple(
        LayerWeights(
            sharded=scaled(tally(i, flag, load_dt).sharded),
            replicated=scaled(tally(i, flag, load_dt).replicated),
            kv_proj=scaled(tally(i, flag, load_dt).kv_proj),
            experts=scaled(tally(i, flag, load_dt).experts),
            moe=flag,
            mxfp4=mxfp4 if flag and converted(quant, i).experts else None,
        )
        for i, flag in enumerate(moe_flags)
    )
    max_context = _max_context(r)
    if max_context is None:
        raise r.missing("max_position_embeddings", "or another context length")
    windows = _windows(r, layers, model_type)
    loaded_vision = None
    if vision is not None:
        loaded_vision = VisionTower(vision.parameters, vision.parameters * load_dt)
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
        experts_per_token=topk,
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
        weight_bytes_source=weight_source,
        embedding_bytes=embed_params * load_dt,
        lm_head_bytes=embed_params * load_dt,
        layers=layer_weights,
        supports_pp=architecture in PP_SUPPORTED_ARCHITECTURES,
        attention_windows=windows if any(w is not None for w in windows) else (),
        vision=loaded_vision,
    )


def _index_total_size(index: Any, source: str | None, obj: str | None, *, default_obj: str) -> int:
    if not isinstance(index, Mapping):
        raise BadInput(f"{describe_value(index)} is not a JSON object", source=source, obj=obj or default_obj)
    r = ConfigReader.of(index, source=source, obj=obj or default_obj)
    meta = r.sub("metadata")
    if meta is None:
        raise r.missing("metadata", "metadata.total_size gives the checkpoint's bytes")
    return meta.integer("total_size", maximum=MAX_BYTES)
