"""Flags shared by the sub-commands (kubectl's names and meanings), and the code that turns them
into the inputs of the core: a cluster connection or offline files, and the KServe era."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs.names import label_value_problem, qualified_name_problem
from kubectl_kserve_mn.kserve import eras

if TYPE_CHECKING:
    from kubectl_kserve_mn.cluster import Cluster

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class ConnectionOptions:
    """kubectl's global flags that choose the cluster and namespace."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    namespace: str | None = None
    request_timeout: str | None = None


def connection_options(func: F) -> F:
    """Add --kubeconfig, --context, --cluster, --user, -n/--namespace, --request-timeout."""

    @click.option(
        "--request-timeout", metavar="DURATION", help="Per-request timeout (e.g. 10s, 1m; 0 = none)."
    )
    @click.option(
        "-n",
        "--namespace",
        metavar="NS",
        help="Namespace (default: the context's namespace, else 'default').",
    )
    @click.option("--user", metavar="NAME", help="The kubeconfig user to use.")
    @click.option("--cluster", "cluster_name", metavar="NAME", help="The kubeconfig cluster to use.")
    @click.option("--context", metavar="NAME", help="The kubeconfig context to use.")
    @click.option(
        "--kubeconfig",
        metavar="PATH",
        help="Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config).",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        kubeconfig: str | None,
        context: str | None,
        cluster_name: str | None,
        user: str | None,
        namespace: str | None,
        request_timeout: str | None,
        **kwargs: Any,
    ) -> Any:
        conn = ConnectionOptions(kubeconfig, context, cluster_name, user, namespace, request_timeout)
        return func(*args, conn=conn, **kwargs)

    return wrapper  # type: ignore[return-value]


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
    """Open the cluster described by the kubeconfig flags (imports the kubernetes client)."""
    from kubectl_kserve_mn.cluster import Cluster

    return Cluster(
        kubeconfig=conn.kubeconfig,
        context=conn.context,
        cluster=conn.cluster,
        user=conn.user,
        namespace=conn.namespace,
        request_timeout=conn.request_timeout,
    )


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
    click.echo(f"warning: {message}", err=True)


def finish(code: int) -> NoReturn:
    """End a command with an exit code (0 ok, 1 problems found), the same under CliRunner and the binary."""
    raise click.exceptions.Exit(code)
