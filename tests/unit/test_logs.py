"""The log handler follows sys.stderr: set up under one stream (a test's capture, a
redirect) that is closed later, it still writes to the stream in use, instead of turning
every line into a 'Logging error' with a stack dump (which once slowed a test that logs
on every loop past its timeout)."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logs import setup_logging


def test_lines_go_to_the_current_stderr_after_the_first_one_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        first = io.StringIO()
        monkeypatch.setattr("sys.stderr", first)
        setup_logging("INFO")
        first.close()
        now = io.StringIO()
        monkeypatch.setattr("sys.stderr", now)
        logging.getLogger("divbot.test").warning("after the first stream closed")
        assert "after the first stream closed" in now.getvalue()
        assert "Logging error" not in now.getvalue()
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
