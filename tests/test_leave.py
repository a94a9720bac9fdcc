"""请假: a member asks, the group's leader is told once, and approves or rejects; others are refused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from bot.messages import Command
from models import Activity, LeaveRequest, Member, OutboxMessage
from tests.conftest import NOW

WED = dt.date(2026, 12, 2)  # 下周三


def _activity(
    runtime, roster, *, leader="王组长", day=WED, time=dt.time(14, 30), kind="meeting", title="座谈会"
):
    with runtime.sessions.begin() as s:
        lead = s.get(Member, roster[leader])
        a = Activity(group_id=lead.group_id, kind=kind, title=title, date=day, time=time, created_at=NOW)
        s.add(a)
        s.flush()
        return a.id


def _leaves(runtime) -> list[LeaveRequest]:
    with runtime.sessions() as s:
        return list(s.scalars(select(LeaveRequest).order_by(LeaveRequest.id)))


def _outbox(runtime) -> list[OutboxMessage]:
    with runtime.sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _counts(runtime) -> tuple[int, int]:
    with runtime.sessions() as s:
        return s.scalar(select(func.count(LeaveRequest.id))), s.scalar(select(func.count(OutboxMessage.id)))


def test_leave_for_next_wednesday_is_pending_and_the_leader_is_told_once(say, runtime, roster):
    aid = _activity(runtime, roster)
    reply = say("张三", "我请个假，下周三的座谈会参加不了，单位开会", msg_id="x")
    again = say("张三", "我请个假，下周三的座谈会参加不了，单位开会", msg_id="x")
    assert again == reply
    (leave,) = _leaves(runtime)
    assert (
        reply
        == f"已提交请假#{leave.id}：12月2日（周三） 14:30 会议/座谈 座谈会，事由：单位开会，等待组长审批。"
    )
    assert (leave.activity_id, leave.member_id, leave.status, leave.reason) == (
        aid,
        roster["张三"],
        "pending",
        "单位开会",
    )
    assert leave.requested_at == NOW and leave.source_message_id is not None
    (notice,) = _outbox(runtime)
    assert notice.member_id == roster["王组长"] and notice.target_kind == "member"
    assert f"同意 #{leave.id}" in notice.text and "张三" in notice.text


def test_the_senders_own_name_is_not_the_reason_and_the_day_is_the_activitys(say, runtime, roster):
    aid = _activity(runtime, roster)  # 12月2日（周三）
    _activity(runtime, roster, day=dt.date(2026, 11, 25), kind="inspection", title="视察")
    assert say("李四", "12月2日座谈会 李四 请假 陪老人看病").endswith("事由：陪老人看病，等待组长审批。")
    # Two days: the leave is for the one the activity is named after, the other is the reason's.
    assert say("赵六", "我后天要去省里学习，12月2日的座谈会来不了").endswith("事由：后天要去省里学习，等待组长审批。")
    assert [(x.activity_id, x.member_id, x.reason) for x in _leaves(runtime)] == [
        (aid, roster["李四"], "陪老人看病"),
        (aid, roster["赵六"], "后天要去省里学习"),
    ]


def test_this_time_said_on_the_day_of_one_of_two_coming_activities_is_todays(say, runtime, roster):
    today = _activity(runtime, roster, day=NOW.date(), time=dt.time(14, 0), kind="inspection", title="视察")
    _activity(runtime, roster, day=dt.date(2026, 11, 27), kind="inspection", title="视察")
    assert say("赵六", "这次视察我去不了了，孩子生病").endswith("事由：孩子生病，等待组长审批。")
    assert [(x.activity_id, x.reason) for x in _leaves(runtime)] == [(today, "孩子生病")]
    # Without 这次 it asks which.
    assert say("李四", "视察我去不了了").startswith("请问是哪一次（回复数字）：")


def test_a_leave_for_a_stretch_of_days_asks_for_each_coming_activity_once(say, runtime, roster):
    # NOW is Monday 11月23日 10:00: 本周 is to Sunday 11月29日.
    gone = _activity(runtime, roster, day=NOW.date(), time=dt.time(9, 0), kind="study", title="学习")
    wed = _activity(runtime, roster)  # 12月2日: next week
    this_week = [
        _activity(runtime, roster, day=dt.date(2026, 11, 25), kind="inspection", title="视察"),
        _activity(runtime, roster, day=dt.date(2026, 11, 27), kind="research", title="调研"),
    ]
    reply = say("赵六", "我在外地出差，这周的活动都参加不了")
    leaves = _leaves(runtime)
    assert [(x.activity_id, x.member_id, x.status, x.reason) for x in leaves] == [
        (aid, roster["赵六"], "pending", "在外地出差") for aid in this_week
    ]  # not today's, begun at 9:00; not next week's
    assert reply.splitlines()[0] == "已为本周本组的2项活动提交请假2条，事由：在外地出差，等待组长审批："
    assert reply.splitlines()[1].startswith(f"#{leaves[0].id} 11月25日（周三）")
    assert {n.text.split("：")[0] for n in _outbox(runtime)} == {f"赵六请假#{x.id}" for x in leaves}
    assert say("赵六", "这周的活动我都去不了") == "\n".join(
        ["本周本组的2项活动您都已请过假：", "11月25日（周三） 14:30 视察：已请过假", "11月27日（周五） 14:30 调研：已请过假"]
    )
    assert len(_leaves(runtime)) == 2 and gone and wed
    assert say("赵六", "请假三天", now=NOW + dt.timedelta(days=30)).startswith("今后三天（12月23日—12月25日）本组没有活动安排")


def test_leave_without_date_takes_the_one_coming_activity(ask, runtime, roster):
    only = _activity(runtime, roster, day=dt.date(2026, 11, 25), kind="study", title="学习会")
    reply = ask("张三", Command("leave", reason="出差"))
    assert "11月25日（周三）" in reply
    assert [lr.activity_id for lr in _leaves(runtime)] == [only]


def test_leave_without_date_asks_which_of_two_coming_activities_and_the_number_answers(
    ask, say, runtime, roster
):
    later = _activity(runtime, roster, day=dt.date(2026, 12, 9), title="后一场")
    _activity(runtime, roster, day=dt.date(2026, 11, 25), kind="study", title="学习会")
    reply = ask("张三", Command("leave", reason="出差"))
    assert reply == (
        "请问是哪一次（回复数字）：\n1. 11月25日（周三） 14:30 学习 学习会\n2. 12月9日（周三） 14:30 会议/座谈 后一场"
    )
    assert _leaves(runtime) == []
    answer = say("张三", "2")
    (leave,) = _leaves(runtime)
    assert (leave.activity_id, leave.reason, leave.status) == (later, "出差", "pending")
    assert (
        answer == f"已提交请假#{leave.id}：12月9日（周三） 14:30 会议/座谈 后一场，事由：出差，等待组长审批。"
    )
    assert say("张三", "2") != answer  # the question was answered: "2" now answers nothing
    assert len(_leaves(runtime)) == 1


def test_an_excuse_after_the_fact_is_a_leave_the_leader_can_still_approve(say, runtime, roster):
    past = _activity(runtime, roster, day=dt.date(2026, 11, 20), kind="inspection", title="视察")
    reply = say("张三", "20号的视察没去成，单位临时有事")
    (leave,) = _leaves(runtime)
    assert (leave.activity_id, leave.status, leave.reason) == (past, "pending", "单位临时有事")
    assert reply.startswith(f"已提交请假#{leave.id}（事后请假）：11月20日（周五） 14:30 视察")
    assert "同意" in say("王组长", "同意 张三")
    assert _leaves(runtime)[0].status == "approved"


def test_leave_for_a_day_without_activity_names_the_date_and_records_nothing(ask, runtime, roster):
    _activity(runtime, roster)
    reply = ask("张三", Command("leave", date=dt.date(2026, 12, 3)))
    assert reply == "12月3日（周四）本组没有活动安排，无需请假。"
    assert _counts(runtime) == (0, 0)


def test_second_leave_request_is_acknowledged_not_doubled(ask, runtime, roster):
    _activity(runtime, roster)
    ask("张三", Command("leave", date=WED, reason="单位开会"))
    reply = ask("张三", Command("leave", date=WED, reason="还是开会"))
    assert reply.startswith("您已请过假了：#") and "待组长审批" in reply
    assert _counts(runtime) == (1, 1)


def test_leader_approves_by_name_and_the_member_is_told(ask, runtime, roster):
    _activity(runtime, roster)
    ask("张三", Command("leave", date=WED, reason="单位开会"))
    reply = ask("王组长", Command("approve", target="张三"))
    (leave,) = _leaves(runtime)
    assert reply == f"已同意张三的请假#{leave.id}（12月2日（周三） 14:30 会议/座谈 座谈会）。"
    assert (leave.status, leave.decided_by_id, leave.decided_at) == ("approved", roster["王组长"], NOW)
    assert leave.decision_message_id is not None
    told = [m for m in _outbox(runtime) if m.member_id == roster["张三"]]
    assert len(told) == 1 and "已同意" in told[0].text


def test_leader_rejects_by_number_with_a_reason(say, runtime, roster):
    _activity(runtime, roster)
    say("张三", "请假 下周三座谈会 单位开会")
    (leave,) = _leaves(runtime)
    reply = say("王组长", f"驳回 #{leave.id} 需要本人参加")
    assert reply.startswith(f"已驳回张三的请假#{leave.id}")
    (leave,) = _leaves(runtime)
    assert leave.status == "rejected" and leave.reason == "单位开会"
    assert leave.decision_reason == "需要本人参加"
    told = [m for m in _outbox(runtime) if m.member_id == roster["张三"]]
    assert len(told) == 1 and "未获批准" in told[0].text


def test_deciding_twice_says_it_is_already_decided(ask, runtime, roster):
    _activity(runtime, roster)
    ask("张三", Command("leave", date=WED))
    (leave,) = _leaves(runtime)
    ask("王组长", Command("approve", target=str(leave.id)))
    before = _counts(runtime)
    reply = ask("王组长", Command("reject", target=f"#{leave.id}"))
    assert "已由王组长处理过：已同意" in reply
    assert _leaves(runtime)[0].status == "approved"
    assert _counts(runtime) == before


def test_member_cannot_approve(ask, runtime, roster):
    _activity(runtime, roster)
    ask("张三", Command("leave", date=WED))
    before = _counts(runtime)
    reply = ask("李四", Command("approve", target="张三"))
    assert reply == "只有组长（联络员）可以这样操作。"
    assert _leaves(runtime)[0].status == "pending"
    assert _counts(runtime) == before


def test_other_groups_leader_cannot_decide_this_groups_leave(ask, runtime, roster):
    _activity(runtime, roster)
    ask("张三", Command("leave", date=WED))
    (leave,) = _leaves(runtime)
    before = _counts(runtime)
    by_number = ask("孙组长", Command("approve", target=str(leave.id)))
    by_name = ask("孙组长", Command("approve", target="张三"))
    assert "只能审批本组的请假" in by_number
    assert by_name == "本组没有张三待审批的请假。"
    assert _leaves(runtime)[0].status == "pending"
    assert _counts(runtime) == before


def test_admin_may_decide_any_groups_leave(ask, runtime, roster):
    _activity(runtime, roster, leader="孙组长")
    ask("周七", Command("leave", date=WED))
    reply = ask("陈主任", Command("approve", target="周七"))
    assert reply.startswith("已同意周七的请假#")
    assert _leaves(runtime)[0].decided_by_id == roster["陈主任"]


def test_approve_without_target_takes_the_only_pending_request(ask, runtime, roster):
    _activity(runtime, roster)
    ask("张三", Command("leave", date=WED))
    assert ask("王组长", Command("approve")).startswith("已同意张三")


def test_a_member_asks_what_became_of_their_leave_and_reads_each_requests_state(say, runtime, roster):
    _activity(runtime, roster)
    assert say("李四", "我请的假批了没").startswith("您近30天和今后没有请假记录")
    say("李四", "请假 下周三的座谈会 出差")
    (leave,) = _leaves(runtime)
    assert say("李四", "我请的假批了没") == (
        f"您的请假：\n#{leave.id} 12月2日（周三） 14:30 会议/座谈 座谈会 待组长审批"
    )
    say("王组长", f"驳回 #{leave.id} 需要本人参加")
    assert say("李四", "我的请假批了吗").endswith("已驳回（王组长）：需要本人参加")
    assert say("张三", "我的请假").startswith("您近30天和今后没有请假记录")  # only one's own


def test_a_leader_asks_leave_for_a_member_which_is_approved_and_the_member_told_once(say, runtime, roster):
    aid = _activity(runtime, roster)
    reply = say("王组长", "帮张三请个假，下周三的座谈会他要去医院", msg_id="p1")
    assert say("王组长", "帮张三请个假，下周三的座谈会他要去医院", msg_id="p1") == reply  # redelivered
    (leave,) = _leaves(runtime)
    assert reply == f"已为张三请假#{leave.id}：12月2日（周三） 14:30 会议/座谈 座谈会，已批准，并已告诉张三。"
    assert (leave.activity_id, leave.member_id, leave.status, leave.decided_by_id) == (
        aid, roster["张三"], "approved", roster["王组长"],
    )  # fmt: skip
    assert leave.reason == "去医院（王组长代请）" and leave.decided_at == NOW
    (notice,) = _outbox(runtime)
    assert notice.member_id == roster["张三"] and "王组长已为您请假" in notice.text
    # a second message meaning the same: the leave exists, nothing more recorded or sent
    assert say("王组长", "替张三请假 下周三的座谈会") == (
        f"张三已请过假了：#{leave.id} 12月2日（周三） 14:30 会议/座谈 座谈会，已同意。"
    )
    assert _counts(runtime) == (1, 1)


def test_a_name_said_first_is_a_leave_for_that_member_and_the_rules_of_leave_are_no_leave(say, runtime, roster):
    aid = _activity(runtime, roster, day=NOW.date(), time=dt.time(14, 0))
    assert say("王组长", "李四今天来不了，他家里有事").startswith("已为李四请假#")
    assert say("赵六", "赵六今天来不了，单位有事").endswith("事由：单位有事，等待组长审批。")  # one's own name
    for text in ("请假要提前说", "李四来不了吗", "请各位委员认真准备发言"):
        assert not say("王组长", text).startswith("已"), text
    assert [(x.activity_id, x.member_id, x.status, x.reason) for x in _leaves(runtime)] == [
        (aid, roster["李四"], "approved", "家里有事（王组长代请）"),
        (aid, roster["赵六"], "pending", "单位有事"),
    ]


def test_a_member_asking_leave_for_another_leaves_it_to_the_leader_and_tells_both(say, runtime, roster):
    _activity(runtime, roster)
    reply = say("李四", "帮张三请个假，他下周三单位开会")
    (leave,) = _leaves(runtime)
    assert reply.startswith(f"已为张三提交请假#{leave.id}：") and "等待组长审批" in reply
    assert (leave.member_id, leave.status, leave.decided_by_id, leave.reason) == (
        roster["张三"], "pending", None, "单位开会（李四代请）",
    )  # fmt: skip
    told = {n.member_id: n.text for n in _outbox(runtime)}
    assert set(told) == {roster["张三"], roster["王组长"]}
    assert "李四为您请了假" in told[roster["张三"]] and f"同意 #{leave.id}" in told[roster["王组长"]]
    assert say("王组长", f"同意 #{leave.id}").startswith("已同意张三的请假")


def test_leave_for_someone_outside_the_group_or_not_on_the_roster_records_nothing(say, runtime, roster):
    _activity(runtime, roster)
    assert say("李四", "帮周七请个假 下周三的座谈会") == "本组没有叫周七的委员，请核对姓名。"
    assert say("李四", "帮钱多多请个假 下周三的座谈会") == "本组没有叫钱多多的委员，请核对姓名。"
    assert _counts(runtime) == (0, 0)


def test_a_name_ending_in_a_numeral_before_a_date_in_digits_is_a_name_then_the_date(say, runtime, roster):
    # "李四12月2日请假": 四 and 12 once ran together into the month "四12" (no such day: nothing recorded).
    aid = _activity(runtime, roster)  # 12月2日 (周三) 14:30
    assert say("王组长", "李四12月2日请假").startswith("已为李四请假#")
    assert say("赵六", "赵六12月2号的座谈会去不了，单位有事").endswith("事由：单位有事，等待组长审批。")
    assert say("王组长", "组长明天请假") == "11月24日（周二）本组没有活动安排，无需请假。"  # the sender's own, no name
    assert [(x.activity_id, x.member_id, x.status) for x in _leaves(runtime)] == [
        (aid, roster["李四"], "approved"),
        (aid, roster["赵六"], "pending"),
    ]


def test_the_next_activity_named_as_such_is_the_first_one_coming_of_several(say, runtime, roster):
    first = _activity(runtime, roster)  # 12月2日 (周三) 14:30 座谈会
    _activity(runtime, roster, day=WED + dt.timedelta(days=7), kind="inspection", title="视察")
    reply = say("张三", "下次活动我去不了，出差")
    (leave,) = _leaves(runtime)
    assert reply.startswith(f"已提交请假#{leave.id}：12月2日（周三） 14:30 会议/座谈 座谈会，事由：出差")
    assert leave.activity_id == first
    # without 下次, two coming activities are asked between
    assert say("李四", "请假 出差").startswith("请问是哪一次")
