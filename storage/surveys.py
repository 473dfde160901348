"""Surveys: definitions, residents answering them, invitations, and the results.

See storage/migrations/0005_surveys.sql for why anonymous answers cannot be traced back.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from storage.db import Database, Transaction


# What storing a survey file needs to know of it. The file format and its checks belong to the
# bot (`bot/surveys/definition.py`, whose dataclasses fit these shapes); storage does not
# import the bot.
class OptionDef(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def text(self) -> dict[str, str]: ...


class QuestionDef(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> dict[str, str]: ...
    @property
    def optional(self) -> bool: ...
    @property
    def options(self) -> Sequence[OptionDef]: ...


class SurveyDef(Protocol):
    @property
    def slug(self) -> str: ...
    @property
    def title(self) -> dict[str, str]: ...
    @property
    def anonymous(self) -> bool: ...
    @property
    def opens_on(self) -> date | None: ...
    @property
    def closes_on(self) -> date | None: ...
    @property
    def questions(self) -> Sequence[QuestionDef]: ...


class SurveyChangeError(ValueError):
    """An update that would make existing answers meaningless."""


@dataclass(frozen=True)
class Option:
    id: int
    key: str
    text: dict[str, str]


@dataclass(frozen=True)
class Question:
    id: int
    key: str
    kind: str
    text: dict[str, str]
    optional: bool
    options: tuple[Option, ...] = ()

    def option(self, option_id: int) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Survey:
    id: int
    slug: str
    title: dict[str, str]
    anonymous: bool
    opens_on: date | None
    closes_on: date | None
    activity_id: int | None
    questions: tuple[Question, ...] = field(default=())

    def is_open(self, today: date) -> bool:
        if self.opens_on and today < self.opens_on:
            return False
        return not (self.closes_on and today > self.closes_on)

    def question(self, question_id: int) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def position(self, question_id: int) -> int:
        """1-based position of a current question (0 if it is not in the survey any more)."""
        for number, question in enumerate(self.questions, start=1):
            if question.id == question_id:
                return number
        return 0

    def after(self, question_id: int) -> Question | None:
        number = self.position(question_id)
        return self.questions[number] if 0 < number < len(self.questions) else None


@dataclass(frozen=True)
class Session:
    resident_id: int
    survey_id: int
    response_token: str
    question_id: int
    message_id: int | None
    updated_at: datetime


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# --- definitions -------------------------------------------------------------------------------
async def save_definition(
    db: Database, definition: SurveyDef, now: datetime, *, activity_id: int | None = None
) -> tuple[int, bool]:
    """Add a survey or update the one with the same slug; return (survey id, created).

    Questions and options are matched by their ids in the file, so answers given before an
    update keep their meaning; ones left out of the file are kept (hidden) for their answers.
    """
    stamp = now.isoformat()
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT id FROM surveys WHERE slug = ?", (definition.slug,))
        values = (
            json.dumps(definition.title, ensure_ascii=False),
            int(definition.anonymous),
            definition.opens_on.isoformat() if definition.opens_on else None,
            definition.closes_on.isoformat() if definition.closes_on else None,
        )
        if row is None:
            survey_id = await tx.execute(
                "INSERT INTO surveys (slug, title, anonymous, opens_on, closes_on, activity_id,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (definition.slug, *values, activity_id, stamp, stamp),
            )
        else:
            survey_id = row["id"]
            await _check_anonymity_change(tx, survey_id, definition.anonymous)
            await tx.execute(
                "UPDATE surveys SET title = ?, anonymous = ?, opens_on = ?, closes_on = ?,"
                " updated_at = ? WHERE id = ?",
                (*values, stamp, survey_id),
            )
        await tx.execute(
            "UPDATE survey_questions SET position = NULL WHERE survey_id = ?", (survey_id,)
        )
        for position, question in enumerate(definition.questions, start=1):
            await _save_question(tx, survey_id, position, question)
    return survey_id, row is None


async def _check_anonymity_change(tx: Transaction, survey_id: int, anonymous: bool) -> None:
    answered = await tx.fetchval(
        "SELECT COUNT(*) FROM survey_responses WHERE survey_id = ?", (survey_id,)
    )
    old = await tx.fetchval("SELECT anonymous FROM surveys WHERE id = ?", (survey_id,))
    if answered and bool(old) != anonymous:
        raise SurveyChangeError(
            "anonymous: the survey has answers already; it cannot change between anonymous"
            " and not anonymous (make a new survey with another slug)"
        )


async def _save_question(
    tx: Transaction, survey_id: int, position: int, question: QuestionDef
) -> None:
    text = json.dumps(question.text, ensure_ascii=False)
    row = await tx.fetchone(
        "SELECT id, kind FROM survey_questions WHERE survey_id = ? AND key = ?",
        (survey_id, question.key),
    )
    if row is None:
        question_id = await tx.execute(
            "INSERT INTO survey_questions (survey_id, key, position, kind, text, optional)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (survey_id, question.key, position, question.kind, text, int(question.optional)),
        )
    else:
        question_id = row["id"]
        if row["kind"] != question.kind:
            has_answers = await tx.fetchval(
                "SELECT 1 FROM survey_answers WHERE question_id = ? LIMIT 1", (question_id,)
            )
            if has_answers:
                raise SurveyChangeError(
                    f'question "{question.key}" has answers already; its kind cannot change'
                    f" from {row['kind']} to {question.kind} (give it a new id)"
                )
        await tx.execute(
            "UPDATE survey_questions SET position = ?, kind = ?, text = ?, optional = ?"
            " WHERE id = ?",
            (position, question.kind, text, int(question.optional), question_id),
        )
    await tx.execute(
        "UPDATE survey_options SET position = NULL WHERE question_id = ?", (question_id,)
    )
    for number, option in enumerate(question.options, start=1):
        await tx.execute(
            "INSERT INTO survey_options (question_id, key, position, text) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (question_id, key) DO UPDATE SET position = excluded.position,"
            " text = excluded.text",
            (question_id, option.key, number, json.dumps(option.text, ensure_ascii=False)),
        )


async def _load(db: Database, row: Any, *, all_questions: bool = False) -> Survey:
    position = "" if all_questions else " AND position IS NOT NULL"
    questions_rows = await db.fetchall(
        f"SELECT * FROM survey_questions WHERE survey_id = ?{position}"
        " ORDER BY position IS NULL, position, id",
        (row["id"],),
    )
    option_rows = await db.fetchall(
        "SELECT o.* FROM survey_options o JOIN survey_questions q ON q.id = o.question_id"
        f" WHERE q.survey_id = ?{' AND o.position IS NOT NULL' if not all_questions else ''}"
        " ORDER BY o.position IS NULL, o.position, o.id",
        (row["id"],),
    )
    options: dict[int, list[Option]] = {}
    for option in option_rows:
        options.setdefault(option["question_id"], []).append(
            Option(option["id"], option["key"], json.loads(option["text"]))
        )
    questions = tuple(
        Question(
            q["id"],
            q["key"],
            q["kind"],
            json.loads(q["text"]),
            bool(q["optional"]),
            tuple(options.get(q["id"], ())),
        )
        for q in questions_rows
    )
    return Survey(
        id=row["id"],
        slug=row["slug"],
        title=json.loads(row["title"]),
        anonymous=bool(row["anonymous"]),
        opens_on=_day(row["opens_on"]),
        closes_on=_day(row["closes_on"]),
        activity_id=row["activity_id"],
        questions=questions,
    )


async def get(db: Database, survey_id: int, *, all_questions: bool = False) -> Survey | None:
    row = await db.fetchone("SELECT * FROM surveys WHERE id = ?", (survey_id,))
    return await _load(db, row, all_questions=all_questions) if row else None


async def by_slug(db: Database, slug: str, *, all_questions: bool = False) -> Survey | None:
    row = await db.fetchone("SELECT * FROM surveys WHERE slug = ?", (slug,))
    return await _load(db, row, all_questions=all_questions) if row else None


async def by_activity(db: Database, activity_id: int) -> Survey | None:
    row = await db.fetchone("SELECT * FROM surveys WHERE activity_id = ?", (activity_id,))
    return await _load(db, row) if row else None


async def open_surveys(db: Database, today: date) -> list[Survey]:
    """Surveys anyone may answer today (activity feedback is only for those who went)."""
    day = today.isoformat()
    rows = await db.fetchall(
        "SELECT * FROM surveys WHERE activity_id IS NULL"
        " AND (opens_on IS NULL OR opens_on <= ?) AND (closes_on IS NULL OR closes_on >= ?)"
        " ORDER BY COALESCE(closes_on, '9999'), id",
        (day, day),
    )
    return [await _load(db, row) for row in rows]


async def all_surveys(db: Database) -> list[Survey]:
    rows = await db.fetchall("SELECT * FROM surveys ORDER BY id")
    return [await _load(db, row) for row in rows]


# --- answering ---------------------------------------------------------------------------------
async def has_answered(db: Database, survey_id: int, resident_id: int) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM survey_participants WHERE survey_id = ? AND resident_id = ?",
            (survey_id, resident_id),
        )
    )


def _session(row: Any) -> Session:
    return Session(
        resident_id=row["resident_id"],
        survey_id=row["survey_id"],
        response_token=row["response_token"],
        question_id=row["question_id"],
        message_id=row["message_id"],
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )


async def session_of(db: Database, resident_id: int) -> Session | None:
    row = await db.fetchone("SELECT * FROM survey_sessions WHERE resident_id = ?", (resident_id,))
    return _session(row) if row else None


async def start(
    db: Database, survey: Survey, resident_id: int, language: str, now: datetime, today: date
) -> Session:
    """Open a response and put the resident on the first question (ending any other session)."""
    token = secrets.token_urlsafe(12)
    first = survey.questions[0]
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM survey_sessions WHERE resident_id = ?", (resident_id,))
        await tx.execute(
            "INSERT INTO survey_responses (token, survey_id, resident_id, language, started_on)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                token,
                survey.id,
                None if survey.anonymous else resident_id,
                language,
                today.isoformat(),
            ),
        )
        await tx.execute(
            "INSERT INTO survey_sessions (resident_id, survey_id, response_token, question_id,"
            " updated_at) VALUES (?, ?, ?, ?, ?)",
            (resident_id, survey.id, token, first.id, now.isoformat()),
        )
    return Session(resident_id, survey.id, token, first.id, None, now)


async def record_answer(
    db: Database,
    session: Session,
    *,
    value: int | None = None,
    option_ids: Iterable[int] = (),
    text: str | None = None,
    next_question_id: int | None,
    now: datetime,
) -> bool:
    """Store an answer to the session's current question and move on, in one transaction.

    The "has answered" marker is written with the first answer: from then on the response
    counts, even if the resident stops. Returns False if the session moved on meanwhile (a
    double tap), in which case nothing is stored.
    """
    async with db.transaction() as tx:
        if not await _still_on(tx, session):
            return False
        rows: list[tuple[str, int, int | None, int | None, str | None]] = [
            (session.response_token, session.question_id, oid, None, None) for oid in option_ids
        ]
        if value is not None or text is not None:
            rows.append((session.response_token, session.question_id, None, value, text))
        await tx.executemany(
            "INSERT OR IGNORE INTO survey_answers (response_token, question_id, option_id,"
            " value, text) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        if rows:
            await _mark_participant(tx, session)
        await _advance(tx, session, next_question_id, now)
    return True


async def move_on(
    db: Database, session: Session, *, next_question_id: int | None, now: datetime
) -> bool:
    """Move past the current question (skipped, or ticked options confirmed)."""
    async with db.transaction() as tx:
        if not await _still_on(tx, session):
            return False
        await _advance(tx, session, next_question_id, now)
    return True


async def toggle_option(
    db: Database, session: Session, option_id: int, now: datetime
) -> set[int] | None:
    """Tick or untick one option of a multiple-choice question; return what is ticked now."""
    async with db.transaction() as tx:
        if not await _still_on(tx, session):
            return None
        params = (session.response_token, session.question_id, option_id)
        ticked = await tx.fetchval(
            "SELECT 1 FROM survey_answers WHERE response_token = ? AND question_id = ?"
            " AND option_id = ?",
            params,
        )
        if ticked:
            await tx.execute(
                "DELETE FROM survey_answers WHERE response_token = ? AND question_id = ?"
                " AND option_id = ?",
                params,
            )
        else:
            await tx.execute(
                "INSERT INTO survey_answers (response_token, question_id, option_id)"
                " VALUES (?, ?, ?)",
                params,
            )
            await _mark_participant(tx, session)
        await tx.execute(
            "UPDATE survey_sessions SET updated_at = ? WHERE resident_id = ?",
            (now.isoformat(), session.resident_id),
        )
        rows = await tx.fetchall(
            "SELECT option_id FROM survey_answers WHERE response_token = ? AND question_id = ?"
            " AND option_id IS NOT NULL",
            (session.response_token, session.question_id),
        )
    return {row["option_id"] for row in rows}


async def ticked_options(db: Database, session: Session) -> set[int]:
    rows = await db.fetchall(
        "SELECT option_id FROM survey_answers WHERE response_token = ? AND question_id = ?"
        " AND option_id IS NOT NULL",
        (session.response_token, session.question_id),
    )
    return {row["option_id"] for row in rows}


async def set_message(db: Database, resident_id: int, message_id: int) -> None:
    await db.execute(
        "UPDATE survey_sessions SET message_id = ? WHERE resident_id = ?",
        (message_id, resident_id),
    )


async def stop(db: Database, resident_id: int) -> Session | None:
    """End a resident's session; answers given so far stay. Returns the session ended."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT * FROM survey_sessions WHERE resident_id = ?", (resident_id,)
        )
        if row is None:
            return None
        await tx.execute("DELETE FROM survey_sessions WHERE resident_id = ?", (resident_id,))
    return _session(row)


async def end_stale_sessions(db: Database, untouched_since: datetime) -> int:
    """End sessions nobody touched for long: in an anonymous survey the session is the only
    link between a resident and their answers, so it must not linger."""
    async with db.transaction() as tx:
        count = await tx.fetchval(
            "SELECT COUNT(*) FROM survey_sessions WHERE updated_at < ?",
            (untouched_since.isoformat(),),
        )
        await tx.execute(
            "DELETE FROM survey_sessions WHERE updated_at < ?", (untouched_since.isoformat(),)
        )
    return int(count or 0)


async def answered_anything(db: Database, response_token: str) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM survey_answers WHERE response_token = ? LIMIT 1", (response_token,)
        )
    )


async def _still_on(tx: Transaction, session: Session) -> bool:
    current = await tx.fetchval(
        "SELECT question_id FROM survey_sessions WHERE resident_id = ? AND response_token = ?",
        (session.resident_id, session.response_token),
    )
    return bool(current == session.question_id)


async def _mark_participant(tx: Transaction, session: Session) -> None:
    await tx.execute(
        "INSERT OR IGNORE INTO survey_participants (survey_id, resident_id) VALUES (?, ?)",
        (session.survey_id, session.resident_id),
    )


async def _advance(
    tx: Transaction, session: Session, next_question_id: int | None, now: datetime
) -> None:
    if next_question_id is None:
        # Finished. The session, the only link to the response, goes right after the thanks
        # is sent (`stop`): if the bot dies in between, the answer handled again after the
        # restart still finds it, is not stored twice, and the resident gets the thanks.
        await tx.execute(
            "UPDATE survey_responses SET finished = 1 WHERE token = ?", (session.response_token,)
        )
    else:
        await tx.execute(
            "UPDATE survey_sessions SET question_id = ?, message_id = NULL, updated_at = ?"
            " WHERE resident_id = ?",
            (next_question_id, now.isoformat(), session.resident_id),
        )


# --- invitations -------------------------------------------------------------------------------
async def participants(db: Database, survey_id: int) -> list[int]:
    """Residents who answered at least one question (also of anonymous surveys: who took part
    is kept apart from what they answered)."""
    rows = await db.fetchall(
        "SELECT resident_id FROM survey_participants WHERE survey_id = ? ORDER BY resident_id",
        (survey_id,),
    )
    return [int(row[0]) for row in rows]


async def invited_since(db: Database, resident_id: int, since: datetime) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM survey_invitations WHERE resident_id = ? AND invited_at > ? LIMIT 1",
            (resident_id, since.isoformat()),
        )
    )


async def was_invited(db: Database, survey_id: int, resident_id: int) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM survey_invitations WHERE survey_id = ? AND resident_id = ?",
            (survey_id, resident_id),
        )
    )


async def record_invitations(
    tx: Transaction, survey_id: int, resident_ids: Iterable[int], now: datetime
) -> None:
    await tx.executemany(
        "INSERT OR IGNORE INTO survey_invitations (survey_id, resident_id, invited_at)"
        " VALUES (?, ?, ?)",
        [(survey_id, resident_id, now.isoformat()) for resident_id in resident_ids],
    )


async def feedback_done(db: Database, activity_id: int) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM survey_feedback_done WHERE activity_id = ?", (activity_id,)
        )
    )


async def mark_feedback_done(
    tx: Transaction, activity_id: int, survey_id: int | None, now: datetime
) -> None:
    await tx.execute(
        "INSERT OR IGNORE INTO survey_feedback_done (activity_id, survey_id, done_at)"
        " VALUES (?, ?, ?)",
        (activity_id, survey_id, now.isoformat()),
    )


# --- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseRow:
    """One response with its answers: question id -> list of answer values."""

    language: str
    started_on: str
    finished: bool
    answers: dict[int, list[Any]]


async def responses(db: Database, survey_id: int) -> list[ResponseRow]:
    """Every response that has at least one answer, in no traceable order."""
    rows = await db.fetchall(
        "SELECT r.token, r.language, r.started_on, r.finished, a.question_id, a.option_id,"
        " a.value, a.text FROM survey_responses r JOIN survey_answers a"
        " ON a.response_token = r.token WHERE r.survey_id = ?"
        " ORDER BY r.started_on, r.token, a.question_id, a.option_id",
        (survey_id,),
    )
    grouped: dict[str, ResponseRow] = {}
    for row in rows:
        response = grouped.get(row["token"])
        if response is None:
            response = grouped[row["token"]] = ResponseRow(
                row["language"], row["started_on"], bool(row["finished"]), {}
            )
        answer = row["option_id"] if row["option_id"] is not None else row["value"]
        if row["text"] is not None:
            answer = row["text"]
        response.answers.setdefault(row["question_id"], []).append(answer)
    return list(grouped.values())


# --- personal data -----------------------------------------------------------------------------
async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    """Answers to surveys that are not anonymous, and which surveys the resident took part in.

    Answers to anonymous surveys are not linked to anyone, so they cannot be exported.
    """
    took_part = await db.fetchall(
        "SELECT s.slug FROM survey_participants p JOIN surveys s ON s.id = p.survey_id"
        " WHERE p.resident_id = ? ORDER BY s.slug",
        (telegram_id,),
    )
    answers = await db.fetchall(
        "SELECT s.slug, q.key AS question, o.key AS option, a.value, a.text"
        " FROM survey_responses r JOIN surveys s ON s.id = r.survey_id"
        " JOIN survey_answers a ON a.response_token = r.token"
        " JOIN survey_questions q ON q.id = a.question_id"
        " LEFT JOIN survey_options o ON o.id = a.option_id"
        " WHERE r.resident_id = ? ORDER BY s.slug, q.position",
        (telegram_id,),
    )
    invitations = await db.fetchall(
        "SELECT s.slug, i.invited_at FROM survey_invitations i JOIN surveys s"
        " ON s.id = i.survey_id WHERE i.resident_id = ? ORDER BY i.invited_at",
        (telegram_id,),
    )
    data: dict[str, Any] = {}
    if took_part:
        data["took_part_in"] = [row["slug"] for row in took_part]
    if answers:
        data["answers"] = [
            {key: value for key, value in dict(row).items() if value is not None}
            for row in answers
        ]
    if invitations:
        data["invitations"] = [dict(row) for row in invitations]
    return data


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    """Erase the resident's survey traces, including their answers to surveys with names."""
    for table in ("survey_sessions", "survey_participants", "survey_invitations"):
        await tx.execute(f"DELETE FROM {table} WHERE resident_id = ?", (telegram_id,))
    await tx.execute("DELETE FROM survey_responses WHERE resident_id = ?", (telegram_id,))


async def expire(tx: Transaction, cutoff: datetime) -> int:
    """After the retention period, answers stay for the statistics but lose their name."""
    touched = await tx.fetchval(
        "SELECT COUNT(*) FROM survey_responses WHERE resident_id IS NOT NULL AND started_on < ?",
        (cutoff.date().isoformat(),),
    )
    await tx.execute(
        "UPDATE survey_responses SET resident_id = NULL"
        " WHERE resident_id IS NOT NULL AND started_on < ?",
        (cutoff.date().isoformat(),),
    )
    await tx.execute("DELETE FROM survey_invitations WHERE invited_at < ?", (cutoff.isoformat(),))
    await tx.execute("DELETE FROM survey_sessions WHERE updated_at < ?", (cutoff.isoformat(),))
    return int(touched or 0)
