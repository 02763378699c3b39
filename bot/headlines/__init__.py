"""Regulatory and market headlines: the story model, the classifier, dedup and per-chat
preferences. Fetching lives in bot.sources.headline_feeds; the watcher in jobs.headlines."""
