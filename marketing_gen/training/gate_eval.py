"""How well the quality gate tells good copy from bad: the fluency threshold's calibration and a labelled set.

``marketing-gen eval gate`` runs both:
- calibration: the reference model scores real human copy — seller copy of the Amazon catalog ("About Product"
  bullets) and real brand replies of the Twitter support sample — and the threshold that lets ``quantile`` of
  it pass is compared with ``guardrails.fluency.THRESHOLD`` (the share of human copy passing that is reported);
- the labelled set (``tests/fixtures/gate_labelled.jsonl``): pieces of real model output (base model, one field
  each, with the customer's facts) and real human copy, each labelled good or bad by a person; the gate's
  precision / recall at catching the bad ones, for the whole gate and for the fluency rule alone.
Owns reading those texts and the figures. Does not define the rules (``guardrails``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, UserContext
from marketing_gen.errors import InvalidRequest
from marketing_gen.guardrails.fluency import MIN_WORDS, Scorer

AMAZON_FILE = "amazon_products_2020_sample_1000.csv"
TWITTER_FILE = "twcs_customer_support_twitter_sample_5000.csv"
_BOILERPLATE = "make sure this fits"


def human_copy(data_dir: Path, *, limit_per_source: int = 1000) -> dict[str, list[str]]:
    """Real human copy of ≥ ``MIN_WORDS`` words per source: ``seller`` (Amazon bullets), ``brand_replies``."""
    from marketing_gen.training.corpora import load_twitter_pairs

    amazon, twitter = data_dir / AMAZON_FILE, data_dir / TWITTER_FILE
    for path in (amazon, twitter):
        if not path.is_file():
            raise InvalidRequest(f"{path} is missing: pass --data-dir with the shared corpora")
    seller: list[str] = []
    with open(amazon, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for bullet in (row.get("About Product") or "").split("|"):
                text = " ".join(bullet.split())
                if text and not text.lower().startswith(_BOILERPLATE) and MIN_WORDS <= len(text.split()) <= 60:
                    seller.append(text)
    pairs, _ = load_twitter_pairs(twitter)
    replies = [p.reply for p in pairs if len(p.reply.split()) >= MIN_WORDS]
    return {"seller": _spread(seller, limit_per_source), "brand_replies": _spread(replies, limit_per_source)}


def _spread(texts: list[str], limit: int) -> list[str]:
    """Every k-th text so the sample spans the whole file (deterministic)."""
    step = max(1, len(texts) // limit)
    return texts[::step][:limit]


@dataclass
class Calibration:
    """Scores of human copy under the reference model and what a threshold lets through."""

    threshold: float
    """The threshold in force (``guardrails.fluency.THRESHOLD``)."""
    suggested: float
    """The score that ``quantile`` of the human copy reaches (what the threshold should be at most)."""
    quantile: float
    n: dict[str, int]
    pass_share: dict[str, float]
    """Share of each source (and ``all``) at or above the threshold in force."""


def calibrate(scorer: Scorer, texts: dict[str, list[str]], threshold: float, quantile: float = 0.01) -> Calibration:
    """Score each source's texts; the ``quantile`` score of all of them, and the pass share at ``threshold``."""
    scores = {name: scorer.score(batch) for name, batch in texts.items()}
    everything = sorted(s for batch in scores.values() for s in batch)
    if not everything:
        raise InvalidRequest("no human copy to calibrate on")
    suggested = everything[int(quantile * len(everything))]
    share = {name: _share(batch, threshold) for name, batch in scores.items()}
    share["all"] = _share(everything, threshold)
    n = {name: len(batch) for name, batch in scores.items()}
    n["all"] = len(everything)
    return Calibration(threshold, round(suggested, 3), quantile, n, share)


def _share(scores: Sequence[float], threshold: float) -> float:
    return round(sum(s >= threshold for s in scores) / max(1, len(scores)), 4)


@dataclass(frozen=True)
class LabelledPiece:
    """One field of copy, its facts and a person's verdict."""

    channel: str
    field: str
    text: str
    label: str
    """``good`` (would send) or ``bad`` (would not)."""
    source: str
    """``base-model`` (real output of the base model), ``human`` (real human copy)."""
    context: UserContext
    note: str = ""
    example: str = ""
    """The prompt's example answer the model saw (few-shot prompts), for ``content.echo``."""


def load_labelled(path: Path) -> list[LabelledPiece]:
    """Read the labelled set (JSONL: channel, field, text, label, source, note, example — the prompt's example
    answer the model saw —, and facts: first_name, locale, brand, items [{title, price, category, features}],
    interests, last_purchase, offer)."""
    if not path.is_file():
        raise InvalidRequest(f"no labelled set at {path}")
    out: list[LabelledPiece] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("label") not in ("good", "bad"):
            raise InvalidRequest(f"{path}:{n}: label must be good or bad, not {row.get('label')!r}")
        out.append(
            LabelledPiece(
                row["channel"],
                row["field"],
                row["text"],
                row["label"],
                row["source"],
                _context(n, row.get("facts") or {}),
                row.get("note", ""),
                row.get("example", ""),
            )
        )
    return out


def _context(n: int, facts: dict[str, Any]) -> UserContext:
    items = tuple(
        ItemFacts(
            k,
            f"i{k}",
            item["title"],
            Decimal(str(item["price"])) if item.get("price") is not None else None,
            item.get("currency") or "GBP",
            category=item.get("category"),
            features=tuple(item.get("features") or ()),
        )
        for k, item in enumerate(facts.get("items") or [], start=1)
    )
    return UserContext(
        user_id=n,
        external_id=f"labelled-{n}",
        first_name=facts.get("first_name"),
        locale=facts.get("locale") or "en",
        country=None,
        brand=BrandFacts(name=facts.get("brand") or ""),
        items=items,
        interests=tuple(facts.get("interests") or ()),
        last_purchase=facts.get("last_purchase"),
        offer=Offer(text=facts.get("offer") or ""),
    )


@dataclass
class Detection:
    """Catching the bad pieces: counts, precision and recall."""

    name: str
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float
    recall: float
    missed: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)


def evaluate_labelled(pieces: Sequence[LabelledPiece], scorer: Scorer | None, threshold: float) -> list[Detection]:
    """On the labelled pieces: ``sendable`` (hard checks + quality gate, findings about the piece's field), the
    quality gate alone, and — with a reference model — the fluency rule alone."""
    from marketing_gen import guardrails
    from marketing_gen.channels.base import get_channel
    from marketing_gen.guardrails.fluency import check_fluency, fluency_texts

    flagged_all: list[bool] = []
    flagged_gate: list[bool] = []
    flagged_fluency: list[bool] = []
    pairs_all = []
    for piece in pieces:
        facts = guardrails.build_facts(piece.context)
        spec = get_channel(piece.channel)
        value: Any = [piece.text] if spec.field(piece.field).kind == "list" else piece.text
        found = [
            v
            for v in guardrails.check_with_facts({piece.field: value}, facts, spec, example=piece.example)
            if v.hard and v.field in (piece.field, "*") and v.code.split(".")[0] not in _WHOLE_PIECE
        ]
        flagged_all.append(bool(found))
        flagged_gate.append(any(guardrails.is_gate(v.code) for v in found))
        pairs_all.append(fluency_texts({piece.field: value}, facts))
    flat = [text for pairs in pairs_all for _, text in pairs]
    scores = scorer.score(flat) if scorer is not None and flat else [0.0] * len(flat)
    k = 0
    for i, pairs in enumerate(pairs_all):
        low = bool(check_fluency(pairs, scores[k : k + len(pairs)], threshold)) if scorer is not None else False
        k += len(pairs)
        flagged_fluency.append(low)
        flagged_gate[i] = flagged_gate[i] or low
        flagged_all[i] = flagged_all[i] or low
    out = [_detection("sendable (all)", pieces, flagged_all), _detection("quality gate", pieces, flagged_gate)]
    if scorer is not None:
        out.append(_detection("fluency rule alone", pieces, flagged_fluency))
    return out


_WHOLE_PIECE = frozenset({"missing", "count", "sms", "push"})
"""Findings about a whole piece (other fields missing, list counts, SMS brand / opt-out): a labelled piece is one
field, so they say nothing about it."""


def _detection(name: str, pieces: Sequence[LabelledPiece], flagged: Sequence[bool]) -> Detection:
    tp = fp = fn = tn = 0
    missed: list[str] = []
    false_alarms: list[str] = []
    for piece, hit in zip(pieces, flagged, strict=True):
        bad = piece.label == "bad"
        if bad and hit:
            tp += 1
        elif bad:
            fn += 1
            missed.append(piece.text)
        elif hit:
            fp += 1
            false_alarms.append(piece.text)
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return Detection(name, tp, fp, fn, tn, round(precision, 4), round(recall, 4), missed, false_alarms)


def report(calibration: Calibration | None, detections: Sequence[Detection], n_pieces: int) -> str:
    """The text ``eval gate`` prints."""
    lines: list[str] = []
    if calibration is not None:
        c = calibration
        lines.append(
            f"fluency threshold {c.threshold:.2f} nats/token (mean log-likelihood under the reference model); "
            f"the {c.quantile:.0%} quantile of human copy is {c.suggested:.2f}"
        )
        for name in c.n:
            lines.append(f"  {name:<15} n={c.n[name]:>5}  passing {c.pass_share[name]:.1%}")
    if detections:
        lines.append(f"labelled set: {n_pieces} pieces")
        lines.append(f"  {'':<20}{'TP':>5}{'FP':>5}{'FN':>5}{'TN':>5}{'precision':>11}{'recall':>8}")
        for d in detections:
            lines.append(f"  {d.name:<20}{d.tp:>5}{d.fp:>5}{d.fn:>5}{d.tn:>5}{d.precision:>11.1%}{d.recall:>8.1%}")
    return "\n".join(lines)
