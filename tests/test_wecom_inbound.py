"""The WeCom callbacks as WeCom calls them: signed and encrypted requests through Flask's test
client, answers decrypted and checked, refusals leaving the database untouched."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import PLATFORMS
from bot.config import WecomApp, WecomSettings
from bot.messages import Command, Incoming, Reply
from bot.outbox import Deliverer
from bot.pipeline import UNKNOWN_SENDER, Pipeline
from bot.platforms.wecom import WecomPushClient, make_blueprint
from bot.platforms.wecom.crypto import parse_xml
from bot.router import Router
from models import Base, InboundMessage, OutboxMessage
from tests.conftest import NOW, TZ
from tests.fakes.wecom_server import CORP_ID, SECRET, FakeWecom
from tests.test_wecom_crypto import (
    DOC_CORP,
    DOC_KEY,
    DOC_POST,
    DOC_POST_ENCRYPT,
    DOC_TOKEN,
    DOC_VERIFY,
    DOC_VERIFY_PLAIN,
    ind_decrypt,
    ind_encrypt,
    ind_signature,
)

BOT_TOKEN = "botToken123"
BOT_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
TS = str(int(NOW.timestamp()))
RESPONSE_URL = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC"


@pytest.fixture
def config_dict(config_dict):
    config_dict["wecom"] = {
        "corp_id": DOC_CORP,
        "app": {"agent_id": "218", "secret": "s", "token": DOC_TOKEN, "encoding_aes_key": DOC_KEY},
        "smart_bot": {"token": BOT_TOKEN, "encoding_aes_key": BOT_KEY},
        "reply_deadline_seconds": 0.5,
        "ack_deadline_seconds": 2.0,
        "max_body_bytes": 24 * 1024,
    }
    config_dict["messages"] = {"max_chars": 1000}  # 1000 × 8 + 16 KB fits in the 24 KB cap
    return config_dict


# A pipeline with a tiny parser and handlers of our own, so these tests speak about the adapter only.
def _parse(text: str, now: dt.datetime) -> Command:
    for word, intent in (("签到", "checkin"), ("回显", "echo"), ("慢", "slow")):
        if text.startswith(word):
            return Command(intent, content=text[len(word) :].strip())
    return Command("unknown")


_router = Router()


@_router.route("checkin")
def _checkin(session, member, command, ctx):
    return Reply(f"{member.name}，签到成功。")


@_router.route("echo")
def _echo(session, member, command, ctx):
    return Reply(command.content or "")


@_router.route("slow")
def _slow(session, member, command, ctx):
    return Reply("慢的答复")  # slow as the test scripts it (pool.next_job_takes), not by sleeping


@pytest.fixture
def runtime_(runtime, roster):
    runtime.now = lambda: NOW
    runtime.pipeline = Pipeline(runtime.sessions, runtime.settings, _router, _parse, runtime.platforms)
    return runtime


@pytest.fixture
def client(runtime_, pool):
    app = Flask("wecom-test")
    app.register_blueprint(make_blueprint(runtime_, executor=pool))
    return app.test_client()


def counts(runtime) -> dict[str, int]:
    with runtime.sessions() as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


# ---- WeCom's side of the smart bot


def bot_payload(
    text: str, msgid: str = "MSG1", userid: str = "zhangsan", chat: str | None = "chat-g1"
) -> dict:
    p = {
        "msgid": msgid,
        "aibotid": "AIBOTID",
        "chattype": "group" if chat else "single",
        "from": {"userid": userid},
        "response_url": RESPONSE_URL,
        "msgtype": "text",
        "text": {"content": f"@履职助手\u2005{text}" if chat else text},
    }
    if chat:
        p["chatid"] = chat
    return p


def bot_post(client, payload: dict | str, ts: str = TS, nonce: str = "n1", token: str = BOT_TOKEN):
    plain = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    encrypt = ind_encrypt(BOT_KEY, plain, "")
    sig = ind_signature(token, ts, nonce, encrypt)
    return client.post(
        f"/wecom/bot?msg_signature={sig}&timestamp={ts}&nonce={nonce}",
        data=json.dumps({"encrypt": encrypt}),
        content_type="application/json",
    )


def bot_answer(resp) -> dict:
    """Check the encrypted passive reply as WeCom would, and return its plaintext JSON."""
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"encrypt", "msgsignature", "timestamp", "nonce"}
    assert body["msgsignature"] == ind_signature(BOT_TOKEN, body["timestamp"], body["nonce"], body["encrypt"])
    plain, receiver = ind_decrypt(BOT_KEY, body["encrypt"])
    assert receiver == ""
    return json.loads(plain)


def test_smart_bot_url_verification_answers_the_plaintext_alone(client):
    echostr = ind_encrypt(BOT_KEY, "8472951603", "")
    sig = ind_signature(BOT_TOKEN, TS, "n", echostr)
    resp = client.get(
        "/wecom/bot", query_string={"msg_signature": sig, "timestamp": TS, "nonce": "n", "echostr": echostr}
    )
    assert resp.status_code == 200
    assert resp.data == b"8472951603"


def test_group_checkin_at_the_bot_is_answered_with_a_finished_stream(client, runtime_):
    answer = bot_answer(bot_post(client, bot_payload("签到")))
    assert answer == {
        "msgtype": "stream",
        "stream": {"id": "MSG1", "finish": True, "content": "张三，签到成功。"},
    }
    with runtime_.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
    assert (row.platform, row.msg_id, row.chat_id, row.sender_id, row.text, row.is_group) == (
        "wecom_bot",
        "MSG1",
        "chat-g1",
        "zhangsan",
        "签到",
        True,
    )


def test_the_passive_reply_is_signed_with_the_requests_own_nonce(client):
    body = bot_post(client, bot_payload("签到", msgid="NONCE"), nonce="req-nonce-42").get_json()
    assert body["nonce"] == "req-nonce-42"
    assert body["msgsignature"] == ind_signature(
        BOT_TOKEN, body["timestamp"], "req-nonce-42", body["encrypt"]
    )


def test_an_open_userid_is_converted_through_the_self_built_app_and_the_member_is_known(runtime_, pool):
    # doc 101521: the smart bot may see an encrypted open_userid; with the self-built app configured
    # it becomes the roster's 企业微信账号, so the member needs no binding.
    fake = FakeWecom().start()
    try:
        fake.open_userids["woAJ2GCAAAzhangsan"] = "zhangsan"
        push = WecomPushClient(
            WecomSettings(
                corp_id=CORP_ID, api_base=fake.base, app=WecomApp(agent_id="1000002", secret=SECRET)
            )
        )
        runtime_.platforms = PLATFORMS.with_clients({"wecom": push})
        app = Flask("wecom-open-userid")
        app.register_blueprint(make_blueprint(runtime_, executor=pool))
        http = app.test_client()
        for i, sender in enumerate(["woAJ2GCAAAzhangsan", "woAJ2GCAAAzhangsan", "lisi"]):
            answer = bot_answer(bot_post(http, bot_payload("签到", msgid=f"OPEN{i}", userid=sender)))
            assert answer["stream"]["content"] == ("李四" if sender == "lisi" else "张三") + "，签到成功。"
        assert len(fake.calls_to("/cgi-bin/batch/openuserid_to_userid")) == 2  # each id asked once
        with runtime_.sessions() as s:
            assert s.scalars(select(InboundMessage.sender_id).order_by(InboundMessage.id)).all() == [
                "zhangsan",
                "zhangsan",
                "lisi",
            ]
    finally:
        fake.stop()


def test_one_to_one_message_has_no_chat(client, runtime_):
    answer = bot_answer(bot_post(client, bot_payload("签到", userid="lisi", chat=None)))
    assert answer["stream"]["content"] == "李四，签到成功。"
    with runtime_.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
    assert (row.chat_id, row.is_group) == (None, False)


def test_quotes_and_cdata_end_in_user_text_still_give_valid_json(client):
    text = 'a"b\\c]]></xml>\n{"x":1}'
    assert bot_answer(bot_post(client, bot_payload("回显 " + text)))["stream"]["content"] == text


def test_wecom_retrying_a_callback_four_times_records_one_message_and_gives_each_the_answer(client, runtime_):
    # WeCom delivers again only when it did not get the answer (a crash after the commit, a lost
    # response): every redelivery carries the stored answer, so the member learns it was recorded.
    answers = [bot_post(client, bot_payload("签到", msgid="RETRY"), nonce=f"n{i}") for i in range(4)]
    assert all(a.status_code == 200 for a in answers)
    assert [bot_answer(a)["stream"]["content"] for a in answers] == ["张三，签到成功。"] * 4
    assert counts(runtime_)["inbound_message"] == 1
    with runtime_.sessions() as s:  # one row saying the answer went in the response, nothing to send
        assert [(o.status, o.via) for o in s.scalars(select(OutboxMessage))] == [("sent", "response")]


def test_a_message_stored_before_a_crash_is_answered_on_its_redelivery(client, runtime_):
    # The first delivery committed, then the process died before answering: WeCom delivers again.
    first = Incoming("wecom_bot", "chat-g1", "zhangsan", None, "签到", "CRASH", NOW, True)
    assert runtime_.pipeline.handle(first, NOW).reply.text == "张三，签到成功。"
    again = bot_post(client, bot_payload("签到", msgid="CRASH"))
    assert bot_answer(again)["stream"]["content"] == "张三，签到成功。"
    assert counts(runtime_)["inbound_message"] == 1


def test_answer_stored_after_the_reply_deadline_is_empty_then_goes_to_response_url_once(
    client, runtime_, pool
):
    pool.next_job_takes(0.9)  # past the 0.5 s reply deadline, before the 2 s ack
    first = bot_post(client, bot_payload("慢", msgid="SLOW"))
    assert (first.status_code, first.data) == (200, b"")
    pool.settle()
    assert counts(runtime_)["outbox_message"] == 1
    again = [bot_post(client, bot_payload("慢", msgid="SLOW"), nonce=f"n{i}") for i in range(3)]
    assert [(a.status_code, a.data) for a in again] == [(200, b"")] * 3
    with runtime_.sessions() as s:
        out = s.scalars(select(OutboxMessage)).one()
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1
    assert (out.target_kind, out.platform, out.text) == ("reply", "wecom", "慢的答复")
    assert out.address == {"response_url": RESPONSE_URL}


def test_a_late_answer_is_posted_to_response_url_at_once_not_at_the_next_scheduler_tick(
    client, runtime_, pool
):
    fake = FakeWecom().start()
    try:
        runtime_.deliverer = Deliverer(
            runtime_.sessions,
            runtime_.settings,
            PLATFORMS.with_clients({"wecom": WecomPushClient(runtime_.settings)}),
        )
        payload = bot_payload("慢", msgid="LATE") | {
            "response_url": f"{fake.base}/cgi-bin/aibot/response?response_code=RC"
        }
        pool.next_job_takes(0.9)
        assert bot_post(client, payload).data == b""
        pool.settle()
        [call] = fake.calls_to("/cgi-bin/aibot/response")
        assert (call.query, call.body) == (
            {"response_code": "RC"},
            {"msgtype": "markdown", "markdown": {"content": "慢的答复"}},
        )

        def status() -> str | None:
            with runtime_.sessions() as s:
                return s.scalar(select(OutboxMessage.status))

        assert status() == "sent"  # not left for the scheduler
    finally:
        fake.stop()


def test_message_not_stored_by_the_ack_deadline_gets_503_and_its_late_answer_goes_out_once(
    client, runtime_, pool
):
    pool.next_job_takes(None)  # the database hangs
    first = bot_post(client, bot_payload("慢", msgid="HUNG"))
    assert first.status_code == 503  # WeCom delivers again: nothing was acknowledged
    assert pool.waited == 2.0  # up to the ack deadline, not a moment less
    assert counts(runtime_)["inbound_message"] == 0
    pool.release()  # the run finishes and commits after all
    pool.settle()
    assert counts(runtime_)["outbox_message"] == 1
    again = bot_post(client, bot_payload("慢", msgid="HUNG"), nonce="retry")
    assert (again.status_code, again.data) == (200, b"")  # a duplicate: its answer is in the outbox
    with runtime_.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert s.scalars(select(OutboxMessage.text)).all() == ["慢的答复"]


def test_a_voice_message_is_read_as_its_transcript(client, runtime_):
    payload = {**bot_payload("", chat=None), "msgtype": "voice", "voice": {"content": "签到"}}
    del payload["text"]
    assert bot_answer(bot_post(client, payload))["stream"]["content"] == "张三，签到成功。"
    with runtime_.sessions() as s:
        assert s.scalars(select(InboundMessage.text)).one() == "签到"


def test_a_quoted_message_is_read_after_the_words_that_refer_to_it(client, runtime_):
    payload = bot_payload("回显 请看")
    payload["quote"] = {"msgtype": "text", "text": {"content": "明天上午9点视察县医院"}}
    answer = bot_answer(bot_post(client, payload))
    assert answer["stream"]["content"] == "请看\n明天上午9点视察县医院"
    with runtime_.sessions() as s:
        assert s.scalars(select(InboundMessage.text)).one() == "回显 请看\n明天上午9点视察县医院"


@pytest.mark.parametrize(
    "event",
    [
        {"msgtype": "event", "event": {"eventtype": "enter_chat"}},
        {"msgtype": "voice", "voice": {}},  # a voice message without a transcript says nothing
        {"msgtype": "video", "video": {"url": "https://example.invalid/x"}},  # images: test_files_wecom.py
        {"msgtype": "stream", "stream": {"id": "MSG1"}},
    ],
)
def test_events_and_other_kinds_are_acknowledged_empty_and_not_recorded(client, runtime_, event):
    before = counts(runtime_)
    resp = bot_post(client, {"msgid": "E1", "aibotid": "A", "from": {"userid": "zhangsan"}, **event})
    assert (resp.status_code, resp.data) == (200, b"")
    assert counts(runtime_) == before


# ---- refusals: 4xx, a short reason, nothing written


def _encrypted_body() -> tuple[str, str]:
    encrypt = ind_encrypt(BOT_KEY, json.dumps(bot_payload("签到")), "")
    return encrypt, json.dumps({"encrypt": encrypt})


def test_bad_signature_is_refused(client, runtime_):
    before = counts(runtime_)
    resp = bot_post(client, bot_payload("签到"), token="someone-else")
    assert resp.status_code == 403 and b"signature" in resp.data
    assert counts(runtime_) == before


def test_stale_timestamp_is_refused_even_when_signed(client, runtime_):
    before = counts(runtime_)
    resp = bot_post(client, bot_payload("签到"), ts=str(int(NOW.timestamp()) - 301))
    assert resp.status_code == 403 and b"stale" in resp.data
    assert counts(runtime_) == before


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"encrypt": ""}', b'{"other": 1}', '{"encrypt": "\u4e2d"}'.encode()],
)
def test_malformed_body_is_refused(client, runtime_, body):
    before = counts(runtime_)
    enc = json.loads(body).get("encrypt", "") if body.startswith(b"{") else ""
    sig = ind_signature(BOT_TOKEN, TS, "n", enc)
    resp = client.post(f"/wecom/bot?msg_signature={sig}&timestamp={TS}&nonce=n", data=body)
    assert 400 <= resp.status_code < 500
    assert counts(runtime_) == before


def test_signed_payload_that_is_not_a_text_message_is_refused(client, runtime_):
    before = counts(runtime_)
    for payload in ("not json", json.dumps({"msgtype": "text", "msgid": "x"})):
        assert bot_post(client, payload).status_code == 400
    assert counts(runtime_) == before


def test_missing_query_parameters_are_refused(client):
    _, body = _encrypted_body()
    assert client.post("/wecom/bot", data=body).status_code == 400
    assert client.get("/wecom/bot?msg_signature=a&timestamp=1&nonce=2").status_code == 400


def test_oversize_body_is_refused(client, runtime_):
    before = counts(runtime_)
    big = json.dumps({"encrypt": "A" * 30000})
    resp = client.post(f"/wecom/bot?msg_signature=x&timestamp={TS}&nonce=n", data=big)
    assert resp.status_code == 413
    assert counts(runtime_) == before


# ---- the self-built app (XML), with the 加解密 docs' own example


def at_vector_time(runtime, epoch: str) -> None:
    runtime.now = lambda: dt.datetime.fromtimestamp(int(epoch), TZ)


def test_app_url_verification_with_the_published_vector(client, runtime_):
    at_vector_time(runtime_, DOC_VERIFY["timestamp"])
    resp = client.get("/wecom/app", query_string=DOC_VERIFY)
    assert (resp.status_code, resp.data) == (200, DOC_VERIFY_PLAIN.encode())


def test_app_message_from_the_published_vector_is_recorded_and_answered(client, runtime_):
    at_vector_time(runtime_, DOC_POST["timestamp"])
    body = f"<xml><ToUserName><![CDATA[{DOC_CORP}]]></ToUserName><Encrypt><![CDATA[{DOC_POST_ENCRYPT}]]></Encrypt></xml>"
    resp = client.post("/wecom/app", query_string=DOC_POST, data=body)
    reply = app_answer(resp)
    assert reply["ToUserName"] == "mycreate" and reply["FromUserName"] == DOC_CORP
    # "mycreate" is on no roster: whatever it says, it learns how to bind first.
    assert (reply["MsgType"], reply["Content"]) == ("text", UNKNOWN_SENDER)
    with runtime_.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
    assert (row.platform, row.msg_id, row.sender_id, row.text) == (
        "wecom_app",
        "4561255354251345929",
        "mycreate",
        "hello",
    )
    assert row.sent_at.astimezone(dt.UTC) == dt.datetime(2014, 9, 2, 12, 10, 13, tzinfo=dt.UTC)


def app_xml(
    content: str, msgid: str = "1001", user: str = "zhangsan", msgtype: str = "text", extra: str = ""
) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{DOC_CORP}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{TS}</CreateTime><MsgType><![CDATA[{msgtype}]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msgid}</MsgId><AgentID>218</AgentID>{extra}</xml>"
    )


def app_post(client, plain: str, nonce: str = "n1", ts: str = TS):
    encrypt = ind_encrypt(DOC_KEY, plain, DOC_CORP)
    sig = ind_signature(DOC_TOKEN, ts, nonce, encrypt)
    body = f"<xml><ToUserName><![CDATA[{DOC_CORP}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
    return client.post(f"/wecom/app?msg_signature={sig}&timestamp={ts}&nonce={nonce}", data=body)


def app_answer(resp) -> dict[str, str]:
    assert resp.status_code == 200
    env = parse_xml(resp.data)
    assert env["MsgSignature"] == ind_signature(DOC_TOKEN, env["TimeStamp"], env["Nonce"], env["Encrypt"])
    plain, receiver = ind_decrypt(DOC_KEY, env["Encrypt"])
    assert receiver == DOC_CORP
    return parse_xml(plain)


def test_app_text_is_answered_by_encrypted_passive_xml(client):
    reply = app_answer(app_post(client, app_xml("签到")))
    assert (reply["ToUserName"], reply["Content"]) == ("zhangsan", "张三，签到成功。")


def test_app_reply_with_cdata_end_in_user_text_is_still_valid_xml(client):
    text = "x]]><evil/>&amp;\"'"
    plain = app_xml("回显 " + text.replace("]]>", "]]]]><![CDATA[>"))
    assert app_answer(app_post(client, plain))["Content"] == text


def test_app_redeliveries_record_once_and_each_gets_the_answer(client, runtime_):
    answers = [app_post(client, app_xml("签到", msgid="777"), nonce=f"n{i}") for i in range(4)]
    assert [app_answer(a)["Content"] for a in answers] == [app_answer(answers[0])["Content"]] * 4
    assert "签到成功" in app_answer(answers[0])["Content"]
    assert counts(runtime_)["inbound_message"] == 1


def test_app_slow_answer_goes_out_by_message_send(client, runtime_, pool):
    pool.next_job_takes(0.9)
    resp = app_post(client, app_xml("慢", msgid="888", user="lisi"))
    assert (resp.status_code, resp.data) == (200, b"")
    pool.settle()
    assert counts(runtime_)["outbox_message"] == 1
    with runtime_.sessions() as s:
        out = s.scalars(select(OutboxMessage)).one()
    assert (out.target_kind, out.address, out.text) == ("reply", {"userid": "lisi"}, "慢的答复")


def test_app_events_are_acknowledged_and_not_recorded(client, runtime_):
    before = counts(runtime_)
    event = (
        f"<xml><ToUserName><![CDATA[{DOC_CORP}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
        f"<CreateTime>{TS}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event>"
        "<EventKey><![CDATA[]]></EventKey><AgentID>218</AgentID></xml>"
    )
    resp = app_post(client, event)
    assert (resp.status_code, resp.data) == (200, b"")
    assert counts(runtime_) == before


XXE_ENVELOPE = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Encrypt>&x;</Encrypt></xml>'
LAUGHS_ENVELOPE = (
    '<!DOCTYPE xml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Encrypt>&c;</Encrypt></xml>'
)


@pytest.mark.parametrize("body", [XXE_ENVELOPE, LAUGHS_ENVELOPE, "<xml><Encrypt>", "{}", "<xml></xml>"])
def test_app_hostile_or_broken_envelope_is_refused(client, runtime_, body):
    before = counts(runtime_)
    resp = client.post(f"/wecom/app?msg_signature=x&timestamp={TS}&nonce=n", data=body)
    assert resp.status_code == 400
    assert counts(runtime_) == before


def test_app_signed_plaintext_with_an_entity_is_refused(client, runtime_):
    """Even a correctly signed and encrypted message may not carry a DTD into wechatpy's parser."""
    before = counts(runtime_)
    plain = '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + app_xml("&x;")
    assert app_post(client, plain).status_code == 400
    assert counts(runtime_) == before


def test_app_bad_signature_and_stale_timestamp_are_refused(client, runtime_):
    before = counts(runtime_)
    encrypt = ind_encrypt(DOC_KEY, app_xml("签到"), DOC_CORP)
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    assert (
        client.post(f"/wecom/app?msg_signature={'0' * 40}&timestamp={TS}&nonce=n", data=body).status_code
        == 403
    )
    assert app_post(client, app_xml("签到"), ts=str(int(TS) - 3600)).status_code == 403
    assert counts(runtime_) == before


# ---- wiring in create_app


def test_platform_off_means_404_and_on_means_the_endpoints_answer(write_config, config_dict):
    from app import create_app

    on = create_app(write_config()).test_client()
    assert on.get("/wecom/bot").status_code == 400  # present, refusing an unsigned request
    assert on.get("/wecom/app").status_code == 400
    off = create_app(write_config(wecom={})).test_client()
    assert off.get("/wecom/bot").status_code == 404
    assert off.post("/wecom/app").status_code == 404


def test_app_signed_plaintext_without_message_fields_is_refused(client, runtime_):
    before = counts(runtime_)
    assert app_post(client, "<xml><Content>签到</Content></xml>").status_code == 400
    assert counts(runtime_) == before
