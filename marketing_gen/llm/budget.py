"""The engine's default token budget: how many (prompt + new) token positions one micro-batch may hold.

Owns the arithmetic only. On CPU the budget is a fixed ``CPU_TOKEN_BUDGET`` (measured: larger batches stop
paying on a 2-core CPU and only add latency). On CUDA it comes from the memory left free after the weights:
every token position of a micro-batch holds its keys and values in every layer (``kv_bytes_per_token``), and
``KV_MEMORY_FRACTION`` of the free memory goes to that cache; the rest is headroom for prefill activations,
the logits and the allocator. A budget that still runs out of memory is caught by the engine, which splits the
micro-batch in half and retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

CPU_TOKEN_BUDGET = 32768
"""Default budget on CPU (64 of the bench's email prompts in 2 micro-batches)."""
KV_MEMORY_FRACTION = 0.5
"""Share of the free device memory (after the weights) given to the KV cache. Measured on an H200 with the
SmolLM2-135M shape: a budget of 2,097,152 tokens peaked at 54 GiB, ~1.2 × its 46 GiB of KV cache."""
MIN_TOKEN_BUDGET = 4096
"""Never below this, even on a nearly full device (the OOM split handles the rest)."""


def kv_bytes_per_token(config: Any, dtype: torch.dtype) -> int:
    """Bytes of KV cache one token position takes across all layers: 2 (K, V) × layers × KV heads × head dim."""
    import torch

    text = config.get_text_config() if callable(getattr(config, "get_text_config", None)) else config
    heads = text.num_attention_heads
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    itemsize = torch.empty((), dtype=dtype).element_size()
    return 2 * text.num_hidden_layers * kv_heads * head_dim * itemsize


def budget_from_free_memory(free_bytes: int, bytes_per_token: int, fraction: float = KV_MEMORY_FRACTION) -> int:
    """Token positions whose KV cache fills ``fraction`` of ``free_bytes`` (at least ``MIN_TOKEN_BUDGET``)."""
    if bytes_per_token <= 0:
        raise ValueError(f"bytes_per_token={bytes_per_token} must be positive")
    return max(MIN_TOKEN_BUDGET, int(free_bytes * fraction) // bytes_per_token)


def free_device_memory(device: torch.device) -> int:
    """Bytes free on a CUDA device now (the weights already loaded), as the driver reports them."""
    import torch

    free, _total = torch.cuda.mem_get_info(device)
    return int(free)


def default_token_budget(model: Any, device: torch.device, *, free_bytes: int | None = None) -> int:
    """The budget for ``model`` on ``device``: ``CPU_TOKEN_BUDGET`` off CUDA; on CUDA from the free memory
    (``free_bytes`` overrides the driver's reading, for tests and what-if planning)."""
    if device.type != "cuda":
        return CPU_TOKEN_BUDGET
    free = free_device_memory(device) if free_bytes is None else free_bytes
    return budget_from_free_memory(free, kv_bytes_per_token(model.config, model.dtype))
