"""A synthetic GPU cluster for the benchmark and for tests: nodes with GPU Feature Discovery labels,
pods that hold GPUs on some nodes, and a KServe controller Deployment.

Deterministic for a given seed. Objects look like what ``kubectl get -o json`` returns (labels,
capacity/allocatable, conditions, taints, container resources), so the JSON volume per object is
realistic (a few KB per pod, more per node).

    from synthetic_cluster import generate
    objects = generate(nodes=2000, pods=20000)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

H100_LABELS = {
    "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
    "nvidia.com/gpu.count": "8",
    "nvidia.com/gpu.memory": "81559",
    "nvidia.com/gpu.family": "hopper",
    "nvidia.com/gpu.machine": "PowerEdge-XE9680",
    "nvidia.com/gpu.compute.major": "9",
    "nvidia.com/gpu.compute.minor": "0",
    "nvidia.com/cuda.driver.major": "550",
    "nvidia.com/cuda.driver.minor": "54",
    "nvidia.com/cuda.driver.rev": "15",
    "nvidia.com/cuda.runtime.major": "12",
    "nvidia.com/cuda.runtime.minor": "4",
    "nvidia.com/gfd.timestamp": "1717000000",
    "nvidia.com/mig.capable": "true",
    "nvidia.com/gpu.deploy.driver": "true",
    "nvidia.com/gpu.present": "true",
    "node.kubernetes.io/instance-type": "p5.48xlarge",
}

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


@dataclass
class SyntheticCluster:
    nodes: list[Json] = field(default_factory=list)
    pods: list[Json] = field(default_factory=list)
    namespaces: list[Json] = field(default_factory=list)
    deployments: list[Json] = field(default_factory=list)
    configmaps: list[Json] = field(default_factory=list)
    inferenceservices: list[Json] = field(default_factory=list)
    runtimes: list[Json] = field(default_factory=list)
    events: list[Json] = field(default_factory=list)

    def objects(self) -> list[Json]:
        return [
            *self.namespaces,
            *self.nodes,
            *self.deployments,
            *self.configmaps,
            *self.runtimes,
            *self.inferenceservices,
            *self.pods,
            *self.events,
        ]


def node(name: str, index: int, *, gpus: int = 8, cordoned: bool = False, ready: bool = True) -> Json:
    zone = f"us-east-1{'abc'[index % 3]}"
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": zone,
        "topology.kubernetes.io/region": "us-east-1",
        **H100_LABELS,
        "nvidia.com/gpu.count": str(gpus),
    }
    taints = [GPU_TAINT]
    if cordoned:
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    resources = {
        "cpu": "192",
        "memory": "2097152Mi",
        "ephemeral-storage": "7500Gi",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "pods": "110",
        "nvidia.com/gpu": str(gpus),
        "vpc.amazonaws.com/efa": "32",
    }
    allocatable = {**resources, "cpu": "191450m", "memory": "2060000Mi"}
    condition_time = "2024-06-01T00:00:00Z"
    conditions = [
        {"type": t, "status": "False", "reason": f"KubeletHas{r}", "message": m}
        for t, r, m in (
            ("MemoryPressure", "SufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "NoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "SufficientPID", "kubelet has sufficient PID available"),
        )
    ]
    conditions.append(
        {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "kubelet is posting ready status" if ready else "container runtime is down",
        }
    )
    for condition in conditions:
        condition["lastHeartbeatTime"] = condition_time
        condition["lastTransitionTime"] = condition_time
    spec: Json = {"providerID": f"aws:///{zone}/i-{index:017x}", "taints": taints}
    if cordoned:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
        "status": {
            "capacity": resources,
            "allocatable": allocatable,
            "conditions": conditions,
            "addresses": [
                {
                    "type": "InternalIP",
                    "address": f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}",
                },
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://1.7.11",
                "kernelVersion": "5.10.217-205.860.amzn2.x86_64",
                "kubeProxyVersion": "v1.30.0-eks",
                "kubeletVersion": "v1.30.0-eks",
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2",
            },
            "images": [
                {"names": [f"registry.example.com/images/layer-{j}:v1.{j}"], "sizeBytes": 100_000_000 + j}
                for j in range(8)
            ],
        },
    }


def pod(
    name: str,
    namespace: str,
    node_name: str | None,
    *,
    gpus: int = 0,
    phase: str = "Running",
    gpu_in: str = "limits",
) -> Json:
    resources: Json = {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "16Gi"}}
    if gpus:
        resources.setdefault(gpu_in, {})["nvidia.com/gpu"] = str(gpus)
    spec: Json = {
        "containers": [
            {
                "name": "main",
                "image": "registry.example.com/team/app:1.0",
                "args": ["--port", "8080"],
                "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "WORKERS", "value": "4"}],
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": resources,
                "volumeMounts": [
                    {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
                ],
                "terminationMessagePath": "/dev/termination-log",
                "imagePullPolicy": "IfNotPresent",
            }
        ],
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
        "tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
        ],
        "volumes": [
            {
                "name": "kube-api-access",
                "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
            }
        ],
    }
    if node_name:
        spec["nodeName"] = node_name
    status: Json = {"phase": phase, "qosClass": "Burstable"}
    if node_name and phase == "Running":
        status["conditions"] = [
            {"type": t, "status": "True", "lastTransitionTime": "2024-06-01T00:00:00Z"}
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ]
        status["containerStatuses"] = [
            {
                "name": "main",
                "ready": True,
                "restartCount": 0,
                "image": "registry.example.com/team/app:1.0",
                "started": True,
                "state": {"running": {"startedAt": "2024-06-01T00:00:00Z"}},
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": name.rsplit("-", 1)[0], "pod-template-hash": "6d4cf56db6"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{name.rsplit('-', 1)[0]}-6d4cf56db6",
                    "uid": "00000000-0000-0000-0000-000000000000",
                    "controller": True,
                }
            ],
        },
        "spec": spec,
        "status": status,
    }


ISVC_LABEL = "serving.kserve.io/inferenceservice"


def inferenceservice(name: str, namespace: str, *, pp: int = 2, tp: int = 8, generation: int = 1) -> Json:
    """A multi-node InferenceService as users write them for KServe v0.15.1+ (PP x TP, GPU requests)."""
    gpus = {"limits": {"nvidia.com/gpu": str(tp)}, "requests": {"nvidia.com/gpu": str(tp)}}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "generation": generation,
            "annotations": {
                "serving.kserve.io/autoscalerClass": "none",
                "serving.kserve.io/deploymentMode": "RawDeployment",
            },
        },
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "storageUri": f"pvc://{name}-pvc/model",
                    "args": ["--max-model-len=8192"],
                    "resources": gpus,
                },
                "workerSpec": {
                    "pipelineParallelSize": pp,
                    "tensorParallelSize": tp,
                    "containers": [{"name": "worker-container", "resources": gpus}],
                },
            }
        },
        "status": {"observedGeneration": generation},
    }


def serving_runtime(namespace: str) -> Json:
    """A namespaced copy of KServe's multi-node huggingface runtime (what teams often keep next to their models)."""
    container = {
        "name": "kserve-container",
        "image": "kserve/huggingfaceserver:v0.15.1-gpu",
        "command": ["bash", "-c"],
        "args": ["ray start --head --disable-usage-stats && python -m huggingfaceserver"],
        "resources": {"requests": {"cpu": "4", "memory": "12Gi"}, "limits": {"cpu": "4", "memory": "12Gi"}},
    }
    worker = {
        **container,
        "name": "worker-container",
        "args": ["ray start --address=$RAY_HEAD_ADDRESS --block"],
    }
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ServingRuntime",
        "metadata": {"name": "team-huggingface-multinode", "namespace": namespace},
        "spec": {
            "supportedModelFormats": [{"name": "huggingface", "version": "1", "autoSelect": True}],
            "protocolVersions": ["v2", "v1"],
            "containers": [container],
            "workerSpec": {"pipelineParallelSize": 1, "tensorParallelSize": 1, "containers": [worker]},
        },
    }


def failed_scheduling(pod_name: str, namespace: str, index: int) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod_name}.{index:08x}", "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": namespace},
        "reason": "FailedScheduling",
        "type": "Warning",
        "message": "0/2000 nodes are available: 2000 Insufficient nvidia.com/gpu.",
    }


def controller_deployment(image: str, namespace: str = "kserve") -> Json:
    """The KServe controller Deployment as in install/vX.Y.Z/kserve.yaml (labels, container name)."""
    labels = {
        "control-plane": "kserve-controller-manager",
        "controller-tools.k8s.io": "1.0",
        "app.kubernetes.io/name": "kserve-controller-manager",
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "kserve-controller-manager", "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"control-plane": "kserve-controller-manager"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "manager", "image": image, "args": ["--metrics-addr=127.0.0.1:8080"]},
                        {"name": "kube-rbac-proxy", "image": "gcr.io/kubebuilder/kube-rbac-proxy:v0.13.1"},
                    ]
                },
            },
        },
    }


def inferenceservice_config(custom_gpu_resources: list[str], namespace: str = "kserve") -> Json:
    import json

    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "inferenceservice-config", "namespace": namespace},
        "data": {"multiNode": json.dumps({"customGPUResourceTypeList": custom_gpu_resources})},
    }


def generate(
    nodes: int = 2000,
    pods: int = 20000,
    *,
    gpus_per_node: int = 8,
    seed: int = 0,
    kserve_image: str = "kserve/kserve-controller:v0.15.1",
    namespaces: int = 20,
    isvcs: int = 0,
) -> SyntheticCluster:
    """A cluster of ``nodes`` GPU nodes (8 x H100 each, GFD labels) and ``pods`` pods.

    About 1 % of nodes are cordoned, 0.5 % NotReady; every node has the usual nvidia.com/gpu taint. A
    third of the nodes run GPU pods (1, 2, 4 or 8 GPUs in limits), so free GPUs vary per node; 5 % of
    pods are Succeeded/Failed and 2 % Pending without a node (both must be ignored by the inventory).

    ``isvcs`` multi-node InferenceServices (PP=2 x TP=8, GPU requests) spread over the namespaces, each with
    a head and a worker pod labelled ``serving.kserve.io/inferenceservice`` (part of ``pods``), a
    ServingRuntime per namespace, and for one in 20 a Pending worker with its FailedScheduling event.
    """
    rng = random.Random(seed)
    cluster = SyntheticCluster()
    ns_names = [f"team-{i:02d}" for i in range(namespaces)]
    cluster.namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in [*ns_names, "kserve"]
    ]
    node_names = [f"gpu-node-{i:05d}" for i in range(nodes)]
    for i, name in enumerate(node_names):
        cluster.nodes.append(node(name, i, gpus=gpus_per_node, cordoned=i % 100 == 7, ready=i % 200 != 13))
    free = dict.fromkeys(node_names, gpus_per_node)
    isvc_pods: list[Json] = []
    hosts = iter(node_names)  # InferenceService pods take whole nodes, first come first served
    for i in range(isvcs):
        namespace = ns_names[i % len(ns_names)]
        name = f"llm-{i:04d}"
        cluster.inferenceservices.append(inferenceservice(name, namespace))
        for role in ("predictor", "predictor-worker"):
            pod_name = f"{name}-{role}-7d9f8c6b5-{i:05x}"
            pending = role == "predictor-worker" and i % 20 == 19
            host = None if pending else next(hosts, None)
            placed = pod(
                pod_name,
                namespace,
                host,
                gpus=gpus_per_node,
                phase="Running" if host else "Pending",
                gpu_in="requests",
            )
            placed["metadata"]["labels"] = {
                ISVC_LABEL: name,
                "component": "predictor",
                "isvc.generation": "1",
            }
            if host:
                free[host] = 0
            else:
                cluster.events.append(failed_scheduling(pod_name, namespace, i))
            isvc_pods.append(placed)
    if isvcs:
        cluster.runtimes = [serving_runtime(ns) for ns in ns_names]
    cluster.pods.extend(isvc_pods)
    spare = [n for n in node_names if free[n]]
    gpu_nodes = set(rng.sample(spare, k=min(len(spare), nodes // 3))) if spare else set()
    for i in range(max(0, pods - len(isvc_pods))):
        namespace = ns_names[i % len(ns_names)]
        name = f"app-{i % 500:03d}-{i:06d}"
        roll = rng.random()
        if roll < 0.02 or not node_names:
            cluster.pods.append(pod(name, namespace, None, phase="Pending"))
            continue
        node_name = node_names[i % len(node_names)]
        phase = "Succeeded" if roll < 0.05 else "Failed" if roll < 0.07 else "Running"
        gpus = 0
        if node_name in gpu_nodes and free[node_name] > 0:
            gpus = min(rng.choice((1, 2, 4, 8)), free[node_name])
            if phase == "Running":
                free[node_name] -= gpus
        cluster.pods.append(pod(name, namespace, node_name, gpus=gpus, phase=phase))
    cluster.deployments.append(controller_deployment(kserve_image))
    cluster.configmaps.append(inferenceservice_config([]))
    return cluster


if __name__ == "__main__":
    import json
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    out = generate(nodes=size, pods=size * 10)
    json.dump({"apiVersion": "v1", "kind": "List", "items": out.nodes}, sys.stdout, indent=1)
