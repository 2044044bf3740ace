"""Which module builds a channel of each configured kind."""

from __future__ import annotations

from bot.channels.base import Channel, ChannelContext
from bot.config import (
    ChannelConfig,
    MailboxConfig,
    PlaygroundConfig,
    TelegramConfig,
    WhatsAppConfig,
)


def build_channel(config: ChannelConfig, context: ChannelContext) -> Channel:
    """Build the channel a configuration entry describes (its library loads only if used)."""
    match config:
        case TelegramConfig():
            from bot.channels.telegram import TelegramChannel

            return TelegramChannel(context, config=config)
        case PlaygroundConfig():
            from bot.channels.playground import PlaygroundChannel

            return PlaygroundChannel(context, config=config)
        case WhatsAppConfig():
            from bot.channels.whatsapp import WhatsAppChannel

            return WhatsAppChannel(context, config=config)
        case MailboxConfig():
            from bot.channels.mailbox import MailboxChannel

            return MailboxChannel(context, config=config)
    raise ValueError(f"no channel of kind {config.kind!r}")  # pragma: no cover - config refuses
