"""``marketing-gen lint``: check copy written by anyone (model or human) against a channel's hard rules."""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from marketing_gen.cli.groups import STDIN, BadInput, echo_json, main
from marketing_gen.contexts import BrandFacts, ItemFacts, Offer, UserContext
from marketing_gen.errors import InvalidRequest


def _read_json(path: Path, what: str) -> Any:
    try:
        if str(path) == STDIN:
            return json.loads(sys.stdin.read())
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"cannot read {what} file {str(path)!r}: {exc.strerror or exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{what} file {str(path)!r} is not valid JSON: {exc}") from exc


def _decimal(value: Any, where: str) -> Decimal | None:
    if value is None or value == "":
        return None
    text = str(value).strip().rstrip("%").strip()
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise InvalidRequest(f"{where} must be a number, got {value!r}") from exc


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"{where} must be a list of strings")
    return tuple(value)


def build_offer(raw: Any) -> Offer:
    """An ``Offer`` from JSON: an object (text, discount_pct, amount_off, code, ends_at) or a text like "50%"."""
    from marketing_gen.guardrails.money import find_percentages

    if raw is None:
        return Offer()
    if isinstance(raw, str):
        pcts = find_percentages(raw)
        return Offer(text=raw, discount_pct=pcts[0][0] if pcts else None)
    if not isinstance(raw, dict):
        raise InvalidRequest("offer must be an object or a text")
    ends = raw.get("ends_at")
    try:
        ends_at = dt.date.fromisoformat(str(ends)[:10]) if ends else None
    except ValueError as exc:
        raise InvalidRequest(f"offer.ends_at must be an ISO date, got {ends!r}") from exc
    return Offer(
        text=str(raw.get("text") or ""),
        discount_pct=_decimal(raw.get("discount_pct"), "offer.discount_pct"),
        amount_off=_decimal(raw.get("amount_off"), "offer.amount_off"),
        code=raw.get("code") or None,
        ends_at=ends_at,
    )


def build_context(raw: Any) -> UserContext:
    """A ``UserContext`` from lint's CONTEXT.json (first_name, locale, items, offer, optional brand)."""
    if not isinstance(raw, dict):
        raise InvalidRequest("the context must be a JSON object")
    b = raw.get("brand") or {}
    if not isinstance(b, dict):
        raise InvalidRequest("brand must be an object")
    brand = BrandFacts(
        name=str(b.get("name") or ""),
        banned_terms=_strings(b.get("banned_terms"), "brand.banned_terms"),
        postal_address=str(b.get("postal_address") or ""),
        website_url=b.get("website_url"),
        allowed_domains=_strings(b.get("allowed_domains"), "brand.allowed_domains"),
    )
    items = []
    raw_items = raw.get("items") or []
    if not isinstance(raw_items, list):
        raise InvalidRequest("items must be a list")
    for i, it in enumerate(raw_items):
        if not isinstance(it, dict) or not isinstance(it.get("title"), str):
            raise InvalidRequest(f"items[{i}] must be an object with a title")
        items.append(
            ItemFacts(
                item_id=i,
                external_id=str(it.get("id", i)),
                title=it["title"],
                price=_decimal(it.get("price"), f"items[{i}].price"),
                currency=str(it.get("currency") or "USD").upper(),
                category=it.get("category"),
                features=_strings(it.get("features"), f"items[{i}].features"),
                url=it.get("url"),
            )
        )
    return UserContext(
        user_id=0,
        external_id="lint",
        first_name=raw.get("first_name"),
        locale=str(raw.get("locale") or ""),
        country=raw.get("country"),
        brand=brand,
        items=tuple(items),
        offer=build_offer(raw.get("offer")),
        interests=_strings(raw.get("interests"), "interests"),
    )


@main.command()
@click.option("--channel", required=True, help="email, google_ads_rsa, meta_ad, sms, push or social_reply.")
@click.option(
    "--draft",
    "draft_path",
    required=True,
    type=click.Path(path_type=Path),
    help='JSON object with the channel\'s fields, e.g. {"subject": …, "body": …}; `-` reads standard input.',
)
@click.option(
    "--context",
    "context_path",
    type=click.Path(path_type=Path),
    help="JSON: first_name, locale, items [{title, price, currency}], offer, brand. "
    "Without it, grounding and language checks are skipped. `-` reads standard input.",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"ok": bool, "violations": [...]} as JSON.')
def lint(channel: str, draft_path: Path, context_path: Path | None, as_json: bool) -> None:
    """Check copy (model or human) against a channel's hard rules. Exit 0 ok, 1 violations, 2 bad input."""
    from marketing_gen.channels import get_channel
    from marketing_gen.guardrails import build_facts, check_with_facts

    try:
        spec = get_channel(channel)
    except InvalidRequest as exc:
        raise BadInput(str(exc)) from exc
    if str(draft_path) == STDIN and str(context_path) == STDIN:
        raise BadInput("--draft and --context cannot both read standard input (`-`)")
    draft = _read_json(draft_path, "draft")
    if isinstance(draft, dict) and isinstance(draft.get("fields"), dict) and not set(draft) & set(spec.field_names):
        draft = draft["fields"]
    if not isinstance(draft, dict):
        raise BadInput(
            f"draft file {str(draft_path)!r} must hold a JSON object of fields: {', '.join(spec.field_names)}"
        )
    context = None
    if context_path is not None:
        try:
            context = build_context(_read_json(context_path, "context"))
        except InvalidRequest as exc:
            raise BadInput(f"context file {str(context_path)!r}: {exc}") from exc
    facts = build_facts(context, context.brand if context else None)
    found = check_with_facts(draft, facts, spec)
    unknown = sorted(set(draft) - set(spec.field_names))
    violations = [v.to_dict() for v in found]
    violations += [
        {
            "code": "format.unknown_field",
            "field": k,
            "hard": False,
            "message": f"{spec.name} has no field {k!r} (fields: {', '.join(spec.field_names)})",
        }
        for k in unknown
    ]
    ok = not any(v["hard"] for v in violations)
    report: dict[str, Any] = {"ok": ok, "channel": spec.name, "violations": violations}
    if context is None:
        report["skipped"] = ["grounding", "quality.language"]
    if as_json:
        echo_json(report)
    else:
        for v in violations:
            click.echo(f"{'ERROR' if v['hard'] else 'warn '} {v['code']:<24} {v['field']}: {v['message']}")
        click.echo("ok" if ok else f"{sum(v['hard'] for v in violations)} hard violation(s)")
        if context is None:
            click.echo("(no --context: grounding and language checks skipped)")
    if not ok:
        click.get_current_context().exit(1)
