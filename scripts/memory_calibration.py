"""Compare the memory estimate with real vLLM start-ups (tests/fixtures/calibration/vllm-h100-runs.json).

    python scripts/memory_calibration.py            # the table of docs/memory-model.md, with errors
    python scripts/memory_calibration.py --json     # one object per run

For each run: the predicted weights per GPU against vLLM's "Model loading took", the KV cache tokens
against its "GPU KV cache size" (or, where only "Available KV cache memory" is published, the tokens vLLM
makes of those bytes with the same block arithmetic), and the verdict against whether vLLM started.
tests/test_memory_calibration.py asserts the bars on the same figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kubectl_kserve_mn.model import estimate_memory, model_from_config  # noqa: E402
from kubectl_kserve_mn.model.kvcache import kv_layout  # noqa: E402

RUNS = REPO / "tests" / "fixtures" / "calibration" / "vllm-h100-runs.json"
MODELS = REPO / "tests" / "fixtures" / "models"
GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Result:
    id: str
    model: str
    vllm: str
    tp: int
    max_model_len: int
    started: bool
    verdict: str
    weights_gib: float
    measured_weights_gib: float | None
    reserve_gib: float
    measured_reserve_gib: float | None
    kv_tokens: int
    measured_kv_tokens: int | None
    margin_gib: float
    uncertainty_gib: float
    measured_margin_gib: float | None

    @property
    def weights_error(self) -> float | None:
        if self.measured_weights_gib is None:
            return None
        return (self.weights_gib - self.measured_weights_gib) / self.measured_weights_gib

    @property
    def kv_error(self) -> float | None:
        if not self.measured_kv_tokens:
            return None
        return (self.kv_tokens - self.measured_kv_tokens) / self.measured_kv_tokens

    @property
    def verdict_right(self) -> bool:
        """Started runs are ``fits`` or ``tight``, refused ones ``does-not-fit`` or ``tight``, and a
        ``tight`` verdict is honest: the measured margin lies within the estimate's uncertainty too."""
        if self.verdict == "tight":
            return self.measured_margin_gib is None or abs(self.measured_margin_gib) <= self.uncertainty_gib
        return self.verdict == ("fits" if self.started else "does-not-fit")


def load_runs() -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = json.loads(RUNS.read_text())["runs"]
    return runs


def evaluate(run: dict[str, Any]) -> Result:
    name = run["model"]
    model = model_from_config(json.loads((MODELS / f"{name}.json").read_text()), name)
    kwargs: dict[str, Any] = {
        "utilization": run["utilization"],
        "max_model_len": run["maxModelLen"],
        "gpu_product": run["gpu"],
        "vllm_version": run["vllm"],
        "block_size": run["blockSize"],
        "max_num_batched_tokens": run.get("maxNumBatchedTokens"),
        "max_num_seqs": run.get("maxNumSeqs"),
    }
    e = estimate_memory(model, run["tp"], run["pp"], run["gpuMemoryMiB"] * MIB, **kwargs)
    measured = run["measured"]
    critical = e.critical
    kv_tokens = None
    measured_margin = None
    if "kvGiB" in measured:
        kv_bytes = round(measured["kvGiB"] * GIB)
        layout = kv_layout(model, run["tp"], e.kv_cache_dtype_bytes, run["blockSize"])
        held = range(model.num_layers)
        kv_tokens = measured.get("kvTokens") or layout.tokens(layout.num_blocks(held, kv_bytes))
        measured_margin = (kv_bytes - critical.needed_bytes) / GIB
    components = [measured.get(k) for k in ("activationGiB", "nonTorchGiB")]
    return Result(
        id=run["id"],
        model=run["served"],
        vllm=run["vllm"] or "unknown",
        tp=run["tp"],
        max_model_len=run["maxModelLen"],
        started=measured["started"],
        verdict=e.verdict,
        weights_gib=e.per_gpu_weights_bytes / GIB,
        measured_weights_gib=measured.get("weightsGiB"),
        reserve_gib=critical.reserve.total / GIB,
        measured_reserve_gib=sum(c for c in components if c is not None)
        if all(c is not None for c in components)
        else None,
        kv_tokens=e.kv_cache_tokens,
        measured_kv_tokens=kv_tokens if measured["started"] or kv_tokens else None,
        margin_gib=critical.margin_bytes / GIB,
        uncertainty_gib=critical.uncertainty_bytes / GIB,
        measured_margin_gib=measured_margin,
    )


def summary(results: list[Result]) -> dict[str, Any]:
    kv = [abs(r.kv_error) for r in results if r.kv_error is not None]
    weights = [abs(r.weights_error) for r in results if r.weights_error is not None]
    return {
        "runs": len(results),
        "verdictsRight": sum(r.verdict_right for r in results),
        "tight": sum(r.verdict == "tight" for r in results),
        "kvRuns": len(kv),
        "medianKvTokenError": statistics.median(kv) if kv else 0.0,
        "worstKvTokenError": max(kv) if kv else 0.0,
        "weightsRuns": len(weights),
        "medianWeightsError": statistics.median(weights) if weights else 0.0,
        "worstWeightsError": max(weights) if weights else 0.0,
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:+.1f} %"


def markdown(results: list[Result]) -> str:
    lines = [
        "| run | vLLM | TP | max len | vLLM started | verdict (margin ± uncertainty) | weights GiB (meas.) | err | "
        "reserve GiB (meas.) | KV tokens (meas.) | err |",
        "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        weights = (
            f"{r.weights_gib:.2f} ({r.measured_weights_gib:.2f})"
            if r.measured_weights_gib
            else f"{r.weights_gib:.2f} (-)"
        )
        reserve = (
            f"{r.reserve_gib:.2f} ({r.measured_reserve_gib:.2f})"
            if r.measured_reserve_gib
            else f"{r.reserve_gib:.2f} (-)"
        )
        kv = f"{r.kv_tokens:,} ({r.measured_kv_tokens:,})" if r.measured_kv_tokens else f"{r.kv_tokens:,} (-)"
        verdict = f"{r.verdict} ({r.margin_gib:+.1f} ± {r.uncertainty_gib:.1f})"
        lines.append(
            f"| {r.model} | {r.vllm} | {r.tp} | {r.max_model_len:,} | {'yes' if r.started else 'no'} | {verdict} | "
            f"{weights} | {_pct(r.weights_error)} | {reserve} | {kv} | {_pct(r.kv_error)} |"
        )
    s = summary(results)
    lines.append("")
    lines.append(
        f"{s['verdictsRight']} of {s['runs']} verdicts right ({s['tight']} tight); KV tokens: median |error| "
        f"{s['medianKvTokenError'] * 100:.1f} %, worst {s['worstKvTokenError'] * 100:.1f} % over {s['kvRuns']} runs; "
        f"weights: median |error| {s['medianWeightsError'] * 100:.1f} %, worst {s['worstWeightsError'] * 100:.1f} % "
        f"over {s['weightsRuns']} runs."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per run and the summary")
    args = parser.parse_args(argv)
    results = [evaluate(run) for run in load_runs()]
    if args.json:
        print(json.dumps({"runs": [asdict(r) for r in results], "summary": summary(results)}, indent=1))
    else:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
