"""API answers the commands must word exactly (from the mutation audit, docs/testing.md): a list that
expires while it is read page by page (410 Gone) is exit 3 with one line saying to re-run."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import CliResult
from tests.fakeapi import FakeKubeAPI
from tests.nodes import gpu_node

Run = Callable[..., CliResult]


def test_a_list_that_expires_while_read_is_exit_3_saying_to_rerun(
    fake_api: FakeKubeAPI, run_cli: Run
) -> None:
    fake_api.add(gpu_node("gpu-0"), gpu_node("gpu-1"))
    fake_api.fail("GET", "/api/v1/pods", 410, "The provided continue parameter is too old")
    result = run_cli("plan", "--gpus", "16", "--kserve-version", "v0.15.1")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("error: GET /api/v1/pods")
    assert result.stderr.rstrip("\n").endswith(
        ": the list changed while it was being read (410 Gone): re-run"
    )
    assert result.stderr.count("\n") == 1
