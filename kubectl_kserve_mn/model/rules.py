"""Which (TP, PP) layouts vLLM accepts for a model (pure).

The rules and messages are vLLM 0.33.0's (see vllm-constraints.md §1):
- ``ModelConfig.verify_with_parallel_config`` (vllm/config/model.py): attention heads % TP, SupportsPP.
- ``QKVParallelLinear`` (vllm/model_executor/layers/linear.py): KV heads % TP, or TP % KV heads.
- ``divide()`` in Column/RowParallelLinear (vllm/distributed/utils.py): intermediate sizes % TP.
- ``validate_fp8_block_shape(_moe)`` (quantization/utils/fp8_utils.py): shards a multiple of the block.
- GPTQ/AWQ ``create_weights`` (quantization/gptq.py, awq.py): the row-parallel input per rank a multiple of
  the group size.
- ``get_pp_indices`` (vllm/distributed/utils.py): the layer split across PP stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.model.facts import ModelFacts

Severity = Literal["error", "warning"]

HEADS_NOT_DIVISIBLE = "model-heads-not-divisible"
KV_HEADS_NOT_DIVISIBLE = "model-kv-heads-not-divisible"
INTERMEDIATE_NOT_DIVISIBLE = "model-intermediate-not-divisible"
QUANT_BLOCK_MISALIGNED = "model-quant-block-misaligned"
PP_EXCEEDS_LAYERS = "model-pp-exceeds-layers"
PP_UNSUPPORTED = "model-pp-unsupported"


@dataclass(frozen=True)
class ModelViolation:
    code: str
    message: str
    severity: Severity = "error"

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


def pp_partition(num_layers: int, pp: int, partition: str | None = None) -> list[int]:
    """Layers per PP stage, as vLLM's ``get_pp_indices``: an even split whose remainder goes to the
    stages before the last, from the second-to-last backwards; ``partition`` is a
    ``VLLM_PP_LAYER_PARTITION`` override ("31,32,32,31")."""
    if num_layers < 1 or pp < 1:
        raise InputError(f"cannot split {num_layers} layers over {pp} pipeline stages")
    if partition is not None:
        try:
            parts = [int(layer) for layer in partition.split(",")]
        except ValueError as err:
            raise InputError(f"Invalid partition string: {partition}") from err
        if len(parts) != pp:
            raise InputError(f"len(partitions)={len(parts)} does not match pp_size={pp}.")
        if sum(parts) != num_layers:
            raise InputError(f"sum(partitions)={sum(parts)} does not match num_hidden_layers={num_layers}.")
        return parts
    per = num_layers // pp
    parts = [per] * pp
    remaining = num_layers % pp
    for i in range(2, remaining + 2):
        parts[-i] += 1  # pp > layers leaves empty stages in vLLM too (caught by PP_EXCEEDS_LAYERS)
    return parts


def _block_messages(model: ModelFacts, tp: int, expert_parallel: bool) -> list[str]:
    """Quantization-shape failures for a block- or group-quantized checkpoint at this TP."""
    quant = model.quantization
    if quant is None or quant.experts_only or tp == 1:
        return []  # MXFP4 kernels pad the MoE dims (vllm-constraints.md §1.2)
    found: list[str] = []
    if quant.block_size is not None:
        block_n, block_k = quant.block_size
        if model.dense_mlp_layers:
            shard = model.intermediate_size // tp
            if shard % block_n:
                found.append(
                    f"Weight output_partition_size = {shard} is not divisible by "
                    f"weight quantization block_n = {block_n}."
                )
            elif shard % block_k:
                found.append(
                    f"Weight input_size_per_partition = {shard} is not divisible by "
                    f"weight quantization block_k = {block_k}."
                )
        if model.shared_expert_intermediate_size:
            shard = model.shared_expert_intermediate_size // tp
            if shard % block_n:
                found.append(
                    f"Weight output_partition_size = {shard} is not divisible by "
                    f"weight quantization block_n = {block_n} (shared experts)."
                )
        if model.moe_intermediate_size and not expert_parallel:
            shard = model.moe_intermediate_size // tp
            if shard % block_n:
                found.append(
                    f"The output_size of gate's and up's weight = {shard} is not divisible by "
                    f"weight quantization block_n = {block_n}."
                )
            elif shard % block_k:
                found.append(
                    f"The input_size of down's weight = {shard} is not divisible by "
                    f"weight quantization block_k = {block_k}."
                )
    elif quant.group_size is not None:
        sizes = []
        if model.dense_mlp_layers:
            sizes.append(model.intermediate_size)
        if model.shared_expert_intermediate_size:
            sizes.append(model.shared_expert_intermediate_size)
        if model.moe_intermediate_size and not expert_parallel:
            sizes.append(model.moe_intermediate_size)
        for size in sizes:
            shard = size // tp
            if shard % quant.group_size:
                found.append(
                    "The input size is not aligned with the quantized weight shape. This can be caused by too "
                    f"large tensor parallel size. ({size}/{tp} = {shard} is not a multiple of the "
                    f"{quant.method} group size {quant.group_size})"
                )
                break
    return found


def layout_violations(
    model: ModelFacts, tensor_parallel: int, pipeline_parallel: int, *, expert_parallel: bool = False
) -> list[ModelViolation]:
    """Why vLLM would refuse to start ``model`` at this TP x PP (empty when it accepts it).

    ``expert_parallel`` (--enable-expert-parallel) keeps whole experts per rank, so the MoE intermediate
    size is not split by TP.
    """
    tp, pp = tensor_parallel, pipeline_parallel
    if tp < 1 or pp < 1:
        raise InputError(f"tensor and pipeline parallel sizes must be >= 1, got TP={tp} PP={pp}")
    found: list[ModelViolation] = []
    if model.num_attention_heads % tp:
        found.append(
            ModelViolation(
                HEADS_NOT_DIVISIBLE,
                f"Total number of attention heads ({model.num_attention_heads}) must be divisible by "
                f"tensor parallel size ({tp}).",
            )
        )
    kv = model.num_kv_heads
    if model.mla is None and kv:
        if tp <= kv and kv % tp:
            found.append(
                ModelViolation(KV_HEADS_NOT_DIVISIBLE, f"{kv} is not divisible by {tp} (KV heads by TP)")
            )
        elif tp > kv and tp % kv:
            found.append(
                ModelViolation(
                    KV_HEADS_NOT_DIVISIBLE, f"{tp} is not divisible by {kv} (TP by KV heads to replicate)"
                )
            )
    sizes: list[tuple[str, int]] = []
    if model.dense_mlp_layers:
        sizes.append(("intermediate_size", model.intermediate_size))
    if model.shared_expert_intermediate_size:
        sizes.append(("shared expert intermediate size", model.shared_expert_intermediate_size))
    if model.moe_intermediate_size and not expert_parallel:
        sizes.append(("moe_intermediate_size", model.moe_intermediate_size))
    for label, size in sizes:
        if size % tp:
            found.append(
                ModelViolation(INTERMEDIATE_NOT_DIVISIBLE, f"{size} is not divisible by {tp} ({label} by TP)")
            )
    if not any(v.code == INTERMEDIATE_NOT_DIVISIBLE for v in found):
        found.extend(
            ModelViolation(QUANT_BLOCK_MISALIGNED, m) for m in _block_messages(model, tp, expert_parallel)
        )
    if pp > model.num_layers:
        found.append(
            ModelViolation(
                PP_EXCEEDS_LAYERS,
                f"pipeline parallel size ({pp}) exceeds the number of hidden layers ({model.num_layers}); "
                "some stages would hold no layer",
            )
        )
    if pp > 1 and not model.supports_pp:
        # Only the architectures vLLM is known to implement SupportsPP for are listed; others may work.
        found.append(
            ModelViolation(
                PP_UNSUPPORTED,
                f"{model.architecture} is not known to implement SupportsPP; if it does not, vLLM fails with "
                "'Pipeline parallelism is not supported for this model. Supported models implement the "
                "`SupportsPP` interface.'",
                severity="warning",
            )
        )
    return found


def allowed_tensor_parallel(
    model: ModelFacts, candidates: Sequence[int], *, expert_parallel: bool = False
) -> list[int]:
    """The TP sizes among ``candidates`` with no error-level layout violation (at PP=1)."""
    return [
        tp
        for tp in candidates
        if not any(
            v.severity == "error" for v in layout_violations(model, tp, 1, expert_parallel=expert_parallel)
        )
    ]
