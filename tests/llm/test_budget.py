"""The token budget arithmetic (``llm/budget.py``) with fake memory readings: no GPU needed."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig

from marketing_gen.llm import budget
from marketing_gen.llm.budget import (
    CPU_TOKEN_BUDGET,
    MIN_TOKEN_BUDGET,
    budget_from_free_memory,
    default_token_budget,
    kv_bytes_per_token,
)

# SmolLM2-135M's shape: 30 layers, 9 query heads, 3 KV heads, hidden 576 (head dim 64)
SMOLLM2 = LlamaConfig(hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3)
GIB = 1 << 30


class _Model:
    """What the budget reads from a model: its config and dtype."""

    def __init__(self, config: LlamaConfig, dtype: torch.dtype) -> None:
        self.config, self.dtype = config, dtype


def test_kv_bytes_per_token_of_the_smollm2_shape() -> None:
    # 2 (K, V) × 30 layers × 3 KV heads × 64 dims × 2 bytes = 23,040 bytes (the "≈ 23 KB")
    assert kv_bytes_per_token(SMOLLM2, torch.bfloat16) == 23_040
    assert kv_bytes_per_token(SMOLLM2, torch.float32) == 46_080
    explicit = LlamaConfig(hidden_size=576, num_hidden_layers=2, num_attention_heads=9, head_dim=32)
    assert kv_bytes_per_token(explicit, torch.float16) == 2 * 2 * 9 * 32 * 2  # no GQA: KV heads = heads


def test_budget_from_free_memory() -> None:
    assert budget_from_free_memory(100 * GIB, 23_040, 0.5) == 50 * GIB // 23_040
    assert budget_from_free_memory(0, 23_040) == MIN_TOKEN_BUDGET
    with pytest.raises(ValueError):
        budget_from_free_memory(GIB, 0)


def test_default_budget_cpu_is_the_constant_and_cuda_follows_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _Model(SMOLLM2, torch.bfloat16)
    assert default_token_budget(model, torch.device("cpu")) == CPU_TOKEN_BUDGET
    # an H200 with the 135M model loaded: ~138 GiB free → ~3.2M token positions of KV cache at half of it
    h200 = default_token_budget(model, torch.device("cuda", 0), free_bytes=138 * GIB)
    assert h200 == int(138 * GIB * budget.KV_MEMORY_FRACTION) // 23_040
    assert 3_000_000 < h200 < 3_300_000
    # the driver's reading is used when none is given (faked here: no GPU on this machine)
    seen = []
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: seen.append(device) or (10 * GIB, 16 * GIB))
    assert default_token_budget(model, torch.device("cuda", 1)) == int(10 * GIB * 0.5) // 23_040
    assert seen == [torch.device("cuda", 1)]
    # fp32 halves the positions that fit
    fp32 = default_token_budget(_Model(SMOLLM2, torch.float32), torch.device("cuda", 0), free_bytes=10 * GIB)
    assert fp32 == int(10 * GIB * 0.5) // 46_080


def test_engine_takes_the_default_budget_of_its_device(tiny_engine) -> None:  # noqa: ANN001
    assert tiny_engine.token_budget == CPU_TOKEN_BUDGET
