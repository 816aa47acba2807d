"""Prompts: a user context and a channel → chat messages for the model (``templates/prompts/<channel>.j2``).

Owns the Jinja2 environment (StrictUndefined; the user templates dir overrides the packaged one file by
file), the data block and the prompt hash. Catalog- and user-controlled strings only ever reach the model
inside ``<data>…</data>`` as JSON with ``<``, ``>`` and ``&`` escaped, so a product title cannot close the
block or pose as an instruction; the system message says the data is not instructions.
Does not call the model (``copywriter``) or check its output (``guardrails``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from marketing_gen.channels.base import ChannelSpec, get_channel
from marketing_gen.channels.sms import opt_out_line
from marketing_gen.config import Settings, get_settings
from marketing_gen.contexts import UserContext
from marketing_gen.errors import InvalidRequest
from marketing_gen.guardrails.money import format_day, format_pct, format_price
from marketing_gen.llm.sampling import ChatMessage
from marketing_gen.titles import display_title, fit, short_names, shorten

ROLE_MARKER = re.compile(r"^@@(SYSTEM|USER|ASSISTANT)@@$", re.MULTILINE)
"""A line ``@@USER@@`` / ``@@ASSISTANT@@`` / ``@@SYSTEM@@`` in a prompt template starts a new chat message (text
before the first marker is the system message). Few-shot turns are an example user + assistant pair."""

LANGUAGES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "nl": "Dutch",
    "it": "Italian",
    "pt": "Portuguese",
    "sv": "Swedish",
    "da": "Danish",
    "no": "Norwegian",
    "fi": "Finnish",
    "pl": "Polish",
    "ja": "Japanese",
}
MAX_ITEMS = 3
"""Items a prompt shows (the model is small; more items make longer, vaguer copy)."""


@lru_cache(maxsize=8)
def _environment(dirs: tuple[Path, ...], autoescape: bool, sandboxed: bool) -> jinja2.Environment:
    # User templates are not ours: a plain Environment lets `{{ cycler.__init__.__globals__.os.popen(…) }}` run
    # commands. The sandbox refuses such attribute access (jinja2.sandbox.SecurityError) and unsafe callables.
    env_class = SandboxedEnvironment if sandboxed else jinja2.Environment
    env = env_class(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["price"] = lambda item, locale=None: format_price(item.price, item.currency, locale)
    env.filters["pct"] = format_pct
    env.filters["display_title"] = display_title
    env.filters["short"] = shorten
    env.filters["fit"] = fit
    return env


def template_environment(settings: Settings | None = None, *, autoescape: bool = False) -> jinja2.Environment:
    """The Jinja2 environment: ``user_templates_dir`` first (when set), then ``templates_dir``; sandboxed
    (``jinja2.sandbox.SandboxedEnvironment``) whenever a user templates dir is set."""
    settings = settings or get_settings()
    dirs = tuple(d for d in (settings.user_templates_dir, settings.templates_dir) if d is not None)
    return _environment(dirs, autoescape, settings.user_templates_dir is not None)


def language_of(locale: str) -> str:
    """``de-DE`` → ``German``; unknown locales → ``English``."""
    code = (locale or "en").replace("_", "-").split("-")[0].lower()
    return LANGUAGES.get(code, "English")


def build_data(context: UserContext, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The facts the model may use, as plain JSON-able data (trimmed: ≤ 3 items, short titles and features)."""
    offer = context.offer
    offer_parts = [offer.text.strip()] if offer.text.strip() else []
    if offer.discount_pct and format_pct(offer.discount_pct) not in offer.text:
        offer_parts.append(f"{format_pct(offer.discount_pct)} off")
    if offer.code and offer.code.lower() not in offer.text.lower():  # "…10% off with code SPRING10": said once
        offer_parts.append(f"code {offer.code}")
    if offer.ends_at:
        offer_parts.append(f"ends {format_day(offer.ends_at, context.locale)}")
    data: dict[str, Any] = {
        "customer": {
            "first_name": (context.first_name or "").strip() or None,
            "interests": [shorten(i, 40) for i in context.interests[:3]],
        },
        "products": [
            {
                "name": shorten(display_title(i.title), 80),
                "short": _short_if_shorter(i.title, short),
                "price": format_price(i.price, i.currency, context.locale) or None,
                "category": shorten(i.category, 40) if i.category else None,
                "features": [shorten(f, 60) for f in i.features[:2]],
            }
            for i, short in zip(
                context.items[:MAX_ITEMS], short_names([i.title for i in context.items[:MAX_ITEMS]]), strict=True
            )
        ],
        "offer": "; ".join(offer_parts) or "none",
    }
    if context.last_purchase:
        data["customer"]["last_purchase"] = shorten(display_title(context.last_purchase), 60)
    data.update(extra or {})
    return _compact(data)


def _short_if_shorter(title: str, short: str) -> str | None:
    return short if short and short != display_title(title) else None


def _compact(value: Any) -> Any:
    """Drop empty values (None, "", [], {}) so the prompt spends no tokens on them."""
    if isinstance(value, dict):
        items = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def data_block(data: Mapping[str, Any]) -> str:
    """``<data>{json}</data>`` with ``<``, ``>`` and ``&`` escaped inside the JSON (cannot close the block)."""
    text = json.dumps(data, ensure_ascii=False, separators=(", ", ": "))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"<data>{text}</data>"


def sms_budget(context: UserContext, spec: ChannelSpec) -> int:
    """Characters the model may write in an SMS: the segment budget less the brand prefix and the opt-out line
    that code adds (``channels.sms.finalize_text``), between 40 and 120."""
    overhead = len(context.brand.name.strip()) + 2 + len(opt_out_line(context.locale)) + 2
    return max(40, min(120, (160 if spec.max_segments == 1 else 153 * spec.max_segments) - overhead))


def for_channel(context: UserContext, spec: ChannelSpec) -> UserContext:
    """The context as a channel may see it: an ad (written for an audience, ``per_user=False``) is not told the
    customer's name, in training, evaluation and serving alike (ads by theme never had one)."""
    return context if spec.per_user or context.first_name is None else replace(context, first_name=None)


def build_prompt(
    context: UserContext,
    channel: str | ChannelSpec,
    *,
    variant: int = 0,
    settings: Settings | None = None,
    extra: Mapping[str, Any] | None = None,
    few_shot: bool = True,
    slots: bool = False,
) -> list[ChatMessage]:
    """System (voice, rules, tagged format) + the example turn + user (the data block) messages.

    ``few_shot=False`` leaves the example turn out: fine-tuned models learnt the format from their training
    rows, which are rendered this way (train = serve), and the example would only cost ~150 tokens a prompt.
    ``slots=True``: the prompt of models trained with slots (``marketing_gen.slots``): no rule or slot lines in the
    system message, the rows taught them (``llm.model_dir.PROMPT_FORMAT`` 2).
    """
    spec = get_channel(channel)
    if not spec.prompt_template:
        raise InvalidRequest(f"channel {spec.name!r} has no prompt template: it is written by marketing_gen.replies")
    context = for_channel(context, spec)
    brand = context.brand
    variables = {
        "channel": spec,
        "brand": brand,
        "language": language_of(context.locale),
        "first_name": (context.first_name or "").strip(),
        "has_discount": context.offer.has_discount,
        "has_end_date": context.offer.ends_at is not None,
        "variant": variant,
        "sms_budget": sms_budget(context, spec),
        "slots": slots,
        "has_code": bool(context.offer.code),
        "data": data_block(build_data(context, extra)),
    }
    template = template_environment(settings).get_template(spec.prompt_template)
    messages = split_messages(template.render(**variables))
    if not messages or messages[-1]["role"] != "user":
        raise jinja2.TemplateError(f"{spec.prompt_template} must end with a @@USER@@ message holding the data")
    if not few_shot:
        messages = [messages[0], messages[-1]] if messages[0]["role"] == "system" else [messages[-1]]
    return messages


def split_messages(text: str) -> list[ChatMessage]:
    """Rendered template text → chat messages at the ``@@ROLE@@`` marker lines (empty messages dropped)."""
    parts = ROLE_MARKER.split(text)
    messages = [{"role": "system", "content": parts[0].strip()}]
    turns = zip(parts[1::2], parts[2::2], strict=True)
    messages += [{"role": role.lower(), "content": body.strip()} for role, body in turns]
    return [m for m in messages if m["content"]]


def prompt_hash(messages: list[ChatMessage] | str) -> str:
    """SHA-256 hex of the prompt (stable across runs; stored on the draft)."""
    payload = json.dumps(messages, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
