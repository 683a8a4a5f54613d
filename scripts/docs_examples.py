#!/usr/bin/env python3
"""Keeps the documentation's offline examples true: every ``$ kubectl kserve-mn ...`` line in a
```` ```console ```` block of README.md and docs/*.md that reads no cluster (it has ``--nodes-file`` or
``-f``) is run from the repository root, and its output (stderr, then stdout) and exit code are compared
with what the block shows.

    python scripts/docs_examples.py            # check (tests/test_docs_examples.py runs this)
    python scripts/docs_examples.py --update   # rewrite the blocks with what the commands print now

In a block, a command's output is every line up to the next ``$ `` line; ``$ echo $?`` and the line after
it show the exit code. Lines that are only ``...`` mark output left out on purpose: such a command is run
(and must not fail) but its output is not compared.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PROMPT = "$ kubectl kserve-mn "


@dataclass
class Example:
    doc: Path
    start: int
    """Index of the command line in the doc's lines."""
    end: int
    """Index after the last output line (the next ``$`` line or the block's end)."""
    argv: list[str]
    shown: list[str]
    exit_line: int | None
    """Index of the line after ``$ echo $?``, when the block shows the exit code."""

    @property
    def offline(self) -> bool:
        return any(a in ("--nodes-file", "-f") or a.startswith("--nodes-file=") for a in self.argv)

    @property
    def elided(self) -> bool:
        return any(line.strip() == "..." for line in self.shown)


def examples(doc: Path) -> list[Example]:
    lines = doc.read_text().split("\n")
    found: list[Example] = []
    in_console = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_console = line.strip() == "```console" and not in_console
            i += 1
            continue
        if in_console and line.startswith(PROMPT):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("$ ") and not lines[j].startswith("```"):
                j += 1
            exit_line = j + 1 if j < len(lines) and lines[j] == "$ echo $?" else None
            argv = shlex.split(line[len(PROMPT) :])
            found.append(Example(doc, i, j, argv, lines[i + 1 : j], exit_line))
            i = j
            continue
        i += 1
    return found


def run(argv: list[str]) -> tuple[list[str], int]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for name in ("KUBECONFIG", "COLUMNS", "KSERVE_MN_DEBUG"):
        env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_kserve_mn", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    text = (proc.stderr + proc.stdout).rstrip("\n")
    return text.split("\n") if text else [], proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--update", action="store_true", help="rewrite the blocks with the real output")
    args = parser.parse_args(argv)
    problems: list[str] = []
    for doc in DOCS:
        lines = doc.read_text().split("\n")
        replacements: list[tuple[int, int, list[str], int | None, int]] = []
        for ex in examples(doc):
            if not ex.offline:
                continue
            output, code = run(ex.argv)
            where = f"{doc.relative_to(REPO)}:{ex.start + 1}: kubectl kserve-mn {shlex.join(ex.argv)}"
            if ex.elided:
                if code not in (0, 1):
                    problems.append(f"{where}: exit {code}: {output[-1:] or ''}")
                continue
            if output != ex.shown:
                problems.append(f"{where}: output differs")
            shown_code = (
                int(lines[ex.exit_line])
                if ex.exit_line is not None and re.fullmatch(r"\d+", lines[ex.exit_line])
                else None
            )
            if shown_code is not None and shown_code != code:
                problems.append(f"{where}: exit {code}, the doc says {shown_code}")
            replacements.append((ex.start + 1, ex.end, output, ex.exit_line, code))
        if args.update and replacements:
            for start, end, output, exit_line, code in reversed(replacements):
                if exit_line is not None:
                    lines[exit_line] = str(code)
                lines[start:end] = output
            doc.write_text("\n".join(lines))
    if args.update:
        return 0
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
