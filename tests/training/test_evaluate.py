"""Held-out evaluation: first-try metrics through the copywriter path, stored for the gate, table and chart."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from conftest import shared_data
from fakes import ScriptedEngine

from marketing_gen.config import get_settings
from marketing_gen.contexts import Offer
from marketing_gen.training.datasets import format_fields
from marketing_gen.training.evaluate import (
    comparison_table,
    evaluate_engine,
    evaluate_version,
    held_out_contexts,
    render_png,
    store_eval,
)
from marketing_gen.training.teacher import teacher_fields
from marketing_gen.versions.registry import get_version, register_version


def _engine_answering(contexts, good: set[int], channel: str) -> ScriptedEngine:
    """Teacher copy for the contexts in ``good`` (by position), something unusable for the others."""
    by_data = {}
    for i, c in enumerate(contexts):
        text = format_fields(teacher_fields(c, channel), channel) if i in good else "buy buy buy now now now"
        by_data[c.external_id] = text

    def respond(prompt, params, call_index):  # noqa: ANN001, ANN202
        user = prompt[-1]["content"]  # the data block names the context's own item
        return next((by_data[c.external_id] for c in contexts if c.items[0].title in user), "")

    return ScriptedEngine(responder=respond, version="scripted")


def test_first_try_pass_rate_and_parse_failures(make_context) -> None:
    contexts = [make_context(i, first_name=name) for i, name in enumerate(["Alice", "Ben", "Chloe", "Dan"])]
    contexts = [
        c.__class__(
            **{
                **c.__dict__,
                "items": (c.items[0].__class__(**{**c.items[0].__dict__, "title": f"Glass Lantern Model {i}"}),),
            }
        )
        for i, c in enumerate(contexts)
    ]
    engine = _engine_answering(contexts, good={0, 2}, channel="email")

    result = evaluate_engine(engine, contexts, ["email"], settings=get_settings())

    email = result.channels["email"]
    assert email.n == 4
    assert email.pass_rate == 0.5
    assert email.sendable_rate == 0.5  # the teacher copy passes the quality gate too
    assert email.parse_fail_rate == 0.5
    assert 0 < email.distinct_2 <= 1
    assert email.quality > 0
    assert [e["passed"] for e in email.examples] == [True, False, True]
    assert engine.calls[0].params.temperature == 0.0  # the copywriter's first try: greedy


def test_grounding_errors_are_counted(make_context) -> None:
    context = make_context(0, offer=Offer())
    text = (
        "SUBJECT: The Glass Hanging Lantern for you\nPREHEADER: Soft warm light for quiet evenings at home, "
        "picked for you\nHEADLINE: Meet the Glass Hanging Lantern\nBODY: It is now on sale for £9.99.\n"
        "CTA: Shop now"
    )
    result = evaluate_engine(ScriptedEngine(default=text), [context], ["email"])
    email = result.channels["email"]
    assert email.pass_rate == 0.0 and email.grounding_error_rate == 1.0
    assert any(code.startswith("grounding.") for code in email.top_violations)


def test_metrics_are_stored_and_merged_on_the_version(settings_env: None, make_context) -> None:
    url = get_settings().database_url
    register_version("candidate", "/m/c", kind="sft", metrics={"train": {"train_loss": 1.0}}, url=url)
    contexts = [make_context(0)]
    engine = ScriptedEngine(default="", version="candidate")
    store_eval("candidate", evaluate_engine(engine, contexts, ["email"]), settings=get_settings())
    store_eval("candidate", evaluate_engine(engine, contexts, ["google_ads_rsa"]), settings=get_settings())
    metrics = get_version("candidate", url=url).metrics
    assert metrics["train"] == {"train_loss": 1.0}
    assert set(metrics["eval"]["channels"]) == {"email", "google_ads_rsa"}
    assert metrics["eval"]["channels"]["email"]["pass_rate"] == 0.0


def test_table_and_png(make_context, tmp_path: Path) -> None:
    contexts = [make_context(0, offer=Offer(text="10% off", discount_pct=Decimal("10")))]
    a = evaluate_engine(ScriptedEngine(default="", version="base"), contexts, ["email"])
    b = evaluate_engine(
        ScriptedEngine(default=format_fields(teacher_fields(contexts[0], "email"), "email"), version="tuned"),
        contexts,
        ["email"],
    )
    table = comparison_table([a, b])
    assert "base" in table and "tuned" in table and "pass_rate" in table
    assert "0%" in table and "100%" in table
    png = render_png([a, b], tmp_path / "chart.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_version_runs_the_real_engine_on_held_out_corpora(
    settings_env: None, long_tiny_model_dir: Path
) -> None:
    data_dir = shared_data("amazon_products_2020_sample_1000.csv").parent
    shared_data("uci_online_retail_first_week_sample.csv")
    url = get_settings().database_url
    register_version("tiny", str(long_tiny_model_dir), kind="base", url=url)
    contexts = held_out_contexts(2, data_dir=data_dir)
    assert len(contexts) == 2
    said: list[str] = []
    result = evaluate_version(
        "tiny", settings=get_settings(), channels=["google_ads_rsa"], n=2, data_dir=data_dir, progress=said.append
    )
    assert result.channels["google_ads_rsa"].n == 2
    assert len(said) == 1 and said[0].startswith("tiny google_ads_rsa: n 2, pass ") and "1/1 channels" in said[0]
    stored = get_version("tiny", url=url).metrics["eval"]
    assert stored["eval_set"] == result.eval_set and stored["n"] == 2


def test_examples_show_the_copy_as_checked_not_a_field_the_token_limit_cut(make_context) -> None:
    """The gallery showed an RSA's third description "Discover the", cut by the token limit and dropped before the
    checks: the example is the copy as served."""
    contexts = [make_context(0)]
    text = (
        format_fields(teacher_fields(contexts[0], "google_ads_rsa"), "google_ads_rsa") + "\nDESCRIPTION: Discover the"
    )
    engine = ScriptedEngine(default=text, version="scripted", finish_reason="length")
    shown = evaluate_engine(engine, contexts, ["google_ads_rsa"]).channels["google_ads_rsa"].examples[0]
    assert shown["passed"] and "Discover the" not in shown["fields"]["descriptions"]
