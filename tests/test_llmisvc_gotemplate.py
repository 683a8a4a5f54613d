"""The Go text/template subset KServe's presets use, rendered as the controller does (gotemplate.py)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
import yaml

from kubectl_kserve_mn.kserve.llmisvc.gotemplate import (
    TemplateError,
    child_name,
    parse,
    render,
    template_data,
)
from tests.llmisvc_objects import PRESETS, llmisvc, pod


def data(parallelism: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return template_data(llmisvc(parallelism=parallelism, **spec))


def test_a_set_pointer_is_true_even_when_it_points_to_zero() -> None:
    # Go's truth: a non-nil *int32 is true whatever its value.
    text = "{{ if .Spec.Parallelism.Tensor }}tp={{ .Spec.Parallelism.Tensor }}{{ else }}none{{ end }}"
    assert render(text, data({"tensor": 0})) == "tp=0"
    assert render(text, data({"data": 2})) == "none"


def test_or_returns_the_first_true_value_and_prints_the_pointed_value() -> None:
    text = "--data-parallel-size {{ or .Spec.Parallelism.Data 1 }}"
    assert render(text, data({"data": 16})) == "--data-parallel-size 16"
    assert render(text, data({"tensor": 2})) == "--data-parallel-size 1"


def test_and_stops_at_the_first_false_value_so_a_nil_parallelism_is_not_read() -> None:
    text = "x{{- if and .Spec.Parallelism .Spec.Parallelism.Tensor }} -tp {{ .Spec.Parallelism.Tensor }}{{- end }}"
    assert render(text, data(None)) == "x"
    assert render(text, data({"tensor": 4})) == "x -tp 4"


def test_reading_a_field_through_a_nil_pointer_fails_like_go() -> None:
    with pytest.raises(TemplateError, match=r"nil pointer evaluating \.Spec\.Parallelism\.Tensor"):
        render("{{ .Spec.Parallelism.Tensor }}", data(None))


def test_expert_is_a_bool_value_false_when_absent() -> None:
    text = "{{- if .Spec.Parallelism.Expert -}}--enable-expert-parallel{{- end }}"
    assert render(text, data({"data": 2, "expert": True})) == "--enable-expert-parallel"
    assert render(text, data({"data": 2})) == ""


def test_trim_markers_remove_spaces_but_not_newlines_as_in_the_marshalled_json() -> None:
    # In the JSON text a newline is the two characters "\n": only the indentation is template white space.
    text = "--port 8000 \\\n      {{- if .Spec.Parallelism.Tensor -}}   --tensor-parallel-size {{ .Spec.Parallelism.Tensor }}{{- end }} \\\n"
    assert render(text, data({"tensor": 2})) == "--port 8000 \\\n--tensor-parallel-size 2 \\\n"
    assert render(text, data({"data": 2})) == "--port 8000 \\\n \\\n"


def test_else_branch_and_nested_ifs() -> None:
    text = "{{ if .Spec.Prefill }}{{ if .Spec.Prefill.Parallelism }}p{{ else }}q{{ end }}{{ else }}r{{ end }}"
    assert render(text, data(None)) == "r"
    assert render(text, data(None, prefill={"parallelism": {"data": 2}})) == "p"
    assert render(text, data(None, prefill={"replicas": 1})) == "q"


def test_model_name_defaults_to_the_object_name() -> None:
    obj = llmisvc("qwen")
    del obj["spec"]["model"]["name"]
    assert (
        render('"{{ .Spec.Model.Name }}" {{ .ObjectMeta.Namespace }}', template_data(obj)) == '"qwen" team-a'
    )


def test_child_name_is_knatives_kmeta_child_name() -> None:
    assert child_name("llama", "-kserve-mn") == "llama-kserve-mn"
    parent = "a" * 60
    digest = hashlib.md5(parent.encode()).hexdigest()
    # knative/pkg kmeta/names.go: parent[:head-len(suffix)] + md5(parent) + suffix, 63 characters.
    assert child_name(parent, "-kserve-mn") == parent[: 31 - 10] + digest + "-kserve-mn"
    assert len(child_name(parent, "-kserve-mn-prefill")) == 63
    # A suffix of 31+ characters: parent[:31] + md5(parent + suffix), padded with the suffix's start.
    long_suffix = "-" + "s" * 40
    whole = hashlib.md5((parent + long_suffix).encode()).hexdigest()
    assert child_name(parent, long_suffix) == parent[:31] + whole
    short_parent = "p" * 30
    whole = hashlib.md5((short_parent + long_suffix).encode()).hexdigest()
    assert child_name(short_parent, long_suffix) == short_parent + whole


def test_child_name_function_and_raw_strings() -> None:
    text = "{{ ChildName .ObjectMeta.Name `-kserve-self-signed-certs` }}"
    assert render(text, data(None)) == "llama-kserve-self-signed-certs"


def test_shutdown_timeout_reads_the_pod_grace_period() -> None:
    assert (
        render(
            "{{ shutdownTimeout .Spec.Template 15 }}",
            data(None, template={"terminationGracePeriodSeconds": 60}),
        )
        == "40"
    )
    assert render("{{ shutdownTimeout nil 15 }}", data(None)) == "40"
    assert (
        render(
            "{{ shutdownTimeout .Spec.Template 15 }}",
            data(None, template={"terminationGracePeriodSeconds": 10}),
        )
        == "0"
    )


@pytest.mark.parametrize(
    "text",
    [
        "{{ if .Spec.Parallelism }}x",
        "{{ end }}",
        "{{ else }}",
        "{{ range .Spec.Worker }}{{ end }}",
        "{{ nosuch 1 }}",
    ],
)
def test_what_the_renderer_does_not_know_is_an_error_not_a_guess(text: str) -> None:
    with pytest.raises(TemplateError):
        render(text, data({"data": 1}))


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


OBJECTS = [
    llmisvc(
        parallelism={"data": 4, "dataLocal": 2, "tensor": 2, "expert": True, "dataRPCPort": 6000},
        template=pod(4),
        worker=pod(4),
    ),
    llmisvc(
        parallelism={"data": 2, "dataLocal": 1},
        worker=pod(8),
        prefill={"parallelism": {"data": 2, "dataLocal": 1}, "worker": pod(8)},
    ),
    llmisvc(parallelism={"tensor": 4}, prefill={"parallelism": {"tensor": 2}}),
]


@pytest.mark.parametrize("path", sorted(PRESETS.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_string_of_every_shipped_preset_renders(path: Any) -> None:
    spec = yaml.safe_load(path.read_text())["spec"]
    prefill = "prefill" in path.stem
    for obj in OBJECTS:
        if prefill and "prefill" not in obj["spec"]:
            continue
        if "worker-data-parallel" in path.stem and "data" not in (
            obj["spec"]["prefill"] if prefill else obj["spec"]
        ).get("parallelism", {}):
            continue
        for text in _strings(spec):
            out = render(text, template_data(obj))
            assert "{{" not in out


def test_the_presets_use_only_the_actions_the_renderer_knows() -> None:
    used: set[str] = set()
    for path in PRESETS.glob("*/*.yaml"):
        for text in _strings(yaml.safe_load(path.read_text())):
            for node in parse(text):
                if isinstance(node, list):
                    used.add(node[0] if not node[0].startswith(".") else "field")
            used.update(m.split()[0] for m in re.findall(r"\{\{-?\s*([a-zA-Z][^}]*)\}\}", text))
    assert used <= {
        "field",
        "if",
        "else",
        "end",
        "or",
        "and",
        "ChildName",
        "shutdownTimeout",
        "kvTransferConfig",
    }
