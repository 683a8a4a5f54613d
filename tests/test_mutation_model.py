"""The model package's exact values: facts and their JSON, vLLM's layout rules at their boundaries, the KV
cache dtype and block arithmetic, and the memory verdict at its boundaries.

Written from a mutation audit (docs/testing.md). Sizes are the config.json's own values (tests/fixtures/
models, provenance in the README there); parameter counts are the published sizes (Llama 3.1 405B and 70B,
DeepSeek-V3 671B plus its 14B MTP module of which 11.6B are not shared, gpt-oss-120b 116.8B, Mistral Small
3.2 24B with its 0.4B vision tower).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs import BadInput
from kubectl_kserve_mn.model import (
    HEADS_NOT_DIVISIBLE,
    INTERMEDIATE_NOT_DIVISIBLE,
    KV_HEADS_NOT_DIVISIBLE,
    PP_EXCEEDS_LAYERS,
    PP_UNSUPPORTED,
    ModelFacts,
    ModelViolation,
    Reserve,
    StageMemory,
    kv_cache_dtype_bytes,
    layout_violations,
    load_model,
    model_from_config,
    pp_partition,
)
from kubectl_kserve_mn.model.kvcache import cdiv, kv_layout

MODELS = Path(__file__).parent / "fixtures" / "models"


def model(name: str) -> ModelFacts:
    path = MODELS / name
    return load_model(str(path if path.is_dir() else MODELS / f"{name}.json"))


def config(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MODELS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def test_llama_405b_facts_are_its_config_and_bf16_weights() -> None:
    cfg = config("meta-llama--Meta-Llama-3.1-405B")
    facts = model("meta-llama--Meta-Llama-3.1-405B").to_json()
    assert facts == {
        "name": "meta-llama--Meta-Llama-3.1-405B",
        "architecture": "LlamaForCausalLM",
        "family": "dense",
        "parameters": 405_853_388_800,
        "weightBytes": 2 * 405_853_388_800,  # bfloat16: two bytes a parameter
        "weightBytesSource": "computed",
        "dtype": "bfloat16",
        "torchDtype": "bfloat16",
        "quantization": None,
        "layers": cfg["num_hidden_layers"],
        "attentionHeads": cfg["num_attention_heads"],
        "kvHeads": cfg["num_key_value_heads"],
        "headDim": cfg["hidden_size"] // cfg["num_attention_heads"],
        "hiddenSize": cfg["hidden_size"],
        "intermediateSize": cfg["intermediate_size"],
        "experts": 0,
        "maxContext": cfg["max_position_embeddings"],
        "supportsPipelineParallel": True,
    }


def test_deepseek_v3_facts_carry_mla_moe_fp8_blocks_and_the_mtp_module() -> None:
    cfg = config("deepseek-ai--DeepSeek-V3")
    facts = model("deepseek-ai--DeepSeek-V3").to_json()
    assert facts == {
        "name": "deepseek-ai--DeepSeek-V3",
        "architecture": "DeepseekV3ForCausalLM",
        "family": "moe",
        "parameters": 671_026_419_200,
        "weightBytes": 688_472_073_792,
        "weightBytesSource": "computed",
        "dtype": "fp8 block 128x128",
        "torchDtype": "bfloat16",
        "quantization": {"method": "fp8", "bits": 8, "blockSize": [128, 128]},
        "layers": cfg["num_hidden_layers"],
        "attentionHeads": cfg["num_attention_heads"],
        "kvHeads": cfg["num_key_value_heads"],
        "headDim": 56,
        "hiddenSize": cfg["hidden_size"],
        "intermediateSize": cfg["intermediate_size"],
        "experts": cfg["n_routed_experts"],
        "maxContext": cfg["max_position_embeddings"],
        "supportsPipelineParallel": True,
        "moeIntermediateSize": cfg["moe_intermediate_size"],
        "mla": {"kvLoraRank": cfg["kv_lora_rank"], "qkRopeHeadDim": cfg["qk_rope_head_dim"]},
        "mtpParameters": 11_610_068_224,
    }


def test_gpt_oss_facts_carry_mxfp4_experts_and_the_sliding_window_layers() -> None:
    cfg = config("openai--gpt-oss-120b")
    facts = model("openai--gpt-oss-120b").to_json()
    assert facts == {
        "name": "openai--gpt-oss-120b",
        "architecture": "GptOssForCausalLM",
        "family": "moe",
        "parameters": 116_829_156_672,
        "weightBytes": 65_248_815_744,
        "weightBytesSource": "computed",
        "dtype": "mxfp4 experts, bfloat16",
        "torchDtype": "bfloat16",
        "quantization": {"method": "mxfp4", "bits": 4, "groupSize": 32, "modulesNotConverted": 4},
        "layers": cfg["num_hidden_layers"],
        "attentionHeads": cfg["num_attention_heads"],
        "kvHeads": cfg["num_key_value_heads"],
        "headDim": cfg["head_dim"],
        "hiddenSize": cfg["hidden_size"],
        "intermediateSize": cfg["intermediate_size"],
        "experts": cfg["num_local_experts"],
        "maxContext": cfg["max_position_embeddings"],
        "supportsPipelineParallel": True,
        "moeIntermediateSize": cfg["intermediate_size"],
        "slidingWindowLayers": cfg["layer_types"].count("sliding_attention"),
        "slidingWindow": cfg["sliding_window"],
    }


def test_a_vision_model_reports_its_tower_and_no_pipeline_support() -> None:
    facts = model("mistralai--Mistral-Small-3.2-24B-Instruct-2506").to_json()
    assert (facts["family"], facts["supportsPipelineParallel"], facts["visionParameters"]) == (
        "multimodal",
        False,
        454_968_320,
    )
    assert (facts["parameters"], facts["weightBytes"]) == (24_027_371_520, 2 * 24_027_371_520)


@pytest.mark.parametrize(
    ("name", "quantization"),
    [
        (
            "RedHatAI--Llama-3.3-70B-Instruct-FP8-dynamic",
            {"method": "compressed-tensors", "bits": 8, "modulesNotConverted": 1},
        ),
        (
            "nvidia--Llama-3.1-70B-Instruct-FP8",
            {"method": "modelopt-fp8", "bits": 8, "kvCacheDtype": "fp8", "modulesNotConverted": 1},
        ),
        (
            "deepseek-ai--DeepSeek-V3",
            {"method": "fp8", "bits": 8, "blockSize": [128, 128]},
        ),
    ],
)
def test_quantization_json_per_checkpoint_format(name: str, quantization: dict[str, Any]) -> None:
    facts = model(name)
    assert facts.to_json()["quantization"] == quantization
    assert facts.quantization is not None and facts.quantization.to_json() == quantization


def test_kv_cache_dtype_follows_the_flag_then_the_checkpoint() -> None:
    llama = model("meta-llama--Meta-Llama-3.1-70B")
    fp8_kv = model("nvidia--Llama-3.1-70B-Instruct-FP8")
    fp8_weights = model("RedHatAI--Llama-3.3-70B-Instruct-FP8-dynamic")
    assert [
        kv_cache_dtype_bytes(n, llama) for n in ("auto", "bfloat16", "float16", "half", "fp8", " FP8_E5M2 ")
    ] == [
        2,
        2,
        2,
        2,
        1,
        1,
    ]
    assert kv_cache_dtype_bytes("auto", fp8_kv) == 1  # ModelOpt quantizes the KV cache too
    assert kv_cache_dtype_bytes("auto", fp8_weights) == 2  # FP8 weights alone keep a 16-bit KV cache
    with pytest.raises(InputError) as refused:
        kv_cache_dtype_bytes("int4", llama)
    assert str(refused.value) == (
        "unknown --kv-cache-dtype 'int4' (expected one of auto, bfloat16, float16, half, fp8, fp8_e4m3, "
        "fp8_e5m2, fp8_ds_mla)"
    )


def test_a_float32_checkpoint_gets_a_16_bit_kv_cache_as_vllm_downcasts_it() -> None:
    """vLLM's dtype "auto" loads a float32 checkpoint in 16 bits (ModelConfig._get_and_verify_dtype), and the
    KV cache follows the model dtype: 2 bytes, not 4."""
    facts = model("meta-llama--Meta-Llama-3.1-8B")
    from dataclasses import replace

    assert kv_cache_dtype_bytes("auto", replace(facts, dtype="float32")) == 2
    assert kv_cache_dtype_bytes("auto", replace(facts, dtype="float64")) == 2


def test_a_kv_page_is_two_tensors_of_block_heads_per_rank_and_head_dim() -> None:
    llama = model("meta-llama--Meta-Llama-3.1-70B")  # 8 KV heads of 128
    layout = kv_layout(llama, 4, 2, 16)
    assert layout.page_bytes == 2 * 16 * (8 // 4) * 128 * 2
    # TP beyond the KV heads replicates them: one head per rank, never zero.
    assert kv_layout(llama, 16, 2, 16).page_bytes == 2 * 16 * 1 * 128 * 2
    assert layout.bytes_per_token(range(80)) == 80 * layout.page_bytes // 16
    deepseek = model("deepseek-ai--DeepSeek-V3")  # MLA: one latent of 512 + 64, not split by TP
    assert kv_layout(deepseek, 8, 1, 64).page_bytes == 64 * (512 + 64) * 1


def test_kv_blocks_round_up_per_request_and_down_for_the_cache() -> None:
    llama = model("meta-llama--Meta-Llama-3.1-8B")  # 32 layers, 8 KV heads of 128
    layout = kv_layout(llama, 1, 2, 16)
    page = layout.page_bytes
    layers = range(32)
    # One request of 17 tokens needs two blocks per layer (17 / 16 rounded up), of 16 tokens one.
    assert layout.needed(layers, 17, 8192) == 32 * 2 * page
    assert layout.needed(layers, 16, 8192) == 32 * 1 * page
    # The cache holds whole blocks only: one byte short of 3 blocks per layer is 2 blocks, 32 tokens.
    blocks = layout.num_blocks(layers, 32 * 3 * page - 1)
    assert blocks == 2
    assert layout.tokens(blocks) == 32
    assert layout.num_blocks(layers, 32 * 3 * page) == 3
    assert layout.num_blocks(layers, -5) == 0
    # The longest request that fits exactly 3 blocks per layer is 48 tokens, not 49.
    assert layout.fit_len(layers, 32 * 3 * page, 131072, 8192) == 48
    assert layout.fit_len(layers, 32 * 3 * page, 40, 8192) == 40
    assert layout.fit_len(layers, 32 * page - 1, 131072, 8192) == 0
    assert layout.fit_len(layers, 0, 131072, 8192) == 0
    assert layout.concurrency(layers, 30, 48, 8192) == 10.0
    assert (cdiv(17, 16), cdiv(16, 16), cdiv(0, 16)) == (2, 1, 0)


def test_sliding_window_layers_need_only_the_window_plus_a_block() -> None:
    gpt = model("openai--gpt-oss-20b")
    layout = kv_layout(gpt, 1, 2, 16)
    assert layout.hybrid
    window = next(w for w in layout.windows if w is not None)
    page = layout.page_bytes
    # A sliding layer holds min(window - 1 + batched tokens, max_model_len) tokens, rounded up, plus one block.
    assert layout.layer_usage(window, 131072, 2048) == (cdiv(window - 1 + 2048, 16) + 1) * page
    assert layout.layer_usage(window, 100, 2048) == (cdiv(100, 16) + 1) * page
    assert layout.layer_usage(None, 100, 2048) == cdiv(100, 16) * page
    flat = kv_layout(gpt, 1, 2, 16, hybrid=False)
    assert not flat.hybrid and set(flat.windows) == {None}
    assert len(flat.groups) == 1 and len(layout.groups) == 2


def test_logged_kv_tokens_split_the_blocks_between_groups_before_multiplying_by_the_block_size() -> None:
    # vLLM's "GPU KV cache size" is num_blocks // groups * block_size (vllm v1 kv_cache_utils): with two
    # groups, 101 blocks are 50 per group, 800 tokens, never 101 * 16 // 2 = 808.
    gpt = model("openai--gpt-oss-20b")
    layout = kv_layout(gpt, 1, 2, 16)
    assert len(layout.groups) == 2
    assert layout.tokens(101) == 800
    assert layout.tokens(100) == 800
    assert kv_layout(gpt, 1, 2, 16, hybrid=False).tokens(101) == 1616


# Qwen1.5-MoE-A2.7B-Chat-GPTQ-Int4's config.json (huggingface.co/Qwen), the fields the rules read: a
# group-quantized MoE whose shared expert is TP-sharded even under expert parallelism.
QWEN_MOE_GPTQ: dict[str, Any] = {
    "architectures": ["Qwen2MoeForCausalLM"],
    "model_type": "qwen2_moe",
    "hidden_size": 2048,
    "intermediate_size": 5632,
    "moe_intermediate_size": 1408,
    "shared_expert_intermediate_size": 5632,
    "num_experts": 60,
    "num_experts_per_tok": 4,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "num_key_value_heads": 16,
    "max_position_embeddings": 8192,
    "vocab_size": 151936,
    "torch_dtype": "float16",
    "decoder_sparse_step": 1,
    "quantization_config": {
        "bits": 4,
        "group_size": 128,
        "quant_method": "gptq",
        "desc_act": False,
        "sym": True,
    },
}


def test_a_group_quantized_moe_checks_its_shared_expert_and_experts_against_the_group_size() -> None:
    qwen = model_from_config(QWEN_MOE_GPTQ, "Qwen1.5-MoE-A2.7B-Chat-GPTQ-Int4")
    misaligned = (
        "The input size is not aligned with the quantized weight shape. This can be caused by too large "
    )
    # TP=2: the shared expert (5632/2 = 2816 = 22 x 128) is aligned; the experts (1408/2 = 704) are not.
    assert [v.message for v in layout_violations(qwen, 2, 1)] == [
        misaligned + "tensor parallel size. (1408/2 = 704 is not a multiple of the gptq group size 128)"
    ]
    # Expert parallelism keeps experts whole, but the shared expert is still split: 5632/8 = 704.
    assert [v.message for v in layout_violations(qwen, 8, 1, expert_parallel=True)] == [
        misaligned + "tensor parallel size. (5632/8 = 704 is not a multiple of the gptq group size 128)"
    ]
    assert layout_violations(qwen, 1, 1) == []


def _stage(kv_cache: int, needed: int, uncertainty: int) -> StageMemory:
    reserve = Reserve(activation=1, non_torch=2, cuda_graphs=3, sampler=0, forward=1, era="0.21")
    return StageMemory(0, 10, 100, 8, kv_cache, 0, reserve, needed, uncertainty)


def test_the_memory_verdict_boundaries_are_inclusive_at_the_uncertainty() -> None:
    assert _stage(kv_cache=150, needed=100, uncertainty=50).verdict == "fits"  # margin == uncertainty
    assert _stage(kv_cache=149, needed=100, uncertainty=50).verdict == "tight"
    assert _stage(kv_cache=51, needed=100, uncertainty=50).verdict == "tight"
    assert _stage(kv_cache=50, needed=100, uncertainty=50).verdict == "does-not-fit"  # margin == -uncertainty
    short = _stage(kv_cache=-7, needed=100, uncertainty=50)
    assert short.to_json() == {
        "stage": 0,
        "layers": 10,
        "weightsBytes": 100,
        "kvBytesPerToken": 8,
        "kvCacheBytes": 0,  # a negative KV budget is shown as none
        "kvCacheTokens": 0,
        "reserveBytes": 6,
        "neededBytes": 100,
        "marginBytes": -107,
    }


def test_layout_rules_at_their_boundaries_with_vllms_messages() -> None:
    llama = model("meta-llama--Meta-Llama-3.1-70B")  # 64 heads, 8 KV heads, 28672 intermediate, 80 layers
    assert layout_violations(llama, 8, 80) == []  # PP == layers: one layer a stage
    assert layout_violations(llama, 16, 1) == []  # TP 16 > 8 KV heads: replicated, 16 % 8 == 0
    assert layout_violations(llama, 8, 81) == [
        ModelViolation(
            PP_EXCEEDS_LAYERS,
            "pipeline parallel size (81) exceeds the number of hidden layers (80); some stages would hold no layer",
        )
    ]
    assert [v.to_json() for v in layout_violations(llama, 3, 1)] == [
        {
            "code": HEADS_NOT_DIVISIBLE,
            "severity": "error",
            "message": "Total number of attention heads (64) must be divisible by tensor parallel size (3).",
        },
        {
            "code": KV_HEADS_NOT_DIVISIBLE,
            "severity": "error",
            "message": "8 is not divisible by 3 (KV heads by TP)",
        },
        {
            "code": INTERMEDIATE_NOT_DIVISIBLE,
            "severity": "error",
            "message": "28672 is not divisible by 3 (intermediate_size by TP)",
        },
    ]
    assert [v.message for v in layout_violations(llama, 32, 1) if v.code == KV_HEADS_NOT_DIVISIBLE] == []
    assert [v.message for v in layout_violations(llama, 12, 1) if v.code == KV_HEADS_NOT_DIVISIBLE] == [
        "12 is not divisible by 8 (TP by KV heads to replicate)"
    ]
    with pytest.raises(InputError) as refused:
        layout_violations(llama, 0, 1)
    assert str(refused.value) == "tensor and pipeline parallel sizes must be >= 1, got TP=0 PP=1"


def test_pipeline_parallelism_on_an_unlisted_architecture_is_only_a_warning() -> None:
    mistral = model("mistralai--Mistral-Small-3.2-24B-Instruct-2506")
    assert layout_violations(mistral, 1, 1) == []
    (warning,) = layout_violations(mistral, 1, 2)
    assert (warning.code, warning.severity) == (PP_UNSUPPORTED, "warning")
    assert warning.message == (
        "Mistral3ForConditionalGeneration is not known to implement SupportsPP; if it does not, vLLM fails with "
        "'Pipeline parallelism is not supported for this model. Supported models implement the `SupportsPP` "
        "interface.'"
    )


def test_pp_partition_gives_the_remainder_to_the_stages_before_the_last() -> None:
    assert pp_partition(80, 1) == [80]
    assert pp_partition(80, 3) == [27, 27, 26]
    assert pp_partition(126, 4) == [31, 32, 32, 31]
    assert pp_partition(61, 4) == [15, 15, 16, 15]
    assert pp_partition(4, 4) == [1, 1, 1, 1]
    with pytest.raises(InputError) as refused:
        pp_partition(3, 0)
    assert str(refused.value) == "cannot split 3 layers over 0 pipeline stages"


def test_derived_context_is_the_config_length_scaled_by_linear_rope() -> None:
    from kubectl_kserve_mn.model import derive_max_context

    assert (
        derive_max_context(config("meta-llama--Meta-Llama-3.1-8B")) == 131072
    )  # llama3 rope: already scaled
    linear = {"max_position_embeddings": 4096, "rope_scaling": {"type": "linear", "factor": 2.0}}
    assert derive_max_context(linear) == 8192


def test_a_config_without_a_context_length_is_refused_saying_what_else_would_do() -> None:
    from kubectl_kserve_mn.model import model_from_config

    cfg = config("meta-llama--Meta-Llama-3.1-8B")
    del cfg["max_position_embeddings"]
    with pytest.raises(BadInput) as refused:
        model_from_config(cfg, "m")
    assert str(refused.value) == "model m: max_position_embeddings: is missing (or another context length)"


def test_a_safetensors_index_without_metadata_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps(config("meta-llama--Meta-Llama-3.1-8B")), encoding="utf-8"
    )
    index = tmp_path / "model.safetensors.index.json"
    index.write_text('{"weight_map": {}}', encoding="utf-8")
    with pytest.raises(BadInput) as refused:
        load_model(str(tmp_path))
    assert str(refused.value) == (
        f"{index}: model {tmp_path.name}: metadata: is missing (metadata.total_size gives the checkpoint's bytes)"
    )
    index.write_text('{"metadata": {"total_size": 16060522496}}', encoding="utf-8")
    facts = load_model(str(tmp_path))
    assert (facts.weight_bytes, facts.weight_bytes_source) == (16060522496, "safetensors-index")


def test_kv_bytes_per_token_rounds_kv_heads_per_rank_down() -> None:
    llama = model("meta-llama--Meta-Llama-3.1-8B")  # 32 layers, 8 KV heads of 128
    assert llama.kv_bytes_per_token() == 32 * 2 * 8 * 128 * 2
    assert llama.kv_bytes_per_token(3) == 32 * 2 * (8 // 3) * 128 * 2
    assert llama.kv_bytes_per_token(2, layers=4, dtype_bytes=1) == 4 * 2 * 4 * 128 * 1
    assert llama.kv_bytes_per_token(16) == 32 * 2 * 1 * 128 * 2
    deepseek = model("deepseek-ai--DeepSeek-V3")
    assert deepseek.kv_bytes_per_token(8, layers=2) == 2 * (512 + 64) * 2


def test_the_moe_reserve_of_gpt_oss_120b_on_four_h100s() -> None:
    from kubectl_kserve_mn.model import estimate_memory

    estimate = estimate_memory(
        model("openai--gpt-oss-120b"),
        4,
        1,
        81559 * 2**20,
        utilization=0.9,
        gpu_product="NVIDIA-H100-80GB-HBM3",
    )
    data = estimate.to_json()
    assert data["reserve"] == {
        "activationBytes": 7883718656,
        "nonTorchBytes": 590558003,
        "cudaGraphsBytes": 0,
        "totalBytes": 7883718656 + 590558003,
        "samplerWarmupBytes": 7883718656,
        "forwardPeakBytes": 476053504,
        "vllmEra": "0.10",
    }
    assert data["perGpuWeightsBytes"] == 18453300480
    assert data["hybridKvCache"] is True


def test_the_longest_request_search_is_exact_at_block_boundaries() -> None:
    llama = model("meta-llama--Meta-Llama-3.1-8B")
    layout = kv_layout(llama, 1, 2, 16)
    layers = range(32)
    one_block = 32 * layout.page_bytes
    assert layout.fit_len(layers, one_block, 131072, 8192) == 16  # exactly one block per layer
    assert layout.fit_len(layers, 2 * one_block, 32, 8192) == 32
    assert layout.fit_len(layers, 2 * one_block, 31, 8192) == 31
    assert layout.fit_len(layers, 5 * one_block, 131072, 8192) == 80
    single = kv_layout(llama, 1, 2, 1)  # block size 1: every token its own block
    assert single.fit_len(layers, 32 * single.page_bytes, 131072, 8192) == 1
    assert single.fit_len(layers, 7 * 32 * single.page_bytes, 131072, 8192) == 7


def test_a_config_without_layers_is_refused_without_a_hint() -> None:
    from kubectl_kserve_mn.model import model_from_config

    cfg = config("meta-llama--Meta-Llama-3.1-8B")
    del cfg["num_hidden_layers"]
    with pytest.raises(BadInput) as refused:
        model_from_config(cfg, "m")
    assert str(refused.value) == "model m: num_hidden_layers: is missing"


def test_an_absolute_path_that_does_not_exist_is_a_missing_file_not_a_hub_id() -> None:
    for spec in ("/nonexistent/x", "/nonexistent/x/config.json"):
        with pytest.raises(InputError) as refused:
            load_model(spec)
        assert str(refused.value) == f"--model {spec}: no such file or directory"


def test_expert_parallelism_keeps_whole_experts_per_rank() -> None:
    from kubectl_kserve_mn.model import estimate_memory

    gpt = model("openai--gpt-oss-120b")
    sizes = [
        estimate_memory(
            gpt, 4, 1, 81559 * 2**20, expert_parallel=ep, gpu_product="NVIDIA-H100-80GB-HBM3"
        ).to_json()["perGpuWeightsBytes"]
        for ep in (False, True)
    ]
    assert sizes == [18453300480, 17348265216]


def test_a_vision_tower_without_a_layer_count_is_refused_without_a_hint() -> None:
    from kubectl_kserve_mn.model import model_from_config

    cfg = config("mistralai--Mistral-Small-3.2-24B-Instruct-2506")
    del cfg["vision_config"]["num_hidden_layers"]
    with pytest.raises(BadInput) as refused:
        model_from_config(cfg, "m")
    assert str(refused.value) == "model m: vision_config.num_hidden_layers: is missing"


def test_max_num_seqs_reaches_the_scheduler_limits() -> None:
    from kubectl_kserve_mn.model import estimate_memory

    llama = model("meta-llama--Meta-Llama-3.1-8B")
    limits = [
        estimate_memory(
            llama, 1, 1, 81559 * 2**20, max_num_seqs=seqs, gpu_product="NVIDIA-H100-80GB-HBM3"
        ).limits
        for seqs in (None, 64)
    ]
    assert [x.max_num_seqs for x in limits] == [1024, 64]


def test_an_intermediate_size_tp_does_not_divide_is_named_in_the_refusal() -> None:
    deepseek = model("deepseek-ai--DeepSeek-V3")
    dense = replace(deepseek, intermediate_size=18433)
    experts = replace(deepseek, moe_intermediate_size=2049)
    assert [v.message for v in layout_violations(dense, 2, 1)] == [
        "18433 is not divisible by 2 (intermediate_size by TP)"
    ]
    assert [v.message for v in layout_violations(experts, 2, 1)] == [
        "2049 is not divisible by 2 (moe_intermediate_size by TP)"
    ]


def test_expert_parallelism_admits_tp_sizes_that_would_split_an_expert_unevenly() -> None:
    from kubectl_kserve_mn.model.rules import allowed_tensor_parallel

    experts = replace(model("deepseek-ai--DeepSeek-V3"), moe_intermediate_size=2049)
    assert allowed_tensor_parallel(experts, [1, 2, 4, 8]) == [1]
    assert allowed_tensor_parallel(experts, [1, 2, 4, 8], expert_parallel=True) == [1, 2, 4, 8]


def test_the_mxfp4_backend_spread_follows_expert_parallelism() -> None:
    from kubectl_kserve_mn.model import estimate_memory

    gpt = model("openai--gpt-oss-120b")
    spread = [
        estimate_memory(gpt, 4, 1, 81559 * 2**20, expert_parallel=ep, gpu_product="NVIDIA-H100-80GB-HBM3")
        .stages[0]
        .uncertainty_bytes
        for ep in (False, True)
    ]
    # Marlin's padding of all 128 experts sharded by 4, or of 32 whole experts per rank.
    assert spread == [2170297076, 2514988747]


def test_expert_parallelism_on_a_bf16_moe_keeps_the_bytes_when_tp_divides_the_experts() -> None:
    from kubectl_kserve_mn.model import estimate_memory

    mixtral = model("mistralai--Mixtral-8x7B-v0.1")
    weights = {
        estimate_memory(
            mixtral, 2, 1, 81559 * 2**20, expert_parallel=ep, gpu_product="NVIDIA-H100-80GB-HBM3"
        ).per_gpu_weights_bytes
        for ep in (False, True)
    }
    assert weights == {46704107520}  # 4 whole experts of 8 per rank = every expert sharded by 2
