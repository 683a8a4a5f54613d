"""The top-level help without click (start-up of the Krew binary, issue 12).

``kubectl kserve-mn``, ``-h``, ``--help`` and ``help`` print the group's help. Importing click and
building the group costs more than the rest of the start-up, so :func:`top_level_help` renders the same
text from the same sources (:mod:`.help_text`, ``COMMANDS``) with the layout rules of click 8's
``HelpFormatter`` (pallets/click@8.5.1 src/click/formatting.py, core.py): a usage line wrapped after its
prefix, paragraphs re-wrapped at the help width with ``\\b`` blocks kept as written, two-column
definition lists whose first column is at most 30 wide. Whatever it is not sure to lay out exactly as
click would (a long program name, a word too long for its column, tabs, escape sequences, a new kind of
flag) makes it return None, and the caller lets click print the help. tests/test_quick_help.py compares
the two at every width.
"""

from __future__ import annotations

from kubectl_kserve_mn.cli.help_text import (
    CONNECTION_FLAGS,
    CONNECTION_HELP,
    GROUP_HELP,
    HELP_OPTION_NAMES,
    VERSION_OPTION_NAMES,
    group_epilog,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs a few ms that the quick help does not need
    from typing import Any

_INDENT = 2  # click's indent per level (sections, help text, epilog)
_COL_MAX = 30  # the widest first column of a definition list that stays on the row
_COL_SPACING = 2
_USAGE_ARGS = "[OPTIONS] [COMMAND] [ARGS]..."  # a group that runs without a command
# click's default help strings of --version and --help (click/decorators.py, untranslated)
_VERSION_HELP = "Show the version and exit."
_HELP_HELP = "Show this message and exit."
# click.option attributes whose help record is known here; any other makes the caller use click
_KNOWN_ATTRS = frozenset({"metavar", "help", "multiple"})


class _Unsure(Exception):
    """The text might differ from click's: let click print it."""


def wants_top_level_help(args: list[str]) -> bool:
    """The arguments that print the group's help and nothing else."""
    return args == [] or args in (["-h"], ["--help"], ["help"])


def top_level_help(prog: str, width: int) -> str | None:
    """The group's help as click prints it (no final newline), or None when unsure."""
    try:
        return _render(prog, width)
    except _Unsure:
        return None


def _render(prog: str, width: int) -> str:
    out = [_usage(prog, width)]
    out += ["\n", _text(_clean(GROUP_HELP), width, _INDENT), "\n"]
    out += ["\n", "Options:\n"]
    out += _dl(
        [(_join_opts(VERSION_OPTION_NAMES), _VERSION_HELP), (_join_opts(HELP_OPTION_NAMES), _HELP_HELP)],
        width,
        _INDENT,
    )
    from kubectl_kserve_mn.cli import COMMANDS

    commands = [(name, text) for name, (_, text) in COMMANDS.items() if not name.startswith("_")]
    out += ["\n", "Commands:\n"]
    out += _dl(commands, width, _INDENT)
    out += ["\n", "Connection options:\n", _text(CONNECTION_HELP, width, _INDENT), "\n", "\n"]
    out += _dl([_option_record(decls, attrs) for decls, attrs in CONNECTION_FLAGS], width, _INDENT)
    out += ["\n", _text(_clean(group_epilog()), width, _INDENT), "\n"]
    return "".join(out).rstrip("\n")


def _usage(prog: str, width: int) -> str:
    prefix = f"Usage: {prog} "
    if width < len(prefix) + 20:  # click puts the arguments on a line of their own: not done here
        raise _Unsure
    return _fill(_USAGE_ARGS, width, prefix, " " * len(prefix)) + "\n"


def _clean(text: str) -> str:
    """``inspect.cleandoc(text)`` cut at a form feed, as click cleans a help text; only when cleandoc
    would leave it as it is (checked, not done: inspect is slow to import)."""
    lines = text.split("\n")
    indented = [line for line in lines[1:] if line.strip() and line[0].isspace()]
    if (
        not lines[0].strip()
        or not lines[-1].strip()
        or lines[0] != lines[0].lstrip()
        or (indented and len(indented) == sum(1 for line in lines[1:] if line.strip()))
    ):
        raise _Unsure
    return text.partition("\f")[0]


def _check(text: str) -> None:
    if "\t" in text or "\x1b" in text or "\r" in text:
        raise _Unsure


def _fill(text: str, width: int, first: str, later: str) -> str:
    """One paragraph wrapped as click wraps it (its TextWrapper is textwrap's, counting visible width)."""
    import textwrap

    _check(text)
    room = width - max(len(first), len(later))
    if any(len(word) > room for word in text.split()):
        raise _Unsure  # click and textwrap break over-long words differently
    return textwrap.fill(text, width, initial_indent=first, subsequent_indent=later, replace_whitespace=False)


def _text(text: str, width: int, indent: int) -> str:
    """click's ``write_text``: paragraphs (split at empty lines) re-wrapped, ``\\b`` blocks as written,
    each indented by ``indent`` plus its first line's own indentation."""
    _check(text)
    paragraphs: list[tuple[int, bool, str]] = []
    lines: list[str] = []
    own = 0

    def flush() -> None:
        if lines:
            if lines[0].strip() == "\b":
                paragraphs.append((own, True, "\n".join(lines[1:])))
            else:
                paragraphs.append((own, False, " ".join(lines)))
            lines.clear()

    for line in text.splitlines():
        if not line:
            flush()
        else:
            if not lines:
                stripped = line.lstrip()
                own = len(line) - len(stripped)
                line = stripped
            lines.append(line)
    flush()
    out = []
    for extra, raw, body in paragraphs:
        margin = " " * (indent + extra)
        if raw:
            out.append("\n".join(margin + line for line in body.splitlines()))
        else:
            out.append(_fill(body, width, margin, margin))
    return "\n\n".join(out)


def _dl(rows: list[tuple[str, str]], width: int, indent: int) -> list[str]:
    """click's ``write_dl``: the terms in a column at most 30 wide, the texts wrapped beside them."""
    first_col = min(max(len(term) for term, _ in rows), _COL_MAX) + _COL_SPACING
    text_width = max(width - first_col - 2, 10)
    pad = " " * (first_col + indent)
    out = []
    for term, text in rows:
        _check(term)
        out.append(" " * indent + term)
        if not text:
            raise _Unsure  # not in this help
        if len(term) <= first_col - _COL_SPACING:
            out.append(" " * (first_col - len(term)))
        else:
            out.append("\n" + pad)
        lines = _text(text, text_width, 0).splitlines()
        if not lines:
            raise _Unsure
        out.append(lines[0] + "\n")
        out += [pad + line + "\n" for line in lines[1:]]
    return out


def _join_opts(opts: tuple[str, ...]) -> str:
    """click's ``join_options``: the spellings with the shortest prefix first, comma-separated."""
    if any(not opt.startswith("-") for opt in opts):
        raise _Unsure  # a "/" prefix or other: click words those differently
    return ", ".join(sorted(opts, key=lambda opt: 2 if opt.startswith("--") else 1))


def _option_record(decls: tuple[str, ...], attrs: dict[str, Any]) -> tuple[str, str]:
    """The (flags, help) row click shows for ``click.option(*decls, **attrs)``, for the kinds used here."""
    if set(attrs) - _KNOWN_ATTRS - {"default"} or attrs.get("default") is not None:
        raise _Unsure
    opts = [decl for decl in decls if decl.startswith("-") or "/" in decl]
    if len(opts) == 1 and "/" in opts[0]:  # --flag/--no-flag: a boolean flag without a metavar
        if "metavar" in attrs or attrs.get("multiple"):
            raise _Unsure
        primary, secondary = (part.strip() for part in opts[0].split("/", 1))
        spec = f"{_join_opts((primary,))} / {_join_opts((secondary,))}"
    elif "/" in "".join(opts) or "metavar" not in attrs:
        raise _Unsure
    else:
        spec = f"{_join_opts(tuple(opts))} {attrs['metavar']}"
    help_text = attrs.get("help")
    if not isinstance(help_text, str) or not help_text:
        raise _Unsure
    return spec, _clean(help_text)
