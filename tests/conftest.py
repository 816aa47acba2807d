"""Shared fixtures: a fresh migrated database (PostgreSQL when configured, else SQLite), settings.

Service URLs for tests:
- ``MARKETING_GEN_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
- ``MARKETING_GEN_TEST_BROKER_URL`` (e.g. ``redis://127.0.0.1:6379/15``)
Under ``CI=true`` both must be set and reachable: service-backed tests fail, never skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from marketing_gen.config import get_settings

IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PG_URL = os.environ.get("MARKETING_GEN_TEST_DATABASE_URL")
BROKER_URL = os.environ.get("MARKETING_GEN_TEST_BROKER_URL")

if IN_CI and not (PG_URL and BROKER_URL):
    raise RuntimeError("CI=true needs MARKETING_GEN_TEST_DATABASE_URL and MARKETING_GEN_TEST_BROKER_URL (see .ci/run)")


def shared_data(name: str) -> Path:
    """Path to a third-party data file in ../shared/data; fails under CI when missing, else skips."""
    path = SHARED_DATA / name
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing: CI needs ../shared/data beside the checkout")
        pytest.skip(f"{path} not present")
    return path


def _private_postgres(url: str) -> str:
    """A database of this test process's own (``<db>_<pid>``), emptied: parallel runs never collide."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    private = base.set(database=name)
    eng = create_engine(private)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()
    return private.render_as_string(hide_password=False)


def _fresh_db(url: str) -> str:
    from marketing_gen.db import get_engine, upgrade

    get_engine.cache_clear()
    if url.startswith("postgresql"):
        url = _private_postgres(url)
    upgrade(url)
    return url


@pytest.fixture(scope="session", autouse=True)
def _drop_private_postgres() -> Iterator[None]:
    yield
    if PG_URL:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from marketing_gen.db import get_engine

        get_engine.cache_clear()
        base = make_url(PG_URL)
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{base.database}_{os.getpid()}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh migrated SQLite database file."""
    return _fresh_db(f"sqlite:///{tmp_path / 'test.db'}")


@pytest.fixture
def pg_url() -> str:
    """A fresh migrated PostgreSQL database (fails under CI when unavailable, skips locally)."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("MARKETING_GEN_TEST_DATABASE_URL is not set under CI=true")
        pytest.skip("MARKETING_GEN_TEST_DATABASE_URL not set")
    return _fresh_db(PG_URL)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh migrated database: PostgreSQL when configured (CI), else SQLite."""
    return _fresh_db(PG_URL or f"sqlite:///{tmp_path / 'test.db'}")


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Iterator[None]:
    """Point MARKETING_GEN_* settings at the test database and a tmp models dir."""
    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", db_url)
    monkeypatch.setenv("MARKETING_GEN_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("MARKETING_GEN_SECRET_KEY", "test-secret-key-of-at-least-32-bytes-0123")
    monkeypatch.setenv("MARKETING_GEN_PUBLIC_BASE_URL", "https://links.shop.example")
    monkeypatch.setenv("MARKETING_GEN_API_TOKEN", "test-token")
    monkeypatch.setenv("MARKETING_GEN_REPLY_RETRIEVAL", "false")  # tests pass a toy index where they need one
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# --- model fixtures (issue 3): a tiny random Llama + a real locally trained tokenizer, through the real engine ---


def build_tiny_model_dir(path: Path) -> Path:
    """Save a random-init LlamaForCausalLM (hidden 16, 2 layers) and a byte-level BPE tokenizer with a chat template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = (
        "the a new fresh sale shoe shoes jacket coffee trail run running price offer today you your we our store "
        "brand copy email subject body headline summer winter gift free shipping order only just for with from and "
        "love great best comfy warm light fast hello hi thanks SUBJECT PREHEADER BODY HEADLINE"
    ).split()
    corpus = [
        " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(12)) + f" {i} €{i}.99 !?,:\n" for i in range(300)
    ]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        pad_token="<pad>",
    )
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,  # real prompt templates run ~900 tokens with this small vocabulary
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=0.5,  # peaky logits: greedy choices are far from float ties
    )
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HF model directory with a tiny random Llama and a real tokenizer (chat template, pad, eos)."""
    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_dir: Path):  # -> marketing_gen.llm.engine.Engine (import kept lazy)
    """The real ``Engine`` on the tiny model, CPU fp32 (shared by the session: do not mutate it)."""
    from marketing_gen.llm.engine import Engine

    return Engine.from_path(tiny_model_dir, device="cpu", dtype="fp32", version="tiny-test-model")


@pytest.fixture(scope="session")
def long_tiny_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with 4096 positions: real serving prompts run ~1k tokens with its 512-token vocabulary."""
    import json
    import shutil

    path = tmp_path_factory.mktemp("long_tiny") / "model"
    shutil.copytree(tiny_model_dir, path)
    config = json.loads((path / "config.json").read_text())
    config["max_position_embeddings"] = 4096
    (path / "config.json").write_text(json.dumps(config))
    return path
