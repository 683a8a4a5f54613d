"""What the nodes say about the links between GPUs: NVLink cliques, RDMA and NVLink inside a node.

Pure functions over node labels and extended resources. Where each signal comes from:

- ``nvidia.com/gpu.clique``: GPU Feature Discovery (now inside NVIDIA/k8s-device-plugin) sets it on
  nodes whose GPUs are attached to a multi-node NVLink fabric (GB200/GB300 NVL72 and the like). The
  value is ``<ClusterUUID>.<CliqueID>`` from NVML's GPU fabric info, written only when every
  fabric-attached GPU of the node reports the same pair
  (NVIDIA/k8s-device-plugin@1b826acc6af3079d8923bac395c3124b8861a9a6:internal/lm/imex.go,
  ``newImexLabeler``/``getFabricIDs``; internal/resource/nvml-device.go ``GetFabricIDs``;
  docs/gpu-feature-discovery/README.md "GPUFabric ClusterUUID + CliqueID"). Nodes with the same value
  share one NVLink domain: tensor parallelism across them runs at NVLink speed, across cliques it
  does not.
- IMEX channels: GPU memory is shared across nodes of a clique only through an IMEX channel the pod
  holds. Either a DRA ``ComputeDomain`` (resource.nvidia.com/v1beta1) whose
  ``spec.channel.resourceClaimTemplate.name`` the pods claim in ``spec.resourceClaims`` and
  ``resources.claims`` (NVIDIA/k8s-dra-driver-gpu@22407113785e78c7763b4637689a201eb39c6199:
  api/nvidia.com/resource/v1beta1/computedomain.go, demo/specs/imex/channel-injection.yaml,
  docs/install.md "Run a sample ComputeDomain workload"), or the device plugin's global
  ``imex.channelIDs: [0]`` setting, which injects channel 0 (CDI kind ``nvidia.com/imex-channel``) into
  every container that gets GPUs (k8s-device-plugin README "IMEX Support", api/config/v1/imex.go).
- RDMA, from Node Feature Discovery's built-in rules: ``feature.node.kubernetes.io/rdma.capable``
  (a PCI device of vendor 15b3, Mellanox/NVIDIA networking) and ``rdma.available`` (kernel modules
  ``ib_uverbs`` and ``rdma_ucm`` loaded)
  (kubernetes-sigs/node-feature-discovery@76e6cc8cc0d54b8bce037098b72611ffdf66ef5a:
  source/custom/static_features.go). NFD before v0.14 (legacy custom rules, commit b1b30617) named
  them ``custom-rdma.capable`` / ``custom-rdma.available``, which docs/usage/features.md still shows;
  both spellings are read.
- RDMA devices a pod can request (extended resources in the node's allocatable):
  ``rdma/<name>`` from the RDMA shared device plugin (default prefix ``rdma``,
  Mellanox/k8s-rdma-shared-dev-plugin@410b0f3262b8df521f55dfb925637a8a28ebdda0:
  pkg/resources/resources_manager.go; ``rdma/rdma_shared_device_a`` in the NVIDIA Network Operator's
  examples); ``nvidia.com/hostdev`` and other ``nvidia.com/rdma*`` names from the SR-IOV device plugin
  under the Network Operator's ``resourcePrefix: nvidia.com``
  (Mellanox/network-operator@b06827e085c59726b699faffcc526342d4d8e395:
  example/crs/mellanox.com_v1alpha1_nicclusterpolicy_cr-full.yaml, example/hostdevice-network-pod1.yml);
  AWS EFA ``vpc.amazonaws.com/efa`` (aws-samples/aws-efa-eks@190e0613d886aa38eca77bf2d76f1c24b1a11704:
  examples/simple/nccl-efa-tests.yaml, with ``FI_EFA_USE_DEVICE_RDMA=1``); GKE's
  ``networking.gke.io.networks/rdma-<n>`` (NVIDIA AI Cluster Runtime, "GKE GB200 (A4X) Networking
  Prerequisites", docs.nvidia.com/aicr/integrator-guide/gke-gb-200-networking). A pod gets the device
  only when it requests the resource.
- NVLink inside a node, from the GPU product (``nvidia.com/gpu.product``, the NVML name sanitised):
  SXM modules and superchips (``*-SXM*``, ``H100-80GB-HBM3``, ``H200``, ``B200``, ``GB200``...) have
  NVLink between the node's GPUs; PCIe cards (``*-PCIe``, L4, L40S, A10G, T4...) do not, and vLLM
  advises pipeline parallelism over tensor parallelism on them
  (vllm-project/vllm@096bd6a4a109b13698ab85782cc1a3630aa002ee:docs/serving/parallelism_scaling.md,
  "if the GPUs on the node do not have NVLINK interconnect (e.g. L40S)"). ``-NVL`` cards (H100 NVL,
  H200 NVL) are PCIe cards bridged in pairs or fours: not classified.

vLLM's own advice for tensor parallelism across nodes (same file): it needs fast inter-node links,
preferably InfiniBand with GPUDirect RDMA; NCCL logs ``via NET/IB/GDRDMA`` when it is used and
``via NET/Socket`` (plain TCP, "not efficient for cross-node tensor parallelism") when it is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

CLIQUE_LABEL = "nvidia.com/gpu.clique"
PRODUCT_LABEL = "nvidia.com/gpu.product"

NFD_PREFIX = "feature.node.kubernetes.io/"
NFD_RDMA_LABELS: tuple[str, ...] = (
    "feature.node.kubernetes.io/rdma.available",
    "feature.node.kubernetes.io/rdma.capable",
    "feature.node.kubernetes.io/custom-rdma.available",
    "feature.node.kubernetes.io/custom-rdma.capable",
)
"""NFD's built-in RDMA labels, current spelling first, then the legacy ``custom-`` one."""

RDMA_RESOURCE_NAMES: tuple[str, ...] = ("nvidia.com/hostdev", "vpc.amazonaws.com/efa")
RDMA_RESOURCE_PREFIXES: tuple[str, ...] = ("rdma/", "nvidia.com/rdma", "networking.gke.io.networks/rdma")

NVLINK = "nvlink"
PCIE = "pcie"

GPU_TYPES_NOTE = (
    "listed in the serving.kserve.io/gpu-resource-types annotation, which KServe's webhook requires for any "
    "extended resource it does not know"
)

COMPUTE_DOMAIN_HINT = (
    "give the pods IMEX channel access: a DRA ComputeDomain (resource.nvidia.com/v1beta1) and, in "
    "spec.predictor and spec.predictor.workerSpec, resourceClaims naming its channel's "
    "resourceClaimTemplate plus resources.claims in their containers; or the NVIDIA device plugin's "
    "imex.channelIDs: [0]"
)


def is_rdma_resource(name: str) -> bool:
    """An extended resource that hands a pod an RDMA-capable network device."""
    return name in RDMA_RESOURCE_NAMES or name.startswith(RDMA_RESOURCE_PREFIXES)


def _true(value: Any) -> bool:
    return str(value).strip().lower() == "true"


@dataclass(frozen=True)
class NodeLinks:
    """One node's interconnect as its labels and resources say."""

    clique: str | None = None
    """``nvidia.com/gpu.clique``: the multi-node NVLink domain of the node's GPUs."""
    rdma_resources: tuple[str, ...] = ()
    """RDMA device resources the node offers (allocatable > 0): pods get RDMA by requesting one."""
    rdma_labels: tuple[str, ...] = ()
    """NFD labels saying the node has RDMA hardware (``rdma.capable``) or its drivers loaded."""
    nfd: bool = False
    """The node carries Node Feature Discovery labels at all: without them, no RDMA label proves nothing."""

    @property
    def rdma(self) -> bool:
        return bool(self.rdma_resources or self.rdma_labels)

    def to_json(self) -> dict[str, Any]:
        return {
            "nvlinkClique": self.clique,
            "rdma": self.rdma,
            "rdmaResources": list(self.rdma_resources),
            "rdmaLabels": list(self.rdma_labels),
        }


def node_links(labels: Mapping[str, str], allocatable: Mapping[str, int]) -> NodeLinks:
    clique = str(labels.get(CLIQUE_LABEL) or "").strip() or None
    resources = tuple(sorted(n for n, count in allocatable.items() if count > 0 and is_rdma_resource(n)))
    found = tuple(key for key in NFD_RDMA_LABELS if _true(labels.get(key)))
    nfd = any(key.startswith(NFD_PREFIX) for key in labels)
    return NodeLinks(clique=clique, rdma_resources=resources, rdma_labels=found, nfd=nfd)


_PCIE_ONLY = ("L4", "L40", "L40S", "L20", "A10", "A10G", "A16", "A2", "T4")
"""Datacenter PCIe cards without any NVLink (A40, A30 and RTX cards take NVLink bridges: not classified)."""


def gpu_link(product: str | None) -> str | None:
    """``nvlink`` (SXM module or superchip), ``pcie`` (PCIe card without NVLink) or None (unknown)."""
    if not product:
        return None
    name = product.upper().removeprefix("NVIDIA-").removesuffix("-SHARED")
    parts = name.split("-")
    if "PCIE" in parts or parts[0] in _PCIE_ONLY or name == "TESLA-T4":
        return PCIE
    if "NVL" in parts:
        return None  # PCIe cards bridged by NVLink in pairs or fours
    if "SXM" in name or parts[0] in ("GB200", "GB300", "GH200", "B200", "B300", "H200", "H20"):
        return NVLINK
    if parts[0] in ("H100", "H800") and "HBM3" in parts:
        return NVLINK  # NVML names the SXM5 H100 "NVIDIA H100 80GB HBM3"; the PCIe card "H100 PCIe"
    return None


class _NodeLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def links(self) -> NodeLinks: ...
    @property
    def physical(self) -> int: ...
    @property
    def free(self) -> int: ...


@dataclass(frozen=True)
class Clique:
    id: str
    nodes: tuple[str, ...]
    gpus: int
    free_gpus: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "nodes": list(self.nodes), "gpus": self.gpus, "freeGpus": self.free_gpus}


def cliques_of(nodes: Iterable[_NodeLike]) -> tuple[Clique, ...]:
    """The NVLink cliques among ``nodes``, largest first."""
    members: dict[str, list[_NodeLike]] = {}
    for node in nodes:
        if node.links.clique:
            members.setdefault(node.links.clique, []).append(node)
    cliques = [
        Clique(
            cid,
            tuple(n.name for n in group),
            sum(n.physical for n in group),
            sum(min(n.free, n.physical) for n in group),
        )
        for cid, group in members.items()
    ]
    return tuple(sorted(cliques, key=lambda c: (-c.gpus, c.id)))


@dataclass(frozen=True)
class PoolInterconnect:
    """A pool's interconnect: its NVLink cliques, RDMA on its nodes, NVLink inside its nodes."""

    cliques: tuple[Clique, ...]
    nodes_without_clique: tuple[str, ...]
    rdma_nodes: tuple[str, ...]
    nodes_without_rdma: tuple[str, ...]
    rdma_resources: tuple[str, ...]
    """RDMA device resources every RDMA node offers (the ones a pod can request on any of them)."""
    rdma_labels: tuple[str, ...]
    gpu_link: str | None
    product: str | None

    @property
    def rdma(self) -> bool:
        """Every schedulable node of the pool shows RDMA."""
        return bool(self.rdma_nodes) and not self.nodes_without_rdma

    @property
    def source(self) -> dict[str, Any]:
        return {
            "nvlinkClique": CLIQUE_LABEL if self.cliques else None,
            "rdma": [*self.rdma_resources, *self.rdma_labels],
            "gpuLink": f"{PRODUCT_LABEL}={self.product}" if self.gpu_link else None,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "nvlinkClique": [c.to_json() for c in self.cliques],
            "rdma": self.rdma,
            "source": self.source,
            "nodesWithoutClique": list(self.nodes_without_clique) if self.cliques else [],
            "rdmaNodes": list(self.rdma_nodes),
            "nodesWithoutRdma": list(self.nodes_without_rdma) if self.rdma_nodes else [],
            "rdmaResources": list(self.rdma_resources),
            "gpuLink": self.gpu_link,
        }

    def link_text(self) -> str:
        if self.gpu_link == NVLINK:
            return f"NVLink ({self.product})"
        if self.gpu_link == PCIE:
            return f"PCIe only ({self.product})"
        return "unknown"

    def clique_text(self) -> str:
        if not self.cliques:
            return f"none (no {CLIQUE_LABEL} label)"
        sizes = ", ".join(f"{len(c.nodes)} nodes/{c.gpus} GPUs" for c in self.cliques)
        without = f"; {len(self.nodes_without_clique)} node(s) without" if self.nodes_without_clique else ""
        return f"{len(self.cliques)} from {CLIQUE_LABEL} ({sizes}){without}"

    def rdma_text(self) -> str:
        if not self.rdma_nodes:
            return "none (no NFD rdma label, no RDMA device resource)"
        total = len(self.rdma_nodes) + len(self.nodes_without_rdma)
        where = "every node" if self.rdma else f"{len(self.rdma_nodes)} of {total} nodes"
        if self.rdma_resources:
            return f"{', '.join(self.rdma_resources)} on {where}"
        label = self.rdma_labels[0] if self.rdma_labels else "NFD"
        return f"label {label} on {where} (no device resource)"


def pool_interconnect(nodes: Sequence[_NodeLike], product: str | None) -> PoolInterconnect:
    with_rdma = [n for n in nodes if n.links.rdma]
    common: set[str] | None = None
    for node in with_rdma:
        common = set(node.links.rdma_resources) if common is None else common & set(node.links.rdma_resources)
    labels = sorted({label for n in with_rdma for label in n.links.rdma_labels})
    return PoolInterconnect(
        cliques=cliques_of(nodes),
        nodes_without_clique=tuple(n.name for n in nodes if not n.links.clique),
        rdma_nodes=tuple(n.name for n in with_rdma),
        nodes_without_rdma=tuple(n.name for n in nodes if not n.links.rdma),
        rdma_resources=tuple(sorted(common or ())),
        rdma_labels=tuple(labels),
        gpu_link=gpu_link(product),
        product=product,
    )


# --- what a layout's placement means for its traffic ---------------------------------------------


def _names(items: Iterable[str], limit: int = 3) -> str:
    listed = list(items)
    shown = ", ".join(listed[:limit])
    return shown + (f" and {len(listed) - limit} more" if len(listed) > limit else "")


def common_rdma_resources(nodes: Sequence[_NodeLike]) -> list[str]:
    """The RDMA device resources every one of ``nodes`` offers."""
    sets = [set(n.links.rdma_resources) for n in nodes]
    return sorted(set.intersection(*sets)) if sets else []


def rdma_sentence(nodes: Sequence[_NodeLike]) -> str:
    """What the nodes say about RDMA, for a note or a finding."""
    without = [n.name for n in nodes if not n.links.rdma]
    if not nodes or len(without) == len(nodes):
        unseen = (
            " (nor any Node Feature Discovery label: RDMA may be there unseen)"
            if nodes and not any(n.links.nfd for n in nodes)
            else ""
        )
        return (
            "no RDMA found on these nodes (no feature.node.kubernetes.io/rdma.* label, no RDMA device "
            f"resource){unseen}: NCCL would fall back to TCP sockets (NET/Socket)"
        )
    if without:
        return f"no RDMA found on {_names(without)}: NCCL would fall back to TCP sockets there"
    resources = common_rdma_resources(nodes)
    if resources:
        return (
            f"RDMA on every node ({resources[0]}): request {resources[0]} in the head and worker containers "
            f"({GPU_TYPES_NOTE}) so NCCL can use it (NET/IB/GDRDMA in its log)"
        )
    labels = sorted({label for n in nodes for label in n.links.rdma_labels})
    if labels:
        return (
            f"RDMA hardware on every node (label {labels[0]}) but no RDMA device resource: pods reach it only "
            "with host networking or a device plugin"
        )
    return "RDMA on every node, but under different device resources: pods cannot request one name on all"


def layout_notes(
    *,
    cross_node_tp: bool,
    pods: int,
    tensor_parallel: int,
    placed: Sequence[_NodeLike],
    pool: Sequence[_NodeLike],
    clique: str | None,
    link: str | None,
    product: str | None,
) -> tuple[str, ...]:
    """The ``interconnect`` notes of a layout placed on ``placed`` (one entry per pod's node, repeats
    allowed) in a pool of ``pool`` nodes: what carries its tensor-parallel and pipeline traffic."""
    notes: list[str] = []
    hosts = list({n.name: n for n in placed}.values())
    cliques = sorted({n.links.clique or "" for n in hosts})
    if cross_node_tp:
        if clique is not None:
            notes.append(
                f"tensor parallelism spans {pods} pods inside NVLink clique {clique} ({CLIQUE_LABEL}): NVLink "
                f"speed; keep them there with nodeSelector {CLIQUE_LABEL}: {clique} on the head and workers"
            )
            notes.append(COMPUTE_DOMAIN_HINT)
        elif any(n.links.clique for n in pool):
            notes.append(
                f"tensor parallelism spans {pods} pods and no NVLink clique of the pool holds them all: across "
                f"cliques ({_names(c or 'none' for c in cliques)}) it runs over the network; "
                + rdma_sentence(hosts or pool)
            )
        else:
            notes.append(
                f"tensor parallelism spans {pods} pods over the network; " + rdma_sentence(hosts or pool)
            )
    elif len(hosts) > 1:
        if len(cliques) > 1 and any(cliques):
            notes.append(
                f"pipeline stages span NVLink cliques ({_names(c or 'none' for c in cliques)}): stage-to-stage "
                "traffic goes over the network (only activations, which pipeline parallelism keeps small)"
            )
        resources = common_rdma_resources(hosts)
        if resources:
            notes.append(
                f"pipeline stages cross nodes: request {resources[0]} in the head and worker containers "
                f"({GPU_TYPES_NOTE}) so NCCL uses RDMA"
            )
    if link == PCIE and tensor_parallel > 1:
        notes.append(
            f"{product} GPUs have no NVLink: tensor parallelism runs over PCIe; vLLM advises pipeline "
            "parallelism instead on such nodes"
        )
    return tuple(notes)
