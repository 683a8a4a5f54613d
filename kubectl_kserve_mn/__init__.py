"""kubectl kserve-mn: plan, check and fix KServe multi-node (Ray + vLLM) layouts."""

__version__ = "0.1.0"
