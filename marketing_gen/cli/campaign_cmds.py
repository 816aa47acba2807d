"""``marketing-gen campaign …``: create (preflight, --dry-run), run (preflight, progress bar), status,
pause/resume/cancel, export, list."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import click

from marketing_gen.cli.groups import campaign, echo_json, json_option

if TYPE_CHECKING:
    from celery import Celery

    from marketing_gen.campaigns.preflight import Preflight
    from marketing_gen.config import Settings

EXPORT_FORMATS = ("jsonl", "csv", "google-ads-csv", "eml")


@campaign.command("create")
@click.option("--name", required=True, help="Campaign name (shown in exports and email headers).")
@click.option("--channels", required=True, help="Comma-separated: email,google_ads_rsa,meta_ad,sms,push.")
@click.option(
    "--segment",
    default="",
    help='Audience expression, e.g. "country in (France, Spain) and '
    'interests has Kitchen and purchased_within_days < 30". Empty: everyone with consent.',
)
@click.option("--offer", "offer_text", default=None, help="Offer text the copy may mention, e.g. 'Spring sale'.")
@click.option("--discount-pct", type=float, default=None, help="Discount the offer grants (copy may state it).")
@click.option("--offer-code", default=None, help="Promo code.")
@click.option("--offer-ends", default=None, help="Offer end date, YYYY-MM-DD.")
@click.option(
    "--variants",
    type=int,
    default=1,
    show_default=True,
    help="A/B arms: each user gets one arm, chosen by a hash of (campaign, user).",
)
@click.option("--batch-size", type=int, default=None, help="Drafts per generate task (default: settings).")
@click.option("--max-new-tokens", type=int, default=None, help="Cap on generated tokens per copy attempt.")
@click.option("--max-regenerations", type=int, default=None, help="Extra attempts before the template fallback.")
@click.option("--seed", type=int, default=None, help="Sampling seed (default: the campaign id).")
@click.option(
    "--approval",
    type=click.Choice(["required", "none"]),
    default="required",
    show_default=True,
    help="required: rendered drafts wait for a reviewer (`campaign review` / the review page) before the outbox; "
    "none: they go straight to the outbox.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Create nothing: print the audience per channel and every preflight finding (exit 1 if any refuses).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the id (unless --dry-run) and preflight.")
@click.option(
    "--send-hour",
    type=click.IntRange(0, 23),
    default=None,
    help="Send at this local hour of each recipient (messages wait for it; quiet hours still apply).",
)
@click.option(
    "--send-time",
    type=click.Choice(["campaign", "user"]),
    default="campaign",
    show_default=True,
    help="user: each recipient's usual hour (of past clicks / purchases), else --send-hour.",
)
def create_cmd(
    name: str,
    channels: str,
    segment: str,
    offer_text: str | None,
    discount_pct: float | None,
    offer_code: str | None,
    offer_ends: str | None,
    variants: int,
    batch_size: int | None,
    max_new_tokens: int | None,
    max_regenerations: int | None,
    seed: int | None,
    approval: str,
    send_hour: int | None,
    send_time: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Create a campaign (state `created`); prints its id.

    Preflight first: the brand's postal address (email), signing key and public base URL (links), an audience
    per channel and recommended in-stock priced items. A problem refuses the campaign with its fix (exit 1).
    """
    from marketing_gen.campaigns.preflight import check_campaign, require_ok
    from marketing_gen.campaigns.segments import parse_segment
    from marketing_gen.campaigns.state import check_channels, create_campaign
    from marketing_gen.config import get_settings

    options: dict[str, Any] = {}
    if batch_size:
        options["batch_size"] = batch_size
    if max_new_tokens:
        options["sampling"] = {"max_new_tokens": max_new_tokens}
    if max_regenerations is not None:
        options["max_regenerations"] = max_regenerations
    if seed is not None:
        options["seed"] = seed
    if send_hour is not None:
        options["send_hour"] = send_hour
    if send_time == "user":
        options["send_time"] = "user"
    chans = check_channels(channels.split(","))
    parse_segment(segment)  # a syntax error is bad input (exit 2 style message) before any counting
    preflight = check_campaign(channels=chans, segment=segment, settings=get_settings())
    if dry_run:
        if as_json:
            echo_json(preflight.to_dict())
        else:
            _print_preflight(preflight)
        if not preflight.ok:
            click.get_current_context().exit(1)
        return
    require_ok(preflight)
    if not as_json:
        for finding in preflight.findings:
            click.echo(f"warning: {finding.message}", err=True)
    cid = create_campaign(
        name=name,
        channels=chans,
        segment=segment,
        offer_text=offer_text,
        discount_pct=discount_pct,
        offer_code=offer_code,
        offer_ends=offer_ends,
        variants=variants,
        options=options,
        approval=approval,
    )
    if as_json:
        echo_json({"id": cid, "preflight": preflight.to_dict()})
    else:
        click.echo(cid)


def _print_preflight(preflight: Preflight) -> None:
    """The dry run as text: audience per channel, reasons left out, findings."""
    click.echo(f"segment matches {preflight.matched} users")
    for channel in preflight.channels:
        left = ", ".join(f"{k} {v}" for k, v in preflight.excluded.get(channel, {}).items()) or "none"
        click.echo(
            f"  {channel:<15} audience {preflight.audience[channel]:>7}  with items {preflight.with_items[channel]:>7}"
            f"  left out: {left}"
        )
    for finding in preflight.findings:
        click.echo(f"{finding.severity}: {finding.message}")
    click.echo("preflight ok" if preflight.ok else "preflight refuses this campaign")


PLAN_TASK = "workers.tasks.plan_campaign"


def celery_app(settings: Settings | None = None) -> Celery:
    """The process app when it matches ``settings`` (default: the current settings), else one built for them."""
    from workers.app import app_for

    return app_for(settings)


def start_campaign(campaign_id: int, *, settings: Settings | None = None, app: Celery | None = None) -> Preflight:
    """Preflight, then enqueue ``plan_campaign`` (idempotent: re-plans, re-enqueues only unfinished work).

    Returns the preflight (its warnings); ``PreflightFailed`` before anything is enqueued when it refuses.
    """
    from marketing_gen.campaigns.preflight import check_campaign, require_ok
    from marketing_gen.campaigns.state import CampaignState, campaign_status
    from marketing_gen.config import get_settings
    from marketing_gen.errors import ClientError, InvalidRequest
    from marketing_gen.versions.registry import active_version

    url = settings.database_url if settings else None
    status = campaign_status(campaign_id, url=url)
    state = status["state"]
    if state == CampaignState.PAUSED.value:
        raise InvalidRequest(f"campaign {campaign_id} is paused: `marketing-gen campaign resume {campaign_id}`")
    if state == CampaignState.CANCELLED.value:
        raise InvalidRequest(f"campaign {campaign_id} is cancelled; create a new one")
    if active_version(url=url) is None:
        raise ClientError("No active model version: run `marketing-gen model import-base` first")
    preflight = require_ok(
        check_campaign(
            channels=status["channels"],
            segment=status["segment"],
            settings=settings or get_settings(),
            campaign_id=campaign_id,
        )
    )
    (app or celery_app(settings)).send_task(PLAN_TASK, args=[campaign_id])
    return preflight


LOG_EVERY_S = 30.0
"""How often ``wait_for`` prints a progress line when stderr is not a terminal."""

WORKER_CHECK_S = 20.0
"""``campaign run --wait`` on Redis or the SQLite broker: a plan task still waiting after this long, with no progress
and no worker busy with other messages, means no worker is running (RabbitMQ is asked at once:
``workers.consumers``)."""


def require_consumers(campaign_id: int, settings: Settings) -> bool:
    """ClientError when the broker counts consumers (RabbitMQ) and a campaign queue has none; False when it cannot
    count them (Redis, SQLite: ``wait_for`` watches the plan task instead), True when every queue is consumed."""
    from marketing_gen.errors import ClientError
    from workers.consumers import START_HINT, queue_consumers

    counts = queue_consumers(celery_app(settings), settings)
    if counts is None:
        return False
    idle = [q for q, n in counts.items() if not n]
    if idle:
        raise ClientError(
            f"no worker is consuming the {', '.join(idle)} queue(s): {START_HINT}. Campaign {campaign_id} stays "
            f"enqueued; `marketing-gen campaign run {campaign_id} --wait` again once a worker runs"
        )
    return True


def wait_for(
    campaign_id: int,
    *,
    settings: Settings | None = None,
    timeout: float | None = None,
    stall_timeout: float | None = None,
    poll: float = 1.0,
    progress: bool = True,
    worker_check: float | None = None,
) -> dict[str, Any]:
    """Poll counts with a progress bar until the campaign completes (or stops); returns the final status.

    When nothing moves for ``stall_timeout`` seconds (e.g. a worker was killed and its message lost), the
    unfinished work is enqueued again — safe, every step is idempotent. ``worker_check``: seconds after which a
    plan task still waiting in its queue, with no progress and no worker busy elsewhere, raises ClientError (no
    worker is running).
    """
    from tqdm import tqdm

    from marketing_gen.campaigns.pipeline import finish_if_done
    from marketing_gen.campaigns.state import campaign_status
    from marketing_gen.config import get_settings
    from marketing_gen.errors import ClientError, TransientError
    from workers.consumers import START_HINT, messages_in_progress, waiting_messages

    url = settings.database_url if settings else None
    started = last_change = time.monotonic()
    check_at = started + worker_check if worker_check is not None else None
    last: tuple[Any, ...] | None = None
    first: tuple[Any, ...] | None = None  # the counts seen first: unchanged since means no worker did anything
    # A terminal gets a live bar; a log file (non-tty) gets one plain line every LOG_EVERY_S seconds instead of
    # hundreds of carriage-return frames.
    interactive = progress and sys.stderr.isatty()
    bar = tqdm(total=0, unit="draft", desc=f"campaign {campaign_id}", disable=not interactive, dynamic_ncols=True)
    logged = 0.0
    try:
        while True:
            status = campaign_status(campaign_id, url=url, verdicts=False)  # counts only while polling
            counts = status["counts"]
            key = (status["state"], tuple(sorted(counts.items())))
            first = first or key
            if key != last:
                last, last_change = key, time.monotonic()
            bar.total = status["total"]
            bar.n = status["done"]
            bar.set_postfix({k: v for k, v in counts.items() if v}, refresh=False)
            bar.refresh()
            final = status["state"] in ("completed", "cancelled", "paused")
            if progress and not interactive and (final or time.monotonic() - logged >= LOG_EVERY_S):
                logged = time.monotonic()
                busy = ", ".join(f"{k}={v}" for k, v in counts.items() if v)
                click.echo(
                    f"campaign {campaign_id}: {status['done']}/{status['total']} drafts "
                    f"({busy}) after {logged - started:.0f} s",
                    err=True,
                )
            if final:
                return campaign_status(campaign_id, url=url)
            if (
                status["state"] == "running"
                and status["total"]
                and not (counts["pending"] + counts["generated"] + counts["ready"])
                and finish_if_done(campaign_id, settings=settings)
            ):
                continue
            now = time.monotonic()
            if check_at is not None and now >= check_at:
                check_at = None
                resolved = settings or get_settings()
                app = celery_app(resolved)
                if key == first and waiting_messages(app, resolved):
                    if messages_in_progress(app, resolved):
                        bar.write(f"a worker is busy with other work: campaign {campaign_id} waits its turn")
                    else:
                        raise ClientError(
                            f"no worker has taken campaign {campaign_id}'s plan task from the prepare queue in "
                            f"{worker_check:.0f} s: is a worker running? {START_HINT}. (A worker busy with a long "
                            f"batch of another campaign also delays it.) The campaign stays enqueued; "
                            f"`marketing-gen campaign run {campaign_id} --wait` again once a worker runs"
                        )
            if timeout is not None and now - started > timeout:
                raise TransientError(f"campaign {campaign_id} did not finish in {timeout:.0f} s: {counts}")
            if stall_timeout is not None and now - last_change > stall_timeout:
                bar.write(
                    f"no progress for {stall_timeout:.0f} s: re-enqueueing unfinished work "
                    "(is a worker running? `marketing-gen worker`)"
                )
                celery_app(settings).send_task(PLAN_TASK, args=[campaign_id])
                last_change = now
            time.sleep(poll)
    finally:
        bar.close()


@campaign.command("run")
@click.argument("campaign_id", type=int)
@click.option("--wait", is_flag=True, help="Show a progress bar and return when the campaign is done.")
@click.option("--timeout", type=float, default=None, help="With --wait: give up after this many seconds.")
@click.option(
    "--stall-timeout",
    type=float,
    default=None,
    help="With --wait: re-enqueue unfinished work after this long without progress "
    "(default: the generate task's time limit).",
)
@json_option
def run_cmd(campaign_id: int, wait: bool, timeout: float | None, stall_timeout: float | None, as_json: bool) -> None:
    """Plan and enqueue the campaign. Idempotent: running it again only re-enqueues unfinished work.

    With --wait, says within 30 s (exit 2) when no worker consumes the campaign's queues."""
    from marketing_gen.config import get_settings
    from workers.app import generate_time_limit

    settings = get_settings()
    warnings = [finding.message for finding in start_campaign(campaign_id).findings]
    if not as_json:
        for message in warnings:
            click.echo(f"warning: {message}", err=True)
    if not wait:
        if as_json:
            echo_json({"id": campaign_id, "enqueued": True, "warnings": warnings})
        else:
            click.echo(f"campaign {campaign_id} enqueued; follow it with `marketing-gen campaign status {campaign_id}`")
        return
    asked = require_consumers(campaign_id, settings)
    status = wait_for(
        campaign_id,
        timeout=timeout,
        stall_timeout=stall_timeout or generate_time_limit(settings) + 60,
        progress=not as_json,
        worker_check=None if asked else WORKER_CHECK_S,
    )
    if as_json:
        echo_json({**status, "warnings": warnings})
    else:
        click.echo(_summary(status))


def _summary(status: dict[str, Any]) -> str:
    counts = " ".join(f"{k}={v}" for k, v in status["counts"].items())
    return (
        f"campaign {status['id']} {status['state']}: {counts} outbox={status['outbox']} "
        f"fallback={_pct(status['fallback_rate'])} " + _verdicts(status)
    )


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _verdicts(rates: dict[str, Any]) -> str:
    """First-try pass (hard checks) and sendable (hard checks + quality gate), and sendable delivered copy."""
    return (
        f"first-try pass={_pct(rates['first_try_pass_rate'])} sendable={_pct(rates['first_try_sendable_rate'])} "
        f"delivered sendable={_pct(rates['sendable_rate'])} fallback={_pct(rates.get('fallback_rate'))} "
        f"duplicate headlines={_pct(rates.get('duplicate_headline_rate'))}"
    )


@campaign.command("status")
@click.argument("campaign_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_cmd(campaign_id: int, as_json: bool) -> None:
    """Counts by draft status (overall and per channel), state, fallback rate, first-try pass (hard checks) and
    sendable (hard checks + quality gate) rates, and the sendable share of delivered copy."""
    from marketing_gen.campaigns.state import campaign_status

    status = campaign_status(campaign_id)
    if as_json:
        echo_json(status)
        return
    click.echo(_summary(status))
    for channel, counts in status["by_channel"].items():
        verdicts = status["verdicts_by_channel"].get(channel)
        click.echo(
            f"  {channel:<15} "
            + " ".join(f"{k}={v}" for k, v in counts.items())
            + (f" {_verdicts(verdicts)}" if verdicts else "")
        )


def _set(campaign_id: int, to: str) -> str:
    from marketing_gen.campaigns.state import CampaignState, set_state

    return set_state(campaign_id, CampaignState(to))


def _echo_state(campaign_id: int, state: str, as_json: bool) -> None:
    if as_json:
        echo_json({"id": campaign_id, "state": state})
    else:
        click.echo(f"campaign {campaign_id} {state}")


@campaign.command("pause")
@click.argument("campaign_id", type=int)
@json_option
def pause_cmd(campaign_id: int, as_json: bool) -> None:
    """Pause: queued tasks of this campaign do nothing until `resume`."""
    _echo_state(campaign_id, _set(campaign_id, "paused"), as_json)


@campaign.command("resume")
@click.argument("campaign_id", type=int)
@json_option
def resume_cmd(campaign_id: int, as_json: bool) -> None:
    """Resume a paused campaign: re-enqueue its unfinished work."""
    state = _set(campaign_id, "running")
    start_campaign(campaign_id)
    _echo_state(campaign_id, state, as_json)


@campaign.command("cancel")
@click.argument("campaign_id", type=int)
@json_option
def cancel_cmd(campaign_id: int, as_json: bool) -> None:
    """Cancel: no further drafts are generated, rendered or queued."""
    _echo_state(campaign_id, _set(campaign_id, "cancelled"), as_json)


@campaign.command("export")
@click.argument("campaign_id", type=int)
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="jsonl", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Directory to write to.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the format and every file written.")
def export_cmd(campaign_id: int, fmt: str, out_dir: str, as_json: bool) -> None:
    """Write the campaign's drafts: jsonl | csv | google-ads-csv (Google Ads Editor) | eml (one file per email)."""
    from pathlib import Path

    from marketing_gen.campaigns.export import export_campaign

    paths = export_campaign(campaign_id, fmt, Path(out_dir))
    if as_json:
        echo_json({"id": campaign_id, "format": fmt, "files": [str(p) for p in paths]})
        return
    for p in paths[:5]:
        click.echo(str(p))
    if len(paths) > 5:
        click.echo(f"… {len(paths)} files")


@campaign.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_cmd(as_json: bool) -> None:
    """Every campaign, newest first."""
    from marketing_gen.campaigns.state import list_campaigns

    rows = list_campaigns()
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['id']:>5}  {r['state']:<10} {r['drafts']:>7} drafts  {r['name']}  [{','.join(r['channels'])}]")
