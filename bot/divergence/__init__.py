"""/divergence: the metrics (returns, spreads, z-scores, correlation, the economy pulse,
the decoupling score), the snapshot as of the clock, its chart and what to watch next.

May import: bot.models, bot.config, bot.clock, bot.fmt, bot.market, bot.macro,
bot.headlines, bot.state, bot.chat.
"""
