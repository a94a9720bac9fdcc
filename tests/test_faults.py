"""Faults on loopback: the server SIGKILLed under load, the database cut off, the push target down
for an hour. After recovery and the platform's retries every accepted message is recorded once."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

import app as app_module
from app import PLATFORMS
from bot import outbox
from bot.config import settings_from_dict
from bot.platforms import wecom
from bot.platforms.wecom import WecomPushClient
from bot.runtime import build_runtime
from models import Base, InboundMessage, LiaisonGroup, Member, OutboxMessage, Submission, make_engine
from tests.conftest import NOW
from tests.fakes import wecom_client as wc
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.wecom_server import FakeWecom, push_settings

ROOT = Path(__file__).resolve().parent.parent
ON_POSTGRESQL = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
needs_postgresql = pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="cuts the database's TCP connection: needs a PostgreSQL server (set TEST_DATABASE_URL)",
)


def counts(sessions) -> dict[str, int]:
    with sessions() as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def note(i: int) -> str:
    return f"社情民意：关于故障演练第{i}号的建议。正文第{i}号。"


# --------------------------------------------------------------------------- SIGKILL under load


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_TWO_THREADED = ("-w", "2", "-k", "gthread", "--threads", "2", "--graceful-timeout", "2")


def _start_gunicorn(
    config: Path, port: int, log: Path, options: tuple[str, ...] = _TWO_THREADED, env: dict | None = None
) -> subprocess.Popen:
    """gunicorn serving wsgi:app on 127.0.0.1:`port` with `options`, once it answers /healthz."""
    cmd = [sys.executable, "-m", "gunicorn", *options, "-b", f"127.0.0.1:{port}", "wsgi:app"]
    env = {**os.environ, "BOT_CONFIG": str(config), **(env or {})}
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")[-2000:]
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    _kill(proc)
    raise AssertionError("gunicorn did not answer /healthz within 60 s")


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the master and its workers (one process group), and reap the master."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _post(port: int, i: int) -> int | None:
    path, body = wc.signed(
        wc.payload(note(i), f"K{i}", userid=("zhangsan", "lisi", "wang")[i % 3]), nonce=f"n{i}"
    )
    try:
        return requests.post(f"http://127.0.0.1:{port}{path}", data=body, timeout=10).status_code
    except requests.RequestException:
        return None  # the connection died with the server: WeCom would retry


def test_server_killed_mid_load_then_retried_records_every_answered_message_exactly_once(
    runtime, roster, write_config, config_dict, tmp_path
):
    config = write_config(wecom=wc.SMART_BOT, scheduler={**config_dict["scheduler"], "enabled": False})
    port, log, n = _free_port(), tmp_path / "gunicorn.log", 80
    proc = _start_gunicorn(config, port, log)
    first: dict[int, int | None] = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = {pool.submit(_post, port, i): i for i in range(n)}
            deadline = time.monotonic() + 60
            while sum(f.done() and f.result() == 200 for f in futures) < 15:
                assert time.monotonic() < deadline, "the load never got going"
                time.sleep(0.01)
            _kill(proc)  # in the middle of the load: requests are in flight
            for f, i in futures.items():
                first[i] = f.result(timeout=30)
        answered = {i for i, code in first.items() if code == 200}
        assert 15 <= len(answered) < n, "the kill did not land in the middle of the load"

        proc = _start_gunicorn(config, port, log)
        # WeCom re-delivers what was not answered; re-sending everything also covers a retry
        # of a message whose answer was lost after it was committed.
        retried = {i: _post(port, i) for i in range(n)}
        assert set(retried.values()) == {200}
    finally:
        _kill(proc)

    with runtime.sessions() as s:
        per_msg = Counter(s.scalars(select(InboundMessage.msg_id)))
        titles = Counter(s.scalars(select(Submission.title)))
        outcomes = Counter(s.scalars(select(InboundMessage.outcome)))
    assert per_msg == Counter({f"K{i}": 1 for i in range(n)})
    assert titles == Counter({f"关于故障演练第{i}号的建议": 1 for i in range(n)})
    assert outcomes == {"answered": n}


@pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="concurrent writers: SQLite serialises them with one file lock, so only PostgreSQL "
    "shows the race (set TEST_DATABASE_URL)",
)
def test_one_message_delivered_to_eight_workers_at_once_is_recorded_once(runtime, roster):
    """WeCom's retries can reach different gunicorn workers together: the unique key decides."""
    from bot.messages import Incoming

    barrier = threading.Barrier(8)

    def deliver(_: int):
        incoming = Incoming("wecom_bot", "chat-g1", "zhangsan", None, note(99), "RACE", NOW, True)
        barrier.wait(timeout=10)
        return runtime.pipeline.handle(incoming, NOW)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(deliver, range(8), timeout=60))
    assert sorted(o.duplicate for o in outcomes) == [False] + [True] * 7
    assert {o.reply.text for o in outcomes if o.reply} == {outcomes[0].reply.text}
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert s.scalar(select(func.count()).select_from(Submission)) == 1


# --------------------------------------------------------------------------- database cut off


@pytest.fixture
def proxied(runtime, roster, config_dict, db_url):
    """A runtime and WeCom endpoint whose database connections go through a proxy the test can cut."""
    url = make_url(db_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    engine = make_engine(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        connect_args={"connect_timeout": 2},
    )
    settings = settings_from_dict({**config_dict, "wecom": wc.SMART_BOT}, "test")
    rt = build_runtime(settings, app_module.ROUTERS, platforms=PLATFORMS, engine=engine)
    flask_app = Flask("faults")
    flask_app.register_blueprint(wecom.make_blueprint(rt))
    yield flask_app.test_client(), proxy, engine
    proxy.close()
    engine.dispose()


def _send(client, i: int, nonce: str = "n"):
    path, body = wc.signed(wc.payload(note(i), f"D{i}"), nonce=nonce)
    return client.post(path, data=body, content_type="application/json")


@needs_postgresql
def test_database_unreachable_answers_5xx_writes_nothing_and_redelivery_records_once(proxied, runtime):
    client, proxy, _ = proxied
    first = wc.answer_text(_send(client, 0).data)
    assert first.startswith("已收到")
    before = counts(runtime.sessions)

    proxy.cut()
    down = [_send(client, i, nonce="down") for i in (1, 2)]
    assert [r.status_code for r in down] == [500, 500]  # WeCom retries a 5xx
    assert counts(runtime.sessions) == before

    proxy.restore()
    answers = [_send(client, i, nonce="again") for i in (0, 1, 2)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    # the first was recorded before the outage: delivered again, it gets the answer it was given
    assert wc.answer_text(answers[0].data) == first
    assert all(wc.answer_text(r.data).startswith("已收到") for r in answers[1:])
    with runtime.sessions() as s:
        assert Counter(s.scalars(select(InboundMessage.msg_id))) == {"D0": 1, "D1": 1, "D2": 1}
        assert s.scalar(select(func.count()).select_from(Submission)) == 3


@needs_postgresql
def test_connection_lost_in_the_middle_of_a_message_leaves_no_half_written_rows(proxied, runtime):
    client, proxy, engine = proxied
    before = counts(runtime.sessions)

    def cut_after_the_submission_insert(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO submission"):
            proxy.cut()  # the inbound row and the submission are written, the commit is not

    event.listen(engine, "after_cursor_execute", cut_after_the_submission_insert)
    try:
        assert _send(client, 7).status_code == 500
    finally:
        event.remove(engine, "after_cursor_execute", cut_after_the_submission_insert)
    assert counts(runtime.sessions) == before

    proxy.restore()
    assert wc.answer_text(_send(client, 7, nonce="again").data).startswith("已收到")
    after = counts(runtime.sessions)
    assert (after["inbound_message"], after["submission"]) == (before["inbound_message"] + 1, 1)


@needs_postgresql
def test_a_database_that_hangs_past_the_reply_deadline_is_not_acknowledged(
    runtime, roster, config_dict, db_url
):
    url = make_url(db_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    engine = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    wecom_cfg = {**wc.SMART_BOT, "reply_deadline_seconds": 0.5, "ack_deadline_seconds": 1.0}
    rt = build_runtime(
        settings_from_dict({**config_dict, "wecom": wecom_cfg}, "t"),
        app_module.ROUTERS,
        platforms=PLATFORMS,
        engine=engine,
    )
    flask_app = Flask("hang")
    flask_app.register_blueprint(wecom.make_blueprint(rt))
    before = counts(runtime.sessions)
    proxy.hold()
    try:
        resp = _send(flask_app.test_client(), 9)
    finally:
        proxy.close()  # the hung connection attempt fails now, so the worker thread ends
        engine.dispose()
    assert counts(runtime.sessions) == before
    assert resp.status_code == 503  # not stored by the ack deadline: WeCom delivers again


# --------------------------------------------------------------------------- push target down


def test_push_target_down_for_an_hour_then_everything_is_delivered_once(runtime, roster, config_dict):
    fake = FakeWecom().start()
    proxy = TcpProxy("127.0.0.1", int(fake.base.rsplit(":", 1)[1]))
    settings = push_settings(config_dict, f"http://127.0.0.1:{proxy.port}")
    with runtime.sessions.begin() as s:
        gid = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == "第一联络组"))
        mid = s.scalar(select(Member.id).where(Member.wecom_userid == "zhangsan"))
        for i in range(25):  # more than the push bot's 20 a minute
            outbox.enqueue(s, key=f"g{i}", target_kind="group", text=f"提醒{i}", now=NOW, group_id=gid)
        for i in range(2):
            outbox.enqueue(s, key=f"p{i}", target_kind="member", text=f"私信{i}", now=NOW, member_id=mid)
    deliverer = outbox.Deliverer(
        runtime.sessions, settings, PLATFORMS.with_clients({"wecom": WecomPushClient(settings, timeout=2)})
    )
    try:
        proxy.cut()
        at = NOW
        for _ in range(60):  # an hour, one scheduler tick a minute
            deliverer.deliver(at)
            at += dt.timedelta(minutes=1)
        assert fake.calls == []
        with runtime.sessions() as s:
            assert set(s.scalars(select(OutboxMessage.status))) <= {"pending", "sending"}

        proxy.restore()
        for _ in range(240):  # up to four more hours: past the longest backoff
            deliverer.deliver(at)
            at += dt.timedelta(minutes=1)
            with runtime.sessions() as s:
                if set(s.scalars(select(OutboxMessage.status))) == {"sent"}:
                    break
    finally:
        proxy.close()
        fake.stop()
    hooks = Counter(c.body["markdown"]["content"] for c in fake.calls_to("/cgi-bin/webhook/send"))
    direct = Counter(c.body["text"]["content"] for c in fake.calls_to("/cgi-bin/message/send"))
    assert hooks == Counter({f"提醒{i}": 1 for i in range(25)})
    assert direct == Counter({f"私信{i}": 1 for i in range(2)})
    with runtime.sessions() as s:
        assert set(s.scalars(select(OutboxMessage.status))) == {"sent"}
