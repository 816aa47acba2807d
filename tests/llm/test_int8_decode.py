"""Int8 weight copies for small decode steps (the reply API's latency mode): numbers, routing, engine wiring."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from marketing_gen.llm.int8_decode import MAX_ROWS, enable_int8_decode, quantize_weight  # noqa: E402
from marketing_gen.llm.sampling import SamplingParams  # noqa: E402


def _dequantized_copy(model):  # the model whose weights are exactly what the int8 path computes with
    ref = copy.deepcopy(model)
    for module in ref.modules():
        if isinstance(module, torch.nn.Linear):
            q, scales = quantize_weight(module.weight)
            module.weight = torch.nn.Parameter(q.float() * scales.float()[:, None])
    return ref


def test_quantize_weight_error_is_within_half_a_step_per_channel() -> None:
    torch.manual_seed(0)
    w = torch.randn(48, 32) * torch.linspace(0.01, 3.0, 48)[:, None]  # channels of very different ranges
    q, scales = quantize_weight(w)
    assert q.dtype == torch.int8 and scales.shape == (48,)
    assert int(q.abs().max()) == 127  # every channel's largest weight maps to ±127
    err = (q.float() * scales[:, None] - w).abs()
    assert bool((err <= scales[:, None] / 2 + 1e-6).all())


def test_small_calls_use_the_int8_weights_and_large_calls_the_original(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    original = copy.deepcopy(model)
    dequantized = _dequantized_copy(model)
    keys = set(model.state_dict())
    linears = sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert enable_int8_decode(model) == linears > 0
    assert enable_int8_decode(model) == linears  # idempotent
    assert set(model.state_dict()) == keys  # the copies are not saved with the model

    with torch.inference_mode():
        small = torch.tensor([[5, 9, 33]])  # 3 rows ≤ MAX_ROWS
        got = model(input_ids=small).logits
        assert torch.allclose(got, dequantized(input_ids=small).logits, atol=1e-4)
        assert not torch.allclose(got, original(input_ids=small).logits, atol=1e-4)  # it did not run the originals

        large = torch.arange(MAX_ROWS + 4)[None, :] + 5
        assert torch.equal(model(input_ids=large).logits, original(input_ids=large).logits)


def test_bf16_decode_step_with_int8_weights_stays_close(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).eval()
    reference = _dequantized_copy(model.float())
    enable_int8_decode(model)
    with torch.inference_mode():
        ids = torch.tensor([[7, 11, 40, 3]])
        got = model(input_ids=ids).logits.float()
        want = reference(input_ids=ids).logits
    assert (got - want).abs().max() / want.abs().max() < 0.05  # bf16 activations, int8 weights


def test_engine_int8_decode_generates_and_reports_its_layers(tiny_model_dir: Path) -> None:
    from marketing_gen.llm.engine import Engine

    plain = Engine.from_path(tiny_model_dir, device="cpu", dtype="fp32")
    fast = Engine.from_path(tiny_model_dir, device="cpu", dtype="fp32", int8_decode=True)
    assert plain.int8_decode_layers == 0 and fast.int8_decode_layers > 0
    params = SamplingParams(max_new_tokens=12, temperature=0.8, n=2, seed=3)
    prompts = ["hello", "summer sale on shoes"]
    first, again = fast.generate(prompts, params), fast.generate(prompts, params)
    assert [c.texts for c in first] == [c.texts for c in again]  # deterministic within the mode
    assert all(len(c.texts) == 2 for c in first)
    assert fast.last_stats.generated_tokens > 0
