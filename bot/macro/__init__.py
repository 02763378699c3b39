"""Scheduled macro releases: the release calendar, the history of prints, what a print
means (streaks, surprises), a chat's macro filters, and the reminder/print alerts.

May import: bot.models, bot.config, bot.clock, bot.fmt, bot.state, bot.sources, bot.chat,
bot.rules (the alerting service that dispatches).
"""
