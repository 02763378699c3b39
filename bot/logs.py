"""Logging set-up that keeps secrets out: chat libraries log URLs that carry tokens."""

from __future__ import annotations

import logging
import re

# python-telegram-bot's request URLs embed the bot token (…/bot<TOKEN>/sendMessage).
_TOKEN = re.compile(r"bot\d{3,}:[A-Za-z0-9_-]{20,}|xox[abpr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")


class RedactSecrets(logging.Filter):
    """Last line of defence: mask anything shaped like a Telegram or Slack token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN.search(message):
            record.msg = _TOKEN.sub("[redacted]", message)
            record.args = None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and PTB's carry the token.
    for noisy in ("httpx", "httpcore", "telegram.ext.ExtBot", "telegram.Bot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
