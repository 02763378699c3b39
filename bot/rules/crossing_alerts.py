"""Turning a rule crossing into an Alert a trader can read at a glance."""

from __future__ import annotations

import hashlib
from zoneinfo import ZoneInfo

from bot import fmt
from bot.market.watchlist import Watchlist
from bot.models import Alert, Button, Message, RuleKind, Window
from bot.rules.engine import Crossing

MARKET_NAMES = {"XSHG": "Shanghai", "XHKG": "Hong Kong", "XNYS": "New York", "XTAI": "Taipei"}
WINDOW_WORDS = {
    Window.INTRADAY: "intraday",
    Window.D1: "on the day",
    Window.D5: "over 5 days",
    Window.MTD: "month-to-date",
    Window.YTD: "year-to-date",
}


def alert_id(rule_id: str, side: int, stamp: str) -> str:
    """Deterministic: the same crossing seen by two replicas gets the same id."""
    return hashlib.sha1(f"{rule_id}|{side}|{stamp}".encode()).hexdigest()[:16]  # noqa: S324


def describe_rule(
    rule_kind: RuleKind, names: list[str], window: Window | None, direction: str, threshold: float
) -> str:
    """One line a trader would write: 'STAR 50 mtd up 10%'."""
    if rule_kind is RuleKind.LEVEL:
        side = "above" if direction == "up" else "below"
        return f"{names[0]} {side} {fmt.price(threshold)}"
    if rule_kind is RuleKind.DIVERGENCE:
        w = window.value if window else ""
        return f"{names[0]} decoupling score {w} {direction} {threshold:g}"
    unit = "pp" if rule_kind is RuleKind.SPREAD else "%"
    subject = f"{names[0]} vs {names[1]}" if rule_kind is RuleKind.SPREAD else names[0]
    w = window.value if window else ""
    return f"{subject} {w} {direction} {threshold:g}{unit}"


def build_alert(c: Crossing, watchlist: Watchlist, tz: str = "Asia/Shanghai") -> Alert:
    rule = c.rule
    names = [watchlist[leg.instrument].name for leg in c.legs]
    at = c.quote.at
    lines: list[str] = []
    fields: list[tuple[str, str]] = []
    if rule.kind is RuleKind.LEVEL:
        verb = "above" if c.side == 1 else "below"
        title = f"{names[0]} crossed {verb} {fmt.price(rule.threshold)}"
        fields.append((names[0], fmt.price(c.value)))
    elif rule.kind is RuleKind.MOVE:
        assert rule.window is not None
        leg = c.legs[0]
        title = f"{names[0]} {fmt.pct(c.value)} {WINDOW_WORDS[rule.window]}"
        fields.append((names[0], fmt.price(leg.price)))
        fields.append((rule.window.value.upper(), fmt.pct(c.value)))
        if leg.base:
            fields.append(("From", f"{fmt.price(leg.base.value)} ({leg.base.label})"))
    elif rule.kind is RuleKind.DIVERGENCE:
        assert rule.window is not None
        leg = c.legs[0]
        title = f"{names[0]} decoupling score {fmt.signed(c.value, 1)} {rule.window.value}"
        move = fmt.pct(leg.change_pct) if leg.change_pct is not None else "n/a"
        fields.append((names[0], f"{move} {rule.window.value} ({fmt.price(leg.price)})"))
        fields.append(("Score", fmt.signed(c.value, 1)))
        lines.append("score = the window return's z-score minus the economy pulse")
    else:
        assert rule.window is not None
        a, b = c.legs
        title = f"{names[0]} vs {names[1]}: spread {fmt.pp(c.value)} {rule.window.value}"
        for name, leg in zip(names, c.legs, strict=True):
            move = fmt.pct(leg.change_pct) if leg.change_pct is not None else "n/a"
            fields.append((name, f"{move} ({fmt.price(leg.price)})"))
        fields.append(("Spread", fmt.pp(c.value)))
    direction = "up" if c.side == 1 else "down"
    rule_text = describe_rule(rule.kind, names, rule.window, direction, abs(rule.threshold))
    lines.append(f"Rule {rule.id}: {rule_text}")
    market = watchlist[c.quote.instrument].calendar
    if c.quote.session != at.astimezone(ZoneInfo(tz)).date():
        # A New York session seen from Shanghai ends the next morning: name the session.
        where = MARKET_NAMES.get(market, market)
        lines.append(f"{where} session of {c.quote.session:%a %d %b}")
    message = Message(
        title=title,
        lines=lines,
        fields=fields,
        source=c.quote.source,
        at=at,
        buttons=[Button("Mute 1h", f"mute:{rule.id}:3600"), Button("Remove rule", f"rm:{rule.id}")],
    )
    return Alert(
        id=alert_id(rule.id, c.side, at.isoformat()),
        family=rule.family,
        message=message,
        at=at,
        rule_id=rule.id,
        owner=rule.owner,
        severity="warning",
        session=c.quote.session,
    )
