"""What the scheduler should send at `now`: quota reminders, period-end alerts, quarter summaries and
activity reminders, computed from the database alone (no clock, no writes) with idempotency keys.

Each message has a time it is due and a window after which it is stale: a tick inside the window
returns it (the outbox key makes it go out once), a tick after the window never does. Quota
reminders are deadline warnings and move to the previous workday off a rest day; the quarter
summary moves to the next workday; activity reminders stay tied to their activity's date.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from bot import periods
from bot.config import QuotaRule, Settings
from bot.holidays import WorkCalendar
from bot.messages import ACTIVITY_KINDS, Person
from bot.periods import Period, period_of
from bot.quotas import RuleStanding, group_standings
from models import Activity, CheckIn, LeaveRequest, LiaisonGroup, Member

__all__ = ["Message", "due"]

_UNITS = {"submission": "件", "activity": "次"}
_DEFAULT_ACTIVITY_TIME = dt.time(9, 0)  # an activity announced without a time


@dataclass(frozen=True)
class Message:
    """One reminder to send. `key` is unique per (what, group, period, stage[, recipient])."""

    key: str
    kind: Literal["quota", "all_done", "deadline", "summary", "activity", "attendance", "absence"]
    target_kind: Literal["group", "member"]  # the group's chat, or one-to-one to `member_id`
    group_id: int
    member_id: int | None
    text: str
    mentions: tuple[Person, ...]
    due_at: dt.datetime  # when it was due (after moving off a rest day)


@dataclass(frozen=True)
class _Window:
    start: dt.datetime
    end: dt.datetime

    def __contains__(self, now: dt.datetime) -> bool:
        return self.start <= now < self.end


def due(session: Session, settings: Settings, now: dt.datetime) -> list[Message]:
    """Everything due at `now` and not yet stale, in a stable order (the outbox skips known keys)."""
    now = now.astimezone(settings.tz)
    cal = WorkCalendar(settings.holidays)
    people = _People(session)
    out: list[Message] = []
    out += _quota_reminders(session, settings, cal, people, now)
    out += _deadline_alerts(session, settings, cal, people, now)
    out += _quarter_summaries(session, settings, cal, people, now)
    out += _activity_messages(session, settings, people, now)
    return out


# -- shared ----------------------------------------------------------------------------------


class _People:
    """Names and platform ids, loaded once per `due` call for the members a message mentions."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._cache: dict[int, Person] = {}
        self._leaders: dict[int, list[int]] | None = None

    def preload(self, ids: Iterable[int]) -> None:
        """Fetch everyone a batch of messages will mention at once, not a query per message."""
        missing = sorted({i for i in ids if i not in self._cache})
        for i in range(0, len(missing), 2000):
            rows = self._session.execute(
                select(
                    Member.id, Member.name, Member.mobile, Member.wecom_userid, Member.dingtalk_userid
                ).where(Member.id.in_(missing[i : i + 2000]))
            )
            for row in rows:
                self._cache[row.id] = Person.of(row)

    def persons(self, ids: Sequence[int]) -> tuple[Person, ...]:
        self.preload(ids)
        return tuple(self._cache[i] for i in ids if i in self._cache)

    def leaders(self, group_id: int) -> list[int]:
        if self._leaders is None:
            self._leaders = defaultdict(list)
            for mid, gid in self._session.execute(
                select(Member.id, Member.group_id)
                .where(Member.role == "leader", Member.active.is_(True), Member.group_id.is_not(None))
                .order_by(Member.id)
            ):
                self._leaders[gid].append(mid)
        return self._leaders.get(group_id, [])


def recipients(session: Session, messages: Sequence[Message]) -> list[str]:
    """Who each message goes to, in words (for `remind --dry-run`): "第一联络组群" or "王组长（私信）"."""
    groups = _group_names(session, [m.group_id for m in messages if m.group_id is not None])
    member_ids = {m.member_id for m in messages if m.member_id is not None}
    names = dict(
        session.execute(select(Member.id, Member.name).where(Member.id.in_(member_ids))).tuples().all()
    )
    return [
        f"{names.get(m.member_id, m.member_id)}（私信）"
        if m.target_kind == "member"
        else f"{groups.get(m.group_id, m.group_id)}群"
        for m in messages
    ]


def _at(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tz)


def _md(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def _group_names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(LiaisonGroup.id, LiaisonGroup.name).where(LiaisonGroup.id.in_(ids))).all()
    )


# -- quota reminders (deadline warnings) -------------------------------------------------------


def _stage_windows(
    rule: QuotaRule, period: Period, cal: WorkCalendar, tz: dt.tzinfo
) -> list[tuple[int, _Window]]:
    """(days before, window) per reminder stage: from its (moved) time to the next stage's, the last
    one to the end of the deadline day. Stages that moved onto the same time keep only the later."""
    deadline = periods.deadline(rule, period)
    end_of_deadline = _at(deadline + dt.timedelta(days=1), dt.time.min, tz)
    stages = sorted(set(rule.remind_days_before), reverse=True)
    starts = [_at(cal.deadline_day(deadline - dt.timedelta(days=n)), rule.remind_time, tz) for n in stages]
    out = []
    for i, n in enumerate(stages):
        end = starts[i + 1] if i + 1 < len(stages) else end_of_deadline
        if starts[i] < end:
            out.append((n, _Window(starts[i], end)))
    return out


def _active_stage(rule: QuotaRule, now: dt.datetime, cal: WorkCalendar) -> tuple[Period, int, _Window] | None:
    # A stage may fall in the period before its deadline's (a deadline early in a month).
    current = period_of(rule.period, now.date())
    for period in (current, periods.next(current)):
        for n, window in _stage_windows(rule, period, cal, now.tzinfo):
            if now in window:
                return period, n, window
    return None


def _quota_reminders(
    session: Session, settings: Settings, cal: WorkCalendar, people: _People, now: dt.datetime
) -> list[Message]:
    active = {}
    for rule in settings.quotas:
        stage = _active_stage(rule, now, cal)
        if stage is not None:
            active[rule.key] = stage
    if not active:
        return []
    rules = [r for r in settings.quotas if r.key in active]
    standings = group_standings(session, rules, now, period_for=lambda r: active[r.key][0])
    people.preload(m for per_rule in standings.values() for st in per_rule if not st.met for m in st.remind)
    out = []
    for gid, per_rule in standings.items():
        for st in per_rule:
            period, n, window = active[st.rule.key]
            key = f"quota:{st.rule.key}:g{gid}:{period.start.isoformat()}"
            when = periods.spoken(period, now.date())
            if st.met:
                if settings.reminders.all_done_message:
                    text = f"{when}「{st.rule.name}」已全部完成，谢谢大家！"
                    out.append(Message(f"{key}:done", "all_done", "group", gid, None, text, (), window.start))
                continue
            out.append(
                Message(
                    f"{key}:d{n}",
                    "quota",
                    "group",
                    gid,
                    None,
                    _quota_text(st, when),
                    people.persons(st.remind),
                    window.start,
                )
            )
    return out


def _quota_text(st: RuleStanding, when: str) -> str:
    rule = st.rule
    unit = _UNITS[rule.source]
    head = f"【履职提醒】{when}「{rule.name}」截止{_md(st.deadline)}"
    if rule.scope == "member":
        names = "、".join(c.name for c in st.behind)
        return f"{head}，每位委员至少{rule.minimum}{unit}，以下委员尚未完成：{names}。"
    return f"{head}，本组至少{rule.minimum}{unit}，目前{st.done}{unit}，请组长督促完成。"


# -- period-end alerts and the quarter summary (to the leader) ---------------------------------


def _shortfall(st: RuleStanding, when: str) -> str:
    unit = _UNITS[st.rule.source]
    if st.rule.scope == "member":
        return f"{when}「{st.rule.name}」{'、'.join(c.name for c in st.behind)}未完成"
    return f"{when}「{st.rule.name}」{st.done}/{st.rule.minimum}{unit}"


def _deadline_alerts(
    session: Session, settings: Settings, cal: WorkCalendar, people: _People, now: dt.datetime
) -> list[Message]:
    """On the last workday of a period, each leader hears what the group has not reached."""
    alert_time = settings.reminders.deadline_alert_time
    rules, period_by_rule, window_by_end = [], {}, {}
    for rule in settings.quotas:
        period = period_of(rule.period, now.date())
        start = _at(cal.deadline_day(period.end), alert_time, now.tzinfo)
        window = _Window(start, _at(period.end + dt.timedelta(days=1), dt.time.min, now.tzinfo))
        if now in window:
            rules.append(rule)
            period_by_rule[rule.key] = period
            window_by_end[period.end] = window
    if not rules:
        return []
    standings = group_standings(session, rules, now, period_for=lambda r: period_by_rule[r.key])
    out = []
    names = _group_names(session, list(standings))
    for gid, per_rule in standings.items():
        unmet = [st for st in per_rule if not st.met]
        if not unmet:
            continue
        end = unmet[0].period.end
        lines = "；".join(_shortfall(st, periods.spoken(st.period, now.date())) for st in unmet)
        text = f"【期末提醒】{names.get(gid, '')}尚未完成：{lines}。{_md(end)}为本期最后一天。"
        for leader in people.leaders(gid):
            out.append(
                Message(
                    f"deadline:g{gid}:{end.isoformat()}:m{leader}",
                    "deadline",
                    "member",
                    gid,
                    leader,
                    text,
                    (),
                    window_by_end[end].start,
                )
            )
    return out


def _quarter_summaries(
    session: Session, settings: Settings, cal: WorkCalendar, people: _People, now: dt.datetime
) -> list[Message]:
    """First workday of a quarter: last quarter's record per rule, for the leader's quarterly report."""
    quarter = period_of("quarter", now.date())
    start = _at(cal.first_workday_from(quarter.start), settings.reminders.summary_time, now.tzinfo)
    window = _Window(start, start + dt.timedelta(hours=settings.reminders.late_hours))
    if now not in window or not settings.quotas:
        return []
    last = periods.previous(quarter)
    # Every period of every rule that ended inside the last quarter (e.g. its three months).
    judged: list[tuple[QuotaRule, Period]] = []
    for rule in settings.quotas:
        p = period_of(rule.period, last.start)
        while p.start <= last.end:
            if p.end <= last.end:
                judged.append((rule, p))
            p = periods.next(p)
    by_group: dict[int, list[RuleStanding]] = defaultdict(list)
    batches: dict[int, list[tuple[QuotaRule, Period]]] = defaultdict(list)
    for i, (rule, p) in enumerate(judged):
        nth = sum(1 for r, _ in judged[:i] if r.key == rule.key)
        batches[nth].append((rule, p))
    for batch in batches.values():  # one standings call per round of periods (months need three)
        chosen = {rule.key: p for rule, p in batch}
        for gid, sts in group_standings(
            session, [r for r, _ in batch], now, period_for=lambda r, c=chosen: c[r.key]
        ).items():
            by_group[gid].extend(sts)
    names = _group_names(session, list(by_group))
    order = {r.key: i for i, r in enumerate(settings.quotas)}
    out = []
    for gid, sts in by_group.items():
        sts.sort(key=lambda st: (order[st.rule.key], st.period.start))
        parts = []
        for st in sts:
            unit = _UNITS[st.rule.source]
            label = st.period.label[5:] if st.period.kind == "month" else ""
            mark = "✓" if st.met else "未完成"
            if st.rule.scope == "member":
                parts.append(f"{st.rule.name}{label} {st.done}/{st.required}人 {mark}")
            else:
                parts.append(f"{st.rule.name}{label} {st.done}{unit}/至少{st.rule.minimum}{unit} {mark}")
        text = f"【季度汇总】{names.get(gid, '')}{last.label}履职情况：" + "；".join(parts) + "。"
        for leader in people.leaders(gid):
            out.append(
                Message(
                    f"summary:g{gid}:{last.start.isoformat()}:m{leader}",
                    "summary",
                    "member",
                    gid,
                    leader,
                    text,
                    (),
                    window.start,
                )
            )
    return out


# -- activities --------------------------------------------------------------------------------


def _activity_messages(
    session: Session, settings: Settings, people: _People, now: dt.datetime
) -> list[Message]:
    cfg = settings.reminders.activity
    tz = now.tzinfo
    late = dt.timedelta(hours=settings.reminders.late_hours)
    after = dt.timedelta(hours=cfg.attendance_after_hours)
    today = now.date()
    first = today - dt.timedelta(days=int((late + after).total_seconds() // 86400) + 1)
    last = today + dt.timedelta(days=cfg.days_before + 1)
    activities = list(
        session.scalars(
            select(Activity)
            .where(Activity.cancelled.is_(False), Activity.date >= first, Activity.date <= last)
            .order_by(Activity.date, Activity.id)
        )
    )
    eve, report = [], []
    for a in activities:
        starts = _at(a.date, a.time or _DEFAULT_ACTIVITY_TIME, tz)
        remind_at = _at(a.date - dt.timedelta(days=cfg.days_before), cfg.time, tz)
        if remind_at <= now < starts:
            eve.append((a, remind_at))
        if starts + after <= now < starts + after + late:
            report.append((a, starts + after))
    if not eve and not report:
        return []
    ids = [a.id for a, _ in eve + report]
    roll = _roll_call(session, ids)
    people.preload(m for states in roll.values() for m, _ in states)
    out = []
    for a, at in eve:
        waiting = [m for m, state in roll[a.id] if state == "none"]
        if not waiting:
            continue
        day = "今天" if a.date == today else ("明天" if a.date == today + dt.timedelta(days=1) else "")
        when = f"{day}（{_md(a.date)}）" if day else _md(a.date)
        clock = f" {a.time.strftime('%H:%M')}" if a.time else ""
        place = f"，地点：{a.place}" if a.place else ""
        text = (
            f"【活动提醒】{when}{clock} {ACTIVITY_KINDS.get(a.kind, a.kind)}「{a.title}」{place}。"
            "请准时参加并签到，不能参加的请提前请假。"
        )
        out.append(
            Message(
                f"activity:a{a.id}:eve",
                "activity",
                "group",
                a.group_id,
                None,
                text,
                people.persons(waiting),
                at,
            )
        )
    # After the activity, a leave still pending is no excuse: absent like no answer at all.
    absent_by_activity = {
        a.id: [m for m, state in roll[a.id] if state in ("asked", "none")] for a, _ in report
    }
    counts = _unexcused_counts(session, settings, [(a, absent_by_activity[a.id]) for a, _ in report])
    for a, at in report:
        states = roll[a.id]
        present = [m for m, s in states if s == "present"]
        leave = [m for m, s in states if s == "leave"]
        absent = absent_by_activity[a.id]

        def listing(ids: list[int]) -> str:
            return f"{len(ids)}人" + (f"（{'、'.join(p.name for p in people.persons(ids))}）" if ids else "")

        text = (
            f"【出勤情况】{_md(a.date)} {ACTIVITY_KINDS.get(a.kind, a.kind)}「{a.title}」："
            f"出席{listing(present)}；请假{listing(leave)}；缺席{listing(absent)}。"
        )
        leaders = people.leaders(a.group_id)
        for leader in leaders:
            out.append(
                Message(
                    f"activity:a{a.id}:attendance:m{leader}",
                    "attendance",
                    "member",
                    a.group_id,
                    leader,
                    text,
                    (),
                    at,
                )
            )
        for mid in absent_by_activity[a.id]:
            n = counts.get((a.id, mid), 0)
            if n < cfg.absence_warning_at:
                continue
            (who,) = people.persons([mid]) or (Person("?"),)
            consequence = (
                f"已达{cfg.absence_limit}次，按规定视为自动放弃委员资格，请与本人联系并报县政协办公室。"
                if n >= cfg.absence_limit
                else f"按规定无故缺席{cfg.absence_limit}次视为自动放弃委员资格，请及时提醒本人。"
            )
            text = f"【缺席提醒】{who.name}本届已无故缺席{n}次（最近一次：{_md(a.date)}「{a.title}」），{consequence}"
            for leader in leaders:
                out.append(
                    Message(
                        f"absence:a{a.id}:m{mid}:to{leader}",
                        "absence",
                        "member",
                        a.group_id,
                        leader,
                        text,
                        (),
                        at,
                    )
                )
    return out


def _roll_call(session: Session, activity_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Per activity, each expected member (active, role member of its group) with a state:
    present, leave (approved), asked (leave pending) or none. Three queries for any number."""
    rows = session.execute(
        select(Activity.id, Activity.date, Member.id)
        .join(Member, Member.group_id == Activity.group_id)
        .where(Activity.id.in_(activity_ids), Member.active.is_(True), Member.role == "member")
        .order_by(Activity.id, Member.id)
    ).all()
    checked = set(
        session.execute(
            select(CheckIn.activity_id, CheckIn.member_id).where(CheckIn.activity_id.in_(activity_ids))
        )
        .tuples()
        .all()
    )
    leave: dict[tuple[int, int], str] = {}
    for aid, mid, status in session.execute(
        select(LeaveRequest.activity_id, LeaveRequest.member_id, LeaveRequest.status).where(
            LeaveRequest.activity_id.in_(activity_ids), LeaveRequest.status.in_(("pending", "approved"))
        )
    ):
        if leave.get((aid, mid)) != "approved":
            leave[(aid, mid)] = status
    out: dict[int, list[tuple[int, str]]] = {aid: [] for aid in activity_ids}
    for aid, _day, mid in rows:
        if (aid, mid) in checked:
            state = "present"
        elif leave.get((aid, mid)) == "approved":
            state = "leave"
        elif leave.get((aid, mid)) == "pending":
            state = "asked"
        else:
            state = "none"
        out[aid].append((mid, state))
    # Present members outside the expected list (a leader, someone from another group) count too.
    expected = {(aid, mid) for aid, _d, mid in rows}
    for aid, mid in sorted(checked - expected):
        out[aid].append((mid, "present"))
    return out


def _unexcused_counts(
    session: Session, settings: Settings, absences: list[tuple[Activity, list[int]]]
) -> dict[tuple[int, int], int]:
    """For each (activity, absent member): unexcused absences in the term up to that activity.

    One aggregate query per activity with absentees (a handful a day)."""
    term_start = settings.reminders.activity.term_start
    out: dict[tuple[int, int], int] = {}
    for a, members in absences:
        if not members:
            continue
        excused = exists().where(
            LeaveRequest.activity_id == Activity.id,
            LeaveRequest.member_id == Member.id,
            LeaveRequest.status == "approved",
        )
        present = exists().where(CheckIn.activity_id == Activity.id, CheckIn.member_id == Member.id)
        conditions = [
            Activity.group_id == a.group_id,
            Activity.cancelled.is_(False),
            or_(Activity.date < a.date, and_(Activity.date == a.date, Activity.id <= a.id)),
            Member.id.in_(members),
            ~excused,
            ~present,
        ]
        if term_start is not None:
            conditions.append(Activity.date >= term_start)
        stmt = (
            select(Member.id, func.count(Activity.id))
            .select_from(Activity)
            .join(Member, Member.group_id == Activity.group_id)
            .where(*conditions)
            .group_by(Member.id)
        )
        for mid, n in session.execute(stmt):
            out[(a.id, mid)] = n
    return out
