"""The QR poster prints every script the bot speaks, never empty boxes ("tofu")."""

from __future__ import annotations

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw

from bot.surveys.poster import PAGE, _line_font, candidate_fonts, make_poster

LINK = "https://t.me/StikkInnomBot?start=survey-park-2026"

#: One greeting per script: Tigrinya (Ethiopic), Tamil, Urdu letters DejaVu lacks, Cyrillic.
TITLES = [
    ("ti", "ሰላም", False),
    ("ta", "வணக்கம்", False),
    ("ur", "آپ پارک کے بارے میں کیا سوچتے ہیں؟", True),
    ("uk", "Що ви думаєте про парк?", False),
]


def _ink(font, text: str, kwargs: dict) -> bytes:
    image = Image.new("L", (1400, 120), 255)
    ImageDraw.Draw(image).text((10, 10), text, fill=0, font=font, **kwargs)
    return image.tobytes()


@pytest.mark.parametrize(("language", "text", "rtl"), TITLES)
def test_the_chosen_font_has_every_letter(language: str, text: str, rtl: bool):
    chosen = _line_font(text, rtl, candidate_fonts(), 56)
    assert chosen is not None, f"no font for {language}"
    font, drawn, kwargs = chosen
    cmap = TTFont(font.path, lazy=True).getBestCmap()
    missing = [char for char in text if not char.isspace() and ord(char) not in cmap]
    assert not missing, f"{language}: {font.path} lacks {missing}"
    # Drawn, the line is real letters, not the box every missing letter turns into.
    letters = _ink(font, drawn, kwargs)
    assert letters != _ink(font, "", {}), f"{language}: nothing was drawn"
    assert letters != _ink(font, "\U000e0000" * len(drawn), {})


def test_a_poster_in_tigrinya_and_tamil_prints_both_titles():
    poster = make_poster(LINK, [("ti", "ሰላም"), ("ta", "வணக்கம்")], heading="Stikk innom")
    assert poster.left_out == ()
    assert poster.image.size == PAGE
    # Above the QR code: the heading and one line per title, each a band of ink.
    assert _text_lines_above_the_code(poster.image) == 3
    assert _text_lines_above_the_code(make_poster(LINK, [], heading="Stikk innom").image) == 1


#: Blank rows that separate two lines of text (marks above letters come closer than this).
GAP = 12


def _text_lines_above_the_code(image: Image.Image) -> int:
    """Bands of rows with ink above the first row that is mostly QR code (wide dark runs)."""
    gray = image.convert("L").point(lambda value: 255 if value < 128 else 0)
    lines, blank_rows = 0, GAP
    for y in range(PAGE[1]):
        dark = gray.crop((0, y, PAGE[0], y + 1)).histogram()[255]
        if dark > PAGE[0] // 4:  # the code's finder patterns: far more ink than any letters
            return lines
        if dark and blank_rows >= GAP:
            lines += 1
        blank_rows = 0 if dark else blank_rows + 1
    return lines


def test_a_script_no_font_has_is_left_out_and_reported():
    poster = make_poster(LINK, [("nb", "Parken"), ("xx", "\U0001d11e\U0001d11e")])
    assert poster.left_out == ("xx",)
