"""Cards with buttons (issue 19) through the real app at the WeCom smart-bot endpoint, played as
WeCom plays them: a member's 请假 in the group answered with a button_interaction card, a tap
(template_card_event, doc https://developer.work.weixin.qq.com/document/path/101027) answered with
update_template_card (doc .../path/101031), every request signed and encrypted, every answer
decrypted. Each test reads what the group sees and what the database keeps."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from app import create_app
from bot.config import DingtalkSettings
from bot.delivery import Delivery
from bot.platforms.dingtalk import DingtalkPushClient
from bot.platforms.wecom.crypto import CallbackCrypto
from models import (
    Activity,
    Card,
    CheckIn,
    InboundMessage,
    LateEntry,
    LeaveRequest,
    Member,
    OutboxMessage,
    Submission,
)
from tests.conftest import NOW, TZ
from tests.fakes import wecom_client as wc

_ids = itertools.count(1)


@pytest.fixture
def app(write_config, config_dict, roster):
    return create_app(
        write_config(wecom=wc.SMART_BOT, scheduler={**config_dict["scheduler"], "enabled": False})
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def activity(runtime, roster) -> Activity:
    """第一联络组's 座谈会 three days from now (the app runs on the real clock)."""
    day = dt.datetime.now(TZ).date() + dt.timedelta(days=3)
    with runtime.sessions.begin() as s:
        group_id = s.get(Member, roster["王组长"]).group_id
        a = Activity(
            group_id=group_id,
            kind="meeting",
            title="座谈会",
            date=day,
            time=dt.time(9, 0),
            announced_by_id=roster["王组长"],
            created_at=dt.datetime.now(TZ),
        )
        s.add(a)
        s.flush()
        s.expunge(a)
    return a


def decrypted(resp) -> dict | None:
    assert resp.status_code == 200, resp.data
    if not resp.data:
        return None
    env = json.loads(resp.data)
    return json.loads(CallbackCrypto(wc.TOKEN, wc.AES_KEY, "").decrypt(env["encrypt"]))


def say(client, text: str, userid: str = "zhangsan", chat: str | None = "chat-g1") -> dict | None:
    path, body = wc.signed(wc.payload(text, f"M{next(_ids)}", userid, chat))
    return decrypted(client.post(path, data=body, content_type="application/json"))


def tap_payload(task_id: str, key: str, userid: str, chat: str = "chat-g1") -> dict:
    """A button_interaction tap as doc 101027 shows it (按钮交互模版卡片的事件)."""
    return {
        "msgid": f"T{next(_ids)}",
        "create_time": 1700000000,
        "aibotid": "AIBOT",
        "from": {"userid": userid},
        "chatid": chat,
        "chattype": "group",
        "response_url": "http://127.0.0.1:9/unused",
        "msgtype": "event",
        "event": {
            "eventtype": "template_card_event",
            "template_card_event": {"card_type": "button_interaction", "event_key": key, "task_id": task_id},
        },
    }


def tap(client, task_id: str, key: str, userid: str) -> dict | None:
    path, body = wc.signed(tap_payload(task_id, key, userid))
    return decrypted(client.post(path, data=body, content_type="application/json"))


def ask_leave(client, activity) -> tuple[dict, int]:
    """张三 asks leave in the group; (the card answered, the request's id)."""
    answer = say(client, f"请假 {activity.date.month}月{activity.date.day}日 单位开会")
    assert answer["msgtype"] == "template_card", answer
    card = answer["template_card"]
    number = int(card["main_title"]["title"].split("#")[1].split(" ")[0])
    return card, number


def leave_row(runtime, number: int) -> LeaveRequest:
    with runtime.sessions() as s:
        row = s.get(LeaveRequest, number)
        s.expunge(row)
        return row


def card_row(runtime, task_id: str) -> Card:
    with runtime.sessions() as s:
        row = s.scalars(select(Card).where(Card.task_id == task_id)).one()
        s.expunge(row)
        return row


def decided_notices(runtime, number: int) -> list[str]:
    with runtime.sessions() as s:
        return list(
            s.scalars(select(OutboxMessage.key).where(OutboxMessage.key.like(f"leave:{number}:%ed"))).all()
        )


def test_a_leave_asked_in_the_group_is_answered_with_a_card_with_agree_and_reject(client, runtime, activity):
    card, number = ask_leave(client, activity)
    assert card["card_type"] == "button_interaction"
    assert [(b["text"], b["key"]) for b in card["button_list"]] == [("同意", "approve"), ("驳回", "reject")]
    assert card["main_title"]["title"] == f"请假#{number} · 张三"
    assert "座谈会" in card["main_title"]["desc"]
    assert card["horizontal_content_list"] == [{"keyname": "事由", "value": "单位开会"}]
    assert card["sub_title_text"].startswith("待组长审批")
    # task_id: ≤128 bytes of [A-Za-z0-9_-@], unique per bot (doc 101032), kept with the request.
    task_id = card["task_id"]
    assert len(task_id.encode()) <= 128 and all(c.isalnum() or c in "_-@" for c in task_id)
    row = card_row(runtime, task_id)
    assert (row.kind, row.target_id, row.state) == ("leave", number, "open")
    assert leave_row(runtime, number).status == "pending"


def test_the_leaders_tap_approves_and_everyone_sees_the_card_decided_without_buttons(
    client, runtime, activity
):
    card, number = ask_leave(client, activity)
    answer = tap(client, card["task_id"], "approve", "wang")
    assert answer["response_type"] == "update_template_card"
    assert "userids" not in answer  # everyone the card reached
    updated = answer["template_card"]
    assert updated["card_type"] == "text_notice" and "button_list" not in updated
    assert updated["task_id"] == card["task_id"]  # doc 101031: the tapped card's own task id
    leave = leave_row(runtime, number)
    assert updated["sub_title_text"] == f"已同意 · 王组长 {leave.decided_at.astimezone(TZ):%H:%M}"
    # The typed 同意 #3's record: who, when, from which message; the member told once.
    assert (leave.status, leave.decided_by_id) == ("approved", _id(runtime, "王组长"))
    with runtime.sessions() as s:
        inbound = s.get(InboundMessage, leave.decision_message_id)
        assert (inbound.sender_id, inbound.intent) == ("wang", "card_tap")
    assert decided_notices(runtime, number) == [f"leave:{number}:approved"]
    row = card_row(runtime, card["task_id"])
    assert (row.state, row.decision, row.decided_by_id) == ("decided", "approved", _id(runtime, "王组长"))


def test_reject_by_tap_rejects(client, runtime, activity):
    card, number = ask_leave(client, activity)
    answer = tap(client, card["task_id"], "reject", "wang")
    assert answer["template_card"]["sub_title_text"].startswith("已驳回 · 王组长 ")
    assert leave_row(runtime, number).status == "rejected"
    assert decided_notices(runtime, number) == [f"leave:{number}:rejected"]


def test_a_double_tap_decides_once_and_a_later_reject_changes_nothing(client, runtime, activity):
    card, number = ask_leave(client, activity)
    first = tap(client, card["task_id"], "approve", "wang")
    decided_at = leave_row(runtime, number).decided_at
    second = tap(client, card["task_id"], "approve", "wang")
    third = tap(client, card["task_id"], "reject", "wang")
    for answer in (second, third):
        assert answer["template_card"] == first["template_card"]  # what happened, said again
        assert "userids" not in answer
    leave = leave_row(runtime, number)
    assert (leave.status, leave.decided_at) == ("approved", decided_at)
    assert decided_notices(runtime, number) == [f"leave:{number}:approved"]


def test_two_deciders_tapping_at_once_decide_once_and_both_see_the_one_decision(app, runtime, activity):
    card, number = ask_leave(app.test_client(), activity)
    barrier = threading.Barrier(2)
    answers: dict[str, dict] = {}

    def tapper(userid: str, key: str) -> None:
        client = app.test_client()
        path, body = wc.signed(tap_payload(card["task_id"], key, userid))
        barrier.wait()
        answers[userid] = decrypted(client.post(path, data=body, content_type="application/json"))

    threads = [
        threading.Thread(target=tapper, args=("wang", "approve")),
        threading.Thread(target=tapper, args=("chen", "reject")),  # the office's admin
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    leave = leave_row(runtime, number)
    assert leave.status in ("approved", "rejected")
    winner = "王组长" if leave.status == "approved" else "陈主任"
    line = f"{'已同意' if leave.status == 'approved' else '已驳回'} · {winner} "
    assert [answers[u]["template_card"]["sub_title_text"].startswith(line) for u in ("wang", "chen")] == [
        True,
        True,
    ]
    assert len(decided_notices(runtime, number)) == 1
    assert card_row(runtime, card["task_id"]).decided_by_id == leave.decided_by_id


def test_a_members_tap_is_told_to_them_alone_and_decides_nothing(client, runtime, activity):
    card, number = ask_leave(client, activity)
    answer = tap(client, card["task_id"], "approve", "lisi")
    assert answer["response_type"] == "update_template_card"
    assert answer["userids"] == ["lisi"]  # replaced for the tapper alone (doc 101031 userids)
    assert answer["template_card"]["sub_title_text"] == "仅组长可审批"
    assert answer["template_card"]["card_type"] == "button_interaction"  # the leader still can
    assert leave_row(runtime, number).status == "pending"
    assert card_row(runtime, card["task_id"]).state == "open"
    # The requester is a member too; a leader's tap still works afterwards.
    assert tap(client, card["task_id"], "approve", "zhangsan")["userids"] == ["zhangsan"]
    assert tap(client, card["task_id"], "approve", "wang")["template_card"]["sub_title_text"].startswith(
        "已同意"
    )


def test_a_leader_of_another_group_may_not_decide(client, runtime, activity):
    card, number = ask_leave(client, activity)
    answer = tap(client, card["task_id"], "approve", "sun")
    assert answer["userids"] == ["sun"]
    assert leave_row(runtime, number).status == "pending"


def test_a_tap_after_the_request_was_withdrawn_says_so_and_changes_nothing(client, runtime, activity):
    card, number = ask_leave(client, activity)
    assert say(client, "撤回请假")["stream"]["content"].startswith(f"已撤回请假#{number}")
    answer = tap(client, card["task_id"], "approve", "wang")
    assert answer["template_card"]["sub_title_text"] == "已撤回"
    assert "button_list" not in answer["template_card"]
    leave = leave_row(runtime, number)
    assert (leave.status, leave.decided_by_id) == ("withdrawn", None)
    assert decided_notices(runtime, number) == []


def test_a_tap_after_the_typed_decision_shows_it(client, runtime, activity):
    card, number = ask_leave(client, activity)
    say(client, f"同意 #{number}", userid="wang")
    answer = tap(client, card["task_id"], "reject", "wang")
    assert answer["template_card"]["sub_title_text"].startswith("已同意 · 王组长 ")
    assert leave_row(runtime, number).status == "approved"


def test_an_expired_card_says_so_and_changes_nothing(client, runtime, activity):
    card, number = ask_leave(client, activity)
    with runtime.sessions.begin() as s:
        row = s.scalars(select(Card).where(Card.task_id == card["task_id"])).one()
        row.expires_at = dt.datetime.now(TZ) - dt.timedelta(minutes=1)
    answer = tap(client, card["task_id"], "approve", "wang")
    assert answer["template_card"]["sub_title_text"].startswith("已过期")
    assert leave_row(runtime, number).status == "pending"


def test_a_database_failure_during_the_tap_leaves_the_card_as_it_was_and_a_second_tap_works(
    client, runtime, activity, commit_fails_once
):
    card, number = ask_leave(client, activity)
    failures = commit_fails_once()
    answer = tap(client, card["task_id"], "approve", "wang")
    assert failures == [1]
    assert answer["userids"] == ["wang"] and "请再点一次" in answer["template_card"]["sub_title_text"]
    assert leave_row(runtime, number).status == "pending"
    assert card_row(runtime, card["task_id"]).state == "open"
    assert decided_notices(runtime, number) == []

    again = tap(client, card["task_id"], "approve", "wang")
    assert again["template_card"]["sub_title_text"].startswith("已同意 · 王组长 ")
    assert leave_row(runtime, number).status == "approved"


def test_a_tap_on_an_unknown_card_is_answered_to_the_tapper(client, runtime, activity):
    answer = tap(client, "leave-999-deadbeef", "approve", "wang")
    assert answer["userids"] == ["wang"] and "失效" in answer["template_card"]["sub_title_text"]


def test_one_to_one_keeps_the_text_and_offers_no_card(client, runtime, activity):
    answer = say(client, f"请假 {activity.date.month}月{activity.date.day}日 单位开会", chat=None)
    assert answer["msgtype"] == "stream" and "等待组长审批" in answer["stream"]["content"]
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Card)) == 0


def _id(runtime, name: str) -> int:
    with runtime.sessions() as s:
        return s.scalars(select(Member.id).where(Member.name == name)).one()


# --------------------------------------------------------------------------- 补报


@pytest.fixture
def past_activity(runtime, roster) -> Activity:
    """第一联络组's 座谈会 two days ago: one a member may report attending (补报)."""
    day = dt.datetime.now(TZ).date() - dt.timedelta(days=2)
    with runtime.sessions.begin() as s:
        a = Activity(
            group_id=s.get(Member, roster["王组长"]).group_id,
            kind="meeting",
            title="座谈会",
            date=day,
            time=dt.time(9, 0),
            announced_by_id=roster["王组长"],
            created_at=dt.datetime.now(TZ) - dt.timedelta(days=5),
        )
        s.add(a)
        s.flush()
        s.expunge(a)
    return a


def ask_late(client, activity) -> tuple[dict, int]:
    answer = say(client, f"补报 {activity.date.month}月{activity.date.day}日 座谈会 签到")
    assert answer["msgtype"] == "template_card", answer
    card = answer["template_card"]
    return card, int(card["main_title"]["title"].split("#")[1].split(" ")[0])


def late_row(runtime, number: int) -> LateEntry:
    with runtime.sessions() as s:
        row = s.get(LateEntry, number)
        s.expunge(row)
        return row


def test_a_late_entry_in_the_group_gets_confirm_and_reject_and_the_leaders_tap_confirms_it_once(
    client, runtime, past_activity
):
    card, number = ask_late(client, past_activity)
    assert [(b["text"], b["key"]) for b in card["button_list"]] == [("确认", "approve"), ("驳回", "reject")]
    assert card["main_title"]["title"] == f"补报#{number} · 张三"
    assert card["sub_title_text"].startswith("待组长确认")
    assert tap(client, card["task_id"], "approve", "lisi")["userids"] == ["lisi"]  # a member: no
    assert late_row(runtime, number).status == "pending"

    first = tap(client, card["task_id"], "approve", "wang")
    entry = late_row(runtime, number)
    assert (
        first["template_card"]["sub_title_text"] == f"已确认 · 王组长 {entry.decided_at.astimezone(TZ):%H:%M}"
    )
    assert "button_list" not in first["template_card"]
    assert entry.status == "confirmed" and entry.checkin_id is not None  # counted as attended
    again = tap(client, card["task_id"], "reject", "wang")
    assert again["template_card"] == first["template_card"]
    assert late_row(runtime, number).status == "confirmed"
    with runtime.sessions() as s:
        keys = s.scalars(select(OutboxMessage.key).where(OutboxMessage.key.like(f"late:{number}:%ed"))).all()
        assert list(keys) == [f"late:{number}:confirmed"]
        n_checkins = s.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.activity_id == past_activity.id)
        )
        assert n_checkins == 1


def test_a_late_entry_rejected_by_tap_counts_nothing(client, runtime, past_activity):
    card, number = ask_late(client, past_activity)
    answer = tap(client, card["task_id"], "reject", "wang")
    assert answer["template_card"]["sub_title_text"].startswith("已驳回 · 王组长 ")
    entry = late_row(runtime, number)
    assert (entry.status, entry.checkin_id) == ("rejected", None)


# --------------------------------------------------------------------------- DingTalk: links, one-to-one


@pytest.fixture
def ding(runtime):
    from tests.fakes.dingtalk_server import FakeDingtalk

    with FakeDingtalk(robots={}, sessions=set(), clock=lambda: 1_795_000_000.0) as server:
        settings = DingtalkSettings(
            app_key="ding-app-key",
            app_secret="ding-app-secret",
            robot_code="ding-robot",
            api_base=server.url,
            oapi_base=server.url,
        )
        yield server, DingtalkPushClient(settings, clock=lambda: 1_795_000_000.0, timeout=5)


def test_on_dingtalk_the_leader_gets_links_that_send_agree_or_reject_as_themselves(
    runtime, roster, say, ding
):
    fake, push = ding
    with runtime.sessions.begin() as s:
        s.add(
            Activity(
                group_id=s.get(Member, roster["王组长"]).group_id,
                kind="meeting",
                title="座谈会",
                date=NOW.date() + dt.timedelta(days=3),
                announced_by_id=roster["王组长"],
                created_at=NOW,
            )
        )
    asked = say("张三", "请假 11月26日 单位开会", platform="dingtalk", sender_id="dt_zhangsan")
    number = int(asked.split("#")[1].split("：")[0])
    with runtime.sessions() as s:
        row = s.scalars(
            select(OutboxMessage).where(OutboxMessage.key == f"leave:{number}:requested:{roster['王组长']}")
        ).one()
        actions = tuple(tuple(a) for a in row.actions)
    assert actions == (("同意", f"同意 #{number}"), ("驳回", f"驳回 #{number}"))

    assert push.send(Delivery("member", row.text, {"userid": "dt_wang"}, actions=actions)).status == "sent"
    [sent] = fake.to("/v1.0/robot/oToMessages/batchSend")
    assert sent.json["msgKey"] == "sampleMarkdown"  # dtmd links open in markdown messages only
    text = json.loads(sent.json["msgParam"])["text"]
    links = dict(re.findall(r"\[(.+?)\]\(dtmd://dingtalkclient/sendMessage\?content=([^)]+)\)", text))
    assert {label: unquote(words) for label, words in links.items()} == {
        "同意": f"同意 #{number}",
        "驳回": f"驳回 #{number}",
    }
    # The link's words, sent by the leader one-to-one, are the typed decision.
    answer = say("王组长", unquote(links["同意"]), platform="dingtalk", sender_id="dt_wang")
    assert answer.startswith("已同意张三的请假#")
    with runtime.sessions() as s:
        assert s.get(LeaveRequest, number).status == "approved"


def test_a_group_message_with_actions_keeps_its_text(ding):
    fake, push = ding
    delivery = Delivery(
        "group", "请假#3 待审批", {"conversation_id": "cid=="}, actions=(("同意", "同意 #3"),)
    )
    assert push.send(delivery).status == "sent"
    [sent] = fake.to("/v1.0/robot/groupMessages/send")
    assert sent.json["msgKey"] == "sampleText"


# --------------------------------------------------------------------------- 驳回: the reason, asked


def test_a_reject_tap_asks_the_reason_and_the_leaders_next_words_are_kept_and_told(client, runtime, activity):
    card, number = ask_leave(client, activity)
    answer = tap(client, card["task_id"], "reject", "wang")
    fields = answer["template_card"]["horizontal_content_list"]
    assert {"keyname": "驳回理由", "value": "组长可@我回复驳回理由（可不填）"} in fields
    assert leave_row(runtime, number).status == "rejected"  # decided at the tap, reason or not

    said = say(client, "这次座谈会很重要，请调整单位的安排", userid="wang")
    assert (
        said["stream"]["content"]
        == f"已记下请假#{number}（{card['main_title']['desc']}）的驳回理由：这次座谈会很重要，请调整单位的安排"
    )
    assert leave_row(runtime, number).decision_reason == "这次座谈会很重要，请调整单位的安排"
    with runtime.sessions() as s:
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.key == f"leave:{number}:reason")).one()
        assert told.member_id == _id(runtime, "张三") and told.text.endswith(
            "这次座谈会很重要，请调整单位的安排"
        )


def test_without_a_reason_the_rejection_stands_and_the_next_command_is_just_a_command(
    client, runtime, activity
):
    card, number = ask_leave(client, activity)
    tap(client, card["task_id"], "reject", "wang")
    said = say(client, "本组情况", userid="wang")
    assert "已记下" not in said["stream"]["content"]
    leave = leave_row(runtime, number)
    assert (leave.status, leave.decision_reason) == ("rejected", None)
    # The question is gone: later words are not taken as a reason.
    say(client, "这个理由来得太晚了", userid="wang")
    assert leave_row(runtime, number).decision_reason is None


def test_an_approve_tap_asks_nothing(client, runtime, activity):
    card, number = ask_leave(client, activity)
    tap(client, card["task_id"], "approve", "wang")
    say(client, "这句话不是理由", userid="wang")
    with runtime.sessions() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.key.like("%:reason"))
            )
            == 0
        )


def test_a_typed_decision_and_a_tap_at_once_decide_once(app, runtime, activity):
    card, number = ask_leave(app.test_client(), activity)
    barrier = threading.Barrier(2)
    answers: dict[str, dict] = {}
    typed = wc.signed(wc.payload(f"同意 #{number}", f"M{next(_ids)}", "wang"))
    tapped = wc.signed(tap_payload(card["task_id"], "reject", "chen"))

    def send(who: str, request: tuple[str, bytes]) -> None:
        client = app.test_client()
        barrier.wait()
        answers[who] = decrypted(client.post(request[0], data=request[1], content_type="application/json"))

    threads = [
        threading.Thread(target=send, args=("wang", typed)),
        threading.Thread(target=send, args=("chen", tapped)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert set(answers) == {"wang", "chen"}
    leave = leave_row(runtime, number)
    assert leave.status in ("approved", "rejected")
    assert len(decided_notices(runtime, number)) == 1
    assert leave.decided_by_id == _id(runtime, "王组长" if leave.status == "approved" else "陈主任")


def test_a_tap_after_a_typed_rejection_with_a_reason_shows_the_reason(client, runtime, activity):
    card, number = ask_leave(client, activity)
    say(client, f"驳回 #{number} 当天要统计出勤", userid="wang")
    answer = tap(client, card["task_id"], "approve", "wang")
    assert {"keyname": "驳回理由", "value": "当天要统计出勤"} in answer["template_card"][
        "horizontal_content_list"
    ]
    assert leave_row(runtime, number).status == "rejected"


# -- 这是一篇社情民意吗？ as a card: a tap says the kind for the one who sent the message ------------------

NOTE_WITHOUT_KEYWORD = "我们村到镇上的公交一天只有两班，老人看病很不方便，建议增加班次或者开通预约公交。"


def ask_kind(client) -> dict:
    answer = say(client, NOTE_WITHOUT_KEYWORD)
    assert answer["msgtype"] == "template_card", answer
    return answer["template_card"]


def notes(runtime) -> list[Submission]:
    with runtime.sessions() as s:
        rows = list(s.scalars(select(Submission)))
        s.expunge_all()
        return rows


def test_a_note_without_its_keyword_is_asked_about_with_a_button_per_kind(client, runtime):
    card = ask_kind(client)
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "这是一篇社情民意吗？"
    assert [b["key"] for b in card["button_list"]] == ["opinion", "suggestion", "report", "project", "proposal", "no"]
    assert card["task_id"].startswith("say-") and notes(runtime) == []


def test_the_senders_tap_records_the_note_of_that_kind_and_the_card_says_so(client, runtime):
    card = ask_kind(client)
    answer = tap(client, card["task_id"], "suggestion", "zhangsan")
    assert answer["response_type"] == "update_template_card" and "userids" not in answer
    shown = answer["template_card"]
    assert shown["card_type"] == "text_notice" and "意见建议" in shown["sub_title_text"]
    [note] = notes(runtime)
    assert (note.kind, note.content) == ("suggestion", NOTE_WITHOUT_KEYWORD)
    again = tap(client, card["task_id"], "opinion", "zhangsan")  # the question is answered already
    assert again["userids"] == ["zhangsan"] and len(notes(runtime)) == 1


def test_someone_elses_tap_records_nothing_and_is_told_to_them_alone(client, runtime):
    card = ask_kind(client)
    answer = tap(client, card["task_id"], "opinion", "lisi")
    assert answer["userids"] == ["lisi"] and "不是问您的" in answer["template_card"]["sub_title_text"]
    assert notes(runtime) == []
    recorded = tap(client, card["task_id"], "opinion", "zhangsan")  # the question is still open
    assert "社情民意" in recorded["template_card"]["sub_title_text"]
    assert [n.kind for n in notes(runtime)] == ["opinion"]


def test_not_a_note_records_nothing(client, runtime):
    card = ask_kind(client)
    answer = tap(client, card["task_id"], "no", "zhangsan")
    assert "没有记录" in answer["template_card"]["sub_title_text"]
    assert notes(runtime) == []


def test_one_to_one_the_question_stays_text(client, runtime):
    answer = say(client, NOTE_WITHOUT_KEYWORD, chat=None)
    assert answer["msgtype"] == "stream" and "这是一篇社情民意吗" in answer["stream"]["content"]
