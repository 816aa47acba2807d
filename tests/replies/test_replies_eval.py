"""Evaluation on a small slice of the real data: loaders, the fixed split, metrics through the real engine."""

from __future__ import annotations

from conftest import shared_data

from marketing_gen.replies.evaluate import (
    evaluate_replies,
    format_table,
    heldout_split,
    load_amazon_qa,
    load_twitter_pairs,
    split_fingerprint,
    weak_label,
)


def test_twitter_pairs_and_fixed_split() -> None:
    pairs = load_twitter_pairs(shared_data("twcs_customer_support_twitter_sample_5000.csv"))
    assert len(pairs) > 2000  # README: 2,188 complete pairs (some drop when cleaning leaves no text)
    assert all(p.text and p.reference and not p.reference.startswith("@") for p in pairs)
    held_a, rest_a = heldout_split(pairs, 300)
    again = load_twitter_pairs(shared_data("twcs_customer_support_twitter_sample_5000.csv"))
    held_b, _ = heldout_split(again, 300)
    assert len(held_a) == 300 and split_fingerprint(held_a) == split_fingerprint(held_b)
    assert not {p.key for p in held_a} & {p.key for p in rest_a}
    labels = {weak_label(p.reference) for p in pairs}
    assert {"complaint", "praise", None} <= labels


def test_amazon_qa_lines_are_counted_not_fatal() -> None:
    pairs, counts = load_amazon_qa(shared_data("amazon_qa_appliances.jsonl"))
    assert counts["python_literal"] == 382
    assert counts["unparseable"] == 3
    assert len(pairs) > 8000


def test_evaluate_small_slice_with_real_engine(tiny_engine) -> None:  # type: ignore[no-untyped-def]
    report = evaluate_replies(
        tiny_engine,
        holdout=6,
        qa_count=4,
        k=3,
        m=3,
        similarity="lexical",
        batch_size=3,
        twcs_path=shared_data("twcs_customer_support_twitter_sample_5000.csv"),
        qa_path=shared_data("amazon_qa_appliances.jsonl"),
    )
    tw = report["twitter"]
    assert report["split"]["heldout"] == 6 and report["amazon_qa"]["messages"] == 4
    assert tw["messages"] == 6
    answered = tw["answered"]
    assert answered >= 1
    assert 0.0 <= tw["best_of_k_similarity"] <= 1.0
    assert tw["candidates_generated"] >= 3 * answered  # m=3 candidates per answered message
    assert tw["guardrail_pass_rate"] is None or 0.0 <= tw["guardrail_pass_rate"] <= 1.0
    assert "twitter" in format_table(report)


def test_served_suggestions_are_checked_for_the_brand_they_were_written_for() -> None:
    """A thread's suggestions are written for its own brand: the thanks template names "the Uber_Support team", which
    would be an unknown product for the default brand (eval replies once reported 0.997 served guardrail pass so)."""
    from marketing_gen.contexts import BrandFacts
    from marketing_gen.replies.evaluate import Pair, served_guardrail_pass
    from marketing_gen.replies.suggest import ReplySuggestions, Suggestion, check_candidate

    text = "Thank you so much for the kind words! The Uber_Support team really appreciates it."
    default = BrandFacts(name="the store")
    assert check_candidate(text, brand=default, item=None, flagged_injection=False)  # the old, wrong check
    pair = Pair("1", "love the app", "Glad to hear it!", "Uber_Support", "praise")
    served = ReplySuggestions(False, None, "praise", False, (Suggestion(text, "thank", fallback=True),))
    assert served_guardrail_pass([pair], [served], default) == 1.0
    leak = ReplySuggestions(False, None, "praise", False, (Suggestion("Try the {ITEM1} today!", "recommend"),))
    assert served_guardrail_pass([pair, pair], [served, leak], default) == 0.5
