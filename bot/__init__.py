"""Stikk innom: a low-threshold Telegram contact point between a district and its residents."""
