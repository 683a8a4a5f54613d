"""``check --upgrade-to`` for an LLMInferenceService: the object judged again under the target release, side by
side with the installed one (registered as ``JUDGES["LLMInferenceService"]`` in :mod:`.upgrade`).

What changes between releases (SEMANTICS §4, the ``llmisvc_*`` fields of :class:`~kubectl_kserve_mn.kserve.eras.Era`):
the API versions served (v1alpha2 from v0.17.0), the well-known presets and so the vLLM flags they render
(single-node ``tensor`` from v0.20.0), the live LeaderWorkerSet's replicas kept when ``spec.replicas`` is unset
(v0.17.0), the webhook's wording and the missing-preset condition reason (``ConfigNotFound`` from v0.19.0).
The judgment is the whole of :func:`~kubectl_kserve_mn.findings.llmisvc.check_llminferenceservice` under the
target with the same inputs (configs, live LeaderWorkerSets, nodes, pods, model), and what
``fix llmisvc/NAME`` would change first under it.

On the next update of an existing object the API server checks the target's CRD schema only for the fields
that change (CRD validation ratcheting, on by default since Kubernetes 1.30), so the target's schema is applied
to objects from files (a create) and not to live ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubectl_kserve_mn.findings.llmisvc import LlmItemReport, check_llminferenceservice
from kubectl_kserve_mn.findings.llmisvc_cluster import fix_hint
from kubectl_kserve_mn.findings.report import (
    ERROR,
    INFO,
    WARNING,
    ItemReport,
    NodeView,
    name_of,
    namespace_of,
)
from kubectl_kserve_mn.findings.upgrade import (
    _FIT_CODES,
    UpgradeContext,
    UpgradeReport,
    _admission_lines,
    _later_hazard,
    _verdict,
    _yes_no,
)
from kubectl_kserve_mn.inputs.kserve_objects import check_object
from kubectl_kserve_mn.inputs.schema import MALFORMED, REJECTED
from kubectl_kserve_mn.kserve.eras import KServeVersion
from kubectl_kserve_mn.kserve.llmisvc.admission import admit_llmisvc
from kubectl_kserve_mn.kserve.llmisvc.layout import LlmLayout
from kubectl_kserve_mn.kserve.llmisvc.spec import read

_ADMISSION_CODES = ("admission-rejected",)


def _schema_errors(obj: Mapping[str, Any], target: KServeVersion) -> list[str]:
    """The target CRD's field errors for ``obj`` (an unserved API version is the webhook's own answer)."""
    checked = check_object(obj, kserve_version=target)
    return [v.message for v in checked.of(MALFORMED, REJECTED) if v.field]


def _fits_now(report: LlmItemReport, view: NodeView | None) -> bool | None:
    layout = report.llm_layout
    if view is None or not view.free_known or layout is None or layout.controller_error is not None:
        return None
    if not any(w.gpu_resource for w in layout.workloads):
        return None
    return not any(f.code in _FIT_CODES for f in report.findings)


def _flag_lines(before: LlmLayout | None, after: LlmLayout | None) -> list[str]:
    """What each workload's preset and rendered vLLM flags become."""
    if before is None or after is None:
        return []
    lines = []
    for old, new in zip(before.workloads, after.workloads, strict=False):
        if old.preset != new.preset:
            lines.append(f"{new.field}: preset {old.preset or 'none'} -> {new.preset or 'none'}")
        if old.controller_error and new.controller_error and old.controller_error != new.controller_error:
            lines.append(f"{new.field}: the controller's error becomes: {new.controller_error}")
        if old.vllm_args != new.vllm_args and new.controller_error is None:
            was = " ".join(old.vllm_args) or "(no parallelism flags)"
            now = " ".join(new.vllm_args) or "(no parallelism flags)"
            lines.append(f"{new.field}: vLLM parallelism flags {was} -> {now}")
    return lines


def _fix_first(
    obj: Mapping[str, Any], context: UpgradeContext, configs: Mapping[str, Mapping[str, Any]] | None
) -> tuple[str | None, str | None]:
    if context.nodes is None:
        return None, "what fix would change needs the nodes (--nodes-file offline)"
    from kubectl_kserve_mn.patch_llmisvc import plan_llm_fix

    facts = context.model.facts if context.model is not None else None
    result = plan_llm_fix(
        obj, context.target.era, inventory=context.inventory(None), model=facts, configs=configs
    )
    if result.refused:
        refused = result.refused.replace(
            ": delete the LLMInferenceService and create it from the manifest below",
            f"; `{fix_hint(name_of(obj), namespace_of(obj))}` prints the manifest to recreate it",
        )
        return f"nothing as an update: {refused}", None
    plan = result.plan
    if not plan.changed:
        return (
            f"nothing: fix cannot change it ({plan.problem})" if plan.problem else "nothing to change"
        ), None
    first = plan.explanations[0]
    if plan.admission is not None and not plan.admission.allowed:
        first += f" (KServe {context.target.display} would still reject it: {plan.admission.message})"
    return first, None


def judge(obj: Mapping[str, Any], report: ItemReport, context: UpgradeContext) -> UpgradeReport:
    """``report`` (the installed release's) beside the same object under ``context.target``."""
    assert isinstance(report, LlmItemReport)
    target = context.target
    inputs = dict(context.object_inputs)
    configs: Mapping[str, Mapping[str, Any]] | None = inputs.get("configs")
    live = obj if context.existing else None
    schema_errors: Sequence[str] = () if context.existing else _schema_errors(obj, target)
    after = check_llminferenceservice(
        obj,
        target,
        schema_errors=schema_errors,
        live=live,
        live_lws_replicas=inputs.get("live_lws_replicas"),
        configs=configs,
        configs_complete=bool(inputs.get("configs_complete", False)),
        nodes=context.nodes,
        pods=context.pods,
        events=inputs.get("events", ()),
        model=context.model,
        custom_gpu_types=context.custom_gpu_types,
    )
    breaking: list[str] = []
    other: list[str] = []
    lines, broke = _admission_lines(report.admission, after.admission, target.display)
    (breaking if broke else other).extend(lines)
    before_text, after_text = report.layout_text, after.layout_text
    before_error = report.llm_layout.controller_error if report.llm_layout is not None else None
    after_error = after.llm_layout.controller_error if after.llm_layout is not None else None
    if before_text != after_text:
        line = f"layout: {before_text} -> {after_text}"
        if after_error and not before_error:
            breaking.append(f"{line}: {after_error}")
        else:
            other.append(line)
    other.extend(_flag_lines(report.llm_layout, after.llm_layout))
    fits_before, fits_after = _fits_now(report, context.nodes), _fits_now(after, context.nodes)
    if fits_before != fits_after:
        line = f"fits the free GPUs now: {_yes_no(fits_before)} -> {_yes_no(fits_after)}"
        (breaking if fits_before and fits_after is False else other).append(line)
    known = {f.code for f in report.findings}
    judged_before = report.llm_layout is not None  # else the installed release does not serve it at all
    for finding in after.findings:
        if finding.code in _ADMISSION_CODES or finding.code in known or finding.severity == INFO:
            continue
        line = f"new {finding.severity} [{finding.code}]: {finding.message}"
        (breaking if finding.severity == ERROR and judged_before else other).append(line)
    now = {f.code for f in after.findings}
    for finding in report.findings:
        if finding.severity in (ERROR, WARNING) and finding.code not in now | set(_ADMISSION_CODES):
            other.append(f"gone: {finding.severity} [{finding.code}]")
    notes: list[str] = []
    version = read(obj).version
    installed_versions = context.installed.era.llmisvc_api_versions
    served = target.era.llmisvc_api_versions
    added = [v for v in served if v not in installed_versions]
    if version in added:
        notes.append(
            f"KServe {target.display} serves this object's serving.kserve.io/{version}, which "
            f"{context.installed.display} does not"
        )
    elif added and version in served:
        notes.append(
            f"KServe {target.display} also serves serving.kserve.io/{', '.join(added)} (the storage version from "
            f"v0.17.0); this object's {version} stays served"
        )
    fix_first, note = _fix_first(obj, context, configs)
    if note:
        notes.append(note)
    later = _later_hazard(lambda e: admit_llmisvc(obj, e, live=live), target.era)
    if later:
        notes.append(later)
    return UpgradeReport(
        from_version=context.installed.display,
        to_version=target.display,
        verdict=_verdict(breaking, other),
        admission=after.admission,
        layout=None,
        fits_now=fits_after,
        installed_admission=report.admission,
        installed_layout=None,
        installed_fits_now=fits_before,
        differences=tuple(breaking + other),
        fix_first=fix_first,
        notes=tuple(notes),
        layout_summary=after_text,
        layout_data=None if after.llm_layout is None else after.llm_layout.to_json(),
        installed_layout_data=None if report.llm_layout is None else report.llm_layout.to_json(),
    )
