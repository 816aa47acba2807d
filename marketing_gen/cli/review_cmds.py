"""``marketing-gen campaign review|approve|reject|edit`` and ``marketing-gen user add``: the approval workflow
from a terminal (the review page in ``serve`` does the same through the browser)."""

from __future__ import annotations

import getpass
import os
from typing import Any

import click

from marketing_gen.cli.groups import campaign, echo_json, json_option, user


def _actor(name: str | None) -> str:
    """Who the audit trail names: ``--as`` or the OS user, prefixed ``cli:``."""
    if name:
        return f"cli:{name}"
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def _preview(d: dict[str, Any]) -> str:
    f = d["fields"]
    channel = d["channel"]
    if channel == "email":
        text = f"{f.get('subject', '')} | {f.get('preheader', '')}"
    elif channel == "google_ads_rsa":
        text = " / ".join(list(f.get("headlines") or [])[:3])
    elif channel == "push":
        text = f"{f.get('title', '')}: {f.get('body', '')}"
    else:
        text = str(f.get("text") or f.get("primary_text") or f)
    return text if len(text) <= 100 else text[:99] + "…"


@campaign.command("review")
@click.argument("campaign_id", type=int)
@click.option("--samples", type=int, default=3, show_default=True, help="Drafts in review shown per channel.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def review_cmd(campaign_id: int, samples: int, as_json: bool) -> None:
    """Terminal summary for reviewers: drafts per channel / variant / status, samples in review, recent actions."""
    from marketing_gen.review.workflow import audit_trail, list_drafts, review_counts

    counts = review_counts(campaign_id)
    out: dict[str, Any] = {**counts, "samples": {}, "recent_actions": audit_trail(campaign_id, limit=10)}
    for channel in counts["groups"]:
        rows, _ = list_drafts(campaign_id, channel=channel, status="in_review", per_page=samples)
        out["samples"][channel] = [
            {"id": r["id"], "user": r["user"], "variant": r["variant"], "preview": _preview(r),
             "findings": [f["code"] for f in r["findings"]]}
            for r in rows
        ]  # fmt: skip
    if as_json:
        echo_json(out)
        return
    click.echo(f"campaign {campaign_id} {out['name']!r} ({out['state']}, approval {out['approval']})")
    click.echo("  totals: " + " ".join(f"{k}={v}" for k, v in sorted(out["totals"].items())))
    for channel, variants in out["groups"].items():
        for variant, states in sorted(variants.items()):
            click.echo(f"  {channel:<15} v{variant}  " + " ".join(f"{k}={v}" for k, v in sorted(states.items())))
        for s in out["samples"][channel]:
            extra = f"  [{', '.join(s['findings'])}]" if s["findings"] else ""
            click.echo(f"      #{s['id']} {s['user']}: {s['preview']}{extra}")
    if out["recent_actions"]:
        click.echo("  recent actions:")
        for a in out["recent_actions"]:
            click.echo(f"    {a['at'][:19]} {a['actor']} {a['action']} draft {a['draft_id']} {a['reason'] or ''}")
    pending = out["totals"].get("in_review", 0)
    if pending:
        click.echo(f"  {pending} in review: `marketing-gen campaign approve {campaign_id} [--channel C] [--variant V]`")


@campaign.command("approve")
@click.argument("campaign_id", type=int)
@click.option("--channel", default=None, help="Only this channel's drafts.")
@click.option("--variant", type=int, default=None, help="Only this A/B arm (0-based).")
@click.option("--draft", "draft_ids", type=int, multiple=True, help="Only these draft ids (repeatable).")
@click.option("--as", "actor", default=None, help="Name recorded in the audit trail (default: your OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def approve_cmd(
    campaign_id: int, channel: str | None, variant: int | None, draft_ids: tuple[int, ...], actor: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Approve drafts in review (all, a channel, a variant or given ids): they go to the outbox."""
    from marketing_gen.review.workflow import approve_drafts

    result = approve_drafts(
        campaign_id, actor=_actor(actor), channel=channel, variant=variant, draft_ids=list(draft_ids) or None
    )
    if as_json:
        echo_json(result)
        return
    click.echo(f"campaign {campaign_id}: approved {result['approved']}, queued in the outbox {result['queued']}")


@campaign.command("reject")
@click.argument("draft_id", type=int)
@click.option("--reason", required=True, help="Why (kept in the audit trail; becomes a negative training row).")
@click.option("--as", "actor", default=None, help="Name recorded in the audit trail (default: your OS user).")
@json_option
def reject_cmd(draft_id: int, reason: str, actor: str | None, as_json: bool) -> None:
    """Reject one draft in review."""
    from marketing_gen.review.workflow import reject_draft

    reject_draft(draft_id, actor=_actor(actor), reason=reason)
    if as_json:
        echo_json({"draft_id": draft_id, "status": "rejected", "reason": reason})
    else:
        click.echo(f"draft {draft_id} rejected")


@campaign.command("edit")
@click.argument("draft_id", type=int)
@click.option(
    "--set", "assignments", multiple=True, required=True, metavar="FIELD=VALUE",
    help="A field to replace, e.g. --set subject='Spring picks'. List fields (RSA headlines): one per line.",
)  # fmt: skip
@click.option("--as", "actor", default=None, help="Name recorded in the audit trail (default: your OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def edit_cmd(draft_id: int, assignments: tuple[str, ...], actor: str | None, as_json: bool) -> None:
    """Edit a draft in review; every guardrail re-checks it and a hard finding refuses the edit (exit 1)."""
    from marketing_gen.review.workflow import edit_draft

    fields: dict[str, str] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--set {item!r}: use FIELD=VALUE")
        fields[name.strip()] = value
    outcome = edit_draft(draft_id, fields, actor=_actor(actor))
    if as_json:
        echo_json({"draft_id": draft_id, "accepted": outcome.accepted, "findings": outcome.findings})
    else:
        click.echo(f"draft {draft_id}: edit {'accepted' if outcome.accepted else 'REFUSED'}")
        for f in outcome.findings:
            click.echo(f"  {'hard' if f['hard'] else 'soft'} {f['code']} ({f['field']}): {f['message']}")
    if not outcome.accepted:
        raise SystemExit(1)


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["reviewer", "admin"]), default="reviewer", show_default=True,
              help="reviewer: review, approve, reject, edit. admin: also send.")  # fmt: skip
@click.password_option(help="Password (prompted, hidden, twice when not given; at least 10 characters).")
@json_option
def add_cmd(username: str, role: str, password: str, as_json: bool) -> None:
    """Create a review-page account (or reset its password and role); the password is stored as a scrypt hash."""
    from marketing_gen.review.accounts import add_account

    account_id = add_account(username, password, role=role)
    if as_json:
        echo_json({"id": account_id, "username": username, "role": role})
    else:
        click.echo(f"account {account_id} {username!r} ({role})")
