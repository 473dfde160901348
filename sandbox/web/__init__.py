"""The demo page: residents' phones and the staff forum, drawn from the double's state.

The page (static/index.html, app.js, style.css: no build step) reads one JSON snapshot of every
chat (`GET /api/state`), gets a fresh one pushed whenever the double reports a change
(server-sent events on `/api/events`), and acts as the people in it through small POST calls
that use the same double methods the tests use (`send_text`, `press`, `send_photo`, ...).
It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from babel import Locale, UnknownLocaleError

from sandbox.models import FakeUser

if TYPE_CHECKING:
    from sandbox.demo import Demo

STATIC = Path(__file__).parent / "static"
DEMO_KEY = web.AppKey("demo", object)


@contextlib.asynccontextmanager
async def serve(demo: Demo, port: int) -> AsyncIterator[str]:
    """Serve the page on 127.0.0.1:`port` (0: any free port); yields its URL."""
    from sandbox.demo import DemoError

    app = web.Application(client_max_size=20 * 1024 * 1024, middlewares=[_local_only])
    app[DEMO_KEY] = demo
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/api/events", _events)
    app.router.add_get("/file/{file_id}", _file)
    app.router.add_post("/api/residents", _add_resident)
    app.router.add_post("/api/send", _send)
    app.router.add_post("/api/press", _press)
    app.router.add_post("/api/upload", _upload)
    app.router.add_post("/api/location", _location)
    app.router.add_post("/api/time/{control}", _time)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        try:
            await site.start()
        except OSError as error:
            raise DemoError(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


@web.middleware
async def _local_only(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Only this computer's browser may use the page: a site opened in the same browser must
    not act as the demo's people (its Origin differs), nor read the page through a DNS name
    that points at 127.0.0.1 (its Host differs)."""
    host = (request.host or "").rsplit(":", 1)[0]
    if host not in ("127.0.0.1", "localhost"):
        raise web.HTTPForbidden(text="the demo answers on 127.0.0.1 only")
    origin = request.headers.get("Origin")
    if request.method != "GET" and origin not in (None, f"http://{request.host}"):
        raise web.HTTPForbidden(text="only the demo page may act in the demo")
    return await handler(request)


def _demo(request: web.Request) -> Demo:
    return request.app[DEMO_KEY]  # type: ignore[return-value]


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


# ------------------------------------------------------------ what the page shows
def text_direction(language: str | None) -> str:
    """"rtl" for languages written right to left (Arabic, Urdu, ...), else "ltr"."""
    try:
        return "rtl" if Locale.parse(language or "en").text_direction == "rtl" else "ltr"
    except (UnknownLocaleError, ValueError):
        return "ltr"


def snapshot(demo: Demo) -> dict[str, Any]:
    """Every chat of the demo as the page draws it."""
    double = demo.double
    staff_chat = demo.staff_chat
    chats: dict[int, list[dict[str, Any]]] = {}
    for (chat_id, _), raw in sorted(double.messages.items()):
        chats.setdefault(chat_id, []).append(_message(demo, raw))
    now = demo.clock()
    return {
        "now": now.astimezone(demo.config.timezone).strftime("%a %d %b %Y %H:%M"),
        "office_open": demo.office_is_open(),
        "bot": double.bot_user,
        "residents": [
            {
                "id": user.id,
                "name": user.first_name,
                "language": user.language_code or "",
                "dir": text_direction(user.language_code),
                "messages": chats.get(user.id, []),
                "commands": _commands(demo, user.language_code),
            }
            for user in demo.residents
        ],
        "staff": {"id": demo.staff.id, "name": demo.staff.first_name},
        "staff_chat": {
            "id": staff_chat.id,
            "title": staff_chat.title,
            "topics": [
                {"id": t.id, "name": t.name, "closed": t.closed}
                for t in double.topics(staff_chat)
                if not t.deleted
            ],
            "messages": chats.get(staff_chat.id, []),
            "commands": _commands(demo, "nb", chat_id=staff_chat.id),
        },
        "toasts": [
            {"user_id": a["user_id"], "text": a["text"], "alert": a["show_alert"]}
            for a in double.answered_callbacks
            if a["text"]
        ],
    }


def _commands(
    demo: Demo, language: str | None, chat_id: int | None = None
) -> list[dict[str, Any]]:
    """The command menu Telegram would offer in this chat, in the user's language."""
    scope = {"type": "chat", "chat_id": chat_id} if chat_id else {"type": "all_private_chats"}
    key = json.dumps(scope, sort_keys=True)
    return demo.double.commands.get((key, language or ""), []) or demo.double.commands.get(
        (key, ""), []
    )


def _message(demo: Demo, raw: dict[str, Any]) -> dict[str, Any]:
    """A message as the page draws it: text and entities as Telegram delivers them (the page
    turns entities into formatting), media as links to /file/, keyboards as buttons."""
    double = demo.double
    chat_id = raw["chat"]["id"]
    sender = raw.get("from") or {}
    sent = double.sent_message(chat_id, raw["message_id"])
    item: dict[str, Any] = {
        "id": raw["message_id"],
        "chat_id": chat_id,
        "thread_id": raw.get("message_thread_id"),
        "outgoing": sender.get("id") == double.bot_id,
        "from": sender.get("first_name", ""),
        "text": raw.get("text", raw.get("caption", "")),
        "entities": raw.get("entities", raw.get("caption_entities", [])),
        "edited": "edit_date" in raw,
        "inline_keyboard": (raw.get("reply_markup") or {}).get("inline_keyboard", []),
    }
    if sent is not None and sent.reply_markup:
        if "keyboard" in sent.reply_markup:
            item["reply_keyboard"] = sent.reply_markup["keyboard"]
        elif sent.reply_markup.get("remove_keyboard"):
            item["reply_keyboard"] = []
    if "forum_topic_created" in raw:
        item["service"] = f"Topic created: {raw['forum_topic_created']['name']}"
    reply = raw.get("reply_to_message")
    if reply and "forum_topic_created" not in reply:
        item["reply_to"] = (reply.get("text") or reply.get("caption") or "…")[:80]
    for kind in ("photo", "document", "voice", "audio", "video", "sticker", "animation"):
        if kind in raw:
            media = raw[kind][-1] if kind == "photo" else raw[kind]
            item["media"] = {
                "kind": kind,
                "url": f"/file/{media['file_id']}",
                "name": media.get("file_name") or kind,
            }
            break
    location = raw.get("location")
    if location:
        item["location"] = {
            "latitude": location["latitude"],
            "longitude": location["longitude"],
            "title": (raw.get("venue") or {}).get("title", ""),
        }
    return item


async def _state(request: web.Request) -> web.Response:
    return web.json_response(snapshot(_demo(request)))


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: a fresh snapshot after every change (coalesced)."""
    demo = _demo(request)
    changed = asyncio.Event()
    changed.set()
    demo.double.change_listeners.append(changed.set)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), 15)
            if not changed.is_set():
                await response.write(b": still here\n\n")
                continue
            await asyncio.sleep(0.05)  # one snapshot for a burst of changes
            changed.clear()
            body = json.dumps(snapshot(demo), ensure_ascii=False)
            await response.write(f"data: {body}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        demo.double.change_listeners.remove(changed.set)
    return response


async def _file(request: web.Request) -> web.Response:
    stored = _demo(request).double.files.get(request.match_info["file_id"])
    if stored is None:
        raise web.HTTPNotFound()
    mime = (stored.mime_type or _guess_type(stored.kind)).split(";")[0].strip()
    headers = {"X-Content-Type-Options": "nosniff"}
    if not mime.startswith(("image/", "audio/")):
        # Anything else (an .ics, a spreadsheet, an uploaded .html) is downloaded, not shown.
        name = "".join(c for c in stored.file_name or "file" if c.isalnum() or c in "._- ")
        headers["Content-Disposition"] = f'attachment; filename="{name or "file"}"'
        mime = "application/octet-stream" if mime.startswith("text/html") else mime
    return web.Response(body=stored.data, content_type=mime, headers=headers)


def _guess_type(kind: str) -> str:
    return {"photo": "image/jpeg", "voice": "audio/ogg"}.get(kind, "application/octet-stream")


# ------------------------------------------------------------ acting as the people
def _person(demo: Demo, data: Any) -> FakeUser:
    user = demo.double.users.get(int(data.get("user_id") or 0))
    if user is None:
        raise web.HTTPBadRequest(text="unknown person")
    return user


def _where(demo: Demo, user: FakeUser, data: Any) -> dict[str, Any]:
    """Staff write in the staff forum (a topic, or General); residents in their private chat."""
    if user is not demo.staff:
        return {}
    where: dict[str, Any] = {"chat": demo.staff_chat, "thread_id": None}
    thread = int(data.get("thread_id") or 0)
    if thread:
        where["thread_id"] = thread
    reply_to = int(data.get("reply_to") or 0)
    if reply_to:
        where["reply_to"] = demo.double.messages.get((demo.staff_chat.id, reply_to))
    return where


async def _add_resident(request: web.Request) -> web.Response:
    demo, data = _demo(request), await request.json()
    language = str(data.get("language") or "").strip().lower()[:8] or None
    user = demo.add_resident(str(data.get("name") or ""), language)
    demo.double.changed()
    return web.json_response({"id": user.id})


async def _send(request: web.Request) -> web.Response:
    demo, data = _demo(request), await request.json()
    user = _person(demo, data)
    text = str(data.get("text") or "")
    if not text.strip():
        raise web.HTTPBadRequest(text="empty message")
    demo.double.send_text(user, text[:4096], **_where(demo, user, data))
    return web.json_response({"ok": True})


async def _press(request: web.Request) -> web.Response:
    demo, data = _demo(request), await request.json()
    user = _person(demo, data)
    raw = demo.double.messages.get((int(data["chat_id"]), int(data["message_id"])))
    if raw is None:
        raise web.HTTPNotFound(text="the message is gone")
    demo.double.press(user, raw, str(data["data"]))
    return web.json_response({"ok": True})


async def _upload(request: web.Request) -> web.Response:
    """A photo, voice message or file from the page's file picker."""
    demo = _demo(request)
    form = await request.post()
    user = _person(demo, form)
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise web.HTTPBadRequest(text="no file")
    data, mime = upload.file.read(), upload.content_type or "application/octet-stream"
    caption = str(form.get("caption") or "") or None
    where = _where(demo, user, form)
    if mime in ("image/jpeg", "image/png", "image/webp") and form.get("as_file") != "1":
        demo.double.send_photo(user, data, caption=caption, **where)
    elif mime.startswith("audio/"):
        demo.double.send_voice(user, data, caption=caption, **where)
    else:
        name = upload.filename or "file"
        demo.double.send_document(user, data, name, mime, caption=caption, **where)
    return web.json_response({"ok": True})


async def _location(request: web.Request) -> web.Response:
    demo, data = _demo(request), await request.json()
    user = _person(demo, data)
    latitude, longitude = float(data["latitude"]), float(data["longitude"])
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise web.HTTPBadRequest(text="not a place on earth")
    demo.double.send_location(user, latitude, longitude, **_where(demo, user, data))
    return web.json_response({"ok": True})


async def _time(request: web.Request) -> web.Response:
    """The time controls: send the digest now, pass the next activity, open/close the office."""
    demo = _demo(request)
    control = request.match_info["control"]
    if control == "digest":
        await demo.send_digest_now()
        return web.json_response({"ok": True, "note": "This week's digest was sent."})
    if control == "activity":
        title = await demo.pass_next_activity()
        note = f"The clock is now past “{title}”." if title else "No activity is coming."
        return web.json_response({"ok": True, "note": note})
    if control == "office":
        is_open = demo.toggle_office()
        note = "The office is open." if is_open else "The office is closed."
        return web.json_response({"ok": True, "note": note})
    raise web.HTTPNotFound()
