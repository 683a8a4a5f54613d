"""GPU memory per GPU from node labels or from ``--gpu-memory`` (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from kubectl_kserve_mn.errors import InputError

MIB = 1 << 20
GIB = 1 << 30
MAX_GPU_MEMORY = 1 << 46  # 64 TiB per GPU: anything larger is not a GPU's memory

NVIDIA_MEMORY_LABEL = "nvidia.com/gpu.memory"  # GFD: MiB of total device memory (NVML)
AMD_VRAM_LABELS = ("amd.com/gpu.vram", "beta.amd.com/gpu.vram")  # AMD labeller: "<N>G", GiB rounded

_AMD_VALUE = re.compile(r"^\s*(\d+)\s*G\s*$", re.IGNORECASE)

# kubectl's quantity suffixes: binary Ki..Ei (2^10 steps), decimal k..E (10^3 steps). "GiB"/"GB" spellings
# are accepted as the same units.
_UNITS: dict[str, int] = {
    "ki": 1 << 10,
    "mi": MIB,
    "gi": GIB,
    "ti": 1 << 40,
    "pi": 1 << 50,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "p": 10**15,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]i?)B?\s*$", re.IGNORECASE)


def _amd_gib(value: str) -> int | None:
    match = _AMD_VALUE.match(value)
    return int(match.group(1)) * GIB if match and 0 < int(match.group(1)) * GIB <= MAX_GPU_MEMORY else None


def gpu_memory_from_labels(labels: Mapping[str, str]) -> int | None:
    """Bytes of memory per GPU from a node's labels, or None when no label says.

    ``nvidia.com/gpu.memory`` is MiB (GPU Feature Discovery, GetTotalMemoryMiB). The AMD labeller writes
    ``amd.com/gpu.vram=192G`` (GiB, rounded), or ``amd.com/gpu.vram.<N>G=<count>`` on a node with mixed
    GPUs; then the smallest is returned, as every GPU of a layout must hold its share.
    """
    raw = labels.get(NVIDIA_MEMORY_LABEL)
    if raw is not None:
        text = str(raw).strip()
        if text.isdigit() and 0 < int(text) * MIB <= MAX_GPU_MEMORY:
            return int(text) * MIB
    for key in AMD_VRAM_LABELS:
        raw = labels.get(key)
        if raw is not None and (value := _amd_gib(str(raw))) is not None:
            return value
    for key in AMD_VRAM_LABELS:
        mixed = [_amd_gib(label[len(key) + 1 :]) for label in labels if label.startswith(key + ".")]
        sizes = [size for size in mixed if size is not None]
        if sizes:
            return min(sizes)
    return None


def parse_memory_size(text: str) -> int:
    """Bytes from a ``--gpu-memory`` value, with kubectl's units: ``80Gi`` / ``80GiB`` = 80 x 2^30,
    ``81559Mi``, ``80G`` / ``80GB`` = 80 x 10^9. A unit is required: a bare number is ambiguous. Like the
    ``nvidia.com/gpu.memory`` label it is the device's total (nvidia-smi's); the memory estimate takes off
    what the driver keeps."""
    match = _SIZE.match(text or "")
    if not match:
        raise InputError(
            f"invalid --gpu-memory {text!r}: expected a size with a unit, e.g. 80Gi, 81559Mi or 80G "
            "(Gi/Mi = 2^30/2^20 bytes, G/M = 10^9/10^6 bytes)"
        )
    number, unit = match.groups()
    value = int(float(number) * _UNITS[unit.lower()])
    if value <= 0:
        raise InputError(f"invalid --gpu-memory {text!r}: must be positive")
    if value > MAX_GPU_MEMORY:
        raise InputError(f"invalid --gpu-memory {text!r}: more than 64Ti is not one GPU's memory")
    return value
