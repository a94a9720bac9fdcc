"""When a leader's message could mean more than one request or person, the bot asks by number and
the next message answers — across a timeout, a new command, a restart and a redelivery; names are
found by their sound, and two people of one name are never guessed between."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import app as app_module
from bot.messages import Incoming
from bot.pipeline import EXPIRED
from bot.runtime import build_runtime
from models import Activity, LateEntry, LeaveRequest, LiaisonGroup, Member, OutboxMessage
from tests.conftest import NOW

LATER = NOW + dt.timedelta(minutes=2)


@pytest.fixture
def two_pending(runtime, roster, say) -> dict[str, int]:
    with runtime.sessions.begin() as s:
        group = s.get(Member, roster["王组长"]).group_id
        s.add(
            Activity(
                group_id=group, kind="meeting", title="座谈会", date=dt.date(2026, 12, 2), created_at=NOW
            )
        )
    say("张三", "请假 下周三的座谈会 出差")
    say("李四", "请假 下周三的座谈会 家里有事")
    with runtime.sessions() as s:
        return {r.member.name: r.id for r in s.scalars(select(LeaveRequest))}


def statuses(runtime) -> dict[str, str]:
    with runtime.sessions() as s:
        return {r.member.name: r.status for r in s.scalars(select(LeaveRequest))}


def test_a_bare_approval_with_two_pending_asks_which_and_the_number_decides(say, runtime, two_pending):
    question = say("王组长", "好的，同意")
    assert question.startswith("有2条待审批的请假，请问同意哪一条（回复数字）：\n1. #")
    assert f"2. #{two_pending['李四']} 李四 12月2日（周三） 会议/座谈 座谈会" in question
    assert statuses(runtime) == {"张三": "pending", "李四": "pending"}
    assert (
        say("王组长", "2", now=LATER)
        == f"已同意李四的请假#{two_pending['李四']}（12月2日（周三） 会议/座谈 座谈会）。"
    )
    assert statuses(runtime) == {"张三": "pending", "李四": "approved"}


def test_the_answer_redelivered_decides_once(say, runtime, two_pending):
    say("王组长", "同意")
    first = say("王组长", "1", now=LATER, msg_id="pick-1")
    again = say("王组长", "1", now=LATER, msg_id="pick-1")
    assert first == again and statuses(runtime)["张三"] == "approved"
    with runtime.sessions() as s:
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.key.like("leave:%:approved"))).all()
    assert len(told) == 1


def test_a_number_out_of_range_is_asked_again(say, runtime, two_pending):
    say("王组长", "同意")
    assert say("王组长", "3", now=LATER) == "请回复1到2之间的数字。"
    assert say("王组长", "1", now=LATER).startswith("已同意张三")


def test_after_the_timeout_the_number_is_refused(say, runtime, two_pending):
    say("王组长", "同意")
    minutes = runtime.settings.conversation.timeout_minutes
    assert say("王组长", "1", now=NOW + dt.timedelta(minutes=minutes, seconds=1)) == EXPIRED.format(
        minutes=minutes
    )
    assert set(statuses(runtime).values()) == {"pending"}


def test_a_new_command_drops_the_question(say, runtime, two_pending):
    say("王组长", "同意")
    assert "待审批请假2条" in say("王组长", "待审批", now=LATER)
    assert (
        say("王组长", "1", now=LATER + dt.timedelta(minutes=1)) != f"已同意张三的请假#{two_pending['张三']}"
    )
    assert set(statuses(runtime).values()) == {"pending"}


def test_the_question_survives_a_restart(say, runtime, settings, engine, two_pending):
    say("王组长", "驳回")
    fresh = build_runtime(settings, app_module.ROUTERS, engine=engine, platforms=runtime.platforms)
    answer = fresh.pipeline.handle(
        Incoming("console", None, "王组长", "王组长", "第二个", "restart-1", LATER, False), LATER
    )
    assert answer.reply.text.startswith("已驳回李四")
    assert statuses(runtime) == {"张三": "pending", "李四": "rejected"}


def test_everyone_approved_at_once(say, runtime, two_pending):
    reply = say("王组长", "都同意")
    assert reply == "已同意2条请假：张三（12月2日会议/座谈）、李四（12月2日会议/座谈）。"
    assert statuses(runtime) == {"张三": "approved", "李四": "approved"}


def test_a_name_typed_by_its_sound_finds_the_member(say, runtime, two_pending):
    assert say("王组长", "同意 张山").startswith(f"已同意张三的请假#{two_pending['张三']}")
    assert say("王组长", "驳回 李思 这次必须参加").startswith(f"已驳回李四的请假#{two_pending['李四']}")


def test_two_members_of_one_name_are_asked_about_not_guessed(say, runtime, roster, two_pending):
    with runtime.sessions.begin() as s:
        group = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == "第一联络组"))
        s.add(
            Member(
                name="张三",
                mobile="13800000099",
                group_id=group,
                role="member",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    question = say("王组长", "张三的履职")
    assert question.startswith(
        "有2位「张三」，请问是哪一位（回复数字）：\n1. 张三（第一联络组，手机尾号0001）"
    )
    assert "2. 张三（第一联络组，手机尾号0099）" in question
    assert say("王组长", "2", now=LATER).startswith("张三的履职记录")
    # Only the first 张三 asked for leave: a decision by name needs no question.
    assert say("王组长", "同意 张三", now=LATER).startswith(f"已同意张三的请假#{two_pending['张三']}")


def test_a_stranger_name_is_refused_with_nothing_decided(say, runtime, two_pending):
    assert say("王组长", "同意 刘五") == "本组没有刘五待审批的请假。"
    assert set(statuses(runtime).values()) == {"pending"}


def test_a_refused_command_in_between_drops_the_question_too(say, runtime, two_pending):
    say("王组长", "同意")
    assert "没有活动安排" in say("王组长", "签到", now=LATER)  # refused: nothing today
    assert (
        say("王组长", "1", now=LATER + dt.timedelta(minutes=1)) != f"已同意张三的请假#{two_pending['张三']}"
    )
    assert set(statuses(runtime).values()) == {"pending"}


@pytest.fixture
def second_zhang(runtime, roster) -> int:
    """Another 张三 in the first group (mobile ending 0099): two people of one name."""
    with runtime.sessions.begin() as s:
        group = s.get(Member, roster["张三"]).group_id
        other = Member(
            name="张三", mobile="13800000099", group_id=group, role="member", created_at=NOW, updated_at=NOW
        )
        s.add(other)
        s.flush()
        return other.id


def test_approving_a_name_two_members_share_asks_which_and_tells_them_apart(
    say, runtime, roster, two_pending, second_zhang
):
    with runtime.sessions.begin() as s:
        meeting = s.scalar(select(Activity.id))
        s.add(LeaveRequest(activity_id=meeting, member_id=second_zhang, reason="住院", requested_at=NOW))
    question = say("王组长", "同意 张三")
    assert question.startswith("有2条待审批的请假，请问同意哪一条（回复数字）：")
    assert f"1. #{two_pending['张三']} 张三（第一联络组，手机尾号0001） 12月2日（周三）" in question
    assert "2. #" in question and "张三（第一联络组，手机尾号0099）" in question
    assert say("王组长", "2", now=LATER).startswith("已同意张三的请假#")
    with runtime.sessions() as s:
        decided = {r.member_id: r.status for r in s.scalars(select(LeaveRequest))}
    assert (decided[roster["张三"]], decided[second_zhang]) == ("pending", "approved")


def test_stopping_a_name_two_members_share_asks_which(say, runtime, roster, second_zhang):
    question = say("陈主任", "停用 张三")
    assert question.startswith("有2位「张三」，请问是哪一位（回复数字）：")
    assert say("陈主任", "2", now=LATER) == "已停用张三，其记录保留，不再计入任务和提醒。"
    with runtime.sessions() as s:
        assert (s.get(Member, roster["张三"]).active, s.get(Member, second_zhang).active) == (True, False)


def test_a_late_entry_for_a_name_two_members_share_asks_which(say, runtime, roster, second_zhang):
    with runtime.sessions.begin() as s:
        group = s.get(Member, roster["张三"]).group_id
        s.add(
            Activity(
                group_id=group, kind="inspection", title="视察", date=dt.date(2026, 11, 5), created_at=NOW
            )
        )
    # The leader's own 补报 for 张三 asks which 张三 first.
    assert say("王组长", "补报 张三 11月5日 签到").startswith("有2位「张三」，请问是哪一位（回复数字）：")
    with runtime.sessions.begin() as s:
        activity = s.scalar(select(Activity.id))
        for member_id in (roster["张三"], second_zhang):
            s.add(
                LateEntry(
                    activity_id=activity, member_id=member_id, requested_by_id=member_id, requested_at=NOW
                )
            )
    question = say("王组长", "确认补报 张三", now=LATER)
    assert question.startswith("有2条待确认的补报，请问确认哪一条（回复数字）：")
    assert "张三（第一联络组，手机尾号0001）" in question and "张三（第一联络组，手机尾号0099）" in question
    answer = say("王组长", "2", now=LATER + dt.timedelta(minutes=1))
    assert answer.startswith("已确认补报#") and "计为出席" in answer
    with runtime.sessions() as s:
        assert {e.member_id: e.status for e in s.scalars(select(LateEntry))} == {
            roster["张三"]: "pending",
            second_zhang: "confirmed",
        }
