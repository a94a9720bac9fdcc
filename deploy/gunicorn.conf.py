"""gunicorn settings for the web callbacks (`gunicorn -c deploy/gunicorn.conf.py 'wsgi:app'`).

The scheduler and DingTalk Stream run as their own single processes (see deploy/*.service),
never inside these workers.
"""

import os

bind = os.environ.get("BOT_BIND", "127.0.0.1:8000")
# Every cross-worker guarantee (dedup, send-once) lives in PostgreSQL, so workers scale freely;
# 2 per core is plenty for a province (see bench/README.md).
workers = int(os.environ.get("BOT_WORKERS", "4"))
# Threads keep a worker free while a slow client uploads (the callback URL faces the internet).
# Sync workers measured ~10 % faster on a quiet 2-core machine (bench/README.md): switch with
# BOT_WORKER_CLASS=sync only behind a buffering proxy such as nginx.
worker_class = os.environ.get("BOT_WORKER_CLASS", "gthread")
threads = int(os.environ.get("BOT_THREADS", "4"))
# WeCom waits 5 s and DingTalk a few seconds before re-delivering; a stuck request must not
# outlive that by much, but the adapter answers within reply_deadline_seconds anyway.
timeout = 30
graceful_timeout = 20
# No preload: each worker opens its own database pool after the fork.
preload_app = False
# Access lines show the path without its query (msg_signature, nonce) and never a body.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
