"""Nodes, pods and events as typed values: the only shape the inventory and the findings see.

Two steps, both here:
1. *Decode* the fields the tool uses (and only those) into wire structs that mirror the API's JSON,
   with msgspec: from API list pages (bytes) or from loaded YAML/JSON files. A wrong type anywhere on
   those fields is refused, naming the object, the field and the value.
2. *Normalize* into the core's types: device quantities become whole numbers, absent maps become
   empty ones, the Ready condition becomes a flag. A quantity that is not a whole, non-negative,
   sane number is refused (the API server itself requires extended resources such as GPUs to be
   integers: k8s.io/kubernetes pkg/apis/core/validation ``ValidateResourceRequirements``).

Only extended resources (domain-qualified names such as ``nvidia.com/gpu`` or ``rdma/ib``) are kept:
CPU and memory are never read, so a pod's ``cpu: 500m`` costs nothing here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from msgspec import Struct, field

from kubectl_kserve_mn.inputs.decode import misfit_of
from kubectl_kserve_mn.inputs.documents import SourcedObject
from kubectl_kserve_mn.inputs.problems import BadInput, PathSegment, describe_value
from kubectl_kserve_mn.quantity import parse as parse_quantity

API = "the API server"
"""The ``source`` of objects read from the cluster, in messages."""

MAX_DEVICE_COUNT = 1_000_000
"""More devices than this in one quantity is a typo (or an attack), not a node."""

Quantity = str | int | float
"""A resource quantity as JSON/YAML spell it: ``"8"``, ``8``, ``"1500m"``."""

_EMPTY: Mapping[str, Any] = {}


# --- wire structs: the API's JSON shape, only the fields used --------------------------------------


class _Meta(Struct, frozen=True, gc=False):
    name: str
    namespace: str | None = None
    labels: dict[str, str] | None = None


class _Taint(Struct, frozen=True, gc=False):
    key: str
    effect: str
    value: str | None = None


class _Condition(Struct, frozen=True, gc=False):
    type: str
    status: str


class _NodeSpec(Struct, frozen=True, gc=False):
    unschedulable: bool | None = None
    taints: list[_Taint] | None = None


class _NodeStatus(Struct, frozen=True, gc=False):
    capacity: dict[str, Quantity] | None = None
    allocatable: dict[str, Quantity] | None = None
    conditions: list[_Condition] | None = None


class _Node(Struct, frozen=True, gc=False):
    metadata: _Meta
    kind: str | None = None
    spec: _NodeSpec | None = None
    status: _NodeStatus | None = None


class _Resources(Struct, frozen=True, gc=False):
    requests: dict[str, Quantity] | None = None
    limits: dict[str, Quantity] | None = None


class _Container(Struct, frozen=True, gc=False):
    resources: _Resources | None = None
    restartPolicy: str | None = None


class _PodSpec(Struct, frozen=True, gc=False):
    nodeName: str | None = None
    containers: list[_Container] | None = None
    initContainers: list[_Container] | None = None
    overhead: dict[str, Quantity] | None = None


class _PodStatus(Struct, frozen=True, gc=False):
    phase: str | None = None


class _Pod(Struct, frozen=True, gc=False):
    metadata: _Meta
    kind: str | None = None
    spec: _PodSpec | None = None
    status: _PodStatus | None = None


class _ObjectRef(Struct, frozen=True, gc=False):
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None


class _EventMeta(Struct, frozen=True, gc=False):
    name: str | None = None
    namespace: str | None = None


class _Event(Struct, frozen=True, gc=False):
    metadata: _EventMeta | None = None
    involvedObject: _ObjectRef | None = None
    reason: str | None = None
    message: str | None = None


class _ListMeta(Struct, frozen=True, gc=False):
    continue_: str | None = field(default=None, name="continue")
    resourceVersion: str | None = None


class _NodePage(Struct, frozen=True, gc=False):
    metadata: _ListMeta | None = None
    items: list[_Node] | None = None


class _PodPage(Struct, frozen=True, gc=False):
    metadata: _ListMeta | None = None
    items: list[_Pod] | None = None


class _EventPage(Struct, frozen=True, gc=False):
    metadata: _ListMeta | None = None
    items: list[_Event] | None = None


# --- the core's types ---------------------------------------------------------------------------


class Taint(Struct, frozen=True, gc=False):
    key: str
    effect: str
    value: str | None = None

    @property
    def text(self) -> str:
        """kubectl's spelling: ``key=value:Effect`` or ``key:Effect``."""
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


class Node(Struct, frozen=True, gc=False):
    """A node: labels, schedulability and its extended (device) resources as whole numbers."""

    name: str
    labels: Mapping[str, str] = _EMPTY
    unschedulable: bool = False
    ready: bool = False
    taints: tuple[Taint, ...] = ()
    capacity: Mapping[str, int] = _EMPTY
    allocatable: Mapping[str, int] = _EMPTY
    """As the node reports it; when the node reports none, its capacity (the API's defaulting)."""


class ContainerDevices(Struct, frozen=True, gc=False):
    """A container's requests and limits of extended resources."""

    requests: Mapping[str, int] = _EMPTY
    limits: Mapping[str, int] = _EMPTY
    sidecar: bool = False
    """An init container with ``restartPolicy: Always`` (a native sidecar: it keeps running)."""

    def request(self, resource: str) -> int:
        """Extended resources default the request to the limit (they cannot be over-committed)."""
        if resource in self.requests:
            return self.requests[resource]
        return self.limits.get(resource, 0)


class Pod(Struct, frozen=True, gc=False):
    name: str
    namespace: str | None = None
    labels: Mapping[str, str] = _EMPTY
    node_name: str | None = None
    phase: str | None = None
    containers: tuple[ContainerDevices, ...] = ()
    init_containers: tuple[ContainerDevices, ...] = ()
    overhead: Mapping[str, int] = _EMPTY


class Event(Struct, frozen=True, gc=False):
    namespace: str | None
    reason: str
    message: str
    involved_kind: str
    involved_name: str


# --- normalization ------------------------------------------------------------------------------


def is_extended_resource(name: str) -> bool:
    """A domain-qualified resource outside kubernetes.io (GPUs, RDMA devices...): integers only."""
    if "/" not in name:
        return False
    domain = name.split("/", 1)[0]
    return not (domain == "kubernetes.io" or domain.endswith(".kubernetes.io"))


def device_count(quantity: Quantity) -> int:
    """A quantity of an extended resource as a whole number; ValueError saying why it is not one."""
    if isinstance(quantity, bool):
        raise ValueError(f"{describe_value(quantity)} is not a quantity")
    # Fast path for what nodes and pods almost always carry ("8"): a plain run of ASCII digits needs no
    # Decimal (thousands of nodes and pods each pay this at every plan and check).
    if isinstance(quantity, str) and quantity.isascii() and quantity.isdigit() and len(quantity) <= 6:
        return int(quantity)
    try:
        value = parse_quantity(quantity)
    except ValueError:
        raise ValueError(f"{describe_value(quantity)} is not a Kubernetes quantity") from None
    if value < 0:
        raise ValueError(f"{describe_value(quantity)} is negative")
    if value > MAX_DEVICE_COUNT:
        raise ValueError(f"{describe_value(quantity)} is too large to be a device count")
    if value != value.to_integral_value():
        raise ValueError(f"{describe_value(quantity)} is not a whole number")
    return int(value)


class _Where:
    """Names an object in messages: ``Node gpu-a`` or, without a usable name, ``Node #3``."""

    def __init__(self, kind: str, source: str, index: int, name: str | None, namespace: str | None = None):
        self.source = source
        if name:
            self.obj = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
        else:
            self.obj = f"{kind} #{index}"

    def bad(self, path: Sequence[PathSegment], problem: str) -> BadInput:
        return BadInput(problem, source=self.source, obj=self.obj, path=path)


def _devices(
    quantities: Mapping[str, Quantity] | None, where: _Where, path: tuple[PathSegment, ...]
) -> Mapping[str, int]:
    if not quantities:
        return _EMPTY
    out: dict[str, int] = {}
    for name, quantity in quantities.items():
        if is_extended_resource(name):
            try:
                out[name] = device_count(quantity)
            except ValueError as err:
                raise where.bad((*path, name), str(err)) from None
    return out


def _checked_name(name: str, where: _Where) -> str:
    if not name.strip():
        raise where.bad(("metadata", "name"), f"{describe_value(name)} is empty: every object needs a name")
    return name


def _node(wire: _Node, source: str, index: int) -> Node:
    where = _Where("Node", source, index, wire.metadata.name)
    name = _checked_name(wire.metadata.name, where)
    spec = wire.spec or _NodeSpec()
    status = wire.status or _NodeStatus()
    capacity = _devices(status.capacity, where, ("status", "capacity"))
    if status.allocatable is None:
        allocatable = capacity
    else:
        allocatable = _devices(status.allocatable, where, ("status", "allocatable"))
    ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions or ())
    return Node(
        name=name,
        labels=wire.metadata.labels or _EMPTY,
        unschedulable=bool(spec.unschedulable),
        ready=ready,
        taints=tuple(Taint(t.key, t.effect, t.value) for t in spec.taints or ()),
        capacity=capacity,
        allocatable=allocatable,
    )


def _containers(
    containers: list[_Container] | None, where: _Where, section: str, *, init: bool
) -> tuple[ContainerDevices, ...]:
    out: list[ContainerDevices] = []
    for i, c in enumerate(containers or ()):
        res = c.resources
        if res is None or (not res.requests and not res.limits):
            if init and c.restartPolicy == "Always":
                out.append(ContainerDevices(sidecar=True))
            elif init:
                out.append(ContainerDevices())
            continue
        path: tuple[PathSegment, ...] = ("spec", section, i, "resources")
        out.append(
            ContainerDevices(
                requests=_devices(res.requests, where, (*path, "requests")),
                limits=_devices(res.limits, where, (*path, "limits")),
                sidecar=init and c.restartPolicy == "Always",
            )
        )
    return tuple(out)


def _pod(wire: _Pod, source: str, index: int) -> Pod:
    meta = wire.metadata
    where = _Where("Pod", source, index, meta.name, meta.namespace)
    name = _checked_name(meta.name, where)
    spec = wire.spec or _PodSpec()
    return Pod(
        name=name,
        namespace=meta.namespace,
        labels=meta.labels or _EMPTY,
        node_name=spec.nodeName or None,
        phase=(wire.status or _PodStatus()).phase,
        containers=_containers(spec.containers, where, "containers", init=False),
        init_containers=_containers(spec.initContainers, where, "initContainers", init=True),
        overhead=_devices(spec.overhead, where, ("spec", "overhead")),
    )


def _event(wire: _Event) -> Event | None:
    ref = wire.involvedObject
    if ref is None or not ref.name:
        return None
    return Event(
        namespace=(wire.metadata.namespace if wire.metadata else None) or ref.namespace,
        reason=wire.reason or "",
        message=wire.message or "",
        involved_kind=ref.kind or "",
        involved_name=ref.name,
    )


# --- decoding -----------------------------------------------------------------------------------

W = TypeVar("W")

_NODE_PAGE = msgspec.json.Decoder(_NodePage)
_POD_PAGE = msgspec.json.Decoder(_PodPage)
_EVENT_PAGE = msgspec.json.Decoder(_EventPage)


def _object_name(raw: Any) -> tuple[str | None, str | None]:
    meta = raw.get("metadata") if isinstance(raw, dict) else None
    if not isinstance(meta, dict):
        return None, None
    name, ns = meta.get("name"), meta.get("namespace")
    return (name if isinstance(name, str) else None), (ns if isinstance(ns, str) else None)


def _refuse(raw: Any, wire_type: type[Any], kind: str, source: str, index: int) -> BadInput:
    name, namespace = _object_name(raw)
    misfit = misfit_of(raw, wire_type)
    return _Where(kind, source, index, name, namespace).bad(misfit.path, misfit.problem)


def _convert(raw: dict[str, Any], wire_type: type[W], kind: str, source: str, index: int) -> W:
    try:
        return msgspec.convert(raw, wire_type, strict=True)
    except msgspec.ValidationError:
        raise _refuse(raw, wire_type, kind, source, index) from None


def _unique(items: Sequence[Node | Pod], kind: str, source: str) -> None:
    seen: dict[tuple[str | None, str], int] = {}
    for position, item in enumerate(items, 1):
        key = (getattr(item, "namespace", None), item.name)
        if key in seen:
            where = _Where(kind, source, position, item.name, key[0])
            raise BadInput(
                f"appears twice (#{seen[key]} and #{position}): each {kind} must be listed once",
                source=source,
                obj=where.obj,
            )
        seen[key] = position


def _of_kind(objects: Iterable[SourcedObject], kind: str, what: str) -> list[SourcedObject]:
    chosen = list(objects)
    wrong = sorted({str(o.obj.get("kind")) for o in chosen if o.obj.get("kind") != kind})
    if wrong:
        raise BadInput(f"expected {kind} objects ({what}), found {', '.join(wrong)}", source=chosen[0].source)
    return chosen


def nodes_from_objects(objects: Sequence[SourcedObject], source: str) -> list[Node]:
    """Nodes from a file's objects (``kubectl get nodes -o yaml|json``)."""
    if not objects:
        raise BadInput(
            "holds no Node objects (expected the output of `kubectl get nodes -o yaml`)", source=source
        )
    chosen = _of_kind(objects, "Node", "the output of `kubectl get nodes -o yaml`")
    nodes = [_node(_convert(o.obj, _Node, "Node", o.source, o.index), o.source, o.index) for o in chosen]
    _unique(nodes, "Node", source)
    return nodes


def pods_from_objects(objects: Sequence[SourcedObject], source: str) -> list[Pod]:
    """Pods from a file's objects (``kubectl get pods -A -o yaml|json``)."""
    if not objects:
        raise BadInput(
            "holds no Pod objects (expected the output of `kubectl get pods -A -o yaml`)", source=source
        )
    chosen = _of_kind(objects, "Pod", "the output of `kubectl get pods -A -o yaml`")
    pods = [_pod(_convert(o.obj, _Pod, "Pod", o.source, o.index), o.source, o.index) for o in chosen]
    _unique(pods, "Pod", source)
    return pods


def nodes_from_dicts(raw: Iterable[Mapping[str, Any]], source: str = API) -> list[Node]:
    """Nodes from API-shaped dicts (tests, and lists already decoded as JSON)."""
    return [_node(_convert(dict(r), _Node, "Node", source, i), source, i) for i, r in enumerate(raw, 1)]


def pods_from_dicts(raw: Iterable[Mapping[str, Any]], source: str = API) -> list[Pod]:
    return [_pod(_convert(dict(r), _Pod, "Pod", source, i), source, i) for i, r in enumerate(raw, 1)]


def pod_from_spec(
    spec: Mapping[str, Any], *, source: str = "the pod template", name: str = "template"
) -> Pod:
    """A pod template's ``spec`` (of a Deployment, a LeaderWorkerSet, an LLMInferenceService) as a typed Pod,
    so its GPUs follow the same effective-request rule as a running pod's."""
    wire = _convert({"metadata": {"name": name}, "spec": dict(spec)}, _Pod, "Pod", source, 1)
    return _pod(wire, source, 1)


def events_from_dicts(raw: Iterable[Mapping[str, Any]], source: str = API) -> list[Event]:
    out = []
    for i, r in enumerate(raw, 1):
        event = _event(_convert(dict(r), _Event, "Event", source, i))
        if event is not None:
            out.append(event)
    return out


class Page(Struct, frozen=True, gc=False):
    """One decoded list page."""

    items: list[Any]
    continue_token: str | None
    resource_version: str | None


def _decode_page(
    body: bytes, decoder: msgspec.json.Decoder[Any], wire_item: type[Any], kind: str, source: str, first: int
) -> tuple[list[Any], _ListMeta]:
    try:
        page = decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as err:
        try:
            raw = json.loads(body)
        except ValueError:
            raise BadInput(f"the {kind} list is not valid JSON: {err}", source=source) from None
        items = raw.get("items") if isinstance(raw, dict) else None
        if not isinstance(items, list):
            raise BadInput(f"the {kind} list has no items list", source=source) from None
        for i, item in enumerate(items):
            if not _fits(item, wire_item):
                raise _refuse(item, wire_item, kind, source, first + i) from None
        raise BadInput(f"the {kind} list cannot be read: {err}", source=source) from None
    return list(page.items or ()), page.metadata or _ListMeta()


def _fits(value: Any, target: type[Any]) -> bool:
    try:
        msgspec.convert(value, target, strict=True)
    except msgspec.ValidationError:
        return False
    return True


def decode_node_page(body: bytes, source: str = API, first: int = 1) -> Page:
    items, meta = _decode_page(body, _NODE_PAGE, _Node, "Node", source, first)
    nodes = [_node(w, source, first + i) for i, w in enumerate(items)]
    return Page(nodes, meta.continue_ or None, meta.resourceVersion)


def decode_pod_page(body: bytes, source: str = API, first: int = 1) -> Page:
    items, meta = _decode_page(body, _POD_PAGE, _Pod, "Pod", source, first)
    pods = [_pod(w, source, first + i) for i, w in enumerate(items)]
    return Page(pods, meta.continue_ or None, meta.resourceVersion)


def decode_event_page(body: bytes, source: str = API, first: int = 1) -> Page:
    items, meta = _decode_page(body, _EVENT_PAGE, _Event, "Event", source, first)
    events = [e for e in (_event(w) for w in items) if e is not None]
    return Page(events, meta.continue_ or None, meta.resourceVersion)


class _Listing(Struct, frozen=True, gc=False):
    kind: str | None = None


_LISTING = msgspec.json.Decoder(_Listing)


def _read_file(
    path: str, kind: str, decoder: msgspec.json.Decoder[Any]
) -> tuple[list[Any] | None, str, bytes]:
    """A ``kubectl get -o json`` List straight into typed structs (no dicts in between): about 10x faster
    than loading it. None when the file is something else (YAML, one object, a bad value): then the
    general reader takes it and, for a bad value, says exactly what and where."""
    from kubectl_kserve_mn.inputs import documents

    source = documents.source_name(path)
    data = documents.read_bytes(path)
    if not documents.looks_like_json(data):
        return None, source, data
    try:
        if (_LISTING.decode(data).kind or "").endswith("List"):
            items = list(decoder.decode(data).items or ())
            if all(item.kind in (None, kind) for item in items):
                return items, source, data
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    return None, source, data


def _objects_of(source: str, data: bytes) -> list[SourcedObject]:
    from kubectl_kserve_mn.inputs import documents

    text = documents.decode_text(data, source)
    return [
        SourcedObject(obj, source, i)
        for obj, i in documents.flatten(documents.parse_documents(text, source), source)
    ]


def read_nodes_file(path: str) -> list[Node]:
    """``--nodes-file``: the Nodes of ``kubectl get nodes -o yaml|json``."""
    wires, source, data = _read_file(path, "Node", _NODE_PAGE)
    if wires is None:
        return nodes_from_objects(_objects_of(source, data), source)
    if not wires:
        raise BadInput(
            "holds no Node objects (expected the output of `kubectl get nodes -o yaml`)", source=source
        )
    nodes = [_node(w, source, i) for i, w in enumerate(wires, 1)]
    _unique(nodes, "Node", source)
    return nodes


def read_pods_file(path: str) -> list[Pod]:
    """``--pods-file``: the Pods of ``kubectl get pods -A -o yaml|json``."""
    wires, source, data = _read_file(path, "Pod", _POD_PAGE)
    if wires is None:
        return pods_from_objects(_objects_of(source, data), source)
    if not wires:
        raise BadInput(
            "holds no Pod objects (expected the output of `kubectl get pods -A -o yaml`)", source=source
        )
    pods = [_pod(w, source, i) for i, w in enumerate(wires, 1)]
    _unique(pods, "Pod", source)
    return pods
