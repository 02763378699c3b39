"""Price rules and their engine: the grammar a trader types, the book that finds which
rules a value crosses, the engine that turns quotes into crossings, the alerts those
crossings read as, and the service that keeps the engine's state in Redis and hands
alerts on (to the chat gate, then the outbox).

May import: bot.models, bot.config, bot.clock, bot.fmt, bot.market, bot.state,
bot.delivery.deliverer, bot.chat, bot.ops.
"""
