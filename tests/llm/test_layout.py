"""Batch layout: shared heads found, laid out and encoded once, with the texts unchanged."""

from __future__ import annotations

import pytest
import torch

from marketing_gen.llm.engine import Engine
from marketing_gen.llm.layout import plan_layout, shared_heads
from marketing_gen.llm.sampling import SamplingParams

HEAD = list(range(100, 140))  # 40 tokens


def test_shared_heads_groups_rows_that_start_alike() -> None:
    rests = [HEAD + [1, 2], [7] * 30, HEAD + [3], HEAD + [4, 5, 6], [7] * 30, [9] * 20]
    group, heads = shared_heads(rests, min_len=16)
    assert group[0] == group[2] == group[3] != -1
    assert heads[group[0]] == 40  # the common head; every row keeps its own last tokens
    assert group[1] == group[4] != -1 and heads[group[1]] == 29  # identical rows keep one token each
    assert group[5] == -1
    # a row sharing only a little is not worth shrinking a long head for
    group, heads = shared_heads([HEAD + [1], HEAD + [2], HEAD[:18] + [9] * 30], min_len=16)
    assert group[:2] == [0, 0] and group[2] == -1 and heads == [40]


def test_layout_keeps_every_row_intact_and_counts_less_prefill() -> None:
    system = [1, 2, 3]
    ids = [system + HEAD + [5], system + HEAD + [6, 7], system + HEAD + [9], system + [8] * 10]
    layout = plan_layout(ids, shared=3, pad_id=0, min_head=16)
    assert layout.head_ids is not None and layout.row_group is not None and layout.head_attention is not None
    for k, row in enumerate(ids):  # the real tokens of each row, in order, are the prompt
        assert layout.input_ids[k][layout.attention[k].bool()].tolist() == row
        g = int(layout.row_group[k])
        head = layout.head_ids[g][layout.head_attention[g, 3:].bool()].tolist()
        assert row[3 : 3 + len(head)] == head or len(head) == layout.head_width  # the lone rows' group
    assert layout.prefill_tokens < 4 * max(len(r) - 3 for r in ids)
    plain = plan_layout(ids, shared=3, pad_id=0, min_head=10**9)
    assert plain.head_ids is None and plain.prefill_tokens == 4 * 42


def test_shared_heads_give_the_same_texts(tiny_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import marketing_gen.llm.layout as layout_module

    system = {"role": "system", "content": "You write short, warm copy for a store that sells shoes and jackets."}
    comment = "Customer comment: my order of trail shoes arrived late and the box was damaged, what now? " * 2
    prompts = [
        [system, {"role": "user", "content": f"{comment}\nWrite a reply that {ask}."}]
        for ask in ("thanks them", "asks for the order number", "apologizes")
    ] + ["a lone prompt without a system message, long enough to matter for the layout", "hi"]
    params = SamplingParams(max_new_tokens=8, temperature=0.9, top_p=0.9, seed=4, n=2)
    grouped = tiny_engine.generate(prompts, params, token_budget=10**9)
    grouped_prefill = tiny_engine.last_stats.prefill_tokens
    monkeypatch.setattr(layout_module, "MIN_SHARED_HEAD", 10**9)
    plain = tiny_engine.generate(prompts, params, token_budget=10**9)
    assert [c.texts for c in grouped] == [c.texts for c in plain]
    assert grouped_prefill < tiny_engine.last_stats.prefill_tokens / 2


def test_padding_rows_of_the_head_stage_do_not_leak(tiny_engine: Engine) -> None:
    """A row without a head shares a micro-batch with grouped rows: its text is the one it gets alone."""
    params = SamplingParams(max_new_tokens=6, temperature=0)
    together = tiny_engine.generate(["same start " * 12 + "a", "same start " * 12 + "b", "other"], params)
    alone = tiny_engine.generate(["other"], params)
    assert together[2].texts == alone[0].texts
    assert torch.isfinite(torch.tensor([c.tokens[0] for c in together])).all()
