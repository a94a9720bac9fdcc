"""发布活动: a leader announces an activity for their group; members and other roles are refused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from bot.messages import Command
from models import Activity
from tests.conftest import NOW


def _count(runtime) -> int:
    with runtime.sessions() as s:
        return s.scalar(select(func.count(Activity.id)))


def _announce(**fields) -> Command:
    return Command("announce", **fields)


def test_leader_announces_inspection_and_sees_it_echoed(ask, runtime, roster):
    reply = ask(
        "王组长",
        _announce(
            date=dt.date(2026, 12, 3),
            time=dt.time(9, 0),
            kind="inspection",
            title="城区污水处理厂",
            content="城东路1号",
        ),
    )
    assert reply.startswith("已发布活动#")
    assert "12月3日（周四） 09:00 视察 城区污水处理厂，地点：城东路1号" in reply
    with runtime.sessions() as s:
        a = s.scalars(select(Activity)).one()
        assert (a.group.name, a.kind, a.title, a.place) == (
            "第一联络组",
            "inspection",
            "城区污水处理厂",
            "城东路1号",
        )
        assert a.announced_by_id == roster["王组长"]
        assert a.date == dt.date(2026, 12, 3) and a.time == dt.time(9, 0)
        assert a.created_at == NOW and a.source_message_id is not None


def test_activity_without_kind_is_recorded_as_collective_and_says_so(ask, runtime):
    reply = ask("王组长", _announce(date=dt.date(2026, 11, 25)))
    assert "11月25日（周三） 集体活动" in reply
    assert "未注明类型，按集体活动记录" in reply
    with runtime.sessions() as s:
        a = s.scalars(select(Activity)).one()
        assert (a.kind, a.title, a.time, a.place) == ("collective", "集体活动", None, None)


def test_announce_without_date_asks_for_it_and_records_nothing(ask, runtime):
    reply = ask("王组长", _announce(kind="study", title="学习会"))
    assert "请说明活动日期" in reply
    assert _count(runtime) == 0


def test_announce_for_a_past_date_is_refused(ask, runtime):
    reply = ask("王组长", _announce(date=dt.date(2026, 11, 20), kind="study"))
    assert "11月20日（周五）已经过去" in reply
    assert _count(runtime) == 0


def test_same_announcement_twice_is_acknowledged_not_doubled(ask, runtime):
    cmd = _announce(date=dt.date(2026, 12, 3), time=dt.time(9, 0), kind="inspection", title="污水处理厂")
    first = ask("王组长", cmd)
    again = ask("王组长", cmd)
    assert first.startswith("已发布活动#")
    assert "已发布过" in again
    assert _count(runtime) == 1


def test_redelivered_announcement_creates_one_activity(ask, runtime):
    cmd = _announce(date=dt.date(2026, 12, 3), kind="meeting", title="座谈会")
    first = ask("王组长", cmd, msg_id="dup-announce")
    again = ask("王组长", cmd, msg_id="dup-announce")
    assert first == again
    assert _count(runtime) == 1


def test_member_cannot_announce(ask, runtime):
    reply = ask("张三", _announce(date=dt.date(2026, 12, 3)))
    assert reply == "只有组长（联络员）可以这样操作。"
    assert _count(runtime) == 0


def test_admin_without_group_must_say_which_group(ask, runtime):
    reply = ask("陈主任", _announce(date=dt.date(2026, 12, 3)))
    assert "不属于任何联络组" in reply
    assert _count(runtime) == 0


def test_admin_in_a_groups_chat_announces_for_that_group(ask, runtime):
    reply = ask(
        "陈主任",
        _announce(date=dt.date(2026, 12, 3)),
        platform="wecom_bot",
        sender_id="chen",
        chat_id="chat-g2",
        is_group=True,
    )
    assert reply.startswith("已发布活动#")
    with runtime.sessions() as s:
        assert s.scalars(select(Activity)).one().group.name == "第二联络组"


def test_announcement_in_words_is_understood_end_to_end(say, runtime):
    reply = say("王组长", "发布活动 12月3日上午9点 视察 城区污水处理厂 地点：城东路1号")
    assert reply.endswith("12月3日（周四） 09:00 视察 城区污水处理厂，地点：城东路1号。")
    assert _count(runtime) == 1
    assert say("张三", "发布活动 12月4日 学习") == "只有组长（联络员）可以这样操作。"
    assert _count(runtime) == 1


def test_a_title_that_is_only_the_kind_and_a_word_keeps_its_word(say, runtime):
    reply = say("王组长", "礼拜五下午两点半 学习会 政协三楼")
    with runtime.sessions() as s:
        aid, title = s.execute(select(Activity.id, Activity.title)).one()
    assert title == "学习会"
    assert reply == f"已发布活动#{aid}：11月27日（周五） 14:30 学习 学习会，地点：政协三楼。"  # was 学习 会


def test_a_notice_of_several_activities_records_each_once_and_says_so_line_by_line(say, runtime):
    notice = "本周活动安排：11月25日下午3点县政协三楼召开民营经济座谈会，11月27日上午9点视察县人民医院"
    reply = say("王组长", notice)
    with runtime.sessions() as s:
        rows = s.scalars(select(Activity).order_by(Activity.id)).all()
        got = [(a.date, a.time, a.kind, a.title, a.place) for a in rows]
    assert got == [
        (dt.date(2026, 11, 25), dt.time(15, 0), "meeting", "民营经济座谈会", "县政协三楼"),
        (dt.date(2026, 11, 27), dt.time(9, 0), "inspection", "县人民医院", "县人民医院"),
    ]
    assert reply.splitlines() == [
        "这条通知有2项活动，已发布2项：",
        f"已发布活动#{rows[0].id}：11月25日（周三） 15:00 会议/座谈 民营经济座谈会，地点：县政协三楼。",
        f"已发布活动#{rows[1].id}：11月27日（周五） 09:00 视察 县人民医院，地点：县人民医院。",
    ]
    assert say("王组长", notice).splitlines()[0] == "这条通知的2项活动都已发布过："
    # Numbered points with a day gone by among them: that one is not recorded, the line says why.
    reply = say("王组长", "各位委员：1. 昨天上午9点视察城区水厂；2. 11月30日下午3点在县政协二楼开展集体学习，请准时参加。")
    assert reply.splitlines()[0] == "这条通知有2项活动，已发布1项："
    assert reply.splitlines()[1].startswith("未发布：11月22日（周日）已经过去")
    assert _count(runtime) == 3
    assert say("张三", notice) == "只有组长（联络员）可以这样操作。"
    assert _count(runtime) == 3


def test_a_member_asks_whats_coming_and_reads_the_groups_activities_with_their_own_leave(say, runtime):
    assert say("王组长", "发布活动 11月25日上午9点 视察 城区污水处理厂").startswith("已发布活动")
    assert say("王组长", "发布活动 12月1日下午3点 座谈会 民营经济 地点：政协三楼").startswith("已发布活动")
    assert say("孙组长", "发布活动 11月26日上午9点 学习 条例").startswith("已发布活动")  # another group's
    assert "等待组长审批" in say("张三", "请假 11月25日的视察 出差")
    reply = say("张三", "下次活动是什么时候")
    lines = reply.splitlines()
    assert lines[0] == "近两周本组的活动："
    assert "11月25日（周三） 09:00 视察 城区污水处理厂（您已请假，待审批）" in lines[1]
    assert "12月1日（周二） 15:00 会议/座谈" in lines[2] and "地点：政协三楼" in lines[2]
    assert len(lines) == 4 and "签到" in lines[3]  # 第二联络组's study is not listed
    assert say("张三", "明天有视察吗") == "11月24日（周二）本组没有视察安排。"
    assert say("张三", "这周有什么活动").splitlines()[1].endswith("（您已请假，待审批）")
    assert say("李四", "下周有什么活动").splitlines()[0] == "下周本组的活动："
    assert (runtime.sessions().scalar(select(func.count()).select_from(Activity))) == 3  # nothing recorded


def test_where_the_group_goes_makes_a_notice_and_members_ask_from_a_day_on(say, runtime):
    # NOW is Monday 11月23日. "到城东社区视察": the place and the kind in one piece of a terse notice.
    reply = say("王组长", "12月28日下午到城东社区视察")
    assert reply.startswith("已发布活动#") and "12月28日（周一） 视察，地点：城东社区" in reply
    assert say("王组长", "1月6日上午9点去县人民医院调研").endswith("1月6日（周三） 09:00 调研，地点：县人民医院。")
    # a day gone by is what a member did, not a notice for next year
    assert say("王组长", "11月20日上午去县人民医院调研").startswith("没看懂")
    assert runtime.sessions().scalar(select(func.count()).select_from(Activity)) == 2
    # nothing in the next two weeks: the next one after them is named
    assert say("张三", "下次活动是什么时候") == (
        "近两周本组没有活动安排。下一次是：#1 12月28日（周一） 视察，地点：城东社区"
    ).replace("#1", f"#{_first_activity_id(runtime)}")
    lines = say("张三", "元旦后的活动什么时候").splitlines()
    assert lines[0] == "1月1日以后本组的活动：" and "1月6日（周三） 09:00 调研" in lines[1] and len(lines) == 3
    lines = say("张三", "后面还有什么安排").splitlines()
    assert lines[0] == "接下来本组的活动：" and len(lines) == 4
    assert "12月28日" in lines[1] and "1月6日" in lines[2]
    assert say("张三", "12月30日以后有视察吗") == "12月30日以后本组没有视察安排。"


def _first_activity_id(runtime) -> int:
    return runtime.sessions().scalar(select(func.min(Activity.id)))


def test_a_notice_for_a_day_just_gone_is_next_years_and_the_answer_says_which_year(say):
    reply = say("王组长", "发布活动 11月22日上午9点 视察 城区污水处理厂")  # NOW is 11月23日
    assert reply.startswith("已发布活动#") and "11月22日" in reply
    assert "注意是2027年的11月22日" in reply
    assert "注意是" not in say("王组长", "发布活动 12月3日上午9点 视察 城区污水处理厂")


def test_a_leaders_reminder_of_an_activity_is_the_activity_already_published(say, runtime):
    # NOW is Monday 11月23日; the reminder names only the day, the hour and the kind.
    first = say("王组长", "发布活动 11月25日上午9点 视察 城区污水处理厂")
    aid = int(first.split("#", 1)[1].split("：", 1)[0])
    assert say("王组长", "提醒：后天上午9点视察，请准时参加") == (
        f"活动#{aid}已发布过：11月25日（周三） 09:00 视察 城区污水处理厂，地点：城区污水处理厂。"
    )
    # another hour is another activity; and a change with only 下午 asks for the hour, moving nothing
    assert say("王组长", "提醒：后天下午3点视察，请准时参加").startswith("已发布活动#")
    assert runtime.sessions().scalar(select(func.count()).select_from(Activity)) == 2
    assert say("王组长", f"#{aid} 改到下午").startswith(f"请说明活动#{aid}改到哪天、几点或什么地点")
    with runtime.sessions() as s:
        assert (s.get(Activity, aid).time, s.get(Activity, aid).place) == (dt.time(9, 0), "城区污水处理厂")
