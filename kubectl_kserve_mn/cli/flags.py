"""kubectl's global connection flags as click options, and the help layout shared by every command.

Light on purpose: the group imports this for ``--help`` (click and the standard library only). The
flags given before the command are kept raw in click's shared ``ctx.meta``; :mod:`.options` merges
them with those given after the command (after wins) into a ``ConnectionOptions``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from kubectl_kserve_mn.cli.help_text import CONNECTION_FLAGS, CONNECTION_HELP, exit_codes

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "CONNECTION_HELP",
    "CONNECTION_META",
    "CONNECTION_PARAM_NAMES",
    "Command",
    "ConnectionOption",
    "connection_params",
    "exit_codes",
    "format_option_sections",
    "global_connection_options",
    "normalize_bool_flags",
]

CONNECTION_META = "kubectl_kserve_mn.connection"
"""Where the group keeps the connection flags given before the command (click's shared ctx.meta)."""


class ConnectionOption(click.Option):
    """Marks kubectl's global flags, shown in their own help section."""


CONNECTION_PARAM_NAMES = (
    "kubeconfig",
    "context",
    "cluster_name",
    "user",
    "namespace",
    "request_timeout",
    "server",
    "token",
    "impersonate",
    "impersonate_groups",
    "impersonate_uid",
    "certificate_authority",
    "client_certificate",
    "client_key",
    "insecure_skip_tls_verify",
    "tls_server_name",
)
"""The click parameter names of the connection flags, in the order of :func:`connection_params`."""


def connection_params() -> list[Callable[[F], F]]:
    """The connection flags, in the order of the help; new instances for each command."""

    return [click.option(*decls, cls=ConnectionOption, **attrs) for decls, attrs in CONNECTION_FLAGS]


def global_connection_options(func: F) -> F:
    """The connection flags on the group (before the command): kept raw in ``ctx.meta`` for the command."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        ctx.meta[CONNECTION_META] = {name: kwargs.pop(name) for name in CONNECTION_PARAM_NAMES}
        return func(*args, **kwargs)

    for decorate in reversed(connection_params()):
        wrapper = decorate(wrapper)
    return wrapper  # type: ignore[return-value]


_BOOL_FLAGS = ("--insecure-skip-tls-verify",)
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def normalize_bool_flags(args: list[str]) -> list[str]:
    """kubectl's ``--insecure-skip-tls-verify=true|false`` (Go's strconv.ParseBool values) as click flags."""
    out: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            out.extend(args[index:])
            break
        name, sep, value = arg.partition("=")
        if sep and name in _BOOL_FLAGS:
            if value in _TRUE:
                out.append(name)
                continue
            if value in _FALSE:
                out.append("--no-" + name[2:])
                continue
            raise click.UsageError(f'invalid argument "{value}" for "{name}" flag: expected true or false')
        out.append(arg)
    return out


class Command(click.Command):
    """A command whose help shows kubectl's global flags in their own section."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        format_option_sections(self, ctx, formatter)


def format_option_sections(
    command: click.Command,
    ctx: click.Context,
    formatter: click.HelpFormatter,
    between: Callable[[], None] | None = None,
) -> None:
    """Own options, then ``between()`` (the group's command list), then the connection flags."""
    own: list[tuple[str, str]] = []
    connection: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        (connection if isinstance(param, ConnectionOption) else own).append(record)
    if own:
        with formatter.section("Options"):
            formatter.write_dl(own)
    if between is not None:
        between()
    if connection:
        with formatter.section("Connection options"):
            formatter.write_text(CONNECTION_HELP)
            formatter.write_paragraph()
            formatter.write_dl(connection)
