#!/usr/bin/env python3
"""Mutation testing of the core with mutmut 3: run it per module (or on a sample) and print kill rates.

Not part of CI (a full run takes hours on two cores): docs/testing.md says how and when to run it, how
long it takes, and which surviving mutants are equivalent. Needs ``pip install 'mutmut>=3.8,<3.9'``
(it reaches into mutmut's generation step to sample before running, so the minor version is pinned).

    python scripts/mutation.py run planner placement      # every mutant of these modules
    python scripts/mutation.py run --fraction 0.2 --seed 1  # a 20 % sample of every module, reproducible
    python scripts/mutation.py run --rerun-survivors        # after adding tests: only the survivors again
    python scripts/mutation.py report                       # kill rate per module and overall
    python scripts/mutation.py report --survivors           # the surviving mutants with their diffs

Modules are paths under ``kubectl_kserve_mn/`` without ``.py``: ``planner``, ``kserve/admission``, or a
folder such as ``kserve/llmisvc`` or ``model``; no module means all of ``[tool.mutmut] only_mutate``.
Everything happens in ``mutants/`` (git-ignored); delete it after changing production code, since mutmut
only re-copies the files it mutates.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MUTANTS = REPO / "mutants"
PACKAGE = "kubectl_kserve_mn"
SAMPLE_FILE = MUTANTS / "sample.json"
"""The mutant names the last ``run --fraction`` chose: ``report`` counts only these, as that run did."""

# mutmut's exit codes per mutant (mutmut/stats.py status_by_exit_code, 3.8).
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, 24, -24, 152, 255}


@dataclass
class Tally:
    total: int = 0
    killed: int = 0
    survived: int = 0
    no_tests: int = 0
    timeout: int = 0
    other: int = 0
    unchecked: int = 0
    survivors: list[str] = field(default_factory=list)

    def add(self, name: str, code: int | None) -> None:
        self.total += 1
        if code is None:
            self.unchecked += 1
        elif code in KILLED:
            self.killed += 1
        elif code in SURVIVED:
            self.survived += 1
            self.survivors.append(name)
        elif code in NO_TESTS:
            self.no_tests += 1
            self.survivors.append(name)
        elif code in TIMEOUT:
            self.timeout += 1
        else:
            self.other += 1

    def merge(self, other: Tally) -> None:
        for name in ("total", "killed", "survived", "no_tests", "timeout", "other", "unchecked"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.survivors += other.survivors

    @property
    def checked(self) -> int:
        return self.total - self.unchecked

    @property
    def kill_rate(self) -> float | None:
        """Killed or timed out (a mutant that makes the tests hang is caught) over the checked mutants;
        "no tests" mutants count as survivors: no test exercises that code."""
        return (self.killed + self.timeout) / self.checked if self.checked else None


def _module_of(source: Path) -> str:
    """``kubectl_kserve_mn/kserve/admission.py`` -> ``kserve/admission``."""
    return source.relative_to(PACKAGE).with_suffix("").as_posix()


def _meta_files() -> list[Path]:
    return sorted((MUTANTS / PACKAGE).rglob("*.py.meta"))


def load_results() -> dict[str, dict[str, int | None]]:
    """Per module, mutant name -> mutmut's exit code (None: not run yet)."""
    results: dict[str, dict[str, int | None]] = {}
    for meta in _meta_files():
        source = meta.relative_to(MUTANTS).with_suffix("")  # drop .meta -> kubectl_kserve_mn/x.py
        data = json.loads(meta.read_text(encoding="utf-8"))
        codes = data.get("exit_code_by_key", {})
        if codes:
            results[_module_of(source)] = codes
    return results


def _selected(module: str, wanted: Sequence[str]) -> bool:
    return not wanted or any(module == w or module.startswith(w.rstrip("/") + "/") for w in wanted)


def _mutmut() -> str:
    exe = shutil.which("mutmut")
    if exe is None:
        sys.exit("error: mutmut is not installed: pip install 'mutmut>=3.8,<3.9'")
    return exe


def generate() -> None:
    """mutmut's generation step alone (copy the sources into mutants/, write every mutant), so that a
    sample can be drawn before anything runs. mutmut run repeats it cheaply (unchanged files are kept)."""
    code = (
        "import os\n"
        "import mutmut.__main__ as m\n"
        "from mutmut.mutation.trampoline import set_mutant_under_test\n"
        "set_mutant_under_test('mutant_generation')\n"
        "os.makedirs('mutants', exist_ok=True)\n"
        "m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths()\n"
        "m.store_lines_covered_by_tests()\n"
        "print(m.create_mutants(2))\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def _patterns(modules: Sequence[str]) -> list[str]:
    """mutmut name globs: ``kubectl_kserve_mn.kserve.admission.*`` (a folder: everything under it)."""
    return [f"{PACKAGE}.{m.strip('/').replace('/', '.')}.*" for m in modules] or [f"{PACKAGE}.*"]


def sample_names(
    results: dict[str, dict[str, int | None]], modules: Sequence[str], fraction: float, seed: int
) -> list[str]:
    """The same fraction of every selected module (at least one mutant each), reproducible by seed."""
    rng = random.Random(seed)
    chosen: list[str] = []
    for module in sorted(results):
        if not _selected(module, modules):
            continue
        names = sorted(results[module])
        count = max(1, round(len(names) * fraction))
        chosen += rng.sample(names, min(count, len(names)))
    return chosen


def run_mutmut(names_or_patterns: Sequence[str], max_children: int) -> float:
    """One ``mutmut run`` over explicit mutant names or globs; returns its wall time in seconds."""
    started = time.monotonic()
    # Explicit names make mutmut re-run them even when they have a result.
    cmd = [_mutmut(), "run", "--max-children", str(max_children), *names_or_patterns]
    completed = subprocess.run(cmd, cwd=REPO, check=False)
    if completed.returncode not in (0,):
        print(f"warning: mutmut exited {completed.returncode}", file=sys.stderr)
    return time.monotonic() - started


def _in_chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def command_run(args: argparse.Namespace) -> int:
    modules: list[str] = args.modules
    if args.rerun_survivors:
        results = load_results()
        restrict = _sample()
        names = [
            name
            for module, codes in sorted(results.items())
            if _selected(module, modules)
            for name, code in codes.items()
            if code in SURVIVED | NO_TESTS and (restrict is None or name in restrict)
        ]
        if not names:
            print("no survivors to re-run")
            return 0
        print(f"re-running {len(names)} surviving mutant(s)")
        elapsed = sum(run_mutmut(chunk, args.max_children) for chunk in _in_chunks(names, 2000))
    elif args.fraction < 1:
        if not _meta_files():
            generate()
        names = sample_names(load_results(), modules, args.fraction, args.seed)
        MUTANTS.mkdir(exist_ok=True)
        SAMPLE_FILE.write_text(
            json.dumps({"fraction": args.fraction, "seed": args.seed, "modules": modules, "names": names}),
            encoding="utf-8",
        )
        print(f"sample: {len(names)} mutant(s), {args.fraction:.0%} of each module, seed {args.seed}")
        elapsed = sum(run_mutmut(chunk, args.max_children) for chunk in _in_chunks(names, 2000))
    else:
        SAMPLE_FILE.unlink(missing_ok=True)
        elapsed = run_mutmut(_patterns(modules), args.max_children)
    print(f"\nwall time: {elapsed / 60:.1f} min")
    print_report(load_results(), modules, survivors=False)
    return 0


def _sample() -> set[str] | None:
    if not SAMPLE_FILE.exists():
        return None
    return set(json.loads(SAMPLE_FILE.read_text(encoding="utf-8"))["names"])


def _rate(tally: Tally) -> str:
    rate = tally.kill_rate
    return "-" if rate is None else f"{rate:6.1%}"


def print_report(
    results: dict[str, dict[str, int | None]],
    modules: Sequence[str],
    *,
    survivors: bool,
    everything: bool = False,
) -> Tally:
    restrict = None if everything else _sample()
    header = f"{'MODULE':28} {'MUTANTS':>8} {'CHECKED':>8} {'KILLED':>7} {'SURVIVED':>8} {'NO TESTS':>8} {'TIMEOUT':>7} {'KILL RATE':>9}"
    print(header)
    overall = Tally()
    groups: dict[str, Tally] = {}
    for module in sorted(results):
        if not _selected(module, modules):
            continue
        tally = Tally()
        for name, code in sorted(results[module].items()):
            if restrict is None or name in restrict:
                tally.add(name, code)
        if not tally.total:
            continue
        print(
            f"{module:28} {tally.total:8} {tally.checked:8} {tally.killed:7} {tally.survived:8} "
            f"{tally.no_tests:8} {tally.timeout:7} {_rate(tally):>9}"
        )
        group = module.rsplit("/", 1)[0] + "/" if "/" in module else None
        if group:
            groups.setdefault(group, Tally()).merge(tally)
        overall.merge(tally)
    for group, tally in sorted(groups.items()):
        print(
            f"{group + ' (all)':28} {tally.total:8} {tally.checked:8} {tally.killed:7} {tally.survived:8} "
            f"{tally.no_tests:8} {tally.timeout:7} {_rate(tally):>9}"
        )
    print(
        f"{'OVERALL':28} {overall.total:8} {overall.checked:8} {overall.killed:7} {overall.survived:8} "
        f"{overall.no_tests:8} {overall.timeout:7} {_rate(overall):>9}"
    )
    if restrict is not None:
        print(
            f"(a sample: {len(restrict)} mutants, see mutants/sample.json; `report --all` counts every result)"
        )
    if survivors:
        for name in overall.survivors:
            shown = subprocess.run(
                [_mutmut(), "show", name], cwd=REPO, capture_output=True, text=True, check=False
            )
            print("\n" + shown.stdout.strip())
    return overall


def command_report(args: argparse.Namespace) -> int:
    results = load_results()
    if not results:
        print("no results yet: run `python scripts/mutation.py run` first", file=sys.stderr)
        return 2
    overall = print_report(results, args.modules, survivors=args.survivors, everything=args.all)
    if args.names:
        print("\n".join(overall.survivors))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run mutmut over modules (all by default) and print the kill rates")
    run.add_argument("modules", nargs="*", help="e.g. planner kserve/admission model (default: all)")
    run.add_argument("--fraction", type=float, default=1.0, help="sample this fraction of each module")
    run.add_argument("--seed", type=int, default=0, help="the sample's random seed")
    run.add_argument("--rerun-survivors", action="store_true", help="re-run only surviving mutants")
    run.add_argument(
        "--max-children", type=int, default=1, help="parallel mutants (default 1: a shared machine)"
    )
    report = sub.add_parser("report", help="print kill rates from the last runs")
    report.add_argument("modules", nargs="*")
    report.add_argument("--survivors", action="store_true", help="show each surviving mutant's diff")
    report.add_argument("--names", action="store_true", help="list the surviving mutants' names")
    report.add_argument("--all", action="store_true", help="count every result, not only the last sample")
    args = parser.parse_args(argv)
    if args.command == "run" and not 0 < args.fraction <= 1:
        parser.error("--fraction must be in (0, 1]")
    return int(command_run(args) if args.command == "run" else command_report(args))


if __name__ == "__main__":
    sys.exit(main())
