"""Fake Eastmoney and Yahoo over real loopback HTTP, speaking their wire shapes.

One aiohttp server on 127.0.0.1:<ephemeral> serves both providers' paths. By default it
answers from data tables (`ulist_rows`, `klines`, `charts`) the way the real services do;
tests program one-shot (`queue`) or standing (`always`) replies per path to inject
trouble, and read `log` to assert what reached the wire.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ULIST = "/api/qt/ulist.np/get"
KLINE = "/api/qt/stock/kline/get"
CHART = "/v8/finance/chart/"
YQUOTE = "/v7/finance/quote"
SUGGEST = "/api/suggest/get"  # Eastmoney's search (searchapi host)
YSEARCH = "/v1/finance/search"  # Yahoo's search (query2 host)


def fixture(name: str) -> Any:
    """A JSON fixture from tests/fixtures, freshly parsed (tests may mutate it)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass
class Reply:
    """A programmed answer. `body` bytes/str go out verbatim; anything else as JSON."""

    status: int = 200
    body: object = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the server closes): the client must time out


@dataclass(frozen=True)
class Seen:
    path: str  # decoded, e.g. /v8/finance/chart/^NDX
    raw_path: str  # as sent, e.g. /v8/finance/chart/%5ENDX
    query: dict[str, str]


class FakeProviders(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        ulist = fixture("eastmoney/ulist.json")
        self.envelope = {k: v for k, v in ulist.items() if k != "data"}
        self.ulist_rows: dict[str, dict[str, Any]] = {
            f"{row['f13']}.{row['f12']}": row for row in ulist["data"]["diff"]
        }
        self.klines: dict[str, Any] = {"1.000688": fixture("eastmoney/kline-000688.json")}
        self.charts: dict[str, Any] = {
            "^NDX": fixture("yahoo/synthetic-NDX-5d.json"),
            "000688.SS": fixture("yahoo/synthetic-000688.SS-5d.json"),
        }
        # Yahoo's batch quote rows by symbol. Empty (the default) = the endpoint is not
        # offered (a 404, as for a client Yahoo wants a cookie from): charts serve instead.
        self.yahoo_quotes: dict[str, dict[str, Any]] = {}
        # Search answers by the exact input: Eastmoney suggest rows, Yahoo search quotes.
        self.suggest: dict[str, list[dict[str, Any]]] = {}
        self.yahoo_search: dict[str, list[dict[str, Any]]] = {}
        self.log: list[Seen] = []
        self._queued: dict[str, deque[Reply]] = defaultdict(deque)
        self._always: dict[str, Reply] = {}
        self._release = asyncio.Event()

    async def close(self) -> None:
        self._release.set()
        await super().close()

    def queue(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with these, then go back to normal."""
        self._queued[path].extend(replies)

    def always(self, path: str, reply: Reply) -> None:
        """Answer every request to `path` with `reply`."""
        self._always[path] = reply

    def hits(self, path: str) -> list[Seen]:
        return [s for s in self.log if s.path == path]

    def row(self, secid: str, **changes: object) -> None:
        """Change fields of the ulist row for `secid` (creating it from f13.f12)."""
        market, code = secid.split(".", 1)
        row = self.ulist_rows.setdefault(secid, {"f12": code, "f13": int(market)})
        row.update(changes)
        for name, value in changes.items():
            if value is None:
                del row[name]  # a missing field, not a JSON null

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.log.append(Seen(path, request.raw_path.split("?")[0], dict(request.query)))
        reply = self._queued[path].popleft() if self._queued[path] else self._always.get(path)
        if reply is None:
            reply = self._default(path, request.query)
        if reply.hang:
            await self._release.wait()
        if isinstance(reply.body, bytes | str):
            body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        else:
            body = json.dumps(reply.body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json;charset=utf-8", **reply.headers}
        return web.Response(status=reply.status, body=body, headers=headers)

    def _default(self, path: str, query: Any) -> Reply:
        if path == ULIST:
            asked = str(query.get("secids", "")).split(",")
            rows = [copy.deepcopy(self.ulist_rows[s]) for s in asked if s in self.ulist_rows]
            data = {"total": len(rows), "diff": rows} if rows else None
            return Reply(body={**self.envelope, "data": data})
        if path == KLINE:
            body = self.klines.get(str(query.get("secid")))
            return Reply(body=body or {**self.envelope, "data": None})
        if path == SUGGEST:
            rows = copy.deepcopy(self.suggest.get(str(query.get("input", "")), []))
            table = {"Data": rows or None, "Status": 0, "Message": "成功", "TotalPage": 1}
            return Reply(body={"QuotationCodeTable": table})
        if path == YSEARCH:
            quotes = copy.deepcopy(self.yahoo_search.get(str(query.get("q", "")), []))
            return Reply(body={"explains": [], "count": len(quotes), "quotes": quotes})
        if path == YQUOTE and self.yahoo_quotes:
            asked = str(query.get("symbols", "")).split(",")
            rows = [copy.deepcopy(self.yahoo_quotes[s]) for s in asked if s in self.yahoo_quotes]
            return Reply(body={"quoteResponse": {"result": rows, "error": None}})
        if path.startswith(CHART):
            chart = self.charts.get(path.removeprefix(CHART))
            if chart is None:
                return Reply(status=404, body=fixture("yahoo/error-not-found.json"))
            return Reply(body=chart)
        return Reply(status=404, body="<html><body>404 Not Found</body></html>")
