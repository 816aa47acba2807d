"""Channel specs: what a channel is — its copy's fields and hard limits, its templates, its render target, the
consent flag it needs, where its messages go — and the lookups every other module reads them through.

Owns the shape of copy per channel and the per-channel facts (``get_channel``, ``all_channels``,
``marketing_channels``, ``consent_flags``); the list of channels itself is ``channels.REGISTRY``. Does not check
copy (``guardrails``), prompt (``prompts``), render (``render``) or apply consent (``campaigns.eligibility``); those
read the spec. Lengths are counted as the platform counts them: Unicode code points, except SMS, whose limit is in
segments (see ``channels.sms``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from marketing_gen.errors import InvalidRequest

FieldKind = Literal["str", "list"]
AddressKind = Literal["email", "phone", "device"]


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
    aliases: tuple[str, ...] = ()
    """Other tags read as this field (the tags older models were trained to write)."""
    numbered: bool = False
    """List fields: the model writes ``TAG 1: …``, ``TAG 2: …``, so each line knows its place (an RSA's second
    description is about the product, its first about the offer or brand; unnumbered, greedy decoding wrote the
    first one twice)."""

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
    """Under the templates dir, e.g. ``prompts/email.j2``; empty: the copywriter does not write this channel
    (social replies are written by ``marketing_gen.replies`` from its own prompts)."""
    fallback_template: str
    """Deterministic copy used when the model's attempts all fail, e.g. ``fallback/email.j2``; empty with
    ``prompt_template``."""
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
    consent_flag: str | None = None
    """The consent a message on this channel needs: the ``users.consent_<flag>`` column (both ads channels share
    ``ads``). None: no marketing consent needed (a social reply answers the person who wrote). A channel with a
    flag of its own brings a migration for its columns."""
    address: AddressKind | None = None
    """Where a message goes: the user's ``email`` or ``phone``, or their push ``device``s (a user without one gets
    no draft); None: to no one person (ads target audiences, replies answer a thread)."""
    per_user: bool = True
    """False: written per theme for an audience (``marketing_gen.ads``), never as per-user drafts."""
    label: str = ""
    """What a recipient unsubscribes from, in English (``marketing WhatsApp messages``), where the legal lines of
    the recipient's language set no ``label_<channel>``; empty: the consent flag's line (``label_ads``)."""
    headline_field: str = ""
    """The field a reader sees first (email ``subject``, push ``title`` …): what ``campaign status`` compares
    across users for its duplicate-headline rate; empty: not compared."""

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
        """Prompt tag → field name, for tags that differ from the field name, and each field's ``aliases``
        (a Meta ad's ``TEXT`` → ``primary_text``)."""
        tags = {f.tag: f.name for f in self.fields if f.tag and f.tag.lower() != f.name}
        return tags | {alias: f.name for f in self.fields for alias in f.aliases}


def get_channel(name: str | ChannelSpec) -> ChannelSpec:
    """The spec for a channel name (a spec passes through); InvalidRequest lists the valid names."""
    if isinstance(name, ChannelSpec):
        return name
    specs = all_channels()
    if name not in specs:
        raise InvalidRequest(f"unknown channel {name!r}; valid channels: {', '.join(specs)}")
    return specs[name]


def all_channels() -> Mapping[str, ChannelSpec]:
    """Every channel spec by name, in registry order (read-only)."""
    from marketing_gen.channels import REGISTRY  # the package imports this module first: read it at call time

    return MappingProxyType(REGISTRY)


def copy_channels() -> tuple[str, ...]:
    """Channels the copywriter writes (those with a prompt template), in registry order."""
    return tuple(name for name, spec in all_channels().items() if spec.prompt_template)


def marketing_channels() -> tuple[str, ...]:
    """Channels that send marketing to people (those with a consent flag), in registry order."""
    return tuple(name for name, spec in all_channels().items() if spec.consent_flag is not None)


def consent_flags() -> tuple[str, ...]:
    """Every consent flag a channel needs (``email``, ``ads``, ``sms``, ``push``), each once, in registry order."""
    return tuple(dict.fromkeys(s.consent_flag for s in all_channels().values() if s.consent_flag is not None))
