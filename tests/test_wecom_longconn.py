"""The WeCom smart bot's long connection against a local gateway speaking doc 101463's frames:
subscribe, ping, messages through the pipeline answered once on their req_id, reconnection after
a refusal, a dead link, a clean close or a drop; displacement stops it; proactive pushes by
aibot_send_msg for the outbox, only where someone has written, within WeCom's limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import app as app_module
from bot import outbox
from bot.config import settings_from_dict
from bot.pipeline import APOLOGY
from bot.platforms.wecom.longconn import LongConnection
from bot.runtime import build_runtime
from models import InboundMessage, LiaisonGroup, OutboxMessage
from tests.fakes.wecom_gateway import BOT_ID, BOT_SECRET, FakeLongConnectionGateway

GROUP_CHAT = "wrkGroupOne"


def message(text: str, msgid: str = "LC1", userid: str = "zhangsan", chat: str | None = GROUP_CHAT) -> dict:
    body = {
        "msgid": msgid,
        "aibotid": BOT_ID,
        "chattype": "group" if chat else "single",
        "from": {"userid": userid},
        "msgtype": "text",
        "text": {"content": f"@履职助手\u2005{text}" if chat else text},
    }
    if chat:
        body["chatid"] = chat
    return body


def records(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage))


@pytest.fixture
def gateway():
    with FakeLongConnectionGateway() as gw:
        yield gw


def make_bot(engine, config_dict, gateway, **wecom):
    groups = [{"name": "第一联络组", "wecom": {"chat_id": GROUP_CHAT}}]
    settings = settings_from_dict(
        {
            **config_dict,
            "groups": groups,
            "wecom": {
                "smart_bot": {
                    "long_connection": {"bot_id": BOT_ID, "secret": BOT_SECRET, "url": gateway.url}
                },
                **wecom,
            },
        },
        "test",
    )
    return build_runtime(
        settings, app_module.ROUTERS, platforms=app_module.PLATFORMS.configured(settings), engine=engine
    )


@pytest.fixture
def bot(engine, config_dict, gateway, roster):
    rt = make_bot(engine, config_dict, gateway, reply_deadline_seconds=1.0)
    with rt.sessions.begin() as s:  # 第一联络组's chat, as config.yaml binds it
        from bot.roster import sync_chat_bindings

        sync_chat_bindings(s, rt.settings, rt.platforms)
    return rt


class Running:
    """A LongConnection running in a thread of its own, stopped and joined (bounded) on exit."""

    def __init__(self, runtime, **options) -> None:
        defaults = {
            "backoff_initial": 0.05,
            "backoff_max": 0.2,
            "store_pause_seconds": 0.02,
            "outbox_seconds": 0.05,
        }
        self.client = LongConnection(runtime, **{**defaults, **options})
        self.thread = threading.Thread(target=lambda: asyncio.run(self.client.start()), daemon=True)

    def __enter__(self) -> LongConnection:
        self.thread.start()
        assert self.client.started.wait(5)
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.stop()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "long connection did not stop"


def test_subscribes_then_a_message_is_stored_and_answered_by_one_finished_stream_on_its_req_id(gateway, bot):
    with Running(bot):
        gateway.wait_subscribed()
        [subscribe] = gateway.frames("aibot_subscribe")
        assert subscribe["body"] == {"bot_id": BOT_ID, "secret": BOT_SECRET}
        assert subscribe["headers"]["req_id"].startswith("aibot_subscribe_")
        req_id = gateway.push_message(message("帮助"))
        [respond] = gateway.wait_frames("aibot_respond_msg")
    assert respond["headers"]["req_id"] == req_id  # echoes the callback's req_id
    stream = respond["body"]["stream"]
    assert respond["body"]["msgtype"] == "stream" and stream["finish"] is True and stream["id"] == "LC1"
    assert stream["content"].startswith("张三，您可以这样@我")
    with bot.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
    assert (row.platform, row.msg_id, row.chat_id, row.sender_id, row.text) == (
        "wecom_bot",
        "LC1",
        GROUP_CHAT,
        "zhangsan",
        "帮助",
    )


def test_a_redelivered_msgid_is_recorded_once_and_answered_once(gateway, bot):
    with Running(bot):
        gateway.wait_subscribed()
        gateway.push_message(message("帮助", msgid="DUP"))
        gateway.wait_frames("aibot_respond_msg")
        gateway.push_message(message("帮助", msgid="DUP"))  # a new req_id, the same message
        gateway.push_message(message("帮助", msgid="AFTER"))
        gateway.wait_frames("aibot_respond_msg", 2)
    assert records(bot) == 2
    assert len(gateway.frames("aibot_respond_msg")) == 2  # DUP once, AFTER once


def test_a_refused_subscription_takes_no_message_and_is_tried_again_with_backoff(gateway, bot):
    gateway.refuse_subscribe = True
    with Running(bot) as client:
        gateway.wait_for(lambda: gateway.connections >= 3)
        assert client.subscriptions == 0
        gateway.refuse_subscribe = False
        gateway.wait_subscribed()
    assert len(gateway.frames("aibot_subscribe")) >= 4


def test_two_unanswered_pings_mean_a_dead_link_and_a_new_connection(gateway, bot):
    with Running(bot, ping_seconds=0.05):
        gateway.wait_subscribed()
        gateway.wait_frames("ping", 2)  # answered: the link is alive
        gateway.answer_pings = False
        gateway.wait_for(lambda: gateway.connections >= 2)
        gateway.answer_pings = True
        gateway.wait_subscribed(2)
        gateway.push_message(message("帮助", msgid="AFTER_PINGS"))
        gateway.wait_frames("aibot_respond_msg")
    pings = gateway.frames("ping")
    assert all(p["headers"]["req_id"].startswith("ping_") and "body" not in p for p in pings)


@pytest.mark.parametrize("end", ["close", "drop"])
def test_a_clean_close_or_a_dropped_socket_is_followed_by_a_new_connection(gateway, bot, end):
    with Running(bot):
        gateway.wait_subscribed()
        getattr(gateway, end)()
        gateway.wait_subscribed(2)
        gateway.push_message(message("帮助", msgid=f"AFTER_{end}"))
        gateway.wait_frames("aibot_respond_msg")
    assert records(bot) == 1


def test_disconnected_event_stops_the_connection_and_says_so(gateway, bot, caplog):
    running = Running(bot)
    with running as client:
        gateway.wait_subscribed()
        gateway.push_event("disconnected_event")
        running.thread.join(timeout=10)
        assert not running.thread.is_alive()  # it stopped by itself
        assert client.displaced
    assert gateway.connections == 1  # and did not fight the other connection
    assert "disconnected_event" in caplog.text


def test_nothing_is_answered_before_the_message_is_stored(gateway, bot):
    down = OperationalError("INSERT …", {}, Exception("server closed the connection unexpectedly"))
    handle, calls = bot.pipeline.handle, []

    def flaky(incoming, now):
        calls.append(records(bot))
        if len(calls) < 3:
            raise down  # the database is down for the first two tries
        return handle(incoming, now)

    bot.pipeline.handle = flaky
    with Running(bot):
        gateway.wait_subscribed()
        gateway.push_message(message("帮助", msgid="DBDOWN"))
        [respond] = gateway.wait_frames("aibot_respond_msg")
    assert respond["body"]["stream"]["content"].startswith("张三，您可以这样@我")
    assert records(bot) == 1 and len(calls) == 3


def test_a_database_that_stays_down_is_told_to_the_member_and_records_nothing(gateway, bot):
    down = OperationalError("INSERT …", {}, Exception("server closed the connection unexpectedly"))

    def broken(incoming, now):
        raise down

    bot.pipeline.handle = broken
    with Running(bot, store_seconds=0.2):
        gateway.wait_subscribed()
        gateway.push_message(message("帮助", msgid="DOWN"))
        [respond] = gateway.wait_frames("aibot_respond_msg")
    assert respond["body"]["stream"]["content"] == APOLOGY
    assert records(bot) == 0


def test_an_answer_not_ready_within_the_reply_deadline_goes_into_the_chat_by_aibot_send_msg(
    engine, config_dict, gateway, roster
):
    bot = make_bot(engine, config_dict, gateway, reply_deadline_seconds=0.1)
    handle = bot.pipeline.handle

    def slow(incoming, now):
        threading.Event().wait(0.4)  # the pipeline's run takes longer than WeCom gives the reply
        return handle(incoming, now)

    bot.pipeline.handle = slow
    with Running(bot):
        gateway.wait_subscribed()
        gateway.push_message(message("帮助", msgid="SLOW"))
        [sent] = gateway.wait_frames("aibot_send_msg")
    assert gateway.frames("aibot_respond_msg") == []
    assert sent["body"]["chatid"] == GROUP_CHAT and sent["body"]["msgtype"] == "markdown"
    assert sent["body"]["markdown"]["content"].startswith("张三，您可以这样@我")
    with bot.sessions() as s:
        assert s.scalars(select(OutboxMessage.status)).all() == ["sent"]
    assert records(bot) == 1


def group_reminder(rt, key: str) -> None:
    now = rt.now()  # the connection's own outbox rounds read the clock too
    with rt.sessions.begin() as s:
        gid = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == "第一联络组"))
        outbox.enqueue(s, key=key, target_kind="group", text=f"【履职提醒】{key}", now=now, group_id=gid)


def test_reminders_are_pushed_only_into_a_chat_where_someone_has_written(gateway, bot):
    group_reminder(bot, "before")
    with Running(bot, outbox_seconds=3600):
        gateway.wait_subscribed()
        bot.deliverer.deliver(bot.now())
        assert gateway.frames("aibot_send_msg") == []  # nobody has written there yet
        gateway.push_message(message("帮助", msgid="FIRST"))
        gateway.wait_frames("aibot_respond_msg")
        bot.deliverer.deliver(bot.now() + dt.timedelta(minutes=5))
        [sent] = gateway.wait_frames("aibot_send_msg")
    assert (sent["body"]["chatid"], sent["body"]["markdown"]["content"]) == (GROUP_CHAT, "【履职提醒】before")
    assert sent["headers"]["req_id"].startswith("aibot_send_msg_")


def test_a_refused_push_is_failed_for_the_admin_not_retried(gateway, bot):
    gateway.send_errcodes = [40008]
    with Running(bot, outbox_seconds=3600):
        gateway.wait_subscribed()
        gateway.push_message(message("帮助", msgid="FIRST"))
        gateway.wait_frames("aibot_respond_msg")
        group_reminder(bot, "refused")
        report = bot.deliverer.deliver(bot.now())
    assert report.failed == 1
    with bot.sessions() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert row.status == "failed" and "40008" in row.last_error


def test_thirty_pushes_a_minute_per_chat_then_the_rest_wait(gateway, bot):
    with Running(bot, outbox_seconds=3600):
        gateway.wait_subscribed()
        gateway.push_message(message("帮助", msgid="FIRST"))
        gateway.wait_frames("aibot_respond_msg")
        for i in range(31):
            group_reminder(bot, f"r{i}")
        now = bot.now()
        first = bot.deliverer.deliver(now)
        second = bot.deliverer.deliver(now + dt.timedelta(seconds=61))
    assert (first.sent, first.deferred) == (30, 1)
    assert second.sent == 1
    assert len(gateway.frames("aibot_send_msg")) == 31


def test_a_scheduler_in_another_process_leaves_the_push_to_the_connections_process(gateway, bot, config_dict):
    # The scheduler's process has no long connection: it hands the row over, uncounted.
    elsewhere = outbox.Deliverer(bot.sessions, bot.settings, app_module.PLATFORMS.configured(bot.settings))
    with Running(bot):
        gateway.wait_subscribed()
        gateway.push_message(message("帮助", msgid="FIRST"))
        gateway.wait_frames("aibot_respond_msg")
        group_reminder(bot, "handed")
        assert elsewhere.deliver(bot.now()).sent == 0
        with bot.sessions() as s:  # the connection's own round may already have claimed it
            row = s.scalars(select(OutboxMessage)).one()
            assert (row.via, row.status in ("pending", "sending", "sent")) == ("wecom_long_connection", True)
        [sent] = gateway.wait_frames("aibot_send_msg")  # the connection's own outbox round
    assert sent["body"]["markdown"]["content"] == "【履职提醒】handed"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with bot.sessions() as s:
            if s.scalars(select(OutboxMessage.status)).one() == "sent":
                break
    with bot.sessions() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert (row.status, row.attempts) == ("sent", 1)  # the other process's claim was not counted


def test_the_stream_process_runs_dingtalk_stream_and_the_wecom_connection_under_one_lock(
    engine, config_dict, gateway, roster
):
    from bot.platforms.dingtalk.stream import StreamClient
    from bot.platforms.streams import AlreadyRunning, SingleProcessLock, connections, run_all
    from tests.fakes.dingtalk_gateway import FakeGateway

    with FakeGateway("ding-app-key", "ding-app-secret") as ding:
        rt = make_bot(engine, {**config_dict, "dingtalk": {"app_key": "ding-app-key", "app_secret": "ding-app-secret", "api_base": ding.url}}, gateway)  # fmt: skip
        clients = connections(rt)
        assert [type(c) for c in clients] == [StreamClient, LongConnection]
        assert [type(c) for c in connections(rt, serving=True)] == [LongConnection]  # stream: false
        thread = threading.Thread(target=run_all, args=(rt, clients), daemon=True)
        thread.start()
        try:
            ding.wait_connected(1)
            gateway.wait_subscribed()
            with pytest.raises(AlreadyRunning):
                SingleProcessLock(rt.engine).acquire()  # a second `python app.py stream` refuses
        finally:
            for c in clients:
                c.stop()
            thread.join(timeout=10)
        assert not thread.is_alive()


def test_stream_command_without_any_long_connection_configured_says_what_to_fill_in(write_config):
    from click.testing import CliRunner

    result = CliRunner().invoke(app_module.cli, ["--config", str(write_config()), "stream"])
    assert result.exit_code == 2 and "long_connection" in result.output and "app_key" in result.output


def test_a_voice_message_on_the_long_connection_is_read_as_its_transcript(gateway, bot):
    voice = {**message(""), "msgtype": "voice", "voice": {"content": "帮助"}}
    del voice["text"]
    with Running(bot):
        gateway.wait_subscribed()
        gateway.push_message(voice)
        [respond] = gateway.wait_frames("aibot_respond_msg")
    assert respond["body"]["stream"]["content"].startswith("张三，您可以这样@我")
    with bot.sessions() as s:
        assert s.scalars(select(InboundMessage.text)).one() == "帮助"


def test_a_file_on_the_long_connection_is_decrypted_with_its_own_aeskey_and_kept(gateway, bot, tmp_path):
    import base64
    import hashlib

    from models import Attachment, Submission
    from tests.fakes.documents import make_pdf
    from tests.fakes.file_server import FileHost
    from tests.test_files_wecom import wecom_encrypt_media

    bot.settings = bot.settings.model_copy(
        update={"files": bot.settings.files.model_copy(update={"dir": str(tmp_path / "files")})}
    )
    aeskey = base64.b64encode(bytes(range(100, 132))).decode()  # this message's key, not an EncodingAESKey
    report = make_pdf(3, title="关于农村养老服务的调研报告")
    with FileHost() as host, Running(bot):
        url = host.put("/lc/report", wecom_encrypt_media(report, aeskey.rstrip("=")), name="调研报告.pdf")
        body = {**message(""), "msgtype": "file", "file": {"url": url, "aeskey": aeskey}}
        del body["text"]
        gateway.wait_subscribed()
        gateway.push_message(body)
        [respond] = gateway.wait_frames("aibot_respond_msg")
    assert respond["body"]["stream"]["content"].startswith(
        "已收到调研报告《关于农村养老服务的调研报告》（PDF，3页）"
    )
    with bot.sessions() as s:
        att = s.scalars(select(Attachment)).one()
        assert s.scalar(select(Submission.kind)) == "report"
    assert att.sha256 == hashlib.sha256(report).hexdigest()
