"""KServe's own LLMInferenceService samples (tests/fixtures/llmisvc/samples/) through check's core, on the
repository's example cluster (examples/cluster-2x8-h100.yaml: 2 nodes x 8 H100): what the README says."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubectl_kserve_mn.findings.llmisvc import check_llminferenceservice
from tests.fixture_files import load_objects
from tests.llmisvc_objects import TAGS, kv, sample
from tests.nodes import gpu_node, node_view

CLUSTER = node_view(
    load_objects(str(Path(__file__).parent.parent / "examples" / "cluster-2x8-h100.yaml")),
    [],
    free_known=False,
)

# sample -> (LAYOUT cell, finding codes) under v0.20.0 on the 2 x 8 H100 cluster
EXPECTED = {
    "llm-inference-service-dp-ep-deepseek-r1-gpu-naive": (
        "LWS 1 x [leader 8 + 1 x 8 nvidia.com/gpu] (TP1 DP16/8 local EP)",
        [],
    ),
    "llm-inference-service-dp-ep-deepseek-r1-gpu-deepep-ht": (
        "LWS 1 x [leader 8 + 3 x 8 nvidia.com/gpu] (TP1 DP32/8 local EP)",
        ["exceeds-cluster-capacity"],
    ),
    "llm-inference-service-dp-ep-deepseek-r1-pd-gpu-p-deepep-ht-d-deepep-ht": (
        "LWS 1 x [leader 8 + 1 x 8 nvidia.com/gpu] (TP1 DP16/8 local EP); "
        "prefill LWS 1 x [leader 8 + 1 x 8 nvidia.com/gpu] (TP1 DP16/8 local EP)",
        ["exceeds-cluster-capacity"],
    ),
    "llm-inference-service-dp-ep-deepseek-r1-pd-gpu-p-deepep-ht-d-pplx": (
        "LWS 1 x [leader 8 + 1 x 8 nvidia.com/gpu] (TP1 DP16/8 local EP); "
        "prefill LWS 1 x [leader 8 + 1 x 8 nvidia.com/gpu] (TP1 DP16/8 local EP)",
        ["exceeds-cluster-capacity"],
    ),
    "llm-inference-service-qwen2-7b-gpu": ("3 x 1 pod of 1 nvidia.com/gpu (TP1)", []),
    "llm-inference-service-pd-qwen2-7b-gpu": (
        "1 x 1 pod of 1 nvidia.com/gpu (TP1); prefill 2 x 1 pod of 1 nvidia.com/gpu (TP1)",
        [],
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_kserves_samples_on_the_example_cluster(name: str) -> None:
    layout_text, codes = EXPECTED[name]
    report = check_llminferenceservice(sample(name), kv("v0.20.0"), nodes=CLUSTER)
    assert report.admission.allowed
    assert report.layout_text == layout_text
    assert [f.code for f in report.findings] == codes


@pytest.mark.parametrize("tag", TAGS[1:])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_samples_lay_out_the_same_on_every_release_that_serves_v1alpha2(tag: str, name: str) -> None:
    report = check_llminferenceservice(sample(name), kv(tag), nodes=CLUSTER)
    assert report.admission.allowed
    assert report.layout_text == EXPECTED[name][0]


def test_the_32_gpu_sample_fits_four_nodes() -> None:
    four = node_view([gpu_node(f"gpu-{i}") for i in range(4)], [], free_known=False)
    report = check_llminferenceservice(
        sample("llm-inference-service-dp-ep-deepseek-r1-gpu-deepep-ht"), kv("v0.20.0"), nodes=four
    )
    assert report.findings == ()
    assert report.llm_layout is not None
    lws = report.llm_layout.main.lws
    assert lws is not None and (lws.name, lws.size, lws.replicas) == ("deepseek-r1-0528-kserve-mn", 4, 1)


def test_v016_does_not_serve_the_v1alpha2_samples() -> None:
    report = check_llminferenceservice(sample("llm-inference-service-qwen2-7b-gpu"), kv("v0.16.0"))
    assert (
        report.admission.message
        == 'no matches for kind "LLMInferenceService" in version "serving.kserve.io/v1alpha2"'
    )
