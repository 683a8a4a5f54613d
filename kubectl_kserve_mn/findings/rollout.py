"""A rollout under way: the live InferenceService's spec is newer than what some of its pods run.

The pods' ``isvc.generation`` label (KServe's pod templates carry it) older than the object's
``metadata.generation`` means the head and worker Deployments are rolling to the new spec. Whether the new pods
fit next to the old ones is :func:`kubectl_kserve_mn.kserve.rollout.plan_rollout`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from kubectl_kserve_mn.findings.report import (
    ERROR,
    WARNING,
    Finding,
    NodeView,
    fix_command,
    name_of,
    namespace_of,
)
from kubectl_kserve_mn.inputs.k8s import Pod
from kubectl_kserve_mn.inventory import with_pods_changed
from kubectl_kserve_mn.kserve.controller import ControllerLayout
from kubectl_kserve_mn.kserve.rollout import (
    GENERATION_LABEL,
    RECREATE,
    RolloutPlan,
    Strategy,
    generation_of,
    plan_rollout,
    running_pods,
    split_generations,
)

ROLLOUT_NEEDS_GPUS = "rollout-needs-gpus"


def rollout_findings(
    isvc: Mapping[str, Any], layout: ControllerLayout, pods: Sequence[Pod], view: NodeView | None
) -> tuple[RolloutPlan | None, list[Finding]]:
    """The rollout in progress for a live InferenceService (None when its pods all run its current spec, or
    the nodes or GPU pods could not be read) and a finding when the new pods cannot fit next to the old ones.

    ``pods``: the InferenceService's own pods, any phase (those without the ``isvc.generation`` label KServe
    puts on multi-node pods are left out); ``layout``: what the controller makes of its spec.
    """
    generation = generation_of(isvc)
    live = [p for p in pods if p.phase not in ("Succeeded", "Failed") and GENERATION_LABEL in p.labels]
    old, new = split_generations(live, generation)
    holds = any(p.node_name for p in old)  # old pods that only wait hold no GPUs: no second set is needed
    if generation is None or not holds or view is None or not view.free_known or layout.error:
        return None, []
    # The new pods' GPUs count as free (they are what is being planned); old pods the view lacks hold theirs.
    listed = {(p.namespace, p.name) for p in view.pods}
    missing = [p for p in old if p.node_name and (p.namespace, p.name) not in listed]
    newer = [p for p in new if (p.namespace, p.name) in listed]
    inventory = with_pods_changed(view.inventory(view.gpu_resource), removed=newer, added=missing)
    current = running_pods(old)
    plan = dataclasses.replace(plan_rollout(inventory, current, layout, Strategy.of(isvc)), under_way=True)
    if plan.fits:
        return plan, []
    name, namespace = name_of(isvc), namespace_of(isvc)
    generations = sorted({p.labels.get(GENERATION_LABEL) or "none" for p in old})
    message = (
        f"a rollout is under way: {len(old)} pod(s) run an older spec ({GENERATION_LABEL} "
        f"{', '.join(generations)}; the InferenceService is at generation {generation}); {plan.strategy} needs "
        f"{plan.gpu_text()}: {plan.outcome}"
    )
    if plan.recreate:
        suggestion = f"free GPUs on the nodes, or {fix_command(name, namespace)} for a layout that fits"
    else:
        alternative = plan_rollout(inventory, current, layout, Strategy(RECREATE, 0, 1))
        then = "then fit" if alternative.fits else "still do not fit: " + alternative.gpu_text()
        suggestion = (
            f"{fix_command(name, namespace)} --rollout=recreate (sets deploymentStrategy.type: Recreate: the old "
            f"pods are deleted first and the new pods {then}; the model is down until they are Ready), or free "
            "GPUs on the nodes"
        )
    return plan, [Finding(ROLLOUT_NEEDS_GPUS, ERROR if plan.downtime else WARNING, message, suggestion)]
