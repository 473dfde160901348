"""What residents said and how the office answered, for staff and for the district.

    render.py   the figures as text, Markdown, a PNG chart and a PDF (plain functions)
    weekly.py   the weekly summary posted in the staff chat (a JobQueue job)
    cli.py      `python -m bot report --from DATE --to DATE --output FILE.pdf`

The figures themselves are SQL in `storage/reports.py`.
"""

from __future__ import annotations

from bot.context import BotApplication


def register(app: BotApplication) -> None:
    from bot.reports import weekly

    weekly.register(app)
