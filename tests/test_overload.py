"""Under overload a callback waits in the web server's queue: its age on arrival, by the platform's
own timestamp, decides whether it can still be answered in time. A late one is stored once and
answered empty at once, its answer reaching the member by the late path exactly once; one that
cannot be stored soon is refused with 503 quickly, so that the platform delivers it again."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import PLATFORMS
from bot.config import OverloadSettings
from bot.messages import Reply
from bot.outbox import Deliverer
from bot.platforms.arrival import PlatformClock, deadlines
from bot.platforms.dingtalk import make_blueprint as dingtalk_blueprint
from bot.platforms.wecom import WecomPushClient
from bot.platforms.wecom import make_blueprint as wecom_blueprint
from models import InboundMessage, OutboxMessage
from tests.conftest import NOW
from tests.fakes.dingtalk_server import robot_message, scripted_runtime
from tests.fakes.wecom_server import FakeWecom
from tests.test_dingtalk_callback import headers as dingtalk_headers
from tests.test_wecom_inbound import BOT_KEY, BOT_TOKEN, bot_payload, bot_post

STAMP = int(NOW.timestamp())


@pytest.fixture
def config_dict(config_dict):
    config_dict["wecom"] = {
        "smart_bot": {"token": BOT_TOKEN, "encoding_aes_key": BOT_KEY},
        "reply_deadline_seconds": 3,
        "ack_deadline_seconds": 4.5,
    }
    return config_dict


@pytest.fixture
def fake():
    server = FakeWecom().start()
    yield server
    server.stop()


@pytest.fixture
def wecom(runtime, roster, pool, fake):
    """The smart-bot callback on the real pipeline, at NOW, with late answers sent at once."""
    runtime.now = lambda: NOW
    runtime.deliverer = Deliverer(
        runtime.sessions,
        runtime.settings,
        PLATFORMS.with_clients({"wecom": WecomPushClient(runtime.settings)}),
    )
    app = Flask("overload-test")
    app.register_blueprint(wecom_blueprint(runtime, executor=pool))
    return app.test_client()


def post(client, fake, text: str, msgid: str, *, sent: int, nonce: str = "n1"):
    payload = bot_payload(text, msgid=msgid) | {
        "response_url": f"{fake.base}/cgi-bin/aibot/response?response_code={msgid}"
    }
    return bot_post(client, payload, ts=str(sent), nonce=nonce)


def stored(runtime) -> tuple[int, list[str]]:
    with runtime.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(InboundMessage)),
            list(s.scalars(select(OutboxMessage.status).where(OutboxMessage.target_kind == "reply"))),
        )


def pushed(fake, msgid: str) -> list[dict]:
    return [c.body for c in fake.calls_to("/cgi-bin/aibot/response") if c.query == {"response_code": msgid}]


def test_a_message_six_seconds_old_is_stored_once_answered_empty_and_its_answer_goes_out_once(
    wecom, runtime, pool, fake
):
    assert post(wecom, fake, "签到", "FRESH", sent=STAMP).data != b""  # answered passively
    late = post(wecom, fake, "我的履职", "OLD", sent=STAMP - 6)
    assert (late.status_code, late.data) == (200, b"")  # at once: WeCom stops waiting at 5 s
    assert pool.waited == 0  # no wait for a passive answer nobody would read
    pool.settle()
    assert stored(runtime) == (2, ["sent"])
    [answer] = pushed(fake, "OLD")
    assert answer["markdown"]["content"].strip() and "抱歉" not in answer["markdown"]["content"]


def test_a_redelivery_of_a_late_message_doubles_nothing(wecom, runtime, pool, fake):
    post(wecom, fake, "签到", "FRESH", sent=STAMP)
    assert post(wecom, fake, "我的履职", "OLD", sent=STAMP - 6).data == b""
    pool.settle()
    # WeCom had no answer within 5 s: it delivers again, the copies fresh and late alike.
    again = [post(wecom, fake, "我的履职", "OLD", sent=STAMP - age, nonce=f"r{age}") for age in (0, 7, 0)]
    pool.settle()
    assert [(a.status_code, a.data) for a in again] == [(200, b"")] * 3
    assert stored(runtime) == (2, ["sent"])
    assert len(pushed(fake, "OLD")) == 1


def test_a_server_clock_a_minute_ahead_does_not_make_messages_late(wecom, runtime, pool, fake):
    behind = STAMP - 60  # every timestamp reads 60 s before our clock
    answers = [post(wecom, fake, "签到", f"SKEW{i}", sent=behind + i % 2, nonce=f"s{i}") for i in range(3)]
    assert all(a.status_code == 200 and a.data != b"" for a in answers)  # passive, in time
    late = post(wecom, fake, "我的履职", "SKEWLATE", sent=behind - 6)  # six seconds later than those
    assert late.data == b""
    pool.settle()
    assert len(pushed(fake, "SKEWLATE")) == 1
    assert pushed(fake, "SKEW0") == []


def test_a_late_message_not_stored_within_its_short_budget_is_refused_with_503_quickly(
    wecom, runtime, pool, fake
):
    post(wecom, fake, "签到", "FRESH", sent=STAMP)
    pool.next_job_takes(None)  # the database (or the sender's row) is held
    refused = post(wecom, fake, "我的履职", "HELD", sent=STAMP - 6)
    assert refused.status_code == 503
    assert pool.waited == runtime.settings.overload.late_store_seconds  # not the 4.5 s ack deadline
    pool.release()  # it commits after all: WeCom's next copy is a duplicate
    pool.settle()
    again = post(wecom, fake, "我的履职", "HELD", sent=STAMP, nonce="again")
    pool.settle()
    assert (again.status_code, again.data) == (200, b"")
    assert stored(runtime) == (2, ["sent"])
    assert len(pushed(fake, "HELD")) == 1


def test_with_refuse_after_a_message_older_is_refused_unhandled_and_its_next_copy_is_answered(
    wecom, runtime, pool, fake
):
    overload = runtime.settings.overload.model_copy(update={"refuse_after_seconds": 30})  # default 10
    runtime.settings = runtime.settings.model_copy(update={"overload": overload})
    post(wecom, fake, "签到", "FRESH", sent=STAMP)
    assert post(wecom, fake, "我的履职", "ANCIENT", sent=STAMP - 40).status_code == 503
    pool.settle()
    assert stored(runtime) == (1, [])
    assert post(wecom, fake, "我的履职", "ANCIENT", sent=STAMP, nonce="again").data != b""
    assert stored(runtime) == (2, [])


# ---- DingTalk: every answer goes by the sessionWebhook; the age shortens the wait to store


@pytest.fixture
def ding(runtime, roster):
    return scripted_runtime(
        runtime,
        {"帮助": Reply("可以发送：签到。")},
        reply_deadline_seconds=0.3,
        ack_deadline_seconds=1.5,
    )


@pytest.fixture
def ding_client(ding, pool):
    app = Flask("overload-dingtalk")
    app.register_blueprint(dingtalk_blueprint(ding, executor=pool))
    return app.test_client()


def test_dingtalk_message_arriving_late_is_refused_after_the_short_budget_not_the_ack_deadline(
    ding_client, ding, pool
):
    now_ms = int(time.time() * 1000)
    fresh = ding_client.post("/dingtalk/robot", json=robot_message("帮助"), headers=dingtalk_headers(now_ms))
    assert fresh.status_code == 200
    pool.next_job_takes(None)
    body = robot_message("帮助", msg_id="msgLate")
    late = ding_client.post("/dingtalk/robot", json=body, headers=dingtalk_headers(now_ms - 2500))
    assert late.status_code == 503
    assert pool.waited == ding.settings.overload.late_store_seconds  # not 1.5
    pool.release()
    pool.settle()
    again = ding_client.post("/dingtalk/robot", json=body, headers=dingtalk_headers(now_ms + 1))
    pool.settle()
    assert again.get_json() == {"msgtype": "empty"}
    assert stored(ding) == (2, ["pending", "pending"])


# ---- the clock and the deadlines themselves


def test_the_clock_forgets_a_quick_request_after_its_window():
    clock = PlatformClock(window_seconds=100, resolution=0.0)
    assert clock.age(1000.0, 1000.0) == 0
    assert clock.age(1050.0, 1045.0) == 5  # five seconds slower than the quickest lately
    # 100 s on, the quick one is out of the window: the slow one is the reference now
    assert clock.age(1101.0, 1096.0) == 0


def test_deadlines_count_from_the_platforms_timestamp():
    overload = OverloadSettings(late_store_seconds=0.5)
    assert deadlines(0, 3, 4.5, overload) == (3, 4.5, False, False)
    assert deadlines(1, 3, 4.5, overload) == (2, 3.5, False, False)
    assert deadlines(3.5, 3, 4.5, overload) == (1.0, 1.0, True, False)
    assert deadlines(6, 3, 4.5, overload) == (0.5, 0.5, True, False)
    assert deadlines(6, 3, 4.5, OverloadSettings(refuse_after_seconds=5)).refused
