"""ensure_finetuned_model: the first run trains, evaluates before/after and gates; later runs are cached."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import _fresh_db, shared_data

from marketing_gen.config import get_settings
from marketing_gen.llm.model_dir import VERSION_FILE
from marketing_gen.training.datasets import dataset_hash
from marketing_gen.training.evaluate import DEFAULT_CHANNELS
from marketing_gen.training.pipeline import (
    BEFORE_AFTER_FILE,
    build_training_rows,
    describe_store,
    ensure_finetuned_model,
    finetune_name,
)
from marketing_gen.training.sft import SFTParams
from marketing_gen.versions.registry import active_version, list_versions, register_version


@pytest.fixture
def data_dir() -> Path:
    for name in (
        "amazon_products_2020_sample_1000.csv",
        "uci_online_retail_first_week_sample.csv",
        "twcs_customer_support_twitter_sample_5000.csv",
        "bitext_customer_support_training.csv",
    ):
        path = shared_data(name)
    return path.parent


def test_build_training_rows_mixes_sources_and_channels(settings_env: None, data_dir: Path) -> None:
    data = build_training_rows(get_settings(), rows=40, reply_share=0.2, data_dir=data_dir)
    assert len(data.rows) == 40
    channels = [r["channel"] for r in data.rows]
    assert channels.count("social_reply") == 8
    # one model, one recipe: every campaign channel gets its share of the copy rows (email, RSA, Meta two shares)
    counts = {c: channels.count(c) for c in DEFAULT_CHANNELS}
    assert sum(counts.values()) == 32 and counts["email"] == counts["google_ads_rsa"] == counts["meta_ad"] == 8
    assert counts["sms"] == counts["push"] == 4
    assert data.sources["teacher"] == 32 and data.sources["twitter"] + data.sources["bitext"] == 8
    held_users = {c.external_id for c in data.contexts.held_out}
    assert not held_users & {r["user"] for r in data.rows}


def test_first_run_trains_and_gates_then_runs_are_cached(
    settings_env: None, long_tiny_model_dir: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    register_version("tiny-base", str(long_tiny_model_dir), kind="base", activate=True, url=settings.database_url)
    said: list[str] = []
    params = SFTParams(max_steps=1, batch_size=2, save_steps=100, max_length=4096)  # tiny vocab: long rows

    first = ensure_finetuned_model(
        settings, progress=False, echo=said.append, params=params, rows=4, eval_n=1, data_dir=data_dir
    )

    rows = build_training_rows(settings, rows=4, data_dir=data_dir).rows
    tuned_name = finetune_name("tiny-base", dataset_hash(rows))  # the cache key: the dataset's hash
    tuned = Path(settings.models_dir) / tuned_name
    assert (tuned / VERSION_FILE).is_file() and (tuned / BEFORE_AFTER_FILE).is_file()
    text = "\n".join(said)
    assert "fine-tuning tiny-base" in text and "before / after" in text and "pass_rate" in text
    assert "sendable_rate" in text
    assert first in (tuned_name, "tiny-base")  # the gate decides; the tiny model writes noise
    assert active_version(url=settings.database_url).name == first
    versions = {v.name: v for v in list_versions(url=settings.database_url)}
    assert set(versions) == {"tiny-base", tuned_name}
    assert versions[tuned_name].dataset_hash == dataset_hash(rows)
    assert versions[tuned_name].hyperparameters["trained_on"]["store"] == "no brand: 0 users, 0 items"

    # A fresh database (the demo makes one per run) with the same models dir: no training, same decision.
    other_url = _fresh_db(f"sqlite:///{tmp_path / 'second.db'}")
    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", other_url)
    get_settings.cache_clear()
    settings2 = get_settings()
    register_version("tiny-base", str(long_tiny_model_dir), kind="base", activate=True, url=other_url)
    said.clear()
    second = ensure_finetuned_model(
        settings2, progress=False, echo=said.append, params=params, rows=4, eval_n=1, data_dir=data_dir
    )
    assert second == first
    assert not any("fine-tuning tiny-base" in s for s in said)
    assert any("from the first run" in s for s in said)
    assert active_version(url=other_url).name == first

    # Another store in a fresh database, same models dir: other rows, another cache key — it trains its own model
    # instead of silently reusing the first store's (issue 15, item 5).
    from marketing_gen.devtools.demo_store import write_demo_store
    from marketing_gen.importers import import_file
    from marketing_gen.recommend.store import run_recommend

    store_url = _fresh_db(f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("MARKETING_GEN_DATABASE_URL", store_url)
    get_settings.cache_clear()
    settings3 = get_settings()
    paths = write_demo_store(tmp_path / "store", users=8)
    for kind in ("brand", "users", "items", "interactions"):
        import_file(kind, paths[kind], url=store_url)
    run_recommend(store_url, export=False)
    register_version("tiny-base", str(long_tiny_model_dir), kind="base", activate=True, url=store_url)
    said.clear()
    third = ensure_finetuned_model(
        settings3, progress=False, echo=said.append, params=params, rows=4, eval_n=1, data_dir=data_dir
    )
    store_rows = build_training_rows(settings3, rows=4, data_dir=data_dir).rows
    store_name = finetune_name("tiny-base", dataset_hash(store_rows))
    assert store_name != tuned_name and any("fine-tuning tiny-base" in s for s in said)
    assert third in (store_name, "tiny-base")
    [info] = [v for v in list_versions(url=store_url) if v.name == store_name]
    assert info.hyperparameters["trained_on"]["store"] == describe_store(store_url)
    assert ": 8 users," in describe_store(store_url)


def test_foreign_contexts_take_each_language_in_turn(make_context) -> None:
    """Every language the store speaks gets training rows (the first demo fine-tunes saw no Spanish user)."""
    from dataclasses import replace

    from marketing_gen.prompts import language_of
    from marketing_gen.training.pipeline import foreign_contexts

    locales = ["en-GB"] * 10 + ["de-DE"] * 6 + ["fr-FR"] * 2 + ["es-ES"] * 3
    contexts = [replace(make_context(n), locale=loc) for n, loc in enumerate(locales)]
    picked = [language_of(c.locale) for c in foreign_contexts(contexts, 7)]
    assert picked == ["French", "German", "Spanish", "French", "German", "Spanish", "German"]
    # too few: English contexts (the unused end first) read by customers of the store's languages
    more = foreign_contexts(contexts, 14)
    assert [c.user_id for c in more[11:]] == [contexts[9].user_id, contexts[8].user_id, contexts[7].user_id]
    assert [c.locale for c in more[11:]] == ["fr-FR", "de-DE", "es-ES"]
    assert foreign_contexts(contexts[:10], 5) == []  # an English-only store trains no other language


def test_spread_keeps_the_share_in_every_prefix() -> None:
    from marketing_gen.training.pipeline import spread

    mixed = spread(list(range(70)), [f"x{k}" for k in range(30)])
    assert len(mixed) == 100 and set(mixed) == set(range(70)) | {f"x{k}" for k in range(30)}
    for cut in (10, 20, 50):
        assert abs(sum(isinstance(v, str) for v in mixed[:cut]) - 0.3 * cut) <= 1
