"""What the scheduler should send at `now`: quota reminders, period-end alerts, quarter summaries and
activity reminders, computed from the database alone (no clock, no writes) with idempotency keys,
worded by the templates of `reminders.wording` in config.yaml.

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
from sqlalchemy.orm import Session, aliased

from bot import periods, scoring
from bot.config import QuotaRule, ReminderWording, Settings
from bot.holidays import WorkCalendar
from bot.messages import ACTIVITY_KINDS, Person
from bot.periods import Period, period_of
from bot.quotas import RuleStanding, group_standings, leaders_by_group
from models import Activity, CheckIn, LeaveRequest, LiaisonGroup, Member, among, read

__all__ = ["STAGES", "Message", "due", "due_in_stage"]

_UNITS = {"submission": "件", "activity": "次"}
_DEFAULT_ACTIVITY_TIME = dt.time(9, 0)  # an activity announced without a time
MAX_LISTED = 8  # names in one line to a leader; the rest become "等N人"

MessageKind = Literal["quota", "all_done", "deadline", "summary", "score", "activity", "attendance", "absence"]


@dataclass(frozen=True)
class Message:
    """One reminder to send. `key` is unique per (what, group, period, stage[, recipient])."""

    key: str
    kind: MessageKind
    target_kind: Literal["group", "member"]  # the group's chat, or one-to-one to `member_id`
    group_id: int
    member_id: int | None
    text: str
    mentions: tuple[Person, ...]


def _message(
    *,
    key: str,
    kind: MessageKind,
    group_id: int,
    text: str,
    member_id: int | None = None,
    mentions: tuple[Person, ...] = (),
) -> Message:
    """A message to the group's chat, or one-to-one to `member_id` when given."""
    return Message(
        key=key,
        kind=kind,
        target_kind="group" if member_id is None else "member",
        group_id=group_id,
        member_id=member_id,
        text=text,
        mentions=mentions,
    )


def _to_leaders(people: _People, group_id: int, *, key: str, kind: MessageKind, text: str) -> list[Message]:
    """The same text one-to-one to each of the group's leaders; `key` ends with the leader's id."""
    return [
        _message(key=f"{key}{leader}", kind=kind, group_id=group_id, member_id=leader, text=text)
        for leader in people.leaders(group_id)
    ]


@dataclass(frozen=True)
class _Window:
    start: dt.datetime
    end: dt.datetime

    def __contains__(self, now: dt.datetime) -> bool:
        return self.start <= now < self.end


def due(session: Session, settings: Settings, now: dt.datetime) -> list[Message]:
    """Everything due at `now` and not yet stale, in a stable order (the outbox skips known keys)."""
    people = _People(session)  # the groups' leaders and the mentioned members, read once for all stages
    return [m for stage in STAGES for m in due_in_stage(session, settings, now, stage, people)]


# The kinds of reminder, each computed on its own: the scheduler's tick works through them one
# at a time, within its time budget (bot/scheduler.py).
STAGES = ("quota", "deadline", "summary", "score", "activity")


def due_in_stage(
    session: Session, settings: Settings, now: dt.datetime, stage: str, people: _People | None = None
) -> list[Message]:
    """What `due` returns for one of its STAGES."""
    now = now.astimezone(settings.tz)
    people = people or _People(session)
    if stage == "activity":
        return _activity_messages(session, settings, people, now)
    compute = {
        "quota": _quota_reminders,
        "deadline": _deadline_alerts,
        "summary": _quarter_summaries,
        "score": _score_summaries,
    }[stage]
    return compute(session, settings, WorkCalendar(settings.holidays), people, now)


# -- shared ----------------------------------------------------------------------------------


class _People:
    """Names and platform ids, loaded once per `due` call for the members a message mentions."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._cache: dict[int, Person] = {}
        self._asked: set[int] = set()  # every id looked up, found or not: looked up once
        self._leaders: dict[int, tuple[int, ...]] | None = None

    def preload(self, ids: Iterable[int]) -> None:
        """Fetch everyone a batch of messages will mention at once, not a query per message."""
        missing = sorted({i for i in ids if i not in self._asked})
        self._asked.update(missing)
        for i in range(0, len(missing), 2000):
            rows = read(
                self._session,
                select(
                    Member.id, Member.name, Member.mobile, Member.wecom_userid, Member.dingtalk_userid
                ).where(among(self._session, Member.id, missing[i : i + 2000])),
            )
            for row in rows:
                self._cache[row.id] = Person.of(row)

    def persons(self, ids: Sequence[int]) -> tuple[Person, ...]:
        if not self._asked.issuperset(ids):
            self.preload(ids)
        cache = self._cache
        return tuple(cache[i] for i in ids if i in cache)

    def every_leader(self) -> dict[int, tuple[int, ...]]:
        """Each group's active leaders, read once for every stage (and the quota standings)."""
        if self._leaders is None:
            self._leaders = leaders_by_group(self._session)
        return self._leaders

    def leaders(self, group_id: int) -> tuple[int, ...]:
        return self.every_leader().get(group_id, ())


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


def _active_stage(rule: QuotaRule, now: dt.datetime, cal: WorkCalendar) -> tuple[Period, int] | None:
    """(period, days before) of the rule's reminder stage whose window holds `now`, if any."""
    # A stage may fall in the period before its deadline's (a deadline early in a month).
    current = period_of(rule.period, now.date())
    for period in (current, periods.next(current)):
        for n, window in _stage_windows(rule, period, cal, now.tzinfo):
            if now in window:
                return period, n
    return None


def _active_stages(
    rules: Sequence[QuotaRule], now: dt.datetime, cal: WorkCalendar
) -> dict[str, tuple[Period, int]]:
    stages = {rule.key: _active_stage(rule, now, cal) for rule in rules}
    return {key: stage for key, stage in stages.items() if stage is not None}


def _quota_reminders(
    session: Session, settings: Settings, cal: WorkCalendar, people: _People, now: dt.datetime
) -> list[Message]:
    active = _active_stages(settings.quotas, now, cal)
    if not active:
        return []
    rules = [r for r in settings.quotas if r.key in active]
    standings = group_standings(
        session, rules, now, period_for=lambda r: active[r.key][0], leaders=people.every_leader()
    )
    # Only the groups that owe something get a message (unless all_done_message): the rule's
    # wording of its period is worked out once, not once per group.
    when = {r.key: periods.spoken(active[r.key][0], now.date()) for r in rules}
    owing = [st for per_rule in standings.values() for st in per_rule if not st.met]
    people.preload(m for st in owing for m in st.remind)
    if not settings.reminders.all_done_message:
        return [_quota_message(st, active[st.rule.key], when[st.rule.key], settings, people) for st in owing]
    return [
        _quota_message(st, active[st.rule.key], when[st.rule.key], settings, people)
        for per_rule in standings.values()
        for st in per_rule
    ]


def _quota_message(
    st: RuleStanding, stage: tuple[Period, int], when: str, settings: Settings, people: _People
) -> Message:
    """The stage's reminder while the group owes; once it is met, the all-done line."""
    period, n = stage
    key = f"quota:{st.rule.key}:g{st.group_id}:{period.start.isoformat()}"
    wording = settings.reminders.wording
    if not st.met:
        text = _quota_text(st, when, wording)
        return _message(
            key=f"{key}:d{n}",
            kind="quota",
            group_id=st.group_id,
            text=text,
            mentions=people.persons(st.remind),
        )
    text = wording.fill("all_done", when=when, rule=st.rule.name)
    return _message(key=f"{key}:done", kind="all_done", group_id=st.group_id, text=text)


def _quota_text(st: RuleStanding, when: str, wording: ReminderWording) -> str:
    rule = st.rule
    told = {"when": when, "rule": rule.name, "deadline": _md(st.deadline), "minimum": rule.minimum}
    if rule.scope == "member":
        names = "、".join(c.name for c in st.behind)
        return wording.fill("quota_member", **told, unit=_UNITS[rule.source], names=names)
    return wording.fill("quota_group", **told, unit=_UNITS[rule.source], done=st.done)


# -- period-end alerts and the quarter summary (to the leader) ---------------------------------


def _shortfall(st: RuleStanding, when: str, wording: ReminderWording) -> str:
    if st.rule.scope == "member":
        names = "、".join(c.name for c in st.behind)
        return wording.fill("deadline_member_item", when=when, rule=st.rule.name, names=names)
    return wording.fill(
        "deadline_group_item",
        when=when,
        rule=st.rule.name,
        done=st.done,
        minimum=st.rule.minimum,
        unit=_UNITS[st.rule.source],
    )


def _deadline_alerts(
    session: Session, settings: Settings, cal: WorkCalendar, people: _People, now: dt.datetime
) -> list[Message]:
    """On the last workday of a period, each leader hears what the group has not reached."""
    period_by_rule = _closing_periods(settings.quotas, settings.reminders.deadline_alert_time, now, cal)
    if not period_by_rule:
        return []
    rules = [r for r in settings.quotas if r.key in period_by_rule]
    standings = group_standings(session, rules, now, period_for=lambda r: period_by_rule[r.key])
    names = _group_names(session, list(standings))
    wording = settings.reminders.wording
    out = []
    for gid, per_rule in standings.items():
        unmet = [st for st in per_rule if not st.met]
        if not unmet:
            continue
        end = unmet[0].period.end
        lines = "；".join(_shortfall(st, periods.spoken(st.period, now.date()), wording) for st in unmet)
        text = wording.fill("deadline_alert", group=names.get(gid, ""), shortfalls=lines, last_day=_md(end))
        out += _to_leaders(
            people, gid, key=f"deadline:g{gid}:{end.isoformat()}:m", kind="deadline", text=text
        )
    return out


def _closing_periods(
    rules: Sequence[QuotaRule], alert_time: dt.time, now: dt.datetime, cal: WorkCalendar
) -> dict[str, Period]:
    """{rule key: its current period} for the rules whose period-end alert window holds `now`:
    from `alert_time` on the period's last workday to the end of its last day."""
    out = {}
    for rule in rules:
        period = period_of(rule.period, now.date())
        start = _at(cal.deadline_day(period.end), alert_time, now.tzinfo)
        if now in _Window(start, _at(period.end + dt.timedelta(days=1), dt.time.min, now.tzinfo)):
            out[rule.key] = period
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
    by_group = _standings_of_periods(session, _periods_ended_in(settings.quotas, last), now)
    names = _group_names(session, list(by_group))
    order = {r.key: i for i, r in enumerate(settings.quotas)}
    wording = settings.reminders.wording
    out = []
    for gid, sts in by_group.items():
        sts.sort(key=lambda st: (order[st.rule.key], st.period.start))
        items = "；".join(_summary_item(st, wording) for st in sts)
        text = wording.fill("summary", group=names.get(gid, ""), quarter=last.label, items=items)
        out += _to_leaders(
            people, gid, key=f"summary:g{gid}:{last.start.isoformat()}:m", kind="summary", text=text
        )
    return out


def _score_summaries(
    session: Session, settings: Settings, cal: WorkCalendar, people: _People, now: dt.datetime
) -> list[Message]:
    """With the quarter's summary, one line per group to its leaders on the members' 履职积分: the
    average so far and who, at the pace of the year so far, would end it below the pass mark (the
    early warning); on the first workday of a year, last year's final scores and who is below."""
    quarter = period_of("quarter", now.date())
    start = _at(cal.first_workday_from(quarter.start), settings.reminders.summary_time, now.tzinfo)
    rules = settings.scoring
    if now not in _Window(start, start + dt.timedelta(hours=settings.reminders.late_hours)) or not rules.categories:
        return []
    final = quarter.start.month == 1
    year = period_of("year", quarter.start - dt.timedelta(days=1) if final else quarter.start)
    done = (quarter.start - year.start).days / ((year.end - year.start).days + 1)
    by_group: dict[int, list[scoring.MemberScore]] = defaultdict(list)
    for s in scoring.year_scores(session, rules, year, now, settings.tz):
        if s.group_id is not None:
            by_group[s.group_id].append(s)
    names = _group_names(session, list(by_group))
    out = []
    for gid, scores in by_group.items():
        average = sum(s.total for s in scores) / len(scores)
        pace = [(s, s.total if final else scoring.projected(rules, s, done)) for s in scores]
        low = [f"{s.name}（{'' if final else '预计'}{p:g}分）" for s, p in pace if p < rules.pass_mark]
        when = "全年" if final else f"截至{_md(quarter.start - dt.timedelta(days=1))}"
        head = f"{names.get(gid, '')}{year.label}履职积分（{when}）：平均{average:.1f}分"
        if low:
            verdict = "低于合格线" if final else "按目前进度年底可能低于合格线"
            tail = f"；{verdict}{rules.pass_mark:g}分：{'、'.join(low[:MAX_LISTED])}" + (
                f"等{len(low)}人" if len(low) > MAX_LISTED else ""
            ) + ("，请安排约谈。" if final else "，请提醒。")
        else:
            tail = "；全组都在合格线以上。"
        key = f"score:g{gid}:{year.start.year}:{quarter.start.isoformat()}:m"
        out += _to_leaders(people, gid, key=key, kind="score", text=head + tail)
    return out


def _periods_ended_in(rules: Sequence[QuotaRule], span: Period) -> list[tuple[QuotaRule, Period]]:
    """Every period of every rule that ended inside `span` (e.g. a quarter's three months)."""
    judged = []
    for rule in rules:
        p = period_of(rule.period, span.start)
        while p.start <= span.end:
            if p.end <= span.end:
                judged.append((rule, p))
            p = periods.next(p)
    return judged


def _standings_of_periods(
    session: Session, judged: list[tuple[QuotaRule, Period]], now: dt.datetime
) -> dict[int, list[RuleStanding]]:
    """Each group's standings on the (rule, period) pairs: one standings call per round of periods
    (a rule's first period in the first round, its second in the second; months need three)."""
    rounds: dict[int, list[tuple[QuotaRule, Period]]] = defaultdict(list)
    nth: dict[str, int] = defaultdict(int)
    for rule, p in judged:
        rounds[nth[rule.key]].append((rule, p))
        nth[rule.key] += 1
    by_group: dict[int, list[RuleStanding]] = defaultdict(list)
    for batch in rounds.values():
        chosen = {rule.key: p for rule, p in batch}
        rules = [rule for rule, _p in batch]
        for gid, sts in group_standings(session, rules, now, period_for=lambda r, c=chosen: c[r.key]).items():
            by_group[gid].extend(sts)
    return by_group


def _summary_item(st: RuleStanding, wording: ReminderWording) -> str:
    told = {
        "rule": st.rule.name,
        "month": st.period.label[5:] if st.period.kind == "month" else "",  # "2026年7月" → "7月"
        "done": st.done,
        "mark": wording.summary_met if st.met else wording.summary_unmet,
    }
    if st.rule.scope == "member":
        return wording.fill("summary_member_item", **told, required=st.required)
    return wording.fill("summary_group_item", **told, minimum=st.rule.minimum, unit=_UNITS[st.rule.source])


# -- activities --------------------------------------------------------------------------------


def _activity_messages(
    session: Session, settings: Settings, people: _People, now: dt.datetime
) -> list[Message]:
    eve, report = _activities_due(session, settings, now)
    if not eve and not report:
        return []
    roll = _roll_call(session, [a.id for a in eve + report])
    people.preload(m for states in roll.values() for m, _ in states)
    wording = settings.reminders.wording
    out = _eve_reminders(eve, roll, people, now.date(), wording)
    # After the activity, a leave still pending is no excuse: absent like no answer at all.
    absent = {a.id: [m for m, state in roll[a.id] if state in ("asked", "none")] for a in report}
    counts = _unexcused_counts(session, settings, [(a, absent[a.id]) for a in report])
    for a in report:
        out += _attendance_reports(a, roll[a.id], absent[a.id], people, wording)
        out += _absence_warnings(a, absent[a.id], counts, people, settings)
    return out


def _activities_due(
    session: Session, settings: Settings, now: dt.datetime
) -> tuple[list[Activity], list[Activity]]:
    """(activities whose eve reminder is due, activities whose attendance report is due) at `now`."""
    cfg = settings.reminders.activity
    late = dt.timedelta(hours=settings.reminders.late_hours)
    after = dt.timedelta(hours=cfg.attendance_after_hours)
    today = now.date()
    first = today - dt.timedelta(days=int((late + after).total_seconds() // 86400) + 1)
    last = today + dt.timedelta(days=cfg.days_before + 1)
    # Rows, not ORM objects: a province has hundreds of activities in the window, read only.
    activities = read(
        session,
        select(*Activity.__table__.c)
        .where(Activity.cancelled.is_(False), Activity.date >= first, Activity.date <= last)
        .order_by(Activity.date, Activity.id),
    )
    eve, report = [], []
    for a in activities:
        starts = _at(a.date, a.time or _DEFAULT_ACTIVITY_TIME, now.tzinfo)
        remind_at = _at(a.date - dt.timedelta(days=cfg.days_before), cfg.time, now.tzinfo)
        if remind_at <= now < starts:
            eve.append(a)
        if starts + after <= now < starts + after + late:
            report.append(a)
    return eve, report


def _eve_reminders(
    eve: list[Activity],
    roll: dict[int, list[tuple[int, str]]],
    people: _People,
    today: dt.date,
    wording: ReminderWording,
) -> list[Message]:
    """Each group's reminder before an activity, @-ing those neither checked in nor asking leave."""
    out = []
    for a in eve:
        waiting = [m for m, state in roll[a.id] if state == "none"]
        if not waiting:
            continue
        day = "今天" if a.date == today else ("明天" if a.date == today + dt.timedelta(days=1) else "")
        when = f"{day}（{_md(a.date)}）" if day else _md(a.date)
        text = wording.fill(
            "activity_eve",
            when=when,
            at_time=wording.fill("activity_time", time=a.time.strftime("%H:%M")) if a.time else "",
            kind=ACTIVITY_KINDS.get(a.kind, a.kind),
            title=a.title,
            at_place=wording.fill("activity_place", place=a.place) if a.place else "",
        )
        out.append(
            _message(
                key=f"activity:a{_schedule(a)}:eve",
                kind="activity",
                group_id=a.group_id,
                text=text,
                mentions=people.persons(waiting),
            )
        )
    return out


def _schedule(a: Activity) -> str:
    """The activity in a reminder's key: its id, and the revision once it was changed (改期), so that
    the new date's reminders go out while the old ones are never sent twice."""
    return f"{a.id}" if not a.revision else f"{a.id}r{a.revision}"


def _attendance_reports(
    a: Activity,
    roll: list[tuple[int, str]],
    absent: list[int],
    people: _People,
    wording: ReminderWording,
) -> list[Message]:
    """Who came, who was excused and who was absent, one-to-one to each leader."""

    def listing(ids: list[int]) -> str:
        return f"{len(ids)}人" + (f"（{'、'.join(p.name for p in people.persons(ids))}）" if ids else "")

    text = wording.fill(
        "attendance",
        date=_md(a.date),
        kind=ACTIVITY_KINDS.get(a.kind, a.kind),
        title=a.title,
        present=listing([m for m, s in roll if s == "present"]),
        leave=listing([m for m, s in roll if s == "leave"]),
        absent=listing(absent),
    )
    return _to_leaders(
        people, a.group_id, key=f"activity:a{_schedule(a)}:attendance:m", kind="attendance", text=text
    )


def _absence_warnings(
    a: Activity,
    absent: list[int],
    counts: dict[tuple[int, int], int],
    people: _People,
    settings: Settings,
) -> list[Message]:
    """Each leader hears privately of a member nearing (or at) the unexcused-absence limit."""
    cfg, wording = settings.reminders.activity, settings.reminders.wording
    out = []
    for mid in absent:
        n = counts.get((a.id, mid), 0)
        if n < cfg.absence_warning_at:
            continue
        (who,) = people.persons([mid]) or (Person("?"),)
        rule = "absence_at_limit" if n >= cfg.absence_limit else "absence_rule"
        text = wording.fill(
            "absence",
            name=who.name,
            count=n,
            date=_md(a.date),
            title=a.title,
            consequence=wording.fill(rule, limit=cfg.absence_limit),
        )
        out += _to_leaders(
            people, a.group_id, key=f"absence:a{_schedule(a)}:m{mid}:to", kind="absence", text=text
        )
    return out


def _roll_call(session: Session, activity_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Per activity, each expected member (active, role member of its group) with a state:
    present, leave (approved), asked (leave pending) or none. Three queries for any number."""
    rows = read(
        session,
        select(Activity.id, Activity.date, Member.id)
        .join(Member, Member.group_id == Activity.group_id)
        .where(among(session, Activity.id, activity_ids), Member.active.is_(True), Member.role == "member")
        .order_by(Activity.id, Member.id),
    )
    checked = {
        tuple(row)
        for row in read(
            session,
            select(CheckIn.activity_id, CheckIn.member_id).where(
                among(session, CheckIn.activity_id, activity_ids)
            ),
        )
    }
    leave: dict[tuple[int, int], str] = {}
    for aid, mid, status in read(
        session,
        select(LeaveRequest.activity_id, LeaveRequest.member_id, LeaveRequest.status).where(
            among(session, LeaveRequest.activity_id, activity_ids),
            LeaveRequest.status.in_(("pending", "approved")),
        ),
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

    One aggregate query for all the activities with absentees: each reported activity joined to its
    group's activities up to it and to its group's members, then kept for those absent from it."""
    wanted = {(a.id, mid) for a, members in absences for mid in members}
    if not wanted:
        return {}
    reported = aliased(Activity)
    excused = exists().where(
        LeaveRequest.activity_id == Activity.id,
        LeaveRequest.member_id == Member.id,
        LeaveRequest.status == "approved",
    )
    present = exists().where(CheckIn.activity_id == Activity.id, CheckIn.member_id == Member.id)
    conditions = [
        among(session, reported.id, sorted({aid for aid, _m in wanted})),
        among(session, Member.id, sorted({mid for _a, mid in wanted})),
        Activity.cancelled.is_(False),
        or_(Activity.date < reported.date, and_(Activity.date == reported.date, Activity.id <= reported.id)),
        ~excused,
        ~present,
    ]
    term_start = settings.reminders.activity.term_start
    if term_start is not None:
        conditions.append(Activity.date >= term_start)
    stmt = (
        select(reported.id, Member.id, func.count(Activity.id))
        .select_from(reported)
        .join(Activity, Activity.group_id == reported.group_id)
        .join(Member, Member.group_id == reported.group_id)
        .where(*conditions)
        .group_by(reported.id, Member.id)
    )
    return {(aid, mid): n for aid, mid, n in read(session, stmt) if (aid, mid) in wanted}
