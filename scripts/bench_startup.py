#!/usr/bin/env python3
"""Start-up time of the plugin next to ``kubectl version --client``, measured in one run.

    python scripts/bench_startup.py [--runs N] [--json] [--onedir PATH] [--onefile PATH] [--floor PATH]

Times ``--help`` and ``version --client`` of:
- the onedir binary (build/pyinstaller/onedir/dist/kubectl-kserve_mn/kubectl-kserve_mn), run directly
  and through a Krew-style symlink named kubectl-kserve_mn, and through ``kubectl kserve-mn``;
- the onefile binary (build/pyinstaller/onefile/dist/kubectl-kserve_mn), when it was built
  (``scripts/build.sh --mode both``);
- the console script installed next to this interpreter (``pip install``), and
  ``python -m kubectl_kserve_mn`` with this interpreter;
- ``--floor PATH``: any executable run without arguments, e.g. a PyInstaller one-folder build of an
  empty script (``echo pass > e.py && pyinstaller --onedir e.py``): the bootloader and interpreter
  start-up that no change to our code can remove.
Rounds are interleaved (every command once per round) so that drift on a busy machine hits all
commands alike; the figures are medians over the rounds and ratios to the kubectl median. The bar
(issue 12) is the Krew binary's ``--help`` and ``version --client`` within 1.5x of
``kubectl version --client``.

scripts/bench.py calls :func:`run`.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXE = ".exe" if os.name == "nt" else ""
DEFAULT_ONEDIR = (
    ROOT / "build" / "pyinstaller" / "onedir" / "dist" / "kubectl-kserve_mn" / f"kubectl-kserve_mn{EXE}"
)
DEFAULT_ONEFILE = ROOT / "build" / "pyinstaller" / "onefile" / "dist" / f"kubectl-kserve_mn{EXE}"
TARGET_RATIO = 1.5


def _time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-300:]}"
        )
    return elapsed


def _commands(
    onedir: Path | None, onefile: Path | None, link_dir: Path, floor: Path | None = None
) -> list[tuple[str, list[str], dict[str, str]]]:
    env = dict(os.environ)
    # No cluster is ever contacted: every plugin command here is --help or version --client.
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is not on PATH; it is the baseline")
    cmds: list[tuple[str, list[str], dict[str, str]]] = [
        ("kubectl version --client", [kubectl, "version", "--client"], env)
    ]
    if onedir is not None:
        cmds += [
            ("onedir --help", [str(onedir), "--help"], env),
            ("onedir version --client", [str(onedir), "version", "--client"], env),
        ]
        if os.name != "nt":  # Krew links bin into its bin dir (it copies on Windows)
            link = link_dir / "kubectl-kserve_mn"
            link.symlink_to(onedir)
            path_env = dict(env, PATH=f"{link_dir}{os.pathsep}{env.get('PATH', '')}")
            cmds += [
                ("onedir --help via Krew symlink", [str(link), "--help"], env),
                ("kubectl kserve-mn --help (onedir)", [kubectl, "kserve-mn", "--help"], path_env),
            ]
    if onefile is not None:
        cmds += [
            ("onefile --help", [str(onefile), "--help"], env),
            ("onefile version --client", [str(onefile), "version", "--client"], env),
        ]
    if floor is not None:
        cmds.append(("floor: " + floor.name, [str(floor)], env))
    script = Path(sys.executable).parent / f"kubectl-kserve_mn{EXE}"
    if script.is_file():
        cmds += [
            ("console script --help", [str(script), "--help"], env),
            ("console script version --client", [str(script), "version", "--client"], env),
        ]
    cmds += [
        ("python -m kubectl_kserve_mn --help", [sys.executable, "-m", "kubectl_kserve_mn", "--help"], env),
        (
            "python -m kubectl_kserve_mn version --client",
            [sys.executable, "-m", "kubectl_kserve_mn", "version", "--client"],
            env,
        ),
    ]
    return cmds


def run(
    runs: int, onedir: Path | None = None, onefile: Path | None = None, floor: Path | None = None
) -> dict[str, Any]:
    """Time every command ``runs`` times (after one warm-up each) and return medians and ratios.

    ``onedir``/``onefile`` default to scripts/build.sh's outputs; a binary that does not exist is left
    out (and listed under ``missing``).
    """
    if runs < 1:
        raise ValueError("runs must be at least 1")
    onedir = onedir or DEFAULT_ONEDIR
    onefile = onefile or DEFAULT_ONEFILE
    missing = [str(p) for p in (onedir, onefile) if not p.is_file()]
    with tempfile.TemporaryDirectory(prefix="kserve-mn-bench-") as tmp:
        cmds = _commands(
            onedir if onedir.is_file() else None,
            onefile if onefile.is_file() else None,
            Path(tmp),
            floor if floor is not None and floor.is_file() else None,
        )
        samples: dict[str, list[float]] = {name: [] for name, _, _ in cmds}
        for _name, argv, env in cmds:  # warm-up: page cache, onefile's first unpack
            _time_once(argv, env)
        for _ in range(runs):
            for name, argv, env in cmds:
                samples[name].append(_time_once(argv, env))
    baseline = statistics.median(samples["kubectl version --client"])
    results: list[dict[str, Any]] = [
        {
            "name": name,
            "argv": [Path(argv[0]).name, *argv[1:]],
            "median_s": round(statistics.median(times), 4),
            "min_s": round(min(times), 4),
            "max_s": round(max(times), 4),
            "ratio_to_kubectl": round(statistics.median(times) / baseline, 2),
        }
        for name, argv, _ in cmds
        for times in [samples[name]]
    ]
    by_name = {r["name"]: r for r in results}
    target = by_name.get("onedir --help via Krew symlink") or by_name.get("onedir --help")
    version = by_name.get("onedir version --client")
    return {
        "runs": runs,
        "baseline": "kubectl version --client",
        "baseline_median_s": round(baseline, 4),
        "target_ratio": TARGET_RATIO,
        "installed_help_ratio": target["ratio_to_kubectl"] if target else None,
        "installed_help_within_target": (target["ratio_to_kubectl"] <= TARGET_RATIO) if target else None,
        "installed_version_ratio": version["ratio_to_kubectl"] if version else None,
        "installed_version_within_target": (version["ratio_to_kubectl"] <= TARGET_RATIO) if version else None,
        "results": results,
        "missing": missing,
    }


def format_table(report: dict[str, Any]) -> str:
    width = max(len(r["name"]) for r in report["results"])
    lines = [f"{'command':<{width}}  median ms  min ms  x kubectl", "-" * (width + 31)]
    for r in report["results"]:
        lines.append(
            f"{r['name']:<{width}}  {r['median_s'] * 1000:9.0f}  {r['min_s'] * 1000:6.0f}  {r['ratio_to_kubectl']:9.2f}"
        )
    lines.append(
        f"({report['runs']} interleaved runs; bar: the onedir binary's --help and version --client "
        f"within {report['target_ratio']}x)"
    )
    for path in report["missing"]:
        lines.append(f"not built, left out: {path}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Start-up time of kubectl-kserve_mn vs kubectl version --client."
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--onedir", type=Path, help=f"onedir executable (default {DEFAULT_ONEDIR.relative_to(ROOT)})"
    )
    parser.add_argument(
        "--onefile", type=Path, help=f"onefile executable (default {DEFAULT_ONEFILE.relative_to(ROOT)})"
    )
    parser.add_argument(
        "--floor", type=Path, help="an executable run without arguments: the start-up floor to compare with"
    )
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    args = parser.parse_args(argv)
    try:
        report = run(args.runs, args.onedir, args.onefile, args.floor)
    except (RuntimeError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
