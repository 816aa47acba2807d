"""The learning loop: outcomes since the active model → train a candidate → evaluation gate → promote or refuse.

Owns the decision of *what* to train on from feedback and the order of the steps; the trainers, the gate and
the registry belong to ``training`` and ``registry``. ``marketing-gen retrain`` and the nightly Celery task
(``workers.feedback_tasks.retrain_task``) both call ``run_retrain``.

Method (``auto``): DPO when there are enough same-send pairs, else KTO on binary outcomes, else SFT on the
copy that won (clicked drafts), else nothing. A candidate is never made active without passing the gate.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from marketing_gen.config import Settings
from marketing_gen.errors import InvalidRequest, NotFound
from marketing_gen.feedback.preferences import PreferenceData, build_preference_rows, trl_columns

log = logging.getLogger(__name__)

METHODS = ("auto", "dpo", "kto", "sft")


@dataclass
class RetrainOutcome:
    """What one retrain run decided, for printing and logs."""

    active: str
    """The model version that was active when the run started."""
    since: dt.datetime | None
    """Outcomes recorded after this instant were used (the active version's promotion time)."""
    data: dict[str, Any]
    """Counts from the preference builder (pairs, rows, exclusions)."""
    method: str
    """dpo | kto | sft | none."""
    decision: str
    """dry-run | skipped | promoted | refused."""
    reason: str
    candidate: str | None = None
    gate: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        out = asdict(self)
        out["since"] = self.since.isoformat() if self.since else None
        return out


def choose_method(
    data: PreferenceData, *, requested: str = "auto", min_pairs: int = 16, min_rows: int = 32, min_positives: int = 8
) -> tuple[str, str]:
    """(method, why) for this data; ``none`` when there is too little to learn from."""
    if requested not in METHODS:
        raise InvalidRequest(f"method={requested!r} is not one of {', '.join(METHODS)}")
    positives = sum(1 for r in data.kto if r["label"])
    negatives = len(data.kto) - positives
    enough = {
        "dpo": (len(data.dpo) >= min_pairs, f"{len(data.dpo)} DPO pairs (need ≥ {min_pairs})"),
        "kto": (
            len(data.kto) >= min_rows and positives > 0 and negatives > 0,
            f"{len(data.kto)} KTO rows, {positives} positive (need ≥ {min_rows} with both labels)",
        ),
        "sft": (positives >= min_positives, f"{positives} clicked drafts (need ≥ {min_positives})"),
    }
    order = ("dpo", "kto", "sft") if requested == "auto" else (requested,)
    for method in order:
        ok, why = enough[method]
        if ok:
            return method, why
    return "none", "; ".join(enough[m][1] for m in order)


def run_retrain(
    settings: Settings,
    *,
    dry_run: bool = False,
    method: str = "auto",
    settle_hours: float = 24.0,
    max_steps: int = 40,
    max_length: int = 1024,
    min_pairs: int = 16,
    min_rows: int = 32,
    min_positives: int = 8,
    eval_n: int = 50,
    progress: bool = False,
) -> RetrainOutcome:
    """Build outcome data since the active version, train a candidate, gate it, promote it only if it passes."""
    from marketing_gen.versions.registry import active_version

    url = settings.database_url
    active = active_version(url=url)
    if active is None:
        raise NotFound("no active model version: run `marketing-gen model import-base` first")
    since = active.promoted_at or active.created_at
    data = build_preference_rows(url=url, since=since, settle_hours=settle_hours)
    chosen, why = choose_method(
        data, requested=method, min_pairs=min_pairs, min_rows=min_rows, min_positives=min_positives
    )
    outcome = RetrainOutcome(
        active=active.name, since=since, data=data.summary(), method=chosen, decision="skipped", reason=why
    )
    if chosen == "none":
        outcome.reason = f"not enough outcome data since {since:%Y-%m-%d %H:%M} UTC: {why}" if since else why
        return outcome
    if dry_run:
        outcome.decision = "dry-run"
        outcome.reason = f"would train {chosen} on {why} from {active.name}, then run the evaluation gate"
        return outcome
    candidate = _train(
        chosen, data, active.name, settings, max_steps=max_steps, max_length=max_length, progress=progress
    )
    outcome.candidate = candidate
    outcome.decision, outcome.reason, outcome.gate = _gate_and_promote(candidate, active.name, settings, eval_n)
    return outcome


def _train(
    method: str, data: PreferenceData, base: str, settings: Settings, *, max_steps: int, max_length: int, progress: bool
) -> str:
    """Train a candidate version from ``base``; returns its registered name (not active)."""
    from marketing_gen.training.datasets import dataset_hash
    from marketing_gen.training.sft import default_name

    name = default_name(base, f"fb-{method}")
    if method == "sft":
        from marketing_gen.training.sft import SFTParams, train_sft

        rows = [{"prompt": r["prompt"], "completion": r["completion"]} for r in data.kto if r["label"]]
        info = train_sft(
            base,
            rows,
            settings=settings,
            output_name=name,
            dataset_hash=dataset_hash(rows),
            params=SFTParams(max_steps=max_steps, max_length=max_length, save_steps=max(20, max_steps)),
            progress=progress,
            activate=False,
        )
        return info.name
    rows = trl_columns(data.dpo if method == "dpo" else data.kto)
    try:
        from marketing_gen.training import preference
    except ImportError as exc:
        raise NotFound(
            f"{method.upper()} training is not available (marketing_gen.training.preference is missing); "
            "rerun with --method sft"
        ) from exc
    desirable, undesirable = data.kto_weights
    info = preference.train_preference(
        base,
        rows,
        method=method,
        settings=settings,
        max_steps=max_steps,
        output_name=name,
        dataset_hash=dataset_hash(rows),
        progress=progress,
        activate=False,
        max_length=max_length,
        desirable_weight=desirable,
        undesirable_weight=undesirable,
    )
    return str(info.name)


def _gate_and_promote(
    candidate: str, baseline: str, settings: Settings, eval_n: int
) -> tuple[str, str, dict[str, Any]]:
    """Evaluate candidate vs baseline on ``eval_n`` held-out contexts with the training gate; promote if it passes."""
    from marketing_gen.training import gate

    result = gate.evaluate_and_promote(candidate, baseline=baseline, settings=settings, n=eval_n)
    detail = result.to_dict()
    if result.promoted:
        return "promoted", f"{candidate} passed the gate against {baseline} and is now active", detail
    reasons = "; ".join(result.reasons) or "worse than the active model on a hard metric"
    return "refused", f"{candidate} stays inactive: {reasons}", detail
