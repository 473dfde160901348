"""Webhooks in the double: `setWebhook`, `deleteWebhook`, `getWebhookInfo`, and delivery of
updates by POST to the bot, as Telegram does once a webhook is set.

    double.route_webhook("https://stikk.example", f"http://127.0.0.1:{port}")

Telegram calls only public HTTPS URLs, and so does the double (`setWebhook` refuses anything
else, like Telegram). `route_webhook` plays the HTTPS reverse proxy in front of the bot: a
request for the public origin is sent to the local address with the same path. Given several
local addresses it is a load balancer in front of several instances: round robin, and an
instance that refuses the connection (it is down) is skipped for the next one, as nginx's
`proxy_next_upstream error` does. A request that reached an instance is not sent to another
one: its answer (or none) counts, and Telegram tries the update again later.

Delivery follows Telegram: one update at a time, in order (the next only after the bot's 2xx
for the previous one), as `application/json` with `X-Telegram-Bot-Api-Secret-Token` when a
secret was set; any other answer, or none, is recorded in `getWebhookInfo`'s
`last_error_message` and the update is sent again after a pause (doubling, at most
`WEBHOOK_RETRY_MAX` seconds; Telegram's pauses are longer). While a webhook is set,
getUpdates answers 409 Conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from sandbox.models import ApiError, bad_request

#: Telegram calls webhooks on these ports only.
WEBHOOK_PORTS = frozenset({443, 80, 88, 8443})
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
#: The double's pauses between attempts at one update (Telegram's are minutes, not seconds).
WEBHOOK_RETRY_FIRST = 0.05
WEBHOOK_RETRY_MAX = 2.0
#: How long the double waits for the bot's answer to one POST.
WEBHOOK_TIMEOUT = 10.0


@dataclass
class Webhook:
    """What `setWebhook` set, and how delivery is going."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None
    #: Every answer the bot gave to a POST, in order: (update_id, HTTP status or 0 for none).
    answers: list[tuple[int, int]] = field(default_factory=list)
    #: Which local address answered each update with a 2xx: (update_id, local base URL).
    answered_by: list[tuple[int, str]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class WebhookDelivery:
    """Mixed into the double's server: the webhook half of receiving updates.

    Relies on the server's `updates`, `_available(limit)` (drops unwanted types),
    `_allowed_updates` and `_wakeup` (set when an update is queued).
    """

    updates: list[dict[str, Any]]
    _allowed_updates: frozenset[str] | None
    _wakeup: asyncio.Event | None
    _stopping: bool

    def _init_webhook(self) -> None:
        self.webhook: Webhook | None = None
        #: Public origin (scheme://host[:port]) -> local base URLs: the reverse proxy.
        self.webhook_routes: dict[str, list[str]] = {}
        #: Per public origin, the index of the local address the next request goes to first.
        self._next_upstream: dict[str, int] = {}
        self._webhook_session: aiohttp.ClientSession | None = None
        self._webhook_posting = False

    def route_webhook(self, public_origin: str, local_base: str, *more: str) -> None:
        """Pass POSTs for `public_origin` (e.g. `https://stikk.example`) to `local_base`
        (e.g. `http://127.0.0.1:8443`), keeping the path: what nginx or Caddy does.

        With `more` local addresses, each request goes to the next address in turn (round
        robin); one that refuses the connection is skipped for the next (see the module).
        """
        origin = public_origin.rstrip("/")
        self.webhook_routes[origin] = [base.rstrip("/") for base in (local_base, *more)]
        self._next_upstream[origin] = 0

    # ------------------------------------------------------------ Bot API methods
    def api_set_webhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url") or "")
        if not url:
            self._drop_webhook(bool(params.get("drop_pending_updates")))
            return True
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        try:
            port = parts.port or 443
        except ValueError:
            port = 0
        if port not in WEBHOOK_PORTS:
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.match(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        max_connections = int(params.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self._stop_delivery()
        self.webhook = Webhook(
            url=url,
            secret_token=str(secret) if secret is not None else None,
            max_connections=max_connections,
            allowed_updates=list(allowed) if isinstance(allowed, list) else None,
        )
        self.webhook.task = asyncio.get_running_loop().create_task(
            self._deliver_webhook(self.webhook), name="double-webhook"
        )
        return True

    def api_delete_webhook(self, params: dict[str, Any]) -> Any:
        self._drop_webhook(bool(params.get("drop_pending_updates")))
        return True

    def api_get_webhook_info(self, params: dict[str, Any]) -> Any:
        hook = self.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _webhook_conflict(self) -> None:
        """getUpdates while a webhook is set: Telegram's 409."""
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )

    def _drop_webhook(self, drop_pending: bool) -> None:
        self._stop_delivery()
        self.webhook = None
        if drop_pending:
            self.updates.clear()

    def _stop_delivery(self) -> None:
        if self.webhook is not None and self.webhook.task is not None:
            self.webhook.task.cancel()

    async def _close_webhook(self) -> None:
        """At the double's stop."""
        task = self.webhook.task if self.webhook is not None else None
        self._stop_delivery()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._webhook_session is not None:
            await self._webhook_session.close()
            self._webhook_session = None

    # ------------------------------------------------------------ delivery
    @property
    def delivering(self) -> bool:
        """True while a webhook is set and its delivery runs (the bot is reachable or retried)."""
        hook = self.webhook
        return hook is not None and hook.task is not None and not hook.task.done()

    async def _deliver_webhook(self, hook: Webhook) -> None:
        pause = WEBHOOK_RETRY_FIRST
        while not self._stopping:
            pending = self._available(1)  # type: ignore[attr-defined]  # the server's
            if not pending:
                assert self._wakeup is not None
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), 0.5)
                continue
            update = pending[0]
            status, problem = await self._post_update(hook, update)
            hook.answers.append((update["update_id"], status))
            if problem is None:
                # Acknowledged: Telegram forgets it.
                self.updates = [u for u in self.updates if u["update_id"] != update["update_id"]]
                pause = WEBHOOK_RETRY_FIRST
                continue
            hook.last_error_date = int(time.time())
            hook.last_error_message = problem
            await asyncio.sleep(pause)
            pause = min(pause * 2, WEBHOOK_RETRY_MAX)

    async def _post_update(self, hook: Webhook, update: dict[str, Any]) -> tuple[int, str | None]:
        """POST one update; (status, None) for a 2xx, else (status or 0, what went wrong)."""
        parts = urlsplit(hook.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        bases = self.webhook_routes.get(origin)
        if not bases:
            return 0, "Failed to resolve host: Name or service not known"
        first = self._next_upstream.get(origin, 0) % len(bases)
        self._next_upstream[origin] = first + 1
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        result: tuple[int, str | None] = (0, "Connection refused")
        for turn in range(len(bases)):
            base = bases[(first + turn) % len(bases)]
            refused, result = await self._post_to(base + path, hook, update)
            if not refused:
                if result[1] is None:
                    hook.answered_by.append((update["update_id"], base))
                break
        return result

    async def _post_to(
        self, target: str, hook: Webhook, update: dict[str, Any]
    ) -> tuple[bool, tuple[int, str | None]]:
        """POST to one local address: (refused, (status, problem)); `refused` when the
        connection could not be made, so nothing reached the instance."""
        headers = {"Content-Type": "application/json"}
        if hook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        if self._webhook_session is None:
            self._webhook_session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT)
            )
        self._webhook_posting = True
        try:
            async with self._webhook_session.post(
                target, data=json.dumps(update), headers=headers
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return False, (response.status, None)
                return False, (
                    response.status,
                    f"Wrong response from the webhook: {response.status} {response.reason}",
                )
        except TimeoutError:
            return False, (0, "Read timeout expired")
        except aiohttp.ClientConnectorError:
            return True, (0, "Connection refused")
        except aiohttp.ClientError:
            # The connection broke after the request went out (the instance died meanwhile).
            return False, (0, "Connection reset by peer")
        finally:
            self._webhook_posting = False
