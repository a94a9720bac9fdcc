"""The WSGI entry for gunicorn (`gunicorn 'wsgi:app'`): the app built by create_app from $BOT_CONFIG,
or ./config.yaml when it is unset. Under deploy/gunicorn.conf.py the master builds it once
(preload) and closes its database connections before forking the workers, so none is shared
across a fork; with BOT_PRELOAD=0 each worker builds its own."""

from __future__ import annotations

import os

from app import create_app

app = create_app(os.environ.get("BOT_CONFIG") or None)
