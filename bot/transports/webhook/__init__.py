"""Outgoing webhooks: every alert for ``webhook:<name>`` POSTed to an operator's URL.

One folder, one transport (bot.transports.base.Transport), plugged into the live app by
one line in bot/app.py:

- ``config``: the endpoints operators configure (``WEBHOOKS``, ``WEBHOOK_SECRET``,
  ``WEBHOOK_SECRETS``, ``WEBHOOK_FAMILIES``), parsed and checked; bot.config validates
  the settings with it, so it imports nothing of the bot's but bot.models;
- ``schema``: the JSON an endpoint receives (schema 1, documented there and in the
  README) or, with ``format=discord``, Discord's ``content`` / ``embeds``;
- ``sender``: signing (HMAC-SHA256 over timestamp and body), the POST, and its answer
  classified for the outbox (SENT / RETRY / GONE);
- ``transport``: ``WebhookTransport``, its rate limits, and the endpoints'
  subscriptions, set from the configuration at start-up.

Nothing is imported here, so bot.config can import ``config`` without the rest.
"""
