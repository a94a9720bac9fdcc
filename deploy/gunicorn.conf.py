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
# Preload: the master imports and builds the app once (and checks the schema once), closes its
# database connections, puts what it built out of the garbage collector's sight and forks the
# workers, which share those pages until they write to them (bench/README.md: a worker's own
# memory 77 → 36 MiB). No database connection crosses the fork. Since the workers carry the
# master's code and config.yaml, a new version or config takes `systemctl restart`, not reload.
# BOT_PRELOAD=0 builds the app in each worker instead.
preload_app = os.environ.get("BOT_PRELOAD", "1") != "0"


def _runtime(server):
    app = getattr(server.app, "callable", None) if server.cfg.preload_app else None
    return getattr(app, "extensions", {}).get("bot")


def when_ready(server):
    if (runtime := _runtime(server)) is not None:
        runtime.engine.dispose()  # before any fork: the master keeps no connection to hand down


def pre_fork(server, worker):
    import gc

    gc.freeze()  # the collector never walks (so never writes to) the objects the master built


def post_fork(server, worker):
    if (runtime := _runtime(server)) is not None:
        runtime.engine.dispose(close=False)  # should the master ever hold one: it stays the master's
# Access lines show the path without its query (msg_signature, nonce) and never a body.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
