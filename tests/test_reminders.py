"""reminders.due(): who is @-ed, who is spared, and what is never sent twice or too late."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from bot import reminders
from bot.config import load_settings, settings_from_dict
from models import Activity, LeaveRequest, LiaisonGroup, Member, OutboxMessage, Submission
from tests.conftest import NOW, TZ

OPINION = {
    "key": "monthly_opinion",
    "name": "社情民意信息",
    "source": "submission",
    "kinds": ["opinion"],
    "period": "month",
    "deadline": {"day": 25},
    "remind_days_before": [5, 1],
}
PROPOSAL = {
    "key": "member_proposal",
    "name": "提案",
    "source": "submission",
    "kinds": ["proposal"],
    "period": "month",
    "scope": "member",
    "deadline": {"day": 25},
    "remind_days_before": [1],
}


def settings_with(config_dict, *rules, **extra):
    return settings_from_dict({**config_dict, "quotas": list(rules), **extra}, "test")


def due(runtime, settings, now):
    with runtime.sessions() as s:
        return reminders.due(s, settings, now)


def gid(runtime, name="第一联络组") -> int:
    with runtime.sessions() as s:
        return s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == name))


def submit(runtime, member_id, kind, when, group_id):
    with runtime.sessions.begin() as s:
        s.add(
            Submission(
                member_id=member_id, group_id=group_id, kind=kind, title="t", content="c", submitted_at=when
            )
        )


def test_group_rule_ats_the_leader_only_while_the_group_owes(runtime, roster, config_dict):
    settings = settings_with(config_dict, OPINION)
    at = dt.datetime(2026, 11, 24, 9, 30, tzinfo=TZ)  # the day-before stage of the 25th
    msgs = due(runtime, settings, at)
    assert {(m.group_id, tuple(p.name for p in m.mentions)) for m in msgs} == {
        (gid(runtime), ("王组长",)),
        (gid(runtime, "第二联络组"), ("孙组长",)),
    }
    assert all("截止11月25日" in m.text and m.key.endswith(":d1") for m in msgs)
    submit(runtime, roster["张三"], "opinion", at, gid(runtime))
    assert [m.group_id for m in due(runtime, settings, at)] == [gid(runtime, "第二联络组")]


def test_a_county_rewords_the_group_reminder_in_its_config_and_the_rest_reads_as_before(
    runtime, roster, config_dict, write_config
):
    reminders_section = config_dict["reminders"]
    wording = {
        **reminders_section["wording"],
        "quota_group": "【提醒】{rule}本组{done}/{minimum}{unit}，{deadline}前请完成。",
    }
    settings = load_settings(
        write_config(quotas=[OPINION], reminders={**reminders_section, "wording": wording})
    )
    at = dt.datetime(2026, 11, 24, 9, 30, tzinfo=TZ)
    assert {m.text for m in due(runtime, settings, at)} == {
        "【提醒】社情民意信息本组0/1件，11月25日前请完成。"
    }
    with runtime.sessions.begin() as s:
        s.add(
            Activity(
                group_id=gid(runtime),
                kind="meeting",
                title="座谈会",
                date=dt.date(2026, 11, 25),
                created_at=NOW,
            )
        )
    eve = [
        m.text
        for m in due(runtime, settings, dt.datetime(2026, 11, 24, 18, 0, tzinfo=TZ))
        if m.kind == "activity"
    ]
    assert eve == [
        "【活动提醒】明天（11月25日） 会议/座谈「座谈会」。请准时参加并签到，不能参加的请提前请假。"
    ]


def test_all_done_is_said_once_when_configured(runtime, roster, config_dict):
    settings = settings_with(config_dict, OPINION, reminders={"all_done_message": True})
    submit(runtime, roster["张三"], "opinion", NOW, gid(runtime))
    at = dt.datetime(2026, 11, 24, 9, 30, tzinfo=TZ)
    done = [m for m in due(runtime, settings, at) if m.kind == "all_done"]
    assert len(done) == 1 and "本月「社情民意信息」已全部完成" in done[0].text and done[0].mentions == ()


def test_member_rule_ats_only_active_members_below_the_minimum(runtime, roster, config_dict):
    settings = settings_with(config_dict, PROPOSAL)
    submit(runtime, roster["张三"], "proposal", NOW, gid(runtime))
    with runtime.sessions.begin() as s:
        s.get(Member, roster["赵六"]).active = False
    at = dt.datetime(2026, 11, 24, 9, 30, tzinfo=TZ)
    by_group = {m.group_id: [p.name for p in m.mentions] for m in due(runtime, settings, at)}
    assert by_group == {gid(runtime): ["李四"], gid(runtime, "第二联络组"): ["周七"]}


def test_a_missed_stage_is_sent_late_but_a_passed_one_never(runtime, roster, config_dict):
    settings = settings_with(config_dict, OPINION)
    late = due(runtime, settings, dt.datetime(2026, 11, 23, 8, 0, tzinfo=TZ))  # the 20th's stage, still open
    assert {m.key.rsplit(":", 1)[1] for m in late} == {"d5"}
    assert due(runtime, settings, dt.datetime(2026, 11, 26, 9, 0, tzinfo=TZ)) == []  # after the deadline


def test_activity_eve_spares_those_on_leave_pending_or_approved(runtime, roster, config_dict):
    settings = settings_with(config_dict)
    with runtime.sessions.begin() as s:
        a = Activity(
            group_id=gid(runtime),
            kind="meeting",
            title="座谈会",
            date=dt.date(2026, 11, 25),
            time=dt.time(15, 0),
            place="二楼",
            created_at=NOW,
        )
        s.add(a)
        s.flush()
        s.add(LeaveRequest(activity_id=a.id, member_id=roster["李四"], status="pending", requested_at=NOW))
    (m,) = due(runtime, settings, dt.datetime(2026, 11, 24, 18, 0, tzinfo=TZ))
    assert [p.name for p in m.mentions] == ["张三", "赵六"]
    # Afterwards the unapproved leave counts as absence in the leader's attendance report.
    (report,) = due(runtime, settings, dt.datetime(2026, 11, 25, 18, 0, tzinfo=TZ))
    assert report.target_kind == "member" and report.member_id == roster["王组长"]
    assert "出席0人；请假0人；缺席3人" in report.text


def test_due_writes_nothing(runtime, roster, config_dict):
    settings = settings_with(config_dict, OPINION, PROPOSAL)
    at = dt.datetime(2026, 11, 24, 9, 30, tzinfo=TZ)
    assert due(runtime, settings, at) == due(runtime, settings, at)
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
