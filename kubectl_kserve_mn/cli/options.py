"""Flags shared by the sub-commands (kubectl's names and meanings), and the code that turns them
into the inputs of the core: a cluster connection or offline files, and the KServe era."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.kserve import eras

if TYPE_CHECKING:
    from kubectl_kserve_mn.cluster import Cluster

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class ConnectionOptions:
    """kubectl's global flags that choose the cluster, the namespace and the identity."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    namespace: str | None = None
    request_timeout: str | None = None
    server: str | None = None
    token: str | None = None
    impersonate: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_uid: str | None = None
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool | None = None
    tls_server_name: str | None = None

    def over(self, before: ConnectionOptions) -> ConnectionOptions:
        """These flags (given after the command) over ``before`` (given before it): after wins."""
        merged = {}
        for item in fields(self):
            value = getattr(self, item.name)
            unset = value is None or value == ()
            merged[item.name] = getattr(before, item.name) if unset else value
        return ConnectionOptions(**merged)


_CONNECTION_META = "kubectl_kserve_mn.connection"
"""Where the group keeps the connection flags given before the command (click's shared ctx.meta)."""

CONNECTION_HELP = (
    "Connection flags are kubectl's global flags, with kubectl's meaning; they may also come before the "
    "command (kubectl kserve-mn -n team-a check). Given in both places, the one after the command wins."
)


class ConnectionOption(click.Option):
    """Marks kubectl's global flags, shown in their own help section."""


def _connection_params() -> list[Callable[[F], F]]:
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


def _take_connection_options(kwargs: dict[str, Any]) -> ConnectionOptions:
    return ConnectionOptions(
        kubeconfig=kwargs.pop("kubeconfig"),
        context=kwargs.pop("context"),
        cluster=kwargs.pop("cluster_name"),
        user=kwargs.pop("user"),
        namespace=kwargs.pop("namespace"),
        request_timeout=kwargs.pop("request_timeout"),
        server=kwargs.pop("server"),
        token=kwargs.pop("token"),
        impersonate=kwargs.pop("impersonate"),
        impersonate_groups=tuple(kwargs.pop("impersonate_groups") or ()),
        impersonate_uid=kwargs.pop("impersonate_uid"),
        certificate_authority=kwargs.pop("certificate_authority"),
        client_certificate=kwargs.pop("client_certificate"),
        client_key=kwargs.pop("client_key"),
        insecure_skip_tls_verify=kwargs.pop("insecure_skip_tls_verify"),
        tls_server_name=kwargs.pop("tls_server_name"),
    )


def global_connection_options(func: F) -> F:
    """The connection flags on the group (before the command): kept for the command to merge."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        ctx.meta[_CONNECTION_META] = _take_connection_options(kwargs)
        return func(*args, **kwargs)

    for decorate in reversed(_connection_params()):
        wrapper = decorate(wrapper)
    return wrapper  # type: ignore[return-value]


def connection_options(func: F) -> F:
    """Add kubectl's global connection flags; the command gets them merged with those given before it
    as ``conn`` (:class:`ConnectionOptions`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        after = _take_connection_options(kwargs)
        ctx = click.get_current_context(silent=True)
        before = ctx.meta.get(_CONNECTION_META) if ctx is not None else None
        conn = after.over(before) if isinstance(before, ConnectionOptions) else after
        return func(*args, conn=conn, **kwargs)

    for decorate in reversed(_connection_params()):
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


def kserve_version_option(func: F) -> F:
    return click.option(
        "--kserve-version",
        default="auto",
        show_default=True,
        metavar="auto|vX.Y.Z",
        help="KServe whose rules apply. auto: read it from the cluster (offline: newest rules, with a warning).",
    )(func)


def output_option(choices: tuple[str, ...], default: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option(
            "-o",
            "--output",
            type=click.Choice(choices),
            default=default,
            show_default=True,
            help="Output format.",
        )(func)

    return decorate


def parse_node_selector(values: tuple[str, ...]) -> dict[str, str]:
    selector: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, val = part.partition("=")
            if not sep or not key:
                raise InputError(f"--node-selector {part!r}: expected key=value")
            selector[key.strip()] = val.strip()
    return selector


def connect(conn: ConnectionOptions) -> Cluster:
    """Open the cluster the connection flags describe (no request is sent yet).

    Says once on stderr when TLS verification is off, and attaches the progress line on terminals."""
    from kubectl_kserve_mn.cluster import Cluster, NoConfigurationError

    ctx = click.get_current_context(silent=True)
    try:
        cluster = Cluster(
            kubeconfig=conn.kubeconfig,
            context=conn.context,
            cluster=conn.cluster,
            user=conn.user,
            namespace=conn.namespace,
            request_timeout=conn.request_timeout,
            server=conn.server,
            token=conn.token,
            impersonate=conn.impersonate,
            impersonate_groups=conn.impersonate_groups,
            impersonate_uid=conn.impersonate_uid,
            certificate_authority=conn.certificate_authority,
            client_certificate=conn.client_certificate,
            client_key=conn.client_key,
            insecure_skip_tls_verify=bool(conn.insecure_skip_tls_verify),
            tls_server_name=conn.tls_server_name,
        )
    except NoConfigurationError as err:
        offline = ctx is not None and any(p.name == "nodes_file" for p in ctx.command.params)
        if offline:
            raise NoConfigurationError(f"{err.message}; or use --nodes-file for offline input") from None
        raise
    if cluster.insecure:
        said: set[str] = ctx.meta.setdefault(_INSECURE_META, set()) if ctx is not None else set()
        if cluster.host not in said:
            said.add(cluster.host)
            warn(
                f"the server's certificate is not checked (--insecure-skip-tls-verify): the connection to "
                f"{cluster.host} is insecure"
            )
    if ctx is not None:
        from kubectl_kserve_mn.cli import progress

        line = progress.for_terminal(machine_output=ctx.params.get("output") in ("json", "yaml"))
        if line is not None:
            cluster.progress = line
            ctx.call_on_close(line.close)
    return cluster


_INSECURE_META = "kubectl_kserve_mn.insecure-said"


def resolve_kserve_version(flag: str, cluster: Cluster | None) -> eras.KServeVersion:
    """--kserve-version: an explicit version, else detection on the cluster, else the newest rules."""
    if flag and flag != "auto":
        try:
            return eras.from_flag(flag)
        except ValueError as err:
            raise InputError(f"--kserve-version: {err}") from err
    if cluster is None:
        return eras.newest_fallback("offline input and no --kserve-version")
    return cluster.detect_kserve_version()


def warn(message: str) -> None:
    from kubectl_kserve_mn.cli import progress

    progress.clear_line()
    click.echo(f"warning: {message}", err=True)


def finish(code: int) -> NoReturn:
    """End a command with an exit code (0 ok, 1 problems found), the same under CliRunner and the binary."""
    raise click.exceptions.Exit(code)
