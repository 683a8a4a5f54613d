"""The model's findings: vLLM's rules and the memory estimate at the controller's layout."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from kubectl_kserve_mn.findings.report import (
    DEFAULT_UTILIZATION,
    ERROR,
    INFO,
    MODEL_MEMORY_UNKNOWN,
    MODEL_UNREADABLE,
    Finding,
    ModelInput,
    NodeView,
    fix_command,
    name_of,
    namespace_of,
)
from kubectl_kserve_mn.findings.schedulability import pod_selectors
from kubectl_kserve_mn.kserve.controller import (
    ControllerLayout,
)
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.kserve.runtimes import (
    merged_head_container,
)
from kubectl_kserve_mn.model import (
    MODEL_ANNOTATION,
    MemoryEstimate,
    estimate_memory,
    layout_violations,
    memory_violations,
)

# --- the model ----------------------------------------------------------------------------------

MIB = 1 << 20
_SIZE_SUFFIXES = {"k": 10**3, "m": 10**6, "g": 10**9, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def vllm_arg(container: Mapping[str, Any], flag: str) -> str | None:
    """The value of a vLLM flag in a container's args: ``--max-model-len=N``, ``--max-model-len N`` or the
    underscore spelling (vLLM's FlexibleArgumentParser accepts both); the last one wins, as in argparse."""
    spellings = {flag, "--" + flag[2:].replace("-", "_")}
    raw = container.get("args")
    args = [str(a) for a in raw if isinstance(a, str | int | float)] if isinstance(raw, list) else []
    value: str | None = None
    for index, arg in enumerate(args):
        key, sep, rest = arg.partition("=")
        if key in spellings:
            if sep:
                value = rest
            elif index + 1 < len(args):
                value = args[index + 1]
    return value


def human_int(text: str) -> int | None:
    """vLLM's ``human_readable_int`` for --max-model-len: 32768, 32k (x1000) or 32K (x1024)."""
    text = text.strip()
    scale = _SIZE_SUFFIXES.get(text[-1:], 1) if text else 1
    number = text[:-1] if scale != 1 else text
    try:
        value = int(float(number) * scale) if scale != 1 else int(number)
    except ValueError:
        return None
    return value if value >= 1 else None


def _vllm_settings(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, model: ModelInput
) -> tuple[float, int | None]:
    """--gpu-memory-utilization and --max-model-len: the command line's, else the head container's vLLM
    args (runtime args first, then the InferenceService's, as KServe concatenates them), else defaults."""
    head = merged_head_container(isvc, runtime)
    utilization = model.utilization
    if utilization is None:
        raw = vllm_arg(head, "--gpu-memory-utilization")
        try:
            parsed = float(raw) if raw is not None else None
        except ValueError:
            parsed = None
        utilization = parsed if parsed is not None and 0 < parsed <= 1 else DEFAULT_UTILIZATION
    max_len = model.max_model_len
    if max_len is None:
        raw = vllm_arg(head, "--max-model-len")
        max_len = human_int(raw) if raw is not None else None
    return utilization, max_len


def _layout_gpu_memory(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, layout: ControllerLayout, view: NodeView
) -> tuple[int, str] | None:
    """Bytes per GPU from the labels of the nodes the layout's pods may land on (their GPU resource and
    nodeSelector; nodes big enough for the pod when there are any), the smallest when they differ."""
    head_sel, worker_sel = pod_selectors(isvc, runtime)
    asks = [(layout.head.gpu_resource, layout.head.gpus, head_sel)]
    if layout.worker_replicas:
        asks.append((layout.worker.gpu_resource, layout.worker.gpus, worker_sel))
    found: dict[str, int] = {}
    for resource, gpus, selector in asks:
        if gpus <= 0 or (view.gpu_resource and resource != view.gpu_resource):
            continue
        inventory = view.inventory(resource, selector or None, with_pods=False)
        nodes = [n for n in inventory.nodes if n.gpu_resource == resource and n.placeable]
        fitting = [n for n in nodes if n.physical >= gpus] or nodes
        found.update({n.name: n.memory_mib for n in fitting if n.memory_mib})
    if not found:
        return None
    smallest = min(found.values())
    names = sorted(found)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    sizes = sorted(set(found.values()))
    what = f"{smallest:,} MiB per GPU from the labels of {shown}"
    if len(sizes) > 1:
        what += f"; the smallest of {', '.join(f'{m:,}' for m in sizes)} MiB, as the pods may land on any"
    return smallest * MIB, what


def _model_suggestion(
    name: str, namespace: str | None, model: ModelInput, kv: KServeVersion, *, existing: bool
) -> str:
    if existing:
        return f"{fix_command(name, namespace)} {shlex.join(['--model', model.spec, *model.flags])}"
    version = ["--kserve-version", kv.version] if kv.version else []
    return "kubectl kserve-mn plan " + shlex.join(
        ["--model", model.spec, *model.plan_flags, *model.flags, *version]
    )


def unreadable_model(model: ModelInput) -> Finding:
    return Finding(
        MODEL_UNREADABLE,
        ERROR,
        f"cannot load the model named by {model.source} ({model.spec}): {model.error}; the model's vLLM "
        "rules and memory were not checked",
        f"set {MODEL_ANNOTATION} to a config.json path, a model directory or a Hugging Face id (org/name), "
        "or pass --model",
    )


def model_findings(
    isvc: Mapping[str, Any],
    runtime: Mapping[str, Any] | None,
    layout: ControllerLayout,
    model: ModelInput,
    kv: KServeVersion,
    *,
    nodes: NodeView | None = None,
    existing: bool = False,
) -> tuple[list[Finding], MemoryEstimate | None]:
    """vLLM's rules for the model at the controller's TP x PP (what vLLM is started with), and the per-GPU
    memory estimate when the GPU memory is known (node labels of the pods' nodes, else --gpu-memory)."""
    if model.facts is None:
        return [unreadable_model(model)], None
    facts = model.facts
    tp, pp = layout.tensor_parallel_size, layout.pipeline_parallel_size
    at = f"TP={tp} x PP={pp}"
    suggestion = _model_suggestion(name_of(isvc), namespace_of(isvc), model, kv, existing=existing)
    findings: list[Finding] = []
    for violation in layout_violations(facts, tp, pp):
        lead = (
            f"vLLM will refuse to start {facts.name} at {at}" if violation.severity == ERROR else facts.name
        )
        findings.append(
            Finding(violation.code, violation.severity, f"{lead}: {violation.message}", suggestion)
        )
    # An explicit --gpu-memory wins over the nodes' labels.
    known: tuple[int, str] | None = (
        (model.gpu_memory_bytes, "--gpu-memory") if model.gpu_memory_bytes else None
    )
    if known is None and nodes is not None:
        known = _layout_gpu_memory(isvc, runtime, layout, nodes)
    if known is None:
        why = "no nodes were read" if nodes is None else "no nvidia.com/gpu.memory or amd.com/gpu.vram label"
        findings.append(
            Finding(
                MODEL_MEMORY_UNKNOWN,
                INFO,
                f"the GPU memory per GPU is unknown ({why}): whether {facts.name}'s weights and KV cache fit "
                f"at {at} was not checked",
                "pass --gpu-memory SIZE (e.g. 80Gi)"
                + (" or --nodes-file" if nodes is None else "")
                + ", or label the nodes with GPU Feature Discovery",
            )
        )
        return findings, None
    memory_bytes, where = known
    utilization, max_len = _vllm_settings(isvc, runtime, model)
    estimate = estimate_memory(facts, tp, pp, memory_bytes, utilization=utilization, max_model_len=max_len)
    for violation in memory_violations(estimate):
        findings.append(
            Finding(
                violation.code,
                violation.severity,
                f"{facts.name} at {at} on {memory_bytes / (1 << 30):.1f} GiB GPUs ({where}): {violation.message}",
                suggestion,
            )
        )
    return findings, estimate
