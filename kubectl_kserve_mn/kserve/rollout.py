"""What rolling a multi-node InferenceService from its current pods to a new layout needs: GPUs on top of
what it holds now, per GPU type, and where the new pods go.

Facts (KServe's ``deployment_reconciler.go``, the same at v0.15.1 and v0.20.0:
kserve/kserve@3a1dc463c63c03bb2e8d63ac9d2c3167f25d1e68 and @1fb781055dd1567164358233e1125142ca6ef1fe,
``pkg/controller/v1beta1/inferenceservice/reconcilers/deployment/deployment_reconciler.go``):
- ``spec.predictor.deploymentStrategy`` is copied to the head and the worker Deployment
  (``createRawDefaultDeployment`` / ``createRawWorkerDeployment``); unset means RollingUpdate with 25% / 25%
  (``setDefaultDeploymentSpec``), ``progressDeadlineSeconds`` 600.
- With RollingUpdate the worker Deployment is forced to ``maxUnavailable: 0%``, ``maxSurge: 100%`` (#4188).
- The pod templates carry ``isvc.generation`` (``predictor.go``), so every spec change rolls the pods.

How a Deployment rolls (kubernetes/kubernetes@95f08499d652a6211121d8af35f470609217c730
``pkg/controller/deployment/rolling.go``, ``util/deployment_util.go`` ``NewRSNewReplicas`` /
``ResolveFenceposts``):
- at most ``replicas + maxSurge`` pods exist; old pods are scaled down while more than
  ``replicas - maxUnavailable`` are available. So the worker Deployment (surge 100%, unavailable 0) keeps
  ``min(old workers, new workers)`` old pods until the new ones are Ready: when the new layout has fewer
  workers, the surplus old workers go *first*, and the old Ray cluster loses pods before the new one runs;
  with no new workers all old ones go;
- the head (one replica, 25% / 25%) surges: ceil(25% of 1) = 1 new head next to the old one, floor(25% of 1)
  = 0 unavailable. A head strategy that resolves to no surge, or to an unavailable pod, lets the old head go
  first (both 0 becomes 1 unavailable);
- Recreate deletes every old pod before it creates a new one: no extra GPUs, but downtime.
- The ReplicaSet deletes unscheduled pods first, then pods on nodes that hold more pods of the same
  Deployment (``controller.ActivePodsWithRanks``); the pods' readiness and ages are not read here, so ties
  are broken by name.

Pure functions over an :class:`~kubectl_kserve_mn.inventory.Inventory` and typed pods.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.inputs.k8s import Pod
from kubectl_kserve_mn.inventory import (
    Inventory,
    NodeGpus,
    is_gpu_resource,
    pod_effective_request,
    with_requests_changed,
)
from kubectl_kserve_mn.kserve.controller import ControllerLayout, compute_layout
from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.planner import place_pods

ROLLING_UPDATE = "RollingUpdate"
RECREATE = "Recreate"
GENERATION_LABEL = "isvc.generation"
"""``constants.InferenceServiceGenerationPodLabelKey``: the InferenceService generation a pod was made from."""
ISVC_POD_LABEL = "serving.kserve.io/inferenceservice"
PROGRESS_DEADLINE_SECONDS = 600
"""KServe's ``setDefaultDeploymentSpec`` default for both Deployments (the InferenceService cannot set it)."""
HEAD = "head"
WORKER = "worker"
MAX_PLACED_PODS = 512
"""Beyond this many new pods, only whether they fit is computed, not where each one goes."""

_PERCENT = re.compile(r"^\s*(\d+)\s*%\s*$")


# --- the strategy ---------------------------------------------------------------------------------------


def _int_or_percent(value: Any, total: int, *, round_up: bool, default: str) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: an int as it is, ``"N%"`` of ``total`` rounded up (surge)
    or down (unavailable). Anything else (the API server would refuse it) counts as ``default``."""
    if isinstance(value, bool) or value is None:
        value = default
    if isinstance(value, int):
        return max(value, 0)
    match = _PERCENT.match(str(value))
    if not match:
        match = _PERCENT.match(default)
        assert match is not None
    scaled = int(match.group(1)) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


@dataclass(frozen=True)
class Strategy:
    """The strategy the head and worker Deployments roll with (``spec.predictor.deploymentStrategy``)."""

    type: str = ROLLING_UPDATE
    head_surge: int = 1
    """New head pods created before old ones go (RollingUpdate; 25% of one head rounds up to 1)."""
    head_unavailable: int = 0
    """Old head pods that may go before the new one is Ready (25% of one head rounds down to 0)."""

    @property
    def recreate(self) -> bool:
        return self.type == RECREATE

    @property
    def keeps_old_head(self) -> bool:
        """The old head keeps serving until the new head is Ready."""
        return not self.recreate and self.head_surge > 0 and self.head_unavailable == 0

    @staticmethod
    def of(isvc: Mapping[str, Any]) -> Strategy:
        spec = isvc.get("spec") if isinstance(isvc.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        predictor = spec.get("predictor") if isinstance(spec.get("predictor"), dict) else {}
        assert isinstance(predictor, dict)
        raw = predictor.get("deploymentStrategy")
        raw = raw if isinstance(raw, dict) else {}
        kind = raw.get("type") or ROLLING_UPDATE
        if kind == RECREATE:
            return Strategy(RECREATE, 0, 1)
        rolling = raw.get("rollingUpdate") if isinstance(raw.get("rollingUpdate"), dict) else {}
        assert isinstance(rolling, dict)
        # apps/v1 defaults a missing maxSurge / maxUnavailable to 25% (SetDefaults_Deployment).
        surge = _int_or_percent(rolling.get("maxSurge"), 1, round_up=True, default="25%")
        unavailable = _int_or_percent(rolling.get("maxUnavailable"), 1, round_up=False, default="25%")
        if surge == 0 and unavailable == 0:
            unavailable = 1  # ResolveFenceposts
        return Strategy(ROLLING_UPDATE, surge, unavailable)


# --- the object's pods -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunningPod:
    """One of the object's pods as it is now: its role, its node (None: not scheduled) and its GPUs."""

    name: str
    role: str
    node: str | None
    gpus: Mapping[str, int]
    """GPUs it holds, by resource (only when bound to a node)."""

    @property
    def total(self) -> int:
        return sum(self.gpus.values())


def pod_role(pod: Pod) -> str:
    """``worker`` for the worker Deployment's pods (label ``app=isvc.<head-deployment>-worker``), else ``head``."""
    return WORKER if pod.labels.get("app", "").endswith("-worker") else HEAD


def own_pods(pods: Iterable[Pod], name: str, namespace: str | None) -> list[Pod]:
    return [
        p
        for p in pods
        if p.labels.get(ISVC_POD_LABEL) == name and (namespace is None or p.namespace == namespace)
    ]


def generation_of(obj: Mapping[str, Any]) -> str | None:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    generation = meta.get("generation")
    return None if generation is None else str(generation)


def split_generations(pods: Iterable[Pod], generation: str | None) -> tuple[list[Pod], list[Pod]]:
    """(pods made from an older spec, pods made from ``generation``), by their ``isvc.generation`` label."""
    old: list[Pod] = []
    new: list[Pod] = []
    for pod in pods:
        (new if generation is not None and pod.labels.get(GENERATION_LABEL) == generation else old).append(
            pod
        )
    return old, new


def running_pods(pods: Iterable[Pod]) -> list[RunningPod]:
    """The object's non-terminal pods with the GPUs they hold (a pod not bound to a node holds none)."""
    out = []
    for pod in pods:
        if pod.phase in ("Succeeded", "Failed"):
            continue
        resources = {
            r for c in (*pod.containers, *pod.init_containers) for r in (*c.requests, *c.limits)
        } | set(pod.overhead)
        gpus = {}
        if pod.node_name:
            for resource in sorted(r for r in resources if is_gpu_resource(r)):
                count = pod_effective_request(pod, resource)
                if count:
                    gpus[resource] = count
        out.append(RunningPod(pod.name, pod_role(pod), pod.node_name or None, gpus))
    return out


# --- the result ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPod:
    pod: str
    """``head``, ``worker-0``, ..."""
    gpu_resource: str
    gpus: int
    node: str | None
    """None: no node has room, the pod stays Pending."""

    def to_json(self) -> dict[str, Any]:
        return {"pod": self.pod, "node": self.node, "gpus": self.gpus, "gpuResource": self.gpu_resource}


@dataclass(frozen=True)
class ResourceNeed:
    """The rollout's figures for one GPU resource."""

    gpu_resource: str
    new_gpus: int
    """What the new pods request."""
    held_gpus: int
    """What the object's pods hold now."""
    released_gpus: int
    """Held GPUs released before the new pods need them (Recreate: all; RollingUpdate: surplus old workers,
    the old head when the head does not surge)."""
    free_gpus: int
    """Free now on the schedulable whole-GPU nodes of this resource (the object's pods holding theirs)."""

    @property
    def extra_gpus(self) -> int:
        """GPUs needed on top of what the object holds now: the new pods' minus those released first."""
        return max(0, self.new_gpus - self.released_gpus)

    def to_json(self) -> dict[str, Any]:
        return {
            "gpuResource": self.gpu_resource,
            "extraGpus": self.extra_gpus,
            "freeGpus": self.free_gpus,
            "newGpus": self.new_gpus,
            "heldGpus": self.held_gpus,
            "releasedGpus": self.released_gpus,
        }


@dataclass(frozen=True)
class RolloutPlan:
    strategy: str
    needs: tuple[ResourceNeed, ...]
    placement: tuple[NewPod, ...]
    fits: bool
    source: str
    """``pods``: the object's pods as read; ``layout``: no pods were read, the live spec's layout placed on
    the free GPUs stands in for them."""
    old_pods: int
    """The object's pods now (scheduled or not)."""
    kept_pods: int
    """Old pods that keep running until the new ones are Ready."""
    old_workers: int
    kept_workers: int
    new_workers: int
    released_running_workers: int = 0
    """Old worker pods on a node that are deleted before the new pods are Ready."""
    head_goes_first: bool = False
    """The head's strategy lets the old head go before the new one is Ready."""
    placement_known: bool = True
    """False when there are too many new pods to place one by one (only ``fits`` is computed)."""
    under_way: bool = False
    """Judged in the middle of a rollout: old workers may already have been scaled down (unseen here)."""

    @property
    def recreate(self) -> bool:
        return self.strategy == RECREATE

    @property
    def primary(self) -> ResourceNeed | None:
        """The resource of the most new GPUs (the only one, unless head and worker use different ones)."""
        return max(self.needs, key=lambda n: (n.new_gpus, n.gpu_resource), default=None)

    @property
    def extra_gpus(self) -> int:
        return self.primary.extra_gpus if self.primary else 0

    @property
    def downtime(self) -> str | None:
        """Why the old pods stop serving before the new ones are Ready (None: they keep serving)."""
        if self.old_pods == 0:
            return None
        if self.recreate:
            return "Recreate deletes the old pods before it creates the new ones"
        if self.released_running_workers:
            kept = f"{self.kept_workers}" if self.kept_workers else "none"
            return (
                f"the worker Deployment first scales the {self.old_workers} old worker pods down to {kept} (a "
                f"rolling update keeps at most twice the new worker count, {self.new_workers}), so the old Ray "
                "cluster loses pods and stops serving"
            )
        if self.head_goes_first:
            return "the head's deploymentStrategy lets the old head go before the new one is Ready"
        return None

    @property
    def pending(self) -> list[NewPod]:
        return [p for p in self.placement if p.node is None]

    def gpu_text(self) -> str:
        """``16 nvidia.com/gpu on top of the 16 it holds now; 0 free`` for each resource."""
        return "; ".join(
            f"{n.extra_gpus} {n.gpu_resource} on top of the {n.held_gpus} it holds now ({n.new_gpus} for the "
            f"new pods, {n.released_gpus} released first), {n.free_gpus} free"
            for n in self.needs
        )

    @property
    def outcome(self) -> str:
        """What will happen, in one sentence."""
        deadline = (
            f"the head and worker Deployments report ProgressDeadlineExceeded after "
            f"progressDeadlineSeconds ({PROGRESS_DEADLINE_SECONDS} s) and the rollout neither finishes nor "
            "rolls back"
        )
        pending = self.pending
        names = pod_names(pending) if pending else "some of the new pods"
        down = self.downtime
        if self.fits:
            if down is None:
                return (
                    "rolls over: the new pods start next to the old ones, which keep serving until the new "
                    "ones are Ready"
                )
            return f"the new pods fit, but {down}: the model is down until the new pods are Ready"
        if down is None:
            serving = (
                "the old ones keep running (serving if no old worker was scaled down before)"
                if self.under_way
                else "the old ones keep serving"
            )
            return f"the new pods ({names}) stay Pending, {serving}, and {deadline}"
        return f"{down}, and the new pods ({names}) stay Pending: the model is down until GPUs are freed"

    def to_json(self) -> dict[str, Any]:
        primary = self.primary
        return {
            "strategy": self.strategy,
            "extraGpus": self.extra_gpus,
            "gpuResource": primary.gpu_resource if primary else None,
            "freeGpus": primary.free_gpus if primary else None,
            "fits": self.fits,
            "placement": [p.to_json() for p in self.placement],
            "placementKnown": self.placement_known,
            "byResource": [n.to_json() for n in self.needs],
            "oldPods": self.old_pods,
            "keptPods": self.kept_pods,
            "downtime": self.downtime,
            "outcome": self.outcome,
            "source": self.source,
        }


def pod_names(pods: Sequence[NewPod]) -> str:
    """``head, worker-0`` for a few pods, ``head and 15 workers`` for many."""
    if len(pods) <= 3:
        return ", ".join(p.pod for p in pods)
    workers = sum(1 for p in pods if p.pod != HEAD)
    head = "head and " if len(pods) > workers else ""
    return f"{head}{workers} workers"


def placement_text(pods: Sequence[NewPod]) -> str:
    """``head 8 -> gpu-b, worker-0 8 -> Pending``; workers of one size on one node are counted:
    ``head 1 -> Pending, 15 workers x 1 -> Pending``."""
    parts = [f"{p.pod} {p.gpus} -> {p.node or 'Pending'}" for p in pods if p.pod == HEAD]
    groups: dict[tuple[int, str | None], list[NewPod]] = {}
    for pod in pods:
        if pod.pod != HEAD:
            groups.setdefault((pod.gpus, pod.node), []).append(pod)
    for (gpus, node), members in groups.items():
        where = node or "Pending"
        one = len(members) == 1
        parts.append(
            f"{members[0].pod} {gpus} -> {where}" if one else f"{len(members)} workers x {gpus} -> {where}"
        )
    return ", ".join(parts)


# --- the computation -------------------------------------------------------------------------------------


def _new_pod_names(layout: ControllerLayout) -> list[tuple[str, str, int]]:
    pods = [(HEAD, layout.head.gpu_resource, layout.head.gpus)]
    pods += [
        (f"worker-{i}", layout.worker.gpu_resource, layout.worker.gpus) for i in range(layout.worker_replicas)
    ]
    return pods


def _nodes_for(inventory: Inventory, resource: str, freed: Mapping[tuple[str, str], int]) -> list[NodeGpus]:
    """The resource's whole-GPU schedulable nodes, with the GPUs ``freed`` on each given back."""
    return [
        dataclasses.replace(n, requested=max(0, n.requested - freed.get((n.name, resource), 0)))
        for n in inventory.nodes
        if n.gpu_resource == resource and n.placeable
    ]


def place_greedily(sizes: Sequence[int], nodes: Sequence[NodeGpus]) -> list[str | None]:
    """Each pod's node on the nodes' free GPUs (``planner.place_pods``); when they do not all fit, the biggest
    first, each one kept where the pods placed so far still fit, the others None (Pending)."""
    everything = place_pods(sizes, nodes, use_free=True)
    if everything is not None:
        return list(everything)
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    chosen: list[int] = []
    for index in order:
        if place_pods([sizes[i] for i in (*chosen, index)], nodes, use_free=True) is not None:
            chosen.append(index)
    placed = place_pods([sizes[i] for i in chosen], nodes, use_free=True) or []
    result: list[str | None] = [None] * len(sizes)
    for index, node in zip(chosen, placed, strict=True):
        result[index] = node
    return result


def released(inventory: Inventory, pods: Iterable[RunningPod]) -> Inventory:
    """``inventory`` with the GPUs ``pods`` hold given back (nodes and pools), as if they were gone."""
    freed: dict[tuple[str, str], int] = {}
    for pod in pods:
        for resource, gpus in pod.gpus.items():
            if pod.node:
                freed[(pod.node, resource)] = freed.get((pod.node, resource), 0) - gpus
    return with_requests_changed(inventory, freed)


def _simulated_pods(layout: ControllerLayout, inventory: Inventory) -> tuple[list[RunningPod], Inventory]:
    """No pods were read: the live layout's pods placed on the free GPUs stand in for them, and the
    inventory counts them as used."""
    pods: list[RunningPod] = []
    used: dict[tuple[str, str], int] = {}
    by_resource: dict[str, list[tuple[str, str, int]]] = {}
    for name, resource, gpus in _new_pod_names(layout):
        by_resource.setdefault(resource, []).append((name, resource, gpus))
    for resource, members in by_resource.items():
        nodes = _nodes_for(inventory, resource, {})
        sizes = [g for _, _, g in members]
        spots = place_greedily(sizes, nodes) if len(sizes) <= MAX_PLACED_PODS else [None] * len(sizes)
        for (name, _, gpus), node in zip(members, spots, strict=True):
            role = HEAD if name == HEAD else WORKER
            pods.append(RunningPod(name, role, node, {resource: gpus} if node and gpus else {}))
            if node and gpus:
                used[(node, resource)] = used.get((node, resource), 0) + gpus
    holding = tuple(
        dataclasses.replace(n, requested=n.requested + used.get((n.name, n.gpu_resource), 0))
        for n in inventory.nodes
    )
    return pods, dataclasses.replace(inventory, nodes=holding)


def _released_workers(workers: Sequence[RunningPod], keep: int) -> list[RunningPod]:
    """The old workers the ReplicaSet deletes to keep ``keep``: unscheduled first, then those on the nodes
    holding most of the Deployment's pods (``ActivePodsWithRanks``), then by name."""
    on_node: dict[str, int] = {}
    for pod in workers:
        if pod.node:
            on_node[pod.node] = on_node.get(pod.node, 0) + 1
    order = sorted(workers, key=lambda p: (p.node is not None, -on_node.get(p.node or "", 0), p.name))
    return order[: max(0, len(workers) - keep)]


def plan_rollout(
    inventory: Inventory,
    current: Sequence[RunningPod] | None,
    new_layout: ControllerLayout,
    strategy: Strategy,
    *,
    live_layout: ControllerLayout | None = None,
) -> RolloutPlan:
    """The GPUs rolling from ``current`` (the object's pods; their GPUs must be in ``inventory``'s requests)
    to ``new_layout`` needs on top of what the object holds, and where the new pods go.

    ``current`` None: the pods are unknown; ``live_layout`` (the layout the controller made from the live
    spec) placed on the free GPUs stands in for them (``inventory`` must then not count them).
    """
    source = "pods"
    if current is None:
        source = "layout"
        if live_layout is None or live_layout.error:
            current = []
        else:
            current, inventory = _simulated_pods(live_layout, inventory)
    heads = [p for p in current if p.role == HEAD]
    workers = [p for p in current if p.role == WORKER]
    new_workers = new_layout.worker_replicas
    if strategy.recreate:
        released = list(current)
    else:
        # The worker Deployment (0% unavailable, 100% surge) keeps min(old, new) old workers; with no new
        # worker the fenceposts resolve to 1 unavailable and every old worker goes.
        released = _released_workers(workers, min(len(workers), new_workers))
        if not strategy.keeps_old_head:
            released += heads
    released_names = {p.name for p in released}
    freed: dict[tuple[str, str], int] = {}
    held: dict[str, int] = {}
    released_by_resource: dict[str, int] = {}
    for pod in current:
        for resource, gpus in pod.gpus.items():
            held[resource] = held.get(resource, 0) + gpus
            if pod.name in released_names and pod.node:
                freed[(pod.node, resource)] = freed.get((pod.node, resource), 0) + gpus
                released_by_resource[resource] = released_by_resource.get(resource, 0) + gpus
    wanted = [p for p in _new_pod_names(new_layout) if p[2] > 0]
    by_resource: dict[str, list[tuple[str, str, int]]] = {}
    for entry in wanted:
        by_resource.setdefault(entry[1], []).append(entry)
    placement: list[NewPod] = []
    fits = True
    placement_known = True
    needs: list[ResourceNeed] = []
    for resource in sorted(set(by_resource) | set(held)):
        members = by_resource.get(resource, [])
        nodes = _nodes_for(inventory, resource, freed)
        sizes = [g for _, _, g in members]
        if len(sizes) > MAX_PLACED_PODS:
            placement_known = False
            room = sum(min(n.free, n.physical) for n in nodes)
            spots: list[str | None] = [None] * len(sizes)
            fits = fits and sum(sizes) <= room and place_pods(sizes, nodes, use_free=True) is not None
        else:
            spots = place_greedily(sizes, nodes) if sizes else []
            fits = fits and all(s is not None for s in spots)
        placement += [NewPod(n, r, g, s) for (n, r, g), s in zip(members, spots, strict=True)]
        free_now = sum(min(n.free, n.physical) for n in _nodes_for(inventory, resource, {}))
        needs.append(
            ResourceNeed(
                resource, sum(sizes), held.get(resource, 0), released_by_resource.get(resource, 0), free_now
            )
        )
    order = {name: i for i, (name, _, _) in enumerate(wanted)}
    placement.sort(key=lambda p: order.get(p.pod, 0))
    kept_workers = len([w for w in workers if w.name not in released_names])
    return RolloutPlan(
        strategy=strategy.type,
        needs=tuple(needs),
        placement=tuple(placement),
        fits=fits,
        source=source,
        old_pods=len(current),
        kept_pods=len(current) - len(released),
        old_workers=len(workers),
        kept_workers=kept_workers,
        new_workers=new_workers,
        released_running_workers=len([p for p in released if p.role == WORKER and p.node]),
        head_goes_first=not strategy.recreate and not strategy.keeps_old_head and any(h.node for h in heads),
        placement_known=placement_known,
    )


def rollout_in_progress(pods: Iterable[Pod], obj: Mapping[str, Any]) -> bool:
    """Some of the object's pods were made from an older spec (their ``isvc.generation`` is not the object's
    ``metadata.generation``; pods without the label are not KServe's multi-node pods and do not count): a
    rollout has started and not finished."""
    generation = generation_of(obj)
    old, _ = split_generations([p for p in pods if GENERATION_LABEL in p.labels], generation)
    return generation is not None and bool(old)


def plan_update_rollout(
    after: Mapping[str, Any],
    runtime: Mapping[str, Any] | None,
    era: Era,
    inventory: Inventory,
    current: Sequence[RunningPod] | None,
    *,
    custom_gpu_types: Sequence[str] = (),
    strategy: Strategy | None = None,
    live_layout: ControllerLayout | None = None,
) -> RolloutPlan | None:
    """The rollout an update of the object to ``after`` starts (its strategy from ``after``, or ``strategy``),
    None when KServe creates nothing for ``after`` (a controller error, no multi-node support)."""
    if not era.multinode:
        return None
    new_layout = compute_layout(after, runtime, era, custom_gpu_types=custom_gpu_types)
    if new_layout.error:
        return None
    return plan_rollout(
        inventory, current, new_layout, strategy or Strategy.of(after), live_layout=live_layout
    )
