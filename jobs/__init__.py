"""Watchers: plain asyncio jobs on an injected clock that turn sources into events."""
