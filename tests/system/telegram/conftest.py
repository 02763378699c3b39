"""The Telegram fixtures of tests/wire/transports/telegram/conftest.py for the whole-bot
Telegram tests: the fake Bot API, a core and the transport on the real Redis, and the log
guard on every test (autouse)."""

from tests.wire.transports.telegram.conftest import (  # noqa: F401 - fixtures, found by name
    core,
    fake_tg,
    log_guard,
    settings,
    transport,
)
