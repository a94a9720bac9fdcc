"""组长和办公室: keyword queries, role refusals, period words, corrections with their audit rows,
the office's commands, and 导出本季度 in chat — all through the real parser and pipeline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

import app as app_module
from app import PLATFORMS
from bot import outbox
from bot.config import settings_from_dict
from bot.messages import Incoming
from bot.platforms.dingtalk import DingtalkPushClient
from bot.platforms.wecom import WecomPushClient
from bot.runtime import build_runtime
from models import (
    Activity,
    CheckIn,
    LateEntry,
    LeaveRequest,
    LiaisonGroup,
    OutboxMessage,
    RecordChange,
    Submission,
)
from tests.conftest import NOW
from tests.fakes.dingtalk_server import FakeDingtalk
from tests.fakes.wecom_server import FakeWecom, push_settings

D = dt.date


@pytest.fixture
def config_dict(config_dict, tmp_path):
    config_dict["exports"] = {"dir": str(tmp_path / "exports")}
    return config_dict


@pytest.fixture
def db(runtime):
    """db(fn) runs fn(session) in a transaction and returns its result."""

    def run(fn):
        with runtime.sessions.begin() as s:
            return fn(s)

    return run


@pytest.fixture
def activity(db, roster):
    def add(
        day: dt.date, kind: str = "inspection", group: str = "第一联络组", title: str = "城区污水处理厂"
    ) -> int:
        def go(s):
            gid = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == group))
            a = Activity(group_id=gid, kind=kind, title=title, date=day, created_at=NOW)
            s.add(a)
            s.flush()
            return a.id

        return db(go)

    return add


def _changes(db, table: str, row_id: int) -> list[tuple]:
    return db(
        lambda s: [
            (c.field, c.old_value, c.new_value, c.changed_by_id, c.source_message_id is not None)
            for c in s.scalars(
                select(RecordChange)
                .where(RecordChange.table_name == table, RecordChange.row_id == row_id)
                .order_by(RecordChange.id)
            )
        ]
    )


def _latest_submission(db) -> int:
    return db(lambda s: s.scalar(select(Submission.id).order_by(Submission.id.desc()).limit(1)))


# -- leaders' queries ----------------------------------------------------------------------------


def test_inspections_this_quarter_list_who_came_who_was_excused_and_who_was_absent(say, activity):
    a = activity(D(2026, 11, 5))
    activity(D(2026, 11, 6), kind="inspection", group="第二联络组")  # another group's: not shown
    say("张三", "签到", now=dt.datetime(2026, 11, 5, 9, 30, tzinfo=NOW.tzinfo))
    say("王组长", "签到", now=dt.datetime(2026, 11, 5, 9, 31, tzinfo=NOW.tzinfo))
    activity(D(2026, 12, 2))
    say("李四", "请假 12月2日的视察 单位开会")
    say("王组长", "同意 李四")
    del a
    assert say("王组长", "本季度视察") == "\n".join(
        [
            "本季度视察2次（2026年第四季度）：",
            "11月5日（周四） 视察 城区污水处理厂：出席2人，缺席2人（李四、赵六）",
            "12月2日（周三） 视察 城区污水处理厂：出席0人，请假1人（李四）（未开始）",
        ]
    )


def test_pending_leave_and_late_entries_are_listed_with_their_numbers(say, activity, db):
    activity(D(2026, 12, 2))
    say("张三", "请假 12月2日的视察 单位开会")
    activity(D(2026, 11, 5), kind="study", title="学习")
    say("李四", "补报 11月5日 学习 签到")
    leave_id = db(lambda s: s.scalar(select(LeaveRequest.id)))
    late_id = db(lambda s: s.scalar(select(LateEntry.id)))
    answer = say("王组长", "待审批")
    assert answer.splitlines() == [
        "待审批请假1条：",
        f"#{leave_id} 张三 12月2日（周三） 视察 城区污水处理厂，事由：单位开会",
        f"回复「同意 #{leave_id}」或「驳回 #{leave_id} 理由」",
        "待确认补报1条：",
        f"#{late_id} 李四 11月5日（周四） 学习",
        f"回复「确认补报 #{late_id}」或「驳回补报 #{late_id} 理由」",
    ]
    assert say("孙组长", "请假情况") == "本组没有待审批的请假或补报。"


def test_leader_reads_one_members_record_and_a_member_only_their_own(say):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    answer = say("王组长", "张三的履职")
    assert answer.startswith("张三的履职记录（截至11月23日）：\n本月：社情民意1件")
    assert say("张三", "张三的履职").startswith("张三的履职记录")
    assert say("李四", "张三的履职") == "只能查看自己的履职记录，发送「我的履职」。"
    assert say("孙组长", "张三的履职") == "本组没有「张三」。"
    assert say("陈主任", "张三的履职").startswith("张三的履职记录")


def test_member_asking_for_the_groups_status_reads_their_own_and_lists_are_refused(say):
    assert say("张三", "本组情况").startswith("张三的履职记录（截至11月23日）：")
    assert say("张三", "待审批") == "只有组长（联络员）可以这样操作。"


def test_leader_asking_about_another_group_is_refused_and_the_office_may(say):
    assert say("王组长", "第二联络组情况") == "只能查看本组的情况。"
    assert say("王组长", "第二联络组本季度视察") == "只能查看本组的情况。"
    assert say("陈主任", "第二联络组情况").startswith("第二联络组履职情况（截至11月23日）：")
    assert say("陈主任", "第九联络组情况") == "没有名为「第九联络组」的联络组。"


def test_a_group_named_with_arabic_numerals_is_the_same_group(say):
    assert say("陈主任", "第2联络组情况").startswith("第二联络组履职情况（截至11月23日）：")
    assert say("王组长", "第1联络组情况").startswith("第一联络组履职情况（截至11月23日）：")


def test_county_ranking_lists_groups_behind_first_and_only_for_the_office(say, runtime, db):
    def more_groups(s):
        for i in range(12):
            s.add(LiaisonGroup(name=f"测试{i:02d}联络组", created_at=NOW))

    db(more_groups)
    say("周七", "社情民意：关于停车的建议。停车难。")
    answer = say("陈主任", "全县情况").splitlines()
    assert answer[0] == "全县14个联络组履职情况（截至11月23日）：14个组有未完成任务"
    # 第二联络组 has this month's note: fewest rules missed, so it comes last among those behind.
    assert answer[1].startswith("1. ❌ 第一联络组 0/6项（欠：")
    assert answer[-1] == "…另有4个组未完成"
    assert len(answer) == 12
    assert say("王组长", "全县情况") == "只有县政协办公室的管理员可以查看全县情况。"


@pytest.mark.parametrize(
    ("word", "status_head", "my_line"),
    [
        ("本月", "第一联络组履职情况（截至11月23日）：", "本月："),
        ("上月", "第一联络组上月履职情况：", "上月："),
        ("本季度", "第一联络组履职情况（截至11月23日）：", "本季度："),
        ("上季度", "第一联络组上季度履职情况：", "上季度："),
        ("上半年", "第一联络组上半年履职情况：", "上半年："),
        ("今年", "第一联络组履职情况（截至11月23日）：", "今年："),
        ("去年", "第一联络组去年履职情况：", "去年："),
        ("2026年第三季度", "第一联络组上季度履职情况：", "上季度："),
    ],
)
def test_every_period_word_applies_to_status_and_my(say, word, status_head, my_line):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。", now=dt.datetime(2026, 8, 10, 9, tzinfo=NOW.tzinfo))
    status = say("王组长", f"{word}本组情况").splitlines()
    assert status[0] == status_head
    mine = say("张三", f"我的履职 {word}").splitlines()
    assert len(mine) == 2 and mine[1].startswith(my_line)
    in_q3 = word in ("上季度", "2026年第三季度", "今年")
    assert ("社情民意1件" in mine[1]) is in_q3


# -- corrections with an audit trail ---------------------------------------------------------------


def test_member_withdraws_latest_note_within_the_window_and_the_change_is_audited(say, db, roster):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest_submission(db)
    later = NOW + dt.timedelta(minutes=10)
    assert say("张三", "撤回", now=later) == (
        f"已撤回社情民意#{sid}《关于路灯的建议》，不再计入履职统计（记录保留备查）。"
    )
    assert db(lambda s: s.get(Submission, sid).status) == "withdrawn"
    assert _changes(db, "submission", sid) == [("status", "submitted", "withdrawn", roster["张三"], True)]
    assert say("王组长", "谁还没交社情民意", now=later) == "本月还没交社情民意的：张三、李四、赵六（共3人）"


def test_the_last_thing_sent_is_what_a_few_words_take_back_a_leave_or_a_note(say, db):
    """刚才那条不算 / 刚才发错了 / 撤回, with no number or kind: whatever the member sent last."""
    assert say("王组长", "发布活动 11月25日上午9点 视察 城区污水处理厂").startswith("已发布活动")
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest_submission(db)
    leave = say("张三", "请假 11月25日的视察 出差", now=NOW + dt.timedelta(minutes=1))
    assert "等待组长审批" in leave
    lid = int(leave.split("#", 1)[1].split("：", 1)[0])
    # the leave came after the note: the leave is taken back, the note stays
    assert say("张三", "刚才那条不算", now=NOW + dt.timedelta(minutes=2)) == (
        f"已撤回请假#{lid}（11月25日（周三） 09:00 视察 城区污水处理厂），请按时参加。"
    )
    assert db(lambda s: s.get(Submission, sid).status) == "submitted"
    assert say("张三", "刚才发错了", now=NOW + dt.timedelta(minutes=3)) == (
        f"已撤回社情民意#{sid}《关于路灯的建议》，不再计入履职统计（记录保留备查）。"
    )
    assert db(lambda s: s.get(Submission, sid).status) == "withdrawn"
    assert say("张三", "刚才那条不算", now=NOW + dt.timedelta(minutes=4)) == "您还没有可以撤回或更正的材料。"
    # a part to correct, or the check-in, is not a withdrawal
    assert say("张三", "刚才的日期不算").startswith("没看懂")


def test_withdrawing_after_the_window_is_refused_but_the_leader_may(say, db):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest_submission(db)
    late = NOW + dt.timedelta(minutes=31)
    assert say("张三", "撤回", now=late) == (
        f"材料#{sid}提交已超过30分钟，不能自行撤回或更正，请联系组长或县政协办公室。"
    )
    assert say("李四", f"撤回 #{sid}") == f"材料#{sid}不是您提交的，只能撤回或更正自己的材料。"
    assert say("王组长", f"撤回 #{sid}", now=late).startswith(f"已撤回社情民意#{sid}")
    assert db(lambda s: s.get(Submission, sid).status) == "withdrawn"


def test_correction_replaces_title_and_content_and_keeps_the_old_ones(say, db, roster):
    say("张三", "社情民意：关于路登的建议。晚上太黑。")
    sid = _latest_submission(db)
    assert say("张三", "更正 关于路灯的建议。晚上太黑，老人出行不便。") == (
        f"已更正社情民意#{sid}《关于路灯的建议》（原内容已留档）。"
    )
    row = db(lambda s: s.get(Submission, sid))
    assert (row.title, row.content) == ("关于路灯的建议", "晚上太黑，老人出行不便。")
    assert _changes(db, "submission", sid) == [
        ("title", "关于路登的建议", "关于路灯的建议", roster["张三"], True),
        ("content", "晚上太黑。", "晚上太黑，老人出行不便。", roster["张三"], True),
    ]


def test_member_late_entry_counts_only_after_the_leader_confirms(say, db, activity, roster):
    aid = activity(D(2026, 11, 5))
    answer = say("李四", "补报 11月5日 视察 签到")
    eid = db(lambda s: s.scalar(select(LateEntry.id)))
    assert answer == f"已提交补报#{eid}：11月5日（周四） 视察 城区污水处理厂，等待组长确认。"
    assert db(lambda s: s.scalar(select(CheckIn.id))) is None
    notice = db(lambda s: s.scalars(select(OutboxMessage)).one())
    assert notice.member_id == roster["王组长"] and f"确认补报 #{eid}" in notice.text
    assert (
        say("王组长", f"确认补报 #{eid}")
        == f"已确认补报#{eid}（李四，11月5日（周四） 视察 城区污水处理厂），计为出席。"
    )
    checkin = db(lambda s: s.scalars(select(CheckIn)).one())
    assert (checkin.activity_id, checkin.member_id, checkin.late_entry) == (aid, roster["李四"], True)
    assert _changes(db, "late_entry", eid) == [("status", "pending", "confirmed", roster["王组长"], True)]
    assert _changes(db, "checkin", checkin.id) == [("created", None, f"补报#{eid}", roster["王组长"], True)]


def test_leader_late_entry_for_a_member_is_recorded_at_once_and_rejection_keeps_the_reason(
    say, db, activity, roster
):
    activity(D(2026, 11, 5), kind="study", title="学习")
    assert say("王组长", "补报 张三 11月5日 签到").startswith("已为张三补报#")
    assert db(lambda s: s.scalars(select(CheckIn)).one().member_id) == roster["张三"]
    say("赵六", "补报 11月5日 签到")
    eid = db(lambda s: s.scalar(select(LateEntry.id).where(LateEntry.status == "pending")))
    assert say("王组长", f"驳回补报 #{eid} 当天不在现场").endswith("，理由：当天不在现场。")
    entry = db(lambda s: s.get(LateEntry, eid))
    assert (entry.status, entry.decision_reason) == ("rejected", "当天不在现场")
    assert say("李四", "补报 张三 11月5日 签到") == "只能为自己补报；为他人补报请由组长操作。"
    assert say("李四", "补报 2026年12月5日 签到") == "12月5日（周六）还没到，不能补报；活动当天请直接签到。"
    assert say("李四", "补报 12月5日 签到") == "12月5日（周五）本组没有活动，请核对日期。"  # last year's


def test_checking_in_for_someone_else_is_a_late_entry_a_leader_records_and_a_member_may_not(say, db, activity, roster):
    aid = activity(NOW.date())
    assert say("王组长", "帮张三签个到").startswith("已为张三补报#")
    assert say("李四", "替赵六签到") == "只能为自己补报；为他人补报请由组长操作。"
    rows = db(lambda s: s.execute(select(CheckIn.activity_id, CheckIn.member_id, CheckIn.late_entry)).all())
    assert rows == [(aid, roster["张三"], True)]  # neither sender was checked in


def test_a_new_title_alone_changes_the_title_and_keeps_the_text(say, db, roster):
    say("赵六", "社情民意：关于留守老人的建议。村里留守老人多，建议设日间照料中心。")
    sid = _latest_submission(db)
    assert say("赵六", "我刚才那篇写错了，标题应该是关于留守老人关爱的建议") == (
        f"已更正社情民意#{sid}《关于留守老人关爱的建议》（原内容已留档）。"
    )
    row = db(lambda s: s.get(Submission, sid))
    assert (row.title, row.content) == ("关于留守老人关爱的建议", "村里留守老人多，建议设日间照料中心。")
    assert [c[:3] for c in _changes(db, "submission", sid)] == [
        ("title", "关于留守老人的建议", "关于留守老人关爱的建议")
    ]
    say("赵六", "更正：刚才那篇标题错了，应该是关于留守老人关爱服务的建议")
    row = db(lambda s: s.get(Submission, sid))
    assert (row.title, row.content) == ("关于留守老人关爱服务的建议", "村里留守老人多，建议设日间照料中心。")


def test_saying_what_kind_the_last_note_was_changes_its_kind_once_and_audits_it(say, db, roster):
    say("张三", "社情民意：关于农村电商物流的调研。我县农村电商物流成本高。")
    sid = _latest_submission(db)
    assert say("张三", "刚才那篇是调研报告") == (
        f"已把社情民意#{sid}《关于农村电商物流的调研》改记为调研报告#{sid}，按调研报告计入统计。"
    )
    assert say("张三", "刚才那篇是调研报告") == f"调研报告#{sid}《关于农村电商物流的调研》已按调研报告记录，无需更改。"
    row = db(lambda s: s.get(Submission, sid))
    assert (row.kind, row.title) == ("report", "关于农村电商物流的调研")
    assert _changes(db, "submission", sid) == [("kind", "opinion", "report", roster["张三"], True)]
    assert _latest_submission(db) == sid  # no new note
    assert say("李四", f"#{sid}改为建议") == f"材料#{sid}不是您提交的，只能撤回或更正自己的材料。"


def test_a_late_entry_named_by_its_week_finds_the_one_activity_or_asks_for_the_day(say, db, activity, roster):
    # NOW is Monday 11月23日: 上周 is 11月16日–22日.
    aid = activity(D(2026, 11, 18), kind="meeting", title="座谈会")
    answer = say("李四", "上周的座谈会我去了但是忘记签到了")
    entry = db(lambda s: s.scalars(select(LateEntry)).one())
    assert (entry.activity_id, entry.member_id, entry.status) == (aid, roster["李四"], "pending")
    assert answer == f"已提交补报#{entry.id}：11月18日（周三） 会议/座谈 座谈会，等待组长确认。"
    assert say("赵六", "上周的视察我去了忘记签到了") == "上周本组没有视察，请写明活动日期，例如：补报 11月5日 视察 签到"
    activity(D(2026, 11, 20))
    assert say("赵六", "上周的活动我去了忘记签到了") == (
        "上周本组有2个活动（11月18日（周三）会议/座谈、11月20日（周五）视察），请写明日期，例如：补报 11月18日 签到"
    )
    assert db(lambda s: len(s.scalars(select(LateEntry)).all())) == 1
    # 上次: the latest of that kind within two weeks; 上次 is not a name to report for.
    assert say("赵六", "补报上次的视察").startswith("已提交补报#")
    assert db(lambda s: s.scalars(select(LateEntry).where(LateEntry.member_id == roster["赵六"])).one().activity_id) != aid


# -- the office's commands -------------------------------------------------------------------------


def test_office_marks_a_note_adopted_at_a_level_and_the_member_is_told(say, db, roster):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest_submission(db)
    assert say("陈主任", f"采用 #{sid} 市级") == f"已标记张三的社情民意#{sid}《关于路灯的建议》为市级采用。"
    row = db(lambda s: s.get(Submission, sid))
    assert (row.status, row.adopted_level, row.adopted_at) == ("adopted", "市级", NOW)
    assert _changes(db, "submission", sid) == [
        ("status", "submitted", "adopted", roster["陈主任"], True),
        ("adopted_level", None, "市级", roster["陈主任"], True),
    ]
    assert "已被市级采用" in db(lambda s: s.scalars(select(OutboxMessage)).one().text)
    assert say("张三", "撤回", now=NOW + dt.timedelta(minutes=5)).startswith(
        f"社情民意#{sid}《关于路灯的建议》已被市级采用"
    )
    assert (
        say("陈主任", f"采用 #{sid} 乡级") == f"请写明采用级别（县级/市级/省级/全国），例如：采用 #{sid} 市级"
    )


def test_member_or_leader_marking_adoption_is_refused(say, db):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest_submission(db)
    assert say("张三", f"采用 #{sid} 市级") == "只有县政协办公室的管理员可以这样操作。"
    assert say("王组长", f"批示 #{sid} 县长") == "只有县政协办公室的管理员可以这样操作。"
    assert db(lambda s: s.get(Submission, sid).status) == "submitted"


def test_office_records_a_leaders_comment(say, db, roster):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest_submission(db)
    assert say("陈主任", f"批示 #{sid} 县委书记：请城管局研究") == (
        f"已记录张三的社情民意#{sid}《关于路灯的建议》获县委书记批示：请城管局研究。"
    )
    notice = db(lambda s: s.scalars(select(OutboxMessage)).one())
    assert (notice.member_id, notice.text) == (
        roster["张三"],
        "您的社情民意《关于路灯的建议》获县委书记批示：请城管局研究。",
    )
    row = db(lambda s: s.get(Submission, sid))
    assert (row.instruction, row.instructed_at) == ("县委书记：请城管局研究", NOW)
    assert _changes(db, "submission", sid) == [
        ("instruction", None, "县委书记：请城管局研究", roster["陈主任"], True)
    ]


def test_deactivated_member_is_refused_until_reactivated(say, db, roster):
    assert say("陈主任", "停用 赵六") == "已停用赵六，其记录保留，不再计入任务和提醒。"
    assert say("赵六", "我的履职") == "您的账号已停用，如有疑问请联系县政协办公室。"
    assert say("陈主任", "停用 赵六") == "赵六已是停用状态。"
    assert say("陈主任", "启用 赵六") == "已启用赵六，恢复计入任务和提醒。"
    assert say("赵六", "我的履职").startswith("赵六的履职记录")
    assert _changes(db, "member", roster["赵六"]) == [
        ("active", "True", "False", roster["陈主任"], True),
        ("active", "False", "True", roster["陈主任"], True),
    ]
    assert say("王组长", "停用 张三") == "只有县政协办公室的管理员可以这样操作。"


def test_leader_exports_this_quarter_in_chat_and_is_told_where_the_file_is(say, tmp_path):
    answer = say("王组长", "导出本季度")
    files = list((tmp_path / "exports").glob("*.xlsx"))
    assert len(files) == 1 and files[0].name.startswith("履职档案_第一联络组_2026年第四季度_")
    assert answer == f"已导出第一联络组2026年第四季度履职档案：{files[0]}（请向县政协办公室索取该文件）。"
    assert say("张三", "导出本季度") == "只有组长（联络员）可以这样操作。"
    assert Path(files[0]).stat().st_size > 0


def test_the_office_admin_exporting_in_chat_is_told_where_the_file_is_not_to_ask_herself(say, tmp_path):
    answer = say("陈主任", "导出今年")
    [path] = (tmp_path / "exports").glob("*.xlsx")
    assert answer == f"已导出全县2026年履职档案，文件保存在运行机器人的电脑上：{path}"
    assert "索取" not in answer


def test_the_county_is_exported_when_named_even_from_a_groups_chat_and_only_by_the_office(say, tmp_path):
    answer = say("陈主任", "导出全县今年", chat_id="chat-g1", is_group=True, platform="wecom_bot", sender_id="chen")
    [path] = (tmp_path / "exports").glob("*.xlsx")
    assert path.name.startswith("履职档案_全县_2026年_") and "全县2026年" in answer
    assert say("王组长", "导出全县") == "只有县政协办公室的管理员可以导出全县的履职档案。"


@pytest.mark.parametrize(
    ("written", "notice"),
    [
        ("县长", "获县长批示。"),
        ("县委书记批示：请交通局牵头研究解决", "获县委书记批示：请交通局牵头研究解决。"),
        ("请交通局牵头研究解决村道安全问题并反馈", "获批示：请交通局牵头研究解决村道安全问题并反馈。"),
    ],
)
def test_the_instruction_notice_reads_leader_then_comment(say, db, written, notice):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest_submission(db)
    say("陈主任", f"批示 #{sid} {written}")
    assert (
        db(lambda s: s.scalars(select(OutboxMessage)).one().text) == f"您的社情民意《关于路灯的建议》{notice}"
    )


def test_through_the_wecom_app_the_export_file_itself_is_sent_to_the_leader_alone(
    runtime, roster, config_dict
):
    fake = FakeWecom().start()
    try:
        settings = push_settings(config_dict, fake.base)
        rt = build_runtime(settings, app_module.ROUTERS, platforms=PLATFORMS, engine=runtime.engine)
        incoming = Incoming(
            platform="wecom_bot",
            chat_id="chat-g1",
            sender_id="wang",
            sender_name=None,
            text="导出本季度",
            msg_id="EXPORT1",
            sent_at=NOW,
            is_group=True,
        )
        answer = rt.pipeline.handle(incoming, NOW).reply.text
        [path] = Path(config_dict["exports"]["dir"]).glob("*.xlsx")
        assert answer == f"已导出第一联络组2026年第四季度履职档案，文件稍后私信发给您（服务器上：{path}）。"
        report = outbox.Deliverer(
            rt.sessions, settings, PLATFORMS.with_clients({"wecom": WecomPushClient(settings)})
        ).deliver(NOW)
        assert report.sent == 1
        assert fake.media == {"media-1": (path.name, path.read_bytes())}
        [send] = fake.calls_to("/cgi-bin/message/send")
        assert (send.body["touser"], send.body["msgtype"], send.body["file"]) == (
            "wang",
            "file",
            {"media_id": "media-1"},
        )
        assert fake.calls_to("/cgi-bin/webhook/send") == []  # never into the group chat
    finally:
        fake.stop()


def test_through_the_dingtalk_app_robot_the_export_file_goes_to_the_leader_alone(
    runtime, roster, config_dict
):
    with FakeDingtalk() as fake:
        ding = {"app_key": "ding-app-key", "app_secret": "ding-app-secret", "robot_code": "ding-robot",
                "api_base": fake.url, "oapi_base": fake.url}  # fmt: skip
        settings = settings_from_dict({**config_dict, "dingtalk": ding}, "test")
        rt = build_runtime(settings, app_module.ROUTERS, platforms=PLATFORMS, engine=runtime.engine)
        incoming = Incoming(
            platform="dingtalk",
            chat_id="cidGroupOne==",
            sender_id="dt_wang",
            sender_name="王组长",
            text="导出今年",
            msg_id="EXPORT2",
            sent_at=NOW,
            is_group=True,
        )
        answer = rt.pipeline.handle(incoming, NOW).reply.text
        [path] = Path(config_dict["exports"]["dir"]).glob("*.xlsx")
        assert answer == f"已导出第一联络组2026年履职档案，文件稍后私信发给您（服务器上：{path}）。"
        report = outbox.Deliverer(
            rt.sessions, settings, PLATFORMS.with_clients({"dingtalk": DingtalkPushClient(settings)})
        ).deliver(NOW)
        assert report.sent == 1
        [(media_id, stored)] = fake.media.items()
        assert stored == (path.name, path.read_bytes())
        [send] = fake.to("/v1.0/robot/oToMessages/batchSend")
        assert (send.json["userIds"], send.json["msgKey"]) == (["dt_wang"], "sampleFile")
        assert fake.to("/v1.0/robot/groupMessages/send") == [] and fake.to("/robot/send") == []
