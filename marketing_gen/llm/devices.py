"""Where and in what precision the model runs: device (Accelerate), dtype, CPU threads.

Owns the choice only; loading and generating live in ``llm/engine.py``. Never touches CUDA unless asked
to resolve a device, so importing this module in a Celery parent that forks is safe.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from marketing_gen.errors import InvalidRequest

if TYPE_CHECKING:
    import torch

DTYPE_NAMES = ("auto", "bf16", "fp16", "fp32")


@lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when this CPU runs bf16 matmuls natively (AVX512-BF16 or AMX) and torch dispatches AVX512+."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability().upper()
    if not (capability.startswith("AVX512") or "AMX" in capability):
        return False
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
            break
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_device(name: str | None = "auto") -> torch.device:
    """``auto`` → Accelerate's ``PartialState().device`` (this process's GPU, else CPU); else the named device."""
    import torch

    if name in (None, "", "auto"):
        from accelerate import PartialState

        return torch.device(PartialState().device)
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise InvalidRequest(f"device={name!r} is not a torch device; use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidRequest(f"device={name!r} but CUDA is not available here; set MARKETING_GEN_DEVICE=cpu")
    return device


def resolve_dtype(device: torch.device, name: str | torch.dtype | None = "auto") -> torch.dtype:
    """``auto`` → bf16 on CUDA and on CPUs with AVX512-BF16/AMX, else fp32; or the named dtype."""
    import torch

    if isinstance(name, torch.dtype):
        return name
    table = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if name in (None, "", "auto"):
        if device.type == "cuda":
            return torch.bfloat16
        if device.type == "cpu" and cpu_has_fast_bf16():
            return torch.bfloat16
        return torch.float32
    if name not in table:
        raise InvalidRequest(f"dtype={name!r} is not one of {', '.join(DTYPE_NAMES)}")
    return table[name]


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to ``threads`` or to the cores this process may use; returns the count."""
    import torch

    if threads is None:
        try:
            threads = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            threads = os.cpu_count() or 1
    threads = max(1, threads)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
