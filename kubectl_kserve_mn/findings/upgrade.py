"""``check --upgrade-to vX.Y.Z``: every multi-node object judged under the installed KServe and under the target,
side by side: admission on its next update, what the target's controller creates, whether that fits the free
GPUs now, and what ``fix`` would change first under the target. A verdict per object: ``unchanged``,
``changes`` or ``breaks`` (something that works now stops working).

One judge per kind (:data:`JUDGES`): a kind added later (LLMInferenceService) registers a function with the
same signature, ``judge(obj, report, context) -> UpgradeReport``.

Facts used (SEMANTICS §0-§3, through :mod:`kubectl_kserve_mn.kserve`): the webhook and controller rules of each
era; a KServe upgrade re-installs its ``kserve-huggingfaceserver-multinode`` ClusterServingRuntime (it is part
of the release's cluster resources), whose PP default is 2 on v0.15.0 and 1 from v0.15.1 (#4356).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.findings.isvc import check_inferenceservice
from kubectl_kserve_mn.findings.report import (
    ERROR,
    INFO,
    ISVC_LABEL,
    WARNING,
    ItemReport,
    ModelInput,
    NodeView,
    name_of,
    namespace_of,
)
from kubectl_kserve_mn.findings.schedulability import pod_selectors
from kubectl_kserve_mn.inputs.k8s import Pod
from kubectl_kserve_mn.inventory import Inventory, is_gpu_resource
from kubectl_kserve_mn.kserve import eras
from kubectl_kserve_mn.kserve.admission import (
    Admission,
    admit_inferenceservice,
    admit_runtime,
    newer_eras,
)
from kubectl_kserve_mn.kserve.controller import ControllerLayout
from kubectl_kserve_mn.kserve.eras import Era, KServeVersion
from kubectl_kserve_mn.kserve.rollout import (
    RolloutPlan,
    Strategy,
    plan_rollout,
    released,
    running_pods,
)
from kubectl_kserve_mn.kserve.runtimes import (
    CLUSTER_SERVING_RUNTIME,
    SHIPPED_MULTINODE_RUNTIME,
    select_runtime,
    shipped_runtime,
)

UNCHANGED = "unchanged"
CHANGES = "changes"
BREAKS = "breaks"
UPGRADE_HAZARD = "upgrade-hazard"
_FIT_CODES = ("pod-exceeds-node", "exceeds-cluster-capacity", "insufficient-free-gpus")
_ADMISSION_CODES = ("admission-rejected", UPGRADE_HAZARD)
_PLACEMENT_CODES = (*_FIT_CODES, "gpu-type-mismatch")
"""What ``schedulability_findings`` reports: the same for the same pods on the same nodes."""


def upgrade_target(flag: str, installed: KServeVersion) -> KServeVersion:
    """``--upgrade-to``: a full release (as ``--kserve-version``), not older than the installed KServe.

    A downgrade is refused: the report compares what an upgrade changes, and the installed version's
    rules are not the way back (``check --kserve-version`` judges objects under any release)."""
    try:
        target = eras.from_flag(flag)
    except ValueError as err:
        raise InputError(f"--upgrade-to: {err}") from err
    assert target.version is not None
    if installed.version is not None:
        older = eras.parse_version(target.version) < eras.parse_version(installed.version)
    else:
        older = target.era.since < installed.era.since
    if older:
        hint = (
            " (offline, the installed KServe is assumed to be the newest known: give --kserve-version)"
            if installed.source == "default"
            else ""
        )
        raise InputError(
            f"--upgrade-to {target.version} is older than the installed KServe {installed.display}{hint}: "
            f"a downgrade is not an upgrade report; `check --kserve-version {target.version}` judges the "
            "objects under that release's rules"
        )
    return target


# --- the report -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpgradeReport:
    from_version: str
    to_version: str
    verdict: str
    """``unchanged``, ``changes`` or ``breaks``."""
    admission: Admission
    """The target's webhook on the object's next update."""
    layout: ControllerLayout | None
    """What the target's controller creates (None: nothing, or not an InferenceService)."""
    fits_now: bool | None
    """The target's pods placed on the GPUs free now (the object's own pods counted as free); None: the nodes or
    the GPUs in use are not known, or there is no layout."""
    installed_admission: Admission
    installed_layout: ControllerLayout | None
    installed_fits_now: bool | None
    differences: tuple[str, ...] = ()
    """One line per difference, the breaking ones first."""
    fix_first: str | None = None
    """The first ``change:`` line of ``fix`` under the target (or why fix changes nothing); None: not computed."""
    notes: tuple[str, ...] = ()
    rollout: RolloutPlan | None = None
    """When the target's controller makes other pods: the rollout it starts right after the upgrade (the pods'
    GPUs next to the old ones); None: the pods do not change, or the nodes or GPUs in use are unknown."""
    layout_summary: str | None = None
    """For kinds whose layout is not a ControllerLayout (LLMInferenceService): the target's LAYOUT text."""
    layout_data: dict[str, Any] | None = None
    """... and its JSON (``layout`` in :meth:`to_json`)."""
    installed_layout_data: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.from_version,
            "to": self.to_version,
            "verdict": self.verdict,
            "admission": self.admission.to_json(),
            "layout": self.layout_data if self.layout is None else self.layout.to_json(),
            "fitsNow": self.fits_now,
            "installed": {
                "admission": self.installed_admission.to_json(),
                "layout": self.installed_layout_data
                if self.installed_layout is None
                else self.installed_layout.to_json(),
                "fitsNow": self.installed_fits_now,
            },
            "differences": list(self.differences),
            "fixFirst": self.fix_first,
            "notes": list(self.notes),
            "rollout": None if self.rollout is None else self.rollout.to_json(),
        }


@dataclass(frozen=True)
class UpgradeContext:
    """What every judge gets: the two versions and the run's inputs; ``pods`` and ``model`` are per object."""

    installed: KServeVersion
    target: KServeVersion
    runtimes: Sequence[Mapping[str, Any]] = ()
    """The ServingRuntimes and ClusterServingRuntimes as they are now."""
    custom_gpu_types: Sequence[str] = ()
    nodes: NodeView | None = None
    existing: bool = False
    """The objects are on the cluster (a rejection is of their next update)."""
    offline: bool = False
    pods: Sequence[Pod] = ()
    """The object's own pods."""
    model: ModelInput | None = None
    object_inputs: Mapping[str, Any] = field(default_factory=dict)
    """Per object, what its kind's check took beyond the shared inputs (LLMInferenceService: ``configs``,
    ``configs_complete``, ``live_lws_replicas``, ``events``): the judge checks it again with the same."""
    inventories: dict[str | None, Inventory] = field(default_factory=dict, compare=False, repr=False)
    """Built once per GPU resource from ``nodes`` and shared by every object's judgment (a memo)."""

    def inventory(self, resource: str | None) -> Inventory:
        assert self.nodes is not None
        return self.nodes.inventory(resource)

    def upgraded_runtimes(self) -> list[Mapping[str, Any]]:
        """The runtimes after the upgrade: the release's own multi-node ClusterServingRuntime replaced by the
        target's (the upgrade re-installs it), the user's runtimes as they are."""
        kept = [r for r in self.runtimes if not _is_shipped(r)]
        return [*kept, shipped_runtime(self.target.era)]


Judge = Callable[[Mapping[str, Any], ItemReport, UpgradeContext], UpgradeReport]


def _is_shipped(runtime: Mapping[str, Any]) -> bool:
    return runtime.get("kind") == CLUSTER_SERVING_RUNTIME and name_of(runtime) == SHIPPED_MULTINODE_RUNTIME


def layout_summary(layout: ControllerLayout) -> str:
    """``PP2 x TP8 (ray): head 8 nvidia.com/gpu + 1 x 8 nvidia.com/gpu`` (check's LAYOUT column), or
    ``PP2 x TP8: controller error``."""
    if layout.error:
        return f"PP{layout.pipeline_parallel_size} x TP{layout.tensor_parallel_size}: controller error"
    text = (
        f"PP{layout.pipeline_parallel_size} x TP{layout.tensor_parallel_size} ({layout.backend}): "
        f"head {layout.head.gpus} {layout.head.gpu_resource}"
    )
    if layout.worker_replicas:
        text += f" + {layout.worker_replicas} x {layout.worker.gpus} {layout.worker.gpu_resource}"
    return text


def layout_text(layout: ControllerLayout | None) -> str:
    """:func:`layout_summary` with the pod count: ``... + 1 x 8 nvidia.com/gpu (2 pods)``."""
    if layout is None:
        return "none"
    if layout.error:
        return layout_summary(layout)
    pods = 1 + layout.worker_replicas
    return layout_summary(layout) + f" ({pods} pod{'s' if pods > 1 else ''})"


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else "yes" if value else "no"


def _fits_now(report: ItemReport, view: NodeView | None) -> bool | None:
    """Whether the report's pods fit the GPUs free now, from its schedulability findings (None: not judged)."""
    layout = report.layout
    if view is None or not view.free_known or layout is None or layout.error:
        return None
    if any(f.code == "controller-error" for f in report.findings):
        return None
    return not any(f.code in _FIT_CODES for f in report.findings)


def gpu_view(view: NodeView | None) -> NodeView | None:
    """``view`` with only the pods that hold GPUs: every object is judged several times, and most pods of a
    large cluster hold none."""
    if view is None:
        return None
    holding = [
        p
        for p in view.pods
        if any(
            is_gpu_resource(r) for c in (*p.containers, *p.init_containers) for r in (*c.requests, *c.limits)
        )
        or any(is_gpu_resource(r) for r in p.overhead)
    ]
    return dataclasses.replace(view, pods=holding)


def _fix_first(
    isvc: Mapping[str, Any], runtime: Mapping[str, Any] | None, context: UpgradeContext
) -> tuple[str | None, str | None]:
    """(the first change line of ``fix`` under the target, a note when it cannot be computed)."""
    view = context.nodes
    if view is None:
        return None, "what fix would change needs the nodes (--nodes-file offline)"
    from kubectl_kserve_mn import patch

    own = running_pods(view.pods_labelled(ISVC_LABEL, name_of(isvc), namespace_of(isvc)))
    resource = view.gpu_resource or patch.own_gpu_resource(isvc, runtime, context.custom_gpu_types)
    inventory = released(context.inventory(resource), own)  # fix plans as if its own pods were gone
    facts = context.model.facts if context.model is not None else None
    plan = patch.plan_fix(
        isvc, runtime, context.target.era, inventory, custom_gpu_types=context.custom_gpu_types, model=facts
    )
    if plan.problem:
        return f"nothing: fix cannot change it ({plan.problem})", None
    if not plan.changed:
        return "nothing to change", None
    first = plan.explanations[0]
    if plan.admission is not None and not plan.admission.allowed:
        first += f" (KServe {context.target.display} would still reject it: {plan.admission.message})"
    return first, None


def _upgrade_rollout(
    isvc: Mapping[str, Any],
    before: ControllerLayout | None,
    after: ControllerLayout | None,
    context: UpgradeContext,
) -> RolloutPlan | None:
    """The rollout the target's controller starts when it makes other pods than the installed one: it rewrites
    the Deployments' pod templates, and they roll as any change does (kserve/rollout.py)."""
    view = context.nodes
    if view is None or not view.free_known or before is None or after is None or after.error:
        return None
    if before.pod_gpus() == after.pod_gpus():
        return None
    # A live object's pods are known (none: it holds nothing); for a file, its pods in --pods-file, else the
    # installed layout placed on the free GPUs stands in for them.
    own = (
        list(context.pods)
        if context.existing
        else view.pods_labelled(ISVC_LABEL, name_of(isvc), namespace_of(isvc))
    )
    inventory = view.inventory(view.gpu_resource)
    return plan_rollout(
        inventory,
        running_pods(own) if own or context.existing else None,
        after,
        Strategy.of(isvc),
        live_layout=None if before.error else before,
    )


def _later_hazard(admit: Callable[[Era], Admission], target: Era) -> str | None:
    """The first era after the target whose webhook rejects the object for another reason than the target
    does (what the info ``upgrade-hazard`` finding said before)."""
    now = admit(target)
    for era in newer_eras(target):
        later = admit(era)
        if not later.allowed and (now.allowed or _reason(later) != _reason(now)):
            return f"beyond {target.key}: KServe {era.key} and later reject it: {later.message}"
    return None


def _reason(admission: Admission) -> str:
    """The rule a webhook message names: the part after the object's name, without the value in brackets."""
    message = admission.message or ""
    return message.split(": ", 1)[-1].split("(")[0]


def _admission_lines(installed: Admission, target: Admission, to: str) -> tuple[list[str], bool]:
    if installed.allowed and not target.allowed:
        return [
            f"admission: allowed -> rejected: KServe {to} refuses its next update: {target.message}"
        ], True
    if not installed.allowed and target.allowed:
        return [f"admission: rejected -> allowed by KServe {to}"], False
    if not installed.allowed and installed.message != target.message:
        return [f"admission: rejected by both, by KServe {to} for: {target.message}"], False
    return [], False


def _verdict(breaking: Sequence[str], other: Sequence[str]) -> str:
    return BREAKS if breaking else CHANGES if other else UNCHANGED


# --- the judges -----------------------------------------------------------------------------------------


def _judged_under_target(
    isvc: Mapping[str, Any],
    report: ItemReport,
    context: UpgradeContext,
    runtimes: Sequence[Mapping[str, Any]],
    installed_runtime: Mapping[str, Any] | None,
    target_runtime: Mapping[str, Any] | None,
) -> ItemReport:
    """The object's report under the target. When its pods are the same as now (same GPUs, same
    nodeSelectors), the nodes answer the same: the installed report's schedulability findings are reused
    instead of placing the pods again (most objects of an upgrade, and the costly part on a large cluster)."""
    common: dict[str, Any] = {
        "custom_gpu_types": context.custom_gpu_types,
        "existing": context.existing,
        "offline": context.offline,
        "model": context.model,
    }
    target = context.target
    bare = check_inferenceservice(isvc, runtimes, target, nodes=None, **common)
    if context.nodes is None:
        return bare
    same = (
        bare.layout is not None
        and report.layout is not None
        and not bare.layout.error
        and not report.layout.error
        and bare.layout.pod_gpus() == report.layout.pod_gpus()
        and pod_selectors(isvc, installed_runtime) == pod_selectors(isvc, target_runtime)
    )
    if not same:
        return check_inferenceservice(isvc, runtimes, target, nodes=context.nodes, **common)
    placed = tuple(f for f in report.findings if f.code in _PLACEMENT_CODES)
    return dataclasses.replace(bare, findings=bare.findings + placed)


def judge_inferenceservice(
    isvc: Mapping[str, Any], report: ItemReport, context: UpgradeContext
) -> UpgradeReport:
    target, era = context.target, context.target.era
    runtimes = context.upgraded_runtimes()
    installed_choice = select_runtime(isvc, context.runtimes)
    target_choice = select_runtime(isvc, runtimes)
    notes: list[str] = []
    if installed_choice.runtime is not None and _is_shipped(installed_choice.runtime):
        notes.append(
            f"uses ClusterServingRuntime {SHIPPED_MULTINODE_RUNTIME}: judged with the copy KServe "
            f"{target.display} installs (an upgrade re-installs it)"
        )
    fits_before = _fits_now(report, context.nodes)
    after = _judged_under_target(
        isvc, report, context, runtimes, installed_choice.runtime, target_choice.runtime
    )
    fits_after = _fits_now(after, context.nodes)
    admission = admit_inferenceservice(isvc, era, custom_gpu_types=context.custom_gpu_types)
    breaking: list[str] = []
    other: list[str] = []
    lines, broke = _admission_lines(report.admission, admission, target.display)
    (breaking if broke else other).extend(lines)
    before_text, after_text = layout_text(report.layout), layout_text(after.layout)
    if before_text != after_text:
        line = f"layout: {before_text} -> {after_text}"
        if after.layout is not None and after.layout.error and not (report.layout and report.layout.error):
            breaking.append(line + f": {after.layout.error}")
        else:
            other.append(line)
    if fits_before != fits_after:
        line = f"fits the free GPUs now: {_yes_no(fits_before)} -> {_yes_no(fits_after)}"
        (breaking if fits_before and fits_after is False else other).append(line)
    known = {f.code for f in report.findings}
    for finding in after.findings:
        if finding.code in _ADMISSION_CODES or finding.code in known or finding.severity == INFO:
            continue
        line = f"new {finding.severity} [{finding.code}]: {finding.message}"
        (breaking if finding.severity == ERROR else other).append(line)
    now = {f.code for f in after.findings}
    for finding in report.findings:
        if finding.severity in (ERROR, WARNING) and finding.code not in now | set(_ADMISSION_CODES):
            other.append(f"gone: {finding.severity} [{finding.code}]")
    rollout = _upgrade_rollout(isvc, report.layout, after.layout, context)
    if rollout is not None and not rollout.fits:
        breaking.append(
            f"the upgraded controller rolls the pods to the new layout: {rollout.strategy} needs "
            f"{rollout.gpu_text()}: {rollout.outcome}"
        )
    fix_first, note = _fix_first(isvc, target_choice.runtime, context)
    if note:
        notes.append(note)
    later = _later_hazard(
        lambda e: admit_inferenceservice(isvc, e, custom_gpu_types=context.custom_gpu_types), era
    )
    if later:
        notes.append(later)
    return UpgradeReport(
        from_version=context.installed.display,
        to_version=target.display,
        verdict=_verdict(breaking, other),
        admission=admission,
        layout=after.layout,
        fits_now=fits_after,
        installed_admission=report.admission,
        installed_layout=report.layout,
        installed_fits_now=fits_before,
        differences=tuple(breaking + other),
        fix_first=fix_first,
        notes=tuple(notes),
        rollout=rollout,
    )


def judge_runtime(runtime: Mapping[str, Any], report: ItemReport, context: UpgradeContext) -> UpgradeReport:
    target = context.target
    existing = runtime if context.existing else None
    if context.existing and _is_shipped(runtime):
        admission = Admission(True, None)
        notes = [f"KServe {target.display} re-installs its own {SHIPPED_MULTINODE_RUNTIME}"]
    else:
        admission = admit_runtime(runtime, target.era, existing)
        notes = []
    lines, broke = _admission_lines(report.admission, admission, target.display)
    later = _later_hazard(lambda e: admit_runtime(runtime, e, existing), target.era)
    if later:
        notes.append(later)
    return UpgradeReport(
        from_version=context.installed.display,
        to_version=target.display,
        verdict=_verdict(lines if broke else [], [] if broke else lines),
        admission=admission,
        layout=None,
        fits_now=None,
        installed_admission=report.admission,
        installed_layout=None,
        installed_fits_now=None,
        differences=tuple(lines),
        notes=tuple(notes),
    )


def judge_llminferenceservice(
    obj: Mapping[str, Any], report: ItemReport, context: UpgradeContext
) -> UpgradeReport:
    """The LLMInferenceService judge (:mod:`kubectl_kserve_mn.findings.upgrade_llmisvc`, imported on use)."""
    from kubectl_kserve_mn.findings.upgrade_llmisvc import judge

    return judge(obj, report, context)


JUDGES: dict[str, Judge] = {
    "InferenceService": judge_inferenceservice,
    "ServingRuntime": judge_runtime,
    CLUSTER_SERVING_RUNTIME: judge_runtime,
    "LLMInferenceService": judge_llminferenceservice,
}
"""The judge of each kind; another kind plugs in by adding its function here."""


def with_upgrade(obj: Mapping[str, Any], report: ItemReport, context: UpgradeContext) -> ItemReport:
    """``report`` with its ``upgrade`` judged; the info ``upgrade-hazard`` findings (about newer eras) move
    into the upgrade report (the target's admission, or a note beyond it)."""
    judge = JUDGES.get(report.kind)
    if judge is None:
        return report
    upgrade = judge(obj, report, context)
    kept = tuple(f for f in report.findings if not (f.code == UPGRADE_HAZARD and f.severity == INFO))
    return dataclasses.replace(report, findings=kept, upgrade=upgrade)


def breaks(reports: Sequence[ItemReport]) -> bool:
    return any(r.upgrade is not None and r.upgrade.verdict == BREAKS for r in reports)


__all__ = [
    "BREAKS",
    "CHANGES",
    "JUDGES",
    "UNCHANGED",
    "Judge",
    "UpgradeContext",
    "UpgradeReport",
    "breaks",
    "judge_inferenceservice",
    "judge_llminferenceservice",
    "judge_runtime",
    "layout_text",
    "upgrade_target",
    "with_upgrade",
]
