"""KServe's well-known LLMInferenceServiceConfig presets: which ones the controller selects, and what
each release ships.

Selection is the switch in ``combineBaseRefsConfig`` (``pkg/controller/v1alpha1/llmisvc/config_merge.go@v0.16.0``,
``pkg/controller/v1alpha2/llmisvc/config_merge.go@v0.17.0..v0.20.0``, the same at every tag), over the spec
merged with its ``baseRefs``:

- without ``prefill``: no ``worker`` -> ``kserve-config-llm-template``; ``worker`` and data parallel (tested
  first) -> ``kserve-config-llm-worker-data-parallel``; ``worker`` and pipeline parallel ->
  ``kserve-config-llm-worker-pipeline-parallel``; a ``worker`` with neither -> no parallelism preset;
- with ``prefill``: the same switch picks ``…-prefill-template`` / ``…-prefill-worker-data-parallel`` /
  ``…-prefill-worker-pipeline-parallel`` for ``spec.prefill`` and the ``decode-`` variants for ``spec``.

The names carry the controller's default prefix ``kserve-`` (env ``LLM_INFERENCE_SERVICE_CONFIG_PREFIX``).
No release ships a ``*-worker-pipeline-parallel`` preset (kserve#5047, PR #5315 closed unmerged): a
pipeline-parallel ``worker`` fails the reconcile unless the cluster has one.
"""

from __future__ import annotations

import base64
import copy
import functools
import gzip
import json
from collections.abc import Mapping
from typing import Any

from kubectl_kserve_mn.kserve.eras import Era
from kubectl_kserve_mn.kserve.llmisvc.spec import Workload

PREFIX = "kserve-"
TEMPLATE = PREFIX + "config-llm-template"
DECODE_TEMPLATE = PREFIX + "config-llm-decode-template"
PREFILL_TEMPLATE = PREFIX + "config-llm-prefill-template"
WORKER_DATA_PARALLEL = PREFIX + "config-llm-worker-data-parallel"
DECODE_WORKER_DATA_PARALLEL = PREFIX + "config-llm-decode-worker-data-parallel"
PREFILL_WORKER_DATA_PARALLEL = PREFIX + "config-llm-prefill-worker-data-parallel"
WORKER_PIPELINE_PARALLEL = PREFIX + "config-llm-worker-pipeline-parallel"
DECODE_WORKER_PIPELINE_PARALLEL = PREFIX + "config-llm-decode-worker-pipeline-parallel"
PREFILL_WORKER_PIPELINE_PARALLEL = PREFIX + "config-llm-prefill-worker-pipeline-parallel"

PIPELINE_PRESETS = frozenset(
    {WORKER_PIPELINE_PARALLEL, DECODE_WORKER_PIPELINE_PARALLEL, PREFILL_WORKER_PIPELINE_PARALLEL}
)

# role -> (single-node, data parallel, pipeline parallel)
_BY_ROLE = {
    "main": (TEMPLATE, WORKER_DATA_PARALLEL, WORKER_PIPELINE_PARALLEL),
    "decode": (DECODE_TEMPLATE, DECODE_WORKER_DATA_PARALLEL, DECODE_WORKER_PIPELINE_PARALLEL),
    "prefill": (PREFILL_TEMPLATE, PREFILL_WORKER_DATA_PARALLEL, PREFILL_WORKER_PIPELINE_PARALLEL),
}


def role_of(workload: Workload, has_prefill: bool) -> str:
    """``main`` (no prefill), ``decode`` (``spec`` next to a prefill) or ``prefill``."""
    if workload.path[-1] == "prefill":
        return "prefill"
    return "decode" if has_prefill else "main"


def select_preset(workload: Workload, has_prefill: bool) -> str | None:
    """The well-known preset ``config_merge.go`` adds for this workload (None: a ``worker`` that is
    neither data nor pipeline parallel, which the webhook rejects anyway)."""
    single, data, pipeline = _BY_ROLE[role_of(workload, has_prefill)]
    if workload.worker is None:
        return single
    parallelism = workload.parallelism
    if parallelism is not None and parallelism.is_data_parallel:
        return data
    if parallelism is not None and parallelism.is_pipeline_parallel:
        return pipeline
    return None


@functools.cache
def _shipped() -> dict[str, dict[str, Any]]:
    from kubectl_kserve_mn.kserve.llmisvc._preset_data import BLOB

    data: dict[str, dict[str, Any]] = json.loads(gzip.decompress(base64.b64decode(BLOB)))
    return data


def shipped_tags() -> list[str]:
    return sorted(_shipped())


def shipped_presets(era: Era) -> dict[str, dict[str, Any]]:
    """The presets ``era``'s release installs, name -> ``spec`` (a copy; empty before v0.16.0)."""
    if era.llmisvc_preset_tag is None:
        return {}
    return copy.deepcopy(_shipped().get(era.llmisvc_preset_tag, {}))


def configs_by_name(configs: Mapping[str, Mapping[str, Any]] | None, era: Era) -> dict[str, dict[str, Any]]:
    """The LLMInferenceServiceConfigs the controller can find, name -> ``spec``: ``era``'s shipped presets,
    overridden by ``configs`` (objects read from the cluster or files, name -> object or spec). The specs
    are shared, not copied: read-only."""
    found: dict[str, dict[str, Any]] = dict(_shipped().get(era.llmisvc_preset_tag or "", {}))
    for name, config in (configs or {}).items():
        spec = config.get("spec") if "spec" in config and isinstance(config.get("spec"), dict) else config
        found[name] = dict(spec or {})
    return found
