"""Data providers: one module per provider, each speaking that provider's wire format."""
