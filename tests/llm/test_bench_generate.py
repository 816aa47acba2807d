"""`bench generate` runs end to end on the tiny model (a smoke test of the command, not a timed test)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from click.testing import CliRunner

from marketing_gen.cli import main
from marketing_gen.cli.bench_generate import build_prompts


def test_build_prompts_are_personalized_chat_prompts() -> None:
    prompts = build_prompts(64)
    assert len(prompts) == 64 and len({json.dumps(p) for p in prompts}) == 64
    assert all(p[0]["role"] == "system" and p[-1]["role"] == "user" for p in prompts)
    assert all("SUBJECT" in p[0]["content"] and "<data>" in p[-1]["content"] for p in prompts)


def test_bench_generate_table_and_json(settings_env: None, tiny_model_dir: Path, tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    args = ["bench", "generate", "--model", str(tiny_model_dir), "--n", "5", "--max-new-tokens", "4"]
    result = CliRunner().invoke(main, [*args, "--static-batch", "2", "--show", "1", "--out", str(out_json)])
    assert result.exit_code == 0, result.output
    for row in ("(a) naive loop", "(b) engine", "(c) llama.cpp", "(d) HF generate, static batches"):
        assert row in result.stdout
    report = json.loads(out_json.read_text())
    rows = {r["path"][:3]: r for r in report["rows"]}
    for key in ("(a)", "(b)", "(d)"):
        assert rows[key]["copies"] == 5 and rows[key]["tokens"] == 20  # equal output lengths on every path
        assert rows[key]["copies_per_s"] > 0 and rows[key]["peak_rss_mb"] > 0
    assert rows["(d)"]["note"] == "batches of 2" and "    batches of 2" in result.stdout
    assert "prefill" in rows["(b)"]["note"] and "decode" in rows["(b)"]["note"]
    assert {"b/a", "b/d"} <= set(report["ratios"]) and len(report["samples"]) == 1
    assert report["token_budget"] == 32768  # the engine's CPU default


def test_bench_generate_json_on_stdout_random_init_and_profile(settings_env: None, tiny_model_dir: Path) -> None:
    args = ["bench", "generate", "--model", str(tiny_model_dir), "--n", "3", "--max-new-tokens", "3", "--json"]
    result = CliRunner().invoke(main, [*args, "--random-init", "--skip-naive", "--device", "cpu", "--profile", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # one JSON object, nothing else on stdout
    assert report["model"].endswith("(random init)") and report["device"] == "cpu"
    rows = {r["path"][:3]: r for r in report["rows"]}
    assert rows["(a)"]["note"] == "--skip-naive" and rows["(b)"]["copies"] == 3 and rows["(d)"]["copies"] == 3
    assert rows["(c)"]["copies"] == 0 and "random-init" in rows["(c)"]["note"]
    assert report["top_ops"] and all(op["self_ms"] >= 0 and op["calls"] > 0 for op in report["top_ops"])


def test_random_init_has_the_shape_not_the_weights(tiny_model_dir: Path) -> None:
    from marketing_gen.llm.engine import Engine

    real = Engine.from_path(tiny_model_dir, device="cpu", dtype="fp32")
    fake = Engine.from_path(tiny_model_dir, device="cpu", dtype="fp32", random_init=True)
    shapes = {k: v.shape for k, v in real.model.state_dict().items()}
    assert {k: v.shape for k, v in fake.model.state_dict().items()} == shapes
    assert not torch.equal(real.model.lm_head.weight, fake.model.lm_head.weight)
    again = Engine.from_path(tiny_model_dir, device="cpu", dtype="fp32", random_init=True)
    assert torch.equal(again.model.lm_head.weight, fake.model.lm_head.weight)  # seeded: runs compare


def test_a_llama_cpp_process_that_fails_skips_its_row_only(tmp_path: Path) -> None:
    from marketing_gen.cli.bench_generate import LLAMA_PATH, measure_llama_cpp
    from marketing_gen.llm.sampling import SamplingParams

    junk = tmp_path / "not-a-model.gguf"
    junk.write_bytes(b"not a gguf file")
    row = measure_llama_cpp(junk, ["hello"], SamplingParams(max_new_tokens=2, seed=1), threads=1)
    assert row.path == LLAMA_PATH and row.copies == 0
    assert row.note.startswith("llama.cpp process failed: exit code 1")
