"""Rendering: checked copy → what the customer (or the ad platform) receives. Plain data out.

- email → RFC 5322 ``multipart/alternative`` (text + HTML, ``templates/output/email.{txt,html}.j2``, HTML
  autoescaped), CAN-SPAM footer (postal address, per-user unsubscribe link with a signed token),
  ``List-Unsubscribe`` + ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``; item links go through
  click tracking (``{public_base_url}/c/{token}``); the HTML carries an open pixel (``/o/{token}.gif``) unless the
  brand turned ``open_tracking`` off; IDN domains in ASCII form, a non-ASCII mailbox name renders
  with the SMTPUTF8 policy (``data["smtputf8"]``);
- google_ads_rsa → one Google Ads Editor CSV row (``GOOGLE_ADS_COLUMNS``; ``google_ads_csv`` writes a file);
- sms → text, encoding, segments; push → APNs and FCM payloads (≤ 4096 bytes); meta_ad, social_reply → dicts.
Copy is passed to templates as data, never compiled as a template, so ``{{ … }}`` in a title stays text.
Every artifact carries ``ai_mark`` (model | fallback | human; EU AI Act Art. 50); an email also carries the
``X-AI-Generated`` / ``X-AI-Content-Origin`` headers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import formataddr, formatdate
from typing import Any

import idna
from email_validator import EmailNotValidError, validate_email
from jinja2.sandbox import SecurityError

from marketing_gen.channels import push, sms
from marketing_gen.channels.base import get_channel
from marketing_gen.channels.legal import legal_lines
from marketing_gen.config import Settings, link_settings_problems
from marketing_gen.contexts import UserContext
from marketing_gen.csv_safe import SafeDictWriter
from marketing_gen.errors import ConfigError, InvalidRequest
from marketing_gen.guardrails.facts import host_of
from marketing_gen.guardrails.money import format_price
from marketing_gen.prompts import display_title, template_environment
from marketing_gen.tokens import click_url, open_pixel_url, sign_token

GOOGLE_ADS_COLUMNS: tuple[str, ...] = (
    "Campaign",
    "Ad group",
    *(f"Headline {i}" for i in range(1, 16)),
    *(f"Description {i}" for i in range(1, 5)),
    "Path 1",
    "Path 2",
    "Final URL",
)
"""Google Ads Editor CSV columns for responsive search ads, in order."""

EMAIL_POLICY = SMTP.clone(max_line_length=998)
"""CRLF, and no folding below RFC 5322's 998: ``List-Unsubscribe`` URLs must stay one unencoded token."""

EMAIL_POLICY_UTF8 = SMTPUTF8.clone(max_line_length=998)
"""The same for a recipient whose mailbox name is not ASCII (RFC 6531): headers in raw UTF-8. Such messages are
marked ``smtputf8: true`` in their data; the relay must be sent them with the ``SMTPUTF8`` mail option."""

EMAIL_ITEMS = 3
"""Items shown as cards in an email."""

AI_MARKS = ("model", "fallback", "human")
"""Who wrote a piece of copy: the model, the template fallback, or a person (a reviewer's edit)."""
AI_GENERATED_HEADER = "X-AI-Generated"
AI_ORIGIN_HEADER = "X-AI-Content-Origin"


@dataclass
class RenderedArtifact:
    """A rendered piece: JSON-able ``data`` (stored on the draft); the MIME message for email."""

    channel: str
    target: str
    data: dict[str, Any]
    message: EmailMessage | None = field(default=None, repr=False)

    def as_bytes(self) -> bytes:
        """Email: the RFC 5322 message (an .eml file); other channels: the data as UTF-8 JSON."""
        if self.message is not None:
            return self.message.as_bytes(policy=self.message.policy)
        return json.dumps(self.data, ensure_ascii=False, indent=2).encode("utf-8")


def render(
    channel: str,
    fields: Mapping[str, Any],
    context: UserContext,
    *,
    draft_id: int | None,
    campaign_name: str,
    settings: Settings,
    ad_group: str | None = None,
    ai_mark: str = "model",
) -> RenderedArtifact:
    """Render one checked copy for one user, marked with who wrote it (``ai_mark``: model | fallback | human; the
    default marks copy as model-written, the safe side); ConfigError when links would be dead or forgeable."""
    if ai_mark not in AI_MARKS:
        raise InvalidRequest(f"ai_mark {ai_mark!r}: choose one of {', '.join(AI_MARKS)}")
    artifact = _render_target(
        channel, fields, context, draft_id=draft_id, campaign_name=campaign_name, settings=settings, ad_group=ad_group
    )
    artifact.data["ai_mark"] = ai_mark
    if artifact.message is not None:
        headers = ai_mark_headers(ai_mark)
        for name, value in headers.items():
            artifact.message[name] = value
        artifact.data["headers"].update(headers)
    return artifact


def ai_mark_headers(ai_mark: str) -> dict[str, str]:
    """The machine-readable AI marking of an email (EU AI Act Art. 50): ``X-AI-Generated: yes|no`` and who wrote
    the copy (``X-AI-Content-Origin: model|fallback|human``)."""
    return {AI_GENERATED_HEADER: "yes" if ai_mark == "model" else "no", AI_ORIGIN_HEADER: ai_mark}


def _render_target(
    channel: str,
    fields: Mapping[str, Any],
    context: UserContext,
    *,
    draft_id: int | None,
    campaign_name: str,
    settings: Settings,
    ad_group: str | None,
) -> RenderedArtifact:
    spec = get_channel(channel)
    if spec.render_target in ("email_mime", "push"):
        problems = link_settings_problems(settings)
        if problems:
            raise ConfigError(f"{channel} not rendered: " + "; ".join(problems))
    if spec.render_target == "email_mime":
        return render_email(fields, context, draft_id=draft_id, campaign_name=campaign_name, settings=settings)
    if spec.render_target == "google_ads_csv":
        row = google_ads_row(
            fields,
            context,
            campaign_name=campaign_name,
            ad_group=ad_group or f"{campaign_name} / {context.external_id}",
            settings=settings,
        )
        return RenderedArtifact(spec.name, spec.render_target, {"row": row})
    if spec.render_target == "sms":
        text = sms.to_gsm7(str(fields.get("text", "")))
        info = sms.sms_info(text)
        data = {
            "to": context.phone,
            "text": text,
            "encoding": info.encoding,
            "segments": info.segments,
            "units": info.units,
            "chars": info.chars,
        }
        return RenderedArtifact(spec.name, spec.render_target, data)
    if spec.render_target == "push":
        return render_push(fields, context, draft_id=draft_id, settings=settings, limit=spec.max_payload_bytes)
    if spec.render_target == "meta_ad":
        data = {k: fields.get(k, "") for k in spec.field_names}
        data.update(
            {
                "link": landing_url(context, settings),
                "image_url": _first(i.image_url for i in context.items),
                "call_to_action": "SHOP_NOW",
                "campaign": campaign_name,
                "disclaimer": legal_lines(context.locale, settings).lines["ads_disclaimer"],
            }
        )
        return RenderedArtifact(spec.name, spec.render_target, data)
    return RenderedArtifact(spec.name, spec.render_target, {"text": str(fields.get("text", ""))})


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


def landing_url(context: UserContext, settings: Settings) -> str:
    """Where an ad or a call to action leads: the first item's page, else the brand's site, else the public URL."""
    return _first(i.url for i in context.items) or context.brand.website_url or settings.public_base_url


def unsubscribe_link(context: UserContext, settings: Settings, *, channel: str, draft_id: int | None) -> str:
    """The user's one-click unsubscribe URL (the brand's URL template, a signed token)."""
    token = sign_token(
        {"purpose": "unsubscribe", "user_id": context.user_id, "channel": channel, "draft_id": draft_id}, settings
    )
    template = context.brand.unsubscribe_url_template or "{base_url}/u/{token}"
    return template.format(base_url=settings.public_base_url.rstrip("/"), token=token)


def recipient_address(address: str) -> tuple[str, bool]:
    """``address`` as it goes in ``To:`` — the domain in its ASCII (punycode) form — and whether it needs SMTPUTF8
    (a mailbox name that is not ASCII, e.g. ``josé.1@example.net``); InvalidRequest when it is no address."""
    try:
        parsed = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidRequest(f"recipient address {address!r} is not valid: {exc}") from exc
    if parsed.ascii_email:
        return parsed.ascii_email, False
    return f"{parsed.local_part}@{parsed.ascii_domain}", True


def ascii_domain(host: str) -> str:
    """A host name in its ASCII form (IDNA 2008 / UTS 46 punycode): ``bücher.example`` → ``xn--bcher-kva.example``."""
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidRequest(f"domain {host!r} cannot be written in ASCII form: {exc}") from exc


def render_email(
    fields: Mapping[str, Any], context: UserContext, *, draft_id: int | None, campaign_name: str, settings: Settings
) -> RenderedArtifact:
    """A multipart/alternative email with CAN-SPAM footer and one-click unsubscribe headers."""
    brand = context.brand
    if not brand.postal_address.strip():
        raise InvalidRequest(
            f"brand {brand.name!r} has no postal_address: CAN-SPAM requires a physical postal "
            "address in every marketing email; set it on the brand before rendering email"
        )
    unsubscribe = unsubscribe_link(context, settings, channel="email", draft_id=draft_id)
    items = []
    for item in context.items[:EMAIL_ITEMS]:
        items.append(
            {
                "title": display_title(item.title),
                "price": format_price(item.price, item.currency, context.locale),
                "link": click_url(settings, draft_id=draft_id, url=item.url) if item.url else None,
                "image_url": item.image_url,
            }
        )
    landing = _first(i.url for i in context.items) or brand.website_url
    body = str(fields.get("body", ""))
    legal = legal_lines(context.locale, settings)
    variables = {
        "lang": (context.locale or "en").split("-")[0].split("_")[0],
        "brand": brand,
        "subject": str(fields.get("subject", "")),
        "preheader": str(fields.get("preheader", "")),
        "headline": str(fields.get("headline", "")),
        "paragraphs": [p.strip() for p in body.replace("\r", "").split("\n") if p.strip()],
        "cta": str(fields.get("cta", "")),
        "cta_link": click_url(settings, draft_id=draft_id, url=landing) if landing else settings.public_base_url,
        "items": items,
        "unsubscribe_link": unsubscribe,
        # HTML only; None when the brand opted out of open tracking or there is no draft to count the open on
        "open_pixel_url": open_pixel_url(settings, draft_id=draft_id)
        if brand.open_tracking and draft_id is not None
        else None,
        "legal_reason": legal.fill("email_reason", brand=brand.name),
        "legal_unsubscribe": legal.lines["email_unsubscribe"],
    }
    try:
        text = template_environment(settings).get_template("output/email.txt.j2").render(**variables)
        html = template_environment(settings, autoescape=True).get_template("output/email.html.j2").render(**variables)
    except SecurityError as exc:  # a user template reached for something the sandbox refuses
        raise InvalidRequest(
            f"an email template in MARKETING_GEN_USER_TEMPLATES_DIR was refused by the sandbox ({exc}); "
            "templates may only use the variables they are given"
        ) from exc

    domain = ascii_domain(host_of(brand.website_url or settings.public_base_url) or "localhost")
    to, smtputf8 = recipient_address(context.email) if context.email else (None, False)
    msg = EmailMessage(policy=EMAIL_POLICY_UTF8 if smtputf8 else EMAIL_POLICY)
    msg["From"] = formataddr((brand.name, f"no-reply@{domain}"))
    if to:
        local, _, to_domain = to.rpartition("@")
        msg["To"] = Address(display_name=(context.first_name or "").strip(), username=local, domain=to_domain)
    msg["Subject"] = variables["subject"]
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<mg-{draft_id if draft_id is not None else context.user_id}.{context.user_id}@{domain}>"
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Campaign"] = campaign_name
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    data = {
        "from": str(msg["From"]),
        "to": str(msg["To"]) if to else None,
        "smtputf8": smtputf8,
        "subject": variables["subject"],
        "preheader": variables["preheader"],
        "text": text,
        "html": html,
        "headers": {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": str(msg["Message-ID"]),
        },
        "unsubscribe_url": unsubscribe,
    }
    return RenderedArtifact("email", "email_mime", data, message=msg)


def google_ads_row(
    fields: Mapping[str, Any], context: UserContext, *, campaign_name: str, ad_group: str, settings: Settings
) -> dict[str, str]:
    """One Google Ads Editor CSV row (empty cells for unused headlines/descriptions)."""
    row = {c: "" for c in GOOGLE_ADS_COLUMNS}
    row["Campaign"], row["Ad group"] = campaign_name, ad_group
    for i, text in enumerate(list(fields.get("headlines") or [])[:15], start=1):
        row[f"Headline {i}"] = text
    for i, text in enumerate(list(fields.get("descriptions") or [])[:4], start=1):
        row[f"Description {i}"] = text
    row["Path 1"], row["Path 2"] = str(fields.get("path1") or ""), str(fields.get("path2") or "")
    row["Final URL"] = landing_url(context, settings)
    return row


def google_ads_csv(rows: Iterable[Mapping[str, str]]) -> str:
    """Google Ads Editor CSV text (header + rows); cells that would run as spreadsheet formulas are neutralised."""
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=list(GOOGLE_ADS_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in GOOGLE_ADS_COLUMNS})
    return out.getvalue()


def render_push(
    fields: Mapping[str, Any], context: UserContext, *, draft_id: int | None, settings: Settings, limit: int = 4096
) -> RenderedArtifact:
    """APNs and FCM payloads with a tracked deep link, addressed to each of the user's devices; InvalidRequest
    when the user has no device or a payload exceeds the byte limit."""
    if not context.devices:
        raise InvalidRequest(
            f"user {context.external_id} has no push device: import apns_token / fcm_token (users) or a devices file"
        )
    title, body = str(fields.get("title", "")), str(fields.get("body", ""))
    target = _first(i.url for i in context.items) or context.brand.website_url
    url = click_url(settings, draft_id=draft_id, url=target) if target else None
    extra: dict[str, Any] = {"draft_id": draft_id} if draft_id is not None else {}
    extra["disclaimer"] = legal_lines(context.locale, settings).lines["push_disclaimer"]
    apns = push.build_apns(title, body, url=url, data=extra)
    fcm = push.build_fcm(title, body, url=url, data=extra)
    sends = push.build_sends(context.devices, apns, fcm)
    fcm_sizes = [push.payload_bytes({"message": s["message"]}) for s in sends if s["platform"] == "fcm"]
    sizes = {"apns": push.payload_bytes(apns), "fcm": max(fcm_sizes, default=push.payload_bytes(fcm))}
    if max(sizes.values()) > limit:
        raise InvalidRequest(f"push payload is {max(sizes.values())} bytes; APNs/FCM accept at most {limit}")
    return RenderedArtifact("push", "push", {"apns": apns, "fcm": fcm, "sends": sends, "bytes": sizes})
