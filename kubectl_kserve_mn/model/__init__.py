"""Model facts, vLLM's layout rules and the per-GPU memory / KV-cache estimate (issue 6).

Pure functions over a model's ``config.json`` (see ``facts``), except ``load_model`` (``source``), which
reads local files or the Hugging Face Hub. The layout rules follow vLLM 0.33.0 (docs/vllm-constraints.md);
the memory model follows the V1 engine of vLLM 0.10 and later (docs/memory-model.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported on first use (PEP 562): the inventory needs only the GPU-memory label reader, and importing
# the whole package (memory model, vLLM tables, quantization rules) would cost every command's start-up.
if TYPE_CHECKING:
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

_HOME: dict[str, str] = {
    "DEFAULT_GPU_MEMORY_UTILIZATION": "memory",
    "DEFAULT_RESERVE_BYTES": "memory",
    "HEADS_NOT_DIVISIBLE": "rules",
    "INTERMEDIATE_NOT_DIVISIBLE": "rules",
    "KV_BELOW_CONTEXT": "memory",
    "KV_HEADS_NOT_DIVISIBLE": "rules",
    "KV_LOW_CONCURRENCY": "memory",
    "LayerWeights": "weights",
    "MAX_LEN_EXCEEDS_MODEL": "memory",
    "MEMORY_TIGHT": "memory",
    "MLAInfo": "weights",
    "MODEL_ANNOTATION": "source",
    "MemoryEstimate": "memory",
    "ModelFacts": "facts",
    "ModelViolation": "rules",
    "PP_EXCEEDS_LAYERS": "rules",
    "PP_SUPPORTED_ARCHITECTURES": "facts",
    "PP_UNSUPPORTED": "rules",
    "QUANT_BLOCK_MISALIGNED": "rules",
    "QuantInfo": "quant",
    "Reserve": "memory",
    "StageMemory": "memory",
    "WEIGHTS_EXCEED_MEMORY": "memory",
    "allowed_tensor_parallel": "rules",
    "derive_max_context": "facts",
    "estimate_memory": "memory",
    "gpu_memory_from_labels": "gpu",
    "kv_cache_dtype_bytes": "memory",
    "layout_violations": "rules",
    "load_model": "source",
    "memory_violations": "memory",
    "model_from_config": "facts",
    "model_spec_from_isvc": "source",
    "parse_memory_size": "gpu",
    "parse_quantization": "quant",
    "pp_partition": "rules",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
