"""The ISVC and ServingRuntime webhooks per KServe era, with KServe's exact messages (SEMANTICS §2)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.kserve.admission import (
    admit_inferenceservice,
    admit_runtime,
    go_quote,
    newer_eras,
    upgrade_hazards,
)
from kubectl_kserve_mn.kserve.eras import era_for, parse_version
from tests.fixture_files import load_objects

FIXTURES = Path(__file__).parent / "fixtures" / "kserve"
DOCS = FIXTURES / "docs-examples"
RUNTIMES = FIXTURES / "runtimes"

V014 = era_for(parse_version("v0.14.1"))
V0150 = era_for(parse_version("v0.15.0"))
V0151 = era_for(parse_version("v0.15.1"))
V0152 = era_for(parse_version("v0.15.2"))
V016 = era_for(parse_version("v0.16.0"))
V017 = era_for(parse_version("v0.17.0"))
V018 = era_for(parse_version("v0.18.0"))
V020 = era_for(parse_version("v0.20.0"))
ALL_MULTINODE = [V0150, V0151, V016, V018, V020]


def doc(name: str) -> dict[str, Any]:
    (obj,) = load_objects(str(DOCS / name))
    return obj


def runtime(name: str) -> dict[str, Any]:
    (obj,) = load_objects(str(RUNTIMES / name))
    return obj


def isvc(**overrides: Any) -> dict[str, Any]:
    """A valid multi-node ISVC for v0.15.1+ (autoscaler none, pvc storage)."""
    obj: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llama",
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "serving.kserve.io/autoscalerClass": "none",
            },
        },
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": "huggingface"}, "storageUri": "pvc://models/llama"},
                "workerSpec": {},
            }
        },
    }
    for path, value in overrides.items():
        target = obj
        keys = path.split("__")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = value
    return obj


def message(obj: dict[str, Any], era: Any, **kw: Any) -> str | None:
    result = admit_inferenceservice(obj, era, **kw)
    assert result.allowed is (result.message is None)
    return result.message


# --- go_quote -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("llama", '"llama"'),
        ("", '""'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("tab\there", '"tab\\there"'),
        ("nl\n", '"nl\\n"'),
        ("\x01", '"\\x01"'),
        ("\x7f", '"\\x7f"'),
        ("ümlaut", '"ümlaut"'),
        ("\u200b", '"\\u200b"'),
        ("a\udcffb", '"a\\xffb"'),  # a byte that was not UTF-8 (argv's surrogateescape): Go's \xNN
    ],
)
def test_go_quote_matches_strconv_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


# --- documentation examples ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "isvc-multinode.website-154e4714-v0.15.0-era.1.yaml",
        "isvc-multinode.website-98143494-v0.15.1-era.1.yaml",
    ],
)
def test_published_flow_mapping_examples_are_a_clean_input_error(name: str) -> None:
    with pytest.raises(InputError) as err:
        load_objects(str(DOCS / name))
    assert "malformed YAML" in err.value.message
    assert "\n" not in err.value.message


def test_v0150_docs_example_is_admitted_by_v0150_only() -> None:
    obj = doc("isvc-multinode.website-154e4714-v0.15.0-era.2.yaml")
    assert message(obj, V0150) is None
    assert message(obj, V0151) == (
        "the InferenceService \"huggingface-llama3\" is invalid: Multinode only supports 'none' autoscaler(external)"
    )


def test_v0151_docs_example_uses_class_none_that_v0150_does_not_know() -> None:
    obj = doc("isvc-multinode.website-98143494-v0.15.1-era.2.yaml")
    assert message(obj, V0150) == "[none] is not a supported autoscaler class type"
    for era in (V0151, V016, V018, V020):
        assert message(obj, era) is None


def test_master_docs_examples_are_admitted_from_v0151() -> None:
    for name in ("isvc-multinode.website-master.1.yaml", "isvc-multinode.website-master.2.yaml"):
        obj = doc(name)
        for era in (V0151, V016, V018, V020):
            assert message(obj, era) is None, (name, era.key)


# --- name and autoscaler --------------------------------------------------------------------


def test_invalid_name_is_rejected_first_with_kserve_text() -> None:
    obj = isvc(metadata__name="Llama_3")
    obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "bogus"
    assert message(obj, V018) == (
        'the InferenceService "Llama_3" is invalid: a InferenceService name must consist of lower case '
        "alphanumeric characters or '-', and must start with alphabetical character. "
        '(e.g. "my-name" or "abc-123", regex used for validation is \'[a-z]([-a-z0-9]*[a-z0-9])?\')'
    )


def test_name_starting_with_digit_is_rejected() -> None:
    assert message(isvc(metadata__name="3llama"), V016) == (
        'the InferenceService "3llama" is invalid: a InferenceService name must consist of lower case '
        "alphanumeric characters or '-', and must start with alphabetical character. "
        '(e.g. "my-name" or "abc-123", regex used for validation is \'[a-z]([-a-z0-9]*[a-z0-9])?\')'
    )
    assert message(isvc(metadata__name="llama-3"), V016) is None


def test_unknown_autoscaler_class_is_rejected_before_multinode_rules() -> None:
    obj = isvc(spec__predictor__model__storageUri=None)
    obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "bogus"
    assert message(obj, V016) == "[bogus] is not a supported autoscaler class type"


def test_v0150_rejects_class_none_v0151_accepts_it() -> None:
    assert message(isvc(), V0150) == "[none] is not a supported autoscaler class type"
    assert message(isvc(), V0151) is None


@pytest.mark.parametrize(
    ("era", "expected"),
    [
        (V0150, "the InferenceService \"llama\" is invalid: Multinode only supports 'external' autoscaler()"),
        (V0151, "the InferenceService \"llama\" is invalid: Multinode only supports 'none' autoscaler()"),
        (V020, "the InferenceService \"llama\" is invalid: Multinode only supports 'none' autoscaler()"),
    ],
)
def test_missing_autoscaler_annotation_is_rejected_with_empty_value(era: Any, expected: str) -> None:
    obj = isvc()
    del obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"]
    assert message(obj, era) == expected


def test_hpa_class_is_allowed_globally_but_not_for_multinode() -> None:
    obj = isvc()
    obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "hpa"
    assert message(obj, V016) == (
        "the InferenceService \"llama\" is invalid: Multinode only supports 'none' autoscaler(hpa)"
    )


# --- multi-node variables ----------------------------------------------------------------------


def test_two_worker_containers_are_rejected_before_storage() -> None:
    obj = isvc(spec__predictor__model__storageUri=None)
    obj["spec"]["predictor"]["workerSpec"] = {"containers": [{"name": "a"}, {"name": "b"}]}
    assert message(obj, V0151) == (
        'the InferenceService "llama" is invalid: setting multiple containers in workerSpec is not allowed'
    )


@pytest.mark.parametrize("env_name", ["PIPELINE_PARALLEL_SIZE", "TENSOR_PARALLEL_SIZE"])
def test_parallel_size_env_on_model_is_rejected(env_name: str) -> None:
    obj = isvc(spec__predictor__model__env=[{"name": env_name, "value": "2"}])
    assert message(obj, V0151) == (
        f'the InferenceService "llama" is invalid: setting {env_name} in environment variables is not allowed'
    )


def test_pipeline_env_is_reported_before_tensor_env() -> None:
    env = [{"name": "TENSOR_PARALLEL_SIZE", "value": "2"}, {"name": "PIPELINE_PARALLEL_SIZE", "value": "2"}]
    assert "PIPELINE_PARALLEL_SIZE" in (message(isvc(spec__predictor__model__env=env), V016) or "")


def test_parallel_size_env_in_worker_container_is_not_checked() -> None:
    obj = isvc()
    obj["spec"]["predictor"]["workerSpec"] = {
        "containers": [{"name": "worker-container", "env": [{"name": "TENSOR_PARALLEL_SIZE", "value": "4"}]}]
    }
    assert message(obj, V016) is None


def test_unknown_gpu_on_model_needs_the_annotation() -> None:
    res = {"limits": {"nvidia.com/mig-1g.5gb": "1"}, "requests": {"nvidia.com/mig-1g.5gb": "1"}}
    obj = isvc(spec__predictor__model__resources=res)
    expected = (
        'the InferenceService "llama" is invalid: Unknown GPU resource type. '
        "Set 'serving.kserve.io/gpu-resource-types' annotation to use custom gpu resource type"
    )
    assert message(obj, V020) == expected
    old = copy.deepcopy(obj)
    old["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "external"
    assert message(old, V0150) == expected  # same text in every era
    obj["metadata"]["annotations"]["serving.kserve.io/gpu-resource-types"] = '["nvidia.com/mig-1g.5gb"]'
    assert message(obj, V020) is None


def test_configmap_custom_gpu_types_are_known() -> None:
    obj = isvc(spec__predictor__model__resources={"requests": {"example.com/npu": "2"}})
    assert message(obj, V016) == (
        'the InferenceService "llama" is invalid: Unknown GPU resource type. Set '
        "'serving.kserve.io/gpu-resource-types' annotation to use custom gpu resource type"
    )
    assert message(obj, V016, custom_gpu_types=["example.com/npu"]) is None


def test_rdma_and_hugepages_count_as_unknown_gpus() -> None:
    for name in ("rdma/ib", "hugepages-2Mi"):
        obj = isvc(spec__predictor__model__resources={"limits": {name: "1"}})
        assert "Unknown GPU resource type" in (message(obj, V018) or "")


def test_invalid_gpu_annotation_returns_the_raw_error() -> None:
    obj = isvc()
    obj["metadata"]["annotations"]["serving.kserve.io/gpu-resource-types"] = "nvidia.com/mig-1g.5gb"
    assert message(obj, V016) == (
        "invalid GPU format(nvidia.com/mig-1g.5gb) for serving.kserve.io/gpu-resource-types annotation: "
        "must be a valid JSON array"
    )


def test_missing_storage_uri_is_rejected_and_storage_uris_do_not_count() -> None:
    obj = isvc(spec__predictor__model__storageUri=None)
    obj["spec"]["predictor"]["model"]["storageUris"] = [{"uri": "pvc://a/b"}]
    assert message(obj, V0151) == (
        'the InferenceService "llama" is invalid: StorageURI must be set for multinode enabled'
    )


@pytest.mark.parametrize(
    ("era", "uri", "expected"),
    [
        (V0151, "hf://meta/llama", "Multinode only supports 'pvc' Storage Protocol(hf)"),
        (V0152, "oci://registry/model", "Multinode only supports 'pvc' Storage Protocol(oci)"),
        (V016, "s3://bucket/model", "Multinode only supports 'pvc' and 'oci' Storage Protocol(s3)"),
        (V018, "/mnt/models", "Multinode only supports 'pvc' and 'oci' Storage Protocol(/mnt/models)"),
        (V020, "oci+native://x", "Multinode only supports 'pvc' and 'oci' Storage Protocol(oci+native)"),
    ],
)
def test_storage_protocol_per_era(era: Any, uri: str, expected: str) -> None:
    assert message(isvc(spec__predictor__model__storageUri=uri), era) == (
        f'the InferenceService "llama" is invalid: {expected}'
    )


def test_oci_storage_is_accepted_from_v016() -> None:
    assert message(isvc(spec__predictor__model__storageUri="oci://registry/model"), V016) is None


def test_v0150_rejects_pipeline_parallel_below_two() -> None:
    obj = isvc(spec__predictor__workerSpec={"pipelineParallelSize": 1})
    obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "external"
    assert message(obj, V0150) == (
        'the InferenceService "llama" is invalid: WorkerSpec.PipelineParallelSize cannot be less than 2(1)'
    )


def test_v0151_accepts_pipeline_parallel_one_and_rejects_zero() -> None:
    assert message(isvc(spec__predictor__workerSpec={"pipelineParallelSize": 1}), V0151) is None
    assert message(isvc(spec__predictor__workerSpec={"pipelineParallelSize": 0}), V0151) == (
        'the InferenceService "llama" is invalid: WorkerSpec.PipelineParallelSize cannot be less than 1(0)'
    )


def test_tensor_parallel_below_one_is_rejected_in_every_era() -> None:
    for era in ALL_MULTINODE:
        obj = isvc(spec__predictor__workerSpec={"tensorParallelSize": -1, "pipelineParallelSize": 2})
        if era is V0150:
            obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "external"
        assert message(obj, era) == (
            'the InferenceService "llama" is invalid: WorkerSpec.TensorParallelSize cannot be less than 1(-1)'
        ), era.key


def test_unknown_gpu_in_worker_container_is_checked_even_without_model() -> None:
    obj = isvc()
    del obj["spec"]["predictor"]["model"]
    obj["spec"]["predictor"]["containers"] = [{"name": "kserve-container", "image": "x"}]
    obj["spec"]["predictor"]["workerSpec"] = {"containers": [{"resources": {"limits": {"acme.io/tpu": "4"}}}]}
    assert "Unknown GPU resource type" in (message(obj, V0151) or "")


def test_model_checks_are_skipped_without_predictor_model() -> None:
    obj = isvc()
    del obj["spec"]["predictor"]["model"]
    obj["spec"]["predictor"]["huggingface"] = {"storageUri": "hf://meta/llama"}
    del obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"]
    assert message(obj, V016) is None


def test_name_is_go_quoted_in_multinode_messages() -> None:
    # Kubernetes names cannot hold quotes, but %q formatting is what KServe uses; this pins it.
    obj = isvc(metadata__name="x", spec__predictor__model__storageUri=None)
    assert (message(obj, V016) or "").startswith('the InferenceService "x" is invalid')


def test_non_integer_parallel_size_is_a_schema_error() -> None:
    obj = isvc(spec__predictor__workerSpec={"pipelineParallelSize": "2"})
    assert message(obj, V016) == (
        'InferenceService.serving.kserve.io "llama" is invalid: spec.predictor.workerSpec.pipelineParallelSize: '
        'Invalid value: "string": spec.predictor.workerSpec.pipelineParallelSize in body must be of type '
        'integer: "2"'
    )


# --- later rules ----------------------------------------------------------------------------


def test_v016_rejects_predictor_model_name_after_multinode_rules() -> None:
    obj = isvc(spec__predictor__model__name="kserve-container")
    assert message(obj, V0151) is None
    assert message(obj, V016) == "the 'name' field is not allowed in standard predictor"
    obj["spec"]["predictor"]["model"]["storageUri"] = None
    del obj["spec"]["predictor"]["model"]["storageUri"]
    assert "StorageURI must be set" in (message(obj, V016) or "")


def test_v018_blocks_pythonpath_in_worker_container() -> None:
    obj = isvc()
    obj["spec"]["predictor"]["workerSpec"] = {
        "containers": [{"name": "worker-container", "env": [{"name": "PYTHONPATH", "value": "/x"}]}]
    }
    assert message(obj, V017) is None
    assert message(obj, V018) == (
        'the InferenceService "llama" is invalid: setting PYTHONPATH in container "worker-container" '
        "is not allowed for security reasons"
    )


def test_v018_pythonpath_on_model_quotes_the_model_name_or_empty() -> None:
    obj = isvc(spec__predictor__model__env=[{"name": "PYTHONPATH", "value": "/x"}])
    assert message(obj, V018) == (
        'the InferenceService "llama" is invalid: setting PYTHONPATH in container "" '
        "is not allowed for security reasons"
    )


def test_v018_pythonpath_in_worker_init_container_is_blocked_before_multinode_rules() -> None:
    obj = isvc(spec__predictor__model__storageUri=None)
    obj["spec"]["predictor"]["workerSpec"] = {
        "initContainers": [{"name": "init", "env": [{"name": "PYTHONPATH", "value": "/x"}]}]
    }
    assert 'container "init"' in (message(obj, V018) or "")


def canary_isvc(mode: str = "Standard") -> dict[str, Any]:
    obj = isvc()
    obj["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] = mode
    obj["spec"]["canary"] = [
        {"trafficPercent": 10, "predictor": {"name": "v2", "model": {"modelFormat": {"name": "huggingface"}}}}
    ]
    return obj


def test_v020_rejects_canary_with_workerspec() -> None:
    obj = canary_isvc()
    obj["spec"]["canary"][0]["predictor"]["workerSpec"] = {}
    assert message(obj, V018) is None
    assert (
        message(obj, V020)
        == 'canary "v2" must not set workerSpec (multi-node is not yet supported for canary)'
    )


def test_v020_canary_outside_standard_mode_is_rejected_first() -> None:
    obj = canary_isvc("RawDeployment")
    obj["spec"]["canary"][0]["predictor"]["workerSpec"] = {}
    assert message(obj, V020) == "canary is only supported in Standard deployment mode"


def test_v020_canary_without_workerspec_is_fine() -> None:
    assert message(canary_isvc(), V020) is None


# --- v0.14 ------------------------------------------------------------------------------------


def test_v014_workerspec_is_inert_and_admitted() -> None:
    obj = isvc(spec__predictor__workerSpec={"size": 3}, spec__predictor__model__storageUri="hf://x")
    del obj["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"]
    assert message(obj, V014) is None
    assert message(obj, V0151) == (
        "the InferenceService \"llama\" is invalid: Multinode only supports 'pvc' Storage Protocol(hf)"
    )


# --- upgrade hazards ---------------------------------------------------------------------------


def test_external_class_is_an_upgrade_hazard_from_v0150_to_v0151() -> None:
    obj = doc("isvc-multinode.website-154e4714-v0.15.0-era.2.yaml")
    hazards = upgrade_hazards(obj, V0150, V0151)
    assert hazards == [
        "admitted by KServe v0.15.0 but KServe v0.15.1 rejects its next update: the InferenceService "
        "\"huggingface-llama3\" is invalid: Multinode only supports 'none' autoscaler(external)"
    ]
    assert upgrade_hazards(obj, V0150, V0150) == []


def test_pythonpath_is_an_upgrade_hazard_into_v018() -> None:
    obj = isvc(spec__predictor__model__env=[{"name": "PYTHONPATH", "value": "/x"}])
    assert upgrade_hazards(obj, V017, V018)
    assert [e.key for e in newer_eras(V017)] == ["v0.18.0", "v0.19.0", "v0.20.0"]


# --- ServingRuntime webhook --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "era"),
    [
        ("kserve-huggingfaceserver-multinode.config-runtimes.v0.15.0.yaml", V0150),
        ("kserve-huggingfaceserver-multinode.install-v0.15.0.yaml", V0150),
        ("kserve-huggingfaceserver-multinode.install-v0.15.1.yaml", V0151),
        ("kserve-huggingfaceserver-multinode.config-runtimes.v0.16.0.yaml", V016),
        ("kserve-huggingfaceserver-multinode.install-v0.20.0.yaml", V020),
        ("kserve-huggingfaceserver-multinode.config-runtimes.master.yaml", V020),
    ],
)
def test_shipped_runtimes_are_admitted_by_their_release(fixture: str, era: Any) -> None:
    assert admit_runtime(runtime(fixture), era).allowed


def test_v0151_runtime_with_pp_one_is_rejected_by_v0150() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.1.yaml")
    assert admit_runtime(rt, V0150).message == (
        "the ClusterServingRuntime kserve-huggingfaceserver-multinode is invalid: the WorkerSpec.PipelineParallelSize "
        "cannot be less than 2 (1) because WorkerSpec.PipelineParallelSize should include at least 1 head node "
        "and 1 worker node"
    )


@pytest.mark.parametrize(
    ("field", "text"),
    [("pipelineParallelSize", "pipelineParallelSize"), ("tensorParallelSize", "tensorParallelSize")],
)
def test_v0150_runtime_must_set_pp_and_tp(field: str, text: str) -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.0.yaml")
    del rt["spec"]["workerSpec"][field]
    assert admit_runtime(rt, V0150).message == (
        f"the ClusterServingRuntime kserve-huggingfaceserver-multinode is invalid: {text} must be set when "
        "WorkerSpec is set"
    )
    assert admit_runtime(rt, V0151).allowed


def test_v0151_runtime_pp_zero_and_tp_zero() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.1.yaml")
    rt["spec"]["workerSpec"]["pipelineParallelSize"] = 0
    assert admit_runtime(rt, V0151).message == (
        "the ClusterServingRuntime kserve-huggingfaceserver-multinode is invalid: "
        "the WorkerSpec.PipelineParallelSize cannot be less than 1(0)"
    )
    rt["spec"]["workerSpec"]["pipelineParallelSize"] = 1
    rt["spec"]["workerSpec"]["tensorParallelSize"] = 0
    assert admit_runtime(rt, V016).message == (
        "the ClusterServingRuntime kserve-huggingfaceserver-multinode is invalid: "
        "the WorkerSpec.TensorParallelSize cannot be less than 1(0)"
    )


def test_runtime_env_and_gpu_checks_apply_to_kserve_container_only() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.20.0.yaml")
    rt["kind"] = "ServingRuntime"
    head = rt["spec"]["containers"][0]
    head["env"].append({"name": "TENSOR_PARALLEL_SIZE", "value": "2"})
    assert admit_runtime(rt, V020).message == (
        "the ServingRuntime kserve-huggingfaceserver-multinode is invalid: setting TENSOR_PARALLEL_SIZE in "
        "environment variables is not allowed"
    )
    head["name"] = "other"
    assert admit_runtime(rt, V020).allowed


@pytest.mark.parametrize("which", ["kserve-container", "worker-container"])
def test_runtime_unknown_gpu_names_the_container(which: str) -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.1.yaml")
    container = (
        rt["spec"]["containers"][0]
        if which == "kserve-container"
        else rt["spec"]["workerSpec"]["containers"][0]
    )
    container["resources"]["limits"]["nvidia.com/mig-3g.20gb"] = "1"
    expected = (
        f"the ClusterServingRuntime kserve-huggingfaceserver-multinode is invalid: unknown GPU resource type in "
        f"a container({which})"
    )
    assert admit_runtime(rt, V0151).message == expected
    rt["spec"]["annotations"]["serving.kserve.io/gpu-resource-types"] = '["nvidia.com/mig-3g.20gb"]'
    assert admit_runtime(rt, V0151).allowed


def test_removing_workerspec_on_update_is_rejected() -> None:
    old = runtime("kserve-huggingfaceserver-multinode.install-v0.15.1.yaml")
    new = copy.deepcopy(old)
    del new["spec"]["workerSpec"]
    assert admit_runtime(new, V0151).allowed  # create: nothing to compare with
    assert admit_runtime(new, V0151, existing=old).message == (
        "the ClusterServingRuntime kserve-huggingfaceserver-multinode is invalid: removing workerSpec where it "
        "already exists is not allowed"
    )


def test_disabled_runtime_is_allowed_whatever_it_holds() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.1.yaml")
    rt["spec"]["workerSpec"]["pipelineParallelSize"] = 0
    rt["spec"]["disabled"] = True
    assert admit_runtime(rt, V016).allowed


def test_two_runtime_worker_containers_are_rejected() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.1.yaml")
    rt["spec"]["workerSpec"]["containers"].append({"name": "sidecar", "image": "x"})
    assert admit_runtime(rt, V016).message == (
        "the ClusterServingRuntime kserve-huggingfaceserver-multinode is invalid: setting multiple containers in "
        "workerSpec is not allowed"
    )


def test_runtime_without_worker_containers_field_is_a_schema_error() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.15.1.yaml")
    del rt["spec"]["workerSpec"]["containers"]
    assert admit_runtime(rt, V016).message == (
        'ClusterServingRuntime.serving.kserve.io "kserve-huggingfaceserver-multinode" is invalid: '
        "spec.workerSpec.containers: Required value"
    )


def test_crd_requires_worker_containers_and_has_no_pp_minimum() -> None:
    # Why admit_runtime checks `containers` itself and PP/TP minimums live only in the webhook.
    crd = yaml.safe_load((FIXTURES / "crds" / "serving.kserve.io_servingruntimes.v0.15.0.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    worker = schema["workerSpec"]
    assert worker["required"] == ["containers"]
    assert worker["properties"]["pipelineParallelSize"] == {"type": "integer"}
    assert "minimum" not in worker["properties"]["tensorParallelSize"]


def test_v018_runtime_pythonpath_is_blocked_with_quoted_name() -> None:
    rt = runtime("kserve-huggingfaceserver-multinode.install-v0.20.0.yaml")
    rt["spec"]["workerSpec"]["containers"][0]["env"].append({"name": "PYTHONPATH", "value": "/x"})
    assert admit_runtime(rt, V017).allowed
    assert admit_runtime(rt, V018).message == (
        'the ClusterServingRuntime "kserve-huggingfaceserver-multinode" is invalid: setting PYTHONPATH in '
        'container "worker-container" is not allowed for security reasons'
    )
