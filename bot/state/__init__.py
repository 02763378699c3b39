"""State on Redis: the key schema (keys), typed access (store), JSON shapes (codec),
opening a connection (connect) and the watchers' leader lock (leader).

May import: bot.models, bot.config, bot.clock. Nothing else: every package above reads
and writes Redis through here.
"""
