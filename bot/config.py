"""Settings: every knob, read once from the environment (and an optional `.env`).

Built once at start-up and passed in; nothing imports a global settings object. A bad
value stops the program with one line naming the variable (`exit_on_bad_config`).
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.models import CHAT_KEY, Family
from bot.transports.webhook import config as webhook_config

REPO_ROOT = Path(__file__).resolve().parent.parent
SECRET_FIELDS = frozenset(
    {
        "telegram_token",
        "telegram_webhook_secret",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "webhooks",  # endpoint URLs may carry a credential (Discord's do)
        "webhook_secret",
        "webhook_secrets",
    }
)


def default_replica_id() -> str:
    """hostname-pid: unique per running process, so each replica is its own consumer."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """All configuration. Environment variable names are the field names in upper case."""

    # An empty value (`TELEGRAM_TOKEN=` as in .env.example) means unset, not "".
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True
    )

    # state
    redis_url: str | None = Field(None, description="redis://… or unix://…; unset = embedded")
    # chat platforms
    telegram_token: SecretStr | None = None
    telegram_api_base: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    telegram_webhook_url: AnyHttpUrl | None = None
    telegram_webhook_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_base: AnyHttpUrl = AnyHttpUrl("https://slack.com/api/")
    slack_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # outgoing webhooks (bot/transports/webhook): "name=URL[;format=discord][;families=…],…"
    webhooks: SecretStr | None = None
    webhook_secret: SecretStr | None = None  # signs every POST (X-Divbot-Signature)
    webhook_secrets: SecretStr | None = Field(None, validate_default=True)  # "name=key,…"
    webhook_families: Annotated[list[Family], NoDecode] = Field(
        default_factory=lambda: list(webhook_config.DEFAULT_FAMILIES)
    )
    allowed_chats: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # the people running the bot ("telegram:12345,slack:U0ABCDEF") and where they are told
    operators: Annotated[list[str], NoDecode] = Field(default_factory=list)
    operator_chats: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # data providers
    eastmoney_quote_base: AnyHttpUrl = AnyHttpUrl("https://push2.eastmoney.com")
    eastmoney_history_base: AnyHttpUrl = AnyHttpUrl("https://push2his.eastmoney.com")
    eastmoney_datacenter_base: AnyHttpUrl = AnyHttpUrl("https://datacenter-web.eastmoney.com")
    yahoo_base: AnyHttpUrl = AnyHttpUrl("https://query1.finance.yahoo.com")
    eastmoney_search_base: AnyHttpUrl = AnyHttpUrl("https://searchapi.eastmoney.com")
    yahoo_search_base: AnyHttpUrl = AnyHttpUrl("https://query2.finance.yahoo.com")
    # instruments a trader adds (/watch; bot.market.catalogue): per chat, and in all
    watch_max_per_chat: int = Field(50, ge=1, le=5000)
    watch_max_total: int = Field(5000, ge=1, le=100_000)
    http_timeout_s: float = Field(10.0, gt=0, le=120)
    http_retries: int = Field(2, ge=0, le=10)
    # headline feeds (seeds/feeds.toml): "id=base,id=base" replaces feeds' base URLs
    feed_base_overrides: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    headline_seen_ttl_s: int = Field(30 * 86400, ge=15 * 86400, le=365 * 86400)
    # watchers
    poll_interval_s: int = Field(10, ge=5, le=3600)
    stale_after_s: int = Field(900, ge=30)
    max_tick_jump_pct: float = Field(8.0, gt=0, le=50)
    prev_close_tolerance_pct: float = Field(2.0, gt=0, le=20)
    # macro releases (jobs/macro.py)
    macro_reminder_offsets_min: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [30, 5]
    )
    macro_poll_interval_s: int = Field(30, ge=5, le=600)
    macro_timeout_s: int = Field(1200, ge=60, le=86400)
    # rules
    default_cooldown_s: int = Field(3600, ge=0, le=7 * 86400)
    default_hysteresis: float = Field(0.5, ge=0, le=50)
    max_rules_per_chat: int = Field(50, ge=1, le=10_000)
    # noise control (bot/noise/): grouping, flap protection, history, quiet-hours urgency
    noise_group_window_s: int = Field(3, ge=0, le=300)  # a chat's default; 0 = off
    flap_max_fires: int = Field(5, ge=1, le=100)  # more fires than this within...
    flap_window_min: int = Field(30, ge=1, le=1440)  # ...this many minutes pause the rule
    history_cap: int = Field(200, ge=10, le=5000)  # /history entries kept per chat
    quiet_urgent_surprise_z: float = Field(2.0, gt=0, le=10)  # macro |z| that is critical
    # replicas and delivery (bot.state.leader, bot.delivery.deliverer)
    replica_id: str = Field(default_factory=default_replica_id, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    leader_ttl_s: float = Field(15.0, ge=1, le=300)
    # quote steps kept in memory while Redis is unreachable (bot.rules.backlog); then quotes wait
    outage_backlog: int = Field(2000, ge=10, le=100_000)
    # server and misc
    port: int = Field(8080, ge=1, le=65535)
    timezone: str = "Asia/Shanghai"
    seeds_dir: Path = REPO_ROOT / "seeds"
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("slack_admins", "allowed_chats", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("operators", mode="before")
    @classmethod
    def _operators(cls, value: Any) -> Any:
        value = _split_csv(value)
        if isinstance(value, list):
            for item in value:
                if not re.match(r"^(telegram|slack):[A-Za-z0-9_-]{1,64}$", str(item)):
                    raise ValueError(
                        "comma-separated platform:user ids, e.g. telegram:12345,slack:U0ABCDEF"
                    )
        return value

    @field_validator("operator_chats", mode="before")
    @classmethod
    def _operator_chats(cls, value: Any) -> Any:
        value = _split_csv(value)
        if isinstance(value, list):
            for item in value:
                if not CHAT_KEY.match(str(item)):
                    raise ValueError(
                        "comma-separated chat keys, e.g. telegram:-1001234567890,slack:C0123ABCD"
                    )
        return value

    @field_validator("webhooks")
    @classmethod
    def _webhooks(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            webhook_config.parse_webhooks(value.get_secret_value())
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            webhook_config.check_secret(value.get_secret_value())
        return value

    @field_validator("webhook_secrets")
    @classmethod
    def _webhook_secrets(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        own = webhook_config.parse_secrets(value.get_secret_value() if value else "")
        if "webhooks" in info.data and "webhook_secret" in info.data:  # both valid
            hooks, shared = info.data["webhooks"], info.data["webhook_secret"]
            webhook_config.check_signed(
                webhook_config.parse_webhooks(hooks.get_secret_value() if hooks else ""),
                shared.get_secret_value() if shared else None,
                own,
            )
        return value

    @field_validator("webhook_families", mode="before")
    @classmethod
    def _webhook_families(cls, value: Any) -> Any:
        if isinstance(value, str):
            return list(webhook_config.parse_families(value))
        return value

    @field_validator("feed_base_overrides", mode="before")
    @classmethod
    def _overrides(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        out: dict[str, str] = {}
        for part in _split_csv(value):
            fid, sep, base = part.partition("=")
            fid, base = fid.strip(), base.strip()
            if not sep or not re.match(r"^[a-z0-9_]{2,32}$", fid):
                raise ValueError(
                    "comma-separated FEED_ID=URL pairs, e.g. csrc=http://127.0.0.1:8081"
                )
            if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", base):
                raise ValueError(f"an http(s) base URL for {fid}")
            out[fid] = base
        return out

    @field_validator("macro_reminder_offsets_min", mode="before")
    @classmethod
    def _offsets(cls, value: Any) -> Any:
        value = _split_csv(value)
        if isinstance(value, list):
            try:
                minutes = [int(v) for v in value]
            except (TypeError, ValueError):
                raise ValueError("minutes before a release, comma-separated, e.g. 30,5") from None
            if not minutes or len(minutes) > 6 or not all(1 <= m <= 1440 for m in minutes):
                raise ValueError("1 to 6 offsets, each 1..1440 minutes, e.g. 30,5")
            return sorted(set(minutes), reverse=True)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("an IANA time zone such as Asia/Shanghai") from exc
        return value

    @field_validator("seeds_dir")
    @classmethod
    def _seeds(cls, value: Path) -> Path:
        if not (value / "watchlist.toml").is_file():
            raise ValueError(f"a folder holding watchlist.toml (none in {value})")
        return value

    @model_validator(mode="after")
    def _watch_caps(self) -> Settings:
        if self.watch_max_per_chat > self.watch_max_total:
            raise ValueError(
                f"WATCH_MAX_PER_CHAT ({self.watch_max_per_chat}) is above "
                f"WATCH_MAX_TOTAL ({self.watch_max_total})"
            )
        return self

    @model_validator(mode="after")
    def _slack_connection(self) -> Settings:
        # A bot token alone cannot hear Slack: HTTP mode needs the signing secret to verify
        # requests, Socket Mode needs the app-level token.
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            raise ValueError(
                "SLACK_BOT_TOKEN needs SLACK_SIGNING_SECRET (HTTP mode) "
                "or SLACK_APP_TOKEN (Socket Mode)"
            )
        return self


def describe_error(exc: ValidationError) -> str:
    """One line naming the variable and what it expected, never echoing a secret."""
    err = exc.errors()[0]
    name = str(err["loc"][0]) if err["loc"] else "settings"
    msg = err["msg"].removeprefix("Value error, ")
    if name in SECRET_FIELDS:
        return f"config error: {name.upper()}: {msg}"
    got = err.get("input")
    shown = f" (got {got!r})" if isinstance(got, str | int | float) else ""
    return f"config error: {name.upper()}: {msg}{shown}"


def exit_on_bad_config(**overrides: Any) -> Settings:
    """Build settings or stop with exit status 2 and one readable line on stderr."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        print(describe_error(exc), file=sys.stderr)
        raise SystemExit(2) from None
