"""Fitting HTML messages into Telegram's limits without breaking the markup.

Telegram counts a message's length after parsing (4096 for texts, 1024 for captions), in
UTF-16 code units. A tip with a long description or a digest with many activities can pass
that, so long texts are split into several messages: preferably at a line break, never inside a
tag or an entity, and with open tags closed at the end of one part and reopened in the next.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# Tags, entities, line breaks, and runs of other text (split into characters only if a run
# has to be cut).
_TOKEN_RE = re.compile(
    r"<(/?)([a-zA-Z-]+)[^>]*>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|\n|[^<&\n]+|[<&]"
)


@dataclass(frozen=True)
class _Token:
    raw: str
    length: int  # UTF-16 code units once parsed
    opens: str | None = None
    closes: str | None = None


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN_RE.finditer(text):
        raw = match.group(0)
        if match.group(2):
            name = match.group(2).lower()
            if match.group(1):
                tokens.append(_Token(raw, 0, closes=name))
            else:
                tokens.append(_Token(raw, 0, opens=name))
        elif match.group(3):
            tokens.append(_Token(raw, _units(html.unescape(raw))))
        else:
            tokens.append(_Token(raw, _units(raw)))
    return tokens


def _cut(token: _Token, room: int) -> tuple[_Token, _Token]:
    """Split a text run so that the head is at most `room` UTF-16 units long."""
    if token.length == len(token.raw):  # no characters outside the BMP: units == characters
        head, tail = token.raw[:room], token.raw[room:]
        return _Token(head, len(head)), _Token(tail, len(tail))
    used = 0
    for index, char in enumerate(token.raw):
        used += _units(char)
        if used > room:
            head, tail = token.raw[:index], token.raw[index:]
            return _Token(head, _units(head)), _Token(tail, _units(tail))
    return token, _Token("", 0)


def _is_text(token: _Token) -> bool:
    return not (token.opens or token.closes or token.raw.startswith("&") or token.raw == "\n")


def plain_length(text: str) -> int:
    """The length Telegram will measure for this HTML text."""
    return sum(token.length for token in _tokens(text))


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split HTML into parts of at most `limit` parsed characters each."""
    # Tags and entities only get shorter when parsed, so the raw length is an upper bound:
    # almost every message is decided here without tokenizing it.
    if _units(text) <= limit or plain_length(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[_Token] = []
    length = 0
    stack: list[_Token] = []  # open tags
    # Where the last line break in `current` is, and which tags were open there.
    last_break: tuple[int, list[_Token]] | None = None

    def flush(upto: int, open_tags: list[_Token]) -> None:
        nonlocal current, length, last_break
        head, tail = current[:upto], current[upto:]
        closing = "".join(f"</{tag.opens}>" for tag in reversed(open_tags))
        part = ("".join(token.raw for token in head) + closing).strip()
        if part:
            parts.append(part)
        current = list(open_tags) + tail
        length = sum(token.length for token in current)
        last_break = None

    for token in _tokens(text):
        while token.length and length + token.length > limit:
            if last_break is not None and last_break[0] > len(current) // 2:
                flush(*last_break)
                continue
            room = limit - length
            if room > 0 and _is_text(token):
                head, token = _cut(token, room)
                current.append(head)
                length += head.length
            flush(len(current), list(stack))
        if not token.raw:
            continue
        current.append(token)
        length += token.length
        if token.opens:
            stack.append(token)
        elif token.closes:
            for index in range(len(stack) - 1, -1, -1):
                if stack[index].opens == token.closes:
                    del stack[index]
                    break
        elif token.raw == "\n":
            last_break = (len(current), list(stack))
    flush(len(current), [])
    return parts


def fit(text: str, limit: int = CAPTION_LIMIT) -> str:
    """The first part of `text` that fits `limit`, marked with … if something was cut."""
    parts = split_html(text, limit - 1)
    return parts[0] if len(parts) == 1 else parts[0] + "…"
