"""`eval channels`: per-channel first-try pass per check family, fallback rate, final pass on store users."""

from __future__ import annotations

from pathlib import Path

from fakes import ScriptedEngine

from marketing_gen import channel_eval
from marketing_gen.config import get_settings
from marketing_gen.devtools.demo_store import write_demo_store
from marketing_gen.importers import import_file
from marketing_gen.recommend.store import run_recommend


def _store(tmp_path: Path, url: str, users: int = 12) -> None:
    paths = write_demo_store(tmp_path / "store", users=users)
    for kind in ("brand", "users", "items", "interactions"):
        import_file(kind, paths[kind], url=url)
    run_recommend(url, export=False)


def test_report_counts_first_try_failures_by_family_and_rechecks_delivered_copy(
    tmp_path: Path, settings_env: None, db_url: str
) -> None:
    _store(tmp_path, db_url)
    settings = get_settings()
    calls = {"n": 0}
    good_first: list[bool] = []  # first tries answered with clean copy in the prompt's language

    def respond(prompt, params, call_index):  # noqa: ANN001, ANN202
        # first try: every other user gets invented urgency and a made-up price; regenerations: a missing field
        calls["n"] += 1
        data = prompt[-1]["content"]
        name = data.split('"name": "')[1].split('"')[0]
        price = data.split('"price": "')[1].split('"')[0]
        if params.temperature == 0:
            good_first.append(calls["n"] % 2 == 1 and "Write in English." in prompt[0]["content"])
        if params.temperature == 0 and calls["n"] % 2 == 0:
            return "TITLE: Last chance! Only today\nBODY: Everything at £999.99 until midnight."
        if params.temperature > 0:
            return "TITLE: Hello"
        return f"TITLE: Picked for you\nBODY: We think you will love the {name}, and it is only {price} for you."

    engine = ScriptedEngine(responder=respond)
    [report] = channel_eval.run(engine, settings, ["push"], users=10, max_regenerations=1)

    assert report.n == 10 and report.skipped == 0
    assert len(good_first) == 10 and 0 < sum(good_first) < 5  # the demo store has French and German users too
    assert report.first_try_pass == sum(good_first) / 10
    assert report.family_pass["grounding"] == 0.5 and report.family_pass["missing"] == 1.0
    assert report.fallback_rate == 1 - report.first_try_pass  # regenerations always miss a field
    assert report.pass_before_fallback == report.first_try_pass
    assert report.final_pass == 1.0
    # the clean first tries are sendable too; the English copy sent to the French user fails the gate's language rule
    assert report.first_try_sendable == report.first_try_pass and report.family_pass["language"] == 0.9
    assert report.sendable == 1.0  # the rest is the fallback, sendable on these users
    assert set(report.top_codes) & {"grounding.price", "compliance.urgency"}
    text = channel_eval.table([report], model="m", max_regenerations=1)
    assert "push" in text and f"{report.first_try_pass:.1%}" in text and "100.0%" in text and "sendable" in text


MESSAGES = (
    "Where is my parcel? It has been two weeks now.",
    "I will sue you, my lawyer is ready",
    "Love the new blender, thanks so much!",
)


def _messages(data_dir: Path) -> None:
    """A tiny Twitter support sample: each customer tweet answered by a brand tweet."""
    rows = ["tweet_id,author_id,inbound,text,in_response_to_tweet_id"]
    for i, text in enumerate(MESSAGES):
        rows += [
            f'{2 * i + 1},c{i},True,"{text}",',
            f'{2 * i + 2},Brand,False,"Sorry to hear that, DM us please",{2 * i + 1}',
        ]
    (data_dir / "twcs_customer_support_twitter_sample_5000.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_social_reply_is_measured_through_the_reply_serving_path(
    tmp_path: Path, settings_env: None, db_url: str
) -> None:
    from marketing_gen.replies.suggest import plan_replies

    _store(tmp_path, db_url)
    _messages(tmp_path)
    settings = get_settings()
    bad = ScriptedEngine(default="Visit http://deals.example.net for 60% off today!")
    [report] = channel_eval.run(bad, settings, ["social_reply"], users=6, data_dir=tmp_path)
    contexts = channel_eval.store_users(settings, "social_reply", 6)
    answered = [MESSAGES[k % 3] for k in range(6) if k % 3 != 1]  # the legal threat escalates: no suggestions
    served = [plan_replies(t, brand=contexts[0].brand, k=3, m=4).prompts for t in answered]
    assert [p for c in bad.calls for p in c.prompts] == [p for prompts in served for p in prompts]
    assert (report.channel, report.n, report.skipped) == ("social_reply", 4, 2)
    # 16 candidates: 4 "thank" ones show no thanks (unusable), the 12 others break the link, price and promise rules
    assert report.first_try_pass == 0.0 and report.top_codes["compliance.url"] == 12
    assert report.family_pass["compliance"] == report.family_pass["grounding"] == 0.25
    assert report.fallback_rate == 1.0 and report.pass_before_fallback == 0.0 and report.final_pass == 1.0

    good = ScriptedEngine(default="Thanks for reaching out! Send us a DM with your order number and we'll take a look.")
    [report] = channel_eval.run(good, settings, ["social_reply"], users=6, data_dir=tmp_path)
    assert report.first_try_pass > 0 and report.family_pass["compliance"] == 1.0 and report.fallback_rate < 1.0
    assert report.final_pass == 1.0
