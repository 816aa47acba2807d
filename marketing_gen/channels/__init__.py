"""Channels: one module per channel (its ``SPEC``: fields, limits, templates, consent flag, address, render
target), and ``REGISTRY``, the one list of channels every other module reads (through ``channels.base``).

A new channel is its module, its two templates (``templates/prompts/<name>.j2``, ``templates/fallback/<name>.j2``)
and one line below; a consent flag of its own also needs a migration with its ``users.consent_<flag>`` columns and
the ``User`` model's columns (the users importer reads ``<flag>_consent`` for every registered flag; docs/channels.md).
"""

from marketing_gen.channels import email, google_ads_rsa, meta_ad, push, sms, social_reply
from marketing_gen.channels.base import (
    ChannelSpec,
    FieldSpec,
    all_channels,
    consent_flags,
    copy_channels,
    get_channel,
    marketing_channels,
)

REGISTRY: dict[str, ChannelSpec] = {
    spec.name: spec
    for spec in (
        email.SPEC,
        google_ads_rsa.SPEC,
        meta_ad.SPEC,
        sms.SPEC,
        push.SPEC,
        social_reply.SPEC,
    )
}
"""Every channel by name. Read it through ``all_channels`` / ``get_channel``; only this line list changes."""

__all__ = [
    "REGISTRY",
    "ChannelSpec",
    "FieldSpec",
    "all_channels",
    "consent_flags",
    "copy_channels",
    "get_channel",
    "marketing_channels",
]
