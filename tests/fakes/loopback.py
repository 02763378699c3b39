"""The one way a fake provider is served: aiohttp on 127.0.0.1 and an ephemeral port."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer


class LoopbackServer:
    """Serves every GET path to `_handle`; subclasses speak one provider's wire format."""

    def __init__(self) -> None:
        self._server: TestServer | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        self.url = str(self._server.make_url("")).rstrip("/")
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
