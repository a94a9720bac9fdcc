"""The self-built app's one-to-one cards (issue 19): the leader's notice of a leave request goes by
message/send as a button_interaction template card (path/90236) to a fake WeCom on 127.0.0.1; a tap
comes back to /wecom/app as an encrypted template_card_event (path/90240), decides as the typed
words would, and is answered with an encrypted update_button (path/90241), the whole answer
following by message/send."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app import create_app
from bot.platforms.wecom.cards import app_task_id, button_label
from bot.platforms.wecom.crypto import parse_xml
from models import InboundMessage, LeaveRequest, OutboxMessage, Submission
from tests.conftest import NOW
from tests.fakes.wecom_server import CORP_ID, SECRET, FakeWecom
from tests.test_wecom_crypto import DOC_KEY, DOC_TOKEN, ind_decrypt, ind_encrypt, ind_signature

TS = str(int(NOW.timestamp()))


@pytest.fixture
def fake():
    server = FakeWecom().start()
    yield server
    server.stop()


@pytest.fixture
def app(write_config, config_dict, fake, roster):
    wecom = {
        "corp_id": CORP_ID,
        "api_base": fake.base,
        "app": {"agent_id": "1000002", "secret": SECRET, "token": DOC_TOKEN, "encoding_aes_key": DOC_KEY},
    }
    app = create_app(write_config(wecom=wecom, scheduler={**config_dict["scheduler"], "enabled": False}))
    app.extensions["bot"].now = lambda: NOW
    return app


@pytest.fixture
def card(app, fake, say, runtime):
    """张三 asks leave for Friday's 座谈会; the leader's notice goes out: the card WeCom received."""
    assert "已发布活动" in say("王组长", "发布活动 11月27日下午3点 座谈会 民营经济发展")
    assert "等待组长审批" in say("张三", "请假 周五的座谈会 单位开会")
    app.extensions["bot"].deliverer.deliver(NOW)
    cards = [c.body for c in fake.calls_to("/cgi-bin/message/send") if c.body.get("msgtype") == "template_card"]
    assert len(cards) == 1
    return cards[0]


def tap(client, user: str, key: str, task_id: str, created: str = TS, nonce: str = "n1"):
    plain = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[rc-1]]></ResponseCode><AgentID>1000002</AgentID></xml>"
    )
    encrypt = ind_encrypt(DOC_KEY, plain, CORP_ID)
    sig = ind_signature(DOC_TOKEN, TS, nonce, encrypt)
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return client.post(f"/wecom/app?msg_signature={sig}&timestamp={TS}&nonce={nonce}", data=body)


def answer(resp) -> dict[str, str]:
    """The passive answer, checked and decrypted independently: its fields, and the relabelled
    button's words under "ReplaceName"."""
    assert resp.status_code == 200, resp.data
    env = parse_xml(resp.data)
    assert env["MsgSignature"] == ind_signature(DOC_TOKEN, env["TimeStamp"], env["Nonce"], env["Encrypt"])
    plain, receiver = ind_decrypt(DOC_KEY, env["Encrypt"])
    assert receiver == CORP_ID
    label = re.search(r"<Button><ReplaceName><!\[CDATA\[(.*?)\]\]></ReplaceName></Button>", plain)
    return {**parse_xml(plain), "ReplaceName": label[1] if label else ""}


def test_the_leaders_notice_is_a_button_card_sent_by_message_send(card, runtime):
    with runtime.sessions() as s:
        leave_id = s.scalar(select(LeaveRequest.id))
    assert card["touser"] == "wang" and card["agentid"] == 1000002
    t = card["template_card"]
    assert t["card_type"] == "button_interaction"
    assert t["main_title"]["title"] == f"张三请假#{leave_id}"
    assert "座谈会" in t["sub_title_text"] and "单位开会" in t["sub_title_text"]
    assert re.fullmatch(r"[A-Za-z0-9_\-@]{1,128}", t["task_id"])
    assert [(b["text"], b["key"]) for b in t["button_list"]] == [
        ("同意", f"同意 #{leave_id}"),
        ("驳回", f"驳回 #{leave_id}"),
    ]


def test_a_tap_decides_as_the_typed_words_and_relabels_the_button(app, card, runtime, roster, fake):
    t = card["template_card"]
    key = t["button_list"][0]["key"]
    client = app.test_client()
    reply = answer(tap(client, "wang", key, t["task_id"]))
    assert (reply["MsgType"], reply["ToUserName"]) == ("update_button", "wang")
    with runtime.sessions() as s:
        leave_id = s.scalar(select(LeaveRequest.id))
    assert reply["ReplaceName"] == f"已同意张三的请假#{leave_id}"
    with runtime.sessions() as s:
        leave = s.scalars(select(LeaveRequest)).one()
        assert (leave.status, leave.decided_by_id) == ("approved", roster["王组长"])
        decided = s.get(InboundMessage, leave.decision_message_id)
        assert (decided.platform, decided.text) == ("wecom_app", key)
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.target_kind == "reply")).one()
    assert told.address == {"userid": "wang"} and told.text.startswith("已同意张三的请假")
    # The same tap delivered again (WeCom's retry of the callback): decided once, told once (its
    # answer is queued for message/send already, so the retry is acknowledged empty).
    again = tap(client, "wang", key, t["task_id"], nonce="n2")
    assert (again.status_code, again.data) == (200, b"")
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.platform == "wecom_app")) == 1
        notices = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.member_id == roster["张三"])
        )
    assert notices == 1


def test_a_members_tap_changes_nothing_and_says_why(app, card, runtime):
    t = card["template_card"]
    reply = answer(tap(app.test_client(), "zhangsan", t["button_list"][0]["key"], t["task_id"]))
    assert reply["MsgType"] == "update_button" and reply["ReplaceName"]
    with runtime.sessions() as s:
        assert s.scalars(select(LeaveRequest)).one().status == "pending"
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.target_kind == "reply")).one()
    assert "组长" in told.text  # the typed command's own refusal


def test_the_relabelled_button_is_the_answers_first_phrase():
    assert button_label("已同意张三的请假#3（11月27日（周五） 15:00 座谈会）。") == "已同意张三的请假#3"
    assert button_label("请假#3（11月27日（周五） 15:00 座谈会）已撤回，无需审批。") == "请假#3已撤回"
    assert button_label("已标记李四的社情民意#1《关于加装电梯的建议》为县级采用，已告知本人。") == "已标记李四的社情民意#1为县级采用"
    assert len(button_label("一" * 40)) == 20
    assert app_task_id("leave:3:1") == app_task_id("leave:3:1") != app_task_id("leave:3:2")


def test_a_database_failure_during_a_tap_leaves_the_button_and_a_second_tap_decides(
    app, card, runtime, commit_fails_once
):
    t = card["template_card"]
    key = t["button_list"][0]["key"]
    failures = commit_fails_once()
    client = app.test_client()
    first = tap(client, "wang", key, t["task_id"])
    assert failures == [1]
    assert first.status_code >= 500  # WeCom sees a failure: no update_button, the button stays
    with runtime.sessions() as s:
        assert s.scalars(select(LeaveRequest)).one().status == "pending"
    second = answer(tap(client, "wang", key, t["task_id"], created=str(int(TS) + 20), nonce="n2"))
    assert second["ReplaceName"].startswith("已同意")
    with runtime.sessions() as s:
        assert s.scalars(select(LeaveRequest)).one().status == "approved"


# -- the office told of each new 社情民意, with 采用（县级）/ 退回 (submissions.tell_office) -------------------


@pytest.fixture
def office_told(config_dict):
    config_dict["submissions"] = {**config_dict["submissions"], "tell_office": True}


@pytest.fixture
def note_card(office_told, app, fake, say, runtime):  # office_told first: before the settings are built
    """李四's 社情民意; the office's card as WeCom received it, and the note's number."""
    answer = say("李四", "社情民意：关于老旧小区加装电梯的建议\n建议简化审批流程。")
    number = int(re.search(r"编号#(\d+)", answer)[1])
    app.extensions["bot"].deliverer.deliver(NOW)
    cards = [c.body for c in fake.calls_to("/cgi-bin/message/send") if c.body.get("msgtype") == "template_card"]
    assert [c["touser"] for c in cards] == ["chen"]  # the one admin; nobody else
    return cards[0]["template_card"], number


def test_each_new_note_reaches_the_office_with_adopt_and_return(note_card):
    card, number = note_card
    assert card["main_title"]["title"] == f"第一联络组李四的社情民意#{number}"
    assert "加装电梯" in card["sub_title_text"]
    assert [(b["text"], b["key"]) for b in card["button_list"]] == [
        ("县级采用", f"采用 #{number} 县级"),
        ("退回", f"退回 #{number}"),
    ]


def test_the_offices_tap_adopts_the_note_and_tells_its_author(note_card, app, runtime, roster):
    card, number = note_card
    reply = answer(tap(app.test_client(), "chen", card["button_list"][0]["key"], card["task_id"]))
    assert reply["ReplaceName"] == f"已标记李四的社情民意#{number}为县级采用"
    with runtime.sessions() as s:
        note = s.get(Submission, number)
        assert (note.status, note.adopted_level) == ("adopted", "县级")
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.member_id == roster["李四"])).all()
    assert any("采用" in t.text for t in told)


def test_without_the_setting_the_office_is_not_told(say, runtime, roster):
    say("李四", "社情民意：关于老旧小区加装电梯的建议\n建议简化审批流程。")
    with runtime.sessions() as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.member_id == roster["陈主任"])).all() == []


def test_a_tap_after_the_request_was_withdrawn_or_decided_changes_nothing(app, card, runtime, say, roster):
    t = card["template_card"]
    key = t["button_list"][0]["key"]
    assert "已撤回" in say("张三", "撤回请假")
    withdrawn = answer(tap(app.test_client(), "wang", key, t["task_id"]))
    assert "撤回" in withdrawn["ReplaceName"]
    admin = answer(tap(app.test_client(), "chen", key, t["task_id"], created=str(int(TS) + 5)))
    assert "撤回" in admin["ReplaceName"]
    with runtime.sessions() as s:
        assert s.scalars(select(LeaveRequest)).one().status == "withdrawn"
        assert s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.member_id == roster["张三"])
        ) == 0


def test_a_second_decider_after_the_first_is_told_what_was_decided(app, card, runtime, roster):
    t = card["template_card"]
    key = t["button_list"][0]["key"]
    client = app.test_client()
    answer(tap(client, "wang", key, t["task_id"]))
    second = answer(tap(client, "chen", t["button_list"][1]["key"], t["task_id"], created=str(int(TS) + 5)))
    assert "已" in second["ReplaceName"]
    with runtime.sessions() as s:
        leave = s.scalars(select(LeaveRequest)).one()
        assert (leave.status, leave.decided_by_id) == ("approved", roster["王组长"])
