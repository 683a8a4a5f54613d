"""Object names on the command line as kubectl writes them (cli/kinds.py)."""

from __future__ import annotations

import pytest

from kubectl_kserve_mn.cli.kinds import NameRef, kind_of_flag, parse_name, parse_names
from kubectl_kserve_mn.errors import InputError

LLM = "LLMInferenceService"
ISVC = "InferenceService"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("llmisvc/llama", LLM),
        ("llminferenceservice/llama", LLM),
        ("llminferenceservices/llama", LLM),
        ("LLMInferenceService.serving.kserve.io/llama", LLM),
        ("isvc/llama", ISVC),
        ("inferenceservices.serving.kserve.io/llama", ISVC),
        ("llama", None),
    ],
)
def test_every_spelling_kubectl_resolves_names_the_kind(text: str, kind: str | None) -> None:
    assert parse_name(text) == NameRef(kind, "llama")


def test_the_form_completion_offers_reads_back_as_an_llminferenceservice() -> None:
    from kubectl_kserve_mn.cli.completion import _names

    (candidate,) = _names([{"metadata": {"name": "llama"}}], "llmisvc/", LLM)
    assert parse_name(candidate.value) == NameRef(LLM, "llama")
    assert str(parse_name(candidate.value)) == "llmisvc/llama"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deployment/llama", 'the type "deployment" is not one this command handles'),
        ("llmisvc/", "expected TYPE/NAME with one name after the slash"),
        ("llmisvc/a/b", "expected TYPE/NAME with one name after the slash"),
        ("", "an object name is empty"),
    ],
)
def test_a_name_kubectl_would_not_take_is_an_input_error(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_name(text)


def test_names_are_kept_once_in_the_order_given() -> None:
    assert parse_names(("b", "llmisvc/a", "b")) == [NameRef(None, "b"), NameRef(LLM, "a")]


def test_kind_flag_values() -> None:
    assert (kind_of_flag("llmisvc"), kind_of_flag("LLMInferenceService"), kind_of_flag(None)) == (
        LLM,
        LLM,
        None,
    )
    assert kind_of_flag("isvc") == ISVC
