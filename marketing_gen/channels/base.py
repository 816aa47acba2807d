"""Channel specs: the fields a channel's copy has, their hard limits, and which templates serve it.

Owns the shape of copy per channel. Does not check copy (``guardrails``), prompt (``prompts``) or render
(``render``); those read the spec. Lengths are counted as the platform counts them: Unicode code points,
except SMS, whose limit is in segments (see ``channels.sms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from marketing_gen.errors import InvalidRequest

FieldKind = Literal["str", "list"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a channel's copy."""

    name: str
    """Key in the draft's ``fields`` dict (lower case, e.g. ``subject``, ``headlines``)."""
    kind: FieldKind = "str"
    """``str``: one text; ``list``: several texts (e.g. RSA headlines)."""
    max_len: int | None = None
    """Hard limit per text in code points (None: no per-text limit, e.g. SMS counts segments instead)."""
    soft_min_len: int | None = None
    """Shorter than this is a soft finding (e.g. an email preheader under 35 characters)."""
    min_count: int = 1
    """Fewest texts for a list field (1 for a required str field)."""
    max_count: int = 1
    """Most texts for a list field."""
    required: bool = True
    """Missing or empty is a hard finding."""
    tag: str = ""
    """The tag the model writes, one per line (``SUBJECT: …``; list fields repeat it: ``HEADLINE: …``)."""
    hint: str = ""
    """What the field is, in a few words, for the prompt."""

    @property
    def prompt_tag(self) -> str:
        """The tag in the tagged output format (defaults to the upper-cased field name)."""
        return self.tag or self.name.upper()


@dataclass(frozen=True)
class ChannelSpec:
    """A channel: its fields and limits, its templates, how it is rendered."""

    name: str
    fields: tuple[FieldSpec, ...]
    prompt_template: str
    """Under the templates dir, e.g. ``prompts/email.j2``."""
    fallback_template: str
    """Deterministic copy used when the model's attempts all fail, e.g. ``fallback/email.j2``."""
    render_target: str
    """What ``render`` builds: ``email_mime``, ``google_ads_csv``, ``meta_ad``, ``sms``, ``push``, ``social_reply``."""
    description: str
    """What the model is asked to write, for the prompt's first line."""
    max_new_tokens: int = 96
    """Generation budget for one copy."""
    max_segments: int = 1
    """SMS only: most message segments allowed."""
    max_payload_bytes: int = 4096
    """Push only: APNs/FCM payload limit in bytes."""

    def field(self, name: str) -> FieldSpec:
        """The spec of one field (InvalidRequest when the channel has no such field)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise InvalidRequest(f"channel {self.name!r} has no field {name!r}; fields: {', '.join(self.field_names)}")

    @property
    def field_names(self) -> tuple[str, ...]:
        """Field names in prompt order."""
        return tuple(f.name for f in self.fields)

    def parse_spec(self) -> dict[str, FieldKind]:
        """Field name → ``str`` | ``list``: the schema ``llm.parse.parse_fields`` extracts."""
        return {f.name: f.kind for f in self.fields}

    def parse_aliases(self) -> dict[str, str]:
        """Prompt tag → field name, for tags that differ from the field name (``TEXT`` → ``primary_text``)."""
        return {f.tag: f.name for f in self.fields if f.tag and f.tag.lower() != f.name}


def get_channel(name: str | ChannelSpec) -> ChannelSpec:
    """The spec for a channel name (a spec passes through); InvalidRequest lists the valid names."""
    if isinstance(name, ChannelSpec):
        return name
    specs = all_channels()
    if name not in specs:
        raise InvalidRequest(f"unknown channel {name!r}; valid channels: {', '.join(specs)}")
    return specs[name]


def all_channels() -> dict[str, ChannelSpec]:
    """Every channel spec by name, in ``contexts.CHANNELS`` order."""
    from marketing_gen.channels import email, google_ads_rsa, meta_ad, push, sms, social_reply

    specs = (email.SPEC, google_ads_rsa.SPEC, meta_ad.SPEC, sms.SPEC, push.SPEC, social_reply.SPEC)
    return {s.name: s for s in specs}
