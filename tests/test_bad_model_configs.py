"""Every absurd model config is refused in one line, exit 2, naming the file, the field and the value
(issue 9): run through the CLI as a user would, ``plan --model F`` on the example cluster.

The configs are in tests/fixtures/bad-models/ (README.md there says how each was made).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import _run_in_process

BAD = Path(__file__).resolve().parent / "fixtures" / "bad-models"
MODELS = Path(__file__).resolve().parent / "fixtures" / "models"
CLUSTER = Path(__file__).resolve().parent.parent / "examples" / "cluster-2x8-h100.yaml"

# (file or directory under bad-models/, exit code, text the one-line message must contain)
CASES: list[tuple[str, int, str]] = [
    ("zero-kv-heads.json", 2, "num_key_value_heads: 0 must be at least 1"),
    ("negative-context.json", 2, "max_position_embeddings: -4096 must be at least 1"),
    ("hidden-size-10-to-the-400.json", 2, "hidden_size: a 401-digit number is too large (at most 1,048,576)"),
    ("hidden-size-1e400.json", 2, "hidden_size: an infinite number is not a finite number"),
    ("layers-nan.json", 2, "num_hidden_layers: NaN is not a finite number"),
    ("heads-a-string.json", 2, 'num_attention_heads: "32" is not an integer'),
    ("layers-true.json", 2, "num_hidden_layers: true is not an integer"),
    ("intermediate-fraction.json", 2, "intermediate_size: 14336.5 is not a whole number"),
    ("vocab-negative.json", 2, "vocab_size: -1 must be at least 1"),
    ("layers-zero.json", 2, "num_hidden_layers: 0 must be at least 1"),
    ("layers-a-million.json", 2, "num_hidden_layers: 1000000 is too large (at most 4,096)"),
    ("kv-heads-above-heads.json", 2, "num_key_value_heads: 64 is more than num_attention_heads (32)"),
    ("heads-above-hidden.json", 2, "hidden_size: 16 is smaller than num_attention_heads (32): no head_dim"),
    ("head-dim-zero.json", 2, "head_dim: 0 must be at least 1"),
    ("context-a-trillion.json", 2, "max_position_embeddings: 1000000000000 is too large"),
    ("rope-factor-huge.json", 2, "rope_scaling.factor: 1e+30 is out of range"),
    ("rope-scaling-a-string.json", 2, 'rope_scaling: "yarn" is not an object'),
    ("dtype-a-number.json", 2, "torch_dtype: 5 is not a string"),
    ("architectures-a-string.json", 2, 'architectures: "LlamaForCausalLM" is not a list'),
    ("tie-embeddings-yes.json", 2, 'tie_word_embeddings: "yes" is not true or false'),
    ("experts-per-token-above-experts.json", 2, "num_experts_per_tok: 16 is too large (at most 8)"),
    ("moe-intermediate-negative.json", 2, "moe_intermediate_size: -1 must be at least 1"),
    ("mlp-only-layers-strings.json", 2, 'mlp_only_layers[0]: "a" is not an integer'),
    ("layer-types-too-short.json", 2, "layer_types: has 3 entries for 24 layers"),
    ("sliding-window-zero.json", 2, "sliding_window: 0 must be at least 1"),
    ("text-config-a-list.json", 2, "text_config: a list is not an object"),
    ("vision-hidden-zero.json", 2, "vision_config.hidden_size: 0 must be at least 1"),
    ("quantization-config-a-string.json", 2, 'quantization_config: "fp8" is not an object'),
    (
        "fp8-block-not-a-pair.json",
        2,
        "quantization_config.weight_block_size: has 1 entry, not a [block_n, block_k] pair",
    ),
    ("gptq-bits-a-string.json", 2, 'quantization_config.bits: "4" is not an integer'),
    ("gptq-group-size-zero.json", 2, "quantization_config.group_size: 0 is not a group size"),
    (
        "modules-not-converted-a-string.json",
        2,
        'quantization_config.modules_to_not_convert: "lm_head" is not a list',
    ),
    ("config-a-list.json", 2, "expected a JSON object"),
    ("nested-10000-deep.json", 2, "malformed JSON: nested too deeply"),
    ("integer-of-5000-digits.json", 2, "malformed JSON: Exceeds the limit"),
    ("not-json.json", 2, "malformed JSON (line 1, column 2)"),
    (
        "hf-quant-quantization-a-string",
        2,
        'hf_quant_config.json: model hf-quant-quantization-a-string: quantization: "FP8" is not an object',
    ),
    (
        "hf-quant-no-algo",
        2,
        "hf_quant_config.json: model hf-quant-no-algo: quantization.quant_algo: is missing",
    ),
    ("hf-quant-exclude-a-string", 2, 'quantization.exclude_modules: "lm_head" is not a list'),
    (
        "index-negative-total-size",
        2,
        "model.safetensors.index.json: model index-negative-total-size: metadata.total_size: -5 must be at least 1",
    ),
    ("index-total-size-a-string", 2, 'metadata.total_size: "16GB" is not an integer'),
    ("index-without-metadata", 2, "metadata: is missing"),
]


def plan_with(model: Path) -> tuple[int, str, str]:
    result = _run_in_process(
        [
            "plan",
            "--model",
            str(model),
            "--nodes-file",
            str(CLUSTER),
            "--gpus",
            "16",
            "--kserve-version",
            "v0.16.0",
        ]
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("name", "code", "text"), CASES, ids=[case[0] for case in CASES])
def test_bad_model_config_is_refused_in_one_line_naming_file_field_and_value(
    name: str, code: int, text: str
) -> None:
    exit_code, stdout, stderr = plan_with(BAD / name)
    assert exit_code == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert text in lines[0]
    assert name in lines[0]  # the message names the file (or the model directory) it read
    assert stdout == ""


def test_every_file_in_the_bad_models_folder_has_a_row() -> None:
    on_disk = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert on_disk == {case[0] for case in CASES}


def test_a_good_config_still_plans() -> None:
    exit_code, stdout, stderr = plan_with(MODELS / "meta-llama--Meta-Llama-3.1-8B.json")
    assert exit_code == 0, stderr
    assert "Recommended: PP=2 x TP=8" in stdout
