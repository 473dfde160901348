"""Benchmarks: the bot against a bare python-telegram-bot echo bot and against Telegram's limits.

python -m bench                  # every benchmark, 3 runs each; table on stdout, JSON written
python -m bench --quick          # a small smoke run
python -m bench.report FILE      # a figures file as the README's Markdown table

See "Performance" in the README for what each benchmark measures and the latest figures.
"""
