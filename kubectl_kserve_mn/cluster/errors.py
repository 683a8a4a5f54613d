"""API answers that are not 2xx, as one-line errors naming what was asked (exit 3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.errors import ClusterError, ConflictError, NotFoundError


@dataclass(frozen=True)
class Target:
    """What a request is about, for error messages (and the progress line)."""

    verb: str
    """Kubernetes verb: list, get, patch."""
    resource: str
    """Plural resource name, e.g. ``pods``."""
    group: str = ""
    kind: str = ""
    namespace: str | None = None
    name: str | None = None
    crd: str | None = None
    """The CRD that serves this resource (None for built-in resources)."""

    @property
    def scope(self) -> str:
        return f'in the namespace "{self.namespace}"' if self.namespace else "at the cluster scope"

    @property
    def label(self) -> str:
        """``pods`` or ``inferenceservices in team-a``."""
        return f"{self.resource} in {self.namespace}" if self.namespace else self.resource


class ForbiddenError(ClusterError):
    """HTTP 403: the user may not perform this verb on this resource (exit 3)."""


def status_of(body: bytes) -> tuple[str, dict[str, Any]]:
    """The message of a Kubernetes ``Status`` body (or the plain text), and its details."""
    text = body.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:300], {}
    if isinstance(doc, dict):
        details = doc.get("details")
        return str(doc.get("message") or doc.get("reason") or ""), details if isinstance(
            details, dict
        ) else {}
    return " ".join(text.split())[:300], {}


def http_error(
    status: int,
    body: bytes,
    method: str,
    path: str,
    target: Target,
    *,
    context: str,
    redact: Callable[[str], str],
) -> ClusterError:
    """The error for a non-2xx answer, with the API server's own message where it has one."""
    message, details = status_of(body)
    message = redact(message)
    if status == 401:
        return ClusterError(f'unauthorized (401): check your credentials for context "{context}"')
    if status == 403:
        if not message or "forbidden" not in message:
            message = (
                f'cannot {target.verb} resource "{target.resource}" in API group "{target.group}" '
                f"{target.scope}"
            )
        return ForbiddenError(f"forbidden (403): {message}")
    if status == 404:
        object_missing = target.name is not None and (details.get("name") == target.name or not target.crd)
        if object_missing:
            where = f' in namespace "{target.namespace}"' if target.namespace else ""
            return NotFoundError(f'{target.kind or target.resource} "{target.name}" not found{where}')
        if target.crd:
            return NotFoundError(f"{target.kind} CRD ({target.crd}) not found: is KServe installed?")
        return NotFoundError(f"{method} {path}: not found (404){': ' + message if message else ''}")
    if status == 409:
        where = f"{target.namespace}/" if target.namespace else ""
        return ConflictError(
            f"{target.kind or target.resource} {where}{target.name} was changed by someone else since it was "
            "read (409 Conflict): re-run the command to work from the latest version"
        )
    if status == 410:
        return ClusterError(f"{method} {path}: the list changed while it was being read (410 Gone): re-run")
    if status >= 500:
        return ClusterError(f"server error ({status}) on {method} {path}: {message or 'no details'}")
    return ClusterError(f"{method} {path} was rejected ({status}): {message or 'no details'}")
