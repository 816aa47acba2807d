"""Engine contracts on the tiny random Llama, through the real loading and generate path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from marketing_gen.errors import ClientError, InvalidRequest, TransientError
from marketing_gen.llm.engine import Engine, generate_distributed
from marketing_gen.llm.sampling import SamplingParams

PROMPTS = [
    "hello",
    [{"role": "system", "content": "You write copy for a store."}, {"role": "user", "content": "subject for shoes"}],
    "the new summer jacket is on sale today for you, fresh and light, free shipping on every order",
    [{"role": "user", "content": "coffee"}],
    "a gift",
    "warm winter shoes for the trail, comfy and fast",
]


def texts(completions) -> list[list[str]]:
    return [c.texts for c in completions]


def test_order_n_and_counts(tiny_engine: Engine) -> None:
    params = SamplingParams(max_new_tokens=7, temperature=1.0, n=3, seed=1)
    out = tiny_engine.generate(PROMPTS, params)
    assert [c.index for c in out] == list(range(len(PROMPTS)))
    assert [c.prompt for c in out] == PROMPTS
    for c in out:
        assert len(c.texts) == len(c.finish_reasons) == len(c.tokens) == 3
        assert all(1 <= t <= 7 for t in c.tokens)
        assert all(r in ("stop", "length") for r in c.finish_reasons)
        assert c.prompt_tokens > 0
    # each result belongs to its own prompt: generating that prompt alone gives the same texts
    alone = tiny_engine.generate([PROMPTS[2]], params)
    assert alone[0].texts == out[2].texts
    assert tiny_engine.generate([], params) == []


def test_max_new_tokens_respected(tiny_engine: Engine) -> None:
    for m in (1, 5):
        out = tiny_engine.generate(PROMPTS, SamplingParams(max_new_tokens=m), ignore_eos=True)
        for c in out:
            assert c.tokens == [m]
            assert c.finish_reasons == ["length"]
        free = tiny_engine.generate(PROMPTS, SamplingParams(max_new_tokens=m, temperature=1.0, seed=4))
        assert all(t <= m for c in free for t in c.tokens)


def test_same_seed_same_texts_other_seed_differs(tiny_engine: Engine) -> None:
    p = SamplingParams(max_new_tokens=10, temperature=1.0, top_p=0.95, n=2, seed=42)
    first = texts(tiny_engine.generate(PROMPTS, p))
    again = texts(tiny_engine.generate(PROMPTS, p))
    other = texts(tiny_engine.generate(PROMPTS, p.model_copy(update={"seed": 43})))
    assert first == again
    assert first != other
    assert any(c[0] != c[1] for c in first), "the n samples of one prompt should differ"


@pytest.mark.parametrize(
    "params",
    [
        SamplingParams(max_new_tokens=9),
        SamplingParams(max_new_tokens=9, temperature=0.9, top_k=20, seed=5, n=2),
        SamplingParams(max_new_tokens=9, temperature=1.2, top_p=0.8, repetition_penalty=1.3, seed=9),
        SamplingParams(max_new_tokens=9, temperature=0.7, no_repeat_ngram_size=2, seed=11),
    ],
    ids=["greedy", "top_k", "top_p_repetition", "no_repeat_ngram"],
)
def test_bucketed_equals_unbucketed(tiny_engine: Engine, params: SamplingParams) -> None:
    one_batch = tiny_engine.generate(PROMPTS, params, token_budget=10**9)
    groups = {r.ids[: r.prefix] for r in tiny_engine._build_rows(PROMPTS, params)}
    assert len(groups) == 2  # PROMPTS[1]'s system message is shared-prefix cached, in its own micro-batch
    assert tiny_engine.last_stats.micro_batches == len(groups)
    row_by_row = tiny_engine.generate(PROMPTS, params, token_budget=1)
    assert tiny_engine.last_stats.micro_batches == len(PROMPTS) * params.n
    assert texts(one_batch) == texts(row_by_row)
    one_by_one = [tiny_engine.generate([p], params)[0].texts for p in PROMPTS]
    assert texts(one_batch) == one_by_one


def test_stats_split_prefill_and_decode_time(tiny_engine: Engine) -> None:
    tiny_engine.generate(PROMPTS, SamplingParams(max_new_tokens=6), ignore_eos=True)
    stats = tiny_engine.last_stats
    assert stats.prefill_seconds > 0 and stats.decode_seconds > 0
    assert stats.prefill_seconds + stats.decode_seconds <= sum(stats.batch_seconds) + 1e-6


def test_micro_batches_respect_token_budget(tiny_engine: Engine) -> None:
    params = SamplingParams(max_new_tokens=8)
    lengths = [c.prompt_tokens for c in tiny_engine.generate(PROMPTS, params)]
    budget = 3 * (max(lengths) + 8)
    tiny_engine.generate(PROMPTS, params, token_budget=budget)
    stats = tiny_engine.last_stats
    assert sum(stats.batch_rows) == len(PROMPTS)
    assert 1 < stats.micro_batches < len(PROMPTS)
    for batch in Engine._micro_batches(tiny_engine._build_rows(PROMPTS, params), 8, budget):
        assert (max(len(r.ids) for r in batch) + 8) * len(batch) <= budget
        assert [len(r.ids) for r in batch] == sorted(len(r.ids) for r in batch)


def test_stop_strings_cut_text(tiny_engine: Engine) -> None:
    params = SamplingParams(max_new_tokens=16)
    full = tiny_engine.generate(PROMPTS, params, ignore_eos=True)
    text = next(t for c in full for t in c.texts if len(t.strip()) >= 6)
    stop = next(text[i : i + 2] for i in range(2, len(text) - 1) if text[i : i + 2].strip())
    out = tiny_engine.generate(PROMPTS, params.model_copy(update={"stop": (stop, "never-generated-zzz")}))
    hits = 0
    for before, after in zip(full, out, strict=True):
        cut = before.texts[0].find(stop)
        if cut >= 0:
            hits += 1
            assert after.texts[0] == before.texts[0][:cut].strip()
            assert after.finish_reasons == ["stop"]
            assert after.tokens[0] <= before.tokens[0]
    assert hits >= 1


def test_finish_reason_stop_on_eos(tiny_model_dir: Path) -> None:
    engine = Engine.from_path(tiny_model_dir, device="cpu", dtype="fp32")
    eos = engine.eos_ids[0]
    with torch.no_grad():  # make EOS dominate: the model stops at once
        engine.model.lm_head.weight.data = engine.model.lm_head.weight.data.clone()
        engine.model.lm_head.weight[eos] *= 0
        bias = torch.zeros(engine.model.lm_head.weight.shape[0])
        bias[eos] = 1e4
        engine.model.lm_head.bias = torch.nn.Parameter(bias)
    out = engine.generate(PROMPTS[:2], SamplingParams(max_new_tokens=5))
    assert [c.finish_reasons for c in out] == [["stop"], ["stop"]]
    assert [c.tokens for c in out] == [[1], [1]]
    assert [c.texts for c in out] == [[""], [""]]
    forced = engine.generate(PROMPTS[:2], SamplingParams(max_new_tokens=5), ignore_eos=True)
    assert [c.tokens for c in forced] == [[5], [5]]


def test_sampling_params_validation() -> None:
    with pytest.raises(ValidationError, match="n > 1 needs temperature"):
        SamplingParams(n=2)
    with pytest.raises(ValidationError):
        SamplingParams(max_new_tokens=0)
    with pytest.raises(ValidationError):
        SamplingParams(top_p=0.0)
    with pytest.raises(ValidationError):
        SamplingParams(temprature=0.5)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        SamplingParams().max_new_tokens = 3  # type: ignore[misc]


def test_bad_prompts_are_client_errors(tiny_engine: Engine) -> None:
    with pytest.raises(InvalidRequest, match=r"prompts\[1\]"):
        tiny_engine.generate(["ok", 42], SamplingParams(max_new_tokens=2))  # type: ignore[list-item]
    with pytest.raises(InvalidRequest, match="list of prompts"):
        tiny_engine.generate("one prompt", SamplingParams(max_new_tokens=2))
    with pytest.raises(InvalidRequest, match="positions"):
        tiny_engine.generate(["hello " * 2100], SamplingParams(max_new_tokens=200))


class _OOMAbove:
    """Wraps ``model.forward``: raises CUDA OOM for batches of more than ``k`` rows, records batch sizes."""

    def __init__(self, forward, k: int) -> None:
        self.forward, self.k, self.sizes = forward, k, []

    def __call__(self, **kwargs):
        rows = kwargs["input_ids"].shape[0]
        self.sizes.append(rows)
        if rows > self.k:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.forward(**kwargs)


@pytest.mark.parametrize("k", [1, 3, 9, 10])
def test_oom_splits_batches_and_keeps_every_request(tiny_model_dir: Path, k: int) -> None:
    engine = Engine.from_path(tiny_model_dir, device="cpu", dtype="fp32")
    params = SamplingParams(max_new_tokens=6, temperature=1.0, seed=3, n=2)
    prompts = [p for p in PROMPTS if isinstance(p, str) or p[0]["role"] != "system"]  # one micro-batch
    rows = len(prompts) * params.n  # 10
    expected = texts(engine.generate(prompts, params, token_budget=10**9))
    fake = _OOMAbove(engine.model.forward, k)
    engine.model.forward = fake
    got = engine.generate(prompts, params, token_budget=10**9)
    assert texts(got) == expected
    assert all(size <= k for size in engine.last_stats.batch_rows)
    assert sum(engine.last_stats.batch_rows) == rows
    if k >= rows:  # at the boundary nothing is split
        assert engine.last_stats.oom_splits == 0 and engine.last_stats.batch_rows == [rows]
    else:
        assert engine.last_stats.oom_splits > 0


def test_oom_on_a_single_row_is_transient(tiny_model_dir: Path) -> None:
    engine = Engine.from_path(tiny_model_dir, device="cpu", dtype="fp32")
    engine.model.forward = _OOMAbove(engine.model.forward, 0)
    with pytest.raises(TransientError):
        engine.generate(["hello", "hi"], SamplingParams(max_new_tokens=2))


def test_from_path_without_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match="model import-base"):
        Engine.from_path(tmp_path, device="cpu")


def test_generate_distributed_single_process(tiny_engine: Engine) -> None:
    params = SamplingParams(max_new_tokens=5, temperature=0.8, seed=2)
    out = generate_distributed(tiny_engine, PROMPTS, params)
    assert [c.index for c in out] == list(range(len(PROMPTS)))
    assert texts(out) == texts(tiny_engine.generate(PROMPTS, params))


def _sorted_nucleus(scaled: torch.Tensor, top_p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference top-p (HF's TopPLogitsWarper, a full sort): (tokens sorted by probability, kept probabilities)."""
    srt, order = torch.sort(scaled, dim=-1, descending=True)
    probs = torch.softmax(srt, dim=-1)
    return order, probs.masked_fill(torch.cumsum(probs, -1) - probs >= top_p, 0.0)


def test_nucleus_sampler_matches_full_sort_and_is_row_independent() -> None:
    from marketing_gen.llm.processors import SeededSampler

    torch.manual_seed(0)
    vocab = 5000
    # nucleus sizes 2, 2 (top-64 path), 215, 155 (top-1024 path), ~4450 (threshold search, no sort)
    logits = torch.cat([torch.randn(2, vocab) * 8, torch.randn(2, vocab) * 3, torch.randn(2, vocab) * 0.05])
    params = SamplingParams(max_new_tokens=4, temperature=0.9, top_p=0.9, seed=1)
    seeds = [11, 12, 13, 14, 15, 16]
    batch = SeededSampler(seeds, 0, params)
    order, kept = _sorted_nucleus(logits / params.temperature, params.top_p)
    assert (kept > 0).sum(-1)[4:].min() > 1024  # the last rows really take the threshold path
    for step in range(4):
        ids = torch.zeros((6, step), dtype=torch.long)
        got = batch(ids, logits).argmax(-1)
        assert torch.equal(got, batch.pick(step, logits))
        # prefilter rows: exactly today's sampler (same uniform, same sorted inverse CDF) -> same texts as before
        cdf = torch.cumsum(kept, -1)
        u = batch.uniforms[:, step : step + 1]
        want = order.gather(-1, torch.searchsorted(cdf, u * cdf[:, -1:]).clamp(max=vocab - 1)).squeeze(-1)
        assert got[:4].tolist() == want[:4].tolist()
        # threshold rows: a token of the same nucleus
        for r in (4, 5):
            assert got[r].item() in set(order[r][kept[r] > 0].tolist())
        for r in range(6):  # the same row alone picks the same token
            alone = SeededSampler([seeds[r]], 0, params)(ids[r : r + 1], logits[r : r + 1]).argmax(-1)
            assert alone.item() == got[r].item()


@pytest.mark.parametrize("scale", [0.01, 0.05, 0.5, 2.0, 8.0])
def test_threshold_nucleus_keeps_the_tokens_and_probabilities_of_a_full_sort(scale: float) -> None:
    from marketing_gen.llm.processors import threshold_nucleus

    torch.manual_seed(3)
    scaled = torch.randn(6, 3000) * scale
    for top_p in (0.05, 0.3, 0.9, 0.95, 0.999):
        order, kept = _sorted_nucleus(scaled, top_p)
        want = torch.zeros_like(kept).scatter(-1, order, kept)  # vocabulary order
        got = threshold_nucleus(torch.softmax(scaled, -1), top_p)
        assert torch.equal(got > 0, want > 0), f"kept sets differ at top_p={top_p}"
        torch.testing.assert_close(got / got.sum(-1, keepdim=True), want / want.sum(-1, keepdim=True))


def test_threshold_draw_gives_each_token_its_renormalised_probability() -> None:
    """Statistical: 8,000 seeded draws from one row land on the nucleus tokens in their renormalised shares."""
    from marketing_gen.llm.processors import SeededSampler

    torch.manual_seed(5)
    logits = torch.randn(1, 500) * 3.0
    params = SamplingParams(temperature=1.0, top_p=0.5, seed=1)
    order, kept = _sorted_nucleus(logits, params.top_p)
    want = torch.zeros_like(kept).scatter(-1, order, kept)[0]
    want = want / want.sum()
    draws = 8_000
    u = torch.rand(draws, 1, generator=torch.Generator().manual_seed(9))
    rows = logits.expand(draws, -1)
    picks = SeededSampler([1], 0, params)._threshold_pick(rows, torch.logsumexp(rows, -1, keepdim=True), u)
    freq = torch.bincount(picks[:, 0], minlength=500).float() / draws
    assert set(freq.nonzero().flatten().tolist()) <= set(want.nonzero().flatten().tolist())
    assert (freq - want).abs().sum().item() < 0.1  # L1 of 8k draws over ~15 tokens: ~0.04 expected


def test_shared_system_prefix_gives_the_same_texts(tiny_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import marketing_gen.llm.engine as engine_module

    system = {"role": "system", "content": "You write short, warm copy for a store that sells shoes and jackets."}
    other = {"role": "system", "content": "You write fast, fresh headlines for a coffee brand."}
    example_user = {"role": "user", "content": "gloves"}
    prompts = [
        [system, {"role": "user", "content": "shoes"}],
        [other, {"role": "user", "content": "coffee for you today"}],
        [system, {"role": "user", "content": "a warm winter jacket with free shipping"}],
        "no system message here",
        [other, {"role": "user", "content": "hi"}],
        [system, {"role": "user", "content": "hats"}, {"role": "assistant", "content": "SUBJECT: hats"}, example_user],
    ]
    params = SamplingParams(max_new_tokens=8, temperature=0.9, top_p=0.9, seed=5, n=2)
    rows = tiny_engine._build_rows(prompts, params)
    assert {r.index for r in rows if r.prefix} == {0, 1, 2, 4, 5}  # raw text has no prefix
    few_shot = next(r for r in rows if r.index == 5)
    assert few_shot.prefix > next(r for r in rows if r.index == 0).prefix  # the example turn is shared too
    shared = tiny_engine.generate(prompts, params, token_budget=10**9)
    assert tiny_engine.last_stats.micro_batches == 4  # one per distinct prefix + one without
    monkeypatch.setattr(engine_module, "MIN_SHARED_PREFIX", 10**9)
    plain = tiny_engine.generate(prompts, params, token_budget=10**9)
    assert tiny_engine.last_stats.micro_batches == 1
    assert texts(shared) == texts(plain)


def test_repetition_penalty_counts_generated_tokens_only() -> None:
    import torch

    from marketing_gen.llm.processors import GeneratedRepetition

    # prompt width 3: tokens 1, 2 are prompt only; token 4 was generated; token 5 never seen
    ids = torch.tensor([[1, 2, 0, 4]])
    scores = torch.tensor([[1.0, 2.0, 2.0, 3.0, 2.0, 2.0]])
    out = GeneratedRepetition(3, 2.0, 0)(ids, scores.clone())
    assert out[0, 2].item() == 2.0 and out[0, 1].item() == 2.0  # prompt tokens untouched
    assert out[0, 4].item() == 1.0  # generated token penalised
    assert out[0, 5].item() == 2.0


def test_no_repeat_ngram_ignores_the_prompt() -> None:
    import torch

    from marketing_gen.llm.processors import GeneratedRepetition

    # prompt [7, 8]; generated [7, 8, 7]: the bigram (7, 8) repeats in the generated part → 8 is banned next
    ids = torch.tensor([[7, 8, 7, 8, 7]])
    out = GeneratedRepetition(2, 1.0, 2)(ids, torch.zeros((1, 10)))
    assert out[0, 8].item() == float("-inf")
    # with the prompt alone holding the bigram, nothing is banned
    ids = torch.tensor([[7, 8, 7]])
    out = GeneratedRepetition(2, 1.0, 2)(ids, torch.zeros((1, 10)))
    assert torch.isfinite(out).all()


def test_a_tiny_tail_chunk_is_evened_out(tiny_engine: Engine) -> None:
    params = SamplingParams(max_new_tokens=8, n=5, temperature=0.8)
    rows = tiny_engine._build_rows([PROMPTS[0]], params)  # 5 rows, same prompt and prefix
    width = len(rows[0].ids) + 8
    batches = Engine._micro_batches(rows, 8, 4 * width)  # greedy: 4 + 1
    assert [len(b) for b in batches] == [3, 2]
    assert sorted((r.index, r.sample) for b in batches for r in b) == sorted((r.index, r.sample) for r in rows)
    assert [len(b) for b in Engine._micro_batches(rows, 8, 3 * width)] == [3, 2]  # 3 + 2 is left as it is


def test_preallocated_kv_cache_gives_the_texts_of_a_growing_cache(
    tiny_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import DynamicCache

    import marketing_gen.llm.engine as engine_module

    params = SamplingParams(max_new_tokens=9, temperature=0.9, top_p=0.9, seed=11, n=2)
    prompts = [PROMPTS[1], [PROMPTS[1][0], {"role": "user", "content": "a warm winter jacket"}], *PROMPTS[2:]]
    preallocated = tiny_engine.generate(prompts, params, token_budget=10**9)

    def growing(config, rows, capacity, prefix_kv):  # noqa: ANN001, ANN202 - transformers' own cache
        data = [(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in prefix_kv or []]
        return DynamicCache(ddp_cache_data=data or None, config=config)

    monkeypatch.setattr(engine_module.kv_cache, "preallocated_cache", growing)
    assert texts(tiny_engine.generate(prompts, params, token_budget=10**9)) == texts(preallocated)


def test_preallocated_layer_writes_in_place_and_grows_past_its_capacity() -> None:
    from marketing_gen.llm.kv_cache import preallocated_layer_class

    layer = preallocated_layer_class()(capacity=5)
    parts = [torch.randn(2, 3, n, 4) for n in (3, 1, 1, 2)]
    for k, part in enumerate(parts):
        keys, values = layer.update(part, -part)
        expected = torch.cat(parts[: k + 1], dim=-2)
        assert torch.equal(keys, expected) and torch.equal(values, -expected)
        assert layer.get_seq_length() == expected.shape[-2]
    assert layer.capacity == 7  # the last update went past the 5 planned positions


def test_greedy_decode_matches_transformers_generate(tiny_engine: Engine) -> None:
    """The engine's own decode loop (left padding, shared prefix, preallocated cache) against HF's generate."""
    params = SamplingParams(max_new_tokens=10, temperature=0)
    batched = tiny_engine.generate(PROMPTS, params, token_budget=10**9)
    model, tok = tiny_engine.model, tiny_engine.tokenizer
    for prompt, completion in zip(PROMPTS, batched, strict=True):
        ids = tok(tiny_engine.render(prompt), add_special_tokens=isinstance(prompt, str), return_tensors="pt")
        with torch.inference_mode():
            out = model.generate(**ids, max_new_tokens=10, do_sample=False, pad_token_id=tiny_engine.pad_id)
        new = out[0, ids["input_ids"].shape[1] :].tolist()
        assert completion.tokens[0] == len(new)
        assert completion.texts[0] == tok.decode(new, skip_special_tokens=True).strip()


def test_rows_that_stop_early_leave_the_batch_without_changing_any_text(
    tiny_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows that hit a stop string are dropped from the running batch; every text is still the one the prompt
    gets alone (each row samples from its own stream)."""
    params = SamplingParams(max_new_tokens=24, temperature=1.0, top_k=20, seed=9, n=3)
    full = tiny_engine.generate(PROMPTS, params, token_budget=10**9, ignore_eos=True)
    # a stop string most rows hit, at different steps
    counts: dict[str, int] = {}
    for t in (t for c in full for t in c.texts):
        for gram in {t[i : i + 2] for i in range(len(t) - 1) if t[i : i + 2].strip()}:
            counts[gram] = counts.get(gram, 0) + 1
    stop = max(counts, key=counts.__getitem__)
    params = params.model_copy(update={"stop": (stop,)})
    prompts = [p for p in PROMPTS if isinstance(p, str) or p[0]["role"] != "system"]  # one micro-batch
    kept: list[int] = []  # rows of every forward pass
    original = type(tiny_engine.model).forward

    def forward(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        kept.append(kwargs["input_ids"].shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(tiny_engine.model), "forward", forward)
    together = tiny_engine.generate(prompts, params, token_budget=10**9)
    rows = len(prompts) * 3
    assert rows in kept and kept[-1] < rows  # finished rows were dropped mid-batch
    alone = [tiny_engine.generate([p], params)[0] for p in prompts]
    assert texts(together) == texts(alone)
    assert [c.finish_reasons for c in together] == [c.finish_reasons for c in alone]
    assert any("stop" in c.finish_reasons for c in together)


def test_host_checks_every_k_steps_give_the_texts_of_checking_every_step(
    tiny_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EOS is tracked on the device and stop strings / dropped rows are looked at every CHECK_EVERY steps: each
    row still ends at the exact token that completes its stop, as when the host checked after every step."""
    import marketing_gen.llm.decode as decode_module

    params = SamplingParams(max_new_tokens=20, temperature=1.0, top_k=20, seed=9, n=2)
    full = tiny_engine.generate(PROMPTS, params, token_budget=10**9, ignore_eos=True)
    grams = [t[i : i + 2] for c in full for t in c.texts for i in range(len(t) - 1) if t[i : i + 2].strip()]
    stop = max(set(grams), key=grams.count)  # a stop string most rows hit, at different steps
    params = params.model_copy(update={"stop": (stop,)})
    checks: list[tuple[int, int]] = []
    original = decode_module._stop_strings

    def recording(stopper, generated, kept, finished, start, end):  # noqa: ANN001, ANN202
        checks.append((start, end))
        return original(stopper, generated, kept, finished, start, end)

    monkeypatch.setattr(decode_module, "_stop_strings", recording)
    every_8 = tiny_engine.generate(PROMPTS, params, token_budget=10**9)
    assert checks and all(end - start <= decode_module.CHECK_EVERY for start, end in checks)
    assert any(end - start == decode_module.CHECK_EVERY for start, end in checks)
    monkeypatch.setattr(decode_module, "CHECK_EVERY", 1)
    every_step = tiny_engine.generate(PROMPTS, params, token_budget=10**9)
    assert texts(every_8) == texts(every_step)
    assert [c.tokens for c in every_8] == [c.tokens for c in every_step]
    assert [c.finish_reasons for c in every_8] == [c.finish_reasons for c in every_step]
    assert any("stop" in c.finish_reasons for c in every_8)
