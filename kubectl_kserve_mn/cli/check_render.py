"""``check``'s table: one row per object, then each object's findings, then the notes; and ``-o name``."""

from __future__ import annotations

from kubectl_kserve_mn.cli.check_gather import CheckRun
from kubectl_kserve_mn.cli.tables import table, wrap
from kubectl_kserve_mn.cli.terminal import TextStyle
from kubectl_kserve_mn.cli.upgrade_render import upgrade_section
from kubectl_kserve_mn.findings import ItemReport
from kubectl_kserve_mn.findings.llmisvc import LlmItemReport
from kubectl_kserve_mn.findings.upgrade import layout_summary
from kubectl_kserve_mn.kserve.llmisvc.layout import WorkloadLayout

KSERVE_GROUP = "serving.kserve.io"

# --- rendering ----------------------------------------------------------------------------------


def _layout_text(report: ItemReport) -> str:
    if isinstance(report, LlmItemReport):
        return report.layout_text
    return "-" if report.layout is None else layout_summary(report.layout)


def _verdict(report: ItemReport) -> str:
    if report.errors:
        return f"FAIL ({report.errors} error{'s' if report.errors > 1 else ''})"
    if report.warnings:
        return f"WARN ({report.warnings} warning{'s' if report.warnings > 1 else ''})"
    return "OK"


def _runtime_text(report: ItemReport) -> str:
    """RUNTIME (-o wide): the runtime an InferenceService uses (its kind is in -o json), the presets of an
    LLMInferenceService's workloads."""
    if isinstance(report, LlmItemReport):
        layout = report.llm_layout
        if layout is None:
            return "-"
        return "; ".join(_role(w) + (w.preset or "-") for w in layout.workloads)
    if report.runtime is None:
        return "-"
    return report.runtime.partition("/")[2] or report.runtime


def _gpu_resource_text(report: ItemReport) -> str:
    """GPU RESOURCE (-o wide): the head's, and the worker's when it differs."""
    if isinstance(report, LlmItemReport):
        llm = report.llm_layout
        if llm is None:
            return "-"
        resources = [w.gpu_resource or "-" for w in llm.workloads]
        if len(set(resources)) == 1:
            return resources[0]
        return "; ".join(_role(w) + r for w, r in zip(llm.workloads, resources, strict=True))
    layout = report.layout
    if layout is None or layout.error:
        return "-"
    head, worker = layout.head.gpu_resource, layout.worker.gpu_resource
    return head if not layout.worker_replicas or worker == head else f"{head} + {worker}"


def _nodes_text(report: ItemReport) -> str:
    """NODES (-o wide): the pods KServe creates, one per node (RAY_NODE_COUNT); for an LLMInferenceService its
    LeaderWorkerSet, ``LWS replicas x pods per group`` (or the pods of a single-node workload)."""
    if isinstance(report, LlmItemReport):
        llm = report.llm_layout
        if llm is None:
            return "-"
        parts = []
        for w in llm.workloads:
            if w.controller_error:
                parts.append(_role(w) + "-")
            elif w.lws is None:
                parts.append(f"{_role(w)}{w.replicas}")
            else:
                parts.append(f"{_role(w)}LWS {w.replicas} x {w.lws.pods}")
        return "; ".join(parts)
    layout = report.layout
    if layout is None or layout.error:
        return "-"
    return str(layout.node_count)


def _role(workload: WorkloadLayout) -> str:
    return "prefill " if workload.role == "prefill" else ""


def _memory_table(reports: list[ItemReport], style: TextStyle) -> list[str]:
    """One row per InferenceService with a model: the per-GPU figures of its controller layout."""
    gib = float(1 << 30)
    rows = []
    for r in reports:
        if r.model is None:
            continue
        layout = r.layout
        shape = f"PP{layout.pipeline_parallel_size} x TP{layout.tensor_parallel_size}" if layout else "-"
        if isinstance(r, LlmItemReport) and r.llm_layout is not None:
            vllm = r.llm_layout.main.vllm
            shape = f"PP{vllm.pipeline} x TP{vllm.tensor}"
        mem = r.memory
        if mem is None:
            rows.append(
                [r.namespace or "", r.name, r.model.name, shape, "unknown", "-", "-", "-", "not checked"]
            )
            continue
        rows.append(
            [
                r.namespace or "",
                r.name,
                r.model.name,
                shape,
                f"{mem.gpu_memory_bytes / gib:.1f} GiB x {mem.utilization:g}",
                f"{mem.per_gpu_weights_bytes / gib:.1f} GiB",
                f"{mem.kv_cache_tokens:,}",
                f"{mem.max_model_len:,}",
                mem.verdict_text,
            ]
        )
    if not rows:
        return []
    text = table(
        rows,
        [
            "NAMESPACE",
            "NAME",
            "MODEL",
            "LAYOUT",
            "GPU MEMORY",
            "WEIGHTS/GPU",
            "KV TOKENS",
            "MAX LEN",
            "FITS",
        ],
        style,
        numparse=False,
    )
    return ["", "Model memory per GPU (vLLM estimate):", text]


HEADERS = ["KIND", "NAMESPACE", "NAME", "ADMISSION", "LAYOUT", "VERDICT"]
WIDE_HEADERS = [*HEADERS, "RUNTIME", "GPU RESOURCE", "NODES"]


def render_table(run: CheckRun, style: TextStyle | None = None) -> str:
    """The text report. ``style.wide`` (``-o wide``) adds RUNTIME, GPU RESOURCE and NODES; without
    ``style.headers`` (``--no-headers``) neither the ``KServe:`` line nor the tables' header rows are printed."""
    style = style or TextStyle()
    lines = [f"KServe: {run.version.display}", ""] if style.headers else []
    if run.reports:
        rows = []
        for r in run.reports:
            row = [
                r.kind,
                r.namespace or "",
                r.name,
                "allowed" if r.admission.allowed else "rejected",
                _layout_text(r),
                _verdict(r),
            ]
            if style.wide:
                row += [_runtime_text(r), _gpu_resource_text(r), _nodes_text(r)]
            rows.append(row)
        lines.append(table(rows, WIDE_HEADERS if style.wide else HEADERS, style))
    lines += _memory_table(run.reports, style)
    for report in run.reports:
        if not report.findings:
            continue
        where = f"{report.namespace}/{report.name}" if report.namespace else report.name
        lines += ["", f"{report.kind} {where}:"]
        for finding in report.findings:
            lines.append(
                wrap(f"{finding.severity.upper()} [{finding.code}] {finding.message}", "  ", "      ", style)
            )
            if finding.suggestion:
                lines.append(wrap(f"-> {finding.suggestion}", "      ", "         ", style))
    lines += upgrade_section(run.reports, style)
    if run.notes:
        lines.append("")
        lines += [wrap(f"note: {note}", "", "      ", style) for note in run.notes]
    return "\n".join(lines) + "\n"


def render_names(run: CheckRun) -> str:
    """``-o name``: ``<kind>.serving.kserve.io/<name>`` per object, as ``kubectl get -o name`` prints them."""
    return "".join(f"{r.kind.lower()}.{KSERVE_GROUP}/{r.name}\n" for r in run.reports)
