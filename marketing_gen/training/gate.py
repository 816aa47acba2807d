"""The promotion gate: a candidate model version replaces the active one only if it is not worse on any hard metric.

The metric is the held-out first-try sendable rate stored by ``eval copy`` (``training.evaluate.GATED_METRICS``;
pass / grounding / parse rates, ``HARD_METRICS``, for versions evaluated before it), compared channel by channel on
the same held-out set. ``force`` skips the comparison (the refusal reasons are
still reported). Promotion is ``registry.set_active``: workers check the active version before each batch and
load the new one there, without a restart.
Owns the comparison and the decision. Does not evaluate (``training.evaluate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from marketing_gen.config import Settings
from marketing_gen.errors import InvalidRequest
from marketing_gen.training.evaluate import DEFAULT_CHANNELS, GATED_METRICS, HARD_METRICS
from marketing_gen.versions.registry import ModelVersionInfo, active_version, get_version, set_active


@dataclass(frozen=True)
class GateDecision:
    """What ``promote`` decided and why."""

    candidate: str
    previous: str | None
    promoted: bool
    forced: bool = False
    reasons: list[str] = field(default_factory=list)
    """Why the candidate is worse / could not be compared (empty when it is at least as good)."""
    compared: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    """channel → metric → (candidate, active)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


def compare(candidate: ModelVersionInfo, active: ModelVersionInfo) -> tuple[list[str], dict[str, Any]]:
    """Reasons the candidate is worse than (or cannot be compared with) the active version, and the figures."""
    cand = candidate.metrics.get("eval") or {}
    act = active.metrics.get("eval") or {}
    if not cand.get("channels"):
        return [f"{candidate.name} has no eval metrics: run `marketing-gen eval copy --model {candidate.name}`"], {}
    if not act.get("channels"):
        return [f"active {active.name} has no eval metrics: run `marketing-gen eval copy --model {active.name}`"], {}
    if cand.get("eval_set") != act.get("eval_set"):
        return [
            f"{candidate.name} and {active.name} were evaluated on different held-out sets; "
            f"run `marketing-gen eval copy --model {candidate.name} --baseline {active.name}`"
        ], {}
    channels = sorted(set(cand["channels"]) & set(act["channels"]))
    if not channels:
        return [f"no channel evaluated for both {candidate.name} and {active.name}"], {}
    reasons: list[str] = []
    figures: dict[str, dict[str, tuple[float, float]]] = {}
    for channel in channels:
        both = (cand["channels"][channel], act["channels"][channel])
        metrics = GATED_METRICS if all(m.get("sendable_rate") is not None for m in both) else HARD_METRICS
        for metric, better in metrics.items():
            c, a = cand["channels"][channel].get(metric), act["channels"][channel].get(metric)
            if c is None or a is None:
                continue
            figures.setdefault(channel, {})[metric] = (c, a)
            worse = c < a if better == "higher" else c > a
            if worse:
                reasons.append(f"{channel} {metric}: {c:.2%} vs active {a:.2%} ({better} is better)")
    return reasons, figures


def promote(name: str, *, force: bool = False, url: str | None = None) -> GateDecision:
    """Make ``name`` the active version unless it is worse than the active one on a hard metric (or ``force``)."""
    candidate = get_version(name, url=url)
    active = active_version(url=url)
    if active is not None and active.name == candidate.name:
        raise InvalidRequest(f"{name} is already the active model version")
    reasons: list[str] = []
    figures: dict[str, Any] = {}
    if active is not None:
        reasons, figures = compare(candidate, active)
    if reasons and not force:
        return GateDecision(name, active.name if active else None, promoted=False, reasons=reasons, compared=figures)
    set_active(name, url=url)
    return GateDecision(
        name,
        active.name if active else None,
        promoted=True,
        forced=bool(reasons and force),
        reasons=reasons,
        compared=figures,
    )


def evaluate_and_promote(
    candidate: str,
    *,
    baseline: str | None = None,
    settings: Settings,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    n: int = 50,
    force: bool = False,
) -> GateDecision:
    """Evaluate the candidate (and the baseline when it lacks figures on the same held-out set), then ``promote``."""
    from marketing_gen.training.evaluate import eval_set_id, evaluate_version, held_out_contexts

    url = settings.database_url
    evaluate_version(candidate, settings=settings, channels=channels, n=n)
    baseline = baseline or (active.name if (active := active_version(url=url)) else None)
    if baseline is not None:
        stored = get_version(baseline, url=url).metrics.get("eval") or {}
        wanted = eval_set_id(held_out_contexts(n, settings=settings))
        if stored.get("eval_set") != wanted or not set(channels) <= set(stored.get("channels") or {}):
            evaluate_version(baseline, settings=settings, channels=channels, n=n)
    return promote(candidate, force=force, url=url)
