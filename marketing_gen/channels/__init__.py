"""Channels: one module per channel with its fields, hard limits, templates and render target."""

from marketing_gen.channels.base import ChannelSpec, FieldSpec, all_channels, get_channel

__all__ = ["ChannelSpec", "FieldSpec", "all_channels", "get_channel"]
