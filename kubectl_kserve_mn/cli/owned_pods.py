"""The pods of the objects ``check`` reads from the cluster (InferenceServices, LLMInferenceServices),
grouped by their owner, and the FailedScheduling events of the namespaces where one of them is Pending.

One paginated pod list by label for all the objects (in the namespace, or all of them for -A) instead of
one label-selector list per object: each such list makes the API server read every pod of the namespace,
so 1,000 objects would cost 1,000 full reads. Events: one list per namespace that has a Pending pod.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubectl_kserve_mn.errors import ClusterError
from kubectl_kserve_mn.inputs.k8s import Event, Pod

if TYPE_CHECKING:
    from kubectl_kserve_mn.cluster import Cluster


def pods_and_events(
    cluster: Cluster,
    warnings: list[str],
    namespace: str | None,
    selector: str,
    owner_label: str,
    owners: str,
) -> tuple[dict[tuple[str, str], list[Pod]], dict[str, list[Event]]]:
    """Pods by (namespace, value of ``owner_label``) and events by namespace. A list that cannot be read
    adds a line to ``warnings`` (``owners`` names what the pods belong to) and counts as empty."""
    try:
        pods = cluster.list_pods(namespace, selector)
    except ClusterError as err:
        warnings.append(f"cannot read the {owners}' pods: {err.message}")
        return {}, {}
    grouped: dict[tuple[str, str], list[Pod]] = {}
    for pod in pods:
        grouped.setdefault((pod.namespace or "", pod.labels.get(owner_label, "")), []).append(pod)
    events: dict[str, list[Event]] = {}
    for ns in sorted({p.namespace or "" for p in pods if p.phase == "Pending"}):
        try:
            events[ns] = cluster.list_events(ns, "reason=FailedScheduling")
        except ClusterError as err:
            warnings.append(f"cannot read events in {ns}: {err.message}")
    return grouped, events
