"""/backtest: a rule replayed over daily closes through the live engine (`replay`), what
followed each fire (`stats`), its chart (`chart`) and the closes it reads, fetched once
from the providers' daily history and kept in Redis (`history`; MARGIN's paged from the
datacenter's report, `margin_history`).

May import: bot.models, bot.config, bot.clock, bot.fmt, bot.rules, bot.divergence (its
chart style and lock), bot.market, bot.sources, bot.state, bot.ops.
"""
