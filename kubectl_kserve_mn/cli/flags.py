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

F = TypeVar("F", bound=Callable[..., Any])

CONNECTION_META = "kubectl_kserve_mn.connection"
"""Where the group keeps the connection flags given before the command (click's shared ctx.meta)."""

CONNECTION_HELP = (
    "Connection flags are kubectl's global flags, with kubectl's meaning; they may also come before the "
    "command (kubectl kserve-mn -n team-a check). Given in both places, the one after the command wins."
)


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

    def option(*decls: str, **attrs: Any) -> Callable[[F], F]:
        return click.option(*decls, cls=ConnectionOption, **attrs)

    return [
        option(
            "--kubeconfig",
            metavar="PATH",
            help="Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config).",
        ),
        option("--context", metavar="NAME", help="The kubeconfig context to use."),
        option("--cluster", "cluster_name", metavar="NAME", help="The kubeconfig cluster to use."),
        option("--user", metavar="NAME", help="The kubeconfig user to use."),
        option(
            "-n",
            "--namespace",
            metavar="NS",
            help="Namespace (default: the context's namespace, else 'default').",
        ),
        option("--request-timeout", metavar="DURATION", help="Per-request timeout (e.g. 10s, 1m; 0 = none)."),
        option("-s", "--server", metavar="URL", help="The address and port of the Kubernetes API server."),
        option("--token", metavar="TOKEN", help="Bearer token for authentication to the API server."),
        option("--as", "impersonate", metavar="USER", help="Username to impersonate for the operation."),
        option(
            "--as-group",
            "impersonate_groups",
            metavar="GROUP",
            multiple=True,
            help="Group to impersonate (repeatable).",
        ),
        option("--as-uid", "impersonate_uid", metavar="UID", help="UID to impersonate for the operation."),
        option(
            "--certificate-authority",
            metavar="PATH",
            help="Path to a cert file for the certificate authority.",
        ),
        option("--client-certificate", metavar="PATH", help="Path to a client certificate file for TLS."),
        option("--client-key", metavar="PATH", help="Path to a client key file for TLS."),
        option(
            "--insecure-skip-tls-verify/--no-insecure-skip-tls-verify",
            default=None,
            help="Do not check the server's certificate (insecure; said once on stderr).",
        ),
        option(
            "--tls-server-name",
            metavar="NAME",
            help="Server name for the server certificate's validation (default: the server's host name).",
        ),
    ]


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


def exit_codes(ok: str, problems: str | None = None, cluster: str | None = None) -> str:
    """The same "Exit codes" block for every command's help (the README's table)."""
    import textwrap

    rows = [
        ("0", ok),
        ("1", problems or "(not used)"),
        ("2", "usage or input error: a bad flag, an unreadable or malformed file or kubeconfig"),
        ("3", cluster or "cluster or API error: unreachable, TLS, 401, 403, not found, conflict"),
        ("4", "internal error (a bug: please report it; KSERVE_MN_DEBUG=1 prints the traceback)"),
    ]
    lines = ["\b", "Exit codes:"]
    for code, text in rows:
        wrapped = textwrap.wrap(text, width=86) or [""]
        lines.append(f"  {code}  {wrapped[0]}")
        lines.extend(f"     {more}" for more in wrapped[1:])
    return "\n".join(lines)


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
