"""Market data: instruments, exchange calendars, validated quotes and window bases.

Owns what an instrument is (watchlist), when its market trades (sessions, closures,
operators' and the provider's days, horizons), which observations are believable
(validate, quote_feed: failover across sources; daily_fetch: the same for daily
history) and what a move is measured from (windows). May import: bot.models, bot.config,
bot.clock, bot.state, bot.ops, bot.sources.
"""
