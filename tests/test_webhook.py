"""Webhook mode (`BOT_WEBHOOK_URL`): Telegram posts updates to the bot instead of the bot
polling. The double delivers them by POST with the secret header, as Telegram does; a request
without the right secret is refused before anything is stored."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.ops import run_checks
from sandbox import BotAPIDouble
from storage.db import DatabaseLocation
from tests.harness import BotHarness, make_harness

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "https://stikk.example/telegram/updates"
SECRET = "s3cret-Only_Telegram-knows"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def hooked(tmp_path: Path, database_location: DatabaseLocation) -> AsyncIterator[BotHarness]:
    """The real bot in webhook mode behind the double (and its stand-in reverse proxy)."""
    async for harness in make_harness(
        tmp_path,
        database=database_location,
        webhook_url=PUBLIC_URL,
        webhook_listen=("127.0.0.1", free_port()),
        webhook_secret=SECRET,
    ):
        yield harness


def listener(harness: BotHarness) -> str:
    host, port = harness.config.webhook_listen
    return f"http://{host}:{port}/telegram/updates"


def forged_start(user_id: int) -> dict[str, Any]:
    """A /start update as Telegram would post it, from someone who is not Telegram."""
    person = {"id": user_id, "is_bot": False, "first_name": "Mallory"}
    return {
        "update_id": 777_000,
        "message": {
            "message_id": 1,
            "date": 1_764_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Mallory"},
            "from": person,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def inbox_count(harness: BotHarness) -> int:
    return int(await harness.db.fetchval("SELECT COUNT(*) FROM inbox"))


async def test_a_resident_is_answered_through_the_webhook(hooked: BotHarness):
    double = hooked.double
    assert double.webhook is not None
    assert double.webhook.url == PUBLIC_URL
    assert double.webhook.secret_token == SECRET
    assert double.webhook.allowed_updates is not None
    assert "callback_query" in double.webhook.allowed_updates
    # Updates Telegram holds are kept when the webhook is set (a restart loses none).
    [set_webhook] = [call for call in double.calls if call.method == "setWebhook"]
    assert set_webhook.params["drop_pending_updates"] is False

    amina = hooked.resident("Amina", language_code="so")
    replies = await amina.says("/start")

    assert any("Dooro luqaddaada" in (m.text or "") for m in replies)
    await amina.presses("Soomaali")
    assert amina.received[-1].text
    # Every update came by POST and was answered 200; the bot never polled.
    assert double.webhook.answers
    assert all(status == 200 for _, status in double.webhook.answers)
    assert not [call for call in double.calls if call.method.lower() == "getupdates"]
    assert await inbox_count(hooked) == len(double.webhook.answers)


async def test_getupdates_conflicts_while_the_webhook_is_set(hooked: BotHarness):
    url = f"{hooked.double.base_url}/bot{hooked.double.token}/getUpdates"
    async with aiohttp.ClientSession() as http, http.post(url, json={}) as response:
        body = await response.json()
    assert response.status == 409
    assert "webhook is active" in body["description"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "guessed-wrong"}],
    ids=["no secret", "wrong secret"],
)
async def test_a_forged_update_is_refused_and_nothing_is_stored(
    hooked: BotHarness, headers: dict[str, str]
):
    mallory = hooked.double.add_user("Mallory")
    async with (
        aiohttp.ClientSession() as http,
        http.post(listener(hooked), json=forged_start(mallory.id), headers=headers) as response,
    ):
        await response.read()
    await hooked.settle()

    assert response.status == 403
    assert await inbox_count(hooked) == 0
    assert hooked.double.messages_to(mallory) == []

    # The same listener takes Telegram's own delivery, with the secret.
    amina = hooked.resident("Amina", language_code="so")
    await amina.says("/start")
    assert await inbox_count(hooked) == 1
    assert amina.received


async def test_check_reports_the_webhook(hooked: BotHarness):
    lines: list[str] = []
    await run_checks(hooked.config, lines.append)
    assert f"OK    webhook: Telegram posts to {PUBLIC_URL}; 0 update(s) waiting at Telegram" in (
        lines
    ), lines

    # The bot is down: Telegram cannot deliver and says why; check names it as a problem.
    await hooked.stop()
    amina = hooked.resident("Amina")
    hooked.double.send_text(amina.user, "/start")
    for _ in range(200):
        if hooked.double.webhook and hooked.double.webhook.last_error_message:
            break
        await asyncio.sleep(0.02)
    lines.clear()
    problems = await run_checks(hooked.config, lines.append)
    assert problems >= 1
    assert any(
        line.startswith("FIX   Telegram's last error at the webhook")
        and "Connection refused" in line
        for line in lines
    ), lines
    assert any("1 update(s) waiting at Telegram" in line for line in lines), lines

    # Back up: Telegram's retry delivers the update that waited, and it is answered.
    assert amina.received == []
    await hooked.start()
    await hooked.settle()
    assert amina.received
    assert hooked.double.updates == []


async def test_run_in_webhook_mode_answers_and_stops_cleanly_on_sigterm(tmp_path: Path):
    async with BotAPIDouble() as double:
        staff = double.add_user("Kari")
        staff_chat = double.add_supergroup("Staff", members=[staff], admins=[staff])
        database = tmp_path / "data" / "bot.sqlite3"
        port = free_port()
        double.route_webhook("https://stikk.example", f"http://127.0.0.1:{port}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        env.update(
            BOT_TOKEN=double.token,
            BOT_API_BASE_URL=double.base_url,
            BOT_DATABASE=str(database),
            BOT_STAFF_CHAT_ID=str(staff_chat.id),
            BOT_WEBHOOK_URL=PUBLIC_URL,
            BOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            BOT_WEBHOOK_SECRET=SECRET,
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            resident = double.add_user("Amina", language_code="so")
            double.send_text(resident, "/start")
            greeting = await double.next_message(resident, timeout=30)
            assert "Dooro luqaddaada" in greeting.text
            assert double.webhook is not None and double.webhook.url == PUBLIC_URL
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        log = stderr.decode()
        assert process.returncode == 0, log[-2000:]
        assert "with a webhook" in log
        assert double.token not in log
        assert SECRET not in log
        with sqlite3.connect(database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute(
                "SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL"
            ).fetchone() == (0,)


async def test_the_double_balances_the_webhook_over_instances_and_skips_a_dead_one():
    """`route_webhook` with several local addresses is a load balancer: round robin, and an
    address that refuses the connection is skipped for the next one (nginx's
    `proxy_next_upstream error`), so no update waits for a dead instance."""
    received: dict[str, list[int]] = {"a": [], "b": []}
    runners = []
    bases = {}
    for name in received:

        async def take(request: web.Request, name: str = name) -> web.Response:
            received[name].append((await request.json())["update_id"])
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/telegram/updates", take)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        bases[name] = f"http://127.0.0.1:{port}"
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    try:
        async with BotAPIDouble() as double:
            double.route_webhook("https://stikk.example", bases["a"], dead, bases["b"])
            double.api_set_webhook({"url": PUBLIC_URL})
            amina = double.add_user("Amina")
            for i in range(6):
                double.send_text(amina, f"message {i}")
            sent = [update["update_id"] for update in double.updates]
            async with asyncio.timeout(10):
                while double.updates:  # noqa: ASYNC110 (waits for the double's delivery)
                    await asyncio.sleep(0.02)
            assert double.webhook is not None
            # Every update reached one instance once, in Telegram's order.
            assert [update_id for update_id, _ in double.webhook.answered_by] == sent
            assert sorted(received["a"] + received["b"]) == sent
            # In turn: a, (dead: refused, so) b, b, a, (dead) b, b.
            assert [base for _, base in double.webhook.answered_by] == [
                bases[name] for name in "abbabb"
            ]
            assert all(status == 200 for _, status in double.webhook.answers)
    finally:
        for runner in runners:
            await runner.cleanup()
