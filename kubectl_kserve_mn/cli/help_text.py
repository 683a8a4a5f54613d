"""The top-level help's words and flag table as plain data, without click.

Two readers: the click group (:mod:`.app`, :mod:`.flags`) builds its options and help from them, and
:mod:`.quick_help` renders the same help without importing click (start-up of the Krew binary, issue 12).
Only the standard library, imported lazily; nothing here may import click.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs a few ms that the quick help does not need
    from typing import Any

MAX_HELP_WIDTH = 100

HELP_OPTION_NAMES = ("-h", "--help")
VERSION_OPTION_NAMES = ("--version",)

GROUP_HELP = """Plan, check and fix KServe multi-node (Ray + vLLM) InferenceServices.

Reads GPU capacity from the current kube context, predicts what KServe's webhook and
controller will do with your pipeline/tensor parallel settings, and suggests or applies
settings that schedule."""
"""The group's help (click cleans it with ``inspect.cleandoc``: keep it unindented)."""

CONNECTION_HELP = (
    "Connection flags are kubectl's global flags, with kubectl's meaning; they may also come before the "
    "command (kubectl kserve-mn -n team-a check). Given in both places, the one after the command wins."
)

CONNECTION_FLAGS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (
        ("--kubeconfig",),
        {"metavar": "PATH", "help": "Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)."},
    ),
    (("--context",), {"metavar": "NAME", "help": "The kubeconfig context to use."}),
    (("--cluster", "cluster_name"), {"metavar": "NAME", "help": "The kubeconfig cluster to use."}),
    (("--user",), {"metavar": "NAME", "help": "The kubeconfig user to use."}),
    (
        ("-n", "--namespace"),
        {"metavar": "NS", "help": "Namespace (default: the context's namespace, else 'default')."},
    ),
    (
        ("--request-timeout",),
        {"metavar": "DURATION", "help": "Per-request timeout (e.g. 10s, 1m; 0 = none)."},
    ),
    (("-s", "--server"), {"metavar": "URL", "help": "The address and port of the Kubernetes API server."}),
    (("--token",), {"metavar": "TOKEN", "help": "Bearer token for authentication to the API server."}),
    (("--as", "impersonate"), {"metavar": "USER", "help": "Username to impersonate for the operation."}),
    (
        ("--as-group", "impersonate_groups"),
        {"metavar": "GROUP", "multiple": True, "help": "Group to impersonate (repeatable)."},
    ),
    (("--as-uid", "impersonate_uid"), {"metavar": "UID", "help": "UID to impersonate for the operation."}),
    (
        ("--certificate-authority",),
        {"metavar": "PATH", "help": "Path to a cert file for the certificate authority."},
    ),
    (("--client-certificate",), {"metavar": "PATH", "help": "Path to a client certificate file for TLS."}),
    (("--client-key",), {"metavar": "PATH", "help": "Path to a client key file for TLS."}),
    (
        ("--insecure-skip-tls-verify/--no-insecure-skip-tls-verify",),
        {"default": None, "help": "Do not check the server's certificate (insecure; said once on stderr)."},
    ),
    (
        ("--tls-server-name",),
        {
            "metavar": "NAME",
            "help": "Server name for the server certificate's validation (default: the server's host name).",
        },
    ),
)
"""kubectl's global connection flags as (click parameter declarations, click.option attributes), in the
order of the help. :func:`.flags.connection_params` makes click options of them."""


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


def group_epilog() -> str:
    """The group's epilog: the exit codes and where a command's flags are described."""
    return (
        exit_codes(
            "success",
            "the command worked and found problems (no feasible layout, error findings, a diff exists)",
        )
        + "\n\nUse 'kubectl kserve-mn help COMMAND' or 'kubectl kserve-mn COMMAND --help' for a command's flags."
    )


def help_width() -> int:
    """The help's width exactly as click computes it (COLUMNS, else the terminal, else 80; at most
    MAX_HELP_WIDTH), without click importing shutil (and with it bz2 and lzma) to ask."""
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else 0
    if width <= 0:
        try:
            width = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (OSError, ValueError, AttributeError):
            width = 0
    return max(min(width if width > 0 else 80, MAX_HELP_WIDTH) - 2, 50)
