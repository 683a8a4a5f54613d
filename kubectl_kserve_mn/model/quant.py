"""A checkpoint's weight quantization: ``quantization_config`` in config.json, or NVIDIA ModelOpt's
``hf_quant_config.json`` (which vLLM merges in as the quantization config), read and validated.

Which modules stay unquantized follows the loaders (vllm-project/vllm@v0.11.0:
vllm/model_executor/layers/quantization/utils/quant_utils.py ``is_layer_skipped``: a module's full name
is looked up in ``modules_to_not_convert`` / ``ignore`` / ``exclude_modules``; awq.py
``is_layer_skipped_awq`` and bitsandbytes.py match by substring; compressed-tensors accepts ``re:``
regular expressions). fbgemm_fp8 checkpoints such as Llama-3.1-405B-Instruct-FP8 list every attention
projection and the first and last layers' MLPs there, so those stay BF16.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kubectl_kserve_mn.model.config import ConfigReader

MatchMode = Literal["exact", "substring"]

_SUBSTRING_METHODS = ("awq", "awq_marlin", "gptq", "gptq_marlin", "bitsandbytes")


@dataclass(frozen=True)
class QuantInfo:
    """A checkpoint's weight quantization, as far as layout and size are concerned."""

    method: str  # quant_method: fp8, mxfp4, awq, gptq, compressed-tensors, modelopt, fbgemm_fp8, ...
    bits: int | None = None  # weight bits (8 for FP8, 4 for MXFP4/AWQ/GPTQ int4); None when unknown
    block_size: tuple[int, int] | None = None  # FP8 block (block_n, block_k), e.g. (128, 128)
    group_size: int | None = None  # AWQ/GPTQ/compressed-tensors group size along the input dim
    kv_cache_dtype: str | None = None  # "fp8" when the checkpoint configures an FP8 KV cache
    experts_only: bool = False  # MXFP4 in gpt-oss quantizes the MoE experts only
    not_converted: tuple[str, ...] = ()  # modules_to_not_convert / ignore / exclude_modules
    match: MatchMode = "exact"

    def skips(self, names: Sequence[str]) -> bool:
        """Whether the loader keeps the module known by any of ``names`` (HF module paths such as
        ``model.layers.0.self_attn.q_proj``) unquantized."""
        return any(_matches(pattern, name, self.match) for pattern in self.not_converted for name in names)

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
        if self.not_converted:
            out["modulesNotConverted"] = len(self.not_converted)
        return out


def _matches(pattern: str, name: str, mode: MatchMode) -> bool:
    """``pattern`` names the module itself or a parent of it ("model.layers.3.self_attn", "lm_head"),
    possibly under a multimodal wrapper ("language_model.model.layers.0..."), as an exact name, a glob
    ("model.layers.*.self_attn"), a ``re:`` expression, or (awq, gptq, bitsandbytes) a substring."""
    parts = name.split(".")
    candidates = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
    if pattern.startswith("re:"):
        try:
            expr = re.compile(pattern[3:])
        except re.error:
            return False
        return any(expr.fullmatch(c) or expr.fullmatch("model." + c) for c in candidates)
    if mode == "substring" and pattern in name:
        return True
    patterns = [pattern] + [new + pattern[len(old) :] for old, new in _WRAPPERS if pattern.startswith(old)]
    if "*" in pattern or "?" in pattern:
        return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns)
    return any(c == p for c in candidates for p in patterns)


_WRAPPERS = (("model.language_model.", "model."), ("language_model.", ""))


def parse_quantization(qcfg: Any, name: str) -> QuantInfo | None:
    """QuantInfo from a ``quantization_config`` (kept for callers that have no file to name)."""
    if qcfg is None:
        return None
    reader = ConfigReader.of({"quantization_config": qcfg}, source=None, obj=f"model {name}")
    return read_quantization(reader, "quantization_config")


def read_quantization(parent: ConfigReader, key: str) -> QuantInfo | None:
    """QuantInfo from ``parent[key]``: a ``quantization_config`` object, or an ``hf_quant_config.json``
    (whose ``quantization`` object holds ModelOpt's ``quant_algo``)."""
    q = parent.sub(key)
    return None if q is None else quant_from(q)


def quant_from(q: ConfigReader) -> QuantInfo:
    """QuantInfo from a reader on the quantization object itself."""
    if q.has("quantization"):
        inner = q.sub("quantization")
        assert inner is not None
        if not inner.has("quant_algo"):
            raise inner.missing("quant_algo", "ModelOpt's hf_quant_config.json names its algorithm there")
        return _modelopt(inner)
    method = (q.text("quant_method") or ("modelopt" if q.has("quant_algo") else "unknown")).lower()
    match: MatchMode = "substring" if method in _SUBSTRING_METHODS else "exact"
    not_converted = (
        q.strings("modules_to_not_convert")
        or q.strings("ignore")
        or q.strings("ignored_layers")
        or q.strings("exclude_modules")
        or q.strings("llm_int8_skip_modules")
    )
    if method == "fp8":
        block = q.integers("weight_block_size", minimum=1, maximum=1 << 16)
        if block and len(block) != 2:
            raise q.bad(q.path("weight_block_size"), _not_a_pair(block))
        size = (block[0], block[1]) if block else None
        return QuantInfo("fp8", bits=8, block_size=size, not_converted=not_converted)
    if method == "mxfp4":
        return QuantInfo("mxfp4", bits=4, group_size=32, experts_only=True, not_converted=not_converted)
    if method in _SUBSTRING_METHODS[:4]:
        bits = (
            q.opt_integer("bits", minimum=1, maximum=16) or q.opt_integer("w_bit", minimum=1, maximum=16) or 4
        )
        group = _group_size(q, "group_size") or _group_size(q, "q_group_size")
        return QuantInfo(method, bits=bits, group_size=group, not_converted=not_converted, match=match)
    if method == "modelopt":
        return _modelopt(q, not_converted)
    if method == "compressed-tensors":
        return _compressed_tensors(q, not_converted)
    if method == "fbgemm_fp8":
        return QuantInfo("fbgemm_fp8", bits=8, not_converted=not_converted)
    if method == "bitsandbytes":
        return QuantInfo(
            "bitsandbytes", bits=4 if q.flag("load_in_4bit") else 8, not_converted=not_converted, match=match
        )
    return QuantInfo(method, not_converted=not_converted)


def _not_a_pair(block: tuple[int, ...]) -> str:
    return f"has {len(block)} entr{'y' if len(block) == 1 else 'ies'}, not a [block_n, block_k] pair"


def _group_size(q: ConfigReader, key: str) -> int | None:
    """GPTQ writes -1 for "one group per row" (per-channel): no group then."""
    value = q.opt_integer(key, minimum=-1, maximum=1 << 20)
    if value == 0:
        raise q.bad(q.path(key), "0 is not a group size (use -1 for per-channel)")
    return value if value is not None and value > 0 else None


def _modelopt(q: ConfigReader, not_converted: tuple[str, ...] = ()) -> QuantInfo:
    algo = (q.text("quant_algo") or "").upper()
    kv_algo = (q.text("kv_cache_quant_algo") or "").upper()
    kv = "fp8" if kv_algo == "FP8" else None
    excluded = not_converted or q.strings("exclude_modules")
    if algo == "NVFP4":
        return QuantInfo("modelopt-nvfp4", bits=4, group_size=16, kv_cache_dtype=kv, not_converted=excluded)
    method = "modelopt-fp8" if algo.startswith("FP8") else f"modelopt-{algo.lower() or 'unknown'}"
    return QuantInfo(method, 8, kv_cache_dtype=kv, not_converted=excluded)


def _compressed_tensors(q: ConfigReader, not_converted: tuple[str, ...]) -> QuantInfo:
    kv_scheme = q.sub("kv_cache_scheme")
    kv = None
    if kv_scheme is not None and kv_scheme.opt_integer("num_bits", minimum=1, maximum=32) == 8:
        kv = "fp8"
    groups = q.sub("config_groups")
    weights: ConfigReader | None = None
    if groups is not None:
        for group_name in groups.layers[0][0]:
            entry = groups.sub(str(group_name))
            if entry is not None and entry.has("weights"):
                weights = entry.sub("weights")
                break
    if weights is None:
        return QuantInfo("compressed-tensors", kv_cache_dtype=kv, not_converted=not_converted)
    bits = weights.opt_integer("num_bits", minimum=1, maximum=32)
    strategy = weights.text("strategy")
    block_size = None
    if strategy == "block":
        block = weights.integers("block_structure", minimum=1, maximum=1 << 16)
        if len(block) != 2:
            raise weights.bad(weights.path("block_structure"), _not_a_pair(block))
        block_size = (block[0], block[1])
    group_size = _group_size(weights, "group_size") if strategy == "group" else None
    return QuantInfo(
        "compressed-tensors",
        bits=bits,
        block_size=block_size,
        group_size=group_size,
        kv_cache_dtype=kv,
        not_converted=not_converted,
    )
