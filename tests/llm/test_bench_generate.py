"""`bench generate` runs end to end on the tiny model (a smoke test of the command, not a timed test)."""

from __future__ import annotations

import json
from pathlib import Path

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
    args = ["bench", "generate", "--model", str(tiny_model_dir), "--n", "3", "--max-new-tokens", "4"]
    result = CliRunner().invoke(main, [*args, "--show", "1", "--json", str(out_json)])
    assert result.exit_code == 0, result.output
    assert "(a) naive loop" in result.stdout and "(b) engine" in result.stdout and "(c) llama.cpp" in result.stdout
    report = json.loads(out_json.read_text())
    rows = {r["path"][:3]: r for r in report["rows"]}
    for key in ("(a)", "(b)"):
        assert rows[key]["copies"] == 3 and rows[key]["tokens"] == 12  # equal output lengths on both paths
        assert rows[key]["copies_per_s"] > 0 and rows[key]["peak_rss_mb"] > 0
    assert "b/a" in report["ratios"] and len(report["samples"]) == 1


def test_a_llama_cpp_process_that_fails_skips_its_row_only(tmp_path: Path) -> None:
    from marketing_gen.cli.bench_generate import LLAMA_PATH, measure_llama_cpp
    from marketing_gen.llm.sampling import SamplingParams

    junk = tmp_path / "not-a-model.gguf"
    junk.write_bytes(b"not a gguf file")
    row = measure_llama_cpp(junk, ["hello"], SamplingParams(max_new_tokens=2, seed=1), threads=1)
    assert row.path == LLAMA_PATH and row.copies == 0
    assert row.note.startswith("llama.cpp process failed: exit code 1")
