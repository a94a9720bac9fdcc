"""履职积分 (issue 18): a simulated year of two groups, played through the chat, scored by the shipped
rules and checked against the hand calculation written out below; the other shipped scheme (济南,
commented out in config.yaml) with its base and deductions; the roles of each question."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml
from sqlalchemy import select

from bot.config import settings_from_dict
from bot.periods import period_of
from bot.scoring import year_scores
from models import Activity, CheckIn, LiaisonGroup, Submission
from tests.conftest import ROOT, TZ

NOW = dt.datetime(2026, 12, 20, 10, 0, tzinfo=TZ)


def at(month: int, day: int, hour: int = 9, minute: int = 30, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def year(runtime, roster, say):
    """The year 2026 of 第一联络组 and 第二联络组, as the chat recorded it."""

    def activity(group: str, kind: str, day: dt.date, cancelled: bool = False) -> int:
        with runtime.sessions.begin() as s:
            gid = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == group))
            a = Activity(
                group_id=gid,
                kind=kind,
                title=f"{kind}活动",
                date=day,
                time=dt.time(9, 0),
                cancelled=cancelled,
                created_at=at(1, 2),
            )
            s.add(a)
            s.flush()
            return a.id

    g1, g2 = "第一联络组", "第二联络组"
    activity(g1, "meeting", dt.date(2026, 3, 10))
    activity(g1, "collective", dt.date(2026, 6, 15))
    activity(g1, "inspection", dt.date(2026, 9, 8))
    activity(g1, "study", dt.date(2026, 11, 5))
    activity(g1, "meeting", dt.date(2026, 12, 25))  # still ahead on NOW: nobody is absent from it
    activity(g1, "meeting", dt.date(2026, 7, 1), cancelled=True)  # cancelled: counts for no one
    activity(g2, "meeting", dt.date(2026, 4, 12))
    research = activity(g2, "research", dt.date(2026, 10, 20))

    def checkin(name: str, when: dt.datetime) -> None:
        assert say(name, "签到", now=when).startswith("签到成功"), name

    for when in (at(3, 10), at(6, 15), at(9, 8), at(11, 5)):
        checkin("张三", when)
    for when in (at(3, 10), at(6, 15), at(9, 8)):
        checkin("王组长", when)
    checkin("李四", at(6, 15))
    assert "请假" in say("李四", "请假 3月10日的会议 家里有事", now=at(3, 1))
    say("王组长", "同意 李四", now=at(3, 1, 10))
    say("李四", "请假 12月25日的会议 出差", now=at(12, 18))
    say("王组长", "同意 李四", now=at(12, 18, 10))
    with runtime.sessions.begin() as s:  # 李四 joined the other group's research (its leader's 补报)
        s.add(
            CheckIn(activity_id=research, member_id=roster["李四"], checked_in_at=at(10, 20), late_entry=True)
        )
    for when in (at(4, 12), at(10, 20)):
        checkin("孙组长", when)
        checkin("周七", when)

    def note(name: str, text: str, when: dt.datetime) -> int:
        assert "编号#" in say(name, text, now=when), text
        with runtime.sessions.begin() as s:
            return s.scalar(select(Submission.id).order_by(Submission.id.desc()).limit(1))

    adopted = note("张三", "社情民意：关于路灯的建议。晚上太黑。建议增设。", at(2, 3))
    instructed = note("张三", "社情民意：关于井盖的建议。井盖缺失。建议补齐。", at(5, 3))
    note("张三", "社情民意：关于校车的建议。校车不足。建议增加。", at(8, 3))
    proposal = note("张三", "提案：关于老旧小区改造的提案。建议加大投入。", at(1, 20))
    note("张三", "建议：图书馆延长开放时间", at(4, 4))
    note("张三", "社情民意：去年的一篇。去年交的。建议。", at(12, 1, year=2025))  # last year's
    note("王组长", "提案：关于农村道路的提案。道路破损。建议修缮。", at(3, 3))
    note("王组长", "社情民意：关于菜市场的建议。脏乱。建议整治。", at(6, 6))
    note("王组长", "社情民意：关于公厕的建议。太少。建议增建。", at(9, 9))
    note("王组长", "调研报告：乡村学校寄宿生情况调研。问卷300份。", at(7, 7))
    note("王组长", "调研报告：县域养老服务调研。走访10个村。", at(10, 10))
    note("李四", "社情民意：关于快递柜的建议。不够用。建议增设。", at(5, 5))
    note("孙组长", "社情民意：撤回的一篇。内容。建议。", at(6, 1))
    say("孙组长", "撤回", now=at(6, 1, 9, 40))
    for i in range(6):
        note("周七", f"建议：第{i + 1}条建议的标题，内容{i}", at(3 + i, 2))
    say("陈主任", f"采用 #{adopted} 市级", now=at(3, 1))
    say("陈主任", f"批示 #{instructed} 县委书记：请研究", now=at(6, 1))
    say("陈主任", f"批示 #{instructed} 副县长：已阅", now=at(6, 2))
    say("陈主任", f"采用 #{proposal} 县级", now=at(4, 1))


# The hand calculation with the shipped rules (config.yaml, scoring: 会议 10/6/0 cap 50; 活动 2 cap 10;
# 提案 10 + 15 adopted, cap 25; 社情民意 10 + 5 adopted + 5 per 批示, cap 15; 其他履职 2, cap 10).
HAND = {
    # 会议 2×10; 活动 2×2; 提案 10+15=25; 社情民意 3×10+5+2×5=45 → 15; 其他 1×2
    "张三": (20, 4, 25, 15, 2),
    # 会议 2×10; 活动 1×2; 提案 10; 社情民意 2×10=20 → 15; 其他 2×2
    "王组长": (20, 2, 10, 15, 4),
    # 会议 1×10 + leave 2×6 (3月10日, and 12月25日 approved ahead); 活动: the other group's research 2
    "李四": (22, 2, 0, 10, 0),
    "赵六": (0, 0, 0, 0, 0),  # absent from all four: the shipped scheme deducts nothing
    "孙组长": (10, 2, 0, 0, 0),  # the withdrawn note counts for nothing
    "周七": (10, 2, 0, 0, 10),  # 6 suggestions × 2 = 12 → cap 10
}
TOTALS = {name: sum(parts) for name, parts in HAND.items()}
GRADES = {
    "张三": "称职",
    "王组长": "基本称职",
    "李四": "不称职",
    "赵六": "不称职",
    "孙组长": "不称职",
    "周七": "不称职",
}


def test_a_simulated_year_scores_as_the_hand_calculation(year, runtime, roster):
    assert TOTALS == {"张三": 66, "王组长": 51, "李四": 34, "赵六": 0, "孙组长": 12, "周七": 22}
    with runtime.sessions.begin() as s:
        scores = year_scores(s, runtime.settings.scoring, period_of("year", NOW.date()), NOW, TZ)
    got = {sc.name: tuple(p.points for p in sc.parts) for sc in scores}
    assert got == HAND
    assert {sc.name: sc.grade for sc in scores} == GRADES
    assert [(sc.name, sc.rank) for sc in scores] == [
        ("张三", 1),
        ("王组长", 2),
        ("李四", 3),
        ("周七", 4),
        ("孙组长", 5),
        ("赵六", 6),
    ]
    assert "陈主任" not in got  # the office is not scored


def test_my_score_shows_each_category_and_what_would_raise_it(year, say):
    assert say("张三", "我的积分", now=NOW) == "\n".join(
        [
            "张三2026年履职积分：66分（称职），全县第1名、组内第1名（截至12月20日）",
            "会议20/50（出席2次）；活动4/10（出席2次）；提案25/25（1件，采用1件）；"
            "社情民意15/15（3件，采用1件，批示2次）；其他履职2/10（1件）",
            "提分：参加会议每次+10分；参加活动每次+2分；提交其他履职每件+2分",
        ]
    )
    reply = say("李四", "我的积分", now=NOW)
    assert "34分（不称职）" in reply and "会议22/50（出席1次，请假2次）" in reply
    assert "距合格线60分还差26分。" in reply


def test_the_leader_sees_the_groups_ranking_and_who_is_below_the_pass_mark(year, say):
    assert say("王组长", "本组积分", now=NOW) == "\n".join(
        [
            "第一联络组2026年履职积分（截至12月20日，合格线60分）：",
            "1. 张三 66分 称职",
            "2. 王组长 51分 基本称职",
            "3. 李四 34分 不称职",
            "4. 赵六 0分 不称职",
            "低于合格线：王组长、李四、赵六",
        ]
    )
    assert say("张三", "本组积分", now=NOW) == "本组积分由组长查看；您可以发「我的积分」。"
    assert say("王组长", "全县积分排名", now=NOW) == "全县积分排名由县政协办公室查看；组长可发「本组积分」。"
    assert say("王组长", "第二联络组积分", now=NOW) == "只能查看本组的情况。"


def test_one_members_score_by_name_for_their_leader_and_the_office_only(year, say):
    own = say("张三", "我的积分", now=NOW)
    assert say("王组长", "张三今年的积分", now=NOW) == own
    assert say("陈主任", "张三的积分多少", now=NOW) == own
    assert say("张三", "张三的积分", now=NOW) == own
    assert say("李四", "张三的积分", now=NOW) == "只能查看自己的积分，发送「我的积分」。"
    assert say("孙组长", "张三的积分", now=NOW) == "本组没有「张三」，请核对姓名。"
    assert say("陈主任", "周七的积分", now=NOW).startswith("周七2026年履职积分：22分（不称职）")


def test_the_office_sees_the_county_and_any_group(year, say):
    reply = say("陈主任", "全县积分排名", now=NOW)
    lines = reply.split("\n")
    assert (
        lines[0]
        == "全县2026年履职积分（截至12月20日，共6人）：称职1人、基本称职1人、不称职4人；低于合格线60分5人"
    )
    assert lines[2:] == [
        "1. 张三（第一联络组）66分",
        "2. 王组长（第一联络组）51分",
        "3. 李四（第一联络组）34分",
        "4. 周七（第二联络组）22分",
        "5. 孙组长（第二联络组）12分",
        "6. 赵六（第一联络组）0分",
    ]
    assert say("陈主任", "第二联络组积分", now=NOW).split("\n")[1:] == [
        "1. 周七 22分 不称职",
        "2. 孙组长 12分 不称职",
        "低于合格线：周七、孙组长",
    ]
    assert say("陈主任", "我的积分", now=NOW).startswith("县政协办公室人员不计履职积分")
    # Last year: only the note of December 2025.
    assert say("张三", "我去年的积分", now=NOW).startswith("张三2025年履职积分：10分（不称职）")


def _jinan(config_dict: dict) -> dict:
    """config.yaml's commented-out 济南 scheme, uncommented as an office would."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    block = re.search(r"^# 另一种做法：济南[^\n]*\n((?:#[^\n]*\n)+)", text, re.M)[1]
    scoring = yaml.safe_load("\n".join(line[2:] for line in block.splitlines()))["scoring"]
    return {**config_dict, "scoring": scoring}


def test_the_other_shipped_scheme_has_a_base_deductions_and_a_ceiling(year, runtime, config_dict):
    rules = settings_from_dict(_jinan(config_dict), "jinan").scoring
    with runtime.sessions.begin() as s:
        scores = {sc.name: sc for sc in year_scores(s, rules, period_of("year", NOW.date()), NOW, TZ)}
    # 济南: base 70; 会议 on leave −10, absent −30; 活动 3 each, absent −3, cap 20;
    # 提案和社情民意 5 each, adopted 县级 3 / 市级 5, 批示 5, cap 30; at most 120.
    assert scores["赵六"].total == 70 - 2 * 30 - 2 * 3  # absent from 2 meetings and 2 activities
    # 李四: 2 meetings on leave; the other group's research attended, absent from the inspection and the study
    assert scores["李四"].total == 70 - 2 * 10 + (3 - 2 * 3) + 5
    # 张三: 会议 0; 活动 2×3; notes 4×5 + 3 (县级) + 5 (市级) + 2×5 = 38 → 30
    assert scores["张三"].total == 70 + 6 + 30
    assert scores["赵六"].grade == "不称职" and scores["张三"].grade == "优秀"


def test_a_scheme_with_an_unknown_kind_or_level_is_refused(config_dict):
    from bot.config import ConfigError

    bad = {
        **config_dict,
        "scoring": {"categories": [{"key": "x", "name": "x", "source": "activity", "kinds": ["opinion"]}]},
    }
    with pytest.raises(ConfigError, match="kinds"):
        settings_from_dict(bad, "bad")
    bad["scoring"]["categories"][0].update(source="submission", adopted={"乡级": 3})
    with pytest.raises(ConfigError, match="乡级"):
        settings_from_dict(bad, "bad")


def test_the_export_score_sheet_agrees_with_the_chat(year, runtime, say, tmp_path):
    import openpyxl

    from bot import export

    with runtime.sessions.begin() as s:
        path = export.write_file(s, runtime.settings, export.period_for(2026), None, NOW, tmp_path / "y.xlsx")
    rows = list(openpyxl.load_workbook(path)["积分"].iter_rows(values_only=True))
    head = rows[0][: rows[0].index("是否合格") + 1]
    assert head == (
        "排名",
        "组内排名",
        "联络组",
        "姓名",
        "会议",
        "活动",
        "提案",
        "社情民意",
        "其他履职",
        "总分",
        "等次",
        "是否合格",
    )
    sheet = {r[3]: r[: len(head)] for r in rows[1:]}
    assert {name: tuple(r[4:9]) for name, r in sheet.items()} == HAND
    assert {name: r[9] for name, r in sheet.items()} == TOTALS
    assert {name: r[10] for name, r in sheet.items()} == GRADES
    # The same ranks and totals as 全县积分排名 answers in chat.
    county = say("陈主任", "全县积分排名", now=NOW).split("\n")[2:]
    assert county == [f"{r[0]}. {r[3]}（{r[2]}）{r[9]:g}分" for r in sorted(sheet.values())]
    assert sheet["张三"][11] == "合格" and sheet["赵六"][11] == "不合格"


def test_leaders_hear_the_years_scores_on_the_first_workday_and_who_is_below(year, runtime, roster):
    from bot import reminders

    with runtime.sessions() as s:
        sent = [
            m
            for m in reminders.due(s, runtime.settings, dt.datetime(2027, 1, 4, 9, 30, tzinfo=TZ))
            if m.kind == "score"
        ]
        again = [
            m.key
            for m in reminders.due(s, runtime.settings, dt.datetime(2027, 1, 4, 15, 0, tzinfo=TZ))
            if m.kind == "score"
        ]
    texts = {m.member_id: m.text for m in sent}
    assert texts == {
        roster[
            "王组长"
        ]: "第一联络组2026年履职积分（全年）：平均37.8分；低于合格线60分：王组长（51分）、李四（34分）、赵六（0分），请安排约谈。",
        roster[
            "孙组长"
        ]: "第二联络组2026年履职积分（全年）：平均17.0分；低于合格线60分：周七（22分）、孙组长（12分），请安排约谈。",
    }
    assert again == [m.key for m in sent]  # the same keys all day: the outbox sends each once
    assert all(m.target_kind == "member" for m in sent)


def test_the_early_warning_projects_the_pace_of_the_year_within_each_cap(year, runtime):
    from bot.scoring import projected

    with runtime.sessions() as s:
        scores = {
            sc.name: sc
            for sc in year_scores(s, runtime.settings.scoring, period_of("year", NOW.date()), NOW, TZ)
        }
    rules = runtime.settings.scoring
    # Half the year gone: 李四's 22 + 2 + 10 become 44 + 4 + 20→15 (the 社情民意 cap): 63, on course.
    assert projected(rules, scores["李四"], 0.5) == 63
    assert projected(rules, scores["赵六"], 0.5) == 0
    # 张三 is already at the caps of 提案 and 社情民意: 40 + 8 + 25 + 15 + 4.
    assert projected(rules, scores["张三"], 0.5) == 92


def test_mid_year_the_leader_is_warned_of_who_would_end_below_the_pass_mark(runtime, roster, say):
    from bot import reminders

    say("张三", "提案：关于老旧小区改造的提案。建议加大投入。", now=at(2, 3))
    say("张三", "社情民意：关于路灯的建议。晚上太黑。建议增设。", now=at(3, 3))
    with runtime.sessions() as s:
        sent = [m for m in reminders.due(s, runtime.settings, at(7, 1, 9, 30)) if m.kind == "score"]
    text = {m.member_id: m.text for m in sent}[roster["王组长"]]
    # At the year's pace (181 of 365 days): 张三 10/0.496 → 20.2 + 10 → 15 (cap): 35.2.
    assert text == (
        "第一联络组2026年履职积分（截至6月30日）：平均5.0分；按目前进度年底可能低于合格线60分："
        "张三（预计35.2分）、王组长（预计0分）、李四（预计0分）、赵六（预计0分），请提醒。"
    )


def test_the_county_ranking_asked_in_a_groups_chat_is_the_countys(year, say):
    in_group = say(
        "陈主任",
        "全县积分",
        now=NOW,
        platform="wecom_bot",
        chat_id="chat-g1",
        is_group=True,
        sender_id="chen",
    )
    assert in_group.startswith("全县2026年履职积分（截至12月20日，共6人）")
