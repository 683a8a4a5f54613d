"""The memory estimate against real vLLM start-ups (issue 11's bar).

The runs are in tests/fixtures/calibration/vllm-h100-runs.json with their sources (llm-d's published
H100 measurements, llm-d-planner's vLLM 0.19.0 runs, start-up logs quoted in vLLM issues);
scripts/memory_calibration.py computes the figures and prints the table of docs/memory-model.md.
"""

from __future__ import annotations

import statistics
from types import ModuleType
from typing import Any

import pytest

from tests.fixture_files import load_script

calibration: ModuleType = load_script("memory_calibration")
RUNS = calibration.load_runs()
RESULTS = [calibration.evaluate(run) for run in RUNS]


@pytest.mark.parametrize("result", RESULTS, ids=[r.id for r in RESULTS])
def test_verdict_is_vllms_own(result: Any) -> None:
    """A run vLLM started is never called "does-not-fit", a refused one never "fits"; "tight" only when
    the measured margin too lies within the estimate's uncertainty."""
    assert result.verdict_right, (
        result.verdict,
        result.margin_gib,
        result.uncertainty_gib,
        result.measured_margin_gib,
    )


def test_no_refused_run_is_called_fitting() -> None:
    refused = [r for r in RESULTS if not r.started]
    assert len(refused) >= 5
    assert all(r.verdict != "fits" for r in refused)


def test_median_kv_token_error_is_within_5_percent() -> None:
    errors = [abs(r.kv_error) for r in RESULTS if r.kv_error is not None]
    assert len(errors) >= 15
    assert statistics.median(errors) <= 0.05


def test_worst_weights_error_is_within_10_percent() -> None:
    errors = [abs(r.weights_error) for r in RESULTS if r.weights_error is not None]
    assert len(errors) >= 15
    assert max(errors) <= 0.10


def test_tight_is_the_exception_not_the_rule() -> None:
    # "tight" must not be a way to dodge the verdict: most runs get a plain fits / does-not-fit.
    assert sum(r.verdict == "tight" for r in RESULTS) <= len(RESULTS) // 4


def test_the_docs_table_is_what_the_script_prints_now() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "memory-model.md").read_text()
    assert calibration.markdown(RESULTS) in doc
