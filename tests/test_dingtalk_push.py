"""The DingTalk push client against a fake DingTalk on 127.0.0.1: exact JSON sent, 加签 URL, @ fields,
error codes mapped (10-minute block → retry after 600 s), token caching and refresh, sessionWebhook
fallback, trimming without breaking a character."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket

import pytest

from bot.config import DingtalkSettings
from bot.delivery import Delivery
from bot.messages import Person
from bot.platforms.dingtalk import DingtalkPushClient
from bot.platforms.dingtalk.render import TEXT_BUDGET_BYTES
from tests.fakes.dingtalk_server import FakeDingtalk

TOKEN, SEC = "robot-token-g1", "SECabc123"
ROBOT = {"robot_token": TOKEN, "robot_secret": SEC, "conversation_id": "cidGroupOne=="}
WANG = Person("王组长", mobile="13900000001", dingtalk_userid="dt_wang")
ZHAO = Person("赵六", mobile="13800000003")  # no DingTalk account: @ by mobile


class Clock:
    def __init__(self) -> None:
        self.t = 1_795_000_000.0  # 2026-11-19, any fixed instant

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake(clock):
    with FakeDingtalk(robots={TOKEN: SEC}, sessions={"s1"}, clock=clock) as server:
        yield server


@pytest.fixture
def push(fake, clock):
    ding = DingtalkSettings(
        app_key="ding-app-key", app_secret="ding-app-secret", robot_code="ding-robot",
        api_base=fake.url, oapi_base=fake.url,
    )  # fmt: skip
    return DingtalkPushClient(ding, clock=clock, timeout=5)


def test_group_text_goes_to_the_signed_custom_robot_with_mentions(fake, push, clock):
    result = push.send(Delivery("group", "明天上午九点集体学习，请准时参加。", ROBOT, mentions=(WANG, ZHAO)))
    assert result.status == "sent"
    (req,) = fake.to("/robot/send")
    ts = str(int(clock.t * 1000))
    expected_sign = base64.b64encode(
        hmac.new(SEC.encode(), f"{ts}\n{SEC}".encode(), hashlib.sha256).digest()
    ).decode()
    assert req.query == {"access_token": TOKEN, "timestamp": ts, "sign": expected_sign}
    assert req.json == {
        "msgtype": "text",
        "text": {"content": "明天上午九点集体学习，请准时参加。\n@dt_wang @13800000003"},
        "at": {"atUserIds": ["dt_wang"], "atMobiles": ["13800000003"]},
    }


def test_group_markdown_keeps_the_mention_in_the_text(fake, push):
    text = "## 本月履职情况\n- 社情民意：已交 2 篇"
    assert push.send(Delivery("group", text, ROBOT, mentions=(WANG,), markdown=True)).status == "sent"
    assert fake.to("/robot/send")[0].json == {
        "msgtype": "markdown",
        "markdown": {"title": "## 本月履职情况", "text": text + "\n@dt_wang"},
        "at": {"atUserIds": ["dt_wang"]},
    }


@pytest.mark.parametrize("code", [130101, 410100])
def test_send_too_fast_waits_out_the_ten_minute_block(fake, push, code):
    fake.script("/robot/send", (200, {"errcode": code, "errmsg": "send too fast"}))
    result = push.send(Delivery("group", "提醒", ROBOT))
    assert (result.status, result.retry_after) == ("retry", 600)
    assert str(code) in result.detail


def test_keyword_sign_or_ip_refusal_is_failed_for_the_admin(fake, push):
    result = push.send(Delivery("group", "提醒", {**ROBOT, "robot_secret": "SECwrong"}))
    assert result.status == "failed"
    assert result.detail == "errcode=310000 sign not match"


def test_server_errors_and_timeouts_are_retried(fake, push):
    fake.script("/robot/send", (502, {"message": "bad gateway"}))
    assert push.send(Delivery("group", "提醒", ROBOT)).status == "retry"
    fake.script("/robot/send", (200, {"errcode": -1, "errmsg": "系统繁忙"}))
    assert push.send(Delivery("group", "提醒", ROBOT)).status == "retry"


def test_unreachable_dingtalk_is_retried(clock):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ding = DingtalkSettings(app_key="k", app_secret="s", oapi_base=f"http://127.0.0.1:{port}")
    result = DingtalkPushClient(ding, clock=clock, timeout=2).send(Delivery("group", "提醒", ROBOT))
    assert result.status == "retry" and "ConnectionError" in result.detail


def test_member_message_uses_the_app_robot_with_a_cached_token(fake, push):
    assert push.send(Delivery("member", "您的请假已批准。", {"userid": "dt_zhangsan"})).status == "sent"
    assert (
        push.send(Delivery("member", "提醒：本月社情民意尚未提交。", {"userid": "dt_zhangsan"})).status
        == "sent"
    )
    assert len(fake.to("/v1.0/oauth2/accessToken")) == 1
    assert fake.to("/v1.0/oauth2/accessToken")[0].json == {
        "appKey": "ding-app-key",
        "appSecret": "ding-app-secret",
    }
    first = fake.to("/v1.0/robot/oToMessages/batchSend")[0]
    assert first.headers["x-acs-dingtalk-access-token"] == "token-1"
    assert first.json == {
        "robotCode": "ding-robot",
        "userIds": ["dt_zhangsan"],
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "您的请假已批准。"}, ensure_ascii=False),
    }


def test_member_file_is_uploaded_as_media_then_sent_by_the_app_robot(fake, push, tmp_path):
    path = tmp_path / "第一联络组2026年履职档案.xlsx"
    content = b"PK\x03\x04" + bytes(range(256)) * 40
    path.write_bytes(content)
    d = Delivery("member", f"履职档案：{path.name}", {"userid": "dt_wang"}, attachment=str(path))
    assert push.send(d).status == "sent"
    [upload] = fake.to("/media/upload")
    assert upload.query == {"access_token": "token-1", "type": "file"}
    [(media_id, stored)] = fake.media.items()  # read back by the standard library's email parser
    assert stored == (path.name, content)
    [send] = fake.to("/v1.0/robot/oToMessages/batchSend")
    assert send.json == {
        "robotCode": "ding-robot",
        "userIds": ["dt_wang"],
        "msgKey": "sampleFile",
        "msgParam": json.dumps(
            {"mediaId": media_id, "fileName": path.name, "fileType": "xlsx"}, ensure_ascii=False
        ),
    }


def test_file_upload_refusals_are_mapped(fake, push, tmp_path):
    gone = Delivery("member", "档案", {"userid": "dt_wang"}, attachment=str(tmp_path / "gone.xlsx"))
    assert push.send(gone).detail == "attachment unreadable: FileNotFoundError"
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"PK\x03\x04 workbook")
    d = Delivery("member", "档案", {"userid": "dt_wang"}, attachment=str(path))
    fake.script("/media/upload", (200, {"errcode": 40014, "errmsg": "不合法的access_token"}))
    assert push.send(d).status == "sent"  # a fresh token, once
    assert [r.query["access_token"] for r in fake.to("/media/upload")] == ["token-1", "token-2"]
    fake.script("/media/upload", (503, {}))
    assert push.send(d).status == "retry"
    fake.script("/media/upload", (200, {"errcode": 40004, "errmsg": "不合法的媒体文件类型"}))
    assert push.send(d).status == "failed"
    assert len(fake.to("/v1.0/robot/oToMessages/batchSend")) == 1


def test_token_is_refreshed_near_expiry_and_after_revocation(fake, push, clock):
    push.send(Delivery("member", "一", {"userid": "dt_lisi"}))
    clock.t += 7200 - 299  # inside the 5-minute margin: fetch a new one
    push.send(Delivery("member", "二", {"userid": "dt_lisi"}))
    fake.revoke_tokens()  # DingTalk answers 401: fetch again, once, and send
    assert push.send(Delivery("member", "三", {"userid": "dt_lisi"})).status == "sent"
    assert len(fake.to("/v1.0/oauth2/accessToken")) == 3
    tokens = [r.headers["x-acs-dingtalk-access-token"] for r in fake.to("/v1.0/robot/oToMessages/batchSend")]
    assert tokens == ["token-1", "token-3", "token-3", "token-5"]


def test_wrong_app_secret_is_failed(fake, clock):
    ding = DingtalkSettings(app_key="ding-app-key", app_secret="nope", api_base=fake.url, oapi_base=fake.url)
    result = DingtalkPushClient(ding, clock=clock).send(Delivery("member", "一", {"userid": "dt_lisi"}))
    assert result.status == "failed" and "invalidClientIdOrSecret" in result.detail


def test_flow_controlled_and_invalid_staff(fake, push):
    fake.script("/v1.0/robot/oToMessages/batchSend",
                (200, {"processQueryKey": "q", "flowControlledStaffIdList": ["dt_lisi"], "invalidStaffIdList": []}),
                (200, {"processQueryKey": "q", "flowControlledStaffIdList": [], "invalidStaffIdList": ["dt_lisi"]}))  # fmt: skip
    assert push.send(Delivery("member", "一", {"userid": "dt_lisi"})).status == "retry"
    assert push.send(Delivery("member", "一", {"userid": "dt_lisi"})).status == "failed"


def test_openapi_throttling_is_retried(fake, push):
    fake.script("/v1.0/robot/groupMessages/send", (403, {"code": "Forbidden.AccessDenied.QpsLimitForApi"}))
    assert push.send(Delivery("group", "一", {"conversation_id": "cidGroupOne=="})).status == "retry"


def test_group_without_custom_robot_goes_through_the_app_robot_naming_people(fake, push):
    result = push.send(
        Delivery("group", "明天集体学习", {"conversation_id": "cidGroupOne=="}, mentions=(WANG,))
    )
    assert result.status == "sent"
    assert fake.to("/v1.0/robot/groupMessages/send")[0].json == {
        "robotCode": "ding-robot",
        "openConversationId": "cidGroupOne==",
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "明天集体学习\n@王组长"}, ensure_ascii=False),
    }


def test_reply_goes_to_the_live_session_webhook(fake, push, clock):
    address = {
        "session_webhook": f"{fake.url}/robot/sendBySession?session=s1",
        "expires_at_ms": int(clock.t * 1000) + 60_000,
    }
    assert push.send(Delivery("reply", "已签到。", address)).status == "sent"
    (req,) = fake.requests
    assert (req.path, req.query, req.json) == ("/robot/sendBySession", {"session": "s1"},
                                               {"msgtype": "text", "text": {"content": "已签到。"}})  # fmt: skip


def test_expired_session_falls_back_to_the_group_message_api(fake, push, clock):
    address = {
        "session_webhook": f"{fake.url}/robot/sendBySession?session=gone",
        "expires_at_ms": int(clock.t * 1000) + 60_000,
        "conversation_id": "cidGroupOne==",
    }
    assert push.send(Delivery("reply", "已签到。", address)).status == "sent"  # 300001, then groupMessages
    assert [r.path for r in fake.requests] == [
        "/robot/sendBySession", "/v1.0/oauth2/accessToken", "/v1.0/robot/groupMessages/send",
    ]  # fmt: skip
    clock.t += 3600  # past expiresAt: not even tried
    assert push.send(Delivery("reply", "再答一次", address)).status == "sent"
    assert len(fake.to("/robot/sendBySession")) == 1


def test_expired_session_without_a_conversation_is_failed(fake, push, clock):
    address = {
        "session_webhook": f"{fake.url}/robot/sendBySession?session=s1",
        "expires_at_ms": int(clock.t * 1000) - 1,
    }
    result = push.send(Delivery("reply", "已签到。", address))
    assert result.status == "failed" and fake.requests == []


def test_session_webhook_outside_dingtalk_is_never_posted(fake, push, clock):
    address = {"session_webhook": "http://127.0.0.1:9/steal", "expires_at_ms": int(clock.t * 1000) + 60_000}
    assert push.send(Delivery("reply", "x", address)).status == "failed"


def test_group_without_any_address_is_failed(push):
    assert push.send(Delivery("group", "x", {})).status == "failed"
    assert push.send(Delivery("member", "x", {})).status == "failed"


def test_long_text_is_trimmed_on_a_character_boundary(fake, push):
    text = "社情民意😀" * 5000
    assert push.send(Delivery("group", text, ROBOT, mentions=(WANG,))).status == "sent"
    content = fake.to("/robot/send")[0].json["text"]["content"]
    assert len(content.encode()) <= TEXT_BUDGET_BYTES
    assert content.endswith("…\n@dt_wang")
    body = content.removesuffix("…\n@dt_wang")
    assert text.startswith(body)  # a prefix of whole characters: nothing half-cut
