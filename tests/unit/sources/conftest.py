"""The calendars fixture of tests/wire/sources/conftest.py, for the parser properties."""

from tests.wire.sources.conftest import markets  # noqa: F401 - the calendars, built once, warnings hushed
