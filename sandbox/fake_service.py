"""What the fake translation and transcription servers share: an aiohttp server on 127.0.0.1
with switchable failure modes and a record of every request.

    async with FakeTranslate() as server:
        server.mode = "timeout"      # "ok", "timeout" (no answer until closed), "error" (500)
        ...
        assert server.count("/translate") == 1

By hand: `python -m sandbox.fake_translate 5000` and `python -m sandbox.fake_whisper 8000`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from aiohttp import web

Mode = Literal["ok", "timeout", "error"]


@dataclass
class Request:
    path: str
    fields: dict[str, Any] = field(default_factory=dict)


class FakeService:
    """Subclasses add their routes in `routes()`; `url` is the root to configure the bot with."""

    def __init__(self) -> None:
        self.mode: Mode = "ok"
        self.requests: list[Request] = []
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()
        #: 0 picks a free port at start (tests); the demo sets a fixed one before.
        self.port = 0

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.root

    def count(self, path: str) -> int:
        return sum(1 for request in self.requests if request.path == path)

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        self._release.set()  # requests held by the "timeout" mode end now
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def failure(self) -> web.Response | None:
        """The answer the current mode imposes, if any (called after the request is recorded)."""
        if self.mode == "timeout":
            await self._release.wait()
            return web.json_response({"error": "the fake server was closed"}, status=503)
        if self.mode == "error":
            return self.error_response(500, "Internal server error (fake)")
        return None

    def error_response(self, status: int, message: str) -> web.Response:
        return web.json_response({"error": message}, status=status)


def serve(service: FakeService, port: int) -> None:
    """Run `service` on 127.0.0.1:`port` until Ctrl-C (for trying the bot by hand)."""

    async def run() -> None:
        service.port = port
        async with service:
            print(f"{type(service).__name__} listening at {service.url} (Ctrl-C stops it)")
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
