"""``marketing-gen campaign send`` and ``marketing-gen outbox …``: deliver queued messages, watch the outbox."""

from __future__ import annotations

import time
from typing import Any

import click

from marketing_gen.cli.groups import campaign, echo_json, json_option, outbox

SEND_TASK = "workers.tasks.send_batch"
ADAPTER_NAMES = ("file", "smtp", "webhook")


def _summary(status: dict[str, Any]) -> str:
    states = " ".join(f"{k}={v}" for k, v in status["states"].items() if v)
    return f"outbox: {status['total']} rows ({states or 'empty'}), {status['waiting']} waiting for quiet hours/backoff"


@campaign.command("send")
@click.argument("campaign_id", type=int)
@click.option(
    "--adapter",
    type=click.Choice(ADAPTER_NAMES),
    default=None,
    help="Delivery adapter (default: MARKETING_GEN_DELIVERY_ADAPTER, `file`). smtp sends email only.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be sent, skipped or held by quiet hours; send nothing.")
@click.option("--inline", is_flag=True, help="Send in this process instead of through the deliver workers.")
@click.option("--wait", is_flag=True, help="Return when no row of this campaign is queued-and-due or sending.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="With --wait: give up after seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def send_cmd(
    campaign_id: int, adapter: str | None, dry_run: bool, inline: bool, wait: bool, timeout: float, as_json: bool
) -> None:
    """Send the campaign's approved (queued) outbox rows through an adapter, each at most once."""
    from tqdm import tqdm

    from marketing_gen.campaigns.state import campaign_status
    from marketing_gen.config import get_settings
    from marketing_gen.delivery.send import SendReport, outbox_status, plan_send, reconcile_stale, send_outbox

    settings = get_settings()
    name = adapter or settings.delivery_adapter
    in_review = campaign_status(campaign_id, verdicts=False)["counts"].get("in_review", 0)  # NotFound with what to do
    reconciled = {} if dry_run else reconcile_stale(settings=settings, campaign_id=campaign_id)
    batches = plan_send(campaign_id, name, settings=settings)
    result: dict[str, Any] = {"campaign_id": campaign_id, "adapter": name, "batches": len(batches)}
    result["messages"] = sum(map(len, batches))
    result["awaiting_review"] = in_review
    if reconciled:
        result["reconciled"] = reconciled
    if dry_run or inline:
        total = SendReport()
        with tqdm(total=result["messages"], unit="msg", disable=as_json or dry_run, desc="send") as bar:
            for ids in batches:
                r = send_outbox(ids, adapter=name, settings=settings, dry_run=dry_run)
                for key in ("sent", "failed", "skipped", "waiting", "retry_later", "uncertain", "not_claimed"):
                    setattr(total, key, getattr(total, key) + getattr(r, key))
                total.errors.extend(r.errors)
                bar.update(len(ids))
        result["dry_run" if dry_run else "report"] = total.to_dict()
    else:
        from marketing_gen.cli.campaign_cmds import celery_app

        app = celery_app(settings)
        for ids in batches:
            app.send_task(SEND_TASK, args=[ids, name])
        if wait:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if (
                    not plan_send(campaign_id, name, settings=settings)
                    and not outbox_status(campaign_id=campaign_id, settings=settings)["states"]["sending"]
                ):
                    break
                time.sleep(0.5)
            else:
                raise click.ClickException(f"campaign {campaign_id}: sending did not finish in {timeout:.0f} s")
    result["outbox"] = outbox_status(campaign_id=campaign_id, settings=settings)
    if as_json:
        echo_json(result)
        return
    verb = "would send" if dry_run else "sent" if inline else "enqueued"
    click.echo(f"campaign {campaign_id}: {verb} {result['messages']} message(s) via {name}")
    if dry_run or inline:
        report = result["dry_run" if dry_run else "report"]
        click.echo("  " + " ".join(f"{k}={v}" for k, v in report.items() if k != "errors"))
        for line in report["errors"][:5]:
            click.echo(f"  {line}")
    click.echo(_summary(result["outbox"]))
    if in_review:
        click.echo(f"{in_review} draft(s) still in review: `marketing-gen campaign approve {campaign_id}` first")


@outbox.command("status")
@click.option("--campaign", "campaign_id", type=int, default=None, help="Only this campaign's rows.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_cmd(campaign_id: int | None, as_json: bool) -> None:
    """Outbox rows by state (overall and per channel), rows waiting, the oldest row still sending."""
    from marketing_gen.delivery.send import outbox_status

    status = outbox_status(campaign_id=campaign_id)
    if as_json:
        echo_json(status)
        return
    click.echo(_summary(status))
    for channel, states in sorted(status["by_channel"].items()):
        click.echo(f"  {channel:<15} " + " ".join(f"{k}={v}" for k, v in sorted(states.items())))
    if status["oldest_sending_at"]:
        click.echo(f"  oldest row sending since {status['oldest_sending_at']}")


@outbox.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def reconcile_cmd(as_json: bool) -> None:
    """Settle rows left in `sending` by a dead worker (older than MARKETING_GEN_SENDING_TIMEOUT_S); never resends."""
    from marketing_gen.delivery.send import reconcile_stale

    counts = reconcile_stale()
    if as_json:
        echo_json(counts)
        return
    click.echo("reconciled: " + (" ".join(f"{k}={v}" for k, v in counts.items()) or "nothing stale"))


@outbox.command("resolve")
@click.argument("outbox_id", type=int)
@click.option("--sent", "verdict", flag_value="sent", help="The provider's log shows it was delivered.")
@click.option("--resend", "verdict", flag_value="resend", help="The provider never got it: queue it again.")
@json_option
def resolve_cmd(outbox_id: int, verdict: str | None, as_json: bool) -> None:
    """Settle an `uncertain` row after checking the provider's log."""
    from marketing_gen.delivery.send import resolve_uncertain

    if verdict is None:
        raise click.UsageError("give --sent or --resend")
    state = resolve_uncertain(outbox_id, sent=verdict == "sent")
    if as_json:
        echo_json({"outbox_id": outbox_id, "state": state})
    else:
        click.echo(f"outbox {outbox_id} {state}")
