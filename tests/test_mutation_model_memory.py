"""The memory estimate's JSON and table row, vLLM's start-up refusals word for word, the quantization
configs each checkpoint format writes, and the Hub's errors (from the mutation audit, docs/testing.md).
"""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs import BadInput
from kubectl_kserve_mn.model import estimate_memory, load_model, memory_violations, parse_quantization
from kubectl_kserve_mn.model.memory import signed_gib
from kubectl_kserve_mn.model.reserve import _token_bytes, profile_reserve
from kubectl_kserve_mn.model.source import _hub_reachable
from kubectl_kserve_mn.model.vllm import SchedulerLimits, scheduler_limits, vllm_eras
from tests.test_model import _fake_hub, _HubError

MODELS = Path(__file__).parent / "fixtures" / "models"
H100 = 81559 * 2**20
PRODUCT = "NVIDIA-H100-80GB-HBM3"


def _model(name: str) -> Any:
    return load_model(str(MODELS / f"{name}.json"))


def _estimate(
    name: str, tp: int, pp: int = 1, utilization: float = 0.9, max_model_len: int | None = None
) -> Any:
    return estimate_memory(
        _model(name), tp, pp, H100, utilization=utilization, max_model_len=max_model_len, gpu_product=PRODUCT
    )


USABLE_09 = "71.3 GiB usable (0.9 x 79.2 GiB CUDA total)"
USABLE_05 = "39.6 GiB usable (0.5 x 79.2 GiB CUDA total)"


def test_the_estimate_json_of_llama_70b_on_four_h100s() -> None:
    estimate = _estimate("meta-llama--Meta-Llama-3.1-70B", 4)
    data = estimate.to_json()
    assert data == {
        "gpuMemoryBytes": 85520809984,
        "gpuMemoryUtilization": 0.9,
        "budgetBytes": 76521821700,
        "reserveBytes": 6452852818,
        "perGpuWeightsBytes": 35278831616,
        "kvBytesPerToken": 81920,
        "kvCacheBytes": 34790137266,
        "kvCacheTokens": 424672,
        "kvCacheDtypeBytes": 2,
        "maxModelLen": 131072,
        "concurrency": 3.24,
        "fits": True,
        "stages": [
            {
                "stage": 0,
                "layers": 80,
                "weightsBytes": 35278831616,
                "kvBytesPerToken": 81920,
                "kvCacheBytes": 34790137266,
                "kvCacheTokens": 424672,
                "reserveBytes": 6452852818,
                "neededBytes": 10737418240,
                "marginBytes": 24052719026,
            }
        ],
        "reserve": {
            "activationBytes": 2006450176,
            "nonTorchBytes": 2233382994,
            "cudaGraphsBytes": 2213019648,
            "totalBytes": 6452852818,
            "samplerWarmupBytes": 2006450176,
            "forwardPeakBytes": 754974720,
            "vllmEra": "0.21",
        },
        "margin": {
            "verdict": "fits",
            "bytes": 24052719026,
            "uncertaintyBytes": 3175148666,
            "stage": 0,
            "maxModelLenFit": 131072,
            "maxModelLenWithMargin": 131072,
        },
        "vllmVersion": "unknown (0.10 or later: the largest reserve)",
        "hybridKvCache": False,
        "base": {
            "labelBytes": 85520809984,
            "driverReservedBytes": 496563651,
            "cudaTotalBytes": 85024246333,
            "driverReservedMeasured": True,
        },
        "maxNumBatchedTokens": 8192,
        "maxNumSeqs": 1024,
    }
    # 80 layers x 2 (K and V) x 8 KV heads / 4 ranks x 128 x 2 bytes
    assert data["kvBytesPerToken"] == 80 * 2 * (8 // 4) * 128 * 2
    assert estimate.table_row() == {
        "WEIGHTS/GPU": "32.9 GiB",
        "RESERVE": "6.0 GiB",
        "BUDGET": "71.3 GiB (0.9 x 79.2 GiB)",
        "KV/GPU": "32.4 GiB",
        "KV TOKENS": "424,672",
        "MAX LEN": "131,072",
        "CONCURRENCY": "3.24x",
        "FITS": "yes",
    }
    assert [v.message for v in memory_violations(estimate)] == [
        "the KV cache holds 424,672 tokens, 3.24 concurrent requests of 131,072 tokens (fewer than 4)"
    ]
    assert memory_violations(estimate, min_concurrency=3.0) == []


def test_weights_larger_than_the_gpu_say_loading_fails() -> None:
    (violation,) = memory_violations(_estimate("meta-llama--Meta-Llama-3.1-70B", 1, utilization=0.5))
    assert (violation.code, violation.severity) == ("model-weights-exceed-memory", "error")
    assert violation.message == (
        "No available memory for the cache blocks at TP=1 PP=1 (the weights alone exceed the GPU: loading fails "
        "with CUDA out of memory): predicted per GPU of stage 0: weights 131.4 GiB + reserve 4.9 GiB (activation "
        f"4.8 GiB, non-torch 0.1 GiB) of {USABLE_05}"
    )


def test_weights_that_fit_but_leave_no_kv_cache_say_so_without_the_oom() -> None:
    (long, violation) = memory_violations(
        _estimate("meta-llama--Meta-Llama-3.1-70B", 2, max_model_len=200000)
    )
    assert long.message == (
        "User-specified max_model_len (200000) is greater than the derived max_model_len (131072) in model's "
        "config.json."
    )
    assert violation.message == (
        "No available memory for the cache blocks at TP=2 PP=1: predicted per GPU of stage 0: weights 65.7 GiB + "
        "reserve 6.0 GiB (activation 1.9 GiB, non-torch 2.1 GiB, CUDA graphs 2.1 GiB) of " + USABLE_09
    )


def test_a_kv_cache_below_one_request_names_the_length_that_fits() -> None:
    (violation,) = memory_violations(_estimate("meta-llama--Meta-Llama-3.1-70B", 4, utilization=0.5))
    assert (violation.code, violation.severity) == ("model-kv-below-context", "error")
    assert violation.message == (
        "To serve at least one request with the model's max seq len (131072), (10.00 GiB KV cache is needed, "
        "which is larger than the available KV cache memory (0.73 GiB). Based on the available memory, the "
        "estimated maximum model length is 9520. (predicted per GPU of stage 0: weights 32.9 GiB + reserve 6.0 "
        f"GiB (activation 1.9 GiB, non-torch 2.1 GiB, CUDA graphs 2.1 GiB) of {USABLE_05})"
    )


@pytest.mark.parametrize(
    ("tp", "utilization", "length", "amount"),
    [(2, 0.9, 16384, "3.0 GiB short"), (4, 0.5, 8192, "0.1 GiB to spare")],
)
def test_a_tight_fit_is_a_warning_with_the_margin_either_way(
    tp: int, utilization: float, length: int, amount: str
) -> None:
    (violation,) = memory_violations(
        _estimate("meta-llama--Meta-Llama-3.1-70B", tp, utilization=utilization, max_model_len=length)
    )
    assert (violation.code, violation.severity) == ("model-memory-tight", "warning")
    assert violation.message.startswith(
        f"tight at TP={tp} PP=1: one {length:,}-token request fits the KV cache with {amount}, within the "
        "estimate's uncertainty of ±"
    )
    assert (
        "vLLM may refuse to start; no length fits with that margin: add GPUs (predicted per GPU"
        in violation.message
    )


def test_signed_gib_marks_zero_as_positive() -> None:
    assert (signed_gib(0), signed_gib(-(2**30)), signed_gib(3 * 2**29)) == (
        "+0.0 GiB",
        "-1.0 GiB",
        "+1.5 GiB",
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {
                "quant_method": "compressed-tensors",
                "kv_cache_scheme": {"num_bits": 8},
                "config_groups": {
                    "group_0": {"weights": {"num_bits": 4, "strategy": "group", "group_size": 128}}
                },
            },
            {"method": "compressed-tensors", "bits": 4, "groupSize": 128, "kvCacheDtype": "fp8"},
        ),
        (
            {
                "quant_method": "compressed-tensors",
                "config_groups": {
                    "group_0": {"targets": ["Linear"]},
                    "group_1": {
                        "weights": {"num_bits": 8, "strategy": "block", "block_structure": [128, 128]}
                    },
                },
            },
            {"method": "compressed-tensors", "bits": 8, "blockSize": [128, 128]},
        ),
        (
            {"quant_method": "compressed-tensors", "kv_cache_scheme": {"num_bits": 1}},
            {"method": "compressed-tensors"},
        ),
        (
            {"quant_method": "modelopt", "quant_algo": "nvfp4", "kv_cache_quant_algo": "fp8"},
            {"method": "modelopt-nvfp4", "bits": 4, "groupSize": 16, "kvCacheDtype": "fp8"},
        ),
        ({"quant_method": "modelopt", "quant_algo": "W4A8_AWQ"}, {"method": "modelopt-w4a8_awq", "bits": 8}),
        ({"quant_method": "modelopt"}, {"method": "modelopt-unknown", "bits": 8}),
        ({"quant_method": "modelopt", "quant_algo": "FP8_PB_WO"}, {"method": "modelopt-fp8", "bits": 8}),
    ],
)
def test_quantization_configs_per_format(config: dict[str, Any], expected: dict[str, Any]) -> None:
    quant = parse_quantization(config, "m")
    assert quant is not None and quant.to_json() == expected


@pytest.mark.parametrize(
    ("weights", "error"),
    [
        (
            {"num_bits": 0},
            "model m: quantization_config.config_groups.g.weights.num_bits: 0 must be at least 1",
        ),
        (
            {"num_bits": 8, "strategy": "block", "block_structure": [0, 128]},
            "model m: quantization_config.config_groups.g.weights.block_structure[0]: 0 must be at least 1",
        ),
        (
            {"num_bits": 8, "strategy": "block", "block_structure": [128]},
            "model m: quantization_config.config_groups.g.weights.block_structure: has 1 entry, not a "
            "[block_n, block_k] pair",
        ),
    ],
)
def test_bad_compressed_tensors_weights_are_refused_naming_the_field(
    weights: dict[str, Any], error: str
) -> None:
    config = {"quant_method": "compressed-tensors", "config_groups": {"g": {"weights": weights}}}
    with pytest.raises(BadInput) as refused:
        parse_quantization(config, "m")
    assert str(refused.value) == error
    assert parse_quantization(None, "m") is None


class RevisionNotFoundError(_HubError):
    pass


class ConnectTimeout(_HubError):
    pass


class HfHubHTTPError(_HubError):
    pass


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RevisionNotFoundError("404"), "no such revision"),
        (
            ConnectTimeout("timed out"),
            "cannot reach huggingface.co (set HF_HUB_OFFLINE=1 to use the cache, or pass a local path)",
        ),
        (HfHubHTTPError("500 Server Error\nmore"), "Hugging Face Hub error: 500 Server Error"),
        (HfHubHTTPError("  "), "Hugging Face Hub error: HfHubHTTPError"),
        (ValueError("odd\nsecond"), "ValueError: odd"),
    ],
)
def test_hub_errors_become_one_line(
    monkeypatch: pytest.MonkeyPatch, error: BaseException, reason: str
) -> None:
    _fake_hub(monkeypatch, {"config.json": error}, [])
    with pytest.raises(InputError) as refused:
        load_model("org/model@v1")
    assert str(refused.value) == f"cannot fetch config.json for org/model: {reason}"


def test_hf_token_wins_over_the_legacy_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    _fake_hub(monkeypatch, {"config.json": MODELS / "meta-llama--Meta-Llama-3.1-8B.json"}, calls)
    monkeypatch.setenv("HF_TOKEN", "hf_new")
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy")
    load_model("meta-llama/Llama-3.1-8B")
    assert calls[0]["token"] == "hf_new"


def test_the_hub_probe_connects_to_hf_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        assert _hub_reachable(timeout=2.0) is True
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    assert _hub_reachable(timeout=2.0) is False


def test_a_fixed_reserve_replaces_the_profiled_one() -> None:
    facts = _model("meta-llama--Meta-Llama-3.1-8B")
    estimate = estimate_memory(facts, 1, 1, H100, reserve_bytes=3 * 2**30)
    assert estimate.to_json()["reserve"] == {
        "activationBytes": 3 * 2**30,
        "nonTorchBytes": 0,
        "cudaGraphsBytes": 0,
        "totalBytes": 3 * 2**30,
        "samplerWarmupBytes": 0,
        "forwardPeakBytes": 0,
        "vllmEra": "fixed",
    }


def test_a_block_size_of_one_is_allowed_and_zero_is_refused() -> None:
    facts = _model("meta-llama--Meta-Llama-3.1-8B")
    assert estimate_memory(facts, 1, 1, H100, block_size=1).kv_cache_tokens > 0
    with pytest.raises(InputError) as refused:
        estimate_memory(facts, 1, 1, H100, block_size=0)
    assert str(refused.value) == "--block-size must be >= 1, got 0"


def test_a_stage_with_no_room_for_a_kv_cache_shows_zero_bytes() -> None:
    estimate = _estimate("meta-llama--Meta-Llama-3.1-70B", 2)
    assert estimate.verdict == "does-not-fit"
    data = estimate.to_json()
    assert (data["kvCacheBytes"], data["kvCacheTokens"], data["stages"][0]["kvCacheBytes"]) == (0, 0, 0)


def test_a_config_number_that_is_text_is_refused_naming_the_field() -> None:
    import json

    from kubectl_kserve_mn.model import model_from_config

    config = json.loads((MODELS / "meta-llama--Meta-Llama-3.1-8B.json").read_text(encoding="utf-8"))
    config["rope_scaling"]["factor"] = "abc"
    with pytest.raises(BadInput) as refused:
        model_from_config(config, "m")
    assert str(refused.value) == 'model m: rope_scaling.factor: "abc" is not a number'


def _forward(model: Any, *, first: bool = True, tp: int = 8) -> int:
    era = vllm_eras("0.11.0")[0]
    limits = SchedulerLimits(max_num_batched_tokens=8192, max_num_seqs=256)
    reserve = profile_reserve(
        model, tp, 4, first=first, last=False, era=era, limits=limits, cuda_graphs=False
    )
    return reserve.forward


def test_a_shared_expert_adds_its_projections_to_the_forward_peak() -> None:
    deepseek = _model("deepseek-ai--DeepSeek-V3")
    assert deepseek.shared_expert_intermediate_size == 2048
    without = replace(deepseek, shared_expert_intermediate_size=None)
    # 3 x 2048 / TP 8 = 768 more activation elements per token, 2 bytes each, for 8192 tokens.
    assert _forward(deepseek) - _forward(without) == 8192 * 768 * 2


def test_a_later_pipeline_stage_also_holds_the_tensors_it_received() -> None:
    llama = _model("meta-llama--Meta-Llama-3.1-70B")
    # hidden states and residual from the previous stage: 2 x 8192 hidden elements per token, 2 bytes each.
    assert _forward(llama, first=False) - _forward(llama, first=True) == 2 * 8192 * 8192 * 2


def test_the_attention_term_counts_query_and_output_heads_plus_key_and_value_heads() -> None:
    # With a tiny MLP the attention projections are the largest transient: (2 x 64 + 2 x 8) x 128 at TP 1.
    small_mlp = replace(_model("meta-llama--Meta-Llama-3.1-70B"), intermediate_size=1024)
    elements = _token_bytes(small_mlp, 1)
    assert elements == (3 * 8192, (2 * 64 + 2 * 8) * 128)
    assert all(type(x) is int for x in elements)  # whole heads per rank: no float reaches the JSON


def test_the_hub_probe_uses_the_schemes_default_port_and_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []

    def connect(address: Any, timeout: Any = None) -> Any:
        calls.append((address, timeout))
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert _hub_reachable(timeout=1.5) is False
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.example")
    assert _hub_reachable(timeout=1.5) is False
    assert calls == [(("huggingface.co", 443), 1.5), (("mirror.example", 80), 1.5)]


def test_without_chunked_prefill_one_batch_holds_a_whole_max_length_prompt() -> None:
    assert scheduler_limits(H100, PRODUCT, max_model_len=32768, chunked_prefill=False) == SchedulerLimits(
        32768, 1024
    )
    assert scheduler_limits(H100, PRODUCT, max_model_len=32768) == SchedulerLimits(8192, 1024)


def test_a_config_file_that_is_not_utf8_is_named_in_the_refusal(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(InputError) as refused:
        load_model(str(path))
    assert str(refused.value) == f"cannot read config.json {path}: not UTF-8 text"


def test_a_vision_towers_weights_stay_whole_bytes_per_rank() -> None:
    mistral = _model("mistralai--Mistral-Small-3.2-24B-Instruct-2506")
    data = estimate_memory(mistral, 2, 1, H100, gpu_product=PRODUCT).to_json()
    assert type(data["perGpuWeightsBytes"]) is int and type(data["stages"][0]["weightsBytes"]) is int
