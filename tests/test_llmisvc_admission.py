"""LLMInferenceService admission per KServe version: the CRD schema first, then the webhook's parallelism
rules for spec and spec.prefill and the immutable total size on update, with apimachinery's wording.

Sources: kserve/kserve@v0.16.0:pkg/controller/v1alpha1/llmisvc/validation/llminferenceservice_validator.go,
kserve/kserve@v0.17.0..v0.20.0:pkg/apis/serving/v1alpha{1,2}/llm_inference_service_validation.go,
kubernetes/apimachinery@v0.33.2 and @v0.34.5: pkg/api/errors/errors.go (NewInvalid),
pkg/util/validation/field/errors.go (Error, ErrorBody, ToAggregate), pkg/util/errors/errors.go (aggregate).
"""

from __future__ import annotations

from typing import Any

import pytest

from kubectl_kserve_mn.inputs import BadInput
from kubectl_kserve_mn.kserve.eras import ERAS
from kubectl_kserve_mn.kserve.llmisvc import admit_llmisvc, webhook_name
from kubectl_kserve_mn.kserve.llmisvc.admission import aggregate, invalid_message
from tests.fakeapi import load_crd_fixture
from tests.llmisvc_objects import TAGS, era, llmisvc, pod

JSON_ERAS = ["v0.17.0", "v0.18.0", "v0.19.0", "v0.20.0"]
PREFIX = 'LLMInferenceService.serving.kserve.io "llama" is invalid: '
WORKER_RULE = "when worker is specified, parallelism must be configured for either data parallelism or pipeline parallelism"
WORKER_JSON = '{"containers":[{"name":"main","resources":{"limits":{"nvidia.com/gpu":"8"},"requests":{"nvidia.com/gpu":"8"}}}]}'


def message(obj: dict[str, Any], tag: str, **kwargs: Any) -> str | None:
    return admit_llmisvc(obj, era(tag), **kwargs).message


# --- the webhook's parallelism rules ----------------------------------------------------------------


@pytest.mark.parametrize("tag", JSON_ERAS)
def test_worker_without_parallelism_is_rejected_with_the_podspec_as_json(tag: str) -> None:
    assert (
        message(llmisvc(worker=pod(8)), tag)
        == f"{PREFIX}spec.worker: Invalid value: {WORKER_JSON}: {WORKER_RULE}"
    )


def test_v016_prints_the_podspec_the_go_way() -> None:
    assert message(llmisvc(version="v1alpha1", worker=pod(8)), "v0.16.0") == (
        f"{PREFIX}spec.worker: Invalid value: v1.PodSpec{{…}}: {WORKER_RULE}"
    )


@pytest.mark.parametrize("tag", TAGS)
def test_worker_with_only_tensor_is_rejected(tag: str) -> None:
    obj = llmisvc(version="v1alpha1", parallelism={"tensor": 8}, worker=pod(8))
    text = message(obj, tag)
    assert text is not None and text.startswith(f"{PREFIX}spec.worker: Invalid value: ")
    assert text.endswith(f": {WORKER_RULE}")


@pytest.mark.parametrize("tag", JSON_ERAS)
def test_pipeline_with_data_is_rejected_with_the_parallelism_block(tag: str) -> None:
    obj = llmisvc(parallelism={"tensor": 2, "pipeline": 2, "data": 4, "dataLocal": 2}, worker=pod(4))
    assert message(obj, tag) == (
        f'{PREFIX}spec.parallelism: Invalid value: {{"tensor":2,"pipeline":2,"data":4,"dataLocal":2}}: '
        "cannot set both pipeline parallelism and data parallelism (data or dataLocal) simultaneously"
    )


def test_v016_prints_the_parallelism_struct_with_pointer_addresses() -> None:
    obj = llmisvc(
        version="v1alpha1", parallelism={"pipeline": 2, "dataLocal": 2, "expert": True}, worker=pod(4)
    )
    assert message(obj, "v0.16.0") == (
        f"{PREFIX}[spec.parallelism: Invalid value: v1alpha1.ParallelismSpec{{Tensor:(*int32)(nil), "
        "Pipeline:(*int32)(0x…), Data:(*int32)(nil), DataLocal:(*int32)(0x…), DataRPCPort:(*int32)(nil), "
        "Expert:true}: cannot set both pipeline parallelism and data parallelism (data or dataLocal) "
        "simultaneously, spec.parallelism.data: Invalid value: null: data must be set when dataLocal is set]"
    )


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize(
    ("parallelism", "error"),
    [
        (
            {"data": 4},
            "spec.parallelism.dataLocal: Invalid value: null: dataLocal must be set when data is set",
        ),
        (
            {"dataLocal": 2},
            "spec.parallelism.data: Invalid value: null: data must be set when dataLocal is set",
        ),
        (
            {"pipeline": 0},
            "spec.parallelism.pipeline: Invalid value: 0: pipeline parallelism must be greater than 0",
        ),
        (
            {"data": -1, "dataLocal": 1},
            "spec.parallelism.data: Invalid value: -1: data parallelism must be greater than 0",
        ),
        (
            {"data": 2, "dataLocal": 0},
            "spec.parallelism.dataLocal: Invalid value: 0: dataLocal parallelism must be greater than 0",
        ),
    ],
)
def test_data_pairing_and_positive_sizes(tag: str, parallelism: dict[str, int], error: str) -> None:
    # Without a worker: these rules hold on a single-node workload too. (The CRD minimum catches <= 0 first.)
    assert message(llmisvc(version="v1alpha1", parallelism=parallelism), tag) == PREFIX + error


@pytest.mark.parametrize("tag", JSON_ERAS)
def test_several_errors_are_one_message_in_the_webhooks_order(tag: str) -> None:
    obj = llmisvc(
        parallelism={"tensor": 2},
        worker=pod(8),
        prefill={"parallelism": {"data": 4}, "worker": pod(8)},
    )
    assert message(obj, tag) == (
        f"{PREFIX}[spec.worker: Invalid value: {WORKER_JSON}: {WORKER_RULE}, "
        "spec.prefill.parallelism.dataLocal: Invalid value: null: dataLocal must be set when data is set]"
    )


def test_duplicate_errors_are_dropped_by_the_aggregate() -> None:
    assert aggregate(["a: x", "a: x"]) == "a: x"
    assert aggregate(["a: x", "b: y", "a: x"]) == "[a: x, b: y]"
    assert invalid_message('q"', []) == 'LLMInferenceService.serving.kserve.io "q\\"" is invalid'


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize(
    "obj",
    [
        llmisvc(version="v1alpha1"),
        llmisvc(version="v1alpha1", parallelism={"tensor": 8}),
        llmisvc(version="v1alpha1", parallelism={"pipeline": 2, "tensor": 4}, worker=pod(4)),
        llmisvc(version="v1alpha1", parallelism={"data": 4, "dataLocal": 1, "tensor": 3}, worker=pod(3)),
    ],
    ids=["plain", "single-node-tensor", "pipeline-worker", "data-worker"],
)
def test_shapes_the_webhook_admits(tag: str, obj: dict[str, Any]) -> None:
    assert admit_llmisvc(obj, era(tag)).allowed


# --- update: the total size is immutable ----------------------------------------------------------


@pytest.mark.parametrize("tag", TAGS)
def test_changing_the_total_size_on_update_is_rejected(tag: str) -> None:
    live = llmisvc(version="v1alpha1", parallelism={"data": 4, "dataLocal": 2}, worker=pod(8))
    new = llmisvc(version="v1alpha1", parallelism={"data": 8, "dataLocal": 2}, worker=pod(8))
    assert message(new, tag, live=live) == (
        f"{PREFIX}spec.parallelism: Unsupported value: 4: total parallelism size is immutable, previous size 2, curr size 4"
    )
    assert admit_llmisvc(new, era(tag)).allowed  # a create is fine


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            {"tensor": 2, "data": 2, "dataLocal": 1},
            {"tensor": 8, "data": 2, "dataLocal": 1},
        ),  # tensor never counts
        ({"data": 1, "dataLocal": 8}, {"data": 1, "dataLocal": 4}),  # size 1 either way (unset = 1)
        ({"data": 4, "dataLocal": 2}, {"data": 2, "dataLocal": 1}),  # 4/2 == 2/1
    ],
)
def test_updates_that_keep_the_size_are_admitted(before: dict[str, int], after: dict[str, int]) -> None:
    live = llmisvc(parallelism=before, worker=pod(8))
    assert admit_llmisvc(llmisvc(parallelism=after, worker=pod(8)), era("v0.20.0"), live=live).allowed


def test_removing_a_single_node_pipeline_changes_the_size() -> None:
    live = llmisvc(parallelism={"pipeline": 2, "tensor": 4})
    new = llmisvc(parallelism={"tensor": 8})
    assert message(new, "v0.20.0", live=live) == (
        f"{PREFIX}spec.parallelism: Unsupported value: 1: total parallelism size is immutable, previous size 2, curr size 1"
    )


def test_the_prefill_size_is_compared_only_when_both_objects_have_a_prefill() -> None:
    live = llmisvc(prefill={"parallelism": {"data": 2, "dataLocal": 1}, "worker": pod(8)})
    new = llmisvc(prefill={"parallelism": {"data": 4, "dataLocal": 1}, "worker": pod(8)})
    assert message(new, "v0.20.0", live=live) == (
        f"{PREFIX}spec.prefill.parallelism: Unsupported value: 4: total parallelism size is immutable, "
        "previous size 2, curr size 4"
    )
    assert admit_llmisvc(new, era("v0.20.0"), live=llmisvc()).allowed


@pytest.mark.parametrize(("tag", "skipped"), [("v0.18.0", False), ("v0.19.0", True), ("v0.20.0", True)])
def test_the_webhook_skips_updates_of_deleting_objects_from_v019(tag: str, skipped: bool) -> None:
    live = llmisvc(parallelism={"data": 4, "dataLocal": 2}, worker=pod(8))
    new = llmisvc(parallelism={"data": 8, "dataLocal": 2}, worker=pod(8))
    new["metadata"]["deletionTimestamp"] = "2026-08-01T00:00:00Z"
    assert admit_llmisvc(new, era(tag), live=live).allowed is skipped
    assert era(tag).llmisvc_webhook_skips_deleting is skipped


# --- the API server: served versions and the CRD schema, before the webhook ------------------------


def test_schema_errors_are_answered_first_in_the_api_servers_wording() -> None:
    # The worker rule would also fail, but the API server stops at the schema.
    obj = llmisvc(parallelism={"tensor": 0}, worker=pod(8))
    schema = [
        "spec.parallelism.tensor: Invalid value: 0: spec.parallelism.tensor in body should be greater than or equal to 1"
    ]
    assert message(obj, "v0.20.0", schema_errors=schema) == PREFIX + schema[0]
    two = [
        *schema,
        "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0",
    ]
    assert message(obj, "v0.20.0", schema_errors=two) == f"{PREFIX}[{two[0]}, {two[1]}]"


@pytest.mark.parametrize(
    ("tag", "version", "served"),
    [
        ("v0.15.2", "v1alpha1", False),
        ("v0.16.0", "v1alpha1", True),
        ("v0.16.0", "v1alpha2", False),
        ("v0.17.0", "v1alpha1", True),
        ("v0.17.0", "v1alpha2", True),
        ("v0.20.0", "v1alpha2", True),
    ],
)
def test_versions_the_cluster_does_not_serve(tag: str, version: str, served: bool) -> None:
    result = admit_llmisvc(llmisvc(version=version), era(tag))
    assert result.allowed is served
    if not served:
        assert result.message == (
            f'no matches for kind "LLMInferenceService" in version "serving.kserve.io/{version}"'
        )


@pytest.mark.parametrize("tag", TAGS)
def test_the_shipped_crd_serves_the_eras_versions_with_the_bounds_the_tests_expect(tag: str) -> None:
    crd = load_crd_fixture(f"llmisvc/{tag}", "llminferenceservices")
    served = [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
    assert tuple(served) == era(tag).llmisvc_api_versions
    for version in crd["spec"]["versions"]:
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        bounds = {
            k: (v.get("minimum"), v.get("maximum")) for k, v in spec["parallelism"]["properties"].items()
        }
        assert bounds == {
            "tensor": (1, None),
            "pipeline": (1, None),
            "data": (1, None),
            "dataLocal": (1, None),
            "dataRPCPort": (1, 65535),
            "expert": (None, None),
        }
        assert spec["replicas"]["minimum"] == 0
        assert spec["prefill"]["properties"]["parallelism"]["properties"]["tensor"]["minimum"] == 1


def test_webhook_names_per_version() -> None:
    assert webhook_name(era("v0.16.0"), "v1alpha1") == "llminferenceservice.kserve-webhook-server.validator"
    assert (
        webhook_name(era("v0.17.0"), "v1alpha2")
        == "llminferenceservice.kserve-webhook-server.v1alpha2.validator"
    )


def test_only_llmisvc_eras_serve_it() -> None:
    assert [e.key for e in ERAS if e.llmisvc_api_versions] == list(TAGS)


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"parallelism": {"tensor": "4"}}, "spec.parallelism.tensor"),
        ({"parallelism": {"expert": "yes"}}, "spec.parallelism.expert"),
        ({"parallelism": [1]}, "spec.parallelism"),
        ({"worker": "big"}, "spec.worker"),
        ({"prefill": {"replicas": 1.5}}, "spec.prefill.replicas"),
    ],
)
def test_a_value_of_the_wrong_type_is_an_input_error(spec: dict[str, Any], path: str) -> None:
    obj = llmisvc(**spec)
    with pytest.raises(BadInput) as info:
        admit_llmisvc(obj, era("v0.20.0"))
    assert f"LLMInferenceService team-a/llama: {path}: " in info.value.message
