"""The DingTalk app robot's HTTP callback: signed @-messages reach the pipeline once and are answered
once through the message's sessionWebhook (the outbox); anything refused changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.messages import Person, Reply
from bot.platforms.dingtalk import make_blueprint
from bot.platforms.dingtalk.inbound import NON_TEXT_ANSWER
from bot.platforms.dingtalk.sign import callback_sign
from models import InboundMessage, OutboxMessage
from tests.fakes.dingtalk_server import robot_message as message
from tests.fakes.dingtalk_server import scripted_runtime

SECRET = "ding-app-secret"
HELP = "可以发送：签到、请假、本组情况。"


def independent_sign(timestamp: str, secret: str = SECRET) -> str:
    string_to_sign = timestamp + "\n" + secret
    digest = hmac.new(
        secret.encode("utf-8"), string_to_sign.encode("utf-8"), digestmod=hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("utf-8")


def headers(ts: int | None = None, sign: str | None = None) -> dict[str, str]:
    timestamp = str(ts if ts is not None else int(time.time() * 1000))
    return {"timestamp": timestamp, "sign": sign if sign is not None else independent_sign(timestamp)}


def counts(rt) -> tuple[int, int]:
    with rt.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(InboundMessage)),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
        )


@pytest.fixture
def bot(runtime, roster):
    mention = Reply(
        "请假已提交，等待组长审批。",
        mentions=(Person("王组长", mobile="13900000001", dingtalk_userid="dt_wang"),),
    )
    down = OperationalError("INSERT …", {}, Exception("server closed the connection unexpectedly"))
    return scripted_runtime(
        runtime,
        {"帮助": Reply(HELP), "请假": mention, "慢": Reply("慢慢来"), "卡": Reply("终于好了"), "断": down},
        reply_deadline_seconds=0.3,
        ack_deadline_seconds=1.5,
    )


@pytest.fixture
def client(bot, pool):
    app = Flask(__name__)
    app.register_blueprint(make_blueprint(bot, executor=pool))
    return app.test_client()


def test_callback_sign_is_hmac_sha256_over_timestamp_newline_secret():
    assert callback_sign("1700000000000", SECRET) == independent_sign("1700000000000")
    assert callback_sign("1700000000000", SECRET) != independent_sign("1700000000001")


def answers(bot, pool) -> list[OutboxMessage]:
    """The answers queued for the messages' sessionWebhooks, once the runs are done."""
    pool.settle()
    with bot.sessions() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.target_kind == "reply")))


def test_signed_group_message_is_recorded_and_answered_through_the_session_webhook(client, bot, pool):
    # DingTalk's robot docs describe no answer in the callback's response: it is empty, and the
    # answer goes to the message's sessionWebhook, @-ing the sender in a group.
    resp = client.post("/dingtalk/robot", json=message("帮助"), headers=headers())
    assert resp.status_code == 200
    assert resp.get_json() == {"msgtype": "empty"}
    [answer] = answers(bot, pool)
    assert (answer.key, answer.text, answer.address["at_user_id"]) == (
        "reply:dingtalk:msgA1",
        HELP,
        "dt_zhangsan",
    )
    assert answer.address["session_webhook"] == message("帮助")["sessionWebhook"]
    with bot.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
    assert (row.platform, row.msg_id, row.chat_id, row.sender_id, row.is_group, row.text) == (
        "dingtalk",
        "msgA1",
        "cidGroupOne==",
        "dt_zhangsan",
        True,
        "帮助",
    )
    assert row.outcome == "answered" and row.member_id is not None


def test_mentions_in_the_answer_are_kept_for_the_session_webhook(client, bot, pool):
    client.post("/dingtalk/robot", json=message("请假"), headers=headers())
    [answer] = answers(bot, pool)
    assert answer.mentions == [
        {"name": "王组长", "mobile": "13900000001", "wecom_userid": None, "dingtalk_userid": "dt_wang"}
    ]


def test_redelivered_message_gets_no_second_answer(client, bot, pool):
    first = client.post("/dingtalk/robot", json=message("帮助"), headers=headers())
    again = client.post("/dingtalk/robot", json=message("帮助"), headers=headers())
    assert first.get_json() == again.get_json() == {"msgtype": "empty"}
    assert [a.text for a in answers(bot, pool)] == [HELP]
    assert counts(bot) == (1, 1)


def test_sender_outside_the_organisation_falls_back_to_sender_id(client, bot):
    body = message("帮助", senderStaffId=None)
    assert client.post("/dingtalk/robot", json=body, headers=headers()).status_code == 200
    with bot.sessions() as s:
        assert s.scalars(select(InboundMessage.sender_id)).one() == "$:LWCP_v1:$abc"


def test_database_error_is_a_500_and_stores_nothing(client, bot):
    resp = client.post("/dingtalk/robot", json=message("断", msg_id="msgDown"), headers=headers())
    assert resp.status_code == 500  # never 200 for a message that is not stored
    assert counts(bot) == (0, 0)


def test_message_not_stored_by_the_ack_deadline_gets_503_then_its_answer_goes_out_once(client, bot, pool):
    body = message("卡", msg_id="msgHung", group=False)
    pool.next_job_takes(3.5)  # past the 1.5 s ack deadline
    assert client.post("/dingtalk/robot", json=body, headers=headers()).status_code == 503
    assert pool.waited == 1.5
    assert counts(bot) == (0, 0)
    pool.release()  # it does finish, and commits
    pool.settle()
    assert counts(bot) == (1, 1)
    again = client.post("/dingtalk/robot", json=body, headers=headers())  # DingTalk's redelivery
    assert again.get_json() == {"msgtype": "empty"}
    assert counts(bot) == (1, 1)
    with bot.sessions() as s:
        assert s.scalars(select(OutboxMessage.text)).all() == ["终于好了"]


def test_group_chatter_is_recorded_but_not_answered(client, bot):
    resp = client.post("/dingtalk/robot", json=message("收到"), headers=headers())
    assert resp.get_json() == {"msgtype": "empty"}
    assert counts(bot) == (1, 0)


def test_slow_answer_is_empty_now_and_queued_for_the_session_webhook(client, bot, pool):
    body = message("慢", msg_id="msgSlow", group=False)
    pool.next_job_takes(1.0)  # past the 0.3 s reply deadline, before the 1.5 s ack
    resp = client.post("/dingtalk/robot", json=body, headers=headers())
    assert resp.get_json() == {"msgtype": "empty"}
    pool.settle()
    with bot.sessions() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert (row.target_kind, row.platform, row.text, row.key) == (
        "reply",
        "dingtalk",
        "慢慢来",
        "reply:dingtalk:msgSlow",
    )
    assert row.address == {
        "session_webhook": body["sessionWebhook"],
        "expires_at_ms": body["sessionWebhookExpiredTime"],
        "userid": "dt_zhangsan",
    }
    # DingTalk redelivers the unanswered message: still one record, one queued answer.
    again = client.post("/dingtalk/robot", json=body, headers=headers())
    assert again.get_json() == {"msgtype": "empty"}
    assert counts(bot) == (1, 1)


def test_other_signing_scheme_over_the_timestamp_alone_is_refused(client, bot):
    ts = str(int(time.time() * 1000))
    over_ts_only = base64.b64encode(hmac.new(SECRET.encode(), ts.encode(), hashlib.sha256).digest()).decode()
    resp = client.post("/dingtalk/robot", json=message(), headers={"timestamp": ts, "sign": over_ts_only})
    assert resp.status_code == 401
    assert counts(bot) == (0, 0)


@pytest.mark.parametrize(
    "hdrs",
    [
        pytest.param(lambda: headers(sign=independent_sign("1", "wrong-secret")), id="bad-sign"),
        pytest.param(lambda: headers(ts=int(time.time() * 1000) - 3601_000), id="stale"),
        pytest.param(lambda: headers(ts=int(time.time() * 1000) + 3601_000), id="future"),
        pytest.param(lambda: {"timestamp": "abc", "sign": independent_sign("abc")}, id="non-numeric"),
        pytest.param(lambda: {}, id="missing"),
    ],
)
def test_unverifiable_request_is_refused_and_changes_nothing(client, bot, hdrs):
    resp = client.post("/dingtalk/robot", json=message(), headers=hdrs())
    assert resp.status_code == 401
    assert counts(bot) == (0, 0)


def test_timestamp_within_the_hour_is_accepted(client):
    assert (
        client.post(
            "/dingtalk/robot", json=message(), headers=headers(ts=int(time.time() * 1000) - 3500_000)
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{not json", id="malformed"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(json.dumps({**message(), "msgId": None}).encode(), id="no-msgId"),
        pytest.param(json.dumps({**message(), "conversationType": "3"}).encode(), id="bad-conversationType"),
        pytest.param(json.dumps({**message(), "text": {}}).encode(), id="no-content"),
    ],
)
def test_unreadable_body_is_400_and_changes_nothing(client, bot, raw):
    resp = client.post("/dingtalk/robot", data=raw, headers={**headers(), "Content-Type": "application/json"})
    assert resp.status_code == 400
    assert counts(bot) == (0, 0)


def test_oversize_body_is_413_and_changes_nothing(client, bot):
    body = message("帮助" + "长" * 200_000)  # 1.2 MB once JSON escapes each character as \uXXXX
    resp = client.post("/dingtalk/robot", json=body, headers=headers())
    assert resp.status_code == 413
    assert counts(bot) == (0, 0)


def test_a_message_over_the_length_limit_is_answered_so_through_the_session_webhook(client, bot, pool):
    resp = client.post("/dingtalk/robot", json=message("帮助" + "长" * 30_000, msg_id="long"), headers=headers())
    assert resp.status_code == 200
    [answer] = answers(bot, pool)
    assert answer.text == "这条消息有30002字，超过了30000字的上限，没有记录。请精简后再发。"


def test_a_video_in_one_to_one_gets_a_polite_answer_and_nothing_is_stored(client, bot):
    # Pictures and files are kept (tests/test_files_dingtalk.py); a video is not read.
    body = {**message(group=False), "msgtype": "video", "content": {"downloadCode": "x", "duration": 5}}
    del body["text"]
    resp = client.post("/dingtalk/robot", json=body, headers=headers())
    assert resp.status_code == 200
    assert resp.get_json() == {"msgtype": "text", "text": {"content": NON_TEXT_ANSWER}}
    assert counts(bot) == (0, 0)


def test_voice_in_a_group_is_ignored_quietly(client, bot):
    body = {**message(), "msgtype": "audio", "content": {"duration": 3}}
    resp = client.post("/dingtalk/robot", json=body, headers=headers())
    assert resp.get_json() == {"msgtype": "empty"}
    assert counts(bot) == (0, 0)


def test_voice_with_dingtalks_transcript_is_read_as_text(client, bot, pool):
    body = {
        **message(),
        "msgtype": "audio",
        "content": {"duration": 3, "downloadCode": "x", "recognition": "帮助"},
    }
    del body["text"]
    client.post("/dingtalk/robot", json=body, headers=headers())
    assert [a.text for a in answers(bot, pool)] == [HELP]
    with bot.sessions() as s:
        assert s.scalars(select(InboundMessage.text)).one() == "帮助"


def test_app_serves_the_callback_only_when_dingtalk_is_configured(write_config, runtime):
    import app as app_module

    off = app_module.create_app(write_config()).test_client()
    assert off.post("/dingtalk/robot", json=message(), headers=headers()).status_code == 404
    on_config = write_config(dingtalk={"app_key": "ding-app-key", "app_secret": SECRET, "robot_code": "ding-robot"})
    on = app_module.create_app(on_config).test_client()
    assert on.post("/dingtalk/robot", json=message("收到"), headers=headers()).status_code == 200
    assert on.post("/dingtalk/robot", json=message(), headers=headers(sign="x")).status_code == 401


def test_a_body_nested_thirty_thousand_deep_is_a_bad_request_and_stores_nothing(client, bot):
    before = counts(bot)
    body = json.dumps(message("帮助"))[:-1] + ', "x": ' + "[" * 30_000 + "]" * 30_000 + "}"
    resp = client.post(
        "/dingtalk/robot", data=body.encode(), headers=headers(), content_type="application/json"
    )
    assert resp.status_code == 400
    assert b"nested deeper than 32" in resp.data
    assert counts(bot) == before


def test_a_msg_id_longer_than_its_column_is_refused_and_a_long_nickname_is_cut(client, bot, pool):
    before = counts(bot)
    resp = client.post("/dingtalk/robot", json=message("帮助", msg_id="m" * 200), headers=headers())
    assert (resp.status_code, resp.get_data(as_text=True).count("msg_id longer than 128 characters")) == (
        400,
        1,
    )
    assert counts(bot) == before

    nick = "张" * 100
    assert (
        client.post(
            "/dingtalk/robot", json=message("帮助", msg_id="nick1", senderNick=nick), headers=headers()
        ).status_code
        == 200
    )
    answers(bot, pool)  # the run finishes
    with bot.sessions() as s:
        assert (
            s.scalar(select(InboundMessage.sender_name).where(InboundMessage.msg_id == "nick1")) == "张" * 64
        )


# --------------------------------------------------------------------------- replays and strangers


def test_a_captured_sign_replayed_with_another_body_is_refused_while_a_redelivery_passes(client, bot, pool):
    captured = headers()
    assert client.post("/dingtalk/robot", json=message("帮助", msg_id="first"), headers=captured).status_code == 200
    forged = message("请假", msg_id="forged", senderStaffId="dt_lisi", senderNick="李四")
    resp = client.post("/dingtalk/robot", json=forged, headers=captured)
    assert (resp.status_code, "signature already used" in resp.get_data(as_text=True)) == (401, True)
    # DingTalk delivering the first message again under its own headers is not a forgery
    assert client.post("/dingtalk/robot", json=message("帮助", msg_id="first"), headers=captured).status_code == 200
    answers(bot, pool)
    with bot.sessions() as s:
        assert list(s.scalars(select(InboundMessage.msg_id))) == ["first"]


def test_sixteen_replays_of_one_sign_at_once_let_one_body_through(bot, runtime):
    import concurrent.futures
    import threading

    app = Flask(__name__)
    app.register_blueprint(make_blueprint(bot, executor=concurrent.futures.ThreadPoolExecutor(4)))
    captured, barrier = headers(), threading.Barrier(16)

    def replay(i: int) -> int:
        barrier.wait(timeout=10)
        return app.test_client().post("/dingtalk/robot", json=message("帮助", msg_id=f"r{i}"), headers=captured).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as threads:
        codes = list(threads.map(replay, range(16), timeout=30))
    assert sorted(codes) == [200] + [401] * 15


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"robotCode": "someone-elses-robot"}, "robotCode does not match dingtalk.robot_code"),
        ({"chatbotCorpId": "ding-other-corp"}, "chatbotCorpId does not match dingtalk.corp_id"),
    ],
)
def test_a_body_for_another_robot_or_organisation_is_refused(runtime, roster, pool, fields, reason):
    rt = scripted_runtime(runtime, {"帮助": Reply(HELP)}, corp_id="ding-our-corp")
    app = Flask(__name__)
    app.register_blueprint(make_blueprint(rt, executor=pool))
    ours = message("帮助", msg_id="ours", chatbotCorpId="ding-our-corp")
    assert app.test_client().post("/dingtalk/robot", json=ours, headers=headers()).status_code == 200
    resp = app.test_client().post("/dingtalk/robot", json={**ours, "msgId": "theirs", **fields}, headers=headers())
    assert (resp.status_code, reason in resp.get_data(as_text=True)) == (403, True)
    pool.settle()
    with rt.sessions() as s:
        assert list(s.scalars(select(InboundMessage.msg_id))) == ["ours"]


def test_the_ip_allowlist_refuses_other_addresses_before_anything_is_read(runtime, roster, pool):
    def post(allowed: list[str]) -> int:
        app = Flask(__name__)
        rt = scripted_runtime(runtime, {"帮助": Reply(HELP)}, allowed_ips=allowed)
        app.register_blueprint(make_blueprint(rt, executor=pool))
        return app.test_client().post(
            "/dingtalk/robot", json=message("帮助", msg_id=f"ip{len(allowed)}"), headers=headers(),
            environ_base={"REMOTE_ADDR": "203.119.5.6"},
        ).status_code  # fmt: skip

    assert post(["10.0.0.0/8"]) == 403
    assert post(["10.0.0.0/8", "203.119.0.0/16"]) == 200
    assert post([]) == 200


def test_an_allowlist_entry_that_is_not_an_address_is_a_config_error(settings):
    from bot.config import settings_from_dict

    with pytest.raises(Exception, match="'203.119.x' is not an IP address or CIDR"):
        settings_from_dict({**settings.model_dump(), "dingtalk": {"allowed_ips": ["203.119.x"]}}, "t")


def test_voice_without_a_transcript_one_to_one_is_asked_again_and_nothing_is_stored(client, bot):
    from bot.platforms.dingtalk.inbound import VOICE_UNHEARD

    body = {**message(group=False), "msgtype": "audio", "content": {"duration": 3, "downloadCode": "x"}}
    del body["text"]
    resp = client.post("/dingtalk/robot", json=body, headers=headers())
    assert resp.get_json() == {"msgtype": "text", "text": {"content": VOICE_UNHEARD}}
    assert counts(bot) == (0, 0)
