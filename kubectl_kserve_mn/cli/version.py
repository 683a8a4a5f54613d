"""``kubectl kserve-mn version``: the plugin's version, the Python it was built with, and the KServe
version whose rules apply on the current cluster.

Like ``kubectl version``: the client part is always printed; the cluster is contacted only when a
kubeconfig (or in-cluster config) exists and ``--client`` is not given. This module must not import
the kubernetes client at import time: ``version --client`` has to start as fast as ``--help``.

Exit codes: 0 when the plugin version was printed and, if a cluster was configured, the cluster
answered (with its KServe version, or that KServe is not installed: a warning); 3 when the configured
cluster could not be asked (the plugin version is still printed first, as ``kubectl version`` prints
the client version before its connection error); 2 for a bad flag.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from kubectl_kserve_mn.cli import options
from kubectl_kserve_mn.cli.about import client_text, go_platform, plugin_info, plugin_version
from kubectl_kserve_mn.cli.options import ConnectionOptions
from kubectl_kserve_mn.errors import KserveMnError, NotFoundError
from kubectl_kserve_mn.kserve import eras

__all__ = ["go_platform", "kserve_info", "plugin_info", "plugin_version", "version"]


def kserve_info(kserve: eras.KServeVersion) -> dict[str, Any]:
    return {
        "version": kserve.version,
        "era": kserve.era.key,
        "source": kserve.source,
        "warning": kserve.warning,
    }


def _cluster_configured(conn: ConnectionOptions) -> bool:
    # The probe reads files and env only; it imports neither the transport nor the kubernetes client.
    if conn.server:
        return True
    from kubectl_kserve_mn import cluster

    return bool(cluster.kubeconfig_available(conn.kubeconfig))


def _render_text(plugin: dict[str, str], kserve: dict[str, Any] | None, kserve_note: str | None) -> str:
    lines = [client_text(plugin)]
    if kserve is not None:
        shown = kserve["version"] or "unknown"
        lines.append(f"KServe Version: {shown} ({kserve['era']} rules, from {kserve['source']})")
    elif kserve_note is not None:
        lines.append(f"KServe Version: unknown ({kserve_note})")
    return "\n".join(lines)


@click.command(
    "version",
    cls=options.Command,
    epilog=options.exit_codes(
        "printed (also when KServe is not installed: a warning)",
        None,
        "a cluster is configured but could not be asked (the plugin version is printed first)",
    ),
)
@click.option("--client", is_flag=True, help="Print the plugin version only; do not contact the cluster.")
@options.output_option(("text", "json", "yaml"), "text")
@options.kserve_version_option
@options.connection_options
def version(client: bool, output: str, kserve_version: str, conn: ConnectionOptions) -> None:
    """Print the plugin version, the Python it was built with, and the cluster's KServe version."""
    plugin = plugin_info()
    kserve: eras.KServeVersion | None = None
    note: str | None = None
    failure: KserveMnError | None = None
    not_found: str | None = None

    if kserve_version and kserve_version != "auto":
        kserve = options.resolve_kserve_version(kserve_version, None)  # offline; InputError if malformed
    elif not client:
        if not _cluster_configured(conn):
            note = "no kubeconfig or in-cluster config found"
        else:
            try:
                kserve = options.resolve_kserve_version("auto", options.connect(conn))
            except NotFoundError as err:
                # The cluster answered: KServe is not installed. Not an error of `version`.
                note = "not installed on the cluster"
                not_found = err.message
            except KserveMnError as err:
                failure = err
                note = "the cluster could not be asked, see the error below"

    kserve_data = kserve_info(kserve) if kserve is not None else None
    if output == "text":
        click.echo(_render_text(plugin, kserve_data, note))
    else:
        from kubectl_kserve_mn.cli import render

        render.emit({"plugin": plugin, "kserve": kserve_data}, output)
    sys.stdout.flush()

    if kserve is not None and kserve.warning:
        options.warn(kserve.warning)
    if not_found is not None:
        options.warn(not_found)
    if failure is not None:
        # main() prints it as one "error:" line and exits with its code (3 for cluster errors).
        raise failure
