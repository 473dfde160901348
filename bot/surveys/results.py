"""Survey results: counts, averages and distributions, as text, a bar chart, CSV and XLSX.

Plain functions, used by the staff command `/results` and by `python -m bot surveys results`.
Exports never contain who answered: one row per response, in an order that says nothing
about who came first.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from babel.numbers import format_decimal

from bot.i18n import Texts
from bot.menu import SMILEYS
from bot.spreadsheet import xlsx_cell
from bot.surveys.definition import localized
from storage import surveys as store
from storage.db import Database
from storage.surveys import Question, ResponseRow, Survey

#: Telegram's limit is 4096 characters per message; keep a margin for the markup.
MESSAGE_LIMIT = 3800


@dataclass
class QuestionResult:
    question: Question
    answered: int = 0
    #: smiley value (1..5) or option id -> count
    counts: Counter[int] = field(default_factory=Counter)
    texts: list[str] = field(default_factory=list)

    @property
    def average(self) -> float | None:
        total = sum(self.counts.values())
        if self.question.kind != "smiley" or not total:
            return None
        return sum(value * count for value, count in self.counts.items()) / total


@dataclass
class Summary:
    survey: Survey
    responses: int
    finished: int
    questions: list[QuestionResult]


async def summarize(db: Database, survey: Survey) -> Summary:
    """Count every answer. `survey` should be loaded with all_questions=True."""
    rows = await store.responses(db, survey.id)
    return summarize_rows(survey, rows)


def summarize_rows(survey: Survey, rows: list[ResponseRow]) -> Summary:
    results = {q.id: QuestionResult(q) for q in survey.questions}
    for row in rows:
        for question_id, given in row.answers.items():
            result = results.get(question_id)
            if result is None:
                continue
            result.answered += 1
            if result.question.kind == "text":
                result.texts.extend(str(text) for text in given)
            else:
                result.counts.update(int(value) for value in given)
    # Questions removed from the file still show if they have answers.
    shown = [r for r in results.values() if r.answered or r.question.key in _current(survey)]
    return Summary(survey, len(rows), sum(1 for r in rows if r.finished), shown)


def _current(survey: Survey) -> set[str]:
    return {q.key for q in survey.questions}


# --- text for the staff chat -------------------------------------------------------------------
def render_summary(t: Texts, summary: Summary, default_language: str) -> list[str]:
    """The results as messages, each under Telegram's length limit; all answers escaped."""
    survey = summary.survey
    blocks = [
        t._(
            "📊 <b>{title}</b>\nAnswers: {count} (finished: {finished})",
            title=localized(survey.title, t.language, default_language),
            count=summary.responses,
            finished=summary.finished,
        )
    ]
    for number, result in enumerate(summary.questions, start=1):
        question = result.question
        lines = [
            t._(
                "<b>{number}. {question}</b> ({count} answers)",
                number=number,
                question=localized(question.text, t.language, default_language),
                count=result.answered,
            )
        ]
        if question.kind == "smiley":
            if result.average is not None:
                average = format_decimal(result.average, "0.0", locale=t.locale)
                lines.append(t._("Average: {average} of 5", average=average))
            for value, face in enumerate(SMILEYS, start=1):
                lines.append(t._("{face} {count}", face=face, count=result.counts[value]))
        elif question.kind in ("choice", "multiple"):
            for option in question.options:
                lines.append(
                    t._(
                        "{option}: {count}",
                        option=localized(option.text, t.language, default_language),
                        count=result.counts[option.id],
                    )
                )
        else:
            for text in result.texts:
                lines.append(t._("💬 {text}", text=text))
        blocks.append("\n".join(lines))
    return _pack(blocks)


def _pack(blocks: list[str]) -> list[str]:
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _split_long(block):
            if current and len(current) + 2 + len(piece) > MESSAGE_LIMIT:
                messages.append(current)
                current = ""
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        messages.append(current)
    return messages


def _split_long(block: str) -> list[str]:
    """A block longer than one message is split between lines (never inside a tag)."""
    if len(block) <= MESSAGE_LIMIT:
        return [block]
    pieces, current = [], ""
    for line in block.split("\n"):
        line = line[:MESSAGE_LIMIT]
        if current and len(current) + 1 + len(line) > MESSAGE_LIMIT:
            pieces.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        pieces.append(current)
    return pieces


# --- chart -------------------------------------------------------------------------------------
def smiley_chart(t: Texts, summary: Summary) -> bytes | None:
    """A PNG bar chart: for each smiley question, how many gave 1 to 5 smileys."""
    smileys = [r for r in summary.questions if r.question.kind == "smiley"]
    if not smileys:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 2.4 * len(smileys) + 0.6), dpi=110)
    axes = figure.subplots(len(smileys), 1, squeeze=False)
    colours = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]
    for row, result in zip(axes, smileys, strict=True):
        ax = row[0]
        values = [result.counts[value] for value in range(1, 6)]
        bars = ax.bar(["1", "2", "3", "4", "5"], values, color=colours)
        ax.bar_label(bars, labels=[str(v) for v in values])
        title = localized(result.question.text, t.language, t.language)
        if len(title) > 70:
            title = title[:67] + "..."
        if result.average is not None:
            title += " (" + t._("average {value}", value=f"{result.average:.1f}") + ")"
        # Chart labels are plain text, not HTML: messages without values are not escaped.
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(t._("Smileys: 1 = very unhappy, 5 = very happy"))
        ax.set_ylim(0, max([*values, 1]) * 1.25)
        ax.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


# --- files -------------------------------------------------------------------------------------
def table(
    summary_survey: Survey, rows: list[ResponseRow], default_language: str
) -> list[list[object]]:
    """Header plus one row per response: smileys as numbers, choices as their texts."""
    questions = list(summary_survey.questions)
    header: list[object] = ["response", "language", "started_on", "finished"]
    header += [q.key for q in questions]
    out: list[list[object]] = [header]
    for number, row in enumerate(rows, start=1):
        finished = "yes" if row.finished else "no"
        cells: list[object] = [number, row.language, row.started_on, finished]
        for question in questions:
            given = row.answers.get(question.id, [])
            if not given:
                cells.append("")
            elif question.kind == "smiley":
                cells.append(int(given[0]))
            elif question.kind in ("choice", "multiple"):
                labels = []
                for option_id in given:
                    option = question.option(int(option_id))
                    labels.append(
                        localized(option.text, default_language, default_language)
                        if option
                        else str(option_id)
                    )
                cells.append("; ".join(labels))
            else:
                cells.append(" ".join(str(text) for text in given))
        out.append(cells)
    return out


def to_csv(rows: list[list[object]]) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs show æøå and Arabic right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_defuse(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[list[object]], legend: list[list[str]]) -> bytes:
    """A workbook with the answers on the first sheet and the questions on the second."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "answers"
    for row in rows:
        sheet.append([_defuse(xlsx_cell(cell)) for cell in row])
    sheet.freeze_panes = "A2"
    questions = workbook.create_sheet("questions")
    for line in legend:
        questions.append([_defuse(xlsx_cell(cell)) for cell in line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _defuse(cell: object) -> object:
    """Free text that starts like a formula must not run as one in a spreadsheet."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def question_legend(survey: Survey, default_language: str) -> list[list[str]]:
    """Question ids and their texts, for a second sheet or the end of a report."""
    return [["question", "kind", "text"]] + [
        [q.key, q.kind, localized(q.text, default_language, default_language)]
        for q in survey.questions
    ]
