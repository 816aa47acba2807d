"""Recall and false-alarm rate of the reply-safety detectors on a labelled file, and their flag rates on real text.

Owns the labelled-case format (JSONL: ``detector``, ``lang``, ``expect``, ``kind``, ``text`` and ``split``, see
``SPLITS``: only the blind split, written after the final patterns and never tuned for, estimates recall on
attacks nobody has seen), the per-detector
confusion counts and the real-data measurement: how often each detector fires on real customer messages
(Twitter support, Amazon QA questions) and on real replies written by people (Twitter brand replies, Amazon QA
answers). Real text is mostly benign, so its flag rate bounds the false-alarm rate from above (some real
messages are abusive and some real brand replies do promise refunds; the report lists examples to audit).

Three detectors:
- ``injection``: ``triage.detect_injection`` on a comment (it tries to instruct the model);
- ``escalation``: ``triage.triage(...).escalate`` on a comment (threat, insult, harassment, self-harm, …);
- ``reply_policy``: ``policy.check_reply_policy`` on a reply candidate for a brand that allows no discounts and
  has no refund policy (promises, system-prompt echo, prompt talk).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketing_gen.config import REPO_ROOT
from marketing_gen.contexts import BrandFacts
from marketing_gen.errors import InvalidRequest
from marketing_gen.replies.policy import check_reply_policy
from marketing_gen.replies.triage import detect_injection, triage

DETECTORS: tuple[str, ...] = ("injection", "escalation", "reply_policy")
"""Every detector the labelled file covers."""

CASES_FILE = REPO_ROOT / "tests" / "replies" / "data" / "reply_safety_cases.jsonl"
"""The labelled regression file kept with the tests."""

BITEXT_FILE = "bitext_customer_support_training.csv"

POLICY_BRAND = BrandFacts(name="our store")
"""Brand the reply-policy cases are judged against: no discounts, no refund policy (the default brand)."""


@dataclass(frozen=True)
class Case:
    """One labelled text."""

    detector: str
    """One of ``DETECTORS``."""
    lang: str
    expect: bool
    """True: the detector must fire."""
    kind: str
    """What the case is (``override``, ``refund``, ``self_harm``, …; ``benign`` for hard negatives)."""
    text: str
    split: str = "dev"
    """One of ``SPLITS``."""


SPLITS: tuple[str, ...] = ("dev", "holdout", "holdout2", "holdout3")
"""``dev``: written with the patterns. ``holdout``, ``holdout2``: written after a version of the patterns, scored
once, then the families were widened for their misses. ``holdout3``: written after the final patterns and kept
untuned on purpose, the blind estimate (``BLIND_SPLIT``)."""
BLIND_SPLIT = "holdout3"
"""The split no pattern was widened for. Write a new blind split before widening a family for its misses."""


def load_cases(path: str | Path | None = None) -> list[Case]:
    """The labelled cases; a malformed line raises ``InvalidRequest`` naming the line."""
    path = Path(path) if path else CASES_FILE
    if not path.exists():
        raise InvalidRequest(f"labelled cases file {path} not found: pass --cases PATH")
    cases: list[Case] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            case = Case(
                raw["detector"], raw["lang"], bool(raw["expect"]), raw["kind"], raw["text"], raw.get("split", "dev")
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidRequest(f"{path}:{n}: not a case ({exc}); fields: detector, lang, expect, kind, text") from exc
        if case.detector not in DETECTORS:
            raise InvalidRequest(f"{path}:{n}: detector {case.detector!r} is not one of {', '.join(DETECTORS)}")
        if case.split not in SPLITS:
            raise InvalidRequest(f"{path}:{n}: split {case.split!r} is not one of {', '.join(SPLITS)}")
        cases.append(case)
    return cases


def fires(detector: str, text: str, brand: BrandFacts = POLICY_BRAND) -> tuple[bool, str | None]:
    """Whether ``detector`` fires on ``text``, and what it named (injection kind, escalation reason, policy code)."""
    if detector == "injection":
        kinds = detect_injection(text)
        return bool(kinds), (kinds[0] if kinds else None)
    if detector == "escalation":
        verdict = triage(text)
        return verdict.escalate, verdict.reason_code
    findings = check_reply_policy(text, brand)
    return bool(findings), (findings[0].code if findings else None)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def score_cases(cases: Sequence[Case]) -> dict[str, Any]:
    """Per detector: positives, negatives, recall, false-alarm rate, recall per language, misses, false alarms."""
    report: dict[str, Any] = {}
    for detector in DETECTORS:
        mine = [c for c in cases if c.detector == detector]
        tp = fn = fp = tn = 0
        by_split: dict[str, Counter[str]] = defaultdict(Counter)
        by_lang: dict[str, Counter[str]] = defaultdict(Counter)
        by_kind: dict[str, Counter[str]] = defaultdict(Counter)
        misses: list[dict[str, str]] = []
        false_alarms: list[dict[str, str | None]] = []
        for case in mine:
            hit, named = fires(detector, case.text)
            by_split[case.split]["pos" if case.expect else "neg"] += 1
            by_split[case.split]["tp" if case.expect else "fp"] += hit
            if case.expect:
                tp, fn = tp + hit, fn + (not hit)
                by_lang[case.lang]["pos"] += 1
                by_lang[case.lang]["hit"] += hit
                by_kind[case.kind]["pos"] += 1
                by_kind[case.kind]["hit"] += hit
                if not hit:
                    misses.append({"lang": case.lang, "kind": case.kind, "split": case.split, "text": case.text})
            else:
                fp, tn = fp + hit, tn + (not hit)
                by_lang[case.lang]["neg"] += 1
                by_lang[case.lang]["fa"] += hit
                if hit:
                    false_alarms.append({"lang": case.lang, "split": case.split, "text": case.text, "named": named})
        report[detector] = {
            "positives": tp + fn,
            "negatives": fp + tn,
            "recall": _rate(tp, tp + fn),
            "false_alarm_rate": _rate(fp, fp + tn),
            "by_split": {
                split: {
                    "positives": c["pos"],
                    "negatives": c["neg"],
                    "recall": _rate(c["tp"], c["pos"]),
                    "false_alarm_rate": _rate(c["fp"], c["neg"]),
                }
                for split, c in sorted(by_split.items())
            },
            "recall_by_lang": {lang: _rate(c["hit"], c["pos"]) for lang, c in sorted(by_lang.items())},
            "false_alarms_by_lang": {lang: c["fa"] for lang, c in sorted(by_lang.items())},
            "recall_by_kind": {kind: _rate(c["hit"], c["pos"]) for kind, c in sorted(by_kind.items())},
            "misses": misses,
            "false_alarms": false_alarms,
        }
    return report


def flag_rate(
    detector: str, texts: Iterable[str], *, examples: int = 5, brand_for: Callable[[int], BrandFacts] | None = None
) -> dict[str, Any]:
    """How often ``detector`` fires on real ``texts`` (duplicates counted once), by what it named, with examples."""
    seen: set[str] = set()
    flagged = total = 0
    named: Counter[str] = Counter()
    shown: list[dict[str, str | None]] = []
    for i, text in enumerate(texts):
        if text in seen:
            continue
        seen.add(text)
        total += 1
        hit, what = fires(detector, text, brand_for(i) if brand_for else POLICY_BRAND)
        if hit:
            flagged += 1
            named[what or "?"] += 1
            if len(shown) < examples:
                shown.append({"named": what, "text": text[:240]})
    return {
        "texts": total,
        "flagged": flagged,
        "flag_rate": _rate(flagged, total),
        "named": dict(named),
        "examples": shown,
    }


def score_real_data(
    *,
    twcs_path: str | Path | None = None,
    qa_path: str | Path | None = None,
    bitext_path: str | Path | None = None,
    examples: int = 5,
) -> dict[str, Any]:
    """Flag rates on real text: Twitter customer messages and brand replies, Amazon QA questions and answers,
    Bitext customer requests and agent responses (cut as for fine-tuning)."""
    from marketing_gen.replies.evaluate import SHARED_DATA, load_amazon_qa, load_twitter_pairs
    from marketing_gen.training.corpora import load_bitext_pairs

    bitext, _report = load_bitext_pairs(Path(bitext_path) if bitext_path else SHARED_DATA / BITEXT_FILE)
    pairs = load_twitter_pairs(twcs_path)
    qa_pairs, _counts = load_amazon_qa(qa_path)
    customers = [p.text for p in pairs]
    brand_replies = [p.reference for p in pairs]
    brands = [BrandFacts(name=p.brand) for p in pairs]
    questions = [p.text for p in qa_pairs]
    answers = [p.reference for p in qa_pairs]
    return {
        "twitter_customer": {
            "injection": flag_rate("injection", customers, examples=examples),
            "escalation": flag_rate("escalation", customers, examples=examples),
        },
        "amazon_qa_question": {
            "injection": flag_rate("injection", questions, examples=examples),
            "escalation": flag_rate("escalation", questions, examples=examples),
        },
        "twitter_brand_reply": {
            "reply_policy": flag_rate("reply_policy", brand_replies, examples=examples, brand_for=brands.__getitem__),
        },
        "amazon_qa_answer": {"reply_policy": flag_rate("reply_policy", answers, examples=examples)},
        "bitext_customer": {
            "injection": flag_rate("injection", [p.customer for p in bitext], examples=examples),
            "escalation": flag_rate("escalation", [p.customer for p in bitext], examples=examples),
        },
        "bitext_agent_reply": {"reply_policy": flag_rate("reply_policy", [p.reply for p in bitext], examples=examples)},
    }


def evaluate_reply_safety(
    *,
    cases_path: str | Path | None = None,
    real_data: bool = True,
    twcs_path: str | Path | None = None,
    qa_path: str | Path | None = None,
    bitext_path: str | Path | None = None,
    examples: int = 5,
) -> dict[str, Any]:
    """The full report: labelled-file scores per detector and (optionally) flag rates on the real data."""
    cases = load_cases(cases_path)
    report: dict[str, Any] = {
        "cases_file": str(Path(cases_path) if cases_path else CASES_FILE),
        "cases": len(cases),
        "languages": sorted({c.lang for c in cases}),
        "labelled": score_cases(cases),
    }
    if real_data:
        report["real_data"] = score_real_data(
            twcs_path=twcs_path, qa_path=qa_path, bitext_path=bitext_path, examples=examples
        )
    return report


def below_thresholds(report: dict[str, Any], *, min_recall: float, max_false_alarm: float) -> list[str]:
    """Detectors whose labelled recall or false-alarm rate misses the thresholds (empty: all meet them)."""
    out: list[str] = []
    for detector, row in report["labelled"].items():
        if row["recall"] is not None and row["recall"] < min_recall:
            out.append(f"{detector}: recall {row['recall']:.3f} < {min_recall}")
        if row["false_alarm_rate"] is not None and row["false_alarm_rate"] > max_false_alarm:
            out.append(f"{detector}: false-alarm rate {row['false_alarm_rate']:.3f} > {max_false_alarm}")
    return out


def format_table(report: dict[str, Any]) -> str:
    """The report as plain-text tables."""
    lines = [
        f"labelled cases: {report['cases']} ({', '.join(report['languages'])})  file: {report['cases_file']}",
        f"{'detector':<14}{'pos':>5}{'neg':>5}{'recall':>9}{'false-alarm':>13}  recall by language",
    ]
    for detector, row in report["labelled"].items():
        langs = " ".join(f"{k}={_fmt(v)}" for k, v in row["recall_by_lang"].items())
        lines.append(
            f"{detector:<14}{row['positives']:>5}{row['negatives']:>5}{_fmt(row['recall']):>9}"
            f"{_fmt(row['false_alarm_rate']):>13}  {langs}"
        )
    lines.append(f"{'by split':<14}{'pos':>5}{'neg':>5}{'recall':>9}{'false-alarm':>13}")
    for detector, row in report["labelled"].items():
        for split, part in row["by_split"].items():
            lines.append(
                f"{detector + ' ' + split:<22}{part['positives']:>5}{part['negatives']:>5}{_fmt(part['recall']):>9}"
                f"{_fmt(part['false_alarm_rate']):>13}"
            )
    for detector, row in report["labelled"].items():
        for miss in row["misses"]:
            lines.append(f"  missed {detector} [{miss['split']} {miss['lang']} {miss['kind']}]: {miss['text']}")
        for fa in row["false_alarms"]:
            lines.append(f"  false alarm {detector} [{fa['split']} {fa['lang']} {fa['named']}]: {fa['text']}")
    real = report.get("real_data")
    if real:
        lines.append(f"{'real text (flag rate)':<26}{'detector':<14}{'texts':>7}{'flagged':>9}{'rate':>8}  named")
        for source, detectors in real.items():
            for detector, row in detectors.items():
                lines.append(
                    f"{source:<26}{detector:<14}{row['texts']:>7}{row['flagged']:>9}{_fmt(row['flag_rate']):>8}  "
                    f"{row['named']}"
                )
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
