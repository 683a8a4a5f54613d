"""Model facts, vLLM's layout rules, model loading (no network), GPU memory labels and sizes.

Expected figures are quoted from the model SOURCES notes and vLLM 0.33.0 constraints notes that the
fixtures in tests/fixtures/models/ come with (see its README.md), not from the code under test.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.model import (
    HEADS_NOT_DIVISIBLE,
    INTERMEDIATE_NOT_DIVISIBLE,
    KV_HEADS_NOT_DIVISIBLE,
    PP_EXCEEDS_LAYERS,
    PP_UNSUPPORTED,
    QUANT_BLOCK_MISALIGNED,
    allowed_tensor_parallel,
    gpu_memory_from_labels,
    layout_violations,
    load_model,
    model_from_config,
    model_spec_from_isvc,
    parse_memory_size,
    pp_partition,
)
from tests.fixture_files import model_config as config
from tests.fixture_files import model_facts as facts

FIXTURES = Path(__file__).parent / "fixtures" / "models"
POWERS_OF_TWO = [1, 2, 4, 8, 16, 32, 64]  # the "TP allowed (1-64)" column of the constraints table


# --- weight bytes and parameters (SOURCES "Parameter counts and checkpoint sizes") -------------------


@pytest.mark.parametrize(
    ("name", "total_size"),
    [
        ("meta-llama--Meta-Llama-3.1-8B", 16_060_522_496),
        ("meta-llama--Meta-Llama-3.1-70B", 141_107_412_992),
        ("mistralai--Mixtral-8x7B-v0.1", 93_405_585_408),
    ],
)
def test_computed_weight_bytes_equal_published_safetensors_total(name: str, total_size: int) -> None:
    model = facts(name)
    assert model.weight_bytes == total_size
    assert model.weight_bytes_source == "computed"


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("meta-llama--Meta-Llama-3.1-8B", 8_030_261_248),
        ("meta-llama--Meta-Llama-3.1-70B", 70_553_706_496),
        ("meta-llama--Meta-Llama-3.1-405B", 405_853_388_800),
        ("Qwen--Qwen2.5-7B", 7_615_616_512),
        ("Qwen--Qwen3-32B", 32_762_123_264),
        ("Qwen--Qwen3-235B-A22B", 235_093_634_560),
        ("mistralai--Mixtral-8x7B-v0.1", 46_702_792_704),
        ("mistralai--Mixtral-8x22B-v0.1", 140_620_634_112),
        ("deepseek-ai--DeepSeek-V3", 671_026_419_200),
        ("moonshotai--Kimi-K2-Instruct", 1_026_408_232_448),
        ("openai--gpt-oss-120b", 116_829_156_672),
        ("openai--gpt-oss-20b", 20_914_757_184),
    ],
)
def test_parameter_count_matches_sources_figure(name: str, parameters: int) -> None:
    assert facts(name).parameters == parameters


def test_deepseek_mtp_layer_counted_apart_from_the_loaded_model() -> None:
    model = facts("deepseek-ai--DeepSeek-V3")
    assert model.mtp_parameters == 11_610_068_224  # README_WEIGHTS: "MTP 11.5B unique"
    # HF's "685B" = 671B main + 14B MTP including the MTP embed/head copies
    assert 684e9 < model.parameters + model.mtp_parameters + 2 * 129280 * 7168 < 686e9


@pytest.mark.parametrize(
    ("name", "computed_bytes"),
    [
        ("meta-llama--Meta-Llama-3.1-405B", 811_706_777_600),
        ("Qwen--Qwen2.5-7B", 15_231_233_024),
        ("Qwen--Qwen3-32B", 65_524_246_528),
        ("Qwen--Qwen3-235B-A22B", 470_187_269_120),
        ("mistralai--Mixtral-8x22B-v0.1", 281_241_268_224),
    ],
)
def test_bf16_weight_bytes_match_sources_computed_figure(name: str, computed_bytes: int) -> None:
    assert facts(name).weight_bytes == computed_bytes


# SOURCES gives these as approximations ("≈688.6 GB", "≈65.2 GB", ...); the stated tolerance is 0.1%
# of the figure, or the published range.
@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("deepseek-ai--DeepSeek-V3", 688.6e9 * 0.999, 688.6e9 * 1.001),
        ("deepseek-ai--DeepSeek-R1", 688.6e9 * 0.999, 688.6e9 * 1.001),
        ("openai--gpt-oss-120b", 65.2e9 * 0.999, 65.2e9 * 1.001),
        ("openai--gpt-oss-20b", 13.75e9, 13.85e9),  # "≈13.8 GB"
        ("moonshotai--Kimi-K2-Instruct", 1.025e12, 1.035e12),  # "≈1.03 TB"
        ("Qwen--Qwen3-235B-A22B-FP8", 236e9, 240e9),  # 48 shards of ~4.98 GB: "≈ 236–240 GB"
    ],
)
def test_quantized_weight_bytes_within_stated_tolerance(name: str, low: float, high: float) -> None:
    assert low <= facts(name).weight_bytes <= high


def test_fp8_checkpoint_is_about_half_of_bf16() -> None:
    bf16 = facts("Qwen--Qwen3-32B").weight_bytes
    fp8 = facts("Qwen--Qwen3-32B-FP8").weight_bytes
    assert 0.5 < fp8 / bf16 < 0.55  # FP8 linears + block scales, BF16 embeddings and lm_head


def test_config_facts_read_from_aliases_and_mla_fields() -> None:
    deepseek = facts("deepseek-ai--DeepSeek-V3")
    assert deepseek.mla is not None
    assert (deepseek.mla.kv_lora_rank, deepseek.mla.qk_rope_head_dim) == (512, 64)
    assert deepseek.quantization is not None
    assert deepseek.quantization.block_size == (128, 128)
    assert (deepseek.num_experts, deepseek.moe_intermediate_size, deepseek.dense_mlp_layers) == (256, 2048, 3)
    assert deepseek.max_context == 163_840
    mixtral = facts("mistralai--Mixtral-8x7B-v0.1")
    assert (mixtral.num_experts, mixtral.moe_intermediate_size, mixtral.dense_mlp_layers) == (8, 14336, 0)
    qwen = facts("Qwen--Qwen2.5-7B")
    assert (qwen.num_kv_heads, qwen.head_dim) == (4, 3584 // 28)  # head_dim = hidden // heads
    oss = facts("openai--gpt-oss-120b")
    assert oss.quantization is not None and oss.quantization.method == "mxfp4"


def test_yarn_rope_scaling_extends_the_context_like_vllm() -> None:
    cfg = config("Qwen--Qwen2.5-7B") | {
        "max_position_embeddings": 32768,
        "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
    }
    assert model_from_config(cfg, "q").max_context == 131072


def test_model_json_has_camel_case_keys() -> None:
    data = facts("meta-llama--Meta-Llama-3.1-8B").to_json()
    assert data["name"] == "meta-llama--Meta-Llama-3.1-8B"
    assert data["parameters"] == 8_030_261_248
    assert data["weightBytes"] == 16_060_522_496
    assert data["dtype"] == "bfloat16"
    assert facts("deepseek-ai--DeepSeek-V3").to_json()["dtype"] == "fp8 block 128x128"


@pytest.mark.parametrize(
    ("cfg", "needle"),
    [
        ({"num_attention_heads": 8, "hidden_size": 64, "vocab_size": 10}, "num_hidden_layers: is missing"),
        (
            {"num_hidden_layers": "32", "num_attention_heads": 8, "hidden_size": 64, "vocab_size": 10},
            'num_hidden_layers: "32" is not an integer',
        ),
        (
            {
                "num_hidden_layers": 2,
                "num_attention_heads": 8,
                "hidden_size": 64,
                "vocab_size": 10,
                "torch_dtype": "int3",
            },
            'torch_dtype: "int3" is an unknown torch_dtype',
        ),
        (
            {"num_hidden_layers": 2, "num_attention_heads": 8, "hidden_size": 64, "vocab_size": 10},
            "max_position_embeddings: is missing",
        ),
    ],
)
def test_malformed_config_is_an_input_error(cfg: dict[str, Any], needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        model_from_config(cfg, "bad")


# --- TP / PP rules (vllm-constraints.md §1.2 table; "1…64" = every power of two up to 64) --------------

ALL = POWERS_OF_TWO


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("meta-llama--Meta-Llama-3.1-8B", [1, 2, 4, 8, 16, 32]),
        ("meta-llama--Meta-Llama-3.1-70B", ALL),
        ("meta-llama--Meta-Llama-3.1-405B", ALL),
        ("Qwen--Qwen2.5-7B", [1, 2, 4]),
        ("Qwen--Qwen3-32B", ALL),
        ("Qwen--Qwen3-235B-A22B", ALL),
        ("mistralai--Mixtral-8x7B-v0.1", [1, 2, 4, 8, 16, 32]),
        ("mistralai--Mixtral-8x22B-v0.1", [1, 2, 4, 8, 16]),
        ("openai--gpt-oss-120b", ALL),
        # FP8 column: the block-128 rule
        ("Qwen--Qwen3-32B-FP8", [1, 2, 4, 8]),
        ("Qwen--Qwen3-235B-A22B-FP8", [1, 2, 4]),
        ("deepseek-ai--DeepSeek-V3", [1, 2, 4, 8, 16]),
        ("deepseek-ai--DeepSeek-R1", [1, 2, 4, 8, 16]),
        ("moonshotai--Kimi-K2-Instruct", [1, 2, 4, 8, 16]),
    ],
)
def test_tp_allowed_table_of_vllm_constraints(name: str, allowed: list[int]) -> None:
    assert allowed_tensor_parallel(facts(name), POWERS_OF_TWO) == allowed


def test_qwen25_7b_never_gets_tp8_with_vllms_message() -> None:
    found = layout_violations(facts("Qwen--Qwen2.5-7B"), 8, 1)
    assert [v.code for v in found] == [HEADS_NOT_DIVISIBLE]
    assert (
        found[0].message
        == "Total number of attention heads (28) must be divisible by tensor parallel size (8)."
    )
    assert found[0].severity == "error"


def test_deepseek_v3_fp8_rejected_at_tp32_for_the_576_shard() -> None:
    model = facts("deepseek-ai--DeepSeek-V3")
    found = layout_violations(model, 32, 1)
    assert found and all(v.code == QUANT_BLOCK_MISALIGNED for v in found)
    assert any("576 is not divisible by weight quantization block_n = 128" in v.message for v in found)
    assert layout_violations(model, 8, 1) == []
    assert layout_violations(model, 16, 1) == []
    assert layout_violations(model, 8, 2) == []


def test_deepseek_bf16_would_allow_tp32() -> None:
    cfg = config("deepseek-ai--DeepSeek-V3")
    del cfg["quantization_config"]
    assert layout_violations(model_from_config(cfg, "bf16"), 32, 1) == []


def test_qwen3_235b_fp8_tp8_rejected_without_expert_parallel() -> None:
    model = facts("Qwen--Qwen3-235B-A22B-FP8")
    found = layout_violations(model, 8, 1)
    assert [v.code for v in found] == [QUANT_BLOCK_MISALIGNED]
    assert "weight = 192 is not divisible by weight quantization block_n = 128" in found[0].message
    assert layout_violations(model, 8, 1, expert_parallel=True) == []


def test_kv_heads_neither_dividing_nor_divided_by_tp_is_rejected() -> None:
    cfg = config("meta-llama--Meta-Llama-3.1-8B") | {
        "num_key_value_heads": 6,
        "num_attention_heads": 48,
        "intermediate_size": 12288,
    }
    model = model_from_config(cfg, "kv6")
    assert [v.code for v in layout_violations(model, 4, 1)] == [KV_HEADS_NOT_DIVISIBLE]  # 6 % 4
    assert [v.code for v in layout_violations(model, 16, 1)] == [KV_HEADS_NOT_DIVISIBLE]  # 16 % 6
    assert layout_violations(model, 12, 1) == []  # 12 % 6 == 0: KV heads replicated
    assert layout_violations(model, 3, 1) == []


def test_intermediate_size_must_divide_by_tp() -> None:
    cfg = config("meta-llama--Meta-Llama-3.1-8B") | {"intermediate_size": 14337}
    found = layout_violations(model_from_config(cfg, "odd"), 2, 1)
    assert [v.code for v in found] == [INTERMEDIATE_NOT_DIVISIBLE]
    assert "14337 is not divisible by 2" in found[0].message


def test_gptq_group_must_divide_each_tp_shard() -> None:
    # SOURCES: Qwen2-72B's intermediate 29568 = 231 x 128 does not split into 128-groups across TP 2/4/8;
    # the quantized Qwen2.5 releases pad it to 29696 for that reason.
    base = config("Qwen--Qwen2.5-7B") | {
        "hidden_size": 8192,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "num_hidden_layers": 80,
        "quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128},
    }
    unpadded = model_from_config(base | {"intermediate_size": 29568}, "q72-gptq")
    padded = model_from_config(base | {"intermediate_size": 29696}, "q72-gptq-padded")
    for tp in (2, 4, 8):
        assert [v.code for v in layout_violations(unpadded, tp, 1)] == [QUANT_BLOCK_MISALIGNED]
        assert layout_violations(padded, tp, 1) == []


@pytest.mark.parametrize(
    ("layers", "pp", "split"),
    [(126, 4, [31, 32, 32, 31]), (61, 2, [31, 30]), (94, 4, [23, 24, 24, 23]), (28, 3, [9, 10, 9])],
)
def test_pp_partition_matches_vllm_get_pp_indices_examples(layers: int, pp: int, split: list[int]) -> None:
    assert pp_partition(layers, pp) == split


def test_pp_partition_override_is_checked_like_vllm() -> None:
    assert pp_partition(126, 4, "32,32,32,30") == [32, 32, 32, 30]
    with pytest.raises(InputError, match="does not match pp_size=4"):
        pp_partition(126, 4, "63,63")
    with pytest.raises(InputError, match="does not match num_hidden_layers=126"):
        pp_partition(126, 2, "63,62")
    with pytest.raises(InputError, match="Invalid partition string"):
        pp_partition(126, 2, "a,b")


def test_pp_above_layer_count_is_rejected() -> None:
    cfg = config("meta-llama--Meta-Llama-3.1-8B") | {"num_hidden_layers": 2}
    found = layout_violations(model_from_config(cfg, "tiny"), 1, 4)
    assert [v.code for v in found] == [PP_EXCEEDS_LAYERS]


def test_pp_on_an_unlisted_architecture_is_a_warning() -> None:
    cfg = config("meta-llama--Meta-Llama-3.1-8B") | {"architectures": ["SomeNewForCausalLM"]}
    model = model_from_config(cfg, "new")
    assert not model.supports_pp
    assert layout_violations(model, 8, 1) == []
    found = layout_violations(model, 8, 2)
    assert [(v.code, v.severity) for v in found] == [(PP_UNSUPPORTED, "warning")]
    assert facts("meta-llama--Meta-Llama-3.1-405B").supports_pp


def test_invalid_parallel_sizes_are_input_errors() -> None:
    with pytest.raises(InputError):
        layout_violations(facts("meta-llama--Meta-Llama-3.1-8B"), 0, 1)


# --- load_model -------------------------------------------------------------------------------------


def test_load_config_json_path() -> None:
    model = load_model(str(FIXTURES / "meta-llama--Meta-Llama-3.1-8B.json"))
    assert model.name == "meta-llama--Meta-Llama-3.1-8B"
    assert model.num_layers == 32


def test_load_directory_reads_index_and_modelopt_quant_config(tmp_path: Path) -> None:
    src = FIXTURES / "nvidia--Llama-3.1-70B-Instruct-FP8"
    model = load_model(str(src))
    assert model.name == "nvidia--Llama-3.1-70B-Instruct-FP8"
    assert model.quantization is not None
    assert model.quantization.method == "modelopt-fp8"
    assert model.quantization.kv_cache_dtype == "fp8"  # hf_quant_config.json: kv_cache_quant_algo FP8
    assert 0.5 < model.weight_bytes / 141_107_412_992 < 0.52  # FP8 linears, BF16 embeddings/lm_head

    d = tmp_path / "llama"
    d.mkdir()
    (d / "config.json").write_text((FIXTURES / "meta-llama--Meta-Llama-3.1-8B.json").read_text())
    (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": 17_000_000_000}}))
    indexed = load_model(str(d))
    assert indexed.weight_bytes == 17_000_000_000
    assert indexed.weight_bytes_source == "safetensors-index"
    assert indexed.name == "llama"


@pytest.mark.parametrize(
    ("content", "needle"),
    [("{not json", "malformed JSON"), ("[1, 2]", "expected a JSON object")],
)
def test_load_malformed_config_is_an_input_error(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(InputError, match=needle):
        load_model(str(path))


def test_load_missing_paths_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_model(str(tmp_path / "nope.json"))
    with pytest.raises(InputError, match=r"no config\.json"):
        load_model(str(tmp_path))
    with pytest.raises(InputError, match="not a file, a directory or a Hugging Face id"):
        load_model("not an id")


class _HubError(Exception):
    pass


class RepositoryNotFoundError(_HubError):
    pass


class GatedRepoError(RepositoryNotFoundError):
    pass


class EntryNotFoundError(_HubError):
    pass


class LocalEntryNotFoundError(EntryNotFoundError):
    pass


def _fake_hub(
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, Any],
    calls: list[dict[str, Any]],
    *,
    reachable: bool = True,
) -> None:
    """A stand-in for huggingface_hub: hf_hub_download returns a local file or raises a library error.
    The Hub's reachability probe is replaced too, so no test leaves the machine."""
    monkeypatch.setattr("kubectl_kserve_mn.model.source._hub_reachable", lambda timeout=3.0: reachable)

    def hf_hub_download(*, repo_id: str, filename: str, **kwargs: Any) -> str:
        calls.append({"repo_id": repo_id, "filename": filename, **kwargs})
        result = files.get(filename, EntryNotFoundError(f"404 {filename}"))
        if isinstance(result, BaseException):
            raise result
        return str(result)

    module = types.ModuleType("huggingface_hub")
    module.hf_hub_download = hf_hub_download  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "huggingface_hub", module)
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


def test_hf_id_fetches_config_and_falls_back_to_computed_without_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []
    _fake_hub(monkeypatch, {"config.json": FIXTURES / "meta-llama--Meta-Llama-3.1-8B.json"}, calls)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy")
    model = load_model("meta-llama/Llama-3.1-8B@main")
    assert model.name == "meta-llama/Llama-3.1-8B"
    assert model.weight_bytes_source == "computed"
    assert calls[0]["filename"] == "config.json"
    assert calls[0]["revision"] == "main"
    assert calls[0]["token"] == "hf_legacy"
    assert calls[0]["local_files_only"] is False


def test_hf_id_uses_the_safetensors_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"metadata": {"total_size": 16_060_522_496}, "weight_map": {}}))
    files = {
        "config.json": FIXTURES / "meta-llama--Meta-Llama-3.1-8B.json",
        "model.safetensors.index.json": index,
    }
    _fake_hub(monkeypatch, files, [])
    model = load_model("meta-llama/Llama-3.1-8B")
    assert model.weight_bytes_source == "safetensors-index"


def test_gated_hf_repo_gives_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_hub(monkeypatch, {"config.json": GatedRepoError("401 Client Error\nAccess restricted")}, [])
    with pytest.raises(InputError) as err:
        load_model("meta-llama/Llama-3.1-8B")
    assert (
        "cannot fetch config.json for meta-llama/Llama-3.1-8B: the repository is gated" in err.value.message
    )
    assert "HF_TOKEN" in err.value.message
    assert "\n" not in err.value.message


def test_missing_hf_repo_gives_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_hub(monkeypatch, {"config.json": RepositoryNotFoundError("404")}, [])
    with pytest.raises(InputError, match="no such repository"):
        load_model("nobody/nothing")


def test_offline_hf_reads_only_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    _fake_hub(monkeypatch, {"config.json": LocalEntryNotFoundError("not cached")}, calls)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="HF_HUB_OFFLINE is set and it is not in the Hugging Face cache"):
        load_model("Qwen/Qwen2.5-7B")
    assert calls[0]["local_files_only"] is True


def test_an_unreachable_hub_reads_only_the_cache_without_waiting_for_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []
    _fake_hub(monkeypatch, {"config.json": LocalEntryNotFoundError("not cached")}, calls, reachable=False)
    with pytest.raises(
        InputError, match=r"cannot reach huggingface\.co and it is not in the Hugging Face cache"
    ):
        load_model("Qwen/Qwen2.5-7B")
    assert calls[0]["local_files_only"] is True


def test_an_unreachable_hub_still_serves_a_cached_config(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    _fake_hub(monkeypatch, {"config.json": FIXTURES / "Qwen--Qwen2.5-7B.json"}, calls, reachable=False)
    assert load_model("Qwen/Qwen2.5-7B").num_attention_heads == 28
    assert all(call["local_files_only"] is True for call in calls)


def test_hub_probe_follows_hf_endpoint_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from kubectl_kserve_mn.model import source

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        assert source._hub_reachable(timeout=2.0)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")  # closed now
    assert not source._hub_reachable(timeout=2.0)


def test_unreachable_hub_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests' ConnectionError and the builtin share the class name the loader classifies by
    _fake_hub(monkeypatch, {"config.json": ConnectionError("Max retries exceeded")}, [])
    with pytest.raises(InputError, match=r"cannot reach huggingface\.co"):
        load_model("Qwen/Qwen2.5-7B")


def test_hf_id_without_huggingface_hub_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # makes the import raise ImportError
    with pytest.raises(InputError, match="huggingface_hub is not installed"):
        load_model("Qwen/Qwen2.5-7B")


def test_model_annotation_on_inference_service() -> None:
    isvc = {"metadata": {"annotations": {"kserve-mn/model": " Qwen/Qwen2.5-7B "}}}
    assert model_spec_from_isvc(isvc) == "Qwen/Qwen2.5-7B"
    assert model_spec_from_isvc({"metadata": {}}) is None


# --- GPU memory -------------------------------------------------------------------------------------


def test_gpu_memory_from_gfd_label_is_mib() -> None:
    assert gpu_memory_from_labels({"nvidia.com/gpu.memory": "81559"}) == 81559 * 2**20


def test_gpu_memory_from_amd_vram_label_is_gib() -> None:
    assert gpu_memory_from_labels({"amd.com/gpu.vram": "192G"}) == 192 * 2**30
    assert gpu_memory_from_labels({"beta.amd.com/gpu.vram": "192G"}) == 192 * 2**30
    # mixed GPUs on one node: the labeller writes amd.com/gpu.vram.<value>=<count>; take the smallest
    assert gpu_memory_from_labels({"amd.com/gpu.vram.192G": "4", "amd.com/gpu.vram.64G": "4"}) == 64 * 2**30


def test_gpu_memory_missing_or_garbled_label_is_none() -> None:
    assert gpu_memory_from_labels({}) is None
    assert gpu_memory_from_labels({"nvidia.com/gpu.memory": "lots"}) is None
    assert gpu_memory_from_labels({"nvidia.com/gpu.memory": "0"}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80Gi", 80 * 2**30),
        ("80GiB", 80 * 2**30),
        ("81559Mi", 81559 * 2**20),
        ("80G", 80 * 10**9),
        ("80GB", 80 * 10**9),
        ("1.5Ti", int(1.5 * 2**40)),
    ],
)
def test_parse_memory_size_uses_kubectl_units(text: str, expected: int) -> None:
    assert parse_memory_size(text) == expected


@pytest.mark.parametrize("text", ["80", "", "eighty Gi", "80Xi", "-1Gi", "0Gi"])
def test_parse_memory_size_rejects_bad_values(text: str) -> None:
    with pytest.raises(InputError, match="--gpu-memory"):
        parse_memory_size(text)


def test_a_bad_config_from_the_hub_names_the_hf_id_and_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = Path(__file__).resolve().parent / "fixtures" / "bad-models" / "zero-kv-heads.json"
    _fake_hub(monkeypatch, {"config.json": bad}, [])
    with pytest.raises(InputError) as err:
        load_model("acme/broken-model")
    assert err.value.message == "acme/broken-model: config.json: num_key_value_heads: 0 must be at least 1"


def test_absurd_gpu_memory_is_refused_or_ignored() -> None:
    with pytest.raises(InputError, match="more than 64Ti"):
        parse_memory_size("99999999999999999999Ti")
    assert gpu_memory_from_labels({"nvidia.com/gpu.memory": "9" * 40}) is None
    assert gpu_memory_from_labels({"amd.com/gpu.vram": "99999999999G"}) is None
