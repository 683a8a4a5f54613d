#!/usr/bin/env python3
"""Runs the README's and docs' cluster examples against the test suite's fake API server and prints the
transcripts, so the documentation shows real output (regenerate after changing what a command prints).

    python scripts/example_session.py fix        # the README's fix example
    python scripts/example_session.py fix-doc > docs/fix-example.md
    python scripts/example_session.py rollout    # the README's rollout example
    python scripts/example_session.py upgrade    # the README's check --upgrade-to example

The cluster is examples/cluster-2x8-h100.yaml with KServe v0.15.1 (controller image) and its shipped
multi-node ClusterServingRuntime; the kubeconfig's namespace is team-a. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from tests.fakeapi import FakeKubeAPI  # noqa: E402
from tests.fixture_files import kserve_runtime, load_kind  # noqa: E402
from tests.nodes import controller_deployment  # noqa: E402

SEED: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "metadata": {
        "name": "llama",
        "namespace": "team-a",
        "annotations": {
            "serving.kserve.io/autoscalerClass": "none",
            "serving.kserve.io/deploymentMode": "RawDeployment",
        },
    },
    "spec": {
        "predictor": {
            "model": {
                "modelFormat": {"name": "huggingface"},
                "storageUri": "pvc://llama-3-70b-pvc/hf/70b_instruction_tuned",
                "args": ["--max-model-len=8192"],
            },
            "workerSpec": {"pipelineParallelSize": 1, "tensorParallelSize": 16},
        }
    },
}


def one_gpu_pod(index: int, node: str) -> dict[str, Any]:
    """One of the 16 single-GPU pods KServe v0.15.1 makes of SEED (head and workers, generation 1)."""
    role = "predictor" if index == 0 else "predictor-worker"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"llama-{role}-7d9f8c6b5-{index:02d}",
            "namespace": "team-a",
            "labels": {
                "serving.kserve.io/inferenceservice": "llama",
                "isvc.generation": "1",
                "component": "predictor",
                # KServe's selector labels: app=isvc.<head Deployment>, and -worker for the workers.
                "app": "isvc.llama-predictor" + ("" if index == 0 else "-worker"),
            },
        },
        "spec": {
            "nodeName": node,
            "containers": [
                {
                    "name": "c",
                    "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}},
                }
            ],
        },
        "status": {"phase": "Running"},
    }


def eight_gpu_pod(role: str, node: str) -> dict[str, Any]:
    """The head or the worker of a PP=2 x TP=8 InferenceService on KServe v0.15.0 (8 GPUs each)."""
    pod = one_gpu_pod(0 if role == "head" else 1, node)
    pod["spec"]["containers"][0]["resources"] = {
        "limits": {"nvidia.com/gpu": "8"},
        "requests": {"nvidia.com/gpu": "8"},
    }
    return pod


def serve(what: str) -> FakeKubeAPI:
    api = FakeKubeAPI().start()
    api.load_kserve_crds("master" if what != "upgrade" else "v0.15.0")
    api.add(*load_kind(str(REPO / "examples" / "cluster-2x8-h100.yaml"), "Node"))
    if what == "fix015":
        isvc = json.loads(json.dumps(SEED))
        isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "external"
        api.add(controller_deployment("kserve/kserve-controller:v0.15.0"), kserve_runtime("v0.15.0"), isvc)
        return api
    if what == "upgrade":
        # KServe v0.15.0: PP=2 x TP=8 (every pod gets TP GPUs), autoscaler class external, running.
        isvc = json.loads(json.dumps(SEED))
        isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "external"
        isvc["spec"]["predictor"]["workerSpec"] = {"pipelineParallelSize": 2, "tensorParallelSize": 8}
        api.add(controller_deployment("kserve/kserve-controller:v0.15.0"), kserve_runtime("v0.15.0"), isvc)
        api.add(eight_gpu_pod("head", "gpu-h100-a"), eight_gpu_pod("worker", "gpu-h100-b"))
        return api
    api.add(controller_deployment("kserve/kserve-controller:v0.15.1"), kserve_runtime("v0.15.1"), dict(SEED))
    if what == "rollout":
        api.add(*(one_gpu_pod(i, "gpu-h100-a" if i < 8 else "gpu-h100-b") for i in range(16)))
    return api


def run(kubeconfig: Path, *args: str, block: bool = False) -> None:
    """Print ``$ kubectl kserve-mn ARGS``, what it writes (stderr, then stdout) and its exit code."""
    shown = "kubectl kserve-mn " + shlex.join(args)
    env = {**os.environ, "PYTHONPATH": str(REPO), "KUBECONFIG": str(kubeconfig)}
    env.pop("COLUMNS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_kserve_mn", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if block:
        print("```console")
    print(f"$ {shown}")
    sys.stdout.write(proc.stderr + proc.stdout)
    print(f"$ echo $?\n{proc.returncode}")
    print("```" if block else "")


FIX_DOC_HEAD = """# Worked example: `kubectl kserve-mn fix`

Real output of the commands below, produced by `python scripts/example_session.py fix-doc` (each command's
stderr is shown before its stdout). The cluster is the project's example cluster, 2 nodes x 8 NVIDIA H100
(`examples/cluster-2x8-h100.yaml`), with KServe v0.15.1 (detected from the `kserve-controller-manager`
image) and its shipped `kserve-huggingfaceserver-multinode` ClusterServingRuntime, served by the test
suite's fake API server (`tests/fakeapi.py`); the kubeconfig's context namespace is `team-a`. The
InferenceService is not running yet (no pods).

The InferenceService asks for tensor parallelism 16 (the common first try on 8-GPU nodes) and sets no GPUs:

```yaml
{seed}```
"""

FIX_DOC_STEPS = [
    (
        "1. What `check` says",
        "KServe v0.15.1 would make 16 pods of one GPU each, with tensor parallelism across the network:",
        ("check", "llama"),
    ),
    (
        "2. What `fix` would change",
        "Without `--yes` and without a terminal, `fix` prints the changes, the rollout it would start and the "
        "diff (like `kubectl diff`) and applies nothing (exit 1). On a terminal it shows the same and asks "
        "`Apply this change to InferenceService team-a/llama? [y/N]`. Each `change:` line explains one change:",
        ("fix", "llama"),
    ),
    ("3. Apply it", "One JSON merge patch with `metadata.resourceVersion`:", ("fix", "llama", "--yes")),
    ("4. Check again", "", ("check", "llama")),
    ("5. Fix again: nothing to change, no request", "", ("fix", "llama")),
    (
        "6. Undo",
        "The `kserve-mn/previous-layout` annotation restores exactly the previous values:",
        ("fix", "llama", "--undo", "--yes"),
    ),
]

FIX_DOC_TAIL = """
## Flags and exit codes

- `--tensor-parallel-size` / `--pipeline-parallel-size` / `--gpus`: ask for a specific target (the
  planner may still correct it); `--allow-cross-node-tp`: prefer TP across pods (v0.15.1+ Ray).
- `--model` (or the `kserve-mn/model` annotation): only layouts the model can run with.
- `--rollout=rolling|recreate`, `--dry-run[=none|client|server]`, `--yes`, `--undo`,
  `-o diff|yaml|json|patch`.
- Exit codes: 0 applied, or nothing to change; 1 a difference shown but not applied (a dry run with
  `-o diff`, no terminal, answered no, a rollout that cannot fit, or KServe would still reject the
  object), or no layout fits (nothing changed); 2 bad flags or input; 3 API errors (403, 404, 409
  Conflict).

## RBAC

`plan` and `check` only read (ClusterRole `kserve-mn-reader` in `examples/rbac.yaml`); `fix` also needs
`get` and `patch` on `inferenceservices.serving.kserve.io` (ClusterRole `kserve-mn-fixer` in the same
file; bind it with a RoleBinding per namespace to limit where fixes may be applied).
"""


def fix_doc() -> None:
    import yaml

    print(FIX_DOC_HEAD.format(seed=yaml.safe_dump(SEED, sort_keys=False)))
    api = serve("fix")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = api.write_kubeconfig(Path(tmp) / "kubeconfig")
            for title, text, args in FIX_DOC_STEPS:
                print(f"## {title}\n")
                if text:
                    print(f"{text}\n")
                run(kubeconfig, *args, block=True)
                print()
    finally:
        api.stop()
    print("## The same object on KServe v0.15.0\n")
    print(
        "v0.15.0 requires `pipelineParallelSize >= 2` and gives every pod exactly TP GPUs itself, so `fix` "
        "changes only the two sizes and adds no GPU resources (the object there carries `autoscalerClass: "
        "external`, which v0.15.0 requires):\n"
    )
    api = serve("fix015")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run(
                api.write_kubeconfig(Path(tmp) / "kubeconfig"), "fix", "llama", "--dry-run=client", block=True
            )
    finally:
        api.stop()
    print(FIX_DOC_TAIL, end="")


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "fix"
    if what == "fix-doc":
        fix_doc()
        return 0
    api = serve(what)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = api.write_kubeconfig(Path(tmp) / "kubeconfig")
            if what == "fix":
                run(kubeconfig, "check", "llama")
                run(kubeconfig, "fix", "llama")
                run(kubeconfig, "fix", "llama", "--yes")
                run(kubeconfig, "check", "llama")
                run(kubeconfig, "fix", "llama")
                run(kubeconfig, "fix", "llama", "--undo", "--yes")
            elif what == "upgrade":
                run(kubeconfig, "check", "--upgrade-to", "v0.15.1")
            else:
                run(kubeconfig, "fix", "llama")
                run(kubeconfig, "fix", "llama", "--rollout=recreate", "--yes")
                run(kubeconfig, "fix", "llama", "--undo", "--dry-run=client", "-o", "patch")
    finally:
        api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
