"""``check``'s table: one row per object, then each object's findings, then the notes."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from kubectl_kserve_mn.cli.check_gather import CheckRun
from kubectl_kserve_mn.cli.upgrade_render import upgrade_section
from kubectl_kserve_mn.findings import ItemReport
from kubectl_kserve_mn.findings.llmisvc import LlmItemReport

# --- rendering ----------------------------------------------------------------------------------


def _layout_text(report: ItemReport) -> str:
    if isinstance(report, LlmItemReport):
        return report.layout_text
    layout = report.layout
    if layout is None:
        return "-"
    if layout.error:
        return f"PP{layout.pipeline_parallel_size} x TP{layout.tensor_parallel_size}: controller error"
    text = (
        f"PP{layout.pipeline_parallel_size} x TP{layout.tensor_parallel_size} ({layout.backend}): "
        f"head {layout.head.gpus} {layout.head.gpu_resource}"
    )
    if layout.worker_replicas:
        text += f" + {layout.worker_replicas} x {layout.worker.gpus} {layout.worker.gpu_resource}"
    return text


def _verdict(report: ItemReport) -> str:
    if report.errors:
        return f"FAIL ({report.errors} error{'s' if report.errors > 1 else ''})"
    if report.warnings:
        return f"WARN ({report.warnings} warning{'s' if report.warnings > 1 else ''})"
    return "OK"


def _memory_table(reports: list[ItemReport]) -> list[str]:
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
    table = tabulate(
        rows,
        headers=[
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
        tablefmt="plain",
        disable_numparse=True,
    )
    return ["", "Model memory per GPU (vLLM estimate):", table]


def _wrap(text: str, first: str, rest: str) -> str:
    """A paragraph of the table output, wrapped at 110 columns without splitting hyphenated names."""
    return textwrap.fill(
        text, width=110, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


def render_table(run: CheckRun) -> str:
    lines = [f"KServe: {run.version.display}", ""]
    if run.reports:
        rows = [
            [
                r.kind,
                r.namespace or "",
                r.name,
                "allowed" if r.admission.allowed else "rejected",
                _layout_text(r),
                _verdict(r),
            ]
            for r in run.reports
        ]
        lines.append(
            tabulate(
                rows,
                headers=["KIND", "NAMESPACE", "NAME", "ADMISSION", "LAYOUT", "VERDICT"],
                tablefmt="plain",
            )
        )
    lines += _memory_table(run.reports)
    for report in run.reports:
        if not report.findings:
            continue
        where = f"{report.namespace}/{report.name}" if report.namespace else report.name
        lines += ["", f"{report.kind} {where}:"]
        for finding in report.findings:
            lines.append(
                _wrap(f"{finding.severity.upper()} [{finding.code}] {finding.message}", "  ", "      ")
            )
            if finding.suggestion:
                lines.append(_wrap(f"-> {finding.suggestion}", "      ", "         "))
    lines += upgrade_section(run.reports)
    if run.notes:
        lines.append("")
        lines += [_wrap(f"note: {note}", "", "      ") for note in run.notes]
    return "\n".join(lines) + "\n"
