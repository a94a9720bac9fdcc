"""The WSGI entry for gunicorn (`gunicorn 'wsgi:app'`): the app built by create_app from $BOT_CONFIG,
or ./config.yaml when it is unset. Each worker builds its own app (no preload), so no database
connection is shared across a fork."""

from __future__ import annotations

import os

from app import create_app

app = create_app(os.environ.get("BOT_CONFIG") or None)
