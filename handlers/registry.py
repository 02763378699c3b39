"""The one command registry: read by both transports, /help, setMyCommands, the Slack
manifest. Adding a command is one entry here and one handler module."""

from __future__ import annotations

from bot.cmdref import ref
from bot.fmt import excerpt
from bot.models import Message
from handlers import (
    backtest,
    baskets,
    closures,
    divergence,
    general,
    headlines,
    macro,
    market,
    noise,
    rules,
    status,
    subscriptions,
    timezone,
    watch,
)
from handlers.base import Command, CommandSpec, Role, UsageError, reply


def who_may(spec: CommandSpec) -> list[str]:
    """The permission policy of one command, as /help shows it."""
    out = []
    if spec.changes_chat:
        out.append(f"{ref(spec.name)}: {Role.CHAT_ADMIN} (in a private chat, its user).")
    elif spec.changes_with_args:
        out.append(
            f"{ref(spec.name)} with a value: {Role.CHAT_ADMIN} (in a private chat, its user)."
        )
    elif spec.subcommands_that_change:
        subs = ", ".join(sorted(spec.subcommands_that_change))
        out.append(f"{subs}: {Role.CHAT_ADMIN} (in a private chat, its user).")
    if spec.subcommands_for_operators:
        subs = ", ".join(sorted(spec.subcommands_for_operators))
        out.append(f"{subs}: {Role.OPERATOR} only (it changes what every chat sees).")
    return out


# /help reads the registry, so it lives here (a handler module importing the registry
# would be a circle).
async def help_(core: object, cmd: Command) -> Message:
    if cmd.args:
        name = cmd.args[0].lower().lstrip("/")
        spec = COMMANDS.get(name)
        if spec is None:
            raise UsageError(f"no command {excerpt(name)}; {ref('help')} lists them all")
        # The usage once: a command's details that are a whole usage line replace it.
        if spec.details.startswith("usage:"):
            lines = [spec.details]
        elif spec.details.startswith(spec.usage):
            lines = [f"usage: {spec.details}"]
        else:
            lines = [f"usage: {spec.usage}", *([spec.details] if spec.details else [])]
        lines += who_may(spec)
        return reply(f"{ref(spec.name)}: {spec.summary}", *lines)
    lines = [f"{spec.usage} — {spec.summary}" for spec in COMMANDS.values()]
    return Message(title="Commands", lines=lines)


_SPECS = [
    CommandSpec("start", ref("start"), "introduce the bot and subscribe this chat", general.start),
    CommandSpec("help", ref("help [command]"), "list commands, or explain one", help_),
    CommandSpec(
        "quote",
        ref("quote [SYMBOL…]"),
        "last price, 1d/mtd/ytd moves, market state",
        market.quote,
        details="Symbols: STAR50 HSTECH NDX CSI300 CAMBRICON BABA "
        "TENCENT TSMC (aliases like KC50, 9988 work), and MARGIN (the margin financing "
        "balance, ¥bn).",
    ),
    CommandSpec(
        "divergence",
        ref("divergence [WINDOW] [X [B]]"),
        "China tech vs US tech and the economy: spread, z, regime, chart",
        divergence.divergence,
        details=divergence.USAGE,
    ),
    CommandSpec(
        "watch",
        ref("watch CODE|NAME"),
        "watch any A-share, Hong Kong or US stock, e.g. " + ref("watch 寒武纪") + ", 9988, NVDA",
        watch.watch,
        changes_chat=True,
        details=watch.ABOUT,
    ),
    CommandSpec(
        "unwatch",
        ref("unwatch CODE|NAME"),
        "stop watching an instrument in this chat",
        watch.unwatch,
        changes_chat=True,
        details=watch.ABOUT,
    ),
    CommandSpec(
        "watchlist", ref("watchlist"), "the instruments this chat watches", watch.watchlist
    ),
    CommandSpec(
        "basket",
        ref("basket add NAME MEMBER… [weights=equal|cap]") + " | " + ref("basket rm NAME"),
        "a basket of instruments with a chained level, alerted like an index",
        baskets.basket,
        subcommands_that_change=frozenset({"add", "rm", "remove", "del"}),
        details=baskets.ABOUT,
    ),
    CommandSpec(
        "baskets", ref("baskets"), "the baskets, their members and levels", baskets.baskets
    ),
    CommandSpec(
        "backtest",
        ref("backtest RULE [PERIOD]"),
        "how a rule would have fired over past daily closes, and what followed",
        backtest.backtest,
        details=backtest.USAGE,
    ),
    CommandSpec(
        "alerts", ref("alerts"), "this chat's alert rules with their ids", rules.list_alerts
    ),
    CommandSpec(
        "alert",
        ref("alert add|rm|pause|resume|mute …"),
        "manage this chat's alert rules",
        rules.alert,
        subcommands_that_change=frozenset(
            {"add", "rm", "remove", "del", "delete", "pause", "resume", "mute"}
        ),
        details=rules.HELP,
    ),
    CommandSpec(
        "subscribe",
        ref("subscribe FAMILY…"),
        "get moves, spreads, headlines, macro, digest",
        subscriptions.subscribe,
        changes_chat=True,
        details="Headlines take categories and a floor: "
        f"{ref('subscribe headlines margin hft min=warning')}"
        " (categories: margin hft ipo chips easing property ai records).",
    ),
    CommandSpec(
        "unsubscribe",
        ref("unsubscribe FAMILY…"),
        "stop an alert family",
        subscriptions.unsubscribe,
        changes_chat=True,
    ),
    CommandSpec(
        "mute",
        ref("mute DURATION"),
        "silence this chat's alerts for a while, e.g. 2h",
        subscriptions.mute,
        changes_chat=True,
    ),
    CommandSpec("unmute", ref("unmute"), "end a mute", subscriptions.unmute, changes_chat=True),
    CommandSpec(
        "headlines",
        ref("headlines [CATEGORY] [N]"),
        f"latest regulatory and market headlines, e.g. {ref('headlines margin')}",
        headlines.headlines,
        details="Categories: margin hft ipo chips easing property ai records; N up to 20.",
    ),
    CommandSpec(
        "keywords",
        ref("keywords [add|rm WORD…]"),
        f"this chat's own headline keywords, e.g. {ref('keywords add 证监会')}",
        headlines.keywords,
        subcommands_that_change=frozenset({"add", "rm", "remove", "del", "clear"}),
        details=headlines.KEYWORDS_USAGE,
    ),
    CommandSpec(
        "calendar",
        ref("calendar [DAYS] [INDICATOR]"),
        "scheduled macro releases and policy events, in this chat's time zone",
        macro.calendar,
        subcommands_for_operators=frozenset({"add", "rm"}),
        details=macro.CALENDAR_USAGE,
    ),
    CommandSpec(
        "macro",
        ref("macro [INDICATOR]"),
        "latest China macro prints (GDP CPI PPI PMI IP RETAIL) and their streaks",
        macro.macro,
        subcommands_that_change=frozenset({"alert"}),
        subcommands_for_operators=frozenset({"set"}),
        details=macro.MACRO_USAGE,
    ),
    CommandSpec(
        "timezone",
        ref("timezone [ZONE]"),
        "show or set this chat's time zone (default Asia/Shanghai)",
        timezone.timezone,
        changes_with_args=True,
    ),
    CommandSpec(
        "quiet",
        ref("quiet [22:00-07:00 [daily|weekdays] [urgent=critical] | off]"),
        "quiet hours in this chat's time zone: alerts held, then one summary",
        noise.quiet,
        changes_with_args=True,
        details=noise.QUIET_USAGE,
    ),
    CommandSpec(
        "notify",
        ref("notify [FAMILY on|silent|off | group 10s]"),
        "per-family levels (on, silent, off) and the grouping window",
        noise.notify,
        changes_with_args=True,
        details=noise.NOTIFY_USAGE,
    ),
    CommandSpec(
        "history",
        ref("history [N] [FAMILY]"),
        "what fired in this chat, when, and whether it was delivered",
        noise.history,
        details=noise.HISTORY_USAGE,
    ),
    CommandSpec(
        "closure",
        ref("closure [MARKET] [YEAR]"),
        "market holidays and who says so; operators correct a day",
        closures.closure,
        subcommands_for_operators=closures.CHANGES,
        details=closures.USAGE,
    ),
    CommandSpec(
        "status", ref("status"), "sources' health, pending deliveries, version", status.status
    ),
]

COMMANDS: dict[str, CommandSpec] = {spec.name: spec for spec in _SPECS}
