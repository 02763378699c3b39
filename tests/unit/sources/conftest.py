"""The quote sources' calendars fixture (tests/sources/conftest.py), for the parser properties."""

from tests.wire.sources.conftest import markets  # noqa: F401 - the calendars, built once, warnings hushed
