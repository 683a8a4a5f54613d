"""How wide the tables and paragraphs of the text output may be.

- ``COLUMNS``, when set to a number (the shell's width, also a way to choose one in scripts and tests);
- else the width of standard output when it is a terminal;
- else (a pipe, a file, CI): :data:`DEFAULT_WIDTH` for paragraphs, and tables are not wrapped at all.

kubectl itself never wraps ``get`` tables, and wraps its help text only on a terminal (to 80, 100 or 120
columns: kubernetes/kubernetes@1b9584479159f86515fd1ecbe6a6b9528d9f8e64
staging/src/k8s.io/kubectl/pkg/util/term/term_writer.go ``NewResponsiveWriter``). Here, a terminal gets
its whole width, paragraphs written to a pipe keep the fixed width the output always had (so CI logs and
saved reports read the same everywhere), and a table row written to a pipe stays one line, so ``grep`` and
``awk`` see one object per line, as with kubectl.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

DEFAULT_WIDTH = 110
"""Paragraph width when the output is not a terminal and ``COLUMNS`` is not set."""
MIN_WIDTH = 40
"""Narrower terminals are treated as this wide (an indented paragraph needs room for words)."""


def terminal_width() -> int | None:
    """``COLUMNS``, else the width of stdout when it is a terminal, else None."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return max(int(text), MIN_WIDTH)
    stream = sys.stdout
    try:
        if stream.isatty():
            columns = os.get_terminal_size(stream.fileno()).columns
            return max(columns, MIN_WIDTH) if columns > 0 else None
    except (AttributeError, OSError, ValueError):  # no fileno (a test's buffer), a closed stream
        return None
    return None


def paragraph_width() -> int:
    """The width to wrap prose at: the terminal's, else :data:`DEFAULT_WIDTH`."""
    return terminal_width() or DEFAULT_WIDTH


@dataclass(frozen=True)
class TextStyle:
    """How a command's text output is laid out: ``-o wide``, ``--no-headers`` and the widths."""

    wide: bool = False
    headers: bool = True
    paragraph_width: int = DEFAULT_WIDTH
    table_width: int | None = None
    """None: table rows are never wrapped (stdout is not a terminal and ``COLUMNS`` is not set)."""

    @classmethod
    def for_output(cls, *, wide: bool = False, headers: bool = True) -> TextStyle:
        """The style for this process's stdout (``COLUMNS``, else the terminal's width)."""
        width = terminal_width()
        return cls(wide=wide, headers=headers, paragraph_width=width or DEFAULT_WIDTH, table_width=width)
