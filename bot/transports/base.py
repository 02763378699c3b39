"""What a transport promises the outbox: send a message and classify how it went."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.models import ChatRef, Message


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


class Sender(Protocol):
    platform: str

    async def send(self, chat: ChatRef, message: Message) -> Delivery: ...
