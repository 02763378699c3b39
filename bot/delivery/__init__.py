"""Delivery: alert records and their resumable fan-out to chats (fanout), the outbox
(every (alert, chat) written to a Redis stream before it is sent), the delivery loop that
drains it, and the pacing to each platform's rate limits.

May import: bot.models, bot.config, bot.clock, bot.state, bot.ops, bot.transports.base.
"""
