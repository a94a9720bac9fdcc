"""What the logs hold after a run of real callbacks (WeCom smart bot, DingTalk robot) and a push:
message ids and outcomes to trace each message; no note text, names or mobiles at INFO; no secret."""

from __future__ import annotations

import logging
import os
import re
import time

import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

import app as app_module
from app import PLATFORMS, create_app
from bot import outbox
from bot.config import settings_from_dict
from bot.messages import Person
from bot.platforms import wecom
from bot.platforms.wecom import WecomPushClient
from bot.runtime import build_runtime
from models import LiaisonGroup, make_engine
from tests.conftest import NOW, ROSTER
from tests.fakes import wecom_client as wc
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.wecom_server import CORP_ID, SECRET, WEBHOOK_KEY, FakeWecom, push_settings
from tests.test_dingtalk_callback import SECRET as DING_SECRET
from tests.test_dingtalk_callback import headers as ding_headers
from tests.test_dingtalk_callback import message as ding_message

NOTE_TITLE = "关于东门菜市场排水沟堵塞的建议"
NOTE_BODY = "摊主王阿姨反映雨天积水没过脚踝，电话13512345678"
LEAVE_REASON = "母亲住院需要陪护"
NAMES = [name for name, *_ in ROSTER]
MOBILES = [mobile for _, _, _, mobile, *_ in ROSTER] + ["13512345678"]


@pytest.fixture
def app_config(write_config, config_dict, roster):
    wecom = {
        **wc.SMART_BOT,
        "corp_id": CORP_ID,
        "app": {
            "agent_id": "1000002",
            "secret": SECRET,
            "token": "app-token",
            "encoding_aes_key": wc.AES_KEY,
        },
    }
    dingtalk = {"app_key": "ding-app-key", "app_secret": DING_SECRET, "robot_code": "ding-robot"}
    return write_config(
        wecom=wecom,
        dingtalk=dingtalk,
        log_level="INFO",
        scheduler={**config_dict["scheduler"], "enabled": False},
        groups=[{"name": "第一联络组", "wecom": {"chat_id": "chat-g1", "webhook_key": WEBHOOK_KEY}}],
    )


def _post(client, signed: tuple[str, bytes]):
    return client.post(signed[0], data=signed[1], content_type="application/json")


def _wecom(client, text: str, msgid: str, userid: str = "zhangsan", chat: str | None = "chat-g1"):
    return _post(client, wc.signed(wc.payload(text, msgid, userid, chat)))


def _run(client, runtime, config_dict) -> list[str]:
    """A morning of traffic; returns the message ids that passed the signature check."""
    wecom_ids = []
    for msgid, userid, chat, text in [
        ("W1", "zhangsan", "chat-g1", f"社情民意：{NOTE_TITLE}。{NOTE_BODY}"),
        ("W2", "lisi", "chat-g1", f"请假 明天的视察 {LEAVE_REASON}"),
        ("W3", "wang", "chat-g1", "本组情况"),
        ("W4", "lisi", "chat-g1", "发布活动 12月3日上午9点 视察 城区污水处理厂"),
        ("W5", "stranger", None, "绑定 赵六 13800000003"),
        ("W6", "zhangsan", "chat-g2", f"社情民意：{NOTE_TITLE}。{NOTE_BODY}"),
        ("W7", "zhangsan", None, "我的履职"),
    ]:
        assert _wecom(client, text, msgid, userid, chat).status_code == 200
        wecom_ids.append(msgid)
    assert _wecom(client, f"社情民意：{NOTE_TITLE}。{NOTE_BODY}", "W1").status_code == 200  # a redelivery
    forged = wc.signed(wc.payload(f"社情民意：{NOTE_TITLE}", "F1"), token="not-the-token")
    assert _post(client, forged).status_code == 403

    body = ding_message(f"社情民意：{NOTE_TITLE}。{NOTE_BODY}", msg_id="D1", senderNick="张三")
    assert client.post("/dingtalk/robot", json=body, headers=ding_headers()).status_code == 200

    # A reminder that @s members by mobile, pushed through the WeCom push bot and the app.
    fake = FakeWecom().start()
    try:
        settings = push_settings(config_dict, fake.base)
        with runtime.sessions.begin() as s:
            gid = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == "第一联络组"))
            mention = (Person("张三", mobile="13800000001"),)
            outbox.enqueue(s, key="R1", target_kind="group", text=f"张三还没交{NOTE_TITLE}", now=NOW,
                           group_id=gid, mentions=mention)  # fmt: skip
        report = outbox.Deliverer(
            runtime.sessions, settings, PLATFORMS.with_clients({"wecom": WecomPushClient(settings)})
        ).deliver(NOW)
        assert report.sent == 1
    finally:
        fake.stop()
    return [*wecom_ids, "D1"]


def _text(record: logging.LogRecord) -> str:
    """Everything a log handler would write for the record, traceback included."""
    return logging.Formatter("%(name)s %(message)s").format(record)


def test_logs_trace_every_message_without_contents_personal_data_or_secrets(
    app_config, runtime, config_dict, caplog
):
    caplog.set_level(logging.INFO)
    client = create_app(app_config).test_client()
    caplog.clear()
    traced = _run(client, runtime, config_dict)

    def outcome_logged(msgid: str) -> bool:
        pattern = re.compile(rf"\b{msgid}\b.*(outcome=|ignored)")
        return any(pattern.search(r.getMessage()) for r in list(caplog.records))

    # An answer later than the reply deadline is logged by a worker thread when it is ready.
    deadline = time.monotonic() + 15
    while not all(outcome_logged(m) for m in traced) and time.monotonic() < deadline:
        time.sleep(0.05)
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    written = "\n".join(_text(r) for r in records)
    assert written, "the run wrote no log at all"

    for secret in (wc.TOKEN, wc.AES_KEY, SECRET, DING_SECRET, WEBHOOK_KEY, "app-token", "token-1"):
        assert secret not in written
    for private in [NOTE_TITLE, NOTE_BODY[:8], LEAVE_REASON, *NAMES, *MOBILES]:
        assert private not in written, f"{private!r} in the log"

    # An admin can follow each message: its id with what became of it, once per delivery.
    for msgid in traced:
        lines = [_text(r) for r in records if re.search(rf"\b{msgid}\b", r.getMessage())]
        assert outcome_logged(msgid), (msgid, lines)
    assert any("W1" in r.getMessage() and "duplicate" in r.getMessage() for r in records)
    assert any("refused" in r.getMessage() and "signature" in r.getMessage() for r in records)


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="cuts the database's TCP connection: needs a PostgreSQL server (set TEST_DATABASE_URL)",
)
def test_a_database_failure_is_logged_without_the_message_it_was_writing(
    runtime, roster, config_dict, db_url, caplog
):
    url = make_url(db_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    engine = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    rt = build_runtime(
        settings_from_dict({**config_dict, "wecom": wc.SMART_BOT}, "t"),
        app_module.ROUTERS,
        platforms=PLATFORMS,
        engine=engine,
    )
    flask_app = Flask("privacy")
    flask_app.register_blueprint(wecom.make_blueprint(rt))

    def cut_before_the_inbound_insert(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO inbound_message"):
            proxy.cut()  # this very statement, carrying the member's text, fails

    event.listen(engine, "before_cursor_execute", cut_before_the_inbound_insert)
    caplog.set_level(logging.INFO)
    try:
        resp = _wecom(flask_app.test_client(), f"社情民意：{NOTE_TITLE}。{NOTE_BODY}", "DB1")
    finally:
        event.remove(engine, "before_cursor_execute", cut_before_the_inbound_insert)
        proxy.close()
        engine.dispose()
    assert resp.status_code == 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "the failure was not logged"
    written = "\n".join(_text(r) for r in errors)
    assert "OperationalError" in written
    for private in (NOTE_TITLE, NOTE_BODY[:8], "zhangsan"):
        assert private not in written
