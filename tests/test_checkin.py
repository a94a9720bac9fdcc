"""签到: members check in on the day to their group's activity; repeats, wrong days and no activity."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from bot.messages import Command
from models import Activity, CheckIn, LeaveRequest, Member, Submission
from tests.conftest import NOW

TODAY = NOW.date()


def _activity(runtime, roster, *, group="王组长", day=TODAY, time=None, kind="collective", title="集体活动"):
    """An activity of the group that `group` (a leader's name) leads."""
    with runtime.sessions.begin() as s:
        leader = s.get(Member, roster[group])
        a = Activity(
            group_id=leader.group_id,
            kind=kind,
            title=title,
            date=day,
            time=time,
            announced_by_id=leader.id,
            created_at=NOW,
        )
        s.add(a)
        s.flush()
        return a.id


def _checkins(runtime) -> list[tuple[int, int]]:
    with runtime.sessions() as s:
        return s.execute(select(CheckIn.activity_id, CheckIn.member_id)).all()


def test_checkin_on_the_day_is_recorded_with_time_and_message(say, runtime, roster):
    aid = _activity(runtime, roster, time=dt.time(9, 30), kind="inspection", title="污水处理厂")
    reply = say("张三", "签到")
    assert reply == "签到成功：11月23日（周一） 09:30 视察 污水处理厂，10:00。"
    with runtime.sessions() as s:
        row = s.scalars(select(CheckIn)).one()
        assert (row.activity_id, row.member_id, row.checked_in_at) == (aid, roster["张三"], NOW)
        assert row.source_message_id is not None and not row.late_entry


def test_second_checkin_is_acknowledged_not_doubled(say, runtime, roster):
    _activity(runtime, roster, time=dt.time(9, 30))
    say("张三", "签到")
    reply = say("张三", "签到", now=NOW + dt.timedelta(minutes=5))
    assert reply.startswith("您已签到过了：11月23日（周一） 09:30 集体活动")
    assert "10:00签到" in reply
    assert len(_checkins(runtime)) == 1


def test_redelivered_checkin_message_records_once(say, runtime, roster):
    _activity(runtime, roster)
    first = say("张三", "签到", msg_id="x")
    again = say("张三", "签到", msg_id="x")
    assert first == again and first.startswith("签到成功")
    assert len(_checkins(runtime)) == 1


def test_checkin_without_activity_today_records_nothing(say, runtime, roster):
    _activity(runtime, roster, day=NOW.date() + dt.timedelta(days=1))
    reply = say("张三", "签到")
    assert reply == "今天（11月23日（周一））本组没有活动安排，无需签到。"
    assert _checkins(runtime) == []


def test_checkin_for_another_day_points_to_leader_for_late_entry(ask, runtime, roster):
    _activity(runtime, roster, day=dt.date(2026, 11, 20))
    reply = ask("张三", Command("checkin", date=dt.date(2026, 11, 20)))
    assert reply == "签到只能在活动当天进行；11月20日（周五）的活动请联系组长补报。"
    assert _checkins(runtime) == []


def test_checkin_for_a_day_still_ahead_says_to_check_in_on_the_day(ask, runtime, roster):
    _activity(runtime, roster, day=dt.date(2026, 11, 26))
    reply = ask("张三", Command("checkin", date=dt.date(2026, 11, 26)))
    assert reply == "11月26日（周四）的活动还没到，没有签到；请当天到场后再发「签到」。"
    assert _checkins(runtime) == []


def test_other_groups_activity_is_not_checked_into(say, runtime, roster):
    _activity(runtime, roster, group="孙组长")
    assert "本组没有活动安排" in say("张三", "签到")
    assert _checkins(runtime) == []


def test_several_activities_pick_the_one_under_way(ask, runtime, roster):
    _activity(runtime, roster, time=dt.time(8, 30), kind="study", title="理论学习")
    mid = _activity(runtime, roster, time=dt.time(10, 30), kind="meeting", title="座谈会")
    _activity(runtime, roster, time=dt.time(15, 0), kind="research", title="走访企业")
    reply = ask("张三", Command("checkin", date=NOW.date()))
    assert "10:30 会议/座谈 座谈会" in reply
    assert _checkins(runtime) == [(mid, roster["张三"])]


def test_several_activities_pick_by_stated_kind(ask, runtime, roster):
    _activity(runtime, roster, time=dt.time(9, 0), kind="study", title="理论学习")
    later = _activity(runtime, roster, time=dt.time(10, 40), kind="research", title="走访企业")
    reply = ask("张三", Command("checkin", date=NOW.date(), kind="research"))
    assert "10:40 调研 走访企业" in reply
    assert _checkins(runtime) == [(later, roster["张三"])]


def test_checkin_despite_approved_leave_counts_as_present(say, runtime, roster):
    aid = _activity(runtime, roster, time=dt.time(9, 30))
    with runtime.sessions.begin() as s:
        s.add(LeaveRequest(activity_id=aid, member_id=roster["张三"], status="approved", requested_at=NOW))
    reply = say("张三", "签到")
    assert reply.startswith("签到成功") and "按出席记录" in reply
    assert _checkins(runtime) == [(aid, roster["张三"])]
    with runtime.sessions() as s:
        assert s.scalar(select(func.count(LeaveRequest.id))) == 1


def test_saying_one_will_come_records_nothing_and_says_to_check_in_on_the_day(say, runtime, roster):
    _activity(runtime, roster, day=dt.date(2026, 11, 26), kind="inspection", title="视察 县医院")
    reply = say("张三", "26号的视察我准时到")
    assert reply.startswith("好的，不用报名：11月26日（周四）") and "当天到场后@我「签到」" in reply
    assert _checkins(runtime) == []
    assert say("张三", "27号的视察我一定参加") == (
        "11月27日（周五）本组没有视察安排，不用报名；有活动时当天到场后@我「签到」即可。"
    )


def test_saying_one_will_be_late_is_told_the_check_in_stays_open_all_day(say, runtime, roster):
    _activity(runtime, roster, time=dt.time(14, 30), kind="meeting", title="座谈会")
    reply = say("张三", "下午的座谈我可能晚到一会")
    assert reply.startswith("好的：11月23日（周一） 14:30 会议/座谈") and reply.endswith("到场后@我「签到」即可，当天都能签到。")
    assert _checkins(runtime) == []


def test_a_short_already_signed_checks_in_and_a_leaders_call_to_sign_lists_who_has_not(say, runtime, roster):
    aid = _activity(runtime, roster, time=dt.time(10, 30), kind="study", title="学习")
    assert say("赵六", "已签").startswith("签到成功：11月23日（周一） 10:30 学习")
    for text in ("提醒一下没签到的", "今天参加学习的委员请在群里签到", "今天的会有几个人没签到"):
        assert say("王组长", text) == "今天「学习」还没签到的：张三、李四（共2人）", text
    assert _checkins(runtime) == [(aid, roster["赵六"])]  # the leader's words checked no one in


def test_a_note_written_after_a_check_in_is_said_to_be_not_recorded(say, runtime, roster):
    _activity(runtime, roster, time=dt.time(10, 0), kind="study", title="学习")
    reply = say("张三", "王组长，我签到了，另外交一篇社情民意：关于农贸市场卫生的问题，市场内垃圾清运不及时")
    assert reply.startswith("签到成功：") and reply.endswith(
        "这条消息里的社情民意没有记录，请单独发一条「社情民意：标题。正文」。"
    )
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 0
    assert len(_checkins(runtime)) == 1


def test_asking_whether_one_is_checked_in_answers_and_records_nothing(say, runtime, roster):
    _activity(runtime, roster, time=dt.time(9, 30), kind="research", title="县医院")
    assert say("张三", "今天的调研我签过了吗") == (
        "您还没有签到11月23日（周一） 09:30 调研 县医院。到场后发「签到」即可。"
    )
    assert _checkins(runtime) == []
    say("张三", "签到")
    assert say("张三", "我签到了没", now=NOW + dt.timedelta(minutes=3)) == (
        "您已签到过了：11月23日（周一） 09:30 调研 县医院（10:00签到）。"
    )
    assert len(_checkins(runtime)) == 1
