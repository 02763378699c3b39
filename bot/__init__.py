"""Divergence Bot: alerts for traders of Chinese tech equities."""

__version__ = "0.1.0"
