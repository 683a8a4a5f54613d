"""KServe's LLMInferenceService rules (v0.16.0..v0.20.0) as pure functions: reading the object
(:mod:`.spec`), the API server's and webhook's admission (:mod:`.admission`), the presets the controller
selects (:mod:`.presets`, rendered by :mod:`.gotemplate`, merged by :mod:`.merge`) and the LeaderWorkerSets,
vLLM flags and GPUs it builds (:mod:`.layout`). Version facts are fields of
:class:`kubectl_kserve_mn.kserve.eras.Era` (``llmisvc_*``)."""

from kubectl_kserve_mn.kserve.llmisvc.admission import NOT_CHECKED, admit_llmisvc, webhook_name
from kubectl_kserve_mn.kserve.llmisvc.layout import LlmLayout, Lws, WorkloadLayout, compute_llm_layout
from kubectl_kserve_mn.kserve.llmisvc.spec import KIND, LLMInferenceService, Parallelism, read

__all__ = [
    "KIND",
    "NOT_CHECKED",
    "LLMInferenceService",
    "LlmLayout",
    "Lws",
    "Parallelism",
    "WorkloadLayout",
    "admit_llmisvc",
    "compute_llm_layout",
    "read",
    "webhook_name",
]
