"""A printable A4 poster: the survey's title in the chosen languages and a big QR code.

The QR code (segno) holds the deep link `https://t.me/<bot>?start=survey-<slug>`; the link is
also printed under it for people who type rather than scan.

Arabic and Urdu must be joined and run right to left to be readable. With Pillow's complex
text layout (libraqm: HarfBuzz shaping, FriBiDi ordering) the text is laid out properly; where
Pillow lacks it, the letters are shaped with arabic-reshaper and ordered with python-bidi
instead. A line is printed only in a font that has every letter it needs: a missing glyph would
print as empty boxes ("tofu"), so such a line is left out and reported, and an operator can
pass a font that has them (`--font`). A left-to-right line no single font covers (Ethiopic
letters with "?" or digits, which Noto Sans Ethiopic lacks) is drawn in runs from several fonts.

Fonts are tried in this order: `--font`, Noto fonts installed on the system (Debian:
`fonts-noto-core`), the Noto fonts the `manimgx-fonts` package ships (Latin, Cyrillic, Arabic
with every Urdu and Dari letter, Ethiopic for Tigrinya, Tamil and more: a fresh install prints
every shipped language), then DejaVu Sans. A new script needs a font here that covers it, and
a test that prints a title in it (tests/test_poster.py).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypedDict

import segno
from PIL import Image, ImageDraw, ImageFont, features

from bot.i18n import RIGHT_TO_LEFT

#: A4 at 150 dpi: sharp enough to print, small enough to mail.
PAGE = (1240, 1754)
MARGIN = 90
#: System fonts tried first after `--font` (Debian's fonts-noto-core puts them here).
SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansEthiopic-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansTamil-Regular.ttf",
)
#: The packaged Noto fonts (manimgx-fonts), one per script, tried after the system's.
PACKAGED_FONTS = (
    "NotoSans[wght].ttf",
    "NotoSansArabic[wght].ttf",
    "NotoSansEthiopic[wght].ttf",
    "NotoSansTamil[wght].ttf",
    "NotoSansDevanagari[wght].ttf",
    "NotoSansBengali[wght].ttf",
)
#: Last resorts: DejaVu Sans from the system (covers Arabic, not every Urdu letter).
FALLBACK_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


@dataclass(frozen=True)
class Poster:
    image: Image.Image
    #: Languages whose title could not be printed (no font with its letters).
    left_out: tuple[str, ...]

    def save(self, path: Path) -> None:
        if path.suffix.lower() == ".pdf":
            self.image.save(path, "PDF", resolution=150.0)
        else:
            self.image.save(path, "PNG")

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, "PNG")
        return buffer.getvalue()


def bundled_font() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def packaged_fonts() -> list[Path]:
    """The Noto fonts installed with the bot (the `manimgx-fonts` dependency).

    An installation that predates the dependency still prints what its other fonts cover and
    reports the rest as left out, instead of failing.
    """
    try:
        import manimgx_fonts
    except ImportError:
        return []
    folder = Path(manimgx_fonts.__file__).parent
    return [folder / name for name in PACKAGED_FONTS]


def candidate_fonts(extra: Path | None = None) -> list[Path]:
    paths = [extra] if extra else []
    paths += [Path(p) for p in SYSTEM_FONTS]
    paths += packaged_fonts()
    paths += [Path(p) for p in FALLBACK_FONTS]
    paths.append(bundled_font())
    return [p for p in paths if p.is_file()]


@cache
def _cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def _covers(path: Path, text: str) -> bool:
    cmap = _cmap(path)
    return all(ord(char) in cmap or char.isspace() or ord(char) < 32 for char in text)


def _complex_layout() -> bool:
    return bool(features.check_feature("raqm") and features.check_feature("fribidi"))


def _shape_fallback(text: str) -> str:
    """Visual order with joined letter forms, for drawing without complex text layout."""
    import arabic_reshaper
    from bidi.algorithm import get_display

    return str(get_display(arabic_reshaper.reshape(text)))


class DrawOptions(TypedDict, total=False):
    """Keyword arguments for Pillow's text drawing."""

    direction: str


def _line_font(
    text: str, rtl: bool, fonts: Sequence[Path], size: int
) -> tuple[ImageFont.FreeTypeFont, str, DrawOptions] | None:
    """A font that can draw `text`, the text to draw, and the keyword arguments to draw it."""
    complex_layout = _complex_layout()
    drawn = text
    kwargs: DrawOptions = {}
    if rtl and complex_layout:
        kwargs = {"direction": "rtl"}
    elif rtl:
        drawn = _shape_fallback(text)
    for path in fonts:
        # With complex layout the font shapes the letters itself (it needs the base letters);
        # without it, the presentation forms drawn must be in the font.
        if _covers(path, text if complex_layout else drawn):
            layout = ImageFont.Layout.RAQM if complex_layout else ImageFont.Layout.BASIC
            return ImageFont.truetype(str(path), size, layout_engine=layout), drawn, kwargs
    return None


def make_poster(
    link: str,
    titles: Sequence[tuple[str, str]],
    *,
    heading: str = "",
    font: Path | None = None,
) -> Poster:
    """Draw the poster: `titles` are (language, title) in the order to print them."""
    fonts = candidate_fonts(font)
    page = Image.new("RGB", PAGE, "white")
    draw = ImageDraw.Draw(page)
    width = PAGE[0] - 2 * MARGIN
    y = MARGIN
    left_out: list[str] = []
    if heading:
        y = _draw_line(draw, heading, False, fonts, 64, y, width) or y
    for language, title in titles:
        size = 56 if len(title) < 30 else 44
        new_y = _draw_line(draw, title, language in RIGHT_TO_LEFT, fonts, size, y, width)
        if new_y is None:
            left_out.append(language)
        else:
            y = new_y
    qr = segno.make(link, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=1, border=4)
    buffer.seek(0)
    code = Image.open(buffer).convert("RGB")
    side = min(width, PAGE[1] - y - MARGIN - 120)
    side -= side % code.width  # whole pixels per module: crisp edges scan best
    code = code.resize((side, side), Image.Resampling.NEAREST)
    page.paste(code, ((PAGE[0] - side) // 2, y + 30))
    _draw_line(draw, link, False, fonts, 32, y + 40 + side, width)
    return Poster(page, tuple(left_out))


def _font_runs(text: str, fonts: Sequence[Path]) -> list[tuple[Path, str]] | None:
    """A left-to-right line as runs, each in a font that has its characters.

    Script fonts often lack the common characters: Noto Sans Ethiopic has no "?", no "," and no
    digits, so "ፓርክ 2026?" is in no single font. The letters (and their marks) decide the
    line's font; anything it lacks is drawn from the first font that has it.
    """
    letters = "".join(c for c in text if unicodedata.category(c)[0] in "LM")
    primary = next((path for path in fonts if _covers(path, letters)), None)
    if primary is None:
        return None
    runs: list[tuple[Path, str]] = []
    for char in text:
        path = primary if _covers(primary, char) else None
        path = path or next((p for p in fonts if _covers(p, char)), None)
        if path is None:
            return None
        if runs and runs[-1][0] == path:
            runs[-1] = (path, runs[-1][1] + char)
        else:
            runs.append((path, char))
    return runs


def _draw_runs(
    draw: ImageDraw.ImageDraw, runs: list[tuple[Path, str]], size: int, y: int, width: int
) -> int | None:
    """Draw runs in several fonts side by side on one baseline, centred, shrinking to fit."""
    layout = ImageFont.Layout.RAQM if _complex_layout() else ImageFont.Layout.BASIC
    while size >= 20:
        parts = [
            (ImageFont.truetype(str(path), size, layout_engine=layout), s) for path, s in runs
        ]
        advance = sum(draw.textlength(s, font=font) for font, s in parts)
        if advance <= width:
            boxes = [draw.textbbox((0, 0), s, font=font, anchor="ls") for font, s in parts]
            top, bottom = min(box[1] for box in boxes), max(box[3] for box in boxes)
            x = (PAGE[0] - advance) / 2
            for font, s in parts:
                draw.text((x, y - top), s, fill="black", font=font, anchor="ls")
                x += draw.textlength(s, font=font)
            return y + int(bottom - top) + size // 2  # Pillow types boxes as floats
        size -= 4
    return None


def _draw_line(
    draw: ImageDraw.ImageDraw,
    text: str,
    rtl: bool,
    fonts: Sequence[Path],
    size: int,
    y: int,
    width: int,
) -> int | None:
    """Draw one centred line (shrinking it to fit); return the next y, None if no font fits."""
    while size >= 20:
        chosen = _line_font(text, rtl, fonts, size)
        if chosen is None:
            # Left to right, a line may still be drawn in runs from several fonts.
            runs = None if rtl else _font_runs(text, fonts)
            return _draw_runs(draw, runs, size, y, width) if runs else None
        font, drawn, kwargs = chosen
        left, top, right, bottom = draw.textbbox((0, 0), drawn, font=font, **kwargs)
        if right - left <= width:
            x = (PAGE[0] - (right - left)) // 2 - left
            draw.text((x, y - top), drawn, fill="black", font=font, **kwargs)
            return y + int(bottom - top) + size // 2  # Pillow types boxes as floats
        size -= 4
    return None
