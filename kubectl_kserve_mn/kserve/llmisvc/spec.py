"""An LLMInferenceService read into the few typed values KServe's parallelism rules use.

Types and helpers follow ``pkg/apis/serving/v1alpha{1,2}/llm_inference_service_types{,_func}.go``
(v0.16.0..v0.20.0, unchanged between the tags): ``ParallelismSpec`` holds ``*int32`` tensor, pipeline,
data, dataLocal, dataRPCPort and a bool ``expert``; ``IsDataParallel`` is data > 0 or dataLocal > 0,
``IsPipelineParallel`` pipeline > 0, and ``GetSize`` (the LeaderWorkerSet size, and the size the webhook
keeps immutable) is ``max(max(data, 1) / max(dataLocal, 1), 1)`` (Go integer division) for data
parallelism, else ``pipeline``, else unset. ``tensor`` never counts (kserve#4946).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.inputs import BadInput, describe_value

KIND = "LLMInferenceService"
GROUP = "serving.kserve.io"
MAIN_LWS_SUFFIX = "-kserve-mn"
PREFILL_LWS_SUFFIX = "-kserve-mn-prefill"
_INT_FIELDS = ("tensor", "pipeline", "data", "dataLocal", "dataRPCPort")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def object_label(obj: Mapping[str, Any]) -> str:
    """``LLMInferenceService team-a/llama`` for messages."""
    meta = _dict(obj.get("metadata"))
    name = str(meta.get("name") or "")
    namespace = meta.get("namespace")
    return f"{KIND} {namespace}/{name}" if namespace else f"{KIND} {name}"


def _int_field(raw: Mapping[str, Any], key: str, obj: Mapping[str, Any], path: list[str | int]) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{describe_value(value)} is not an integer", obj=object_label(obj), path=[*path, key])
    return value


@dataclass(frozen=True)
class Parallelism:
    """``spec.parallelism`` (or ``spec.prefill.parallelism``) as written: None where unset."""

    tensor: int | None = None
    pipeline: int | None = None
    data: int | None = None
    data_local: int | None = None
    data_rpc_port: int | None = None
    expert: bool = False

    @classmethod
    def read(cls, raw: Any, obj: Mapping[str, Any], path: list[str | int]) -> Parallelism | None:
        """The block at ``path`` of ``obj``; None when it is absent or null (a nil pointer in Go)."""
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise BadInput(f"{describe_value(raw)} is not a mapping", obj=object_label(obj), path=path)
        expert = raw.get("expert", False)
        if expert is None:
            expert = False
        if not isinstance(expert, bool):
            raise BadInput(
                f"{describe_value(expert)} is not a boolean", obj=object_label(obj), path=[*path, "expert"]
            )
        values = {key: _int_field(raw, key, obj, path) for key in _INT_FIELDS}
        return cls(
            tensor=values["tensor"],
            pipeline=values["pipeline"],
            data=values["data"],
            data_local=values["dataLocal"],
            data_rpc_port=values["dataRPCPort"],
            expert=expert,
        )

    @property
    def is_data_parallel(self) -> bool:
        return (self.data or 0) > 0 or (self.data_local or 0) > 0

    @property
    def is_pipeline_parallel(self) -> bool:
        return (self.pipeline or 0) > 0

    def size(self) -> int | None:
        """``GetSize``: the LeaderWorkerSet size, None when neither data nor pipeline parallel."""
        if self.is_data_parallel:
            data = max(1 if self.data is None else self.data, 1)
            local = max(1 if self.data_local is None else self.data_local, 1)
            return max(data // local, 1)
        if self.is_pipeline_parallel:
            return self.pipeline
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "tensor": self.tensor,
            "pipeline": self.pipeline,
            "data": self.data,
            "dataLocal": self.data_local,
            "expert": self.expert,
        }


def size_of(parallelism: Parallelism | None) -> int | None:
    return None if parallelism is None else parallelism.size()


@dataclass(frozen=True)
class Workload:
    """The inline ``WorkloadSpec`` of ``spec`` or ``spec.prefill``."""

    path: tuple[str, ...]
    """``("spec",)`` or ``("spec", "prefill")``."""
    template: dict[str, Any] | None
    worker: dict[str, Any] | None
    parallelism: Parallelism | None
    replicas: int | None
    scaling: bool
    """``scaling`` is set (autoscaling: its rules are not checked)."""

    @property
    def multi_node(self) -> bool:
        """A ``worker`` makes the workload a LeaderWorkerSet."""
        return self.worker is not None

    @property
    def field(self) -> str:
        return ".".join(self.path)


def _pod(raw: Any, obj: Mapping[str, Any], path: list[str | int]) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadInput(f"{describe_value(raw)} is not a mapping", obj=object_label(obj), path=path)
    return raw


def read_workload(raw: Any, obj: Mapping[str, Any], path: tuple[str, ...]) -> Workload:
    block = raw if isinstance(raw, Mapping) else {}
    where: list[str | int] = list(path)
    replicas = _int_field(block, "replicas", obj, where)
    return Workload(
        path=path,
        template=_pod(block.get("template"), obj, [*where, "template"]),
        worker=_pod(block.get("worker"), obj, [*where, "worker"]),
        parallelism=Parallelism.read(block.get("parallelism"), obj, [*where, "parallelism"]),
        replicas=replicas,
        scaling=block.get("scaling") is not None,
    )


@dataclass(frozen=True)
class LLMInferenceService:
    """What the parallelism rules read of one object."""

    name: str
    namespace: str | None
    api_version: str
    main: Workload
    prefill: Workload | None
    base_refs: tuple[str, ...]
    deleting: bool
    model_uri: str | None
    raw: Mapping[str, Any]

    @property
    def workloads(self) -> tuple[Workload, ...]:
        return (self.main,) if self.prefill is None else (self.main, self.prefill)

    @property
    def version(self) -> str:
        """``v1alpha1`` / ``v1alpha2``."""
        return self.api_version.rpartition("/")[2]


def read(obj: Mapping[str, Any]) -> LLMInferenceService:
    """Read ``obj`` (a dict as the API or a file gives it). Raises :class:`BadInput` (exit 2) for a
    parallelism, replicas, template or worker value of the wrong type."""
    meta = _dict(obj.get("metadata"))
    spec = obj.get("spec")
    if spec is not None and not isinstance(spec, Mapping):
        raise BadInput(f"{describe_value(spec)} is not a mapping", obj=object_label(obj), path=["spec"])
    spec = spec or {}
    prefill_raw = spec.get("prefill")
    if prefill_raw is not None and not isinstance(prefill_raw, Mapping):
        raise BadInput(
            f"{describe_value(prefill_raw)} is not a mapping", obj=object_label(obj), path=["spec", "prefill"]
        )
    raw_refs = spec.get("baseRefs")
    refs: list[Any] = raw_refs if isinstance(raw_refs, list) else []
    model = _dict(spec.get("model"))
    return LLMInferenceService(
        name=str(meta.get("name") or ""),
        namespace=str(meta["namespace"]) if meta.get("namespace") else None,
        api_version=str(obj.get("apiVersion") or f"{GROUP}/v1alpha2"),
        main=read_workload(spec, obj, ("spec",)),
        prefill=None if prefill_raw is None else read_workload(prefill_raw, obj, ("spec", "prefill")),
        base_refs=tuple(str(_dict(r).get("name")) for r in refs if _dict(r).get("name")),
        deleting=bool(meta.get("deletionTimestamp")),
        model_uri=str(model["uri"]) if isinstance(model.get("uri"), str) else None,
        raw=obj,
    )
