"""Device / dtype / thread choice."""

from __future__ import annotations

import pytest
import torch

from marketing_gen.errors import InvalidRequest
from marketing_gen.llm.devices import configure_threads, cpu_has_fast_bf16, resolve_device, resolve_dtype


def test_resolve_dtype_names_and_auto() -> None:
    cpu = torch.device("cpu")
    assert resolve_dtype(cpu, "fp32") is torch.float32
    assert resolve_dtype(cpu, "bf16") is torch.bfloat16
    assert resolve_dtype(cpu, torch.float16) is torch.float16
    assert resolve_dtype(cpu, "auto") is (torch.bfloat16 if cpu_has_fast_bf16() else torch.float32)
    assert resolve_dtype(torch.device("cuda"), "auto") is torch.bfloat16
    with pytest.raises(InvalidRequest, match="dtype='fp8'"):
        resolve_dtype(cpu, "fp8")


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(InvalidRequest, match="not a torch device"):
        resolve_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidRequest, match="MARKETING_GEN_DEVICE=cpu"):
            resolve_device("cuda")


def test_configure_threads() -> None:
    before = torch.get_num_threads()
    try:
        assert configure_threads(1) == 1 and torch.get_num_threads() == 1
        assert configure_threads(None) >= 1
    finally:
        torch.set_num_threads(before)
