"""The well-known presets: packed into the package from the shipped files, selected as config_merge.go does,
and the era facts that follow from them."""

from __future__ import annotations

import pytest

from kubectl_kserve_mn.kserve.eras import ERAS
from kubectl_kserve_mn.kserve.llmisvc import compute_llm_layout
from kubectl_kserve_mn.kserve.llmisvc.presets import (
    DECODE_TEMPLATE,
    DECODE_WORKER_DATA_PARALLEL,
    DECODE_WORKER_PIPELINE_PARALLEL,
    PIPELINE_PRESETS,
    PREFILL_TEMPLATE,
    PREFILL_WORKER_DATA_PARALLEL,
    PREFILL_WORKER_PIPELINE_PARALLEL,
    TEMPLATE,
    WORKER_DATA_PARALLEL,
    WORKER_PIPELINE_PARALLEL,
    configs_by_name,
    select_preset,
    shipped_presets,
    shipped_tags,
)
from kubectl_kserve_mn.kserve.llmisvc.spec import read
from tests.fixture_files import load_script
from tests.llmisvc_objects import PRESETS, TAGS, era, llmisvc, pod


def test_the_packed_presets_are_the_shipped_files() -> None:
    gen = load_script("gen_llmisvc_presets")
    data = gen.build_data(PRESETS)
    assert sorted(data) == list(TAGS) == shipped_tags()
    for tag in TAGS:
        assert shipped_presets(era(tag)) == data[tag], tag


def test_the_generated_module_is_up_to_date() -> None:
    gen = load_script("gen_llmisvc_presets")
    module = gen.DEFAULT_OUTPUT.read_text()
    assert module == gen.module_text(gen.build_data(PRESETS)), "run python scripts/gen_llmisvc_presets.py"


@pytest.mark.parametrize("tag", TAGS)
def test_every_release_ships_the_six_presets_and_no_pipeline_preset(tag: str) -> None:
    names = set(shipped_presets(era(tag)))
    assert names == {
        TEMPLATE,
        DECODE_TEMPLATE,
        PREFILL_TEMPLATE,
        WORKER_DATA_PARALLEL,
        DECODE_WORKER_DATA_PARALLEL,
        PREFILL_WORKER_DATA_PARALLEL,
    }
    assert not names & PIPELINE_PRESETS


def test_eras_before_v016_have_no_presets() -> None:
    assert shipped_presets(era("v0.15.1")) == {}


@pytest.mark.parametrize(
    ("obj", "main", "prefill"),
    [
        (llmisvc(), TEMPLATE, None),
        (llmisvc(parallelism={"tensor": 4}), TEMPLATE, None),
        (llmisvc(parallelism={"data": 2, "dataLocal": 1}, worker=pod()), WORKER_DATA_PARALLEL, None),
        # data parallel is tested first (the webhook rejects this one, the switch still picks data parallel)
        (
            llmisvc(parallelism={"data": 2, "dataLocal": 1, "pipeline": 2}, worker=pod()),
            WORKER_DATA_PARALLEL,
            None,
        ),
        (llmisvc(parallelism={"pipeline": 2}, worker=pod()), WORKER_PIPELINE_PARALLEL, None),
        (llmisvc(parallelism={"tensor": 2}, worker=pod()), None, None),
        (llmisvc(prefill={"replicas": 1}), DECODE_TEMPLATE, PREFILL_TEMPLATE),
        (
            llmisvc(
                parallelism={"data": 2, "dataLocal": 1},
                worker=pod(),
                prefill={"parallelism": {"data": 2, "dataLocal": 1}, "worker": pod()},
            ),
            DECODE_WORKER_DATA_PARALLEL,
            PREFILL_WORKER_DATA_PARALLEL,
        ),
        (
            llmisvc(
                parallelism={"pipeline": 2},
                worker=pod(),
                prefill={"parallelism": {"pipeline": 2}, "worker": pod()},
            ),
            DECODE_WORKER_PIPELINE_PARALLEL,
            PREFILL_WORKER_PIPELINE_PARALLEL,
        ),
    ],
)
def test_preset_selection_follows_config_merge(obj: dict, main: str | None, prefill: str | None) -> None:
    item = read(obj)
    has_prefill = item.prefill is not None
    assert select_preset(item.main, has_prefill) == main
    assert (select_preset(item.prefill, True) if item.prefill is not None else None) == prefill


def test_configs_from_the_cluster_override_the_shipped_ones() -> None:
    custom = {
        "apiVersion": "serving.kserve.io/v1alpha2",
        "kind": "LLMInferenceServiceConfig",
        "spec": {"template": {}},
    }
    found = configs_by_name({TEMPLATE: custom, WORKER_PIPELINE_PARALLEL: {"worker": {}}}, era("v0.20.0"))
    assert found[TEMPLATE] == {"template": {}}
    assert found[WORKER_PIPELINE_PARALLEL] == {"worker": {}}
    assert WORKER_DATA_PARALLEL in found


@pytest.mark.parametrize("e", [e for e in ERAS if e.llmisvc_api_versions], ids=lambda e: e.key)
def test_single_node_tensor_era_fact_matches_what_the_template_renders(e: object) -> None:
    layout = compute_llm_layout(llmisvc(parallelism={"tensor": 4}, template=pod(4)), e)  # type: ignore[arg-type]
    rendered = "--tensor-parallel-size" in layout.main.vllm_args
    assert rendered == e.llmisvc_single_node_tensor  # type: ignore[attr-defined]


def test_each_llmisvc_era_has_its_own_preset_tag() -> None:
    tags = [e.llmisvc_preset_tag for e in ERAS if e.llmisvc_api_versions]
    assert tags == list(TAGS)
    assert [e.llmisvc_preset_tag for e in ERAS if not e.llmisvc_api_versions] == [None, None, None]
