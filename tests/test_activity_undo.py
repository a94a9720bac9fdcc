"""A leader's undo: 取消活动 and 改期, through the whole pipeline. A cancelled activity leaves the quotas,
the attendance, the absences, the reminders and the export; a moved one takes its leave and its
reminders along; the group is told and the audit trail keeps both."""

from __future__ import annotations

import datetime as dt

import openpyxl
from sqlalchemy import select

from bot import reminders
from bot.export import period_for, write_file
from models import Activity, LeaveRequest, Member, OutboxMessage, RecordChange
from tests.conftest import NOW

TZ = NOW.tzinfo


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


def announce(say, text: str = "发布活动 12月3日上午9点 视察 城区污水处理厂") -> int:
    reply = say("王组长", text)
    assert reply.startswith("已发布活动#"), reply
    return int(reply.split("#")[1].split("：")[0])


def activity(runtime, aid: int) -> Activity:
    with runtime.sessions() as s:
        return s.get(Activity, aid)


def changes(runtime, aid: int) -> list[tuple[str, str | None, str | None]]:
    with runtime.sessions() as s:
        rows = s.scalars(
            select(RecordChange)
            .where(RecordChange.table_name == "activity", RecordChange.row_id == aid)
            .order_by(RecordChange.id)
        )
        return [(r.field, r.old_value, r.new_value) for r in rows]


def group_notices(runtime) -> list[str]:
    with runtime.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.target_kind == "group").order_by(OutboxMessage.id)
        )
        return [r.text for r in rows]


def due_keys(runtime, now: dt.datetime) -> list[str]:
    with runtime.sessions() as s:
        return [m.key for m in reminders.due(s, runtime.settings, now)]


def activities_in_export(runtime, tmp_path, now: dt.datetime) -> int:
    with runtime.sessions() as s:
        path = write_file(s, runtime.settings, period_for(2026, 4), "第一联络组", now, tmp_path / "q4.xlsx")
    sheet = openpyxl.load_workbook(path)["总览"]
    header, row = [c.value for c in sheet[1]], [c.value for c in sheet[2]]
    return row[header.index("活动次数")]


def test_cancel_takes_the_activity_out_of_quota_reminders_leave_list_and_export(
    say, runtime, roster, tmp_path
):
    aid = announce(say)
    assert "请假" in say("张三", "请假 12月3日的视察 出差")
    after = at(12, 4)  # once held, the inspection counts toward the quarter's quota
    assert "视察活动 本季度 1/1" in say("王组长", "本组情况", now=after)
    eve = at(12, 2, 18, 30)
    assert f"activity:a{aid}:eve" in due_keys(runtime, eve)
    assert activities_in_export(runtime, tmp_path, after) == 1

    reply = say("王组长", f"取消活动 #{aid}")
    assert reply == f"已取消活动#{aid}（12月3日（周四） 09:00 视察 城区污水处理厂），已通知本组委员。"
    assert activity(runtime, aid).cancelled
    assert changes(runtime, aid) == [("cancelled", "False", "True")]
    assert (
        group_notices(runtime)[-1]
        == "【活动取消】12月3日（周四） 09:00 视察 城区污水处理厂，地点：城区污水处理厂已取消。"
    )

    assert "视察活动 本季度 0/1" in say("王组长", "本组情况", now=after)
    assert not [k for k in due_keys(runtime, eve) if k.startswith(f"activity:a{aid}")]
    assert "没有待审批" in say("王组长", "待审批")
    assert activities_in_export(runtime, tmp_path, after) == 0
    assert (
        say("王组长", f"取消活动 #{aid}")
        == f"活动#{aid}（12月3日（周四） 09:00 视察 城区污水处理厂）已经取消过了。"
    )


def test_cancelling_a_phantom_past_activity_takes_its_absences_away(say, runtime, roster):
    with runtime.sessions.begin() as s:
        group = s.get(Member, roster["王组长"]).group_id
        phantom = Activity(
            group_id=group, kind="inspection", title="误记的视察", date=dt.date(2026, 11, 20), created_at=NOW
        )
        real = Activity(
            group_id=group,
            kind="study",
            title="学习",
            date=dt.date(2026, 11, 23),
            time=dt.time(9),
            created_at=NOW,
        )
        s.add_all([phantom, real])
        s.flush()
        phantom_id = phantom.id
    for name in ("张三", "李四"):  # 赵六 misses both: two unexcused absences, a warning to the leader
        say(name, "签到", now=at(11, 23, 9, 5))
    report = at(11, 23, 12, 30)
    warning = [k for k in due_keys(runtime, report) if k.startswith("absence:")]
    assert warning and all(f"m{roster['赵六']}" in k for k in warning)

    say("王组长", f"取消活动 #{phantom_id}")
    assert [k for k in due_keys(runtime, report) if k.startswith("absence:")] == []
    assert "误记的视察" not in say("王组长", "本季度视察")


def test_a_change_moves_the_date_keeps_the_leave_and_reminds_for_the_new_day(say, runtime, roster):
    aid = announce(say)
    say("张三", "请假 12月3日的视察 出差")
    assert f"activity:a{aid}:eve" in due_keys(runtime, at(12, 2, 18, 30))

    reply = say("王组长", f"#{aid} 改到12月18日下午3点")
    assert reply == (
        f"已将活动#{aid}改为：12月18日（周五） 15:00 视察 城区污水处理厂，地点：城区污水处理厂"
        "（原定12月3日（周四） 09:00 视察 城区污水处理厂，地点：城区污水处理厂），已通知本组委员。"
    )
    moved = activity(runtime, aid)
    assert (moved.date, moved.time, moved.revision) == (dt.date(2026, 12, 18), dt.time(15), 1)
    assert changes(runtime, aid) == [
        ("date", "2026-12-03", "2026-12-18"),
        ("time", "09:00:00", "15:00:00"),
        ("revision", "0", "1"),
    ]
    assert group_notices(runtime)[-1].startswith("【活动变更】原定12月3日（周四） 09:00")
    with runtime.sessions() as s:
        (leave,) = s.scalars(select(LeaveRequest))
        assert (leave.activity_id, leave.status) == (aid, "pending")  # the leave followed the activity
    assert not [k for k in due_keys(runtime, at(12, 2, 18, 30)) if k.startswith(f"activity:a{aid}")]
    assert f"activity:a{aid}r1:eve" in due_keys(runtime, at(12, 17, 18, 30))
    assert "12月18日" in say("王组长", "待审批")


def test_leave_for_the_old_day_of_a_moved_activity_says_where_it_went(say, runtime, roster):
    aid = announce(say)
    say("王组长", f"#{aid} 改到12月18日下午3点")
    assert say("李四", "请假 12月3日的视察 出差") == (
        "原定12月3日（周四）的活动已改到12月18日（周五） 15:00 视察 城区污水处理厂；"
        "如那天也去不了，请发「请假 12月18日 事由」。"
    )
    with runtime.sessions() as s:
        assert s.scalars(select(LeaveRequest)).all() == []


def test_asking_whether_it_is_still_on_says_it_was_called_off_or_where_it_went(say, runtime, roster):
    cancelled = announce(say)
    say("王组长", f"取消活动 #{cancelled}")
    assert say("张三", "12月3日的视察取消了吗") == "12月3日（周四） 09:00 视察 城区污水处理厂已取消。"
    moved = announce(say, "发布活动 12月4日下午3点 座谈会 县政协三楼")
    say("王组长", f"#{moved} 改到12月18日下午3点")
    assert say("张三", "12月4日的座谈会还开吗") == (
        "12月4日（周五）的会议/座谈已改到12月18日（周五） 15:00 会议/座谈 座谈会，地点：县政协三楼。"
    )
    assert say("张三", "12月18日的座谈会还开吗").splitlines()[1] == (
        f"#{moved} 12月18日（周五） 15:00 会议/座谈 座谈会，地点：县政协三楼"
    )
    assert say("张三", "12月5日的调研取消了吗") == "12月5日（周六）本组没有调研安排。"


def test_a_change_by_reference_and_of_the_place(say, runtime, roster):
    aid = announce(say, "发布活动 明天上午9点 视察 县医院")
    assert say("王组长", "明天的视察改到周五上午十点").startswith(
        f"已将活动#{aid}改为：11月27日（周五） 10:00 视察"
    )
    reply = say("王组长", f"#{aid} 地点改为县政协二楼会议室")
    assert "地点：县政协二楼会议室" in reply and activity(runtime, aid).place == "县政协二楼会议室"
    assert activity(runtime, aid).revision == 2


def test_two_activities_on_the_day_named_are_asked_about(say, runtime, roster):
    first = announce(say, "发布活动 明天上午9点 视察 县医院")
    second = announce(say, "发布活动 明天下午3点 学习 全会精神")
    reply = say("王组长", "明天的活动取消了")
    assert reply.startswith("请问是哪一个活动（回复数字）：\n1. #")
    assert f"2. #{second} 11月24日（周二） 15:00 学习" in reply
    assert say("王组长", "2").startswith(f"已取消活动#{second}")
    assert (activity(runtime, first).cancelled, activity(runtime, second).cancelled) == (False, True)


def test_only_the_groups_leader_or_the_office_may_undo(say, runtime, roster):
    aid = announce(say)
    assert say("张三", f"取消活动 #{aid}") == "只有组长（联络员）可以这样操作。"
    assert say("孙组长", f"取消活动 #{aid}") == f"活动#{aid}不是本组的活动，只能更改本组的活动。"
    assert say("陈主任", f"#{aid} 改到12月4日").startswith(f"已将活动#{aid}改为：12月4日（周五） 09:00")
    assert not activity(runtime, aid).cancelled


def test_a_change_to_a_day_gone_by_or_to_nothing_is_refused(say, runtime, roster):
    aid = announce(say)
    assert "已经过去" in say("王组长", f"#{aid} 改到2026年11月20日")
    assert "请说明活动" in say("王组长", f"#{aid} 改期")
    assert activity(runtime, aid).date == dt.date(2026, 12, 3) and changes(runtime, aid) == []


def test_an_activity_of_yesterday_named_by_its_date_is_found_not_one_a_year_ahead(say, runtime, roster):
    with runtime.sessions.begin() as s:  # held the day before NOW (11月23日)
        lead = s.get(Member, roster["王组长"])
        row = Activity(group_id=lead.group_id, kind="meeting", title="座谈会", date=dt.date(2026, 11, 22),
                       time=dt.time(9, 0), created_at=NOW)  # fmt: skip
        s.add(row)
        s.flush()
        aid = row.id
    reply = say("王组长", "把11月22日的座谈会改成11月27日")
    assert reply.startswith(f"已将活动#{aid}改为：11月27日（周五） 09:00"), reply
    assert activity(runtime, aid).date == dt.date(2026, 11, 27)
