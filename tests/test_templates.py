"""Every message template, in every language, filled with hostile values, is valid for Telegram.

Residents and staff type `<`, `&`, `</b>`, direction marks, emoji and very long texts. Whatever
they type, the bot's HTML must parse in Telegram's strict parser and fit its limits.
"""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, SUPPORTED_LANGUAGES, Catalogs, placeholders
from bot.render import TEXT_LIMIT, split_html
from sandbox import parse_html, utf16_len

HOSTILE_VALUES = [
    "<",
    "&",
    "</b>",
    "<b>x</b> & co",
    "&amp;lt;",
    "\u202e\u200f right-to-left \u202d\u2066",
    "👨‍👩‍👧‍👦🏳️‍🌈" * 50,
    "x" * 4096,
    "<a href='javascript:alert(1)'>click</a>",
    "",
]


def _templates() -> list[tuple[str, str | tuple[str, str]]]:
    with (LOCALES_DIR / "nb" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="nb")
    found = []
    for message in catalog:
        if message.id:
            found.append(message.id)
    return found


TEMPLATES = _templates()


def test_there_are_templates_to_check():
    assert len(TEMPLATES) > 40


@pytest.mark.parametrize("language", list(SUPPORTED_LANGUAGES))
def test_every_template_with_hostile_values_parses_and_fits(language: str):
    t = Catalogs().texts(language)
    checked = 0
    for msgid in TEMPLATES:
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        names = set().union(*(placeholders(i) for i in ids)) - {"count"}
        for value in HOSTILE_VALUES:
            values = dict.fromkeys(names, value)
            if isinstance(msgid, tuple):
                rendered = [t.n_(msgid[0], msgid[1], n, **values) for n in (0, 1, 2, 5, 11, 101)]
            else:
                rendered = [t._(msgid, **values)]
            for html_text in rendered:
                for part in split_html(html_text, TEXT_LIMIT):
                    text, _ = parse_html(part)  # raises EntityParseError on bad markup
                    assert utf16_len(text) <= TEXT_LIMIT
                checked += 1
    assert checked >= len(TEMPLATES) * len(HOSTILE_VALUES)
