"""`/label` in a case topic: say what a conversation is about (a tip category or any word).

Labels show in the topic's name (`S-0042 · urdu · Amina · #paths`), and count in `/stats`, the
weekly summary and the district report, so the district sees what residents ask about without
anyone reading the conversations again. Residents never see them.

    /label               the case's labels, and how to add or remove one
    /label paths noise   add labels (tip categories are offered, any word works)
    /label -noise        remove one
"""

from __future__ import annotations

import re

from telegram import Update

from bot.context import BotApplication, BotContext
from bot.handover.staff_side import case_here
from bot.handover.topics import rename_case_topic
from bot.i18n import N_
from bot.staff_chat import add_staff_command, answer_in_thread
from bot.tips.categories import CATEGORIES
from storage import case_labels

#: A label is one short word: letters of any script, digits, - and _.
LABEL_RE = re.compile(r"^[\w-]{1,30}$")


def normalize(raw: str) -> str | None:
    """`#Parkering` -> `parkering`; None for what cannot be a label."""
    label = raw.strip().lstrip("#").lower()
    return label if LABEL_RE.match(label) else None


async def label_command(update: Update, context: BotContext) -> None:
    t = context.staff_texts()
    case = await case_here(update, context)
    if case is None:
        await answer_in_thread(update, context, t._("Use this command inside a case topic."))
        return
    staff = update.effective_user
    assert staff is not None
    added, removed, refused = [], [], []
    for word in context.args or []:
        removing = word.startswith("-")
        label = normalize(word.removeprefix("-"))
        if label is None:
            refused.append(word)
        elif removing:
            if await case_labels.remove(context.db, case.id, label):
                removed.append(label)
        elif await case_labels.add(context.db, case.id, label, staff.id, context.now()):
            added.append(label)
    labels = await case_labels.of_case(context.db, case.id)
    lines = [
        t._("🏷 Labels of {number}: {labels}", number=case.number, labels=_tags(labels))
        if labels
        else t._("🏷 Case {number} has no labels yet.", number=case.number)
    ]
    if refused:
        lines.append(
            t._(
                "Not a label (one word, without spaces): {words}",
                words=", ".join(refused),
            )
        )
    if not context.args:
        lines.append(
            t._(
                "Add one: /label {example} (or any word). Remove one: /label -{example}",
                example=CATEGORIES[0].key,
            )
        )
        lines.append(
            t._("Tip categories: {keys}", keys=" ".join(item.key for item in CATEGORIES))
        )
    await answer_in_thread(update, context, "\n".join(lines))
    if added or removed:
        await rename_case_topic(context, case.id)


def _tags(labels: list[str]) -> str:
    return " ".join(f"#{label}" for label in labels)


def register(app: BotApplication) -> None:
    add_staff_command(
        app,
        "label",
        label_command,
        N_("Label the case in this topic: /label WORD, /label -WORD to remove"),
        order=15,
    )
