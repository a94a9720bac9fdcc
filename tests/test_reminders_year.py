"""A simulated year (2026) over two groups: the exact reminders, whom they @ and when they go out,
through the 国庆 holiday week, make-up workdays, approved leave, a roster change and two outages."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.config import settings_from_dict
from bot.scheduler import enqueue_due
from models import Activity, CheckIn, LeaveRequest, LiaisonGroup, Member, OutboxMessage, Submission
from tests.conftest import TZ

YEAR_RULES = [
    {
        "key": "monthly_opinion",
        "name": "社情民意信息",
        "source": "submission",
        "kinds": ["opinion"],
        "period": "month",
        "deadline": {"day": 11},
        "remind_days_before": [4, 1],
        "remind_time": "09:00",
    },
    {
        "key": "quarterly_inspection",
        "name": "视察活动",
        "source": "activity",
        "kinds": ["inspection"],
        "period": "quarter",
        "remind_days_before": [10],
    },
    {
        "key": "member_proposal",
        "name": "提案",
        "source": "submission",
        "kinds": ["proposal"],
        "period": "year",
        "scope": "member",
        "remind_days_before": [30],
    },
]

OUTAGES = [  # the scheduler is down; it comes back at the end
    (dt.datetime(2026, 7, 6, 0, 0, tzinfo=TZ), dt.datetime(2026, 7, 8, 10, 0, tzinfo=TZ)),
    (dt.datetime(2026, 8, 6, 0, 0, tzinfo=TZ), dt.datetime(2026, 8, 10, 10, 0, tzinfo=TZ)),
]


ACTIVITY_DAYS = {dt.date(2026, 3, 12), dt.date(2026, 5, 14), dt.date(2026, 8, 13), dt.date(2026, 11, 12)}


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


def ticks():
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        hours = (9, 12, 16, 18) if day in ACTIVITY_DAYS else (9, 16, 18)  # 12:00: attendance reports
        times = [dt.datetime.combine(day, dt.time(hour), TZ) for hour in hours]
        times += [end for _, end in OUTAGES if end.date() == day]  # the first tick after an outage
        yield from sorted(t for t in times if not any(start <= t < end for start, end in OUTAGES))
        day += dt.timedelta(days=1)


@pytest.fixture
def year_settings(config_dict):
    return settings_from_dict({**config_dict, "quotas": YEAR_RULES}, "year test")


def events(ids: dict[str, int], groups: dict[str, int]):
    """(when, what to do in a session) for the year's records, in time order."""
    g1, g2 = groups["第一联络组"], groups["第二联络组"]
    out = []

    def submit(when, who, group, kind):
        def do(s):
            s.add(
                Submission(
                    member_id=ids[who], group_id=group, kind=kind, title=kind, content="…", submitted_at=when
                )
            )

        out.append((when, do))

    for month in range(1, 13):
        submit(at(month, 1, 10), "周七", g2, "opinion")
        if month <= 6 or month == 11:
            submit(at(month, 2 if month <= 6 else 8, 10), "张三", g1, "opinion")
    submit(at(3, 3, 10), "张三", g1, "proposal")
    submit(at(5, 6, 10), "赵六", g1, "proposal")

    def move_zhao_liu(s):
        s.get(Member, ids["赵六"]).group_id = g2  # mid-year roster change

    out.append((at(8, 1, 8), move_zhao_liu))

    for name, day, leave_for, present in [
        ("视察A", dt.date(2026, 3, 12), "李四", ["张三"]),
        ("视察B", dt.date(2026, 5, 14), None, ["张三", "李四"]),
        ("视察C", dt.date(2026, 8, 13), None, ["张三", "李四"]),
        ("视察D", dt.date(2026, 11, 12), None, ["张三", "李四"]),
    ]:
        assert day in ACTIVITY_DAYS
        announced = dt.datetime.combine(day - dt.timedelta(days=7), dt.time(10), TZ)

        def announce(s, name=name, day=day, leave_for=leave_for, announced=announced):
            a = Activity(
                group_id=g1,
                kind="inspection",
                title=name,
                date=day,
                time=dt.time(9, 0),
                place="城东社区",
                announced_by_id=ids["王组长"],
                created_at=announced,
            )
            s.add(a)
            s.flush()
            if leave_for:
                s.add(
                    LeaveRequest(
                        activity_id=a.id,
                        member_id=ids[leave_for],
                        reason="出差",
                        status="approved",
                        requested_at=announced,
                        decided_by_id=ids["王组长"],
                        decided_at=announced,
                    )
                )

        def check_in(s, name=name, present=present, day=day):
            aid = s.scalar(select(Activity.id).where(Activity.title == name))
            for who in present:
                s.add(
                    CheckIn(
                        activity_id=aid,
                        member_id=ids[who],
                        checked_in_at=dt.datetime.combine(day, dt.time(9, 5), TZ),
                    )
                )

        out.append((announced, announce))
        out.append((dt.datetime.combine(day, dt.time(9, 5), TZ), check_in))
    return sorted(out, key=lambda e: e[0])


def test_a_year_of_reminders_goes_out_exactly_as_planned(runtime, roster, year_settings):
    with runtime.sessions() as s:
        groups = {g.name: g.id for g in s.scalars(select(LiaisonGroup))}
    pending = events(roster, groups)
    first_seen: dict[str, dt.datetime] = {}
    for now in ticks():
        while pending and pending[0][0] <= now:
            with runtime.sessions.begin() as s:
                pending.pop(0)[1](s)
        _, new = enqueue_due(runtime.sessions, year_settings, now)
        if new:
            with runtime.sessions() as s:
                for key in s.scalars(select(OutboxMessage.key)):
                    first_seen.setdefault(key, now)

    names = {v: k for k, v in roster.items()}
    gnames = {v: k for k, v in groups.items()}
    with runtime.sessions() as s:
        rows = list(s.scalars(select(OutboxMessage)))
    got = set()
    for r in rows:
        to = gnames[r.group_id] if r.target_kind == "group" else names[r.member_id]
        mentions = tuple(m["name"] for m in r.mentions)
        got.add((first_seen[r.key].strftime("%m-%d %H:%M"), r.key.split(":")[0], to, mentions))

    lead1, lead2 = ("王组长",), ("孙组长",)
    expected = {
        # monthly 社情民意 for group 1 (nothing sent Jul–Oct, Dec; Nov only before the 8th)
        ("07-08 10:00", "quota", "第一联络组", lead1),  # due 07-07 during an outage, sent on return
        ("07-10 09:00", "quota", "第一联络组", lead1),  # 07-11 deadline is Saturday: day before stays Friday
        ("08-10 10:00", "quota", "第一联络组", lead1),  # the 08-07 stage went stale in the outage: only one
        ("09-07 09:00", "quota", "第一联络组", lead1),
        ("09-10 09:00", "quota", "第一联络组", lead1),
        ("09-30 09:00", "quota", "第一联络组", lead1),  # 10-07 (国庆) moves back before the holiday week
        ("10-10 09:00", "quota", "第一联络组", lead1),  # a Saturday make-up workday (调休): not moved
        ("11-06 09:00", "quota", "第一联络组", lead1),
        ("12-07 09:00", "quota", "第一联络组", lead1),
        ("12-10 09:00", "quota", "第一联络组", lead1),
        # October's stage, moved before 国庆 into September: group 2 has not reported for October yet
        ("09-30 09:00", "quota", "第二联络组", lead2),
        # quarterly 视察 for group 2 (never held): ten days before the quarter's end
        ("03-20 09:00", "quota", "第二联络组", lead2),  # 03-21 is Saturday
        ("06-18 09:00", "quota", "第二联络组", lead2),  # 06-20 Saturday, 06-19 端午
        ("09-20 09:00", "quota", "第二联络组", lead2),  # a Sunday make-up workday
        ("12-21 09:00", "quota", "第二联络组", lead2),
        # member-scope 提案: only the members still without one (赵六 moved to group 2 but gave one)
        ("12-01 09:00", "quota", "第一联络组", ("李四",)),
        ("12-01 09:00", "quota", "第二联络组", ("周七",)),
        # period-end alerts to the leader, on the last workday at 16:00
        ("07-31 16:00", "deadline", "王组长", ()),
        ("08-31 16:00", "deadline", "王组长", ()),
        ("09-30 16:00", "deadline", "王组长", ()),
        ("10-30 16:00", "deadline", "王组长", ()),  # 10-31 is Saturday
        ("12-31 16:00", "deadline", "王组长", ()),
        ("03-31 16:00", "deadline", "孙组长", ()),
        ("06-30 16:00", "deadline", "孙组长", ()),
        ("09-30 16:00", "deadline", "孙组长", ()),
        ("12-31 16:00", "deadline", "孙组长", ()),
        # last quarter's summary on the first workday of each quarter, with the 履职积分 line
        *{
            (d, kind, who, ())
            for d in ("01-04 09:00", "04-01 09:00", "07-01 09:00", "10-08 09:00")
            for who in ("王组长", "孙组长")
            for kind in ("summary", "score")
        },
        # activities: the evening before @ those neither checked in nor on leave; attendance after
        ("03-11 18:00", "activity", "第一联络组", ("张三", "赵六")),  # 李四 on approved leave
        ("03-12 12:00", "activity", "王组长", ()),
        ("05-13 18:00", "activity", "第一联络组", ("张三", "李四", "赵六")),
        ("05-14 12:00", "activity", "王组长", ()),
        ("05-14 12:00", "absence", "王组长", ()),  # 赵六's second unexcused absence
        ("08-12 18:00", "activity", "第一联络组", ("张三", "李四")),  # 赵六 has left the group
        ("08-13 12:00", "activity", "王组长", ()),
        ("11-11 18:00", "activity", "第一联络组", ("张三", "李四")),
        ("11-12 12:00", "activity", "王组长", ()),
    }
    assert got - expected == set()
    assert expected - got == set()

    texts = {r.key: r.text for r in rows}
    oct_key = next(k for k in texts if k.startswith("quota:monthly_opinion") and first_seen[k] == at(9, 30))
    assert "截止10月11日" in texts[oct_key] and "社情民意信息" in texts[oct_key]
    sep_alert = next(
        t
        for k, t in texts.items()
        if k.startswith("deadline:") and first_seen[k] == at(9, 30, 16) and f"m{roster['孙组长']}" in k
    )
    assert "本季度「视察活动」0/1次" in sep_alert
    attendance = next(
        t for k, t in texts.items() if k.startswith("activity:") and first_seen[k] == at(3, 12, 12)
    )
    assert "出席1人（张三）；请假1人（李四）；缺席1人（赵六）" in attendance
    absence = next(t for k, t in texts.items() if k.startswith("absence:"))
    assert "赵六本届已无故缺席2次" in absence
    summary = next(
        t
        for k, t in texts.items()
        if k.startswith("summary:") and first_seen[k] == at(10, 8) and f"m{roster['王组长']}" in k
    )
    assert "2026年第三季度" in summary and "社情民意信息7月 0件/至少1件 未完成" in summary
