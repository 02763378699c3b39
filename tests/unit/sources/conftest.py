"""The quote sources' calendars fixture (tests/sources/conftest.py), for the parser properties."""

from tests.sources.conftest import markets  # noqa: F401 - the calendars, built once, warnings hushed
