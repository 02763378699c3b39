"""The bot's operators: who they are (OPERATORS) and how they are told (OPERATOR_CHATS).

Operators are the people running the bot, named by platform user id
(``telegram:12345``, ``slack:U0ABCDEF``). Only they may change what every chat shares
(market calendars here). A notice to them is an alert of the ``ops`` family raised for the
operator chats through the same pipeline as any alert (record, fan-out, outbox, retries,
/status), at most once per notice key across restarts and replicas: the key
(``divbot:ops:told:{key}``) is claimed in the same atomic write as the notice's record.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from redis.asyncio import Redis

from bot.clock import Clock
from bot.cmdref import for_platform
from bot.config import Settings
from bot.models import Alert, Family, Message
from bot.state import keys
from bot.state.atomic import Batch

log = logging.getLogger(__name__)
TOLD_TTL_S = 400 * 86400  # longer than any calendar horizon warning is relevant
NOT_OPERATOR = (
    "Only the bot's operators can change market calendars "
    "(ask whoever runs the bot to add your id to OPERATORS)."
)


class Raiser(Protocol):
    """How a notice is raised (bot.rules.service.AlertService.raise_alert)."""

    async def __call__(
        self, alert: Alert, *, audience: Iterable[str] | None = ..., batch: Batch | None = ...
    ) -> list[str] | None: ...


class Operators:
    def __init__(self, settings: Settings, redis: Redis, clock: Clock, raise_alert: Raiser) -> None:
        self.ids = frozenset(settings.operators)
        self.chats = tuple(settings.operator_chats)
        # decode_responses=True: replies are str, which redis-py's annotations can't say.
        self.redis: Any = redis
        self.clock = clock
        self.raise_alert = raise_alert

    def is_operator(self, platform: str, user: str) -> bool:
        return f"{platform}:{user}" in self.ids

    async def tell(self, what: str, title: str, *lines: str, at: datetime | None = None) -> bool:
        """Tell every operator chat once per `what` (a stable key); False if told before."""
        told = keys.ops_told(what)
        if await self.redis.exists(told):
            return False
        now = at or self.clock.now()
        log.warning("operators: %s — %s", title, for_platform(" ".join(lines), "console"))
        alert = Alert(
            id=hashlib.sha1(f"ops|{what}".encode()).hexdigest()[:16],  # noqa: S324
            family=Family.OPS,
            message=Message(title=title, lines=list(lines), at=now, source="divbot"),
            at=now,
            severity="critical",  # through quiet hours: operators act on these
        )
        if not self.chats:
            log.warning("operators: no OPERATOR_CHATS set; the notice above is only logged")
        # Marked told in the same atomic write as the notice's record: both or neither.
        batch = Batch()
        batch.claim(told, TOLD_TTL_S)
        return await self.raise_alert(alert, audience=self.chats, batch=batch) is not None
