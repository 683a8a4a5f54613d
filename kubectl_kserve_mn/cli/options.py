"""Flags shared by the sub-commands (kubectl's names and meanings), and the code that turns them
into the inputs of the core: a cluster connection or offline files, and the KServe era."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from kubectl_kserve_mn.cli.flags import (
    CONNECTION_META,
    Command,
    ConnectionOption,
    connection_params,
    exit_codes,
    format_option_sections,
    global_connection_options,
    normalize_bool_flags,
)
from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs.names import label_value_problem, qualified_name_problem
from kubectl_kserve_mn.kserve import eras

__all__ = [
    "Command",
    "ConnectionOption",
    "ConnectionOptions",
    "connect",
    "connection_options",
    "exit_codes",
    "finish",
    "format_option_sections",
    "global_connection_options",
    "kserve_version_option",
    "no_headers_option",
    "normalize_bool_flags",
    "output_option",
    "parse_label_selector",
    "parse_node_selector",
    "resolve_kserve_version",
    "warn",
]

if TYPE_CHECKING:
    from kubectl_kserve_mn.cluster import Cluster
    from kubectl_kserve_mn.inputs.selector import Selector

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


def connection_options(func: F) -> F:
    """Add kubectl's global connection flags; the command gets them merged with those given before it
    as ``conn`` (:class:`ConnectionOptions`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        after = _take_connection_options(kwargs)
        ctx = click.get_current_context(silent=True)
        raw = ctx.meta.get(CONNECTION_META) if ctx is not None else None
        conn = after.over(_take_connection_options(dict(raw))) if isinstance(raw, dict) else after
        return func(*args, conn=conn, **kwargs)

    for decorate in reversed(connection_params()):
        wrapper = decorate(wrapper)
    return wrapper  # type: ignore[return-value]


def kserve_version_option(func: F) -> F:
    return click.option(
        "--kserve-version",
        default="auto",
        show_default=True,
        metavar="auto|vX.Y.Z",
        help="KServe whose rules apply. auto: read it from the cluster (offline: newest rules, with a warning).",
    )(func)


def output_option(choices: tuple[str, ...], default: str, help: str = "Output format.") -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option(
            "-o",
            "--output",
            type=click.Choice(choices),
            default=default,
            show_default=True,
            help=help,
        )(func)

    return decorate


def no_headers_option(func: F) -> F:
    return click.option(
        "--no-headers",
        is_flag=True,
        help="Table output: print no header rows (and no first 'KServe:' line), like kubectl.",
    )(func)


def parse_label_selector(text: str | None) -> Selector | None:
    """``-l/--selector``: kubectl's label selector syntax, checked before anything is read; None when not
    given or blank (kubectl ignores a blank one). A malformed one is refused in kubectl's words (cli-runtime
    builder.go ``visitByPaths``: ``the provided selector %q is not valid: <labels.Parse's error>``)."""
    if text is None or not text.strip():
        return None
    from kubectl_kserve_mn.inputs.selector import SelectorError, go_quote, parse

    try:
        return parse(text.strip())
    except SelectorError as err:
        message = f"the provided selector {go_quote(text.strip())} is not valid: {err}"
        error = InputError(message)
        error.message = message  # apimachinery's exact wording, its double spaces included (one line already)
        raise error from None


def parse_node_selector(values: tuple[str, ...]) -> dict[str, str]:
    selector: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, val = part.partition("=")
            key, val = key.strip(), val.strip()
            if not sep or not key:
                raise InputError(f"--node-selector {part!r}: expected key=value")
            problem = qualified_name_problem(key) or label_value_problem(val)
            if problem:
                raise InputError(f"--node-selector {part!r}: {problem}")
            selector[key] = val
    return selector


def check_gpu_resource(value: str | None) -> str | None:
    """``--gpu-resource``: a resource name the API server could hold (``nvidia.com/gpu``)."""
    if value is None:
        return None
    if not value.strip():
        raise InputError("--gpu-resource must not be empty")
    problem = qualified_name_problem(value)
    if problem:
        raise InputError(f"--gpu-resource {value!r} is not a resource name: {problem}")
    return value


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
