"""The commands' text tables (``tabulate``'s plain format) under a :class:`~.terminal.TextStyle`: without the
header row for ``--no-headers``, and with the free-text last column wrapped to the terminal's width."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from tabulate import tabulate

from kubectl_kserve_mn.cli.terminal import TextStyle

GAP = 2
"""Spaces between the columns of tabulate's plain format."""
MIN_LAST_COLUMN = 24
"""A last column narrower than this is not wrapped: the row is left to the terminal."""


def table(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str],
    style: TextStyle,
    *,
    indent: int = 0,
    wrap_last: bool = False,
    numparse: bool = True,
) -> str:
    """The table's text (without the indent). ``wrap_last``: the last column is prose (notes, reasons),
    wrapped so that each line fits ``style.table_width`` when the output is a terminal."""
    shown = [list(row) for row in rows]
    if wrap_last and style.table_width is not None and shown:
        _wrap_last_column(shown, headers if style.headers else (), style.table_width - indent)
    return tabulate(
        shown,
        headers=list(headers) if style.headers else (),
        tablefmt="plain",
        disable_numparse=not numparse,
    )


def _wrap_last_column(rows: list[list[Any]], headers: Sequence[str], width: int) -> None:
    columns = len(rows[0])
    if columns < 1:
        return
    # tabulate pads each header by two (its MIN_PADDING) when there is a header row
    widths = [len(str(headers[i])) + 2 if i < len(headers) else 0 for i in range(columns - 1)]
    for row in rows:
        for i in range(columns - 1):
            widths[i] = max(widths[i], max((len(line) for line in str(row[i]).splitlines()), default=0))
    room = width - sum(widths) - GAP * (columns - 1)
    if room < MIN_LAST_COLUMN:
        return
    for row in rows:
        text = str(row[-1])
        if len(text) > room:
            row[-1] = "\n".join(
                textwrap.wrap(text, width=room, break_on_hyphens=False, break_long_words=False)
            )


def indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def wrap(text: str, first: str, rest: str, style: TextStyle) -> str:
    """A paragraph at the style's width, without splitting hyphenated names."""
    return textwrap.fill(
        text,
        width=style.paragraph_width,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
    )
