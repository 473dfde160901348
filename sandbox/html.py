"""A strict re-implementation of Telegram's ``parse_mode="HTML"`` parser.

The bot builds every message with HTML, so the most common production failure is an
unescaped user string (``<``, ``&``) that makes Telegram reject the message with
"can't parse entities". The double must reject exactly what Telegram rejects (and, for a bare
``&``, a little more), otherwise such bugs would only show up in production. The error texts
follow Telegram's (tdlib's) wording so that the bot's error handling can be tested against them.
"""

from __future__ import annotations

from typing import Any

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ValueError):
    """Raised with the text Telegram puts after "Bad Request: can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Telegram measures offsets and lengths in UTF-16 code units, not code points."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    """tdlib reports positions as UTF-8 byte offsets into the original string."""
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, pos: int) -> tuple[str, int]:
    """Decode the character reference starting at ``source[pos] == '&'``.

    Returns the decoded character and the index after the ``;``. Telegram silently keeps an
    unknown ``&`` as text; the double rejects it instead because a bare ``&`` in bot output
    almost always means a user-supplied string was not escaped (and ``&lt;b&gt;`` style
    sequences would then change meaning).
    """
    end = source.find(";", pos + 1, pos + 12)
    if end != -1:
        name = source[pos + 1 : end]
        if name in _NAMED_ENTITIES:
            return _NAMED_ENTITIES[name], end + 1
        try:
            if name[:2] in ("#x", "#X"):
                code = int(name[2:], 16)
            elif name[:1] == "#" and name[1:].isdigit():
                code = int(name[1:])
            else:
                code = -1
        except ValueError:
            code = -1
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), end + 1
    raise EntityParseError(
        f"Unsupported HTML entity at byte offset {_byte_offset(source, pos)}; "
        'a bare "&" must be written as "&amp;"'
    )


def _parse_attributes(source: str, pos: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse ``name="value"`` pairs up to and including the closing ``>`` of a start tag."""
    attrs: dict[str, str] = {}
    n = len(source)
    while True:
        while pos < n and source[pos].isspace():
            pos += 1
        if pos >= n:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
            )
        if source[pos] == ">":
            return attrs, pos + 1
        start = pos
        while pos < n and not source[pos].isspace() and source[pos] not in "=>":
            pos += 1
        name = source[start:pos].lower()
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{_byte_offset(source, begin)}"
            )
        while pos < n and source[pos].isspace():
            pos += 1
        if pos < n and source[pos] != "=":
            if tag == "blockquote" and name == "expandable":
                attrs[name] = ""
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte '
                f"offset {_byte_offset(source, begin)}"
            )
        if pos >= n:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
            )
        pos += 1
        while pos < n and source[pos].isspace():
            pos += 1
        if pos >= n:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
            )
        value_chars: list[str] = []
        if source[pos] in "\"'":
            quote = source[pos]
            pos += 1
            while True:
                if pos >= n:
                    raise EntityParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
                    )
                if source[pos] == quote:
                    pos += 1
                    break
                if source[pos] == "&":
                    char, pos = _decode_entity(source, pos)
                    value_chars.append(char)
                else:
                    value_chars.append(source[pos])
                    pos += 1
        else:
            while pos < n and not source[pos].isspace() and source[pos] != ">":
                value_chars.append(source[pos])
                pos += 1
        attrs[name] = "".join(value_chars)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Turn Telegram HTML into ``(plain_text, entities)`` or raise :class:`EntityParseError`.

    Entities use UTF-16 offsets/lengths, are sorted by offset (longer first) and empty ones are
    dropped, as Telegram returns them in the sent ``Message``.
    """
    out: list[str] = []
    out_len = 0  # UTF-16 length of "".join(out)
    stack: list[tuple[str, dict[str, str], int]] = []  # (tag, attrs, start offset)
    entities: list[dict[str, Any]] = []
    pos, n = 0, len(source)
    while pos < n:
        ch = source[pos]
        if ch == "&":
            char, pos = _decode_entity(source, pos)
            out.append(char)
            out_len += utf16_len(char)
            continue
        if ch == ">":
            # Telegram tolerates a bare ">" in text.
            out.append(ch)
            out_len += 1
            pos += 1
            continue
        if ch != "<":
            out.append(ch)
            out_len += utf16_len(ch)
            pos += 1
            continue
        begin = pos
        pos += 1
        if pos < n and source[pos] == "/":
            pos += 1
            if not stack:
                raise EntityParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(source, begin)}"
                )
            start = pos
            while pos < n and not source[pos].isspace() and source[pos] != ">":
                pos += 1
            end_name = source[start:pos].lower()
            while pos < n and source[pos].isspace():
                pos += 1
            if pos >= n or source[pos] != ">":
                raise EntityParseError(
                    f"Unclosed end tag at byte offset {_byte_offset(source, begin)}"
                )
            pos += 1
            tag, attrs, offset = stack.pop()
            if end_name and end_name != tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, expected "
                    f'"</{tag}>", found "</{end_name}>"'
                )
            _close(tag, attrs, offset, out_len, entities, stack)
            continue
        start = pos
        while pos < n and not source[pos].isspace() and source[pos] != ">":
            pos += 1
        if pos >= n:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
            )
        tag = source[start:pos].lower()
        if tag not in SUPPORTED_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, begin)}'
            )
        attrs, pos = _parse_attributes(source, pos, tag, begin)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise EntityParseError('Tag "tg-emoji" must have attribute "emoji-id"')
        stack.append((tag, attrs, out_len))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities = [e for e in entities if e["length"] > 0]
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close(
    tag: str,
    attrs: dict[str, str],
    offset: int,
    end: int,
    entities: list[dict[str, Any]],
    stack: list[tuple[str, dict[str, str], int]],
) -> None:
    """Emit the entity for a just-closed tag (``<pre><code class>`` merges into one entity)."""
    entity: dict[str, Any] = {"offset": offset, "length": end - offset}
    if tag in _SIMPLE:
        entity["type"] = _SIMPLE[tag]
        if tag == "code" and stack and stack[-1][0] == "pre":
            language = attrs.get("class", "")
            if language.startswith("language-"):
                # Telegram folds <pre><code class="language-x"> into one pre entity.
                stack[-1][1]["language"] = language[len("language-") :]
                return
    elif tag == "span":
        entity["type"] = "spoiler"
    elif tag == "pre":
        entity["type"] = "pre"
        if attrs.get("language"):
            entity["language"] = attrs["language"]
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in attrs else "blockquote"
    elif tag == "tg-emoji":
        entity["type"] = "custom_emoji"
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif tag == "a":
        href = attrs.get("href", "")
        if not href:
            return
        if href.startswith("tg://user?id=") and href[13:].isdigit():
            entity["type"] = "text_mention"
            entity["user"] = {"id": int(href[13:]), "is_bot": False, "first_name": "User"}
        else:
            entity["type"] = "text_link"
            entity["url"] = href
    entities.append(entity)
