"""State on Redis: the key schema (keys), typed access (store), JSON shapes (codec),
opening a connection (connect), the watchers' leader lock (leader) and the one atomic,
fenced write an event and its alert's record make together (atomic).

May import: bot.models, bot.config, bot.clock. Nothing else: every package above reads
and writes Redis through here.
"""
