"""Stream mode end to end against a local gateway: open connection → ticket → CALLBACK frames → ACK,
one record and one answer for a redelivered frame, reconnection after a drop, clean stop, one process."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app import PLATFORMS
from bot.messages import Reply
from bot.outbox import Deliverer
from bot.pipeline import APOLOGY
from bot.platforms.dingtalk import DingtalkPushClient
from bot.platforms.dingtalk.stream import AlreadyRunning, SingleProcessLock, StreamClient
from models import InboundMessage, OutboxMessage
from tests.fakes.dingtalk_gateway import BOT_TOPIC, FakeGateway
from tests.fakes.dingtalk_server import FakeDingtalk, robot_message, scripted_runtime

KEY, SECRET = "ding-app-key", "ding-app-secret"


def counts(rt) -> tuple[int, int]:
    with rt.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(InboundMessage)),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
        )


def wait_until(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def gateway():
    with FakeGateway(KEY, SECRET) as gw:
        yield gw


@pytest.fixture
def bot(runtime, roster, gateway):
    return scripted_runtime(runtime, {"帮助": Reply("可以发送：签到、请假。")}, api_base=gateway.url)


@pytest.fixture
def stream(bot):
    """A running client in a thread; stopped (and joined, bounded) after the test."""
    client = StreamClient(bot, backoff_initial=0.05, backoff_max=0.2, ack_deadline=2.0)
    thread = threading.Thread(target=lambda: __import__("asyncio").run(client.start()), daemon=True)
    thread.start()
    assert client.started.wait(5)
    yield client
    client.stop()
    thread.join(timeout=10)
    assert not thread.is_alive(), "stream client did not stop"


def test_frame_is_acknowledged_recorded_and_answered_through_the_outbox(gateway, bot, stream):
    gateway.wait_connected(1)
    assert gateway.opens[0]["clientId"] == KEY and gateway.opens[0]["clientSecret"] == SECRET
    assert gateway.opens[0]["subscriptions"] == [{"type": "CALLBACK", "topic": BOT_TOPIC}]
    frame_id = gateway.push(robot_message("帮助", msg_id="msgS1"))
    ack = gateway.wait_ack(frame_id)
    assert ack["code"] == 200 and ack["message"] == "OK"
    assert ack["headers"] == {"contentType": "application/json", "messageId": frame_id}
    wait_until(lambda: counts(bot) == (1, 1))
    with bot.sessions() as s:
        inbound = s.scalars(select(InboundMessage)).one()
        out = s.scalars(select(OutboxMessage)).one()
    assert (inbound.platform, inbound.msg_id, inbound.chat_id, inbound.text) == (
        "dingtalk",
        "msgS1",
        "cidGroupOne==",
        "帮助",
    )
    assert (out.key, out.target_kind, out.text) == ("reply:dingtalk:msgS1", "reply", "可以发送：签到、请假。")
    assert out.address["conversation_id"] == "cidGroupOne=="
    assert out.address["session_webhook"].endswith("session=s1")


def test_the_answer_is_posted_to_the_session_webhook_at_once_and_only_once(runtime, roster, gateway):
    with FakeDingtalk(sessions={"s1"}) as fake:
        scripted = scripted_runtime(
            runtime, {"帮助": Reply("可以发送：签到、请假。")}, api_base=gateway.url, oapi_base=fake.url
        )
        clients = {"dingtalk": DingtalkPushClient(scripted.settings)}
        bot = dataclasses.replace(
            scripted,
            deliverer=Deliverer(scripted.sessions, scripted.settings, PLATFORMS.with_clients(clients)),
        )
        client = StreamClient(bot, backoff_initial=0.05, backoff_max=0.2)
        thread = threading.Thread(target=lambda: asyncio.run(client.start()), daemon=True)
        thread.start()
        try:
            gateway.wait_connected(1)
            webhook = f"{fake.url}/robot/sendBySession?session=s1"
            for _ in range(2):  # the second is DingTalk redelivering the frame
                frame = gateway.push(robot_message("帮助", msg_id="msgNow", sessionWebhook=webhook))
                assert gateway.wait_ack(frame)["code"] == 200
                wait_until(lambda: len(fake.to("/robot/sendBySession")) == 1)
            time.sleep(0.2)
        finally:
            client.stop()
            thread.join(timeout=10)
        [post] = fake.to("/robot/sendBySession")
        # A group answer @s its sender, as the SDK's reply_text does.
        assert post.json == {
            "msgtype": "text",
            "text": {"content": "可以发送：签到、请假。"},
            "at": {"atUserIds": ["dt_zhangsan"]},
        }
        with bot.sessions() as s:
            assert s.scalars(select(OutboxMessage.status)).all() == ["sent"]  # not left for the scheduler


def test_a_frame_not_stored_by_the_ack_deadline_is_not_acknowledged_and_its_redelivery_is_one(
    runtime, roster, gateway
):
    bot = scripted_runtime(runtime, {"慢": Reply("慢慢来")}, slow={"慢": 1.5}, api_base=gateway.url)
    client = StreamClient(bot, backoff_initial=0.05, backoff_max=0.2, ack_deadline=0.5)
    thread = threading.Thread(target=lambda: asyncio.run(client.start()), daemon=True)
    thread.start()
    try:
        gateway.wait_connected(1)
        first = gateway.push(robot_message("慢", msg_id="msgHung"))
        assert gateway.wait_ack(first)["code"] != 200  # DingTalk will deliver it again
        assert counts(bot) == (0, 0)
        wait_until(lambda: counts(bot) == (1, 1))  # the slow run commits after all
        again = gateway.push(robot_message("慢", msg_id="msgHung"))
        assert gateway.wait_ack(again)["code"] == 200
        time.sleep(0.2)
        assert counts(bot) == (1, 1)
    finally:
        client.stop()
        thread.join(timeout=10)


def test_redelivered_frame_gives_one_record_and_one_answer(gateway, bot, stream):
    gateway.wait_connected(1)
    first = gateway.push(robot_message("帮助", msg_id="msgDup"))
    gateway.wait_ack(first)
    wait_until(lambda: counts(bot) == (1, 1))
    again = gateway.push(robot_message("帮助", msg_id="msgDup"))  # DingTalk resends with a new frame id
    assert gateway.wait_ack(again)["code"] == 200
    time.sleep(0.2)
    assert counts(bot) == (1, 1)


def test_client_reconnects_after_a_dropped_connection(gateway, bot, stream):
    gateway.wait_connected(1)
    gateway.drop()
    gateway.wait_connected(2)
    assert len(gateway.opens) == 2  # a fresh ticket for the new connection
    frame_id = gateway.push(robot_message("帮助", msg_id="msgAfterDrop"))
    assert gateway.wait_ack(frame_id)["code"] == 200
    wait_until(lambda: counts(bot) == (1, 1))


def test_refused_open_connection_is_retried_with_backoff(gateway, bot):
    gateway.refuse_opens = 2
    client = StreamClient(bot, backoff_initial=0.05, backoff_max=0.2)
    thread = threading.Thread(target=lambda: __import__("asyncio").run(client.start()), daemon=True)
    thread.start()
    try:
        gateway.wait_connected(1, timeout=20)
        assert len(gateway.opens) >= 3  # two refusals, then a connection
    finally:
        client.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_system_ping_is_acknowledged(gateway, stream):
    gateway.wait_connected(1)
    gateway.ping("ping-7")
    assert gateway.wait_ack("ping-7")["code"] == 200


def test_unreadable_frame_is_refused_and_changes_nothing(gateway, bot, stream):
    gateway.wait_connected(1)
    frame_id = gateway.push({"msgtype": "text"})
    assert gateway.wait_ack(frame_id)["code"] == 400
    assert counts(bot) == (0, 0)


def test_only_one_stream_process_per_database(bot):
    first = SingleProcessLock(bot.engine)
    first.acquire()
    try:
        with pytest.raises(AlreadyRunning):
            SingleProcessLock(bot.engine).acquire()
        with pytest.raises(AlreadyRunning):
            StreamClient(bot).run()  # refuses before connecting anywhere
    finally:
        first.release()
    again = SingleProcessLock(bot.engine)
    again.acquire()
    again.release()


def test_stream_command_refuses_without_config_or_when_already_running(write_config, bot):
    from click.testing import CliRunner

    import app as app_module

    result = CliRunner().invoke(app_module.cli, ["--config", str(write_config()), "stream"])
    assert result.exit_code == 2 and "app_key" in result.output
    configured = write_config(
        dingtalk={"app_key": KEY, "app_secret": SECRET, "api_base": "http://127.0.0.1:9"}
    )
    lock = SingleProcessLock(bot.engine)
    lock.acquire()
    try:
        result = CliRunner().invoke(app_module.cli, ["--config", str(configured), "stream"])
    finally:
        lock.release()
    assert result.exit_code == 1 and "另一个进程" in result.output


def test_a_database_that_stays_down_is_tried_again_then_the_member_is_told_through_the_session_webhook(
    runtime, roster, gateway
):
    # DingTalk does not push a robot message again after a non-200 ACK: a message that cannot be
    # stored must not vanish in silence.
    down = OperationalError("INSERT …", {}, Exception("server closed the connection unexpectedly"))
    with FakeDingtalk(sessions={"s1"}) as fake:
        bot = scripted_runtime(runtime, {"断": down}, api_base=gateway.url, oapi_base=fake.url)
        attempts = []
        handle = bot.pipeline.handle
        bot.pipeline.handle = lambda incoming, now: attempts.append(now) or handle(incoming, now)
        client = StreamClient(bot, backoff_initial=0.05, store_seconds=0.3, store_pause_seconds=0.05)
        thread = threading.Thread(target=lambda: asyncio.run(client.start()), daemon=True)
        thread.start()
        try:
            gateway.wait_connected(1)
            webhook = f"{fake.url}/robot/sendBySession?session=s1"
            gateway.push(robot_message("断", msg_id="msgDown", sessionWebhook=webhook))
            wait_until(lambda: len(fake.to("/robot/sendBySession")) == 1)
        finally:
            client.stop()
            thread.join(timeout=10)
        [told] = fake.to("/robot/sendBySession")
        assert told.json["text"]["content"] == APOLOGY
        assert len(attempts) >= 2  # tried again before giving up
        assert counts(bot) == (0, 0)


def test_a_voice_frame_is_read_as_dingtalks_transcript(gateway, bot, stream):
    gateway.wait_connected(1)
    voice = robot_message(msg_id="msgVoice", msgtype="audio", content={"duration": 4, "recognition": "帮助"})
    del voice["text"]
    assert gateway.wait_ack(gateway.push(voice))["code"] == 200
    wait_until(lambda: counts(bot) == (1, 1))
    with bot.sessions() as s:
        assert s.scalars(select(InboundMessage.text)).one() == "帮助"
        assert s.scalars(select(OutboxMessage.text)).one() == "可以发送：签到、请假。"
