"""The main menu: big buttons with an icon each, for residents who read little."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import N_, SUPPORTED_LANGUAGES, Texts

#: The 1-5 scale, one tap each, used for case ratings and survey answers alike: faces read
#: the same in every language and need no reading at all.
SMILEYS = ("😞", "🙁", "😐", "🙂", "😄")

#: (callback key, icon, label). Features answer `menu:<key>`; the order is the menu's order.
MENU_ENTRIES: tuple[tuple[str, str, str], ...] = (
    ("activities", "📅", N_("Activities")),
    ("tip", "📝", N_("Report a tip or problem")),
    ("surveys", "⭐", N_("Give feedback")),
    ("contact", "💬", N_("Talk to a person")),
    ("language", "🌐", N_("Language")),
    ("privacy", "🔒", N_("Privacy")),
)


def main_menu(t: Texts) -> InlineKeyboardMarkup:
    """One entry per row: easier to hit and to read than a dense grid."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(f"{icon} {t._(label)}", callback_data=f"menu:{key}")]
            for key, icon, label in MENU_ENTRIES
        ]
    )


def language_keyboard(current: str | None, payload: str = "") -> InlineKeyboardMarkup:
    """Each language labelled in its own language; the current one carries a check mark.

    `payload` is a pending deep link (for example `tip`) to continue with after the choice.
    """
    buttons = []
    for code, name in SUPPORTED_LANGUAGES.items():
        label = f"✅ {name}" if code == current else name
        data = f"lang:{code}:{payload}" if payload else f"lang:{code}"
        buttons.append(InlineKeyboardButton(label, callback_data=data[:64]))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows)
