"""The webhook endpoints operators configure, parsed and checked.

Owns the settings' grammar and the `Endpoint` each ``webhook:<name>`` chat stands for:

- ``WEBHOOKS``: comma-separated ``NAME=URL`` entries, each optionally followed by
  ``;format=json|discord``, ``;families=moves+macro`` (what it is subscribed to; default
  ``WEBHOOK_FAMILIES``; empty: none, e.g. an endpoint only in ``OPERATOR_CHATS``) and
  ``;group=SECONDS`` (the noise gate's grouping window for it, 0-300; default 0: one
  POST per alert). NAME is 1-64 of ``A-Z a-z 0-9 _`` (the chat key
  is ``webhook:NAME``); URL is http(s), with no ``,`` or ``;`` in it (percent-encode
  them). A URL may carry a credential (Discord's do), so the whole setting is a secret:
  never logged, never echoed in an error.
- ``WEBHOOK_SECRET``: the key every POST is signed with (at least 16 characters);
  ``WEBHOOK_SECRETS``: ``NAME=SECRET,…``, one endpoint's own key instead. A ``json``
  endpoint needs one or the other; a ``discord`` endpoint is signed when it has one
  (Discord ignores the headers).
- ``WEBHOOK_FAMILIES``: the families an endpoint without ``families=`` is subscribed to.

bot.config calls these parsers from its validators, so this module imports only the
standard library and bot.models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from bot.models import SUBSCRIBABLE, Family

if TYPE_CHECKING:
    from bot.config import Settings

NAME = re.compile(r"[A-Za-z0-9_]{1,64}", re.ASCII)
FORMATS = ("json", "discord")
MIN_SECRET_CHARS = 16
MAX_GROUP_S = 300
DEFAULT_FAMILIES = (Family.MOVES, Family.SPREADS, Family.HEADLINES, Family.MACRO)  # as /start
Format = Literal["json", "discord"]
USAGE = "comma-separated NAME=URL[;format=json|discord][;families=a+b][;group=SECONDS]"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One configured receiver: the chat ``webhook:<name>``."""

    name: str
    url: str = field(repr=False)  # may carry a credential: never logged
    format: Format = "json"
    families: tuple[Family, ...] | None = None  # None: WEBHOOK_FAMILIES
    group_s: int = 0
    secret: bytes | None = field(default=None, repr=False)

    @property
    def chat(self) -> str:
        return f"webhook:{self.name}"


def parse_families(raw: str | list[str] | tuple[str, ...], sep: str = ",") -> tuple[Family, ...]:
    """'moves,macro' -> (MOVES, MACRO); every family but ops may be named."""
    words = raw.split(sep) if isinstance(raw, str) else list(raw)
    known = {f.value: f for f in SUBSCRIBABLE}
    out: list[Family] = []
    for word in (w.strip().lower() for w in words):
        if not word:
            continue
        if word not in known:
            raise ValueError(f"unknown family {word!r}: use {', '.join(known)}")
        if known[word] not in out:
            out.append(known[word])
    return tuple(out)


def _url_problem(url: str) -> str | None:
    if not url or any(c.isspace() for c in url):
        return "an http(s) URL with no spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "an http(s) URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "an http(s) URL with a host"
    return None


def parse_webhooks(raw: str) -> dict[str, Endpoint]:
    """WEBHOOKS as endpoints by name (no secrets yet). A ValueError's message names the
    endpoint and never holds its URL."""
    out: dict[str, Endpoint] = {}
    for n, entry in enumerate((e.strip() for e in raw.split(",")), 1):
        if not entry:
            continue
        head, *options = entry.split(";")
        name, sep, url = head.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not NAME.fullmatch(name):
            raise ValueError(f"entry {n}: {USAGE}; NAME is 1-64 of A-Z a-z 0-9 _")
        if name in out:
            raise ValueError(f"{name} is named twice")
        problem = _url_problem(url)
        if problem:
            raise ValueError(f"{name}: the URL must be {problem} (the value is not shown)")
        fmt: Format = "json"
        families: tuple[Family, ...] | None = None
        group_s = 0
        for option in options:
            key, sep, value = (part.strip() for part in option.partition("="))
            if not sep:
                raise ValueError(f"{name}: option {key!r} needs a value, e.g. format=discord")
            if key == "format":
                if value not in FORMATS:
                    raise ValueError(f"{name}: format is json or discord, not {value!r}")
                fmt = "discord" if value == "discord" else "json"
            elif key == "families":
                try:
                    families = parse_families(value, sep="+")
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
            elif key == "group":
                if not value.isascii() or not value.isdigit() or int(value) > MAX_GROUP_S:
                    raise ValueError(f"{name}: group is 0 to {MAX_GROUP_S} seconds")
                group_s = int(value)
            else:
                raise ValueError(f"{name}: unknown option {key!r} (format, families, group)")
        out[name] = Endpoint(name, url, fmt, families, group_s)
    return out


def parse_secrets(raw: str) -> dict[str, str]:
    """WEBHOOK_SECRETS as secrets by endpoint name; errors never hold a secret."""
    out: dict[str, str] = {}
    for n, entry in enumerate((e.strip() for e in raw.split(",")), 1):
        if not entry:
            continue
        name, sep, secret = (part.strip() for part in entry.partition("="))
        if not sep or not NAME.fullmatch(name):
            raise ValueError(f"entry {n}: comma-separated NAME=SECRET pairs")
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"{name}: a secret of at least {MIN_SECRET_CHARS} characters")
        out[name] = secret
    return out


def check_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"at least {MIN_SECRET_CHARS} characters")
    return secret


def check_signed(
    endpoints: dict[str, Endpoint], default_secret: str | None, secrets: dict[str, str]
) -> None:
    """Every secret names an endpoint; every json endpoint has a key to sign with."""
    for name in secrets:
        if name not in endpoints:
            raise ValueError(f"{name} is not an endpoint in WEBHOOKS")
    for name, endpoint in endpoints.items():
        if endpoint.format == "json" and not default_secret and name not in secrets:
            raise ValueError(f"{name} has no signing secret: set WEBHOOK_SECRET, or {name}=… here")


def endpoints(settings: Settings) -> dict[str, Endpoint]:
    """The configured endpoints, each with its key and families (settings validated)."""
    if settings.webhooks is None:
        return {}
    found = parse_webhooks(settings.webhooks.get_secret_value())
    own = parse_secrets(
        settings.webhook_secrets.get_secret_value() if settings.webhook_secrets else ""
    )
    shared = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    out = {}
    for name, endpoint in found.items():
        secret = own.get(name, shared)
        families = endpoint.families
        out[name] = replace(
            endpoint,
            families=tuple(settings.webhook_families) if families is None else families,
            secret=secret.encode() if secret else None,
        )
    return out
