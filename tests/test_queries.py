"""本组情况 / 谁还没交 / 谁没签到 / 我的履职, through the real parser and pipeline."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from bot.messages import Command, Incoming
from models import Activity, CheckIn, LeaveRequest, LiaisonGroup, Member, Submission
from tests.conftest import NOW, TZ

D = dt.date


@pytest.fixture
def add(runtime, roster):
    """add(what, **fields) writes one record directly; returns its id."""

    def _add(what: str, **f) -> int:
        with runtime.sessions.begin() as s:
            if what == "submission":
                m = s.get(Member, roster[f.pop("name")])
                row = Submission(
                    member_id=m.id,
                    group_id=m.group_id,
                    kind=f.pop("kind", "opinion"),
                    title="标题",
                    content="内容",
                    submitted_at=f.pop("at", NOW),
                    status="adopted" if "adopted" in f else f.pop("status", "submitted"),
                    adopted_level=f.pop("adopted", None),
                )
            elif what == "activity":
                gid = s.scalar(
                    select(LiaisonGroup.id).where(LiaisonGroup.name == f.pop("group", "第一联络组"))
                )
                row = Activity(
                    group_id=gid,
                    kind=f.pop("kind", "collective"),
                    title=f.pop("title", "集体学习"),
                    date=f.pop("date", NOW.date()),
                    created_at=NOW,
                )
            elif what == "checkin":
                row = CheckIn(
                    activity_id=f.pop("activity"), member_id=roster[f.pop("name")], checked_in_at=NOW
                )
            else:
                row = LeaveRequest(
                    activity_id=f.pop("activity"),
                    member_id=roster[f.pop("name")],
                    status=f.pop("status", "approved"),
                    requested_at=NOW,
                )
            assert not f, f
            s.add(row)
            s.flush()
            return row.id

    return _add


def _reply(runtime, name: str, text: str, now: dt.datetime = NOW, **fields):
    """The whole Reply (with its mentions), for the tests that check who is @-mentioned."""
    incoming = Incoming(
        platform="console",
        chat_id=fields.pop("chat_id", None),
        sender_id=name,
        sender_name=name,
        text=text,
        msg_id=f"q-{name}-{text}-{now.isoformat()}",
        sent_at=now,
        is_group=fields.pop("is_group", False),
    )
    return runtime.pipeline.handle(incoming, now).reply


def test_status_lists_exactly_the_members_who_have_not_sent_an_opinion_this_month(say, add):
    add("submission", name="赵六", at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=TZ))
    add("submission", name="李四", at=dt.datetime(2026, 10, 30, 9, 0, tzinfo=TZ))  # last month
    assert say("王组长", "谁还没交社情民意") == "本月还没交社情民意的：张三、李四（共2人）"


def test_the_opinion_answer_mentions_the_members_who_owe_it(runtime, roster, add):
    add("submission", name="赵六")
    reply = _reply(runtime, "王组长", "谁还没交社情民意")
    assert [(p.name, p.mobile, p.wecom_userid, p.dingtalk_userid) for p in reply.mentions] == [
        ("张三", "13800000001", "zhangsan", "dt_zhangsan"),
        ("李四", "13800000002", "lisi", "dt_lisi"),
    ]


def test_who_has_sent_lists_the_senders_with_their_counts_and_names_the_rest_without_mentioning_them(
    runtime, say, add
):
    assert say("王组长", "这个月本组谁交了社情民意") == "本月本组还没有人交社情民意。"
    add("submission", name="赵六", at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=TZ))
    add("submission", name="赵六", at=dt.datetime(2026, 11, 20, 9, 0, tzinfo=TZ))
    add("submission", name="张三")
    add("submission", name="张三", status="withdrawn")  # withdrawn: not counted
    add("submission", name="李四", at=dt.datetime(2026, 10, 30, 9, 0, tzinfo=TZ))  # last month
    add("submission", name="李四", kind="report")  # another kind
    reply = _reply(runtime, "王组长", "交了社情民意的有谁")
    assert reply.text == "本月交了社情民意的：赵六2篇、张三1篇（共2人，3篇）\n还没交的：李四（共1人）"
    assert reply.mentions == ()
    assert say("王组长", "上个月谁交了社情民意") == "上月交了社情民意的：李四1篇（共1人，1篇）\n还没交的：张三、赵六（共2人）"
    assert say("张三", "谁交了社情民意") == "只有组长（联络员）可以这样操作。"


def test_a_leader_urging_the_group_gets_who_owes_it_mentioned_and_no_note_is_recorded(runtime, add):
    add("submission", name="赵六")
    reply = _reply(runtime, "王组长", "大家抓紧时间交社情民意，月底前每人至少一篇")
    assert reply.text == "本月还没交社情民意的：张三、李四（共2人）"
    assert [p.name for p in reply.mentions] == ["张三", "李四"]
    with runtime.sessions() as s:
        assert s.scalar(select(func.count(Submission.id))) == 1


def test_when_everyone_sent_one_the_leader_hears_so(say, add):
    for name in ("张三", "李四", "赵六"):
        add("submission", name=name)
    assert say("王组长", "谁还没交社情民意") == "本月全组都交了社情民意。"


def test_a_period_word_judges_the_question_over_that_period(say, add):
    add("submission", name="张三", kind="suggestion", at=dt.datetime(2026, 8, 2, 9, 0, tzinfo=TZ))
    assert say("王组长", "上季度谁还没交意见建议") == "上季度还没交意见建议的：李四、赵六（共2人）"
    assert say("王组长", "谁还没交意见建议") == "本季度还没交意见建议的：张三、李四、赵六（共3人）"


def test_a_kind_no_rule_counts_is_asked_about_for_this_year(say, add):
    add("submission", name="李四", kind="proposal", at=dt.datetime(2026, 2, 2, 9, 0, tzinfo=TZ))
    assert say("王组长", "谁还没交提案") == "今年还没交提案的：张三、赵六（共2人）"


def test_status_shows_each_rule_and_who_is_behind(say, add):
    add("submission", name="张三")
    add("activity", kind="inspection", title="视察污水处理厂", date=D(2026, 11, 10))
    assert say("王组长", "本组情况") == "\n".join(
        [
            "第一联络组履职情况（截至11月23日）：",
            "✅ 社情民意信息 本月 1/1",
            "❌ 意见建议 本季度 0/1（截止12月20日）",
            "❌ 集体活动 本季度 0/1（截止12月31日）",
            "✅ 视察活动 本季度 1/1",
            "❌ 调研报告 下半年 0/1（截止12月20日）",
            "❌ 为民办实事 今年 0/1（截止12月20日）",
            "本组还差：意见建议1篇、调研报告1篇、为民办实事1件（任一位委员交了即算）",
            "本期还没交过任何材料的：李四、赵六（共2人）",
        ]
    )


def test_status_says_the_group_owes_an_item_and_who_has_sent_nothing_separately(say, add):
    add("submission", name="张三")
    add("submission", name="张三", kind="report")
    add("submission", name="李四", kind="suggestion")
    lines = say("王组长", "本组情况").splitlines()
    assert lines[-2:] == [
        "本组还差：为民办实事1件（任一位委员交了即算）",
        "本期还没交过任何材料的：赵六（共1人）",
    ]
    assert not any(line.startswith("未完成") for line in lines)


def test_status_for_last_quarter_leaves_out_longer_rules_and_marks_passed_deadlines(say):
    assert say("王组长", "上季度本组情况") == "\n".join(
        [
            "第一联络组上季度履职情况：",
            "❌ 社情民意信息 2026年9月 0/1（已过截止日9月25日）",
            "❌ 意见建议 上季度 0/1（已过截止日9月20日）",
            "❌ 集体活动 上季度 0/1（已过截止日9月30日）",
            "❌ 视察活动 上季度 0/1（已过截止日9月30日）",
            "本组还差：社情民意信息1篇、意见建议1篇（任一位委员交了即算）",
            "本期还没交过任何材料的：张三、李四、赵六（共3人）",
        ]
    )


def test_a_leader_sees_only_their_own_group(say, add):
    add("submission", name="周七")
    assert say("孙组长", "谁还没交社情民意") == "本月全组都交了社情民意。"
    assert say("王组长", "谁还没交社情民意") == "本月还没交社情民意的：张三、李四、赵六（共3人）"


def test_a_member_asking_for_the_groups_status_reads_their_own_record_and_the_groups_open_tasks(say, add):
    add("submission", name="张三")
    own = say("张三", "本组情况")
    assert own.startswith("张三的履职记录（截至11月23日）：\n本月：社情民意1件")
    assert own.splitlines()[-1].startswith("本组还差：意见建议1篇（截止12月20日）")  # no one's name in it
    this_month = say("张三", "我们组这个月完成得怎么样")
    assert this_month == say("张三", "我这个月还有什么没完成") and "本月：社情民意1件" in this_month
    # Questions that name others stay the leaders'.
    assert say("张三", "谁还没交社情民意") == "只有组长（联络员）可以这样操作。"
    assert say("张三", "第二联络组情况") == "只有组长（联络员）可以这样操作。"
    assert say("张三", "全县情况") == "只有组长（联络员）可以这样操作。"


def test_inactive_members_are_not_listed_as_owing(runtime, say):
    with runtime.sessions.begin() as s:
        s.execute(update(Member).where(Member.name == "李四").values(active=False))
    assert say("王组长", "谁还没交社情民意") == "本月还没交社情民意的：张三、赵六（共2人）"


def test_who_has_not_checked_in_leaves_out_those_present_or_on_approved_leave(runtime, say, add):
    a = add("activity", title="集体学习", date=NOW.date())
    add("checkin", activity=a, name="张三")
    add("leave", activity=a, name="李四")
    add("activity", group="第二联络组", date=NOW.date())
    assert say("王组长", "谁没签到") == "今天「集体学习」还没签到的：赵六（共1人）"
    reply = _reply(runtime, "王组长", "谁没签到", now=NOW + dt.timedelta(minutes=1))
    assert [p.name for p in reply.mentions] == ["赵六"]


def test_pending_leave_does_not_excuse_a_missing_check_in(say, add):
    a = add("activity", title="集体学习", date=NOW.date())
    add("leave", activity=a, name="李四", status="pending")
    assert say("王组长", "谁没签到") == "今天「集体学习」还没签到的：张三、李四、赵六（共3人）"


def test_who_has_not_checked_in_without_an_activity_today(say, add):
    add("activity", date=NOW.date() - dt.timedelta(days=1))
    assert say("王组长", "谁没签到") == "今天本组没有活动。"


def test_long_name_lists_are_cut_after_eight(runtime, roster, say):
    with runtime.sessions.begin() as s:
        gid = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == "第二联络组"))
        for i in range(10):
            s.add(
                Member(
                    name=f"委员{i}", mobile=f"1350000{i:04d}", group_id=gid, created_at=NOW, updated_at=NOW
                )
            )
    names = "、".join(["周七"] + [f"委员{i}" for i in range(7)])
    assert say("孙组长", "谁还没交社情民意") == f"本月还没交社情民意的：{names}…另有3人（共11人）"


def test_an_admin_without_a_group_sees_one_line_per_group(say, add):
    for name in ("张三", "周七"):
        add("submission", name=name)
    add("submission", name="周七", kind="suggestion")
    assert say("陈主任", "本组情况") == "\n".join(
        [
            "各联络组履职情况（截至11月23日，共2组）：",
            "❌ 第一联络组 1/6项（欠：意见建议、集体活动、视察活动、调研报告、为民办实事）",
            "❌ 第二联络组 2/6项（欠：集体活动、视察活动、调研报告、为民办实事）",
        ]
    )
    assert say("陈主任", "谁还没交社情民意") == "\n".join(
        [
            "各联络组社情民意信息（本月）：",
            "✅ 第一联络组 1/1，2人未交",
            "✅ 第二联络组 1/1",
        ]
    )


def test_my_record_shows_month_quarter_and_year(say, add):
    add("submission", name="张三")
    add("submission", name="张三", kind="suggestion", at=dt.datetime(2026, 10, 8, 9, 0, tzinfo=TZ))
    add("submission", name="张三", kind="report", at=dt.datetime(2026, 5, 8, 9, 0, tzinfo=TZ))
    went = add("activity", date=D(2026, 11, 5))
    add("checkin", activity=went, name="张三")
    excused = add("activity", date=D(2026, 10, 5))
    add("leave", activity=excused, name="张三")
    add("activity", date=D(2026, 3, 5))
    assert say("张三", "我的履职") == "\n".join(
        [
            "张三的履职记录（截至11月23日）：",
            "本月：社情民意1件；活动出席1次，请假0次，缺席0次",
            "本季度：社情民意1件、意见建议1件；活动出席1次，请假1次，缺席0次",
            "今年：社情民意1件、意见建议1件、调研报告1件；活动出席1次，请假1次，缺席1次",
        ]
    )


def test_my_record_shows_how_many_notes_were_adopted_and_at_what_level(say, add):
    add("submission", name="张三", adopted="市级")
    add("submission", name="张三", at=dt.datetime(2026, 10, 8, 9, 0, tzinfo=TZ), adopted="县级")
    add("submission", name="张三", at=dt.datetime(2026, 10, 9, 9, 0, tzinfo=TZ))
    add("submission", name="李四", adopted="省级")  # someone else's
    assert say("张三", "我的履职").splitlines()[1:] == [
        "本月：社情民意1件；采用1件（市级1件）；活动出席0次，请假0次，缺席0次",
        "本季度：社情民意3件；采用2件（市级1件、县级1件）；活动出席0次，请假0次，缺席0次",
        "今年：社情民意3件；采用2件（市级1件、县级1件）；活动出席0次，请假0次，缺席0次",
    ]


def test_how_many_notes_of_a_kind_is_answered_with_that_count(say, add):
    add("submission", name="张三", at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ), adopted="市级")
    add("submission", name="张三", at=dt.datetime(2026, 10, 8, 9, 0, tzinfo=TZ))
    add("submission", name="张三", at=dt.datetime(2026, 10, 9, 9, 0, tzinfo=TZ), status="withdrawn")
    add("submission", name="张三", kind="suggestion")
    add("submission", name="张三", at=dt.datetime(2025, 12, 9, 9, 0, tzinfo=TZ))  # last year
    assert say("张三", "我今年交了几篇社情民意") == "您交的社情民意：今年2篇，采用1篇（市级1篇）。"
    assert say("张三", "我这个月交了几篇社情民意") == "您本月还没有交社情民意。"
    assert (
        say("张三", "我交了几篇社情民意")
        == "您交的社情民意：本月0篇；本季度1篇；今年2篇，采用1篇（市级1篇）。"
    )
    assert say("张三", "我今年交了几篇建议") == "您交的意见建议：今年1篇。"


def test_saying_a_note_was_sent_answers_what_the_bot_has_and_records_nothing(runtime, say, add):
    add("submission", name="张三", at=dt.datetime(2026, 10, 8, 9, 0, tzinfo=TZ))
    assert say("李四", "社情民意我交了") == "您交的社情民意：本月0篇；本季度0篇；今年0篇。"
    assert say("张三", "这个月的社情民意我交过没有") == "您本月还没有交社情民意。"
    assert say("张三", "提案我今年交了几件") == "您今年还没有交提案。"
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1  # 张三's October note only


def test_how_many_more_is_answered_with_the_count_and_what_the_group_and_each_member_owe(
    config_dict, engine, roster, runtime, add
):
    from app import PLATFORMS, ROUTERS
    from bot.config import settings_from_dict
    from bot.runtime import build_runtime

    add("submission", name="张三")
    say = _sayer(runtime)
    assert say("李四", "请问这个月还要交几篇社情民意") == (
        "您本月还没有交社情民意。本组本月要求至少1篇，已交1篇，已完成。"
    )
    config_dict["quotas"] = [
        {"key": "op", "name": "社情民意", "source": "submission", "kinds": ["opinion"], "period": "month",
         "minimum": 2, "scope": "member"},
        {"key": "gp", "name": "社情民意（组）", "source": "submission", "kinds": ["opinion"], "period": "quarter",
         "minimum": 3},
    ]  # fmt: skip
    per_member = build_runtime(settings_from_dict(config_dict), ROUTERS, platforms=PLATFORMS, engine=engine)
    assert _sayer(per_member)("张三", "还要交几篇社情民意") == (
        "您交的社情民意：本月1篇；本季度1篇；今年1篇。"
        "本组本季度要求至少3篇，已交1篇，还差2篇（截止12月31日），任一位委员交了即算；"
        "每人本月至少2篇，您已交1篇，还差1篇（截止11月30日）。"
    )
    assert _sayer(runtime)("张三", "还要交几篇提案") == "您交的提案：本月0篇；本季度0篇；今年0篇。县里对提案没有数量要求。"


def test_asking_what_is_still_open_adds_the_groups_open_tasks_to_ones_record(runtime, say, add):
    reply = say("张三", "我这个月还有什么没完成")
    lines = reply.splitlines()
    assert lines[0] == "张三的履职记录（截至11月23日）：" and lines[1].startswith("本月：")
    open_rules = [r for r in runtime.settings.quotas if r.scope == "group"]
    assert lines[-1].startswith("本组还差：") and all(r.name in lines[-1] for r in open_rules)
    assert "本组还差" not in say("张三", "我的履职")


def _sayer(runtime):
    return lambda name, text: _reply(runtime, name, text).text


def test_the_office_asks_the_countys_count_of_one_kind_and_sees_each_group_behind(say, add):
    add("submission", name="张三")
    add("submission", name="张三")
    assert say("陈主任", "全县这个月社情民意交了多少篇") == (
        "全县社情民意本月共2篇（截至11月23日，社情民意信息）：1个组未完成\n1. ❌ 第二联络组 0/1篇\n✅ 全部完成：第一联络组"
    )
    assert say("陈主任", "全县提案交了多少") == "县里对提案没有数量要求，各组情况可发「全县情况」。"
    assert say("王组长", "全县社情民意情况") == "只有县政协办公室的管理员可以查看全县情况。"


def test_a_leader_asking_about_materials_hears_the_whole_standing(say, add):
    add("submission", name="张三")
    answer = say("王组长", "这个月大家交材料情况怎么样")
    assert answer.startswith("第一联络组履职情况") and "社情民意" in answer, answer


def test_my_record_shows_personal_quotas_when_rules_are_per_member(config_dict, engine, roster, runtime, add):
    from app import PLATFORMS, ROUTERS
    from bot.config import settings_from_dict
    from bot.runtime import build_runtime

    config_dict["quotas"] = [
        {"key": "member_proposal", "name": "提案", "source": "submission", "kinds": ["proposal"],
         "period": "year", "scope": "member"},
        {"key": "member_opinion", "name": "社情民意", "source": "submission", "kinds": ["opinion"],
         "period": "year", "scope": "member"},
    ]  # fmt: skip
    member_rt = build_runtime(settings_from_dict(config_dict), ROUTERS, platforms=PLATFORMS, engine=engine)
    add("submission", name="张三")
    assert _reply(member_rt, "张三", "我的履职").text == "\n".join(
        [
            "张三的履职记录（截至11月23日）：",
            "本月：社情民意1件；活动出席0次，请假0次，缺席0次",
            "本季度：社情民意1件；活动出席0次，请假0次，缺席0次",
            "今年：社情民意1件；活动出席0次，请假0次，缺席0次",
            "❌ 提案 今年 0/1（截止12月31日）",
            "✅ 社情民意 今年 1/1",
        ]
    )
    assert _reply(member_rt, "王组长", "本组情况").text == "\n".join(
        [
            "第一联络组履职情况（截至11月23日）：",
            "❌ 提案 今年 0/3人（截止12月31日）",
            "❌ 社情民意 今年 1/3人（截止12月31日）",
            "未完成提案的：张三、李四、赵六（共3人）",
            "未完成社情民意的：李四、赵六（共2人）",
        ]
    )


def test_status_handler_called_directly_with_a_command(ask, add):
    add("submission", name="张三")
    assert ask("王组长", Command("status", target="opinion", title="本月")) == (
        "本月还没交社情民意的：李四、赵六（共2人）"
    )
    assert ask("王组长", Command("status", title="下周")) == (
        "没看懂「下周」是哪个时期，可以说：本月、上季度、今年、2026年第三季度。"
    )


def test_asking_who_is_on_leave_with_nothing_pending_says_so(ask):
    assert ask("王组长", Command("status", target="leave")) == "本组没有待审批的请假或补报。"


def test_a_leaders_ask_to_remind_the_group_names_who_owes_it_and_records_no_note(runtime, say, add):
    add("submission", name="张三")
    assert say("王组长", "提醒一下大家交社情民意") == "本月还没交社情民意的：李四、赵六（共2人）"
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1  # 张三's only


def test_a_leader_asks_who_did_not_come_to_a_days_activity_or_this_month(runtime, say, add):
    with runtime.sessions.begin() as s:
        group = s.scalar(select(Member.group_id).where(Member.name == "王组长"))
        a = Activity(group_id=group, kind="meeting", title="座谈会", date=NOW.date() - dt.timedelta(days=3),
                     time=dt.time(14, 30), created_at=NOW)
        s.add(a)
        s.flush()
        s.add(CheckIn(activity_id=a.id, member_id=s.scalar(select(Member.id).where(Member.name == "张三")),
                      checked_in_at=NOW - dt.timedelta(days=3)))
    day = NOW.date() - dt.timedelta(days=3)
    reply = say("王组长", f"{day.month}月{day.day}日的座谈会谁没来")
    assert reply.splitlines()[1].endswith("出席1人，缺席2人（李四、赵六）")
    assert say("王组长", "这个月谁缺席了").splitlines()[0].startswith("本月活动1次")


def test_anyone_asks_who_is_in_their_group_and_inactive_members_are_left_out(runtime, say):
    # test roster: 第一联络组 王组长 (leader), 张三, 李四, 赵六; 第二联络组 孙组长, 周七; 陈主任 (admin)
    assert say("张三", "我是哪个组的") == "您在第一联络组。组长（联络员）：王组长；委员：张三、李四、赵六（共3人）。"
    with runtime.sessions.begin() as s:
        s.execute(update(Member).where(Member.name == "李四").values(active=False))
    assert say("周七", "我们组长是谁") == "您在第二联络组。组长（联络员）：孙组长；委员：周七（共1人）。"
    assert say("王组长", "组里有几个人") == "您在第一联络组。组长（联络员）：王组长；委员：张三、赵六（共2人）。"
    assert say("陈主任", "本组名单").startswith("您是县政协办公室的管理员，不属于联络组")
    # a question about leave is still the leaders' 请假 list, not a leave of the asker's
    assert say("张三", "组里有谁请假了") == "只有组长（联络员）可以这样操作。"
    assert runtime.sessions().scalar(select(func.count()).select_from(LeaveRequest)) == 0
