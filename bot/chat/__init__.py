"""A chat's own preferences and what became of its alerts: time zone, quiet hours,
notification levels and grouping, forum topics, flap protection (the gate between the
alerting service and the outbox), and the /history record.

May import: bot.models, bot.config, bot.clock, bot.fmt, bot.state, bot.delivery.
"""
