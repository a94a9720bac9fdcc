"""The WeCom push client against a fake WeCom on 127.0.0.1: exact JSON sent, @ lists, error mapping,
access_token caching and refresh, byte limits."""

from __future__ import annotations

import pytest
import requests

from bot.config import WecomApp, WecomSettings
from bot.delivery import Delivery
from bot.messages import Person
from bot.platforms.wecom import WecomPushClient
from tests.fakes.wecom_server import CORP_ID, SECRET, WEBHOOK_KEY, FakeWecom

ZHANG = Person("张三", mobile="13800000001", wecom_userid="zhangsan")
ZHAO = Person("赵六", mobile="13800000003")  # no WeCom account: @ by mobile
NOBODY = Person("无名")  # neither: named in the text only


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def fake():
    server = FakeWecom().start()
    yield server
    server.stop()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(fake, clock):
    settings = WecomSettings(
        corp_id=CORP_ID, api_base=fake.base, app=WecomApp(agent_id="1000002", secret=SECRET)
    )
    with requests.Session() as session:
        yield WecomPushClient(settings, session=session, clock=clock, timeout=5)


def group(text: str, mentions=(), key: str = WEBHOOK_KEY) -> Delivery:
    return Delivery("group", text, {"webhook_key": key}, tuple(mentions), key="t")


def test_group_notice_ats_members_by_userid_and_by_mobile(client, fake):
    result = client.send(group("请张三、赵六本周内提交社情民意。", [ZHANG, ZHAO, NOBODY]))
    assert result.status == "sent"
    [call] = fake.calls_to("/cgi-bin/webhook/send")
    assert call.query == {"key": WEBHOOK_KEY}
    assert call.body == {
        "msgtype": "text",
        "text": {
            "content": "请张三、赵六本周内提交社情民意。",
            "mentioned_list": ["zhangsan"],
            "mentioned_mobile_list": ["13800000003"],
        },
    }


def test_group_message_without_anyone_to_at_goes_as_markdown(client, fake):
    assert client.send(group("**本周情况**\n> 已签到 3 人")).status == "sent"
    [call] = fake.calls_to("/cgi-bin/webhook/send")
    assert call.body == {"msgtype": "markdown", "markdown": {"content": "**本周情况**\n> 已签到 3 人"}}


def test_push_bot_rate_limit_is_retried_after_a_minute_and_then_sent(client, fake):
    fake.script("/cgi-bin/webhook/send", (200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    first = client.send(group("提醒"))
    assert (first.status, first.retry_after) == ("retry", 60)
    assert "45009" in first.detail
    assert client.send(group("提醒")).status == "sent"  # the outbox's later attempt
    assert len(fake.calls_to("/cgi-bin/webhook/send")) == 2


def test_invalid_webhook_key_fails_for_the_admin_instead_of_retrying(client, fake):
    result = client.send(group("提醒", key="wrong-key"))
    assert result.status == "failed"
    assert "93000" in result.detail


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(client, fake, status):
    fake.script("/cgi-bin/webhook/send", (status, {"errmsg": "oops"}))
    result = client.send(group("提醒"))
    assert result.status == "retry"
    assert str(status) in result.detail


def test_unreachable_server_is_retried(fake, clock):
    settings = WecomSettings(corp_id=CORP_ID, api_base="http://127.0.0.1:9", app=WecomApp(secret=SECRET))
    result = WecomPushClient(settings, clock=clock, timeout=2).send(group("提醒"))
    assert result.status == "retry"


def test_member_message_fetches_token_once_and_reuses_it(client, fake):
    d = Delivery("member", "您的请假已批准。", {"userid": "lisi"})
    assert client.send(d).status == "sent"
    assert client.send(d).status == "sent"
    assert len(fake.calls_to("/cgi-bin/gettoken")) == 1
    token = fake.calls_to("/cgi-bin/gettoken")[0]
    assert token.query == {"corpid": CORP_ID, "corpsecret": SECRET}
    sends = fake.calls_to("/cgi-bin/message/send")
    assert [c.query["access_token"] for c in sends] == ["token-1", "token-1"]
    assert sends[0].body == {
        "touser": "lisi",
        "agentid": 1000002,
        "enable_duplicate_check": 1,  # a repeat after a crash is dropped by WeCom (path/90236)
        "duplicate_check_interval": 1800,
        "msgtype": "text",
        "text": {"content": "您的请假已批准。"},
    }


def test_member_markdown_message(client, fake):
    client.send(Delivery("member", "**提醒**", {"userid": "lisi"}, markdown=True))
    [call] = fake.calls_to("/cgi-bin/message/send")
    assert call.body["msgtype"] == "markdown"
    assert call.body["markdown"] == {"content": "**提醒**"}


@pytest.mark.parametrize("code", [42001, 40014])
def test_refused_token_is_refreshed_once_and_the_message_sent(client, fake, code):
    client.send(Delivery("member", "一", {"userid": "lisi"}))
    fake.expire_tokens()
    if code == 40014:
        fake.script("/cgi-bin/message/send", (200, {"errcode": 40014, "errmsg": "invalid access_token"}))
    assert client.send(Delivery("member", "二", {"userid": "lisi"})).status == "sent"
    sends = fake.calls_to("/cgi-bin/message/send")
    assert [c.query["access_token"] for c in sends] == ["token-1", "token-1", "token-2"]
    assert sends[-1].body["text"] == {"content": "二"}


def test_member_file_is_uploaded_as_media_then_sent_as_a_file_message(client, fake, tmp_path):
    path = tmp_path / "第一联络组2026年履职档案.xlsx"
    content = b"PK\x03\x04" + bytes(range(256)) * 40
    path.write_bytes(content)
    d = Delivery("member", f"履职档案：{path.name}", {"userid": "lisi"}, attachment=str(path))
    assert client.send(d).status == "sent"
    [upload] = fake.calls_to("/cgi-bin/media/upload")
    assert upload.query == {"access_token": "token-1", "type": "file"}
    # The fake reads the multipart body with the standard library's email parser.
    assert fake.media == {"media-1": (path.name, content)}
    [send] = fake.calls_to("/cgi-bin/message/send")
    assert send.body == {
        "touser": "lisi",
        "agentid": 1000002,
        "enable_duplicate_check": 1,  # a repeat after a crash is dropped by WeCom (path/90236)
        "duplicate_check_interval": 1800,
        "msgtype": "file",
        "file": {"media_id": "media-1"},
    }


def test_file_upload_with_an_expired_token_is_refreshed_once(client, fake, tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"PK\x03\x04 workbook")
    client.send(Delivery("member", "一", {"userid": "lisi"}))
    fake.expire_tokens()
    assert client.send(Delivery("member", "档案", {"userid": "lisi"}, attachment=str(path))).status == "sent"
    uploads = fake.calls_to("/cgi-bin/media/upload")
    assert [c.query["access_token"] for c in uploads] == ["token-1", "token-2"]
    assert fake.calls_to("/cgi-bin/message/send")[-1].body["file"] == {"media_id": "media-1"}


def test_file_upload_failures_are_mapped(client, fake, tmp_path):
    missing = Delivery("member", "档案", {"userid": "lisi"}, attachment=str(tmp_path / "gone.xlsx"))
    result = client.send(missing)
    assert (result.status, result.detail) == ("failed", "attachment unreadable: FileNotFoundError")
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"PK\x03\x04 workbook")
    fake.script("/cgi-bin/media/upload", (502, {}))
    assert client.send(Delivery("member", "档案", {"userid": "lisi"}, attachment=str(path))).status == "retry"
    assert fake.calls_to("/cgi-bin/message/send") == []


def test_token_refused_even_after_refresh_fails_without_looping(client, fake):
    fake.script(
        "/cgi-bin/message/send",
        (200, {"errcode": 42001, "errmsg": "expired"}),
        (200, {"errcode": 42001, "errmsg": "expired"}),
    )
    result = client.send(Delivery("member", "一", {"userid": "lisi"}))
    assert result.status == "failed"
    assert len(fake.calls_to("/cgi-bin/gettoken")) == 2
    assert len(fake.calls_to("/cgi-bin/message/send")) == 2


def test_token_is_fetched_again_when_it_expires(client, fake, clock):
    client.send(Delivery("member", "一", {"userid": "lisi"}))
    clock.t += 7200
    client.send(Delivery("member", "二", {"userid": "lisi"}))
    assert len(fake.calls_to("/cgi-bin/gettoken")) == 2


def test_wrong_app_secret_fails(fake, clock):
    settings = WecomSettings(
        corp_id=CORP_ID, api_base=fake.base, app=WecomApp(agent_id="1000002", secret="wrong")
    )
    result = WecomPushClient(settings, clock=clock).send(Delivery("member", "一", {"userid": "lisi"}))
    assert result.status == "failed"
    assert "40001" in result.detail
    assert fake.calls_to("/cgi-bin/message/send") == []


def test_app_rate_limit_is_retried(client, fake):
    fake.script("/cgi-bin/message/send", (200, {"errcode": 45009, "errmsg": "freq"}))
    result = client.send(Delivery("member", "一", {"userid": "lisi"}))
    assert (result.status, result.retry_after) == ("retry", 60)


def test_late_answer_goes_to_response_url_as_markdown(client, fake):
    url = f"{fake.base}/cgi-bin/aibot/response?response_code=RC1"
    assert (
        client.send(Delivery("reply", "已记录您的社情民意「关于路灯」。", {"response_url": url})).status
        == "sent"
    )
    [call] = fake.calls_to("/cgi-bin/aibot/response")
    assert call.query == {"response_code": "RC1"}
    assert call.body == {"msgtype": "markdown", "markdown": {"content": "已记录您的社情民意「关于路灯」。"}}


def test_a_late_answer_to_response_url_may_be_20480_bytes(client, fake):
    url = f"{fake.base}/cgi-bin/aibot/response?response_code=RC2"
    text = "履职" * 3000  # 18,000 bytes: over the push bot's 4,096, under response_url's 20,480
    assert client.send(Delivery("reply", text, {"response_url": url})).status == "sent"
    [call] = fake.calls_to("/cgi-bin/aibot/response")
    assert call.body["markdown"]["content"] == text
    client.send(Delivery("reply", text * 2, {"response_url": url}))
    sent = fake.calls_to("/cgi-bin/aibot/response")[1].body["markdown"]["content"]
    assert len(sent.encode()) <= 20480 and sent.endswith("…")


def test_missing_addresses_fail_without_a_request(client, fake):
    assert client.send(Delivery("group", "x", {})).status == "failed"
    assert client.send(Delivery("member", "x", {})).status == "failed"
    assert client.send(Delivery("reply", "x", {})).status == "failed"
    assert fake.calls == []


def test_long_text_is_trimmed_to_the_byte_limit_on_a_character_boundary(client, fake):
    text = "履职" * 2000  # 12000 bytes
    client.send(group(text, [ZHANG]))
    client.send(group(text))
    text_call, md_call = fake.calls_to("/cgi-bin/webhook/send")
    sent_text = text_call.body["text"]["content"]
    sent_md = md_call.body["markdown"]["content"]
    assert len(sent_text.encode()) <= 2048 and sent_text.endswith("…")
    assert len(sent_md.encode()) <= 4096 and sent_md.endswith("…")
    assert sent_text[:-1] == text[: len(sent_text) - 1]
