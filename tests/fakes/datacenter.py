"""A fake Eastmoney datacenter over real loopback HTTP: `/api/data/v1/get?reportName=…`.

Serves each report's rows (newest first, as the real service does) a page at a time inside
the real envelope: `pageNumber` (from 1) of `pageSize` rows, `result.pages` the report's
page count at that size and `result.count` its rows; a page past the last answers the
real empty body (`result: null`, code 9201). Tests `release()` a new row to make a print
appear, program one-shot (`queue`) or standing (`always`) replies per report, or one
page's reply (`fault`), to inject trouble, and read `log` to assert what reached the wire.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
from collections import defaultdict, deque
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer
from tests.fakes.providers import Reply, fixture

PATH = "/api/data/v1/get"
FIXTURES = {
    "RPT_ECONOMY_PPI": "eastmoney/datacenter-ppi.json",
    "RPT_ECONOMY_CPI": "eastmoney/datacenter-cpi.json",
    "RPT_ECONOMY_GDP": "eastmoney/datacenter-gdp.json",
}


class FakeDatacenter(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.bodies: dict[str, dict[str, Any]] = {r: fixture(f) for r, f in FIXTURES.items()}
        self.log: list[dict[str, str]] = []
        self._queued: dict[str, deque[Reply]] = defaultdict(deque)
        self._always: dict[str, Reply] = {}
        self._faults: dict[tuple[str, int], Reply] = {}
        self._release = asyncio.Event()

    async def close(self) -> None:
        self._release.set()
        await super().close()

    def release(self, report: str, row: dict[str, Any]) -> None:
        """A new print lands: the row goes on top, as the newest."""
        self.bodies[report]["result"]["data"].insert(0, row)

    def queue(self, report: str, *replies: Reply) -> None:
        self._queued[report].extend(replies)

    def always(self, report: str, reply: Reply | None) -> None:
        if reply is None:
            self._always.pop(report, None)
        else:
            self._always[report] = reply

    def fault(self, report: str, page: int, reply: Reply) -> None:
        """Page `page` of `report` answers `reply`, once."""
        self._faults[(report, page)] = reply

    def hits(self, report: str) -> list[dict[str, str]]:
        return [q for q in self.log if q.get("reportName") == report]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        if request.path != PATH:
            return web.Response(status=404, text="<html><body>404</body></html>")
        self.log.append(query)
        report = query.get("reportName", "")
        reply = self._queued[report].popleft() if self._queued[report] else None
        page = int(query.get("pageNumber", "1"))
        reply = reply or self._faults.pop((report, page), None)
        reply = reply or self._always.get(report) or self._default(report, query)
        if reply.hang:
            await self._release.wait()
        if isinstance(reply.body, bytes | str):
            body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        else:
            body = json.dumps(reply.body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
        return web.Response(status=reply.status, body=body, headers=headers)

    def _default(self, report: str, query: dict[str, str]) -> Reply:
        body = self.bodies.get(report)
        if body is None:
            return Reply(body=fixture("eastmoney/datacenter-empty.json"))
        body = copy.deepcopy(body)
        size = int(query.get("pageSize", "50"))
        number = int(query.get("pageNumber", "1"))
        rows = body["result"]["data"]
        pages = max(1, math.ceil(len(rows) / size))
        if not 1 <= number <= pages:
            return Reply(body=fixture("eastmoney/datacenter-empty.json"))
        body["result"].update(
            data=rows[(number - 1) * size : number * size], pages=pages, count=len(rows)
        )
        return Reply(body=body)
