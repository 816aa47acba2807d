"""Legal lines in the recipient's language: email footer, unsubscribe page, push and ads disclaimers.

Owns loading ``templates/output/legal/<language>.j2`` (each sets one ``lines`` dict; a store may override a
file through ``user_templates_dir``) with English as the fallback, per file and per key, and filling the
``{brand}`` / ``{label}`` / ``{address}`` placeholders. The SMS opt-out line is not here: carriers act on its
keyword, so it is a channel rule and lives with the other SMS rules (``channels.sms.OPT_OUT_LINES``), where
the guardrails can check it without templates. Does not render messages (``render``).
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2

from marketing_gen.channels.base import all_channels
from marketing_gen.channels.sms import language_code, opt_out_line
from marketing_gen.config import Settings

LEGAL_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "nl", "it", "pt", "pl", "sv", "ja")
"""Languages with their own legal lines (others get English)."""

KEYS: tuple[str, ...] = (
    "email_reason",
    "email_unsubscribe",
    "page_confirm_title",
    "page_confirm",
    "page_button",
    "page_done_title",
    "page_done",
    "your_address",
    "label_email",
    "label_sms",
    "label_push",
    "label_ads",
    "push_disclaimer",
    "ads_disclaimer",
)
"""Every line a legal template sets."""

PUSH_DISCLAIMER_MAX = 40
"""A push disclaimer fits a notification title line (the shortest visible push field)."""
ADS_DISCLAIMER_MAX = 30
"""An ads disclaimer fits Meta's link description (30), the shortest ad text field."""


@dataclass(frozen=True)
class LegalLines:
    """The legal lines of one language, placeholders still in braces (see ``fill``)."""

    language: str
    """The language the lines are in (``en`` when the recipient's language has no file)."""
    lines: dict[str, str]

    def fill(self, key: str, **values: str) -> str:
        """One line with its placeholders filled (``fill("email_reason", brand="Acme")``)."""
        return self.lines[key].format(**values)

    def label(self, channel: str) -> str:
        """What the recipient unsubscribes from, in words (``marketing emails``; ads channels share one): the line
        ``label_<channel>``, else the channel's own English ``label``, else the line ``label_<consent flag>``."""
        if f"label_{channel}" in self.lines:
            return self.lines[f"label_{channel}"]
        spec = all_channels().get(channel)
        if spec is not None and spec.label:
            return spec.label
        flag = spec.consent_flag if spec is not None else None
        return self.lines.get(f"label_{flag}") or self.lines["label_ads"]

    @property
    def sms_opt_out(self) -> str:
        """The SMS opt-out line with the keyword carriers expect in this language."""
        return opt_out_line(self.language)


def _label_keys() -> set[str]:
    """``label_<name>`` for every channel and consent flag: a legal file may name any of them."""
    specs = all_channels()
    return {f"label_{name}" for name in (*specs, *(s.consent_flag for s in specs.values() if s.consent_flag))}


def _load(env: jinja2.Environment, language: str) -> dict[str, str]:
    try:
        module = env.get_template(f"output/legal/{language}.j2").module
    except jinja2.TemplateNotFound:
        return {}
    lines = dict(module.lines)  # type: ignore[attr-defined]
    unknown = set(lines) - set(KEYS) - _label_keys()
    if unknown:
        raise jinja2.TemplateError(f"output/legal/{language}.j2 sets unknown keys: {', '.join(sorted(unknown))}")
    return {k: str(v) for k, v in lines.items()}


def legal_lines(locale: str | None, settings: Settings | None = None) -> LegalLines:
    """The legal lines for a locale (``de-AT`` → German); missing files and keys fall back to English."""
    from marketing_gen.prompts import template_environment

    env = template_environment(settings)
    english = _load(env, "en")
    missing = set(KEYS) - set(english)
    if missing:
        raise jinja2.TemplateError(f"output/legal/en.j2 must set every key; missing: {', '.join(sorted(missing))}")
    language = language_code(locale)
    own = _load(env, language) if language != "en" else {}
    return LegalLines(language=language if own else "en", lines={**english, **own})
