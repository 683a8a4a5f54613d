"""The click group: lazy sub-commands, kubectl's global flags, the help and the one-line error handling."""

from __future__ import annotations

import errno
import importlib
import os
import sys
from typing import Any, NoReturn

import click

from kubectl_kserve_mn import __version__
from kubectl_kserve_mn.cli import COMMANDS, EXIT_INTERNAL
from kubectl_kserve_mn.cli.flags import (
    Command,
    format_option_sections,
    global_connection_options,
    normalize_bool_flags,
)
from kubectl_kserve_mn.cli.help_text import (
    GROUP_HELP,
    HELP_OPTION_NAMES,
    MAX_HELP_WIDTH,
    VERSION_OPTION_NAMES,
    group_epilog,
    help_width,
)
from kubectl_kserve_mn.errors import EXIT_FINDINGS, EXIT_USAGE, KserveMnError


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`check -o json | head`): not an error. click would exit 1 for it, so
            # it is taken here; stdout points at /dev/null so the last flush has nowhere to fail.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None

    def main(  # type: ignore[override]
        self, args: list[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> None:
        """Run, and turn every outcome into one stderr line and an exit code (also under CliRunner)."""
        extra.pop("standalone_mode", None)
        try:
            if args is not None:
                args = normalize_bool_flags(list(args))
            code = super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
            sys.stdout.flush()  # a full disk shows here, not in an unreported flush at exit
        except KserveMnError as err:
            click.echo(f"error: {err.message}", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            # Usage errors: one line in kubectl's style instead of click's usage block.
            message = " ".join(err.format_message().split())
            click.echo(f"error: {message}", err=True)
            if isinstance(err, click.UsageError) and err.ctx is not None:
                click.echo(f"See '{err.ctx.command_path} --help'.", err=True)
            sys.exit(err.exit_code if err.exit_code else EXIT_USAGE)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            # `kubectl kserve-mn check -o json | head` is not an error for the user. Point stdout at
            # /dev/null so that the interpreter's last flush has nowhere to fail.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except OSError as err:
            exit_for_output_error(err)
        except Exception as err:  # the promise is "never a traceback"
            _internal_error(err)
        sys.exit(code if isinstance(code, int) else 0)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items() if not name.startswith("_")]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        format_option_sections(self, ctx, formatter, lambda: self.format_commands(ctx, formatter))


_OUTPUT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)
"""Errors writing the output that are the environment's, not a bug: exit 1 with one line."""


def exit_for_output_error(err: OSError) -> NoReturn:
    """The output could not be written (a full disk, a quota, an I/O error): the command did not deliver
    what it was asked for, which is not a bug of ours (exit 1 with one line); any other OSError is one."""
    if err.errno not in _OUTPUT_ERRNOS:
        _internal_error(err)
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    click.echo(f"error: cannot write the output: {err.strerror or err}", err=True)
    sys.exit(EXIT_FINDINGS)


def _internal_error(err: Exception) -> NoReturn:
    if os.environ.get("KSERVE_MN_DEBUG"):
        raise err
    detail = " ".join(str(err).split()) or type(err).__name__
    click.echo(
        f"error: internal error ({type(err).__name__}: {detail}); set KSERVE_MN_DEBUG=1 for a traceback",
        err=True,
    )
    sys.exit(EXIT_INTERNAL)


CONTEXT_SETTINGS: dict[str, Any] = {
    "help_option_names": list(HELP_OPTION_NAMES),
    "max_content_width": MAX_HELP_WIDTH,
}

EPILOG = group_epilog()


@click.group(
    cls=LazyGroup,
    context_settings={**CONTEXT_SETTINGS, "terminal_width": help_width()},
    help=GROUP_HELP,
    epilog=EPILOG,
    invoke_without_command=True,
)
@click.version_option(
    __version__, *VERSION_OPTION_NAMES, prog_name="kubectl-kserve_mn", message="%(prog)s %(version)s"
)
@global_connection_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    # The help is GROUP_HELP (help_text.py), which quick_help.py renders without click.
    if ctx.invoked_subcommand is None:
        # Like kubectl: no command prints the help, exit 0.
        click.echo(ctx.get_help())
        ctx.exit(0)


@click.command("help", cls=Command, context_settings=CONTEXT_SETTINGS)
@click.argument("command", required=False, metavar="[COMMAND]")
@click.pass_context
def help_command(ctx: click.Context, command: str | None) -> None:
    """Help about any command: the tool's help, or COMMAND's."""
    root = ctx.find_root()
    group = root.command
    assert isinstance(group, click.Group)
    if command is None:
        click.echo(group.get_help(root))
        return
    target = group.get_command(root, command)
    if target is None or command.startswith("_"):
        raise click.UsageError(f'unknown command "{command}": the commands are {", ".join(_public())}', ctx)
    with click.Context(target, info_name=command, parent=root) as sub:
        click.echo(target.get_help(sub))


def _public() -> list[str]:
    return [name for name in COMMANDS if not name.startswith("_")]
