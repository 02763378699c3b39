"""Logging set-up that keeps secrets out: chat libraries log URLs that carry tokens."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

# python-telegram-bot's request URLs embed the bot token (…/bot<TOKEN>/sendMessage);
# a bare Telegram token is <bot id>:<35 url-safe characters>.
_TOKEN = re.compile(r"(?:bot)?\d{3,}:[A-Za-z0-9_-]{20,}|xox[abpr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")
# Loggers that write request URLs or request parameters (the token; setWebhook's
# secret_token) at INFO or DEBUG: httpx logs every request URL at INFO, PTB's bots log
# their base URL and each call's parameters at DEBUG.
SECRET_BEARING_LOGGERS = ("httpx", "httpcore", "telegram.ext.ExtBot", "telegram.Bot")


class RedactSecrets(logging.Filter):
    """Last line of defence: mask anything shaped like a Telegram or Slack token, in the
    message and in the traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN.search(message):
            record.msg = _TOKEN.sub("[redacted]", message)
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _TOKEN.sub("[redacted]", record.exc_text)
        return True


def quiet_secret_loggers() -> None:
    for name in SECRET_BEARING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted, not the stream it was
    at set-up: a handler bound to a stream that was later closed (a redirected or captured
    stderr) turns every log line into a 'Logging error' with a full stack dump."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def setup_logging(level: str = "INFO") -> None:
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_secret_loggers()
