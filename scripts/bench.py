#!/usr/bin/env python3
"""Benchmarks of ``kubectl-kserve_mn`` against kubectl on a synthetic cluster.

    python scripts/bench.py [--runs N] [--json] [all|help|plan ...]

- ``help``: ``kubectl-kserve_mn --help`` (startup cost; the kubernetes client must not be imported),
  next to ``kubectl --help``.
- ``plan``: ``kubectl-kserve_mn plan --gpus 16 --kubeconfig K`` on 2,000 GPU nodes (8 x H100) and 20,000
  pods served by tests/fakeapi.py over HTTPS, next to the baseline ``kubectl get nodes -o json`` plus
  ``kubectl get pods -A -o json`` against the same server and kubeconfig.

Each command runs once untimed (warm-up: page cache, kubectl's discovery cache), then ``--runs`` times;
the report gives medians and the ratio ours / baseline. A command that fails is reported with its exit
code and last stderr line instead of a time.

To add a benchmark (e.g. ``startup``), write ``def bench_x(ctx: BenchContext) -> list[Comparison]`` and
decorate it with ``@benchmark("x", "help text", needs_cluster=False)``: it gets its own sub-command and
joins ``all``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

import synthetic_cluster  # noqa: E402

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


@dataclass
class Timing:
    label: str
    argv: list[str]
    runs: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs and self.error is None else None


@dataclass
class Comparison:
    name: str
    ours: Timing
    baseline: list[Timing]
    """Run one after the other; their medians add up to the baseline time."""

    @property
    def baseline_median(self) -> float | None:
        medians = [t.median for t in self.baseline]
        if not medians or any(m is None for m in medians):
            return None
        return sum(m for m in medians if m is not None)

    @property
    def ratio(self) -> float | None:
        base = self.baseline_median
        return self.ours.median / base if self.ours.median is not None and base else None


@dataclass
class BenchContext:
    runs: int
    workdir: Path
    nodes: int
    pods: int
    env: dict[str, str]
    ours: list[str]
    """argv prefix that runs our CLI."""
    kubeconfig: Path | None = None


@dataclass(frozen=True)
class Benchmark:
    name: str
    help: str
    func: Callable[[BenchContext], list[Comparison]]
    needs_cluster: bool


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(
    name: str, help_text: str, *, needs_cluster: bool = False
) -> Callable[[Callable[[BenchContext], list[Comparison]]], Callable[[BenchContext], list[Comparison]]]:
    """Register a benchmark; ``needs_cluster`` starts the fake API server with the synthetic cluster."""

    def register(
        func: Callable[[BenchContext], list[Comparison]],
    ) -> Callable[[BenchContext], list[Comparison]]:
        BENCHMARKS[name] = Benchmark(name, help_text, func, needs_cluster)
        return func

    return register


def our_command() -> list[str]:
    """The installed console script next to this Python, else ``python -m kubectl_kserve_mn``."""
    script = Path(sys.executable).parent / "kubectl-kserve_mn"
    if script.is_file():
        return [str(script)]
    found = shutil.which("kubectl-kserve_mn")
    return [found] if found else [sys.executable, "-m", "kubectl_kserve_mn"]


def time_command(label: str, argv: list[str], ctx: BenchContext, *, ok_codes: Sequence[int] = (0,)) -> Timing:
    timing = Timing(label, argv)
    for attempt in range(ctx.runs + 1):  # the first run warms up and is not counted
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, env=ctx.env, cwd=ctx.workdir, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode not in ok_codes:
            lines = proc.stderr.decode(errors="replace").strip().splitlines() or ["(no stderr)"]
            timing.error = f"exit {proc.returncode}: {lines[-1][:200]}"
            return timing
        if attempt:
            timing.runs.append(elapsed)
    return timing


@benchmark("help", "kubectl-kserve_mn --help vs kubectl --help")
def bench_help(ctx: BenchContext) -> list[Comparison]:
    ours = time_command("kubectl-kserve_mn --help", [*ctx.ours, "--help"], ctx)
    base = time_command("kubectl --help", [KUBECTL, "--help"], ctx)
    return [Comparison("help", ours, [base])]


@benchmark("plan", "plan --gpus 16 vs kubectl get nodes + pods -A (-o json)", needs_cluster=True)
def bench_plan(ctx: BenchContext) -> list[Comparison]:
    assert ctx.kubeconfig is not None
    kc = str(ctx.kubeconfig)
    # plan exits 1 when nothing fits; that is still a completed run.
    ours = time_command(
        "kubectl-kserve_mn plan --gpus 16",
        [*ctx.ours, "plan", "--gpus", "16", "--kubeconfig", kc],
        ctx,
        ok_codes=(0, 1),
    )
    cache = ["--cache-dir", str(ctx.workdir / "kubectl-cache")]
    nodes = time_command(
        "kubectl get nodes -o json", [KUBECTL, "--kubeconfig", kc, *cache, "get", "nodes", "-o", "json"], ctx
    )
    pods = time_command(
        "kubectl get pods -A -o json",
        [KUBECTL, "--kubeconfig", kc, *cache, "get", "pods", "-A", "-o", "json"],
        ctx,
    )
    return [Comparison("plan", ours, [nodes, pods])]


@benchmark("startup", "built binary (onedir/onefile) --help and version --client vs kubectl version --client")
def bench_startup(ctx: BenchContext) -> list[Comparison]:
    """scripts/bench_startup.py's interleaved runs of the PyInstaller builds (scripts/build.sh)."""
    import bench_startup as startup

    report = startup.run(ctx.runs)
    baseline = Timing(
        report["baseline"], ["kubectl", "version", "--client"], runs=[report["baseline_median_s"]]
    )
    comparisons = []
    for row in report["results"]:
        if row["name"] == report["baseline"]:
            continue
        ours = Timing(row["name"], row["argv"], runs=[row["median_s"]])
        comparisons.append(Comparison(row["name"], ours, [baseline]))
    for path in report["missing"]:
        print(f"startup: not built, left out: {path}", file=sys.stderr)
    return comparisons


def start_cluster(ctx: BenchContext) -> Any:
    from tests.fakeapi import FakeKubeAPI

    started = time.perf_counter()
    api = FakeKubeAPI().start()
    synthetic = synthetic_cluster.generate(nodes=ctx.nodes, pods=ctx.pods)
    api.add_all(synthetic.objects())
    ctx.kubeconfig = api.write_kubeconfig(ctx.workdir / "kubeconfig")
    print(
        f"fake API server {api.url}: {ctx.nodes} nodes, {ctx.pods} pods (ready in {time.perf_counter() - started:.1f}s)",
        file=sys.stderr,
        flush=True,
    )
    return api


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def report(results: list[Comparison], runs: int) -> str:
    lines = [f"medians of {runs} runs (after 1 warm-up)"]
    for comp in results:
        lines.append(f"\n[{comp.name}]")
        for timing in [comp.ours, *comp.baseline]:
            value = timing.error if timing.error else fmt(timing.median)
            lines.append(f"  {timing.label:<40} {value}")
        if len(comp.baseline) > 1:
            lines.append(f"  {'baseline total':<40} {fmt(comp.baseline_median)}")
        ratio = comp.ratio
        lines.append(f"  {'ratio ours / baseline':<40} {'-' if ratio is None else f'{ratio:.2f}x'}")
    return "\n".join(lines)


def as_json(results: list[Comparison], ctx: BenchContext) -> dict[str, Any]:
    return {
        "runs": ctx.runs,
        "nodes": ctx.nodes,
        "pods": ctx.pods,
        "benchmarks": [
            {
                "name": c.name,
                "ours": {**asdict(c.ours), "median": c.ours.median},
                "baseline": [{**asdict(t), "median": t.median} for t in c.baseline],
                "baselineMedian": c.baseline_median,
                "ratio": c.ratio,
            }
            for c in results
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--nodes", type=int, default=2000, help="synthetic GPU nodes (default 2000)")
    parser.add_argument("--pods", type=int, default=20000, help="synthetic pods (default 20000)")
    sub = parser.add_subparsers(dest="mode", metavar="MODE")
    sub.add_parser("all", help="every benchmark (the default)")
    for bench in BENCHMARKS.values():
        sub.add_parser(bench.name, help=bench.help)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    chosen = list(BENCHMARKS.values()) if args.mode in (None, "all") else [BENCHMARKS[args.mode]]

    with tempfile.TemporaryDirectory(prefix="kserve-mn-bench-") as tmp:
        workdir = Path(tmp)
        env = {**os.environ, "HOME": str(workdir), "PYTHONPATH": str(REPO)}
        env.pop("KUBECONFIG", None)
        ctx = BenchContext(args.runs, workdir, args.nodes, args.pods, env, our_command())
        api = start_cluster(ctx) if any(b.needs_cluster for b in chosen) else None
        try:
            results = [comp for bench in chosen for comp in bench.func(ctx)]
        finally:
            if api is not None:
                api.stop()
    if args.json:
        print(json.dumps(as_json(results, ctx), indent=2))
    else:
        print(report(results, args.runs))
    failed = any(t.error for c in results for t in [c.ours, *c.baseline])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
