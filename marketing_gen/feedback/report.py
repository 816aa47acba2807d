"""A/B report per campaign × channel × variant: rates with Wilson intervals, tests vs control, power, verdict.

Counts come from ``feedback_events`` (distinct drafts per event); a draft counts as *sent* when it has any
delivery or engagement event (an open or click proves the message went out). Variant 0 is the control.
Rendering: ``format_report`` (plain table) and ``render_report_png`` (matplotlib, Agg).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from marketing_gen.db import session_scope
from marketing_gen.db.models import Campaign, Draft, FeedbackEvent
from marketing_gen.errors import NotFound
from marketing_gen.feedback import stats

METRICS: tuple[str, ...] = ("open", "click", "convert")
"""Rates reported per variant (successes = distinct drafts with that event, trials = sends)."""

SENT_EVENTS: tuple[str, ...] = ("sent", "delivered", "open", "click", "convert", "unsubscribe", "complaint")
"""Any of these on a draft means it was sent."""

METRIC_LABELS = {"open": "open rate", "click": "click rate", "convert": "conversion rate"}


@dataclass(frozen=True)
class Rate:
    """A proportion with its 95% Wilson interval."""

    successes: int
    trials: int
    rate: float
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    """One variant's metric against the control's."""

    diff: float
    """Absolute difference of rates (variant - control)."""
    diff_low: float
    diff_high: float
    relative_lift: float | None
    """diff / control rate; None when the control rate is 0."""
    z: float
    p_value: float
    """Two-sided pooled two-proportion z-test."""
    prob_beat: float
    """P(variant rate > control rate) under Beta(1+k, 1+n-k) posteriors."""
    mde: float
    """Smallest absolute lift this sample detects with 80% power at the (adjusted) alpha."""
    power: float
    """Power to detect the observed difference at this sample size."""
    n_needed: int | None
    """Sends per variant needed to detect the observed difference with 80% power."""
    significant: bool


@dataclass(frozen=True)
class VariantResult:
    """One variant on one channel."""

    variant: int
    drafts: int
    sends: int
    rates: dict[str, Rate]
    revenue: float
    vs_control: dict[str, Comparison] | None


@dataclass(frozen=True)
class ChannelResult:
    """All variants of one channel, with the verdict on the primary metric."""

    channel: str
    variants: list[VariantResult]
    winner: int | None
    verdict: str
    thompson: dict[int, float]
    """P(variant is best) on the primary metric: the traffic split Thompson sampling gives the rest of the audience."""


@dataclass(frozen=True)
class CampaignReport:
    """The A/B report of one campaign."""

    campaign_id: int
    name: str
    metric: str
    alpha: float
    """Per-comparison alpha after the Bonferroni split over variants (0.05 / (variants - 1))."""
    channels: list[ChannelResult]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def _count_events(url: str | None, campaign_id: int) -> tuple[str, dict[tuple[str, int], dict[str, Any]]]:
    with session_scope(url) as s:
        camp = s.get(Campaign, campaign_id)
        if camp is None:
            raise NotFound(f"campaign {campaign_id} does not exist")
        name = camp.name
        cells: dict[tuple[str, int], dict[str, Any]] = {}

        def cell(ch: str, var: int) -> dict[str, Any]:
            return cells.setdefault((ch, var), {"drafts": 0, "sends": 0, "revenue": 0.0, **{m: 0 for m in METRICS}})

        q = (
            select(Draft.channel, Draft.variant, func.count())
            .where(Draft.campaign_id == campaign_id)
            .group_by(Draft.channel, Draft.variant)
        )
        for ch, var, n in s.execute(q):
            cell(ch, var)["drafts"] = n
        joined = select(Draft.channel, Draft.variant).join(FeedbackEvent, FeedbackEvent.draft_id == Draft.id)
        joined = joined.where(Draft.campaign_id == campaign_id)
        distinct = func.count(func.distinct(FeedbackEvent.draft_id))
        q = (
            joined.add_columns(distinct)
            .where(FeedbackEvent.event.in_(SENT_EVENTS))
            .group_by(Draft.channel, Draft.variant)
        )
        for ch, var, n in s.execute(q):
            cell(ch, var)["sends"] = n
        q = joined.add_columns(FeedbackEvent.event, distinct).where(FeedbackEvent.event.in_(METRICS))
        for ch, var, ev, n in s.execute(q.group_by(Draft.channel, Draft.variant, FeedbackEvent.event)):
            cell(ch, var)[ev] = n
        q = joined.add_columns(func.coalesce(func.sum(FeedbackEvent.value), 0.0)).where(
            FeedbackEvent.event == "convert"
        )
        for ch, var, total in s.execute(q.group_by(Draft.channel, Draft.variant)):
            cell(ch, var)["revenue"] = float(total or 0.0)
    return name, cells


def _rate(k: int, n: int) -> Rate:
    low, high = stats.wilson_interval(k, n)
    return Rate(k, n, k / n if n else 0.0, low, high)


def _compare(k1: int, n1: int, k0: int, n0: int, alpha: float) -> Comparison:
    p1, p0 = (k1 / n1 if n1 else 0.0), (k0 / n0 if n0 else 0.0)
    z, p_value = stats.two_proportion_ztest(k1, n1, k0, n0)
    low, high = stats.diff_interval(k1, n1, k0, n0, confidence=1 - alpha)
    return Comparison(
        diff=p1 - p0,
        diff_low=low,
        diff_high=high,
        relative_lift=(p1 - p0) / p0 if p0 else None,
        z=z,
        p_value=p_value,
        prob_beat=stats.prob_beat_control(k1, n1, k0, n0),
        mde=stats.minimum_detectable_effect(p0, n1, n0, alpha=alpha),
        power=stats.power_at(p1, n1, p0, n0, alpha=alpha),
        n_needed=stats.sample_size_per_arm(p1, p0, alpha=alpha),
        significant=n1 > 0 and n0 > 0 and p_value < alpha,
    )


def _pp(x: float) -> str:
    return f"{x * 100:+.2f} pp"


def _prob(x: float) -> str:
    """A probability as a percentage that never rounds to a certainty it is not."""
    if x > 0.999:
        return ">99.9%"
    if x < 0.001:
        return "<0.1%"
    return f"{x:.1%}"


def _verdict(channel: str, variants: list[VariantResult], metric: str, alpha: float) -> tuple[int | None, str]:
    label = METRIC_LABELS[metric]
    control = variants[0]
    if len(variants) < 2:
        return None, f"{channel}: one variant only, nothing to compare."
    if control.sends == 0:
        return None, f"{channel}: no sends recorded yet for the control (variant {control.variant})."
    c_rate = control.rates[metric].rate
    winners = [v for v in variants[1:] if v.vs_control and v.vs_control[metric].significant]
    better = [v for v in winners if v.vs_control and v.vs_control[metric].diff > 0]
    if better:
        best = max(better, key=lambda v: v.rates[metric].rate)
        cmp_ = best.vs_control[metric]  # type: ignore[index]
        return best.variant, (
            f"{channel}: variant {best.variant} beats control on {label}: {best.rates[metric].rate:.2%} vs "
            f"{c_rate:.2%} ({_pp(cmp_.diff)}, p={cmp_.p_value:.2g}, P(beat) {_prob(cmp_.prob_beat)}) — roll it out."
        )
    if winners:
        worst = min(winners, key=lambda v: v.rates[metric].rate)
        cmp_ = worst.vs_control[metric]  # type: ignore[index]
        return control.variant, (
            f"{channel}: control wins; variant {worst.variant} is worse on {label}: {worst.rates[metric].rate:.2%} vs "
            f"{c_rate:.2%} ({_pp(cmp_.diff)}, p={cmp_.p_value:.2g})."
        )
    top = max(variants[1:], key=lambda v: v.rates[metric].rate)
    cmp_ = top.vs_control[metric]  # type: ignore[index]
    if cmp_.power < 0.8 and cmp_.n_needed:
        return None, (
            f"{channel}: no reliable difference yet on {label} (best: variant {top.variant}, {_pp(cmp_.diff)}, "
            f"p={cmp_.p_value:.2g}, P(beat) {_prob(cmp_.prob_beat)}); this sample detects ≥ {cmp_.mde * 100:.2f} pp, "
            f"power {cmp_.power:.0%} for the observed gap — keep testing (~{cmp_.n_needed:,} sends per variant)."
        )
    return None, (
        f"{channel}: no meaningful difference on {label}; the test could detect ≥ {cmp_.mde * 100:.2f} pp "
        f"(observed {_pp(cmp_.diff)}, p={cmp_.p_value:.2g})."
    )


def build_report(
    campaign_id: int, *, url: str | None = None, metric: str = "click", alpha: float = 0.05
) -> CampaignReport:
    """Count outcomes per channel × variant and compare every variant with variant 0 (the control)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")
    name, cells = _count_events(url, campaign_id)
    channels: list[ChannelResult] = []
    for channel in sorted({ch for ch, _ in cells}):
        keys = sorted(var for ch, var in cells if ch == channel)
        adj_alpha = alpha / max(1, len(keys) - 1)
        c0 = cells[(channel, keys[0])]
        results = []
        for var in keys:
            c = cells[(channel, var)]
            rates = {m: _rate(c[m], c["sends"]) for m in METRICS}
            vs = None
            if var != keys[0]:
                vs = {m: _compare(c[m], c["sends"], c0[m], c0["sends"], adj_alpha) for m in METRICS}
            results.append(VariantResult(var, c["drafts"], c["sends"], rates, c["revenue"], vs))
        winner, verdict = _verdict(channel, results, metric, adj_alpha)
        best = stats.prob_best([(v.rates[metric].successes, v.sends) for v in results])
        channels.append(ChannelResult(channel, results, winner, verdict, dict(zip(keys, best, strict=True))))
    n_variants = max((len(ch.variants) for ch in channels), default=1)
    return CampaignReport(campaign_id, name, metric, alpha / max(1, n_variants - 1), channels)


def _fmt_rate(r: Rate) -> str:
    return f"{r.rate:6.2%} [{r.low:.2%}, {r.high:.2%}]"


def format_report(report: CampaignReport) -> str:
    """The report as a fixed-width table followed by one verdict line per channel."""
    m = report.metric
    head = (
        f"{'channel':<15} {'var':>3} {'sends':>7} {'open rate [95% CI]':>26} {'click rate [95% CI]':>26} "
        f"{'conv. rate [95% CI]':>26} {m + ' Δ vs ctrl':>13} {'p':>8} {'P(beat)':>8} {'MDE':>8} {'power':>6}"
    )
    lines = [
        f"campaign {report.campaign_id} {report.name!r}: primary metric {METRIC_LABELS[m]}, "
        f"alpha {report.alpha:.3g} per comparison; MDE at 80% power; power = for the observed lift",
        head,
        "-" * len(head),
    ]
    for ch in report.channels:
        for v in ch.variants:
            tail = f"{'(control)':>13} {'':>8} {'':>8} {'':>8} {'':>6}"
            if v.vs_control:
                c = v.vs_control[m]
                tail = (
                    f"{_pp(c.diff):>13} {c.p_value:>8.3g} {_prob(c.prob_beat):>8} {c.mde * 100:>6.2f}pp {c.power:>6.0%}"
                )
            lines.append(
                f"{ch.channel:<15} {v.variant:>3} {v.sends:>7,} {_fmt_rate(v.rates['open']):>26} "
                f"{_fmt_rate(v.rates['click']):>26} {_fmt_rate(v.rates['convert']):>26} {tail}"
            )
    lines.append("")
    for ch in report.channels:
        lines.append(f"verdict  {ch.verdict}")
        if len(ch.thompson) > 1:
            split = ", ".join(f"v{v} {_prob(p)}" for v, p in ch.thompson.items())
            lines.append(f"         Thompson sampling split for the rest of the audience: {split}")
    return "\n".join(lines)


def render_report_png(report: CampaignReport, path: str | Path) -> Path:
    """Draw each variant's rates with 95% intervals and the primary metric's lift vs control to a PNG."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    path = Path(path)
    n_var = max((len(ch.variants) for ch in report.channels), default=1)
    rows = max(1, len(report.channels))
    verdicts = [line for ch in report.channels for line in textwrap.wrap(ch.verdict, 170)] or ["no events recorded"]
    title_h = 0.75 + 0.22 * len(verdicts)
    row_h = 1.3 + 0.5 * n_var
    fig_h = title_h + row_h * rows + 0.3
    fig, axes = plt.subplots(
        rows, len(METRICS) + 1, figsize=(18, fig_h), squeeze=False, gridspec_kw={"width_ratios": [1, 1, 1, 1.1]}
    )
    for r, ch in enumerate(report.channels):
        for c, metric in enumerate(METRICS):
            _draw_rates(axes[r][c], ch, metric, metric == report.metric, PercentFormatter)
        _draw_lift(axes[r][len(METRICS)], ch, report.metric)
    for ax in axes.flat[len(report.channels) * (len(METRICS) + 1) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"Campaign {report.campaign_id} “{report.name}” — A/B report, 95% Wilson intervals "
        f"(shaded band = control's interval)\n" + "\n".join(verdicts),
        fontsize=10.5,
        x=0.01,
        y=1 - 0.12 / fig_h,
        ha="left",
        va="top",
    )
    fig.subplots_adjust(
        top=1 - title_h / fig_h, bottom=0.35 / fig_h + 0.02, left=0.07, right=0.985, hspace=0.75, wspace=0.45
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


_COLOURS = {"control": "#6b7280", "better": "#15803d", "worse": "#b91c1c", "unclear": "#2563eb"}


def _kind(cmp_: Comparison | None) -> str:
    if cmp_ is None:
        return "control"
    if cmp_.significant:
        return "better" if cmp_.diff > 0 else "worse"
    return "unclear"


def _draw_rates(ax: Any, ch: ChannelResult, metric: str, primary: bool, percent: Any) -> None:
    variants = ch.variants
    ys = list(range(len(variants)))[::-1]
    control = variants[0].rates[metric]
    ax.axvspan(control.low, control.high, color=_COLOURS["control"], alpha=0.13, lw=0)
    for y, v in zip(ys, variants, strict=True):
        rate = v.rates[metric]
        cmp_ = v.vs_control[metric] if v.vs_control else None
        col = _COLOURS[_kind(cmp_)]
        ax.errorbar(
            rate.rate,
            y,
            # clamp: a Wilson bound at 0 or n successes can sit a rounding error beyond the rate
            xerr=[[max(0.0, rate.rate - rate.low)], [max(0.0, rate.high - rate.rate)]],
            fmt="o",
            color=col,
            ecolor=col,
            elinewidth=2.5,
            capsize=5,
            markersize=8,
        )
        note = f"{rate.rate:.2%}  ({rate.successes:,}/{rate.trials:,})"
        if cmp_ is not None:
            note += f"\np={cmp_.p_value:.2g}  P(beat) {_prob(cmp_.prob_beat)}"
        ax.annotate(
            note, (rate.high, y), xytext=(8, 0), textcoords="offset points", va="center", fontsize=8.5, color=col
        )
    ax.set_yticks(ys, [f"v{v.variant}" + (" control" if i == 0 else "") for i, v in enumerate(variants)])
    ax.set_ylim(-0.7, len(variants) - 0.3)
    ax.set_xlim(0, min(1.0, max([v.rates[metric].high for v in variants] + [0.01]) * 1.9))
    ax.xaxis.set_major_formatter(percent(1.0, decimals=1))
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(
        f"{ch.channel}: {METRIC_LABELS[metric]}" + ("  (primary)" if primary else ""),
        fontsize=10,
        loc="left",
        fontweight="bold" if primary else "normal",
    )


def _draw_lift(ax: Any, ch: ChannelResult, metric: str) -> None:
    others = [v for v in ch.variants if v.vs_control]
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(
        f"{ch.channel}: {METRIC_LABELS[metric]} lift vs control (pp)", fontsize=10, loc="left", fontweight="bold"
    )
    if not others:
        ax.text(0.5, 0.5, "one variant: nothing to compare", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
        return
    ys = list(range(len(others)))[::-1]
    mde = max(v.vs_control[metric].mde for v in others) * 100  # type: ignore[index]
    ax.axvspan(
        -mde, mde, color="#f59e0b", alpha=0.12, lw=0, label=f"below the MDE ({mde:.2f} pp): not reliably detectable"
    )
    ax.axvline(0, color="black", lw=1)
    lo = min(v.vs_control[metric].diff_low for v in others) * 100  # type: ignore[index]
    hi = max(v.vs_control[metric].diff_high for v in others) * 100  # type: ignore[index]
    for y, v in zip(ys, others, strict=True):
        c = v.vs_control[metric]  # type: ignore[index]
        col = _COLOURS[_kind(c)]
        d, dl, dh = c.diff * 100, c.diff_low * 100, c.diff_high * 100
        ax.errorbar(
            d, y, xerr=[[d - dl], [dh - d]], fmt="D", color=col, ecolor=col, elinewidth=2.5, capsize=5, markersize=7
        )
        verdict = {"better": "better", "worse": "worse", "unclear": "not significant"}[_kind(c)]
        ax.annotate(
            f"{d:+.2f} pp ({verdict})\npower {c.power:.0%} for this gap",
            (dh, y),
            xytext=(8, 0),
            textcoords="offset points",
            va="center",
            fontsize=8.5,
            color=col,
        )
    span = max(abs(lo), abs(hi), mde) * 1.15
    ax.set_xlim(-span, span * 2.8)
    ax.set_yticks(ys, [f"v{v.variant} − v{ch.variants[0].variant}" for v in others])
    ax.set_ylim(-0.7, len(others) - 0.3)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=7.5, frameon=False)
