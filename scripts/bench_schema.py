#!/usr/bin/env python3
"""Measure the KServe-object input boundary: loading the CRD schemas and validating many objects.

    python scripts/bench_schema.py [--objects 1000] [--repeat 5]

Prints, in ms: loading the package data (JSON parse and node build, in a fresh process), the YAML parse
of one fixture CRD for comparison, and validating N typical multi-node InferenceServices and
LLMInferenceServices (best and median of the repeats). Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ISVC: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "metadata": {
        "name": "llama-3-70b",
        "namespace": "team-a",
        "labels": {"app": "llama"},
        "annotations": {
            "serving.kserve.io/deploymentMode": "Standard",
            "serving.kserve.io/autoscalerClass": "none",
        },
    },
    "spec": {
        "predictor": {
            "model": {
                "runtime": "kserve-huggingfaceserver-multinode",
                "modelFormat": {"name": "huggingface"},
                "storageUri": "pvc://llama/hf/70b",
                "args": ["--max-model-len", "8192"],
                "env": [
                    {"name": "HF_HOME", "value": "/tmp"},
                    {"name": "VLLM_LOGGING_LEVEL", "value": "INFO"},
                ],
                "resources": {
                    "limits": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "8"},
                    "requests": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "8"},
                },
            },
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
            "workerSpec": {
                "pipelineParallelSize": 2,
                "tensorParallelSize": 8,
                "containers": [
                    {
                        "name": "worker-container",
                        "resources": {"limits": {"nvidia.com/gpu": "8"}, "requests": {"nvidia.com/gpu": "8"}},
                    }
                ],
            },
        }
    },
}

LOAD = """
import time
t = time.perf_counter()
from kubectl_kserve_mn.inputs import kserve_objects
t1 = time.perf_counter()
kserve_objects._catalog()
t2 = time.perf_counter()
print(f"{(t1 - t) * 1000:.1f} {(t2 - t1) * 1000:.1f}")
"""


def _timed(objs: list[dict[str, Any]], version: str, repeat: int) -> tuple[float, float]:
    from kubectl_kserve_mn.inputs.kserve_objects import validate_object

    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for obj in objs:
            validate_object(obj, source="bench.yaml", kserve_version=version)
        runs.append(time.perf_counter() - start)
    return min(runs) * 1000, statistics.median(runs) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    loads = []
    for _ in range(args.repeat):
        out = subprocess.run(
            [sys.executable, "-c", LOAD], capture_output=True, text=True, check=True, cwd=REPO
        )
        loads.append(tuple(float(x) for x in out.stdout.split()))
    print(f"import kserve_objects: best {min(a for a, _ in loads):.1f} ms")
    print(f"load CRD schemas (14 CRDs, 18 served versions): best {min(b for _, b in loads):.1f} ms")

    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = REPO / "tests/fixtures/crds/master/serving.kserve.io_inferenceservices.yaml"
    start = time.perf_counter()
    with open(crd, encoding="utf-8") as handle:
        yaml.load(handle, Loader=loader)
    print(
        f"for comparison, YAML parse of the master InferenceService CRD: {(time.perf_counter() - start) * 1000:.0f} ms"
    )

    from kubectl_kserve_mn.files import load_objects

    llm = load_objects(
        str(
            REPO
            / "tests/fixtures/kserve/llmisvc-samples/llm-inference-service-dp-ep-deepseek-r1-gpu-naive.yaml"
        )
    )[0]
    for label, obj, version in (
        ("InferenceService (v0.16.0 CRD)", ISVC, "v0.16.0"),
        ("LLMInferenceService sample (v0.20.0 CRD)", llm, "v0.20.0"),
    ):
        objs = [copy.deepcopy(obj) for _ in range(args.objects)]
        best, median = _timed(objs, version, args.repeat)
        print(f"validate_object x{args.objects} {label}: best {best:.0f} ms, median {median:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
