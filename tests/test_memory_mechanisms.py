"""The mechanisms of the memory model one by one (issue 11), each against the vLLM source it follows
(vllm-project/vllm@v0.11.0 unless said) or a published measurement quoted as a literal."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.model import (
    KV_BELOW_CONTEXT,
    MEMORY_TIGHT,
    WEIGHTS_EXCEED_MEMORY,
    estimate_memory,
    memory_violations,
    model_from_config,
)
from kubectl_kserve_mn.model.kvcache import cdiv, kv_layout
from kubectl_kserve_mn.model.vllm import SAMPLER_BYTES, device_base, scheduler_limits, vllm_eras
from kubectl_kserve_mn.model.weights import Mxfp4Experts
from tests.fixture_files import model_config as config
from tests.fixture_files import model_facts as facts

GIB = 2**30
MIB = 2**20
H100 = 81559 * MIB
H100_PRODUCT = "NVIDIA-H100-80GB-HBM3"


# --- the base: what CUDA reports, not the label -------------------------------------------------


def test_h100_budget_is_taken_from_the_cuda_total_not_the_label() -> None:
    base = device_base(H100, H100_PRODUCT)
    # llm-d: "H100 GPUs (79.18 GiB total memory)" for a node labelled 81,559 MiB (79.65 GiB)
    assert base.known
    assert abs(base.cuda_total_bytes / GIB - 79.18) < 0.01
    estimate = estimate_memory(facts("meta-llama--Meta-Llama-3.1-8B"), 1, 1, H100, gpu_product=H100_PRODUCT)
    assert estimate.budget_bytes == pytest.approx(0.9 * 79.185 * GIB, abs=0.01 * GIB)  # llm-d: 71.26 GiB


def test_an_unknown_gpu_loses_the_largest_drivers_share_seen() -> None:
    unknown = device_base(48 * GIB, "NVIDIA-RTX-6000-Ada")
    a100 = device_base(81920 * MIB, "NVIDIA-A100-SXM4-80GB")
    assert not unknown.known and a100.known
    assert unknown.driver_reserved_bytes >= max(
        a100.driver_reserved_bytes, device_base(H100, H100_PRODUCT).driver_reserved_bytes
    )


# --- the reserve: vLLM's profile run ------------------------------------------------------------


def test_sampler_warmup_is_requests_times_vocab_times_the_paths_bytes() -> None:
    model = facts("meta-llama--Meta-Llama-3.1-8B")
    e = estimate_memory(model, 1, 1, H100, gpu_product=H100_PRODUCT, vllm_version="0.14.1")
    held = (8192 * 4096 + 2 * 1024 * 4096) * 2  # hidden states of the 8192-token run, last hidden + its copy
    assert e.reserve.sampler == 1024 * 128256 * SAMPLER_BYTES["sort"] + held
    # llm-d measured 4.76 GiB of activation for Llama-3.1-8B (PyTorch sort path)
    assert abs(e.reserve.activation / GIB - 4.76) < 0.1


def test_a_larger_vocabulary_is_why_moe_models_looked_hungrier() -> None:
    # gpt-oss-20b (vocab 201,088) measured 7.38 GiB, Qwen3-0.6B (151,936) 5.56, Llama-3.1-8B (128,256) 4.76
    for name, measured in (
        ("openai--gpt-oss-20b", 7.38),
        ("Qwen--Qwen3-0.6B", 5.56),
        ("meta-llama--Meta-Llama-3.1-8B", 4.76),
    ):
        e = estimate_memory(facts(name), 1, 1, H100, gpu_product=H100_PRODUCT, vllm_version="0.12.0")
        assert abs(e.reserve.activation / GIB - measured) / measured < 0.03, name


def test_vllm_releases_differ_in_sampler_non_torch_and_cuda_graphs() -> None:
    model = facts("meta-llama--Meta-Llama-3.1-8B")

    def reserve(version: str, tp: int = 1) -> Any:
        return estimate_memory(model, tp, 1, H100, gpu_product=H100_PRODUCT, vllm_version=version).reserve

    assert reserve("0.14.1").activation > 2 * reserve("0.19.0").activation  # sort vs Triton top-k/top-p
    assert reserve("0.19.0", tp=2).non_torch > reserve("0.14.1", tp=2).non_torch  # llm-d-planner: 2.07 GiB
    assert reserve("0.19.0").cuda_graphs == 0  # captured after the KV cache, outside the budget
    assert reserve("0.21.0").cuda_graphs > 0  # VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS default on


def test_an_unknown_vllm_version_takes_the_largest_reserve_of_all_releases() -> None:
    model = facts("Qwen--Qwen3-32B")
    unknown = estimate_memory(model, 2, 1, H100, gpu_product=H100_PRODUCT)
    for version in ("0.10.0", "0.17.0", "0.21.0"):
        known = estimate_memory(model, 2, 1, H100, gpu_product=H100_PRODUCT, vllm_version=version)
        assert unknown.reserve.total >= known.reserve.total
        assert unknown.kv_cache_tokens <= known.kv_cache_tokens


@pytest.mark.parametrize(
    ("version", "era"), [("0.10.1", "0.10"), ("v0.16.0", "0.10"), ("0.19.1", "0.17"), ("0.33.0", "0.21")]
)
def test_vllm_version_picks_its_era(version: str, era: str) -> None:
    assert [e.key for e in vllm_eras(version)] == [era]


@pytest.mark.parametrize("version", ["0.9.2", "latest", ""])
def test_a_version_the_model_does_not_follow_is_an_input_error(version: str) -> None:
    with pytest.raises(InputError):
        vllm_eras(version)


def test_scheduler_defaults_follow_the_gpu_like_vllms_arg_utils() -> None:
    h100 = scheduler_limits(device_base(H100, H100_PRODUCT).cuda_total_bytes, H100_PRODUCT)
    a100 = scheduler_limits(79 * GIB, "NVIDIA-A100-SXM4-80GB")
    l4 = scheduler_limits(22 * GIB, "NVIDIA-L4")
    assert (h100.max_num_batched_tokens, h100.max_num_seqs) == (8192, 1024)
    assert (a100.max_num_batched_tokens, a100.max_num_seqs) == (2048, 256)  # "a100" is excluded
    assert (l4.max_num_batched_tokens, l4.max_num_seqs) == (2048, 256)
    small = scheduler_limits(80 * GIB, H100_PRODUCT, max_num_batched_tokens=512)
    assert small.sampler_requests == 512  # min(max_num_seqs, max_num_batched_tokens)


# --- the KV cache: vLLM's hybrid manager ------------------------------------------------------------


def test_gpt_oss_sliding_layers_need_only_window_plus_batch_for_one_request() -> None:
    model = facts("openai--gpt-oss-20b")  # 12 sliding (128) + 12 full layers, 8 KV heads x 64, bf16
    layout = kv_layout(model, 1, 2, 16)
    page = 2 * 16 * 8 * 64 * 2
    full = 12 * cdiv(131072, 16) * page
    sliding = 12 * (cdiv(128 - 1 + 8192, 16) + 1) * page
    assert layout.needed(range(24), 131072, 8192) == full + sliding
    flat = kv_layout(model, 1, 2, 16, hybrid=False)  # --disable-hybrid-kv-cache-manager
    assert flat.needed(range(24), 131072, 8192) == 24 * cdiv(131072, 16) * page
    assert 1.85 < flat.needed(range(24), 131072, 8192) / layout.needed(range(24), 131072, 8192) < 2.0


def test_hybrid_grouping_keeps_the_logged_token_count_and_nearly_doubles_concurrency() -> None:
    model = facts("openai--gpt-oss-20b")
    hybrid = estimate_memory(model, 1, 1, H100, gpu_product=H100_PRODUCT)
    flat = estimate_memory(model, 1, 1, H100, gpu_product=H100_PRODUCT, hybrid_kv_cache=False)
    assert hybrid.hybrid and not flat.hybrid
    # "GPU KV cache size" is num_blocks // groups x block_size: the same tokens either way
    assert abs(hybrid.kv_cache_tokens - flat.kv_cache_tokens) <= 16
    assert 1.85 < hybrid.concurrency / flat.concurrency < 2.0


def test_gemma_style_configs_get_their_sliding_layers() -> None:
    base = config("meta-llama--Meta-Llama-3.1-8B")
    gemma2 = model_from_config(base | {"model_type": "gemma2", "sliding_window": 4096}, "g2")
    assert gemma2.attention_windows[:4] == (4096, None, 4096, None)
    gemma3 = model_from_config(
        base | {"model_type": "gemma3_text", "sliding_window": 1024, "sliding_window_pattern": 6}, "g3"
    )
    assert gemma3.attention_windows[:6] == (1024,) * 5 + (None,)
    qwen = model_from_config(base | {"sliding_window": 4096, "use_sliding_window": False}, "q")
    assert qwen.attention_windows == ()


def test_pp_stages_are_each_checked_and_share_the_smallest_block_count() -> None:
    e = estimate_memory(facts("meta-llama--Meta-Llama-3.1-405B"), 8, 4, H100, gpu_product=H100_PRODUCT)
    layout = kv_layout(facts("meta-llama--Meta-Llama-3.1-405B"), 8, 2, 16)
    start = 0
    blocks = []
    for stage in e.stages:
        blocks.append(layout.num_blocks(range(start, start + stage.layers), stage.kv_cache_bytes))
        start += stage.layers
    assert e.kv_cache_tokens == min(blocks) * 16


# --- weights: what the loaders really allocate --------------------------------------------------------


def _fbgemm_405b() -> dict[str, Any]:
    """The shape of Llama-3.1-405B-Instruct-FP8's quantization_config: fbgemm_fp8 with every attention
    projection and the first and last layers' MLP listed as not converted."""
    cfg = copy.deepcopy(config("meta-llama--Meta-Llama-3.1-405B"))
    skipped = [f"model.layers.{i}.self_attn.{p}_proj" for i in range(126) for p in "qkvo"]
    skipped += [f"model.layers.{i}.mlp.{p}_proj" for i in (0, 125) for p in ("gate", "up", "down")]
    cfg["quantization_config"] = {
        "quant_method": "fbgemm_fp8",
        "activation_scale_ub": 1200.0,
        "modules_to_not_convert": [*skipped, "lm_head"],
    }
    return cfg


def test_modules_not_converted_stay_bf16() -> None:
    kept = model_from_config(_fbgemm_405b(), "405b-fp8")
    everything = copy.deepcopy(_fbgemm_405b())
    everything["quantization_config"]["modules_to_not_convert"] = ["lm_head"]
    all_fp8 = model_from_config(everything, "405b-all-fp8")
    attention = 126 * (2 * 16384 * 16384 + 2 * 16384 * 1024)  # q, o and k, v
    first_last_mlp = 2 * 3 * 16384 * 53248
    scales = 4 * (126 * (16384 + 1024 + 1024 + 16384) + 2 * (53248 * 2 + 16384))  # per-channel fp32
    assert kept.weight_bytes - all_fp8.weight_bytes == attention + first_last_mlp - scales
    assert 1.15 < kept.weight_bytes / all_fp8.weight_bytes < 1.20  # the "17 % low"


def test_ignore_patterns_match_like_the_loaders() -> None:
    from kubectl_kserve_mn.model.quant import QuantInfo

    exact = QuantInfo(
        "fp8",
        8,
        not_converted=("model.layers.0.self_attn", "re:.*mlp\\.down_proj", "model.layers.*.mlp.gate_proj"),
    )
    assert exact.skips(["model.layers.0.self_attn.q_proj"])  # a parent module
    assert not exact.skips(["model.layers.1.self_attn.q_proj"])
    assert exact.skips(["model.layers.7.mlp.down_proj"])  # a regular expression (compressed-tensors)
    assert exact.skips(["model.layers.7.mlp.gate_proj"])  # a glob (gpt-oss, ModelOpt)
    wrapped = QuantInfo("fp8", 8, not_converted=("language_model.model.layers.2.mlp.up_proj",))
    assert wrapped.skips(["model.layers.2.mlp.up_proj"])
    awq = QuantInfo("awq", 4, group_size=128, not_converted=("visual",), match="substring")
    assert awq.skips(["model.visual.blocks.0"]) and not awq.skips(["model.layers.0.mlp.up_proj"])


def test_mxfp4_experts_are_sized_as_vllm_pads_them() -> None:
    experts = Mxfp4Experts(32, 2880, 2880)  # gpt-oss-20b
    hidden, part = 3072, 2880  # hidden rounded up to 256, intermediate per rank to 64
    per_expert = (2 * part * hidden // 2 + 2 * part * hidden // 32 + 2 * part * 2) + (
        hidden * part // 2 + hidden * part // 32 + hidden * 2
    )
    assert experts.bytes_per_rank(1) == 32 * per_expert
    assert experts.bytes_per_rank(2) > experts.bytes_per_rank(1) // 2  # 1440 -> 1472 per rank
    assert experts.bytes_per_rank(1, marlin=True) > experts.bytes_per_rank(1)  # Marlin: 2880 -> 2944
    # llm-d measured "Model loading took 13.47 GiB" for gpt-oss-20b on one H100
    loaded = estimate_memory(facts("openai--gpt-oss-20b"), 1, 1, H100).per_gpu_weights_bytes
    assert abs(loaded / GIB - 13.47) / 13.47 < 0.01


def test_a_multimodal_checkpoint_loads_its_vision_tower() -> None:
    model = facts("mistralai--Mistral-Small-3.2-24B-Instruct-2506")
    assert model.family == "multimodal"
    assert (
        model.vision is not None and 0.4e9 < model.vision.parameters < 0.5e9
    )  # Pixtral 24 x 1024 + projector
    loaded = estimate_memory(model, 1, 1, H100).per_gpu_weights_bytes
    assert abs(loaded / GIB - 44.76) / 44.76 < 0.01  # llm-d: "Model loading took 44.76 GiB"
    text_only = model_from_config(
        {
            k: v
            for k, v in config("mistralai--Mistral-Small-3.2-24B-Instruct-2506").items()
            if k != "vision_config"
        },
        "text",
    )
    assert model.weight_bytes - text_only.weight_bytes == model.vision.bytes


# --- the verdict ---------------------------------------------------------------------------------------


def test_verdict_is_tight_within_the_uncertainty_and_says_the_margin() -> None:
    # Qwen3-32B on one H100 at 16,000 tokens: llm-d measured 4.45 GiB of KV cache, 3.9 GiB needed
    e = estimate_memory(
        facts("Qwen--Qwen3-32B"), 1, 1, H100, gpu_product=H100_PRODUCT, max_model_len=16000, block_size=128
    )
    assert e.verdict == "tight" and not e.fits
    assert 0 < e.margin_bytes < e.uncertainty_bytes
    (violation,) = memory_violations(e)
    assert violation.code == MEMORY_TIGHT and violation.severity == "warning"
    assert "vLLM may refuse to start" in violation.message
    assert f"--max-model-len {e.max_len_safe:,} fits with that margin" in violation.message
    assert 0 < e.max_len_safe < 16000 < e.max_len_fit


def test_a_refusal_quotes_vllm_and_says_which_length_would_fit() -> None:
    e = estimate_memory(facts("Qwen--Qwen3-32B"), 1, 1, H100, gpu_product=H100_PRODUCT, max_model_len=40960)
    assert e.verdict == "does-not-fit"
    (violation,) = memory_violations(e)
    assert violation.code == KV_BELOW_CONTEXT
    assert "To serve at least one request with the model's max seq len (40960)" in violation.message
    assert f"the estimated maximum model length is {e.max_len_fit}." in violation.message
    assert 0 < e.max_len_fit < 40960


def test_weights_beyond_the_budget_is_vllms_no_available_memory() -> None:
    e = estimate_memory(facts("meta-llama--Meta-Llama-3.1-70B"), 1, 1, H100, gpu_product=H100_PRODUCT)
    (violation,) = memory_violations(e)
    assert violation.code == WEIGHTS_EXCEED_MEMORY
    assert "No available memory for the cache blocks" in violation.message
    assert "loading fails with CUDA out of memory" in violation.message  # 131 GiB > 79 GiB


def test_memory_json_keeps_its_fields_and_adds_reserve_base_and_margin() -> None:
    data = estimate_memory(
        facts("meta-llama--Meta-Llama-3.1-8B"), 1, 1, H100, gpu_product=H100_PRODUCT
    ).to_json()
    for key in (
        "gpuMemoryBytes",
        "budgetBytes",
        "reserveBytes",
        "perGpuWeightsBytes",
        "kvCacheTokens",
        "fits",
        "stages",
    ):
        assert key in data
    reserve = data["reserve"]
    assert reserve["totalBytes"] == data["reserveBytes"]
    assert (
        reserve["activationBytes"] + reserve["nonTorchBytes"] + reserve["cudaGraphsBytes"]
        == reserve["totalBytes"]
    )
    assert data["base"]["cudaTotalBytes"] == data["base"]["labelBytes"] - data["base"]["driverReservedBytes"]
    assert (
        data["margin"]["verdict"] == "fits" and data["margin"]["bytes"] > data["margin"]["uncertaintyBytes"]
    )
    assert data["vllmVersion"].startswith("unknown")


def test_verdict_boundaries_are_exact() -> None:
    from dataclasses import replace

    stage = estimate_memory(facts("meta-llama--Meta-Llama-3.1-8B"), 1, 1, H100).stages[0]
    at_edge = replace(stage, needed_bytes=stage.kv_cache_bytes - stage.uncertainty_bytes)
    assert at_edge.margin_bytes == at_edge.uncertainty_bytes and at_edge.verdict == "fits"
    below = replace(stage, needed_bytes=at_edge.needed_bytes + 1)
    assert below.verdict == "tight"
    refused = replace(stage, needed_bytes=stage.kv_cache_bytes + stage.uncertainty_bytes)
    assert refused.verdict == "does-not-fit"
    assert replace(refused, needed_bytes=refused.needed_bytes - 1).verdict == "tight"


def test_a_float32_checkpoint_gets_vllms_16_bit_kv_cache() -> None:
    # vLLM's dtype "auto" serves float32 checkpoints in 16 bits (vllm/config/model.py _get_and_verify_dtype)
    f32 = model_from_config(config("meta-llama--Meta-Llama-3.1-8B") | {"torch_dtype": "float32"}, "f32")
    bf16 = facts("meta-llama--Meta-Llama-3.1-8B")
    assert (
        estimate_memory(f32, 1, 1, H100).kv_bytes_per_token
        == estimate_memory(bf16, 1, 1, H100).kv_bytes_per_token
    )
    assert estimate_memory(f32, 1, 1, H100).kv_cache_dtype_bytes == 2
    assert f32.weight_bytes == 2 * bf16.weight_bytes  # the checkpoint is twice as large
    assert (
        estimate_memory(f32, 1, 1, H100).per_gpu_weights_bytes
        == estimate_memory(bf16, 1, 1, H100).per_gpu_weights_bytes
    )
