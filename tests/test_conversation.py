"""Short conversations through the pipeline: a message the bot cannot place is never met with silence,
and a note sent without its keyword is asked about and recorded when the member answers — across a
timeout, a new command in between, a restart and a redelivery."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

import app as app_module
from bot.pipeline import DECLINED, EXPIRED, IS_IT_A_NOTE, NOT_UNDERSTOOD
from bot.runtime import build_runtime
from models import InboundMessage, PendingQuestion, Submission
from tests.conftest import NOW

NOTE = "城区老旧小区加装电梯推进很慢\n很多老人住六楼，上下楼非常困难，希望加快审批，简化居民签字流程。"
IN_GROUP = {"platform": "wecom_bot", "chat_id": "chat-g1", "is_group": True}


def group_say(say, name: str, text: str, now: dt.datetime = NOW, **fields) -> str | None:
    sender = {"张三": "zhangsan", "李四": "lisi", "王组长": "wang"}[name]
    return say(name, text, now, sender_id=sender, **{**IN_GROUP, **fields})


def submissions(runtime) -> list[tuple[str, str, str]]:
    with runtime.sessions() as s:
        return [(r.kind, r.title, r.content) for r in s.scalars(select(Submission).order_by(Submission.id))]


def open_questions(runtime) -> int:
    with runtime.sessions() as s:
        return s.scalar(
            select(func.count()).select_from(PendingQuestion).where(PendingQuestion.state == "open")
        )


def test_a_note_without_its_keyword_is_asked_about_and_recorded_when_the_member_says_yes(runtime, say):
    assert group_say(say, "张三", NOTE) == IS_IT_A_NOTE
    assert submissions(runtime) == [] and open_questions(runtime) == 1
    reply = group_say(say, "张三", "是", NOW + dt.timedelta(minutes=2))
    assert reply.startswith("已收到社情民意《城区老旧小区加装电梯推进很慢》")
    assert submissions(runtime) == [
        (
            "opinion",
            "城区老旧小区加装电梯推进很慢",
            "很多老人住六楼，上下楼非常困难，希望加快审批，简化居民签字流程。",
        )
    ]
    assert open_questions(runtime) == 0


@pytest.mark.parametrize(
    "answer, kind",
    [("建议", "suggestion"), ("调研报告", "report"), ("为民办实事", "project"), ("提案", "proposal")],
)
def test_the_member_may_answer_with_the_kind_instead(runtime, say, answer, kind):
    group_say(say, "张三", NOTE)
    group_say(say, "张三", answer, NOW + dt.timedelta(minutes=1))
    assert [k for k, _t, _c in submissions(runtime)] == [kind]


def test_no_means_nothing_is_recorded(runtime, say):
    group_say(say, "张三", NOTE)
    assert group_say(say, "张三", "不是", NOW + dt.timedelta(minutes=1)) == DECLINED
    assert submissions(runtime) == [] and open_questions(runtime) == 0


def test_a_new_command_in_between_drops_the_question(runtime, say):
    group_say(say, "张三", NOTE)
    assert "履职记录" in group_say(say, "张三", "我的履职", NOW + dt.timedelta(minutes=1))
    assert open_questions(runtime) == 0
    # "是" now answers nothing: in a group it is plain chatter.
    assert group_say(say, "张三", "是", NOW + dt.timedelta(minutes=2)) is None
    assert submissions(runtime) == []


def test_an_answer_after_the_timeout_is_told_so_and_records_nothing(runtime, say):
    group_say(say, "张三", NOTE)
    late = NOW + dt.timedelta(minutes=runtime.settings.conversation.timeout_minutes + 1)
    assert group_say(say, "张三", "是", late) == EXPIRED.format(
        minutes=runtime.settings.conversation.timeout_minutes
    )
    assert submissions(runtime) == [] and open_questions(runtime) == 0


def test_the_question_survives_a_restart(runtime, say, settings, engine, roster):
    group_say(say, "张三", NOTE)
    fresh = build_runtime(settings, app_module.ROUTERS, engine=engine, platforms=runtime.platforms)
    from bot.messages import Incoming

    incoming = Incoming("wecom_bot", "chat-g1", "zhangsan", None, "是", "after-restart", NOW, True)
    outcome = fresh.pipeline.handle(incoming, NOW + dt.timedelta(minutes=3))
    assert outcome.reply.text.startswith("已收到社情民意")
    assert [k for k, _t, _c in submissions(runtime)] == ["opinion"]


def test_a_redelivered_answer_records_the_note_once(runtime, say):
    group_say(say, "张三", NOTE)
    later = NOW + dt.timedelta(minutes=1)
    first = group_say(say, "张三", "是", later, msg_id="answer-1")
    again = group_say(say, "张三", "是", later, msg_id="answer-1")
    assert first == again and first.startswith("已收到社情民意")
    assert len(submissions(runtime)) == 1


def test_someone_else_saying_yes_does_not_answer_for_the_member(runtime, say):
    group_say(say, "张三", NOTE)
    assert group_say(say, "李四", "是", NOW + dt.timedelta(minutes=1)) is None
    assert submissions(runtime) == [] and open_questions(runtime) == 1


def test_the_question_belongs_to_its_chat(runtime, say):
    group_say(say, "张三", NOTE)
    # The same member, one-to-one with the bot: that chat has no question open.
    assert (
        say("张三", "是", NOW + dt.timedelta(minutes=1), sender_id="zhangsan", platform="wecom_bot")
        == NOT_UNDERSTOOD
    )
    assert submissions(runtime) == []


@pytest.mark.parametrize(
    "text",
    [
        "这个东西怎么弄啊，我不太会",
        "明天几点集合？",
        "我们村的路什么时候能修好",
        "王组长说的那个事情我知道了，回头再说",
        "麻烦问一下会议室在几楼",
    ],
)
def test_a_group_message_that_is_not_chatter_always_gets_an_answer(runtime, say, text):
    reply = group_say(say, "张三", text)
    assert reply, f"silence for {text!r}"
    with runtime.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
    assert row.outcome != "ignored" and row.reply_text == reply


@pytest.mark.parametrize(
    "text", ["收到", "好的👍", "谢谢组长", "👍👍", "收到，准时参加", "好的好的", "辛苦了"]
)
def test_plain_chatter_in_a_group_stays_unanswered(runtime, say, text):
    assert group_say(say, "张三", text) is None


@pytest.mark.parametrize(
    "text",
    [
        "咱村的路灯坏了半个月了，晚上老人出门很危险，希望尽快修好，最好能定期巡查。",
        "我们小区门口的路太窄了，上下学时间很危险，建议设置临时停车点",
        "镇里的垃圾站一直没人清理，臭得很，群众意见很大",
        # shorter, but plainly a problem raised or a remedy asked for (2026-12-06)
        "我想反映一下城区路灯不亮的问题",
        "城区路灯不亮，建议尽快修",
        "建议增加公交线路",
        "群众反映医院停车难",
    ],
)
def test_a_short_note_reporting_a_problem_and_asking_for_something_is_asked_about(runtime, say, text):
    assert group_say(say, "张三", text) == IS_IT_A_NOTE
    reply = group_say(say, "张三", "是", NOW + dt.timedelta(minutes=1))
    assert reply.startswith("已收到社情民意")
    assert [kind for kind, _, _ in submissions(runtime)] == ["opinion"]


def test_a_short_question_is_not_taken_for_a_note(runtime, say):
    assert group_say(say, "张三", "请问下周的视察几点集合？我想提前安排一下工作") == NOT_UNDERSTOOD
    assert group_say(say, "王组长", "建议大家准时参加") == NOT_UNDERSTOOD  # said to the group, no note
    assert open_questions(runtime) == 0


def test_a_note_announced_is_asked_for_and_the_next_message_is_its_text(runtime, say):
    assert "请发来社情民意的内容" in group_say(say, "张三", "我有个情况想反映一下")
    reply = group_say(say, "张三", "镇里的垃圾站一直没人清理，群众意见很大", NOW + dt.timedelta(minutes=1))
    assert reply.startswith("已收到社情民意《镇里的垃圾站一直没人清理》")
