"""KV caches for the engine's decode loop: preallocated per micro-batch, written in place, rows droppable.

transformers' ``DynamicLayer`` grows by concatenation, copying the whole cache at every decode step (a third of
CPU decode time at ~450-token prompts). Here each layer holds buffers of the micro-batch's final length
(prompt + ``max_new_tokens``) and ``keys``/``values`` are views of the positions written so far; dropping the
rows that finished (``batch_select_indices``) copies once instead of computing them to the end.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def preallocated_cache(config: Any, rows: int, capacity: int, prefix_kv: list[tuple[Any, Any]] | None = None) -> Any:
    """A ``DynamicCache`` with preallocated layers of ``capacity`` positions (plain layers for models with
    sliding-window or other special layers), holding ``prefix_kv`` (one row's keys/values) in every row."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    cache = DynamicCache(config=config)
    if cache.layers and all(type(layer) is DynamicLayer for layer in cache.layers):
        layer_class = preallocated_layer_class()
        cache.layers = [layer_class(capacity) for _ in cache.layers]
    if prefix_kv:
        for layer, (keys, values) in zip(cache.layers, prefix_kv, strict=True):
            layer.update(keys.expand(rows, -1, -1, -1), values.expand(rows, -1, -1, -1))
    return cache


@functools.cache
def preallocated_layer_class() -> type:
    """``PreallocatedLayer``, defined on first use so that importing the engine does not import transformers."""
    import torch
    from transformers.cache_utils import DynamicLayer

    class PreallocatedLayer(DynamicLayer):
        """A DynamicLayer over preallocated buffers: ``keys``/``values`` are views of the positions written so far."""

        def __init__(self, capacity: int) -> None:
            super().__init__()
            self.capacity = capacity
            self._length = 0

        def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
            self.device = key_states.device
            b, h, _, d = key_states.shape
            self._k = torch.empty((b, h, self.capacity, d), dtype=key_states.dtype, device=self.device)
            self._v = torch.empty((b, value_states.shape[1], self.capacity, value_states.shape[-1]),
                                  dtype=value_states.dtype, device=self.device)  # fmt: skip
            self._length = 0
            self.is_initialized = True

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            start, end = self._length, self._length + key_states.shape[-2]
            if end > self.capacity:  # more positions than planned: grow (copies, like DynamicLayer)
                self._k = torch.cat([self._k[..., :start, :], key_states], dim=-2)
                self._v = torch.cat([self._v[..., :start, :], value_states], dim=-2)
                self.capacity = end
            else:
                self._k[..., start:end, :] = key_states
                self._v[..., start:end, :] = value_states
            self._length = end
            self._views()
            return self.keys, self.values

        def batch_select_indices(self, indices: torch.Tensor) -> None:
            """Keep only the rows ``indices`` (one copy of the written positions)."""
            if self.is_initialized:
                self._k = self._k[indices]
                self._v = self._v[indices]
                self._views()

        def _views(self) -> None:
            self.keys = self._k[..., : self._length, :]
            self.values = self._v[..., : self._length, :]

    return PreallocatedLayer
