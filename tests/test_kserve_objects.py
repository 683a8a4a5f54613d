"""KServe objects judged against the real CRDs of each release, as the API server words it (issue 9 §2, issue 10).

The CRDs are the package data generated from tests/fixtures/crds/ (tests/test_crd_package_data.py keeps
the two in step); the samples are KServe's own (tests/fixtures/kserve/, provenance in its README).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from kubectl_kserve_mn.errors import EXIT_USAGE
from kubectl_kserve_mn.inputs import BadInput
from kubectl_kserve_mn.inputs.kserve_objects import (
    ObjectCheck,
    check_object,
    crd_versions,
    schema_for,
    validate_object,
)
from kubectl_kserve_mn.inputs.schema import MALFORMED, NOT_CHECKED, REJECTED, UNKNOWN_FIELD
from kubectl_kserve_mn.kserve.eras import KServeVersion, era_for, from_flag, parse_version
from tests.fixture_files import load_objects

KSERVE = Path(__file__).parent / "fixtures" / "kserve"
LLMISVC_TAGS = ("v0.16.0", "v0.17.0", "v0.18.0", "v0.19.0", "v0.20.0")


def isvc(**spec_overrides: Any) -> dict[str, Any]:
    """The KServe website's multi-node example (v0.15.1 era), in namespace team-a."""
    obj: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llama",
            "namespace": "team-a",
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "serving.kserve.io/autoscalerClass": "none",
            },
        },
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "runtime": "kserve-huggingfaceserver-multinode",
                    "storageUri": "pvc://llama-3-8b-pvc/hf/8b_instruction_tuned",
                },
                "workerSpec": {"pipelineParallelSize": 2, "tensorParallelSize": 1},
            }
        },
    }
    obj["spec"]["predictor"].update(spec_overrides)
    return obj


def llmisvc(api_version: str = "serving.kserve.io/v1alpha1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "LLMInferenceService",
        "metadata": {"name": "llm", "namespace": "team-a"},
        "spec": {"model": {"uri": "hf://Qwen/Qwen3-8B"}, **spec},
    }


def refusal(obj: dict[str, Any], version: str = "v0.15.1", **kwargs: Any) -> str:
    with pytest.raises(BadInput) as caught:
        validate_object(obj, source="isvc.yaml", kserve_version=from_flag(version), **kwargs)
    assert caught.value.exit_code == EXIT_USAGE
    return caught.value.message


# -- which CRD -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "tag"),
    [
        ("v0.13.0", "v0.14.1"),
        ("v0.14.1", "v0.14.1"),
        ("v0.15.0", "v0.15.0"),
        ("v0.15.2", "v0.15.0"),
        ("v0.16.0", "master"),
        ("v0.20.0", "master"),
        ("v0.23.0", "master"),
    ],
)
def test_inferenceservice_runtimes_use_the_crd_of_their_era(version: str, tag: str) -> None:
    for kind in ("InferenceService", "ServingRuntime", "ClusterServingRuntime"):
        (crd,) = crd_versions(kind, version).values()
        assert (crd.tag, crd.api_version) == (
            tag,
            "serving.kserve.io/v1beta1" if kind == "InferenceService" else "serving.kserve.io/v1alpha1",
        )


@pytest.mark.parametrize(
    ("version", "tag", "served"),
    [
        ("v0.15.1", None, ()),
        ("v0.16.0", "v0.16.0", ("v1alpha1",)),
        ("v0.16.2", "v0.16.0", ("v1alpha1",)),
        ("v0.17.0", "v0.17.0", ("v1alpha1", "v1alpha2")),
        ("v0.18.1", "v0.18.0", ("v1alpha1", "v1alpha2")),
        ("v0.19.0", "v0.19.0", ("v1alpha1", "v1alpha2")),
        ("v0.20.0", "v0.20.0", ("v1alpha1", "v1alpha2")),
        ("v0.21.0", "v0.20.0", ("v1alpha1", "v1alpha2")),
    ],
)
def test_llminferenceservice_uses_the_crd_of_its_release(
    version: str, tag: str | None, served: tuple[str, ...]
) -> None:
    crds = crd_versions("LLMInferenceService", version)
    assert tuple(crds) == served
    assert {crd.tag for crd in crds.values()} == ({tag} if tag else set())
    for name in ("v1alpha1", "v1alpha2"):
        found = schema_for("LLMInferenceService", f"serving.kserve.io/{name}", version)
        assert (found is not None) == (name in served)


def test_schema_for_answers_none_for_unserved_versions_and_groups() -> None:
    assert schema_for("InferenceService", "serving.kserve.io/v1alpha1", "v0.20.0") is None
    assert schema_for("InferenceService", "serving.kserve.io/v1beta1", "v0.20.0") is not None
    assert schema_for("InferenceService", "v1beta1", "v0.20.0") is None
    with pytest.raises(ValueError, match="not a KServe kind"):
        schema_for("InferenceGraph", "serving.kserve.io/v1alpha1", "v0.20.0")


def test_an_era_without_a_version_uses_the_first_release_of_the_era() -> None:
    era_only = KServeVersion(None, era_for(parse_version("v0.18.0")), "crd-schema")
    assert {crd.tag for crd in crd_versions("LLMInferenceService", era_only).values()} == {"v0.18.0"}
    assert {crd.tag for crd in crd_versions("InferenceService", era_for((0, 15, 1))).values()} == {"v0.15.0"}


def test_the_crd_snapshot_decides_which_fields_are_known() -> None:
    # v0.14.1 has workerSpec.size only; PP/TP arrive with v0.15.0 (SEMANTICS §1)
    old = check_object(isvc(), kserve_version="v0.14.1")
    assert [v.message for v in old.unknown_fields] == [
        'unknown field "spec.predictor.workerSpec.pipelineParallelSize"',
        'unknown field "spec.predictor.workerSpec.tensorParallelSize"',
    ]
    assert old.allowed
    assert check_object(isvc(), kserve_version="v0.15.0").violations == ()


# -- KServe's own samples are clean --------------------------------------------------------------------


def _samples(folder: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((KSERVE / folder).glob("*.yaml")):
        if path.name.endswith("-era.1.yaml"):
            continue  # not valid YAML as published (fixtures README)
        found += [(path.name, obj) for obj in load_objects(str(path))]
    return found


@pytest.mark.parametrize(
    ("name", "obj"), _samples("docs-examples"), ids=lambda x: x if isinstance(x, str) else ""
)
@pytest.mark.parametrize("version", ["v0.15.0", "v0.15.1", "v0.16.0", "v0.18.0", "v0.20.0"])
def test_the_kserve_website_examples_pass_the_api_server(
    name: str, obj: dict[str, Any], version: str
) -> None:
    check = validate_object(obj, source=name, kserve_version=from_flag(version))
    assert check.violations == ()
    assert check.api_message == ""


@pytest.mark.parametrize(("name", "obj"), _samples("runtimes"), ids=lambda x: x if isinstance(x, str) else "")
@pytest.mark.parametrize("version", ["v0.15.0", "v0.16.0", "v0.20.0"])
def test_the_shipped_multinode_runtimes_pass_the_api_server(
    name: str, obj: dict[str, Any], version: str
) -> None:
    assert validate_object(obj, source=name, kserve_version=version).violations == ()


@pytest.mark.parametrize(
    ("name", "obj"), _samples("llmisvc-samples"), ids=lambda x: x if isinstance(x, str) else ""
)
@pytest.mark.parametrize("version", ["v0.17.0", "v0.18.0", "v0.19.0", "v0.20.0"])
def test_kserves_llminferenceservice_samples_pass_but_their_cel_rules_are_not_checked(
    name: str, obj: dict[str, Any], version: str
) -> None:
    check = validate_object(obj, source=name, kserve_version=version)
    assert check.allowed
    assert check.unknown_fields == []
    assert "!(has(self.replicas) && has(self.scaling))" in [v.rule for v in check.not_checked]
    assert check.violations == tuple(check.not_checked)


def test_a_v1alpha2_sample_is_refused_by_v0_16_0_which_serves_only_v1alpha1() -> None:
    (_, obj) = _samples("llmisvc-samples")[0]
    message = refusal(obj, "v0.16.0")
    assert message == (
        'isvc.yaml: LLMInferenceService deepseek-coder-v2: apiVersion: "serving.kserve.io/v1alpha2": the API server '
        'would refuse it: no matches for kind "LLMInferenceService" in version "serving.kserve.io/v1alpha2" '
        "(KServe v0.16.0 serves LLMInferenceService as serving.kserve.io/v1alpha1)"
    )


# -- malformed InferenceServices: exit 2 with the API server's words (issue 9 §2) --------------------


def test_a_worker_spec_that_is_a_list_is_refused() -> None:
    assert refusal(isvc(workerSpec=[{"tensorParallelSize": 2}])) == (
        "isvc.yaml: InferenceService team-a/llama: spec.predictor.workerSpec: a list: the API server would refuse it: "
        'Invalid value: "array": spec.predictor.workerSpec in body must be of type object: "array"'
    )


def test_a_spec_that_is_a_string_is_refused() -> None:
    obj = isvc()
    obj["spec"] = "predictor"
    assert refusal(obj) == (
        'isvc.yaml: InferenceService team-a/llama: spec: "predictor": the API server would refuse it: '
        'Invalid value: "string": spec in body must be of type object: "string"'
    )


def test_a_null_predictor_is_a_missing_predictor() -> None:
    obj = isvc()
    obj["spec"]["predictor"] = None
    assert refusal(obj) == (
        "isvc.yaml: InferenceService team-a/llama: spec.predictor: null: the API server would refuse it: Required value"
    )
    del obj["spec"]["predictor"]
    assert refusal(obj).endswith("spec.predictor: missing: the API server would refuse it: Required value")


def test_an_object_without_a_name_is_refused_and_named_by_its_position() -> None:
    obj = isvc()
    del obj["metadata"]["name"]
    assert refusal(obj, position=3) == (
        "isvc.yaml: InferenceService #3: metadata.name: missing: the API server would refuse it: "
        "Required value: name or generateName is required"
    )
    obj["metadata"]["name"] = None
    assert refusal(obj).startswith("isvc.yaml: InferenceService (no name): metadata.name: null: ")


def test_generate_name_is_refused_as_kubectl_apply_refuses_it() -> None:
    obj = isvc()
    obj["metadata"]["generateName"] = obj["metadata"].pop("name") + "-"
    assert refusal(obj).endswith(
        "metadata.name: missing: the API server would refuse it: from llama-: cannot use generate name with apply"
    )


def test_a_name_that_is_no_dns_subdomain_is_refused() -> None:
    obj = isvc()
    obj["metadata"]["name"] = "Llama_3"
    assert refusal(obj) == (
        'isvc.yaml: InferenceService team-a/Llama_3: metadata.name: "Llama_3": the API server would refuse it: '
        'Invalid value: "Llama_3": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '
        "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
        "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )


def test_a_namespace_that_is_no_dns_label_is_refused() -> None:
    obj = isvc()
    obj["metadata"]["namespace"] = "team.a"
    assert refusal(obj).endswith(
        'metadata.namespace: "team.a": the API server would refuse it: Invalid value: "team.a": must not contain dots'
    )
    obj["metadata"]["namespace"] = "Team_A"
    (violation,) = check_object(obj, kserve_version="v0.15.1").malformed
    assert violation.message == (
        'metadata.namespace: Invalid value: "Team_A": a lowercase RFC 1123 label must consist of lower case '
        "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
        "or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    )
    # the one-line error of the CLI collapses the API server's double space
    assert "(e.g. 'my-name', or '123-abc'," in refusal(obj)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("name", 123, "json: cannot unmarshal number into Go struct field ObjectMeta.name of type string"),
        (
            "namespace",
            ["a"],
            "json: cannot unmarshal array into Go struct field ObjectMeta.namespace of type string",
        ),
        (
            "labels",
            ["a"],
            "json: cannot unmarshal array into Go struct field ObjectMeta.labels of type map[string]string",
        ),
        (
            "labels",
            {"gpu": 8},
            "json: cannot unmarshal number into Go struct field ObjectMeta.labels of type string",
        ),
        (
            "generation",
            1.5,
            "json: cannot unmarshal number 1.5 into Go struct field ObjectMeta.generation of type int64",
        ),
        (
            "finalizers",
            "x",
            "json: cannot unmarshal string into Go struct field ObjectMeta.finalizers of type []string",
        ),
    ],
)
def test_metadata_that_does_not_decode_is_a_bad_request(field: str, value: Any, error: str) -> None:
    obj = isvc()
    obj["metadata"][field] = value
    check = check_object(obj, kserve_version="v0.15.1")
    (first, *_) = check.malformed
    assert (
        first.message
        == f'InferenceService in version "v1beta1" cannot be handled as a InferenceService: {error}'
    )
    assert check.api_message == first.message
    assert first.path[:2] == ("metadata", field)


def test_metadata_that_is_not_a_mapping_is_refused() -> None:
    obj = isvc()
    obj["metadata"] = "llama"
    assert refusal(obj).endswith(
        'metadata: "llama": the API server would refuse it: InferenceService in version "v1beta1" cannot be '
        "handled as a InferenceService: json: cannot unmarshal string into Go value of type v1.ObjectMeta"
    )


@pytest.mark.parametrize("api_version", ["serving.kserve.io/v1alpha1", "v1", "serving.kserve.io/v1beta2"])
def test_an_unserved_api_version_is_refused_as_kubectl_does(api_version: str) -> None:
    obj = isvc()
    obj["apiVersion"] = api_version
    assert refusal(obj) == (
        f'isvc.yaml: InferenceService team-a/llama: apiVersion: "{api_version}": the API server would refuse it: '
        f'no matches for kind "InferenceService" in version "{api_version}" '
        "(KServe v0.15.1 serves InferenceService as serving.kserve.io/v1beta1)"
    )


def test_an_llminferenceservice_before_v0_16_is_refused() -> None:
    assert refusal(llmisvc(), "v0.15.1").endswith(
        'no matches for kind "LLMInferenceService" in version "serving.kserve.io/v1alpha1" '
        "(KServe v0.15.1 has no LLMInferenceService)"
    )


def test_a_missing_api_version_is_refused() -> None:
    obj = isvc()
    del obj["apiVersion"]
    assert refusal(obj).endswith(
        "apiVersion: missing: the API server would refuse it: Object 'apiVersion' is missing"
    )


def test_a_malformed_runtime_is_refused_with_the_runtime_crd() -> None:
    (_, runtime) = _samples("runtimes")[0]
    runtime = copy.deepcopy(runtime)
    runtime["spec"]["workerSpec"]["containers"] = {"name": "worker"}
    message = refusal(runtime, "v0.16.0")
    assert message == (
        "isvc.yaml: ClusterServingRuntime kserve-huggingfaceserver-multinode: spec.workerSpec.containers: a mapping: "
        'the API server would refuse it: Invalid value: "object": spec.workerSpec.containers in body must be of '
        'type array: "object"'
    )


def test_status_is_ignored_because_create_drops_it() -> None:
    obj = isvc()
    obj["status"] = {"modelStatus": {"lastFailureInfo": {"time": "not a time"}}, "url": 5}
    assert check_object(obj, kserve_version="v0.20.0").violations == ()


# -- rejected values are returned, not raised (issue 10: admission findings) ---------------------------


@pytest.mark.parametrize("tag", LLMISVC_TAGS)
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"parallelism": {"tensor": 0}},
            "spec.parallelism.tensor: Invalid value: 0: spec.parallelism.tensor in body should be greater than or equal to 1",
        ),
        (
            {"parallelism": {"pipeline": 0}},
            "spec.parallelism.pipeline: Invalid value: 0: spec.parallelism.pipeline in body should be greater than or equal to 1",
        ),
        (
            {"parallelism": {"data": -1}},
            "spec.parallelism.data: Invalid value: -1: spec.parallelism.data in body should be greater than or equal to 1",
        ),
        (
            {"parallelism": {"dataLocal": 0}},
            "spec.parallelism.dataLocal: Invalid value: 0: spec.parallelism.dataLocal in body should be greater than or equal to 1",
        ),
        (
            {"parallelism": {"dataRPCPort": 0}},
            "spec.parallelism.dataRPCPort: Invalid value: 0: spec.parallelism.dataRPCPort in body should be greater than or equal to 1",
        ),
        (
            {"parallelism": {"dataRPCPort": 65536}},
            "spec.parallelism.dataRPCPort: Invalid value: 65536: spec.parallelism.dataRPCPort in body should be less than or equal to 65535",
        ),
        (
            {"replicas": -1},
            "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0",
        ),
        (
            {"prefill": {"parallelism": {"tensor": 0}}},
            "spec.prefill.parallelism.tensor: Invalid value: 0: spec.prefill.parallelism.tensor in body should be greater than or equal to 1",
        ),
    ],
)
def test_llminferenceservice_crd_bounds_of_every_release_are_rejections_with_the_api_servers_text(
    tag: str, spec: dict[str, Any], message: str
) -> None:
    for api_version in [f"serving.kserve.io/{v}" for v in crd_versions("LLMInferenceService", tag)]:
        check = validate_object(llmisvc(api_version, **spec), source="llm.yaml", kserve_version=tag)
        assert [v.message for v in check.rejected] == [message]
        assert check.malformed == []
        assert not check.allowed
        assert check.api_message == f'LLMInferenceService.serving.kserve.io "llm" is invalid: {message}'


def test_llminferenceservice_within_bounds_is_allowed() -> None:
    spec = {
        "parallelism": {"tensor": 1, "data": 16, "dataLocal": 8, "dataRPCPort": 65535, "expert": True},
        "replicas": 0,
    }
    check = validate_object(llmisvc(**spec), source="llm.yaml", kserve_version="v0.20.0")
    assert check.allowed
    assert check.api_message == ""


def test_several_rejections_are_listed_in_one_message() -> None:
    check = check_object(llmisvc(parallelism={"tensor": 0, "dataRPCPort": 70000}), kserve_version="v0.20.0")
    assert check.api_message == (
        'LLMInferenceService.serving.kserve.io "llm" is invalid: ['
        "spec.parallelism.tensor: Invalid value: 0: spec.parallelism.tensor in body should be greater than or equal to 1, "
        "spec.parallelism.dataRPCPort: Invalid value: 70000: spec.parallelism.dataRPCPort in body should be less than or equal to 65535]"
    )


def test_a_string_tensor_is_malformed_not_a_rejection() -> None:
    message = refusal(llmisvc(parallelism={"tensor": "4"}), "v0.20.0")
    assert message == (
        'isvc.yaml: LLMInferenceService team-a/llm: spec.parallelism.tensor: "4": the API server would refuse it: '
        'Invalid value: "string": spec.parallelism.tensor in body must be of type integer: "string"'
    )


def test_invalid_labels_are_rejections() -> None:
    obj = isvc()
    obj["metadata"]["labels"] = {"app": "llama 3"}
    (violation,) = validate_object(obj, source="isvc.yaml", kserve_version="v0.20.0").rejected
    assert violation.category == REJECTED
    assert violation.message.startswith(
        'metadata.labels: Invalid value: "llama 3": a valid label must be an empty string or consist of alphanumeric characters'
    )


def test_invalid_label_and_annotation_keys_are_rejections() -> None:
    obj = isvc()
    obj["metadata"]["labels"] = {"example.com/app/x": "a"}
    obj["metadata"]["annotations"] = {"Example.COM/Ok": "x", "bad key": "x"}
    found = validate_object(obj, source="isvc.yaml", kserve_version="v0.20.0").rejected
    assert [v.message for v in found] == [
        'metadata.labels: Invalid value: "example.com/app/x": a valid label key must consist of alphanumeric '
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
        "or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') "
        "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        'metadata.annotations: Invalid value: "bad key": name part must consist of alphanumeric characters, '
        "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
        "or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ]


# -- warnings: unknown fields and CEL rules not checked ------------------------------------------------


def test_unknown_fields_are_warnings_with_the_strict_message_kubectl_would_show() -> None:
    obj = isvc()
    obj["spec"]["predictor"]["workerSpec"]["tensorParalelSize"] = 2
    obj["metadata"]["label"] = {"x": "y"}
    check = validate_object(obj, source="isvc.yaml", kserve_version="v0.20.0")
    assert [v.category for v in check.violations] == [UNKNOWN_FIELD, UNKNOWN_FIELD]
    assert check.allowed
    assert check.warnings() == [
        "metadata.label: unknown field, dropped by the API server (kubectl --validate=strict refuses it)",
        "spec.predictor.workerSpec.tensorParalelSize: unknown field, dropped by the API server (kubectl --validate=strict refuses it)",
    ]
    assert check.strict_message == (
        'InferenceService in version "v1beta1" cannot be handled as a InferenceService: strict decoding error: '
        'unknown field "metadata.label", unknown field "spec.predictor.workerSpec.tensorParalelSize"'
    )


def test_cel_rules_not_checked_are_warnings() -> None:
    check = validate_object(llmisvc(replicas=1), source="llm.yaml", kserve_version="v0.20.0")
    assert [v.category for v in check.violations] == [NOT_CHECKED]
    assert check.warnings() == [
        "spec: CEL rule not checked: !(has(self.replicas) && has(self.scaling)) (refused with: replicas and scaling "
        "are mutually exclusive; use scaling for autoscaled deployments or replicas for static deployments)"
    ]


def test_check_object_returns_every_violation_without_raising() -> None:
    obj = isvc(workerSpec=[1])
    obj["metadata"]["name"] = "Bad_Name"
    check = check_object(obj, kserve_version="v0.20.0")
    assert isinstance(check, ObjectCheck)
    assert [(v.category, v.field) for v in check.malformed] == [
        (MALFORMED, "metadata.name"),
        (MALFORMED, "spec.predictor.workerSpec"),
    ]
    assert check.api_message.startswith(
        'InferenceService.serving.kserve.io "Bad_Name" is invalid: [metadata.name: Invalid value: "Bad_Name": '
    )


def test_validating_does_not_change_the_object() -> None:
    obj = isvc(workerSpec={"size": None, "pipelineParallelSize": 2})
    obj["status"] = {"url": "x"}
    before = copy.deepcopy(obj)
    check_object(obj, kserve_version="v0.15.1")
    assert obj == before
