"""The typed input boundary: everything the tool reads passes here.

Nodes and pods (from the API or ``--nodes-file``/``--pods-file``), InferenceServices, runtimes,
LLMInferenceServices, model ``config.json`` files and the kubeconfig are turned into typed values here
or refused with :class:`BadInput` (exit 2): one line naming the file or API object, the object, the
field path and the bad value, e.g.::

    nodes.yaml: Node gpu-h100-a: status.allocatable["nvidia.com/gpu"]: "8.5" is not a whole number

After the boundary the core (inventory, planner, KServe rules, findings) never sees a wrong type.
"""

from kubectl_kserve_mn.inputs.problems import BadInput, describe_value, path_text

__all__ = ["BadInput", "describe_value", "path_text"]
