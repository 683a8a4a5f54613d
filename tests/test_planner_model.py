"""Model-aware planning (issue 6): the planner filters layouts with the model's vLLM rules and memory."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kubectl_kserve_mn.cli import cli
from kubectl_kserve_mn.kserve.eras import era_for, parse_version
from kubectl_kserve_mn.model import load_model
from kubectl_kserve_mn.planner import MemoryOptions, PlanRequest, plan
from tests.nodes import gpu_node, inventory_of

MODELS = Path(__file__).resolve().parent / "fixtures" / "models"
V0151 = era_for(parse_version("v0.15.1"))
H100_MIB = 81559


def h100_nodes(count: int) -> list[dict[str, object]]:
    return [gpu_node(f"h100-{i}", 8, memory_mib=H100_MIB) for i in range(count)]


def test_llama_405b_bf16_does_not_fit_one_h100_node() -> None:
    model = load_model(str(MODELS / "meta-llama--Meta-Llama-3.1-405B.json"))
    result = plan(
        inventory_of(h100_nodes(1), []),
        V0151,
        PlanRequest(model=model, memory=MemoryOptions(max_model_len=8192)),
    )
    assert result.recommendation is None
    reasons = {r.layout: r.reason for r in result.rejected}
    assert "No available memory for the cache blocks" in reasons["PP=1 x TP=8"]


def test_llama_405b_bf16_fits_as_pp2_tp8_on_two_h100_nodes() -> None:
    model = load_model(str(MODELS / "meta-llama--Meta-Llama-3.1-405B.json"))
    result = plan(
        inventory_of(h100_nodes(2), []),
        V0151,
        PlanRequest(model=model, memory=MemoryOptions(max_model_len=32768)),
    )
    rec = result.recommendation
    assert rec is not None
    assert (rec.pipeline_parallel_size, rec.tensor_parallel_size, rec.hosts, rec.node_count) == (2, 8, 2, 2)
    assert rec.memory is not None and rec.memory.fits
    assert rec.memory.kv_cache_tokens >= 32768


def test_a_model_with_28_attention_heads_never_gets_tp8() -> None:
    model = load_model(str(MODELS / "Qwen--Qwen2.5-7B.json"))
    assert model.num_attention_heads == 28
    for request in (PlanRequest(model=model), PlanRequest(model=model, total_gpus=8)):
        result = plan(inventory_of(h100_nodes(2), []), V0151, request)
        for layout in [result.recommendation, *result.alternatives]:
            assert layout is None or layout.tensor_parallel_size != 8
    result = plan(inventory_of(h100_nodes(1), []), V0151, PlanRequest(model=model, total_gpus=8))
    assert any(
        "attention heads (28) must be divisible by tensor parallel size (8)" in r.reason
        for r in result.rejected
    )


def test_deepseek_v3_fp8_never_gets_a_tp_that_breaks_the_128_block() -> None:
    model = load_model(str(MODELS / "deepseek-ai--DeepSeek-V3.json"))
    nodes = [gpu_node(f"h200-{i}", 8, product="NVIDIA-H200", memory_mib=143771) for i in range(4)]
    result = plan(
        inventory_of(nodes, []),
        V0151,
        PlanRequest(model=model, allow_cross_node_tp=True, memory=MemoryOptions(max_model_len=8192)),
    )
    layouts = [x for x in [result.recommendation, *result.alternatives] if x is not None]
    assert layouts, result.rejected
    for layout in layouts:
        tp = layout.tensor_parallel_size
        assert (model.moe_intermediate_size or 0) // tp % 128 == 0
        assert model.intermediate_size // tp % 128 == 0
    assert any(r.layout == "TP=32" and "128" in r.reason for r in result.rejected)


def test_the_model_ranking_prefers_fewest_nodes_then_pods() -> None:
    model = load_model(str(MODELS / "meta-llama--Meta-Llama-3.1-8B.json"))
    result = plan(inventory_of(h100_nodes(2), []), V0151, PlanRequest(model=model))
    rec = result.recommendation
    assert rec is not None
    # An 8B model fits one GPU: one node, one pod, one GPU.
    assert (rec.hosts, rec.node_count, rec.total_gpus) == (1, 1, 1)
    keys = [(a.hosts, a.node_count, a.total_gpus) for a in result.alternatives]
    assert keys == sorted(keys)


def test_plan_json_carries_model_and_memory_figures() -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "plan",
            "--nodes-file",
            str(Path(__file__).resolve().parent.parent / "examples" / "cluster-2x8-h100.yaml"),
            "--model",
            str(MODELS / "meta-llama--Meta-Llama-3.1-405B.json"),
            "--max-model-len",
            "16384",
            "--kserve-version",
            "v0.16.0",
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"name", "parameters", "weightBytes", "dtype"} <= set(data["model"])
    memory = data["recommendation"]["memory"]
    assert {"perGpuWeightsBytes", "kvCacheTokens", "fits"} <= set(memory)
    assert memory["fits"] is True
    assert {"reserve", "base", "margin"} <= set(memory)
    verdicts = [alternative["memory"]["margin"]["verdict"] for alternative in data["alternatives"]]
    # vLLM would start every alternative; those within the estimate's uncertainty come last
    assert set(verdicts) <= {"fits", "tight"}
    assert verdicts == sorted(verdicts, key=lambda v: v == "tight")


def test_gpu_memory_flag_is_used_when_nodes_have_no_memory_label() -> None:
    model = load_model(str(MODELS / "meta-llama--Meta-Llama-3.1-405B.json"))
    nodes = [gpu_node(f"n{i}", 8, memory_mib=None) for i in range(2)]
    small = plan(
        inventory_of(nodes, []),
        V0151,
        PlanRequest(
            model=model, total_gpus=16, memory=MemoryOptions(gpu_memory_bytes=40 * 2**30, max_model_len=8192)
        ),
    )
    big = plan(
        inventory_of(nodes, []),
        V0151,
        PlanRequest(
            model=model, total_gpus=16, memory=MemoryOptions(gpu_memory_bytes=80 * 2**30, max_model_len=8192)
        ),
    )
    assert small.recommendation is None
    assert big.recommendation is not None and big.recommendation.memory is not None
