"""A fake feed host over real loopback HTTP: RSS, Atom and the CSRC JSON list by path.

Each path serves a programmed `FeedReply` (body, status, headers). A reply with an ETag
or Last-Modified answers a matching conditional GET with 304 Not Modified, as real feed
servers do. `log` records what reached the wire (path and request headers).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


def feed_fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


@dataclass
class FeedReply:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False  # stream the body with no Content-Length (the cap must still hold)
    delay_s: float = 0.0  # wait this long before answering (the client must time out)


@dataclass(frozen=True)
class FeedHit:
    path: str
    headers: dict[str, str]


class FakeFeedHost(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.replies: dict[str, FeedReply] = {}
        self.log: list[FeedHit] = []

    def serve(self, path: str, reply: FeedReply) -> None:
        self.replies[path] = reply

    def hits(self, path: str) -> list[FeedHit]:
        return [h for h in self.log if h.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.log.append(FeedHit(request.path, dict(request.headers)))
        reply = self.replies.get(request.path)
        if reply is not None and reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply is None:
            return web.Response(status=404, text="<html><body>404</body></html>")
        etag = reply.headers.get("ETag")
        modified = reply.headers.get("Last-Modified")
        if (etag and request.headers.get("If-None-Match") == etag) or (
            modified and request.headers.get("If-Modified-Since") == modified
        ):
            return web.Response(status=304, headers=reply.headers)
        headers = {"Content-Type": reply.content_type, **reply.headers}
        if reply.chunked:
            stream = web.StreamResponse(status=reply.status, headers=headers)
            stream.enable_chunked_encoding()
            await stream.prepare(request)
            for at in range(0, len(reply.body), 256 * 1024):
                await stream.write(reply.body[at : at + 256 * 1024])
            await stream.write_eof()
            return stream
        return web.Response(status=reply.status, body=reply.body, headers=headers)
