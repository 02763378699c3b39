"""JSON shapes of the objects that cross Redis: quotes, messages and alerts."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime

from bot.models import Alert, Button, Family, Message, Quote


def quote_to_json(q: Quote) -> str:
    return json.dumps(
        {
            "instrument": q.instrument,
            "price": q.price,
            "at": q.at.isoformat(),
            "session": q.session.isoformat(),
            "source": q.source,
            "open": q.open,
            "prev_close": q.prev_close,
            "closing": q.closing,
        }
    )


def quote_from_json(raw: str) -> Quote:
    d = json.loads(raw)
    return Quote(
        instrument=d["instrument"],
        price=float(d["price"]),
        at=datetime.fromisoformat(d["at"]),
        session=date.fromisoformat(d["session"]),
        source=d["source"],
        open=d.get("open"),
        prev_close=d.get("prev_close"),
        closing=bool(d.get("closing", False)),
    )


def message_to_dict(m: Message) -> dict[str, object]:
    return {
        "title": m.title,
        "lines": m.lines,
        "fields": [list(f) for f in m.fields],
        "source": m.source,
        "at": m.at.isoformat() if m.at else None,
        "buttons": [[b.label, b.action] for b in m.buttons],
        "image": base64.b64encode(m.image).decode() if m.image else None,
        "preformatted": m.preformatted,
        "silent": m.silent,
        "reply_to": m.reply_to,
        "thread": m.thread,
        "tz": m.tz,
    }


def message_from_dict(d: dict[str, object]) -> Message:
    at = d.get("at")
    image = d.get("image")
    return Message(
        title=str(d["title"]),
        lines=[str(x) for x in d.get("lines", [])],  # type: ignore[attr-defined]
        fields=[(str(a), str(b)) for a, b in d.get("fields", [])],  # type: ignore[attr-defined]
        source=str(d["source"]) if d.get("source") else None,
        at=datetime.fromisoformat(str(at)) if at else None,
        buttons=[Button(str(a), str(b)) for a, b in d.get("buttons", [])],  # type: ignore[attr-defined]
        image=base64.b64decode(str(image)) if image else None,
        preformatted=bool(d.get("preformatted", False)),
        silent=bool(d.get("silent", False)),
        reply_to=str(d["reply_to"]) if d.get("reply_to") else None,
        thread=str(d["thread"]) if d.get("thread") else None,
        tz=str(d["tz"]) if d.get("tz") else None,
    )


def alert_to_json(a: Alert) -> str:
    return json.dumps(
        {
            "id": a.id,
            "family": a.family.value,
            "message": message_to_dict(a.message),
            "at": a.at.isoformat(),
            "rule_id": a.rule_id,
            "owner": a.owner,
            "severity": a.severity,
            "session": a.session.isoformat() if a.session else None,
        }
    )


def alert_from_json(raw: str) -> Alert:
    d = json.loads(raw)
    return Alert(
        id=d["id"],
        family=Family(d["family"]),
        message=message_from_dict(d["message"]),
        at=datetime.fromisoformat(d["at"]),
        rule_id=d.get("rule_id"),
        owner=d.get("owner"),
        severity=d.get("severity", "info"),
        session=date.fromisoformat(d["session"]) if d.get("session") else None,
    )
