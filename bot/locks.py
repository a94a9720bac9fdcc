"""The PostgreSQL advisory-lock ids the bot takes, side by side so that no two guards share one.

Every process connected to the same database shares the id space, so each id is named for what it guards.
"""

from __future__ import annotations

MIGRATION = 7_210_001  # one migrator at a time across web workers (bot/runtime.py, upgrade_schema)
REMINDER_SCHEDULER = 7_210_002  # exactly one reminder scheduler (bot/scheduler.py)
LONG_CONNECTIONS = 7_210_004  # one long-connection process per database (bot/platforms/streams.py)
