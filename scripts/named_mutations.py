#!/usr/bin/env python3
"""The hand-written mutations issue 9 named (bugs the suite once missed), applied one at a time to a
scratch copy of this checkout; each must make the core tests fail.

    python scripts/named_mutations.py        # prints KILLED/SURVIVED per mutation; exit 1 if any survives

A quick complement to the mutmut audit (docs/testing.md): a minute or two, where mutmut takes hours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORE_TESTS = [
    "tests/test_mutation_cluster_errors.py",
    "tests/test_mutation_inventory.py",
    "tests/test_mutation_kserve.py",
    "tests/test_mutation_model.py",
    "tests/test_mutation_model_memory.py",
    "tests/test_mutation_planner.py",
    "tests/test_inventory.py",
    "tests/test_kserve_admission.py",
    "tests/test_kserve_controller.py",
    "tests/test_model.py",
    "tests/test_planner.py",
]

MUTATIONS = [
    (
        "planner rounds pods down",
        "kubectl_kserve_mn/planner.py",
        "pods = -(-total // per_pod)",
        "pods = total // per_pod",
    ),
    (
        "free GPUs not clamped at 0",
        "kubectl_kserve_mn/inventory.py",
        'object.__setattr__(self, "free", max(0, self.allocatable - self.requested))',
        'object.__setattr__(self, "free", self.allocatable - self.requested)',
    ),
    (
        "TP=0 admitted (first check)",
        "kubectl_kserve_mn/kserve/admission.py",
        "    if is_int(tp) and tp < 1:\n",
        "    if is_int(tp) and tp < 0:\n",
    ),
    (
        "canary at 100 % rejected",
        "kubectl_kserve_mn/kserve/admission.py",
        "not 0 <= percent <= 100",
        "not 0 <= percent < 100",
    ),
    ("sidecar GPUs not counted", "kubectl_kserve_mn/inventory.py", "sidecars += request", "sidecars += 0"),
    (
        "app containers: only the first counted",
        "kubectl_kserve_mn/inventory.py",
        "app = sum(c.request(resource) for c in pod.containers) + sidecars",
        "app = sum(c.request(resource) for c in pod.containers[:1]) + sidecars",
    ),
    ("410 branch lost", "kubectl_kserve_mn/cluster/errors.py", "if status == 410:", "if status == 411:"),
    (
        "KV blocks not rounded per request",
        "kubectl_kserve_mn/model/kvcache.py",
        "(cdiv(tokens, self.block_size) + 1)",
        "(tokens // self.block_size + 1)",
    ),
    (
        "KV tokens: groups division after multiply",
        "kubectl_kserve_mn/model/kvcache.py",
        "num_blocks // len(self.groups) * self.block_size",
        "num_blocks * self.block_size // len(self.groups)",
    ),
    (
        "float32 KV size",
        "kubectl_kserve_mn/model/memory.py",
        'return min(2, {"float32": 4, "float": 4, "float64": 8}.get(model.dtype, 2))',
        'return min(4, {"float32": 4, "float": 4, "float64": 8}.get(model.dtype, 2))',
    ),
    (
        "memory verdict boundary >= to >",
        "kubectl_kserve_mn/model/memory.py",
        "if self.margin_bytes >= self.uncertainty_bytes:",
        "if self.margin_bytes > self.uncertainty_bytes:",
    ),
    (
        "ceil division in controller rounds down",
        "kubectl_kserve_mn/kserve/controller.py",
        "return -(-numerator // denominator)",
        "return numerator // denominator",
    ),
]


def main() -> int:
    killed = 0
    with tempfile.TemporaryDirectory(prefix="kserve-mn-mutations-") as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(
            REPO, repo, ignore=shutil.ignore_patterns(".git", ".venv*", "mutants", "build", "dist")
        )
        env = {**os.environ, "PYTHONPATH": str(repo)}  # the copy, ahead of an editable install
        for name, rel, old, new in MUTATIONS:
            path = repo / rel
            text = path.read_text()
            if old not in text:
                print(f"MISSING   {name}: {rel} no longer has the line; update this script")
                continue
            path.write_text(text.replace(old, new, 1))
            try:
                run = subprocess.run(
                    [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *CORE_TESTS],
                    cwd=repo,
                    env=env,
                    capture_output=True,
                    text=True,
                )
            finally:
                path.write_text(text)
            lines = [line for line in run.stdout.splitlines() if line.strip()]
            failed = next((line[7:] for line in lines if line.startswith("FAILED ")), "")
            status = (
                "KILLED"
                if run.returncode == 1
                else "SURVIVED"
                if run.returncode == 0
                else f"exit {run.returncode}"
            )
            killed += run.returncode == 1
            print(f"{status:9} {name}: {lines[-1] if lines else ''} {failed}".rstrip(), flush=True)
    print(f"{killed} of {len(MUTATIONS)} killed")
    return 0 if killed == len(MUTATIONS) else 1


if __name__ == "__main__":
    sys.exit(main())
