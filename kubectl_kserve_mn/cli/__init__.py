"""The command-line shell: parses flags, calls the core, renders. No KServe logic lives here.

This module is the entry point and imports nothing heavy: ``version --client`` (:mod:`.about`) and the
top-level help (:mod:`.quick_help`) are answered here without click; everything else goes to the click group in :mod:`.app` (also reachable as
``kubectl_kserve_mn.cli.cli``), whose sub-commands are imported lazily, so ``--help`` imports click and
a few small modules of ours, never the cluster package or the kubernetes client. kubectl's global
connection flags are accepted before the command too (``kubectl kserve-mn -n team-a check``); given in
both places, the one after the command wins (:mod:`kubectl_kserve_mn.cli.options`).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs a few ms that version --client does not need
    from typing import Any

# name -> (module:function, one-line help). The help is repeated here so that listing the commands
# does not import them.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": (
        "kubectl_kserve_mn.cli.plan:plan",
        "Suggest the best PP x TP layout for the cluster's GPU nodes.",
    ),
    "check": (
        "kubectl_kserve_mn.cli.check:check",
        "Predict what KServe does with multi-node (LLM)InferenceServices.",
    ),
    "fix": ("kubectl_kserve_mn.cli.fix:fix", "Patch one (LLM)InferenceService to a working layout, safely."),
    "version": ("kubectl_kserve_mn.cli.version:version", "Print the plugin and KServe versions."),
    "completion": ("kubectl_kserve_mn.cli.completion:completion_command", "Print a shell completion script."),
    "__complete": ("kubectl_kserve_mn.cli.completion:complete_command", "(hidden) completion protocol"),
    "help": ("kubectl_kserve_mn.cli.app:help_command", "Help about any command."),
}

EXIT_INTERNAL = 4


def program_name(argv0: str | None = None) -> str:
    """``kubectl kserve-mn`` when kubectl runs us as a plugin (argv[0] is ``kubectl-kserve_mn``)."""
    base = os.path.basename(argv0 if argv0 is not None else sys.argv[0])
    if base.startswith("kubectl-"):
        return "kubectl " + base[len("kubectl-") :].replace("_", "-").removesuffix(".exe")
    if base in ("__main__.py", "-m", "-c"):
        return "python -m kubectl_kserve_mn"
    return "kubectl kserve-mn"


_APP_NAMES = ("cli", "help_command", "LazyGroup", "CONTEXT_SETTINGS", "EPILOG")


def __getattr__(name: str) -> Any:
    """The click objects live in :mod:`.app`, imported on first use (PEP 562)."""
    if name in _APP_NAMES:
        from kubectl_kserve_mn.cli import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _client_version(args: list[str]) -> str | None:
    """``version --client``: printed here, without click (start-up of the Krew binary, issue 12)."""
    if args not in (["version", "--client"], ["--client", "version"]) and args != [
        "version",
        "--client",
        "-o",
        "text",
    ]:
        return None
    from kubectl_kserve_mn.cli import about

    return about.client_text(about.plugin_info())


def _top_level_help(args: list[str]) -> str | None:
    """No command, ``-h``, ``--help``, ``help``: the group's help, without click when it is sure to print
    what click prints (:mod:`.quick_help`)."""
    if args not in ([], ["-h"], ["--help"], ["help"]):
        return None
    prog = program_name()
    # click's own shell completion, asked for through _<PROG>_COMPLETE, runs instead of any command
    if os.environ.get("_" + prog.replace("-", "_").replace(".", "_").upper() + "_COMPLETE"):
        return None
    from kubectl_kserve_mn.cli import quick_help
    from kubectl_kserve_mn.cli.help_text import help_width

    return quick_help.top_level_help(prog, help_width())


def _print_fast(text: str) -> int:
    """Print a fast path's text; the exit code. A reader that went away is not an error (exit 0, as in
    the click group); a full disk is the group's one line and exit 1."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # stdout points at /dev/null so that the interpreter's last flush has nowhere to fail
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as err:
        from kubectl_kserve_mn.cli.app import exit_for_output_error

        exit_for_output_error(err)
    return 0


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``kubectl-kserve_mn``)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if sys.stdout is not None:  # stdout closed (`>&-`): click's echo prints nothing, quietly
        text = _client_version(args) or _top_level_help(args)
        if text is not None:
            sys.exit(_print_fast(text))
    from kubectl_kserve_mn.cli.app import cli

    cli.main(args=args, prog_name=program_name())
