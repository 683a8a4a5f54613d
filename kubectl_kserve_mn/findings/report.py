"""What ``check`` reports: findings, per-object reports, and the inputs every finding source shares."""

from __future__ import annotations

import heapq
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kubectl_kserve_mn.inputs.k8s import Node, Pod
from kubectl_kserve_mn.inventory import Inventory, NodeGpus, build_inventory, with_pods_changed
from kubectl_kserve_mn.kserve.admission import Admission
from kubectl_kserve_mn.kserve.controller import ControllerLayout
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.kserve.rollout import RolloutPlan
from kubectl_kserve_mn.model import MemoryEstimate, ModelFacts

if TYPE_CHECKING:
    from kubectl_kserve_mn.findings.upgrade import UpgradeReport

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)

ISVC_LABEL = "serving.kserve.io/inferenceservice"

MODEL_UNREADABLE = "model-unreadable"
MODEL_MEMORY_UNKNOWN = "model-memory-unknown"
DEFAULT_UTILIZATION = 0.9  # vLLM's --gpu-memory-utilization as the model package assumes it


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    suggestion: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class NodeView:
    """What is known about the nodes: the nodes and the pods bound to them.

    ``check`` asks the same questions of it for every object (the inventory of a GPU resource, the pods of
    one InferenceService), so the answers are computed once and kept: a thousand InferenceServices on two
    thousand nodes must not build the inventory from twenty thousand pods a thousand times."""

    nodes: Sequence[Node]
    pods: Sequence[Pod] = ()
    free_known: bool = True
    """False when the pods could not be read: only capacity is checked."""
    gpu_resource: str | None = None
    """``--gpu-resource``: consider only this resource."""
    _memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def inventory(
        self,
        gpu_resource: str | None = None,
        node_selector: Mapping[str, str] | None = None,
        *,
        with_pods: bool = True,
        without: Sequence[Pod] = (),
    ) -> Inventory:
        """The inventory of these nodes (``with_pods``: GPUs held by the pods count as used), for one GPU
        resource and nodeSelector; ``without``: pods whose GPUs count as free (an object's own pods)."""
        key = ("inventory", gpu_resource, tuple(sorted((node_selector or {}).items())), with_pods)
        if key not in self._memo:
            self._memo[key] = build_inventory(
                self.nodes,
                self.pods if with_pods else (),
                gpu_resource=gpu_resource,
                node_selector=node_selector,
            )
        base: Inventory = self._memo[key]
        return with_pods_changed(base, removed=without) if without and with_pods else base

    def placeable(
        self,
        gpu_resource: str,
        node_selector: Mapping[str, str] | None = None,
        *,
        without: Sequence[Pod] = (),
    ) -> list[NodeGpus]:
        """The nodes that can host pods of ``gpu_resource`` (matching ``node_selector``), with ``without``'s
        GPUs counted as free: the base list is kept, and only the nodes those pods are on are replaced."""
        key = ("placeable", gpu_resource, tuple(sorted((node_selector or {}).items())))
        if key not in self._memo:
            nodes = [
                n
                for n in self.inventory(gpu_resource, node_selector).nodes
                if n.gpu_resource == gpu_resource and n.placeable
            ]
            self._memo[key] = (nodes, {n.name: i for i, n in enumerate(nodes)})
        base, index = self._memo[key]
        hosts = {p.node_name for p in without if p.node_name in index}
        if not hosts:
            return list(base)
        freed = with_pods_changed(
            Inventory(tuple(base[index[h]] for h in hosts), ()),
            removed=[p for p in without if p.node_name in hosts],
        )
        nodes = list(base)
        for node in freed.nodes:
            nodes[index[node.name]] = node
        return nodes

    def with_room(
        self,
        gpu_resource: str,
        node_selector: Mapping[str, str] | None = None,
        *,
        without: Sequence[Pod] = (),
    ) -> list[NodeGpus]:
        """:meth:`placeable` nodes that have a GPU free (``without``'s counted as free), in the same order:
        on a busy cluster a handful of the thousands, which is all a placement on free GPUs can use."""
        nodes = self.placeable(gpu_resource, node_selector, without=without)
        selector = tuple(sorted((node_selector or {}).items()))
        key = ("room", gpu_resource, selector)
        if key not in self._memo:
            base = self.placeable(gpu_resource, node_selector)
            self._memo[key] = [i for i, n in enumerate(base) if min(n.free, n.physical) > 0]
        hosts = {p.node_name for p in without}
        _, index = self._memo["placeable", gpu_resource, selector]
        freed = sorted(index[h] for h in hosts if h in index)
        positions = heapq.merge(self._memo[key], freed)
        return [nodes[i] for i in dict.fromkeys(positions) if min(nodes[i].free, nodes[i].physical) > 0]

    def largest_node(self, gpu_resource: str, node_selector: Mapping[str, str] | None = None) -> int:
        """The most whole GPUs one :meth:`placeable` node has (0: none)."""
        key = ("largest", gpu_resource, tuple(sorted((node_selector or {}).items())))
        if key not in self._memo:
            self._memo[key] = max(
                (n.physical for n in self.placeable(gpu_resource, node_selector)), default=0
            )
        largest: int = self._memo[key]
        return largest

    def capacity_gpus(self) -> int:
        """Whole GPUs on the schedulable nodes, all resources (what no layout can exceed)."""
        if "capacity" not in self._memo:
            self._memo["capacity"] = sum(
                n.physical for n in self.inventory(with_pods=False).nodes if n.placeable
            )
        total: int = self._memo["capacity"]
        return total

    def pods_labelled(self, label: str, value: str, namespace: str | None) -> list[Pod]:
        """The pods whose ``label`` is ``value`` (in ``namespace`` unless None), from an index built once."""
        key = ("label", label)
        if key not in self._memo:
            index: dict[tuple[str | None, str], list[Pod]] = {}
            for pod in self.pods:
                if label in pod.labels:
                    index.setdefault((pod.namespace, pod.labels[label]), []).append(pod)
            self._memo[key] = index
        by_value: dict[tuple[str | None, str], list[Pod]] = self._memo[key]
        if namespace is not None:
            return list(by_value.get((namespace, value), ()))
        return [p for (_, v), pods in by_value.items() if v == value for p in pods]


@dataclass(frozen=True)
class ModelInput:
    """The model an InferenceService serves, as the shell loaded it, and the memory settings to size it.

    ``facts`` is None when it could not be loaded; ``error`` then says why (a ``model-unreadable``
    finding on that item, not a failed run)."""

    spec: str
    """The model as the user named it (a path relative to the current directory, or an HF id)."""
    facts: ModelFacts | None
    error: str | None = None
    source: str = "--model"
    """``--model`` or the annotation name."""
    gpu_memory_bytes: int | None = None
    """``--gpu-memory``: used when the nodes' labels do not say."""
    utilization: float | None = None
    """``--gpu-memory-utilization`` given on the command line; None: the pod's vLLM args, else 0.9."""
    max_model_len: int | None = None
    """``--max-model-len``; None: the pod's vLLM args, else the model's context."""
    flags: tuple[str, ...] = ()
    """Memory flags to repeat in suggested commands (``--gpu-memory 80Gi``...)."""
    plan_flags: tuple[str, ...] = ()
    """Flags only the suggested ``plan`` takes (``--nodes-file F``)."""


@dataclass(frozen=True)
class ItemReport:
    kind: str
    namespace: str | None
    name: str
    admission: Admission
    layout: ControllerLayout | None
    findings: tuple[Finding, ...] = ()
    runtime: str | None = None
    """``Kind/name`` of the runtime used, or None."""
    notes: tuple[str, ...] = field(default=())
    model: ModelFacts | None = None
    memory: MemoryEstimate | None = None
    """The per-GPU memory estimate of the model at the controller's layout (None: not computed)."""
    rollout: RolloutPlan | None = None
    """A rollout under way (pods of an older generation): what the new pods need next to the old ones."""
    upgrade: UpgradeReport | None = None
    """``check --upgrade-to``: the object under the target KServe, side by side with the installed one."""

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "runtime": self.runtime,
            "admission": self.admission.to_json(),
            "layout": None if self.layout is None else self._layout_json(),
            "model": None if self.model is None else self.model.to_json(),
            "findings": [f.to_json() for f in self.findings],
            "rollout": None if self.rollout is None else self.rollout.to_json(),
            **({} if self.upgrade is None else {"upgrade": self.upgrade.to_json()}),
        }

    def _layout_json(self) -> dict[str, Any]:
        assert self.layout is not None
        data = self.layout.to_json()
        data["memory"] = None if self.memory is None else self.memory.to_json()
        return data


def add_findings(report: ItemReport, extra: Iterable[Finding]) -> ItemReport:
    """``report`` with more findings appended (for other finding sources)."""
    return replace(report, findings=report.findings + tuple(extra))


def has_errors(reports: Iterable[ItemReport]) -> bool:
    return any(report.errors for report in reports)


def dict_of(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def fix_command(name: str, namespace: str | None) -> str:
    return f"kubectl kserve-mn fix {name}" + (f" -n {namespace}" if namespace else "")


def offline_plan_command(
    isvc: Mapping[str, Any], layout: ControllerLayout, kv: KServeVersion, flags: Sequence[str] = ()
) -> str:
    """For an object in a file: the ``plan`` that prints the fields to put in it. The wish is the
    InferenceService's TP, and its PP only when it sets one (otherwise plan picks PP for the nodes)."""
    worker = dict_of(dict_of(dict_of(isvc.get("spec")).get("predictor")).get("workerSpec"))
    args = ["--tensor-parallel-size", str(layout.tensor_parallel_size)]
    if worker.get("pipelineParallelSize") is not None:
        args += ["--pipeline-parallel-size", str(layout.pipeline_parallel_size)]
    version = ["--kserve-version", kv.version] if kv.version else []
    return "kubectl kserve-mn plan " + shlex.join([*args, *flags, *version])


def name_of(obj: Mapping[str, Any]) -> str:
    return str(dict_of(obj.get("metadata")).get("name") or "")


def namespace_of(obj: Mapping[str, Any]) -> str | None:
    ns = dict_of(obj.get("metadata")).get("namespace")
    return str(ns) if ns else None
