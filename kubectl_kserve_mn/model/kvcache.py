"""vLLM's KV cache arithmetic for one layout (pure), with the hybrid KV-cache manager's grouping of
full and sliding-window attention layers (vllm-project/vllm@v0.11.0: vllm/v1/core/kv_cache_utils.py
``get_kv_cache_groups``, ``_get_kv_cache_groups_uniform_page_size``, ``get_kv_cache_config_from_groups``,
``get_kv_cache_configs``, ``check_enough_kv_cache_memory``, ``estimate_max_model_len``,
``get_max_concurrency_for_kv_cache_config``; vllm/v1/kv_cache_interface.py ``page_size_bytes``,
``max_memory_usage_bytes``).

* A page is one block of one layer: ``2 x block_size x kv_heads/TP x head_dim x dtype`` (MLA: one latent
  of ``kv_lora_rank + qk_rope_head_dim``, not split by TP).
* Layers are grouped by attention kind; with full and sliding layers mixed (gpt-oss, Gemma 2/3), each
  kind is split into groups of ``group_size = min(layers per kind)`` layers; the blocks of one "slot"
  are shared by one layer of every group, so ``num_blocks = available // page // group_size`` and the
  logged "GPU KV cache size" is ``num_blocks // groups x block_size`` tokens.
* vLLM refuses to start when one request of ``max_model_len`` does not fit: a full layer needs
  ``cdiv(max_model_len, block) pages``, a sliding layer only ``cdiv(min(window - 1 +
  max_num_batched_tokens, max_model_len), block) + 1``. That is why a sliding-window model holds about
  twice the context a full-attention count suggests.
* With PP every worker is checked with its own layers and memory, and all take the smallest number of
  blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kubectl_kserve_mn.model.facts import ModelFacts


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class KvLayout:
    """The KV cache shape of a model at one TP size, over all its layers."""

    page_bytes: int  # one block of one layer on one GPU
    block_size: int
    windows: tuple[int | None, ...]  # per layer
    groups: tuple[
        tuple[int, ...], ...
    ]  # the layer indices of each KV-cache group (global, as vLLM forms them)

    @property
    def hybrid(self) -> bool:
        return len({w for w in self.windows}) > 1

    def bytes_per_token(self, layers: Sequence[int]) -> int:
        """Per-GPU bytes a token takes in ``layers`` if every layer kept it (vLLM's page arithmetic)."""
        return len(layers) * self.page_bytes // self.block_size

    def group_size(self, layers: range) -> int:
        """Layers per group on a worker holding ``layers`` (the largest group's share)."""
        inside = [sum(1 for index in group if index in layers) for group in self.groups]
        return max(inside) if inside else 0

    def layer_usage(self, window: int | None, max_model_len: int, max_num_batched_tokens: int) -> int:
        """Bytes one layer needs for one request of ``max_model_len`` (``max_memory_usage_bytes``)."""
        if window is None:
            return cdiv(max_model_len, self.block_size) * self.page_bytes
        tokens = min(window - 1 + max_num_batched_tokens, max_model_len)
        return (cdiv(tokens, self.block_size) + 1) * self.page_bytes

    def needed(self, layers: range, max_model_len: int, max_num_batched_tokens: int) -> int:
        """Bytes a worker holding ``layers`` needs for one request of ``max_model_len``."""
        return sum(
            self.layer_usage(self.windows[index], max_model_len, max_num_batched_tokens) for index in layers
        )

    def fit_len(self, layers: range, available: int, max_model_len: int, max_num_batched_tokens: int) -> int:
        """vLLM's estimated maximum model length: the largest length up to ``max_model_len`` whose one
        request fits ``available`` (a binary search, as ``estimate_max_model_len``); 0 when none does."""
        if available <= 0 or self.needed(layers, 1, max_num_batched_tokens) > available:
            return 0
        low, high, best = 1, max_model_len, 1
        while low <= high:
            mid = (low + high) // 2
            if self.needed(layers, mid, max_num_batched_tokens) <= available:
                best, low = mid, mid + 1
            else:
                high = mid - 1
        return best

    def num_blocks(self, layers: range, available: int) -> int:
        size = self.group_size(layers)
        return max(0, available // self.page_bytes // size) if size else 0

    def tokens(self, num_blocks: int) -> int:
        """The "GPU KV cache size" vLLM logs for ``num_blocks``."""
        return num_blocks // len(self.groups) * self.block_size if self.groups else 0

    def concurrency(
        self, layers: range, num_blocks: int, max_model_len: int, max_num_batched_tokens: int
    ) -> float:
        """vLLM's "Maximum concurrency for N tokens per request"."""
        size = self.group_size(layers)
        if not size:
            return 0.0
        per_request = size * sum(
            self.layer_usage(self.windows[group[0]], max_model_len, max_num_batched_tokens)
            for group in self.groups
        )
        blocks_per_request = cdiv(per_request, self.page_bytes * size)
        return num_blocks / blocks_per_request if blocks_per_request else 0.0


def kv_layout(
    model: ModelFacts, tensor_parallel: int, dtype_bytes: int, block_size: int, *, hybrid: bool = True
) -> KvLayout:
    """The KV layout of ``model`` at TP; ``hybrid=False`` is ``--disable-hybrid-kv-cache-manager``
    (sliding layers then keep every token, as full ones)."""
    if model.mla is not None:
        page = block_size * model.mla.latent_dim * dtype_bytes
    else:
        page = 2 * block_size * max(1, model.num_kv_heads // tensor_parallel) * model.head_dim * dtype_bytes
    windows: tuple[int | None, ...] = (
        model.attention_windows if hybrid and model.attention_windows else (None,) * model.num_layers
    )
    by_kind: dict[int | None, list[int]] = {}
    for index, window in enumerate(windows):
        by_kind.setdefault(window, []).append(index)
    if len(by_kind) == 1:
        groups: tuple[tuple[int, ...], ...] = (tuple(range(model.num_layers)),)
    else:
        size = min(len(indices) for indices in by_kind.values())
        split: list[tuple[int, ...]] = []
        for indices in by_kind.values():
            count = cdiv(len(indices), size)
            split.extend(tuple(indices[i::count]) for i in range(count))
        groups = tuple(split)
    return KvLayout(page, block_size, windows, groups)
