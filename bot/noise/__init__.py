"""Noise control: what reaches a chat, when, and how loudly.

quiet (quiet-hours arithmetic), prefs (a chat's levels, grouping window, quiet hours and
forum topics), history (what fired in a chat and what became of it), gate (the stage
between the alerting service and the outbox, and the routing applied at send time).
"""
