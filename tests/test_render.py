"""Long HTML is split into valid parts that Telegram's parser accepts."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import fit, plain_length, split_html
from sandbox import parse_html, utf16_len


def _check(parts: list[str], limit: int) -> str:
    plain = []
    for part in parts:
        text, _ = parse_html(part)  # raises on broken markup
        assert 0 < utf16_len(text) <= limit
        plain.append(text)
    return "".join(plain)


def test_short_text_is_one_part():
    assert split_html("<b>hi</b> &amp; bye", 100) == ["<b>hi</b> &amp; bye"]
    assert plain_length("<b>hi</b> &amp; bye") == len("hi & bye")


def test_split_prefers_line_breaks():
    lines = [f"<b>Day {i}</b>: activity number {i}" for i in range(400)]
    parts = split_html("\n".join(lines), 4096)
    assert len(parts) > 1
    joined = _check(parts, 4096)
    assert joined.count("Day") == 400
    assert all(part.startswith("<b>Day") for part in parts)


def test_one_huge_line_is_cut_with_tags_closed_and_reopened():
    text = "<i>" + html.escape("a<b>&" * 3000) + "</i>"
    parts = split_html(text, 4096)
    assert len(parts) == 4
    for part in parts:
        assert part.startswith("<i>") and part.endswith("</i>")
    assert _check(parts, 4096).replace("\n", "") == "a<b>&" * 3000


def test_emoji_count_twice():
    text = "😀" * 3000  # 6000 UTF-16 units
    parts = split_html(text, 4096)
    assert len(parts) == 2
    assert _check(parts, 4096) == text


def test_fit_marks_the_cut():
    caption = fit("<b>" + "x" * 2000 + "</b>", 1024)
    text, _ = parse_html(caption)
    assert text.endswith("…") and utf16_len(text) <= 1024


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["", "b", "i", "code"]), st.text(min_size=0, max_size=300)),
        max_size=40,
    ),
    st.integers(min_value=20, max_value=600),
)
def test_any_escaped_text_splits_into_valid_parts(pieces, limit):
    source = "".join(
        f"<{tag}>{html.escape(text)}</{tag}>" if tag else html.escape(text) + "\n"
        for tag, text in pieces
    )
    if not parse_html(source)[0].strip():
        return
    parts = split_html(source, limit)
    for part in parts:
        text, _ = parse_html(part)
        assert utf16_len(text) <= limit


_MARKUP_PIECES = st.sampled_from(
    [*"ab<>/&;#x1ä😀\n ", "<b>", "</b>", "&amp;", "&#65;", "&lt;", "<a href='x'>", "&#x1F600;"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_MARKUP_PIECES, max_size=40).map("".join))
def test_plain_length_reads_markup_like_the_splitter(text: str) -> None:
    """The fast length (tags stripped, entities decoded) agrees with the token-by-token one
    the splitter uses, also for stray `<` and `&`."""
    from bot.render import _tokens

    assert plain_length(text) == sum(token.length for token in _tokens(text))
