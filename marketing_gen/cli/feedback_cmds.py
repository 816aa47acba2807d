"""`marketing-gen import events`, `campaign report`, `campaign simulate-events`, `retrain`."""

from __future__ import annotations

from pathlib import Path

import click

from marketing_gen.cli.groups import campaign, echo_json, import_, input_file, main
from marketing_gen.errors import InvalidRequest


def _parse_rates(text: str) -> dict[int, float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise InvalidRequest(f"--rates {text!r}: give one click rate per variant, e.g. 0.03,0.04") from exc
    if not values:
        raise InvalidRequest("--rates is empty: give one click rate per variant, e.g. 0.03,0.04")
    return dict(enumerate(values))


@import_.command("events")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the ingestion report as JSON.")
def import_events(path: Path, as_json: bool) -> None:
    """Import outcome events (sent, open, click, convert, …) from CSV, JSONL or JSON.

    Each row names its draft by draft_id, or by campaign_id + user_id + channel + variant, and carries
    event, timestamp (ISO 8601 or epoch seconds), optional value and event_id. Re-importing is safe:
    duplicates are counted and skipped; unknown drafts and malformed rows are reported. An unsubscribe
    (that channel) or complaint (every channel) opts the user out and cancels their open drafts and unsent
    outbox rows at once. PATH `-` reads standard input.
    """
    from marketing_gen.config import get_settings
    from marketing_gen.feedback.events import ingest_events, load_event_rows

    with input_file(path) as readable:
        rows = load_event_rows(readable)
    report = ingest_events(rows, url=get_settings().database_url)
    if as_json:
        echo_json(report.to_dict())
        return
    click.echo(
        f"recorded {report.recorded}, duplicates {report.duplicates}, unknown drafts {report.unknown_drafts}, "
        f"rejected {report.rejected}; opt-outs cancelled {report.cancelled.drafts} open draft(s) and "
        f"{report.cancelled.outbox} unsent outbox row(s)"
    )
    for line in report.errors:
        click.echo(f"  {line}", err=True)


@campaign.command("report")
@click.argument("campaign_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path), help="Also draw the chart here.")
@click.option(
    "--metric",
    type=click.Choice(["click", "open", "convert"]),
    default="click",
    show_default=True,
    help="Primary metric for the verdict.",
)
@click.option(
    "--alpha",
    type=float,
    default=0.05,
    show_default=True,
    help="Significance level (split over the variants compared with the control).",
)
def report_cmd(campaign_id: int, as_json: bool, png: Path | None, metric: str, alpha: float) -> None:
    """A/B report: per channel and variant, rates with 95% intervals, tests against variant 0, verdict."""
    from marketing_gen.config import get_settings
    from marketing_gen.feedback.report import build_report, format_report, render_report_png

    if not 0 < alpha < 1:
        raise InvalidRequest(f"--alpha {alpha}: give a significance level between 0 and 1, e.g. 0.05")
    report = build_report(campaign_id, url=get_settings().database_url, metric=metric, alpha=alpha)
    if png is not None:
        render_report_png(report, png)
    if as_json:
        out = report.to_dict()
        if png is not None:
            out["png"] = str(png)
        echo_json(out)
        return
    click.echo(format_report(report))
    if png is not None:
        click.echo(f"chart: {png}")


@campaign.command("simulate-events")
@click.argument("campaign_id", type=int, required=False)
@click.option("--rates", default="0.03,0.04", show_default=True, help="True click rate per variant (0, 1, …).")
@click.option("--open-rate", type=float, default=0.25, show_default=True, help="True open rate (clicks also open).")
@click.option("--convert-rate", type=float, default=0.1, show_default=True, help="Conversions per click.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed → same events).")
@click.option(
    "--users",
    type=int,
    default=None,
    help="Without CAMPAIGN_ID: create a synthetic campaign with this many consenting users first.",
)
@click.option("--channel", default="email", show_default=True, help="Channel of the synthetic campaign.")
@click.option("--sent-at", default=None, help="When the sends happened (ISO 8601; default: the campaign's start).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def simulate_events(
    campaign_id: int | None,
    rates: str,
    open_rate: float,
    convert_rate: float,
    seed: int,
    users: int | None,
    channel: str,
    sent_at: str | None,
    as_json: bool,
) -> None:
    """Write simulated sent/open/click/convert events for a campaign's drafts from planted true rates.

    For demos and for checking the A/B report; never run it on a campaign that real people received.
    """
    from marketing_gen.config import get_settings
    from marketing_gen.feedback.events import parse_timestamp
    from marketing_gen.feedback.simulate import seed_simulated_campaign, simulate_campaign_events

    url = get_settings().database_url
    planted = _parse_rates(rates)
    if campaign_id is None:
        if not users:
            raise InvalidRequest("give a CAMPAIGN_ID, or --users N to create a synthetic campaign")
        campaign_id = seed_simulated_campaign(users, variants=len(planted), channel=channel, url=url)
    report = simulate_campaign_events(
        campaign_id,
        planted,
        open_rate=open_rate,
        convert_rate=convert_rate,
        seed=seed,
        url=url,
        sent_at=parse_timestamp(sent_at) if sent_at else None,
    )
    if as_json:
        echo_json({"campaign_id": campaign_id, **report.to_dict()})
        return
    click.echo(f"campaign {campaign_id}: recorded {report.recorded} events, duplicates {report.duplicates}")
    click.echo(f"next: marketing-gen campaign report {campaign_id} --png report.png")


@main.command("retrain")
@click.option("--dry-run", is_flag=True, help="Build the outcome dataset and say what would be trained; train nothing.")
@click.option(
    "--method",
    type=click.Choice(["auto", "dpo", "kto", "sft"]),
    default="auto",
    show_default=True,
    help="auto: DPO with enough same-send pairs, else KTO, else SFT on clicked copy.",
)
@click.option(
    "--settle-hours",
    type=float,
    default=24.0,
    show_default=True,
    help="Leave out sends younger than this (their clicks may still come).",
)
@click.option("--max-steps", type=int, default=40, show_default=True, help="Optimizer steps of the training run.")
@click.option("--min-rows", type=int, default=32, show_default=True, help="Fewest KTO rows worth a KTO run.")
@click.option("--min-pairs", type=int, default=16, show_default=True, help="Fewest DPO pairs worth a DPO run.")
@click.option("--min-positives", type=int, default=8, show_default=True, help="Fewest clicked drafts worth an SFT run.")
@click.option(
    "--eval-n", type=int, default=50, show_default=True, help="Held-out contexts per channel for the evaluation gate."
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def retrain_cmd(
    dry_run: bool,
    method: str,
    settle_hours: float,
    max_steps: int,
    min_rows: int,
    min_pairs: int,
    min_positives: int,
    eval_n: int,
    as_json: bool,
) -> None:
    """Learn from outcomes: data since the active model → train → evaluation gate → promote or refuse."""
    from marketing_gen.config import get_settings
    from marketing_gen.feedback.retrain import run_retrain

    outcome = run_retrain(
        get_settings(),
        dry_run=dry_run,
        method=method,
        settle_hours=settle_hours,
        max_steps=max_steps,
        min_pairs=min_pairs,
        min_rows=min_rows,
        min_positives=min_positives,
        eval_n=eval_n,
        progress=not as_json,
    )
    if as_json:
        echo_json(outcome.to_dict())
        return
    since = f"{outcome.since:%Y-%m-%d %H:%M} UTC" if outcome.since else "the beginning"
    click.echo(f"active model: {outcome.active}; outcomes recorded since {since}")
    d = outcome.data
    click.echo(
        f"data: {d.get('sent_drafts', 0)} sent drafts → {d.get('kto_rows', 0)} KTO rows "
        f"({d.get('positives', 0)} positive), {d.get('dpo_pairs', 0)} DPO pairs; "
        f"left out: {d.get('too_recent', 0)} too recent, {d.get('not_exposed', 0)} not opened, "
        f"{d.get('negatives_subsampled_out', 0)} negatives sub-sampled"
    )
    click.echo(f"method: {outcome.method}" + (f"; candidate: {outcome.candidate}" if outcome.candidate else ""))
    click.echo(f"gate decision: {outcome.decision.upper()} — {outcome.reason}")
