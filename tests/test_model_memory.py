"""Per-GPU memory and KV-cache estimate against the figures of vllm-constraints.md §2 (vLLM 0.33.0) and the
GFD label values of gpu-node-labels.md, quoted here as literals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.model import (
    KV_BELOW_CONTEXT,
    KV_LOW_CONCURRENCY,
    MAX_LEN_EXCEEDS_MODEL,
    WEIGHTS_EXCEED_MEMORY,
    estimate_memory,
    kv_cache_dtype_bytes,
    load_model,
    memory_violations,
    model_from_config,
)
from tests.fixture_files import model_config as config
from tests.fixture_files import model_facts as facts

FIXTURES = Path(__file__).parent / "fixtures" / "models"
GIB = 2**30
H100 = 81559 * 2**20  # nvidia.com/gpu.memory of NVIDIA-H100-80GB-HBM3
L4 = 23034 * 2**20  # nvidia.com/gpu.memory of NVIDIA-L4


@pytest.mark.parametrize(
    ("name", "bytes_per_token"),
    [
        ("meta-llama--Meta-Llama-3.1-8B", 131_072),
        ("meta-llama--Meta-Llama-3.1-70B", 327_680),
        ("meta-llama--Meta-Llama-3.1-405B", 516_096),
        ("Qwen--Qwen2.5-7B", 57_344),
        ("Qwen--Qwen3-32B", 262_144),
        ("Qwen--Qwen3-235B-A22B", 192_512),
        ("mistralai--Mixtral-8x7B-v0.1", 131_072),
        ("mistralai--Mixtral-8x22B-v0.1", 229_376),
        ("deepseek-ai--DeepSeek-V3", 70_272),
        ("moonshotai--Kimi-K2-Instruct", 70_272),
        ("openai--gpt-oss-120b", 73_728),
    ],
)
def test_whole_model_kv_bytes_per_token_table(name: str, bytes_per_token: int) -> None:
    # §2.3 "Whole-model KV per token in bf16, before dividing by stages or TP": an estimate at TP=1 PP=1
    estimate = estimate_memory(facts(name), 1, 1, 10**15, reserve_bytes=0)
    assert estimate.kv_bytes_per_token == bytes_per_token


def test_llama_405b_bf16_does_not_fit_one_node_of_8_h100() -> None:
    estimate = estimate_memory(facts("meta-llama--Meta-Llama-3.1-405B"), 8, 1, H100)
    assert not estimate.fits
    assert estimate.per_gpu_weights_bytes > estimate.budget_bytes  # ≈811.7 GB / 8 > 0.9 x 79.6 GiB
    assert [v.code for v in memory_violations(estimate)] == [WEIGHTS_EXCEED_MEMORY]


def test_llama_405b_bf16_fits_as_pp2_tp8_on_two_h100_nodes() -> None:
    estimate = estimate_memory(
        facts("meta-llama--Meta-Llama-3.1-405B"), 8, 2, H100, gpu_product="NVIDIA-H100-80GB-HBM3"
    )
    assert estimate.fits
    assert memory_violations(estimate) == []
    # §2.4 worked example: 47.2 GiB of weights and 63 x 2 x 1 x 128 x 2 = 32,256 KV bytes per token per GPU
    assert abs(estimate.per_gpu_weights_bytes / GIB - 47.2) < 0.1
    assert estimate.kv_bytes_per_token == 32_256
    assert [stage.layers for stage in estimate.stages] == [63, 63]
    # every stage: CUDA total x 0.9 - weights - reserve is its KV cache, and the engine takes the smallest
    for stage in estimate.stages:
        assert stage.kv_cache_bytes == estimate.budget_bytes - stage.weights_bytes - stage.reserve.total
    assert estimate.kv_cache_tokens == min(stage.kv_cache_tokens for stage in estimate.stages)
    # the worked example's "~20-22 GiB left after ~4-6 GiB of activations/graphs" brackets our figure
    assert 17 * GIB <= estimate.kv_cache_bytes <= 22 * GIB


def test_llama_405b_worked_example_at_vllm_033_defaults() -> None:
    # the example's own assumptions: 0.92 utilization (73.3 GiB) and ~5 GiB of activations / graphs
    estimate = estimate_memory(
        facts("meta-llama--Meta-Llama-3.1-405B"), 8, 2, H100, utilization=0.92, reserve_bytes=5 * GIB
    )
    assert abs(estimate.budget_bytes / GIB - 73.3) < 0.05
    assert 670_000 <= estimate.kv_cache_tokens <= 730_000


def test_llama_70b_on_8_l4_leaves_about_4_8_gib_of_the_label_less_the_drivers_share() -> None:
    # §2.4: "Llama-3.1-70B BF16 at TP=8 on 8 x L4 at 0.95 utilization ... leaves about 4.8 GiB for reserve
    # plus KV cache" counts the label's total; vLLM budgets what CUDA reports, the driver's share less.
    estimate = estimate_memory(
        facts("meta-llama--Meta-Llama-3.1-70B"), 8, 1, L4, utilization=0.95, max_model_len=4096
    )
    assert estimate.base is not None and not estimate.base.known  # no L4 measurement: the largest share seen
    left = (estimate.budget_bytes - estimate.per_gpu_weights_bytes) / GIB
    assert abs(left - (4.8 - 0.95 * estimate.base.driver_reserved_bytes / GIB)) < 0.25


def test_embeddings_are_split_over_tp_not_replicated() -> None:
    model = facts("meta-llama--Meta-Llama-3.1-8B")
    one = estimate_memory(model, 1, 1, H100).per_gpu_weights_bytes
    eight = estimate_memory(model, 8, 1, H100).per_gpu_weights_bytes
    # only norms (and vocab padding) are replicated: 8 ranks hold barely more than one copy
    assert one <= 8 * eight < one * 1.001


def test_first_and_last_stage_carry_embedding_and_lm_head() -> None:
    model = facts("meta-llama--Meta-Llama-3.1-405B")  # 126 layers over PP 4: [31, 32, 32, 31]
    stages = estimate_memory(model, 8, 4, H100).stages
    layer = stages[1].weights_bytes / 32
    vocab_share = 128256 * 16384 * 2 / 8  # embed (and untied lm_head) per TP rank in BF16
    assert abs(stages[0].weights_bytes - (31 * layer + vocab_share)) < 0.001 * stages[0].weights_bytes
    assert abs(stages[3].weights_bytes - (31 * layer + vocab_share)) < 0.001 * stages[3].weights_bytes


def test_tied_embeddings_are_counted_once_on_one_stage_and_copied_with_pp() -> None:
    cfg = config("meta-llama--Meta-Llama-3.1-8B") | {"tie_word_embeddings": True}
    tied = model_from_config(cfg, "tied")
    untied = facts("meta-llama--Meta-Llama-3.1-8B")
    vocab = 128256 * 4096 * 2
    pp1 = (
        estimate_memory(untied, 1, 1, H100).per_gpu_weights_bytes
        - estimate_memory(tied, 1, 1, H100).per_gpu_weights_bytes
    )
    assert abs(pp1 - vocab) < 0.001 * vocab
    last_tied = estimate_memory(tied, 1, 2, H100).stages[1].weights_bytes
    last_untied = estimate_memory(untied, 1, 2, H100).stages[1].weights_bytes
    assert last_tied == last_untied


def test_mla_kv_cache_is_not_reduced_by_tp_only_by_pp() -> None:
    model = facts("deepseek-ai--DeepSeek-V3")
    at8 = estimate_memory(model, 8, 1, H100 * 4)
    at16 = estimate_memory(model, 16, 1, H100 * 4)
    assert at8.kv_bytes_per_token == at16.kv_bytes_per_token == 61 * 576 * 2
    pp2 = estimate_memory(model, 8, 2, H100)
    assert max(stage.kv_bytes_per_token for stage in pp2.stages) == 31 * 576 * 2  # stages [31, 30]
    assert pp2.kv_cache_dtype_bytes == 2  # FP8 weights, BF16 KV cache unless the KV is configured fp8


def test_kv_heads_replicated_when_tp_exceeds_them() -> None:
    model = facts("Qwen--Qwen3-235B-A22B")  # 4 KV heads: at TP 8 each rank still holds one
    at4 = estimate_memory(model, 4, 1, H100 * 4)
    at8 = estimate_memory(model, 8, 1, H100 * 4)
    assert at4.kv_bytes_per_token == at8.kv_bytes_per_token == 94 * 2 * 1 * 128 * 2


def test_kv_tokens_are_the_minimum_over_stages() -> None:
    estimate = estimate_memory(facts("meta-llama--Meta-Llama-3.1-405B"), 8, 4, H100)
    assert estimate.kv_cache_tokens == min(stage.kv_cache_tokens for stage in estimate.stages)
    assert len({stage.kv_cache_tokens for stage in estimate.stages}) > 1  # uneven [31, 32, 32, 31]


def test_fp8_kv_cache_halves_bytes_per_token() -> None:
    model = facts("meta-llama--Meta-Llama-3.1-8B")
    bf16 = estimate_memory(model, 1, 1, H100)
    fp8 = estimate_memory(model, 1, 1, H100, kv_cache_dtype_bytes=kv_cache_dtype_bytes("fp8", model))
    assert fp8.kv_bytes_per_token * 2 == bf16.kv_bytes_per_token
    assert fp8.kv_cache_tokens > 1.9 * bf16.kv_cache_tokens
    assert kv_cache_dtype_bytes("auto", model) == 2
    with pytest.raises(InputError, match="kv-cache-dtype"):
        kv_cache_dtype_bytes("int3", model)


def test_modelopt_checkpoint_with_fp8_kv_quant_uses_fp8_kv_cache() -> None:
    model = load_model(str(FIXTURES / "nvidia--Llama-3.1-70B-Instruct-FP8"))
    assert estimate_memory(model, 8, 1, H100).kv_bytes_per_token == 327_680 // 8 // 2


def test_safetensors_index_overrides_the_computed_size(tmp_path: Path) -> None:
    computed = facts("meta-llama--Meta-Llama-3.1-8B")
    directory = tmp_path / "Llama-3.1-8B"
    directory.mkdir()
    (directory / "config.json").write_text((FIXTURES / "meta-llama--Meta-Llama-3.1-8B.json").read_text())
    bigger = computed.weight_bytes + 2 * GIB
    (directory / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": bigger}}))
    indexed = load_model(str(directory))
    assert indexed.weight_bytes == bigger
    assert indexed.weight_bytes_source == "safetensors-index"
    grown = estimate_memory(indexed, 1, 1, H100).per_gpu_weights_bytes
    base = estimate_memory(computed, 1, 1, H100).per_gpu_weights_bytes
    assert abs((grown - base) - 2 * GIB) < 0.001 * GIB


def test_context_longer_than_kv_cache_is_an_error_with_figures() -> None:
    # Llama-3.1-8B (≈15 GiB of weights) on one L4: ≈2 GiB of KV at 128 KiB/token holds ~18k tokens
    estimate = estimate_memory(facts("meta-llama--Meta-Llama-3.1-8B"), 1, 1, L4)
    assert 8192 < estimate.kv_cache_tokens < 131_072
    found = memory_violations(estimate)
    assert [(v.code, v.severity) for v in found] == [(KV_BELOW_CONTEXT, "error")]
    assert "max seq len (131072)" in found[0].message
    assert f"estimated maximum model length is {estimate.kv_cache_tokens}" in found[0].message
    assert not estimate.fits


def test_few_concurrent_full_length_requests_is_a_warning() -> None:
    model = facts("meta-llama--Meta-Llama-3.1-8B")
    short = estimate_memory(model, 1, 1, L4, max_model_len=8192)
    assert short.fits
    assert 1 <= short.concurrency < 4
    assert [(v.code, v.severity) for v in memory_violations(short)] == [(KV_LOW_CONCURRENCY, "warning")]
    assert memory_violations(short, min_concurrency=short.concurrency / 2) == []


def test_max_model_len_above_the_models_is_rejected() -> None:
    estimate = estimate_memory(facts("Qwen--Qwen3-32B"), 8, 1, H100, max_model_len=65536)  # model: 40960
    assert MAX_LEN_EXCEEDS_MODEL in [v.code for v in memory_violations(estimate)]


def test_gpu_memory_utilization_scales_the_budget() -> None:
    model = facts("meta-llama--Meta-Llama-3.1-70B")
    low = estimate_memory(model, 4, 1, H100, utilization=0.8)
    high = estimate_memory(model, 4, 1, H100, utilization=0.95)
    assert low.base is not None
    assert high.budget_bytes - low.budget_bytes == pytest.approx(0.15 * low.base.cuda_total_bytes, abs=2)
    assert high.kv_cache_tokens > low.kv_cache_tokens


@pytest.mark.parametrize(
    "kwargs",
    [{"utilization": 0.0}, {"utilization": 1.2}, {"max_model_len": 0}, {"reserve_bytes": -1}],
)
def test_invalid_memory_inputs_are_input_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        estimate_memory(facts("meta-llama--Meta-Llama-3.1-8B"), 1, 1, H100, **kwargs)


def test_memory_json_has_the_issue_keys() -> None:
    data = estimate_memory(facts("meta-llama--Meta-Llama-3.1-405B"), 8, 2, H100).to_json()
    assert data["fits"] is True
    assert data["kvCacheTokens"] > 0
    assert data["perGpuWeightsBytes"] > 40 * GIB
    assert data["gpuMemoryUtilization"] == 0.9
    assert [stage["layers"] for stage in data["stages"]] == [63, 63]
