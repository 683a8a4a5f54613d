#!/usr/bin/env python3
"""Benchmarks of ``kubectl-kserve_mn`` against kubectl on a synthetic cluster.

    python scripts/bench.py [--runs N] [--json] [--quick] [all|help|plan|check|files|quickstart|startup ...]

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
    max_rss: list[int] = field(default_factory=list)
    """Peak resident set size of each timed run, bytes (from wait4's rusage)."""
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs and self.error is None else None

    @property
    def median_rss(self) -> int | None:
        return int(statistics.median(self.max_rss)) if self.max_rss and self.error is None else None


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
    isvcs: int = 1000
    api: Any = None
    profile_dir: Path | None = None
    """When set, plan and check also run once under cProfile; the profiles are written here."""


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


# A child's peak RSS (ru_maxrss) includes what it inherited at fork: a child of this process, which holds
# the fake API server's objects, would report hundreds of MB before it even execs. So a small launcher
# forks the command and reports the command's own wall time and peak RSS.
_LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{time.perf_counter() - start} {usage.ru_maxrss * 1024}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def time_command(label: str, argv: list[str], ctx: BenchContext, *, ok_codes: Sequence[int] = (0,)) -> Timing:
    """Wall time and peak RSS of ``argv`` (stdout to a file, as a user's pipe would drain it)."""
    timing = Timing(label, argv)
    measured = ctx.workdir / "measured"
    for attempt in range(ctx.runs + 1):  # the first run warms up and is not counted
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            code = subprocess.call(
                [sys.executable, "-S", "-c", _LAUNCHER, str(measured), *argv],
                stdout=out,
                stderr=err,
                env=ctx.env,
                cwd=ctx.workdir,
            )
            if code not in ok_codes:
                err.seek(0)
                lines = err.read().decode(errors="replace").strip().splitlines() or ["(no stderr)"]
                timing.error = f"exit {code}: {lines[-1][:200]}"
                return timing
        elapsed, rss = measured.read_text().split()
        if attempt:
            timing.runs.append(float(elapsed))
            timing.max_rss.append(int(rss))
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
    ours.note = _json_read_note(ours, kc)
    profile_command("plan", ["plan", "--gpus", "16", "--kubeconfig", kc], ctx)
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


def profile_command(name: str, args: list[str], ctx: BenchContext, *, top: int = 15) -> None:
    """One untimed run of our CLI under cProfile (``--profile DIR``): DIR/NAME.prof for snakeviz or
    pstats, and the functions with the most time of their own on stderr. The profiled run is slower
    than the timed ones (cProfile's overhead); read it for where the time goes, not for how much."""
    if ctx.profile_dir is None:
        return
    import pstats

    out = ctx.profile_dir / f"{name}.prof"
    # the Python that runs the timed command (a console script's venv), so --ours profiles that code
    python = Path(ctx.ours[0]).with_name("python")
    if len(ctx.ours) > 1 or not python.is_file():
        python = Path(sys.executable)
    argv = [str(python), "-m", "cProfile", "-o", str(out), "-m", "kubectl_kserve_mn", *args]
    subprocess.call(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ctx.env, cwd=ctx.workdir)
    if not out.is_file():
        print(f"profile {name}: no profile written", file=sys.stderr)
        return
    print(f"\n[profile {name}] {out} (top {top} by own time)", file=sys.stderr)
    pstats.Stats(str(out), stream=sys.stderr).sort_stats("tottime").print_stats(top)


def _json_read_note(ours: Timing, kubeconfig: str) -> str:
    """Peak RSS against the JSON plan reads (the node list and the GPU pod list, every page), the bar
    being at most 2x."""
    from kubectl_kserve_mn.cluster import Cluster

    cluster = Cluster(kubeconfig=kubeconfig, request_timeout="5m")
    read = sum(len(page) for pages in (cluster.node_pages(), cluster.gpu_pod_pages()) for page in pages)
    rss = ours.median_rss
    ratio = f"{rss / read:.2f}x" if rss else "-"
    return f"JSON read {read / 1e6:.0f} MB (uncompressed); peak RSS / JSON read = {ratio}"


@benchmark(
    "check",
    "check -A (multi-node InferenceServices) vs kubectl get inferenceservices -A + nodes + pods -A (-o json)",
    needs_cluster=True,
)
def bench_check(ctx: BenchContext) -> list[Comparison]:
    assert ctx.kubeconfig is not None
    kc = str(ctx.kubeconfig)
    # check exits 1 when it finds errors (the synthetic Pending workers are); still a completed run.
    ours = time_command(
        "kubectl-kserve_mn check -A -o json",
        [*ctx.ours, "check", "-A", "-o", "json", "--kubeconfig", kc],
        ctx,
        ok_codes=(0, 1),
    )
    profile_command("check", ["check", "-A", "-o", "json", "--kubeconfig", kc], ctx)
    cache = ["--cache-dir", str(ctx.workdir / "kubectl-cache")]
    base = [
        time_command(
            f"kubectl get {what} -o json",
            [KUBECTL, "--kubeconfig", kc, *cache, "get", *what.split(), "-o", "json"],
            ctx,
        )
        for what in ("inferenceservices -A", "nodes", "pods -A")
    ]
    return [Comparison("check", ours, base)]


@benchmark("files", "plan --nodes-file of 5,000 nodes (YAML, JSON) vs a bare YAML load of the same file")
def bench_files(ctx: BenchContext) -> list[Comparison]:
    """Issue 9's bar: reading a big `kubectl get nodes -o yaml` within 2x of a bare libyaml load."""
    count = 5000 if ctx.nodes >= 2000 else ctx.nodes
    synthetic = synthetic_cluster.generate(nodes=count, pods=0)
    doc = {"apiVersion": "v1", "kind": "List", "items": synthetic.nodes, "metadata": {"resourceVersion": ""}}
    import yaml

    yaml_path, json_path = ctx.workdir / "nodes.yaml", ctx.workdir / "nodes.json"
    yaml_path.write_text(yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper)))
    json_path.write_text(json.dumps(doc, indent=4))
    bare = time_command(
        f"bare yaml.CSafeLoader load ({yaml_path.stat().st_size / 1e6:.0f} MB)",
        [sys.executable, "-c", f"import yaml; yaml.load(open({str(yaml_path)!r}), Loader=yaml.CSafeLoader)"],
        ctx,
    )
    plan = [*ctx.ours, "plan", "--gpus", "16", "--kserve-version", "v0.16.0", "-o", "json", "--nodes-file"]
    ours_yaml = time_command(f"plan --nodes-file ({count} nodes, YAML)", [*plan, str(yaml_path)], ctx)
    ours_json = time_command(
        f"plan --nodes-file ({count} nodes, JSON, {json_path.stat().st_size / 1e6:.0f} MB)",
        [*plan, str(json_path)],
        ctx,
    )
    return [Comparison("files-yaml", ours_yaml, [bare]), Comparison("files-json", ours_json, [bare])]


@benchmark(
    "quickstart",
    "the README's quick start (plan on examples/cluster-2x8-h100.yaml) vs kubectl version --client",
)
def bench_quickstart(ctx: BenchContext) -> list[Comparison]:
    ours = time_command(
        "plan --nodes-file examples/cluster-2x8-h100.yaml --gpus 16",
        [
            *ctx.ours,
            "plan",
            "--nodes-file",
            str(REPO / "examples" / "cluster-2x8-h100.yaml"),
            "--gpus",
            "16",
            "--kserve-version",
            "v0.15.1",
        ],
        ctx,
    )
    base = time_command("kubectl version --client", [KUBECTL, "version", "--client"], ctx)
    return [Comparison("quickstart", ours, [base])]


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
    api.load_kserve_crds("master")
    synthetic = synthetic_cluster.generate(nodes=ctx.nodes, pods=ctx.pods, isvcs=ctx.isvcs)
    api.add_all(synthetic.objects())
    ctx.kubeconfig = api.write_kubeconfig(ctx.workdir / "kubeconfig")
    ctx.api = api
    print(
        f"fake API server {api.url}: {ctx.nodes} nodes, {ctx.pods} pods, {ctx.isvcs} InferenceServices "
        f"(ready in {time.perf_counter() - started:.1f}s)",
        file=sys.stderr,
        flush=True,
    )
    return api


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def fmt_mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.0f} MB"


def report(results: list[Comparison], runs: int) -> str:
    lines = [f"medians of {runs} runs (after 1 warm-up)"]
    for comp in results:
        lines.append(f"\n[{comp.name}]")
        for timing in [comp.ours, *comp.baseline]:
            value = (
                timing.error
                if timing.error
                else f"{fmt(timing.median):>9}  peak RSS {fmt_mb(timing.median_rss)}"
            )
            lines.append(f"  {timing.label:<60} {value}")
            if timing.note:
                lines.append(f"    {timing.note}")
        if len(comp.baseline) > 1:
            lines.append(f"  {'baseline total':<60} {fmt(comp.baseline_median):>9}")
        ratio = comp.ratio
        lines.append(f"  {'ratio ours / baseline':<60} {'-' if ratio is None else f'{ratio:.2f}x':>9}")
    return "\n".join(lines)


def as_json(results: list[Comparison], ctx: BenchContext) -> dict[str, Any]:
    return {
        "runs": ctx.runs,
        "nodes": ctx.nodes,
        "pods": ctx.pods,
        "benchmarks": [
            {
                "name": c.name,
                "ours": {**asdict(c.ours), "median": c.ours.median, "medianMaxRss": c.ours.median_rss},
                "baseline": [
                    {**asdict(t), "median": t.median, "medianMaxRss": t.median_rss} for t in c.baseline
                ],
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
    parser.add_argument(
        "--isvcs", type=int, default=1000, help="synthetic multi-node InferenceServices (default 1000)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small cluster (40 nodes, 400 pods, 10 InferenceServices) and 1 run: proves the benchmark works (CI)",
    )
    parser.add_argument(
        "modes",
        nargs="*",
        metavar="MODE",
        # Checked below, not with choices=: Python 3.11's argparse refuses an empty nargs="*" list
        # against choices (bpo-27227), which broke a bare `bench.py --quick` in CI.
        help="benchmarks to run (default: all): "
        + "; ".join(f"{b.name}: {b.help}" for b in BENCHMARKS.values()),
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="also run plan and check once under cProfile, writing DIR/plan.prof and DIR/check.prof",
    )
    parser.add_argument(
        "--ours",
        metavar="PATH",
        type=Path,
        help="time this kubectl-kserve_mn instead of this checkout's (e.g. an earlier release installed "
        "in another venv, to compare before and after)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.nodes, args.pods, args.isvcs = 1, 40, 400, 10
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    modes = args.modes or ["all"]
    unknown = [m for m in modes if m != "all" and m not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r} (choose from all, {', '.join(BENCHMARKS)})")
    chosen = list(BENCHMARKS.values()) if "all" in modes else [BENCHMARKS[m] for m in dict.fromkeys(modes)]

    with tempfile.TemporaryDirectory(prefix="kserve-mn-bench-") as tmp:
        workdir = Path(tmp)
        env = {**os.environ, "HOME": str(workdir)}
        if args.ours is None:  # this checkout's code, even when `python -m` is the command
            env["PYTHONPATH"] = str(REPO)
        env.pop("KUBECONFIG", None)
        # An installed package has its bytecode compiled (pip does it at install time); with
        # PYTHONDONTWRITEBYTECODE set, every run would compile our modules from source again, and the
        # benchmark would time the compiler (about 0.2 s per run) instead of the tool.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        ours = [str(args.ours)] if args.ours is not None else our_command()
        ctx = BenchContext(args.runs, workdir, args.nodes, args.pods, env, ours, isvcs=args.isvcs)
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            ctx.profile_dir = args.profile.resolve()
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
