"""Running the bot: the operators (who may change shared data, where they are told),
sources' health for /status, and the Prometheus metrics.

May import: bot.models, bot.config, bot.clock, bot.state.
"""
