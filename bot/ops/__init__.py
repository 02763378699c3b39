"""Running the bot: the operators (who may change shared data, where they are told),
sources' health for /status, the Prometheus metrics, and the test-only crash points.

May import: bot.models, bot.config, bot.clock, bot.state.
"""
