"""All persistence: the SQLite database, its migrations and every SQL statement the bot runs."""

from storage.db import Database

__all__ = ["Database"]
