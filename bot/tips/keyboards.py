"""The buttons and keyboards of the tip flow (`callback_data` actions: see `steps.BUTTONS`)."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.i18n import Texts
from bot.tips.categories import CATEGORIES, Category


def cancel_button(t: Texts) -> InlineKeyboardButton:
    return InlineKeyboardButton("✖️ " + t._("Cancel"), callback_data="tip:cancel")


def category_keyboard(t: Texts) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                f"{item.icon} {t._(item.label)}", callback_data=f"tip:cat:{item.key}"
            )
        ]
        for item in CATEGORIES
    ]
    rows.append([cancel_button(t)])
    return InlineKeyboardMarkup(rows)


def describe_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("✅ " + t._("Done, next step"), callback_data="tip:done")],
            [cancel_button(t)],
        ]
    )


def place_keyboard(t: Texts) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton("📍 " + t._("Send my location"), request_location=True)],
            [KeyboardButton(skip_label(t))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def skip_label(t: Texts) -> str:
    return "➡️ " + t._("Skip")


def identity_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("👤 " + t._("Yes, show my name"), callback_data="tip:name:1")],
            [
                InlineKeyboardButton(
                    "🙈 " + t._("No, keep me anonymous"), callback_data="tip:name:0"
                )
            ],
            [cancel_button(t)],
        ]
    )


def confirm_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("✅ " + t._("Send the tip"), callback_data="tip:send")],
            [cancel_button(t)],
        ]
    )


def external_keyboard(t: Texts, chosen: Category) -> InlineKeyboardMarkup:
    """A category that is the city's job: their service, or send it to the district anyway."""
    assert chosen.external_url is not None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("🌐 " + t._("Report it to the city"), url=chosen.external_url)],
            [InlineKeyboardButton("✍️ " + t._("Send it to us anyway"), callback_data="tip:here")],
            [cancel_button(t)],
        ]
    )


def me_too_keyboard(t: Texts, similar_tip_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "👍 " + t._("Me too"), callback_data=f"tip:metoo:{similar_tip_id}"
                )
            ],
            [InlineKeyboardButton("✍️ " + t._("No, send my tip"), callback_data="tip:new")],
            [cancel_button(t)],
        ]
    )
