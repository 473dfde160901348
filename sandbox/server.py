"""The HTTP face of the double: a local Bot API server for the real PTB Application.

Running the real HTTP client against a local server (instead of mocking ``Bot`` methods)
exercises PTB's request encoding, retries, rate limiter and error mapping exactly as in
production; only the network hop to api.telegram.org is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sandbox.methods import Methods
from sandbox.models import ApiError, Call, UploadedPart
from sandbox.webhook import WebhookDelivery

#: Parameters whose value PTB sends as a plain string even if it looks like JSON.
_STRING_PARAMS = frozenset(
    [
        "text",
        "caption",
        "parse_mode",
        "name",
        "description",
        "short_description",
        "language_code",
        "title",
        "address",
        "callback_query_id",
        "action",
        "file_id",
        "emoji",
        "question",
        "url",
        "icon_custom_emoji_id",
        "performer",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "business_connection_id",
        "message_effect_id",
        "inline_message_id",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "photo",
        "document",
        "voice",
        "video",
        "audio",
        "animation",
        "video_note",
        "sticker",
        "thumbnail",
        "secret_token",
    ]
)
#: settle()'s quiet period for a bot without an idle probe (another process): seconds.
QUIET_WITHOUT_PROBE = 0.15
#: Update types delivered when getUpdates was never given ``allowed_updates``.
_DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class BotAPIDouble(WebhookDelivery, Methods):
    """A fake Telegram Bot API server on 127.0.0.1 with a scriptable world.

    Use ``async with BotAPIDouble() as tg:`` (or ``start``/``stop``) and point PTB at
    ``tg.base_url``: ``.base_url(f"{tg.base_url}/bot")`` and
    ``.base_file_url(f"{tg.base_url}/file/bot")``. Updates reach the bot by getUpdates, or by
    POST once the bot set a webhook (`sandbox/webhook.py`).
    """

    def __init__(self, token: str = "123456:TEST", bot_username: str = "stikk_test_bot") -> None:
        super().__init__(token, bot_username)
        self.base_url = ""
        #: Harness hook for settle(): must return True when the application is idle
        #: (see `application_idle_probe`).
        self.idle_probe: Callable[[], bool] | None = None
        #: Time without requests settle() waits for by default (seconds); None: none when
        #: `idle_probe` is set (the bot's own activity decides), `QUIET_WITHOUT_PROBE` when it
        #: is not (a bot in another process, as in the benchmarks, is seen only by its requests).
        self.quiet: float | None = None
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._acked_offset = 0
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._pollers: dict[int, web.Request] = {}
        self._init_webhook()
        #: Tracebacks of bugs inside the double itself; settle() fails loudly when non-empty.
        self.crashes: list[str] = []
        #: Requests currently held by `hold_sends` (crash tests wait for this).
        self.held = 0
        self._hold_budget = 0
        self._hold_gate: asyncio.Event | None = None
        self._held_methods: tuple[str, ...] = ("send",)
        #: While set: (status, method prefixes, chat ids or None) of an outage (see `outage`).
        self._outage: tuple[int, tuple[str, ...], frozenset[int] | None] | None = None
        #: Requests refused by an outage so far.
        self.outage_refused = 0
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            name[4:].replace("_", ""): getattr(self, name)
            for name in dir(self)
            if name.startswith("api_")
        }

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Listen on an OS-assigned port; sets ``base_url``."""
        self._wakeup = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", r"/file/bot{token:[^/]+}/{path:.+}", self._download)
        app.router.add_route("*", r"/bot{token:[^/]+}/{method:[^/]*}", self._api)
        app.router.add_route("*", r"/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Release waiting long polls and shut the server down."""
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()
        await self._close_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIDouble:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ HTTP
    @staticmethod
    def _reply_json(status: int, body: dict[str, Any]) -> web.Response:
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    def _error(self, status: int, description: str) -> web.Response:
        return self._reply_json(
            status, {"ok": False, "error_code": status, "description": description}
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        return self._error(404, "Not Found")

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(
                    body=stored.data, content_type=stored.mime_type or "application/octet-stream"
                )
        return self._error(404, "Not Found")

    async def _params(self, request: web.Request) -> dict[str, Any]:
        """Decode query string, urlencoded, multipart or JSON parameters like Telegram does."""
        params: dict[str, Any] = {k: _coerce(k, v) for k, v in request.query.items()}
        if request.content_type == "application/json":
            body = await request.read()
            if body:
                params.update(json.loads(body))
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = UploadedPart(
                        value.filename, value.file.read(), value.content_type
                    )
                else:
                    params[key] = _coerce(key, value)
        return params

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        handler = self._handlers.get(method.lower())
        if handler is None and method.lower() != "getupdates":
            return self._error(404, "Not Found")
        polling = handler is None
        if method.lower().startswith(self._held_methods) and not await self._pass_hold(request):
            # The client went away while held: Telegram never received this request.
            return self._error(504, "Gateway Timeout (held request dropped)")
        self._last_activity = time.monotonic()
        if not polling:
            self._inflight += 1
        call = Call(method, {}, at=time.time())
        try:
            try:
                call.params = await self._params(request)
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, "Bad Request: can't parse request JSON object") from None
            if self._in_outage(method, call.params):
                # Telegram is down: the request is refused before anything happens.
                self.outage_refused += 1
                raise ApiError(self._outage[0] if self._outage else 502, "Bad Gateway")
            if polling:
                result = await self._get_updates(request, call.params)
            else:
                assert handler is not None
                result = handler(call.params)
            call.status, call.result = 200, result
            response = self._reply_json(200, {"ok": True, "result": result})
        except ApiError as exc:
            call.status, call.description, call.retry_after = (
                exc.code,
                exc.description,
                (exc.retry_after),
            )
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            response = self._reply_json(exc.code, body)
        except Exception:
            # A bug in the double must not look like a Telegram outage to the bot's retry logic.
            self.crashes.append(f"{method}: {traceback.format_exc()}")
            call.status, call.description = 500, "Internal Server Error (test double crashed)"
            response = self._error(500, call.description)
        finally:
            if not polling:
                self._inflight -= 1
            self._last_activity = time.monotonic()
        self.calls.append(call)
        if not call.ok:
            self.errors.append(call)
        return response

    # ------------------------------------------------------------ outages
    def outage(
        self,
        status: int = 502,
        *,
        methods: tuple[str, ...] = ("send", "copy", "edit", "delete", "create", "forward"),
        chats: tuple[int, ...] | None = None,
    ) -> None:
        """Answer every request of `methods` (lower-case prefixes), to `chats` if given, with
        `status` and do nothing, as Telegram does while it is down, until `end_outage()`.
        getUpdates keeps working unless listed, so people can still write to the bot."""
        self._outage = (status, tuple(methods), frozenset(chats) if chats is not None else None)

    def end_outage(self) -> None:
        self._outage = None

    def _in_outage(self, method: str, params: dict[str, Any]) -> bool:
        if self._outage is None or not method.lower().startswith(self._outage[1]):
            return False
        chats = self._outage[2]
        return chats is None or params.get("chat_id") in chats

    # ------------------------------------------------------------ holding sends
    def hold_sends(self, after: int = 0, *, methods: tuple[str, ...] = ("send",)) -> None:
        """Let `after` more send* requests through, then hold every further one unanswered,
        as if Telegram stalled, until `release_sends()`. Crash tests kill the bot while
        requests are held: a held request whose client has gone away is dropped unprocessed.

        `methods` are lower-case prefixes of the methods held (add "copy" for copyMessage).
        """
        self._hold_budget = after
        self._hold_gate = asyncio.Event()
        self._held_methods = tuple(methods)

    def release_sends(self) -> None:
        """Stop holding; held requests of live clients are processed normally."""
        if self._hold_gate is not None:
            self._hold_gate.set()
        self._hold_gate = None

    async def _pass_hold(self, request: web.Request) -> bool:
        gate = self._hold_gate
        if gate is None:
            return True
        if self._hold_budget > 0:
            self._hold_budget -= 1
            return True
        self.held += 1
        try:
            await gate.wait()
        finally:
            self.held -= 1
        return request.transport is not None and not request.transport.is_closing()

    # ------------------------------------------------------------ getUpdates
    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self._allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED
        return kind in self._allowed_updates

    def _available(self, limit: int) -> list[dict[str, Any]]:
        # Telegram drops updates of types the bot did not ask for instead of keeping them.
        self.updates = [u for u in self.updates if self._wanted(u)]
        return self.updates[:limit]

    async def _get_updates(self, request: web.Request, params: dict[str, Any]) -> Any:
        self._webhook_conflict()
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset > 0:
            # Telegram forgets every update below the offset: they are acknowledged.
            self._acked_offset = max(self._acked_offset, offset)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._pollers[id(request)] = request
        try:
            while True:
                pending = self._available(limit)
                if pending or self._stopping:
                    return pending
                if generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                assert self._wakeup is not None
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), min(remaining, 0.5))
        finally:
            self._pollers.pop(id(request), None)

    # ------------------------------------------------------------ settle
    @property
    def quiet_for(self) -> float:
        """Seconds since the last request (other than a held one) began or ended, or 0 while
        one is in progress: crash tests wait for this before a kill, so the bot has recorded
        every answer it got."""
        if self._inflight:
            return 0.0
        return time.monotonic() - self._last_activity

    @property
    def polling(self) -> bool:
        """True while the bot waits in a getUpdates long poll (it is up and listening), or
        has a webhook set that the double delivers to."""
        return self._live_pollers() > 0 or self.delivering

    def _live_pollers(self) -> int:
        return sum(
            1
            for r in self._pollers.values()
            if r.transport is not None and not r.transport.is_closing()
        )

    def pending_reasons(self, quiet: float | None = None) -> list[str]:
        """Why the bot is not idle yet (empty list = idle); used by settle()."""
        if quiet is None:
            quiet = self.quiet
        if quiet is None:
            quiet = 0.0 if self.idle_probe is not None else QUIET_WITHOUT_PROBE
        if self.crashes:
            raise AssertionError("the Bot API double crashed:\n" + self.crashes[-1])
        reasons = []
        if self.updates:
            ids = [u["update_id"] for u in self.updates]
            reasons.append(f"{len(ids)} update(s) not yet acknowledged: {ids[:10]}")
        if self._inflight:
            reasons.append(f"{self._inflight} API request(s) in progress")
        if quiet > 0:
            idle_for = time.monotonic() - self._last_activity
            if idle_for < quiet:
                reasons.append(f"last request only {idle_for:.3f}s ago")
        if self.webhook is not None:
            if not self.delivering:
                reasons.append("the webhook's delivery has stopped")
            elif self._webhook_posting:
                reasons.append("an update is being posted to the webhook")
        elif not self._live_pollers():
            reasons.append("the bot is not waiting in a getUpdates long poll")
        if self.idle_probe is not None and not self.idle_probe():
            reasons.append("idle_probe() returned False")
        return reasons

    async def settle(self, timeout: float = 10.0, *, quiet: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until the bot has fully handled everything queued so far.

        Idle means: all queued updates were fetched and acknowledged, no API request is in
        progress, the bot sits in a long poll, and ``idle_probe`` (if set) agrees that no
        update, handler or due job is still at work. Idle must hold on two checks in a row,
        an event-loop pass apart, so a request that is just being handed from the bot to the
        server is not missed. ``quiet`` (default: ``self.quiet``) is a minimum time without
        requests; it is needed only for a bot the double cannot probe. Raises AssertionError
        naming what was still pending.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        idle_once = False
        while True:
            reasons = self.pending_reasons(quiet)
            if not reasons:
                if idle_once:
                    return
                idle_once = True
                await asyncio.sleep(0.002)
                continue
            idle_once = False
            if loop.time() >= deadline:
                raise AssertionError(f"settle() timed out after {timeout}s: " + "; ".join(reasons))
            await asyncio.sleep(0.005)


def _coerce(key: str, value: str | bytes | bytearray) -> Any:
    """PTB JSON-encodes non-string values in form data; plain strings are sent as they are."""
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def application_idle_probe(application: Any) -> Callable[[], bool]:
    """An ``idle_probe`` for a PTB Application: True when nothing in it is still at work.

    Checked: no update queued or in a handler (``update_queue.task_done()`` runs only after an
    update's handlers finished, so the unfinished-task count covers sequential and concurrent
    processing), no update held by the update processor, no task started with
    ``Application.create_task`` still running, and no job of the job queue running or due
    (a job whose time has come is work the bot is about to do).
    """
    queue = application.update_queue
    processor = getattr(application, "update_processor", None)
    tasks: set[asyncio.Task[Any]] = getattr(application, "_Application__create_task_tasks", set())

    def probe() -> bool:
        if getattr(queue, "_unfinished_tasks", queue.qsize()):
            return False
        busy: int = getattr(processor, "current_concurrent_updates", 0)
        if busy:
            return False
        if any(not task.done() for task in tasks):
            return False
        return not _jobs_busy(application)

    return probe


def _jobs_busy(application: Any) -> bool:
    """True while a job of the application's job queue is running or due to run."""
    job_queue = getattr(application, "job_queue", None)
    if job_queue is None:
        return False
    scheduler = job_queue.scheduler
    if not scheduler.running:
        return False
    executor = getattr(job_queue, "_executor", None)
    if executor is not None and any(
        not future.done() for future in getattr(executor, "_pending_futures", ())
    ):
        return True
    now = datetime.now(UTC)
    return any(
        job.next_run_time is not None and job.next_run_time <= now
        for job in scheduler.get_jobs()
    )
