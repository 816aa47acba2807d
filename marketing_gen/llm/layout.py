"""How a micro-batch's prompts are laid out in one left-padded tensor, and which prompt heads are shared.

Owns the layout only (token ids in, CPU tensors out). Every row is

    [system prefix][pad][shared head][pad][rest of the prompt]

The system prefix (system message and few-shot turns, the same for the whole micro-batch) is encoded once per
process by the engine. A *shared head* is a run of tokens after it that several rows start with: the n samples
of one prompt, or one reply request's prompts that differ only in their last line. Heads are encoded once per
group and copied to the group's rows, so each row only prefills its own rest. Padding is masked out and
positions follow the mask, so a row's numbers do not depend on the layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

MIN_SHARED_HEAD = 16
"""Rows sharing at least this many tokens after the system prefix have them encoded once."""
HEAD_GAIN = 0.85
"""Use shared heads only when they cut the prefill tokens (padding included) to at most this share."""


@dataclass
class BatchLayout:
    """The tensors for one micro-batch (on CPU)."""

    input_ids: torch.Tensor
    """[rows, width]: every row's whole prompt."""
    attention: torch.Tensor
    """[rows, width]: 1 for real tokens, 0 for padding."""
    shared: int
    """Leading columns that are the system prefix (cached by the engine)."""
    head_width: int = 0
    """Columns after the system prefix that hold shared heads (0: no heads)."""
    head_ids: torch.Tensor | None = None
    """[groups, head_width]: each group's head, left-padded (a last all-padding group for rows without one)."""
    head_attention: torch.Tensor | None = None
    """[groups, shared + head_width]: the heads' attention mask."""
    row_group: torch.Tensor | None = None
    """[rows]: the group (row of ``head_ids``) of every row."""
    prefill_tokens: int = 0
    """Token positions the model runs in prefill, padding included (the cached system prefix excluded)."""


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def shared_heads(rests: Sequence[Sequence[int]], min_len: int = MIN_SHARED_HEAD) -> tuple[list[int], list[int]]:
    """Group rows whose token lists start alike: (group of each row or -1, head length of each group).

    A head is shorter than each of its rows (a row keeps at least one token of its own, whose logits start
    the decoding). Rows join a group while the common head stays ≥ ``min_len`` and ≥ half the group's head;
    a row goes with the next one instead when those two share more than twice as much.
    """
    order = sorted(range(len(rests)), key=lambda i: tuple(rests[i]))
    group = [-1] * len(rests)
    heads: list[int] = []
    i = 0
    while i < len(order):
        head = len(rests[order[i]]) - 1
        j = i
        while j + 1 < len(order):
            nxt = rests[order[j + 1]]
            candidate = min(head, _common(rests[order[j]], nxt), len(nxt) - 1)
            if candidate < min_len or (j > i and candidate * 2 < head):
                break
            if j + 2 < len(order) and _common(nxt, rests[order[j + 2]]) > 2 * candidate:
                break  # the next row belongs with the one after it (a much longer head): start there
            head, j = candidate, j + 1
        if j > i:
            for k in order[i : j + 1]:
                group[k] = len(heads)
            heads.append(head)
        i = j + 1
    return group, heads


def plan_layout(ids: Sequence[Sequence[int]], shared: int, pad_id: int, min_head: int | None = None) -> BatchLayout:
    """The layout of rows ``ids`` whose first ``shared`` tokens are the same system prefix."""
    import torch

    min_head = MIN_SHARED_HEAD if min_head is None else min_head
    rows = len(ids)
    rests = [tuple(r[shared:]) for r in ids]
    longest = max(len(r) for r in rests)
    group, heads = shared_heads(rests, min_head)
    lone = any(g < 0 for g in group)
    if heads:
        head_width = max(heads)
        own = max(len(r) - (heads[g] if g >= 0 else 0) for r, g in zip(rests, group, strict=True))
        grouped_cost = (len(heads) + lone) * head_width + rows * own
        if grouped_cost > HEAD_GAIN * rows * longest:
            heads = []
    if not heads:
        input_ids = torch.full((rows, shared + longest), pad_id, dtype=torch.long)
        attention = torch.zeros((rows, shared + longest), dtype=torch.long)
        for k, (row, rest) in enumerate(zip(ids, rests, strict=True)):
            input_ids[k, :shared] = torch.tensor(row[:shared], dtype=torch.long)
            input_ids[k, shared + longest - len(rest) :] = torch.tensor(rest, dtype=torch.long)
            attention[k, :shared] = 1
            attention[k, shared + longest - len(rest) :] = 1
        return BatchLayout(input_ids, attention, shared, prefill_tokens=rows * longest)

    width = shared + head_width + own
    input_ids = torch.full((rows, width), pad_id, dtype=torch.long)
    attention = torch.zeros((rows, width), dtype=torch.long)
    groups = len(heads) + lone
    head_ids = torch.full((groups, head_width), pad_id, dtype=torch.long)
    head_attention = torch.ones((groups, shared + head_width), dtype=torch.long)  # the lone rows' group: all ones
    row_group = torch.full((rows,), groups - 1, dtype=torch.long)
    for k, (row, rest, g) in enumerate(zip(ids, rests, group, strict=True)):
        h = heads[g] if g >= 0 else 0
        input_ids[k, :shared] = torch.tensor(row[:shared], dtype=torch.long)
        attention[k, :shared] = 1
        if h:
            input_ids[k, shared + head_width - h : shared + head_width] = torch.tensor(rest[:h], dtype=torch.long)
            attention[k, shared + head_width - h : shared + head_width] = 1
            head_ids[g, head_width - h :] = torch.tensor(rest[:h], dtype=torch.long)
            head_attention[g, shared : shared + head_width - h] = 0
            row_group[k] = g
        own_part = rest[h:]
        input_ids[k, width - len(own_part) :] = torch.tensor(own_part, dtype=torch.long)
        attention[k, width - len(own_part) :] = 1
    return BatchLayout(
        input_ids,
        attention,
        shared,
        head_width=head_width,
        head_ids=head_ids,
        head_attention=head_attention,
        row_group=row_group,
        prefill_tokens=groups * head_width + rows * own,
    )
