"""What the delivery loop and a chat platform say to each other: `Sender` (send one
message to one chat), `Delivery` and its `Outcome` (how it went), and `send_entry` (one
outbox delivery handed to its sender, with the alert when the sender wants it).

Owned by delivery, implemented by each transport (bot.transports), so the outbox, the
delivery loop and the send-time routing never import a chat platform's package.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from bot.models import Alert, ChatRef, Message


class Outcome(StrEnum):
    SENT = "sent"  # the platform accepted it
    RETRY = "retry"  # try again later (429, network, 5xx)
    GONE = "gone"  # permanent: blocked, kicked, channel archived
    MOVED = "moved"  # the chat has a new id (Telegram group -> supergroup): resend there


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    reason: str = ""
    retry_after: float | None = None
    new_chat_id: str | None = None
    message_id: str | None = None
    duplicate: bool = False  # delivered before (a re-read after a crash): nothing was sent
    # The request may have reached the chat (timed out after sending): a retry may duplicate.
    uncertain: bool = False
    # GONE because the chat itself is gone (blocked, kicked, archived, endpoint 404/410):
    # the pipeline makes it dormant until /start (bot.chat.routing), the same on every
    # platform. Without it, GONE is about this one message (a 400): dead-lettered only.
    chat_gone: bool = False


class Sender(Protocol):
    platform: str

    async def send(self, chat: ChatRef, message: Message) -> Delivery: ...


@runtime_checkable
class AlertSender(Protocol):
    """A sender that also wants the alert behind the message (its id, family, severity,
    rule): the webhook transport puts them in its JSON. The outbox calls `send_alert`
    on such a sender, `send` on the others (`send_entry`)."""

    async def send_alert(self, chat: ChatRef, message: Message, alert: Alert) -> Delivery: ...


async def send_entry(sender: Sender, chat: ChatRef, message: Message, alert: Alert) -> Delivery:
    """Hand one outbox delivery to its sender, with the alert when the sender wants it."""
    if isinstance(sender, AlertSender):
        return await sender.send_alert(chat, message, alert)
    return await sender.send(chat, message)
