"""The district's figures as people read them: a staff-chat summary (Telegram HTML), a
Markdown report, charts (PNG) and a PDF, all in the staff's language.

Plain functions of `Figures` and `Texts`: no database, no Telegram, so tests call them directly
and the weekly job, `/stats` and `python -m bot report` share every line of wording.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.handover.staff_side import format_duration
from bot.handover.topics import language_name
from bot.i18n import N_, Texts
from bot.tips.categories import label_of
from bot.tips.status import LABELS as STATUS_LABELS
from storage.reports import Figures
from storage.tips import TipStatus

_TAG_RE = re.compile(r"<[^>]+>")
_EMOJI_RE = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")
_ISOLATES = str.maketrans("", "", "\u2066\u2067\u2068\u2069")

#: Outcomes of a digest message, in the order people read them.
REACH_LABELS = {
    "sent": N_("reached"),
    "blocked": N_("blocked the bot"),
    "failed": N_("not delivered"),
}
#: Where tips came from (`tips.source`), in the order people read them.
SOURCE_LABELS = {
    "resident": N_("in the bot"),
    "case": N_("from a conversation with staff"),
    "walk-in": N_("at the office"),
}
LOST_LABELS = {
    "unsubscribed": N_("stopped the weekly list"),
    "blocked": N_("blocked the bot"),
}


def plain(text: str) -> str:
    """Telegram HTML from the catalogs as plain text (Markdown, PDF, chart titles)."""
    return html.unescape(_TAG_RE.sub("", text)).translate(_ISOLATES)


def _printable(text: str) -> str:
    """Plain text without emoji, which the chart fonts do not have."""
    return _EMOJI_RE.sub("", plain(text)).strip()


def category_name(t: Texts, key: str) -> str:
    return t._(label_of(key))


def status_name(t: Texts, key: str) -> str:
    try:
        return t._(STATUS_LABELS[TipStatus(key)])
    except (ValueError, KeyError):
        return key


@dataclass(frozen=True)
class Section:
    """One block of the report: a title and (label, count) rows, or plain lines."""

    title: str
    rows: tuple[tuple[str, int], ...] = ()
    lines: tuple[str, ...] = ()
    empty: str = ""


def sections(t: Texts, figures: Figures) -> list[Section]:
    """The report's content, in order; every renderer lays out the same sections."""
    none = t._("none")
    tips = Section(
        t._("New tips: {count}", count=figures.tips_total),
        rows=tuple((category_name(t, k), n) for k, n in figures.tips_by_category.items()),
        empty=none,
    )
    statuses = Section(
        t._("Status of these tips now"),
        rows=tuple((status_name(t, k), n) for k, n in figures.tips_by_status.items()),
        lines=(
            (t._("Reopened because it was not fixed: {count}", count=figures.tips_reopened),)
            if figures.tips_reopened
            else ()
        ),
        empty=none,
    )
    fixed = figures.fixed_answers
    sources = Section(
        t._("Where the tips came from"),
        rows=tuple((t._(SOURCE_LABELS.get(k, k)), n) for k, n in figures.tips_by_source.items()),
        lines=(
            (
                t._(
                    "Is it fixed? Yes: {yes}, no: {no}",
                    yes=fixed.get("yes", 0),
                    no=fixed.get("no", 0),
                ),
            )
            if fixed
            else ()
        ),
        empty=none,
    )
    response = (
        t._(
            "Median time to first reply: {time}",
            time=format_duration(t, figures.median_first_response),
        )
        if figures.median_first_response is not None
        else t._("Median time to first reply: no replies yet")
    )
    rating = (
        t._(
            "Rating: {average} of 5 ({count} answers)",
            average=f"{figures.average_rating:.1f}",
            count=len(figures.ratings),
        )
        if figures.average_rating is not None
        else t._("Rating: no answers yet")
    )
    cases = Section(
        t._("Conversations with staff: {count}", count=figures.cases_total),
        rows=tuple((language_name(t, k), n) for k, n in figures.cases_by_language.items()),
        lines=(t._("Closed: {count}", count=figures.cases_closed), response, rating),
        empty=none,
    )
    labels = Section(
        t._("Conversations by label"),
        rows=tuple((category_name(t, k), n) for k, n in figures.cases_by_label.items()),
        empty=none,
    )
    surveys = Section(
        t._("Survey answers"), rows=tuple(figures.survey_answers.items()), empty=none
    )
    reach = Section(
        t._("Weekly list of activities"),
        rows=tuple((t._(REACH_LABELS.get(k, k)), n) for k, n in figures.digest_reach.items()),
        lines=(
            t._("New subscribers: {count}", count=figures.new_subscribers),
            *(
                t._("Lost: {count} {reason}", count=n, reason=t._(LOST_LABELS.get(k, k)))
                for k, n in figures.lost_subscribers.items()
            ),
        ),
        empty=none,
    )
    return [tips, statuses, sources, cases, labels, surveys, reach]


def period_title(t: Texts, figures: Figures) -> str:
    return t._(
        "{first} – {last}",
        first=t.date(figures.period.first_day, fmt="long"),
        last=t.date(figures.period.last_day, fmt="long"),
    )


# --- the staff chat ----------------------------------------------------------------------------
def summary_html(t: Texts, figures: Figures, heading: str) -> str:
    """The weekly summary as one Telegram message (HTML; well under 4096 characters)."""
    blocks = [f"{heading}\n{period_title(t, figures)}"]
    for section in sections(t, figures):
        lines = [f"<b>{section.title}</b>"]
        lines += [f"• {html.escape(label)}: {count}" for label, count in section.rows]
        if not section.rows and not section.lines:
            lines.append(f"• {section.empty}")
        lines += [f"• {line}" for line in section.lines]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


# --- Markdown ----------------------------------------------------------------------------------
def markdown(t: Texts, figures: Figures, title: str) -> str:
    """The report as Markdown: headings and tables, ready to paste into a document."""
    what, number = plain(t._("What")), plain(t._("Number"))
    no_personal_data = plain(t._("No personal data is included in this report."))
    out = [f"# {plain(title)}", "", f"*{plain(period_title(t, figures))}*", ""]
    for section in sections(t, figures):
        out += [f"## {plain(section.title)}", ""]
        if section.rows:
            out += [f"| {what} | {number} |", "|---|---:|"]
            out += [f"| {_cell(label)} | {count} |" for label, count in section.rows]
            out.append("")
        elif not section.lines:
            out += [plain(section.empty), ""]
        if section.lines:
            out += [f"- {plain(line)}" for line in section.lines]
            out.append("")
    out += [f"_{no_personal_data}_", ""]
    return "\n".join(out)


def _cell(text: str) -> str:
    return plain(text).replace("|", "\\|")


# --- charts and PDF ----------------------------------------------------------------------------
def _bars(ax, rows: Iterable[tuple[str, int]], title: str) -> None:  # type: ignore[no-untyped-def]
    rows = list(rows)
    ax.set_title(_printable(title), loc="left", fontsize=11)
    if not rows:
        ax.text(0.5, 0.5, "–", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    labels = [plain(label) for label, _ in rows][::-1]
    values = [count for _, count in rows][::-1]
    ax.barh(labels, values, color="#2a6f97")
    ax.xaxis.get_major_locator().set_params(integer=True)
    for y, value in enumerate(values):
        ax.text(value, y, f" {value}", va="center", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)


def _figure(t: Texts, figures: Figures, title: str):  # type: ignore[no-untyped-def]
    """One page: tips by category, conversations by language and by label, digest reach."""
    from matplotlib.figure import Figure

    parts = sections(t, figures)
    page = Figure(figsize=(8.27, 11.69))  # A4 portrait
    page.suptitle(f"{_printable(title)}\n{plain(period_title(t, figures))}", fontsize=13)
    axes = page.subplots(4, 1)
    _bars(axes[0], parts[0].rows, parts[0].title)
    _bars(axes[1], parts[2].rows, parts[2].title)
    _bars(axes[2], parts[3].rows, parts[3].title)
    _bars(axes[3], parts[5].rows, parts[5].title)
    page.tight_layout(rect=(0, 0, 1, 0.95))
    return page


def chart_png(t: Texts, figures: Figures, title: str) -> bytes:
    """The summary's chart as a PNG (matplotlib without a display: the Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    page = _figure(t, figures, title)
    FigureCanvasAgg(page)
    buffer = io.BytesIO()
    page.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def pdf(t: Texts, figures: Figures, title: str) -> bytes:
    """The report as a PDF: the charts on page one, every figure as text on page two."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    buffer = io.BytesIO()
    # TrueType fonts (42) rather than Type 3 keep the text selectable and searchable.
    with (
        rc_context({"pdf.fonttype": 42}),
        PdfPages(buffer, metadata={"Title": plain(title)}) as document,
    ):
        document.savefig(_figure(t, figures, title))
        text_page = Figure(figsize=(8.27, 11.69))
        y = 0.95
        for line in markdown(t, figures, title).splitlines():
            if not line.strip() or line.startswith("|---"):
                y -= 0.008
                continue
            size, weight = (13, "bold") if line.startswith("#") else (10, "normal")
            text = line.lstrip("#*_- ").rstrip("*_")
            text = text.strip("| ").replace(" | ", ": ") if line.startswith("|") else text
            text_page.text(0.08, y, _printable(text), fontsize=size, weight=weight, va="top")
            y -= 0.022 if size == 10 else 0.03
            if y < 0.05:
                document.savefig(text_page)
                text_page, y = Figure(figsize=(8.27, 11.69)), 0.95
        document.savefig(text_page)
    return buffer.getvalue()
