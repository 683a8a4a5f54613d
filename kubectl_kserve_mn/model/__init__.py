"""Model facts, vLLM's layout rules and the per-GPU memory / KV-cache estimate (issue 6).

Pure functions over a model's ``config.json`` (see ``facts``), except ``load_model`` (``source``), which
reads local files or the Hugging Face Hub. The layout rules follow vLLM 0.33.0 (docs/vllm-constraints.md);
the memory model follows the V1 engine of vLLM 0.10 and later (docs/memory-model.md).
"""

from __future__ import annotations

from kubectl_kserve_mn.model.facts import (
    PP_SUPPORTED_ARCHITECTURES,
    ModelFacts,
    derive_max_context,
    model_from_config,
)
from kubectl_kserve_mn.model.gpu import gpu_memory_from_labels, parse_memory_size
from kubectl_kserve_mn.model.memory import (
    DEFAULT_GPU_MEMORY_UTILIZATION,
    DEFAULT_RESERVE_BYTES,
    KV_BELOW_CONTEXT,
    KV_LOW_CONCURRENCY,
    MAX_LEN_EXCEEDS_MODEL,
    MEMORY_TIGHT,
    WEIGHTS_EXCEED_MEMORY,
    MemoryEstimate,
    Reserve,
    StageMemory,
    estimate_memory,
    kv_cache_dtype_bytes,
    memory_violations,
)
from kubectl_kserve_mn.model.quant import QuantInfo, parse_quantization
from kubectl_kserve_mn.model.rules import (
    HEADS_NOT_DIVISIBLE,
    INTERMEDIATE_NOT_DIVISIBLE,
    KV_HEADS_NOT_DIVISIBLE,
    PP_EXCEEDS_LAYERS,
    PP_UNSUPPORTED,
    QUANT_BLOCK_MISALIGNED,
    ModelViolation,
    allowed_tensor_parallel,
    layout_violations,
    pp_partition,
)
from kubectl_kserve_mn.model.source import MODEL_ANNOTATION, load_model, model_spec_from_isvc
from kubectl_kserve_mn.model.weights import LayerWeights, MLAInfo

__all__ = [
    "DEFAULT_GPU_MEMORY_UTILIZATION",
    "DEFAULT_RESERVE_BYTES",
    "HEADS_NOT_DIVISIBLE",
    "INTERMEDIATE_NOT_DIVISIBLE",
    "KV_BELOW_CONTEXT",
    "KV_HEADS_NOT_DIVISIBLE",
    "KV_LOW_CONCURRENCY",
    "MAX_LEN_EXCEEDS_MODEL",
    "MEMORY_TIGHT",
    "MODEL_ANNOTATION",
    "PP_EXCEEDS_LAYERS",
    "PP_SUPPORTED_ARCHITECTURES",
    "PP_UNSUPPORTED",
    "QUANT_BLOCK_MISALIGNED",
    "WEIGHTS_EXCEED_MEMORY",
    "LayerWeights",
    "MLAInfo",
    "MemoryEstimate",
    "ModelFacts",
    "ModelViolation",
    "QuantInfo",
    "Reserve",
    "StageMemory",
    "allowed_tensor_parallel",
    "derive_max_context",
    "estimate_memory",
    "gpu_memory_from_labels",
    "kv_cache_dtype_bytes",
    "layout_violations",
    "load_model",
    "memory_violations",
    "model_from_config",
    "model_spec_from_isvc",
    "parse_memory_size",
    "parse_quantization",
    "pp_partition",
]
