"""`fix --undo`: the patch that restores what ``fix`` recorded in the ``kserve-mn/previous-layout``
annotation (:func:`~kubectl_kserve_mn.edits.previous_layout_value` writes the record)."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from kubectl_kserve_mn.edits import (
    PREVIOUS_LAYOUT_ANNOTATION,
    Change,
    finish,
    get_at,
    path_from_json,
    path_text,
    set_at,
)
from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.kserve.admission import admit_inferenceservice, annotations_of, is_int
from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.patch import FixPlan


def plan_undo(isvc: Mapping[str, Any], era: Era, *, custom_gpu_types: Sequence[str] = ()) -> FixPlan | None:
    """The patch restoring the fields recorded in ``kserve-mn/previous-layout`` (None: no record).

    Values are restored as they were, even where ``era``'s webhook would reject them: ``admission``
    says so and the API server decides.
    """
    raw = annotations_of(isvc).get(PREVIOUS_LAYOUT_ANNOTATION)
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        fields = doc["fields"]
        if not isinstance(fields, list):
            raise ValueError("fields must be a list")
        records = [
            (path_from_json(f["path"]), f.get("value"), f.get("index") if is_int(f.get("index")) else None)
            for f in fields
        ]
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(
            f"annotation {PREVIOUS_LAYOUT_ANNOTATION} is not a record written by fix: {err}"
        ) from None
    before = copy.deepcopy(dict(isvc))
    work = copy.deepcopy(before)
    changes: list[Change] = []
    notes: list[str] = []
    for path, value, index in reversed(records):
        current = copy.deepcopy(get_at(work, path))
        if current == value:
            continue
        if set_at(work, path, copy.deepcopy(value), index=index):
            restored = (
                f"restore {path_text(path)} to {json.dumps(value)}"
                if value is not None
                else f"remove {path_text(path)} (absent before the fix)"
            )
            changes.append(Change(path, current, value, restored))
        else:
            notes.append(f"cannot restore {path_text(path)}: the object no longer has that place")
    set_at(work, ("metadata", "annotations", PREVIOUS_LAYOUT_ANNOTATION), None)
    if get_at(work, ("metadata", "annotations")) == {}:
        # The API server never stores an empty annotations map (omitempty).
        set_at(work, ("metadata", "annotations"), None)
    patch, after = finish(before, work)
    changes.append(
        Change(
            ("metadata", "annotations", PREVIOUS_LAYOUT_ANNOTATION),
            raw,
            None,
            f"remove the annotation {PREVIOUS_LAYOUT_ANNOTATION}",
        )
    )
    custom = tuple(custom_gpu_types)
    return FixPlan(
        before=before,
        after=after,
        changes=tuple(changes),
        patch=patch,
        admission=admit_inferenceservice(after, era, custom_gpu_types=custom) if era.multinode else None,
        notes=tuple(notes),
    )
