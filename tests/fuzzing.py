"""Random update sequences for the fuzz test: what a careless, curious or hostile crowd sends."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from sandbox.models import FakeUser

#: Commands the bot knows, plus some it does not; arguments are appended at random.
COMMANDS = [
    "/start",
    "/help",
    "/language",
    "/privacy",
    "/cancel",
    "/mydata",
    "/deleteme",
    "/staff",
    "/tip",
    "/mytips",
    "/contact",
    "/subscribe",
    "/unsubscribe",
    "/activities",
    "/survey",
    "/close",
    "/note",
    "/assign",
    "/cases",
    "/stats",
    "/digest",
    "/results",
    "/survey_send",
    "/export",
    "/nonsense",
    "/start@stikk_test_bot",
    "/",
]
#: Prefixes of real callback data, so random suffixes reach the features' parsers.
CALLBACK_PREFIXES = [
    "lang:",
    "menu:",
    "privacy:forget:",
    "privacy:keep",
    "act:age:",
    "act:cancel:",
    "act:go:",
    "act:ics:",
    "act:no:",
    "act:ok:",
    "act:save",
    "case:assign:",
    "case:name:",
    "case:new:",
    "case:no:",
    "case:rate:",
    "sv:go:",
    "sv:x:",
    "sv:a:",
    "sv:skip:",
    "sv:stop:",
    "sv:done:",
    "tip:",
    "",
]


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


JPEG = _jpeg()


@dataclass(frozen=True)
class Action:
    """One thing a person does; `apply` queues it in the double."""

    who: int  # index into the people
    kind: str
    text: str = ""
    number: float = 0.0

    def apply(self, double: Any, people: list[FakeUser], staff_chat: Any) -> None:
        user = people[self.who % len(people)]
        handlers: dict[str, Callable[[], Any]] = {
            "text": lambda: double.send_text(user, self.text or " "),
            "command": lambda: double.send_text(user, self.text),
            "press": lambda: _press(double, user, self.text or "x"),
            "photo": lambda: double.send_photo(user, JPEG, caption=self.text or None),
            "document": lambda: double.send_document(
                user, self.text.encode()[:2000] or b"x", "file.bin", "application/octet-stream"
            ),
            "voice": lambda: double.send_voice(user),
            "video": lambda: double.send_video(user),
            "location": lambda: double.send_location(
                user, max(-90.0, min(90.0, self.number)), max(-180.0, min(180.0, self.number * 2))
            ),
            "sticker": lambda: double.send_sticker(user),
            "contact": lambda: double.send_contact(user, "+4712345678", "Someone"),
            "poll": lambda: double.send_poll(user),
            "dice": lambda: double.send_dice(user),
            "album": lambda: double.send_album(user, [JPEG, JPEG], caption=self.text or None),
            "edit": lambda: double.edit_text(
                user, double.send_text(user, "first version"), self.text or "second"
            ),
            "staff_text": lambda: double.send_text(user, self.text or ".", chat=staff_chat),
            "staff_command": lambda: double.send_text(user, self.text, chat=staff_chat),
        }
        handlers[self.kind]()


def _press(double: Any, user: FakeUser, data: str) -> None:
    """Press a button with any data on a real message the bot sent this person.

    Telegram only lets a client press buttons of messages the bot really sent, but the data of
    the press can be anything (old, forged or made up), so that is what varies here.
    """
    messages = double.messages_to(user)
    if not messages:
        double.send_text(user, "/start")
        return
    with_buttons = [m for m in messages if m.buttons] or messages
    double.press(user, with_buttons[len(data) % len(with_buttons)], data)


_text = st.text(max_size=300)
_command = st.builds(
    lambda c, arg: f"{c} {arg}".strip(), st.sampled_from(COMMANDS), st.text(max_size=80)
)
_callback = st.builds(
    lambda prefix, rest: (prefix + rest).encode()[:64].decode("utf-8", "ignore") or "x",
    st.sampled_from(CALLBACK_PREFIXES),
    st.one_of(
        st.text(min_size=0, max_size=60),
        st.integers(-5, 10**12).map(str),
        st.tuples(st.integers(0, 50), st.integers(0, 9)).map(lambda p: f"{p[0]}:{p[1]}"),
    ),
)

actions = st.one_of(
    st.builds(Action, st.integers(0, 5), st.just("text"), _text),
    st.builds(Action, st.integers(0, 5), st.just("command"), _command),
    st.builds(Action, st.integers(0, 5), st.just("press"), _callback),
    st.builds(Action, st.integers(0, 5), st.just("photo"), _text),
    st.builds(Action, st.integers(0, 5), st.just("document"), _text),
    st.builds(
        Action,
        st.integers(0, 5),
        st.sampled_from(["voice", "video", "sticker", "contact", "poll", "dice", "album"]),
    ),
    st.builds(
        Action,
        st.integers(0, 5),
        st.just("location"),
        st.just(""),
        st.floats(-200, 200, allow_nan=False),
    ),
    st.builds(Action, st.integers(0, 5), st.just("edit"), _text),
    st.builds(Action, st.integers(6, 7), st.just("staff_text"), _text),
    st.builds(Action, st.integers(6, 7), st.just("staff_command"), _command),
)
