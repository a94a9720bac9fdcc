"""Quota standings computed from rows built directly with the models (no parser, no handler)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, update

from bot import quotas
from bot.config import QuotaRule
from bot.periods import period_of
from bot.quotas import MemberCount, group_standings, member_standings
from models import Activity, CheckIn, LeaveRequest, LiaisonGroup, Member, Submission
from tests.conftest import NOW, TZ

D = dt.date


def _at(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


def _rule(key: str, source: str, kinds: list[str], period: str, scope: str = "group", minimum: int = 1):
    return QuotaRule(
        key=key, name=key, source=source, kinds=kinds, period=period, scope=scope, minimum=minimum
    )


@pytest.fixture
def rows(runtime, roster):
    """add(kind_of_row, **fields): write one record; returns its id."""

    def add(what: str, **f) -> int:
        with runtime.sessions.begin() as s:
            if what == "submission":
                m = s.get(Member, f.pop("member"))
                row = Submission(
                    member_id=m.id,
                    group_id=m.group_id,
                    kind=f.pop("kind", "opinion"),
                    title="标题",
                    content="内容",
                    submitted_at=f.pop("at", NOW),
                    status=f.pop("status", "submitted"),
                )
            elif what == "activity":
                row = Activity(
                    group_id=f.pop("group"),
                    kind=f.pop("kind", "collective"),
                    title=f.pop("title", "集体学习"),
                    date=f.pop("date"),
                    cancelled=f.pop("cancelled", False),
                    created_at=NOW,
                )
            elif what == "checkin":
                row = CheckIn(activity_id=f.pop("activity"), member_id=f.pop("member"), checked_in_at=NOW)
            else:
                row = LeaveRequest(
                    activity_id=f.pop("activity"),
                    member_id=f.pop("member"),
                    status=f.pop("status", "approved"),
                    requested_at=NOW,
                )
            assert not f, f
            s.add(row)
            s.flush()
            return row.id

    return add


@pytest.fixture
def groups(runtime, roster) -> dict[str, int]:
    with runtime.sessions() as s:
        return {g.name: g.id for g in s.query(LiaisonGroup)}


def _standings(runtime, rules, now=NOW, **kw):
    with runtime.sessions() as s:
        return group_standings(s, rules, now, **kw)


def _names(counts) -> list[str]:
    return [c.name for c in counts]


OPINION = _rule("monthly_opinion", "submission", ["opinion"], "month")
COLLECTIVE = _rule("quarterly_collective", "activity", ["collective", "study"], "quarter")


def test_group_meets_the_monthly_opinion_with_one_note_this_month(runtime, roster, groups, rows):
    rows("submission", member=roster["张三"], at=_at(11, 3))
    result = _standings(runtime, [OPINION])
    first = result[groups["第一联络组"]][0]
    assert (first.done, first.required, first.met) == (1, 1, True)
    assert first.period == period_of("month", D(2026, 11, 1))
    assert first.deadline == D(2026, 11, 30)
    assert first.behind == ()
    assert _names(first.behind_members) == ["李四", "赵六"]
    assert first.remind == ()
    second = result[groups["第二联络组"]][0]
    assert (second.done, second.met) == (0, False)
    assert _names(second.behind_members) == ["周七"]
    assert second.remind == (roster["孙组长"],)


def test_withdrawn_notes_and_notes_of_other_months_do_not_count(runtime, roster, groups, rows):
    rows("submission", member=roster["张三"], at=_at(10, 31))
    rows("submission", member=roster["李四"], at=_at(11, 5), status="withdrawn")
    rows("submission", member=roster["赵六"], kind="suggestion", at=_at(11, 5))
    first = _standings(runtime, [OPINION])[groups["第一联络组"]][0]
    assert (first.done, first.met) == (0, False)
    assert _names(first.behind_members) == ["张三", "李四", "赵六"]
    assert first.remind == (roster["王组长"],)


def test_adopted_notes_count(runtime, roster, groups, rows):
    rows("submission", member=roster["李四"], at=_at(11, 5), status="adopted")
    first = _standings(runtime, [OPINION])[groups["第一联络组"]][0]
    assert first.done == 1


def test_month_boundaries_are_local_midnight_not_utc(runtime, roster, groups, rows):
    rows("submission", member=roster["张三"], at=_at(10, 31, 23, 30))  # 15:30 UTC, still October here
    rows("submission", member=roster["李四"], at=_at(11, 1, 0, 10))  # 16:10 UTC on Oct 31
    first = _standings(runtime, [OPINION])[groups["第一联络组"]][0]
    assert first.done == 1
    assert _names(first.behind_members) == ["张三", "赵六"]


def test_inactive_members_are_never_behind(runtime, roster, groups):
    with runtime.sessions.begin() as s:
        s.execute(update(Member).where(Member.id == roster["赵六"]).values(active=False))
    first = _standings(runtime, [OPINION])[groups["第一联络组"]][0]
    assert _names(first.behind_members) == ["张三", "李四"]


def test_a_leaders_note_counts_for_the_group_but_leaders_are_never_listed(runtime, roster, groups, rows):
    rows("submission", member=roster["王组长"], at=_at(11, 5))
    first = _standings(runtime, [OPINION])[groups["第一联络组"]][0]
    assert (first.done, first.met) == (1, True)
    assert _names(first.behind_members) == ["张三", "李四", "赵六"]


def test_activities_held_count_but_not_cancelled_future_or_other_kinds(runtime, roster, groups, rows):
    g1 = groups["第一联络组"]
    rows("activity", group=g1, date=D(2026, 12, 5))  # announced, not yet held
    rows("activity", group=g1, date=D(2026, 11, 10), cancelled=True)
    rows("activity", group=g1, kind="inspection", date=D(2026, 11, 10))
    rows("activity", group=g1, date=D(2026, 9, 30))  # last quarter
    first = _standings(runtime, [COLLECTIVE])[g1][0]
    assert (first.done, first.met) == (0, False)
    held = rows("activity", group=g1, kind="study", date=D(2026, 11, 23))  # today counts
    rows("checkin", activity=held, member=roster["张三"])
    first = _standings(runtime, [COLLECTIVE])[g1][0]
    assert (first.done, first.required, first.met) == (1, 1, True)
    assert _names(first.behind_members) == ["李四", "赵六"]  # did not attend it
    assert first.deadline == D(2026, 12, 31)


def test_member_scope_counts_how_many_members_reached_their_own_minimum(runtime, roster, groups, rows):
    rule = _rule("member_opinion", "submission", ["opinion"], "year", scope="member", minimum=2)
    for name, n in (("张三", 2), ("李四", 1)):
        for i in range(n):
            rows("submission", member=roster[name], at=_at(3 + i, 1))
    rows("submission", member=roster["王组长"], at=_at(3, 1))
    first = _standings(runtime, [rule])[groups["第一联络组"]][0]
    assert (first.done, first.required, first.met) == (1, 3, False)
    assert first.behind == (
        MemberCount(roster["李四"], "李四", 1),
        MemberCount(roster["赵六"], "赵六", 0),
    )
    assert _names(first.behind_members) == ["赵六"]
    assert first.owing == first.behind
    assert first.remind == (roster["李四"], roster["赵六"])


def test_member_scope_activity_rule_counts_each_members_check_ins(runtime, roster, groups, rows):
    rule = _rule("member_activity", "activity", ["collective"], "quarter", scope="member")
    g1, g2 = groups["第一联络组"], groups["第二联络组"]
    a = rows("activity", group=g1, date=D(2026, 10, 20))
    joint = rows("activity", group=g2, date=D(2026, 11, 2))
    rows("checkin", activity=a, member=roster["张三"])
    rows("checkin", activity=joint, member=roster["李四"])  # another group's activity counts too
    result = _standings(runtime, [rule])
    first = result[g1][0]
    assert (first.done, first.required, first.met) == (2, 3, False)
    assert _names(first.behind) == ["赵六"]
    second = result[g2][0]
    assert (second.done, second.required, second.met) == (0, 1, False)
    assert second.remind == (roster["周七"],)


def test_group_ids_and_period_for_narrow_what_is_judged(runtime, roster, groups, rows):
    rows("submission", member=roster["张三"], at=_at(9, 3))
    g1 = groups["第一联络组"]
    september = period_of("month", D(2026, 9, 1))
    result = _standings(
        runtime,
        [OPINION, COLLECTIVE],
        group_ids=[g1],
        period_for=lambda r: september if r.period == "month" else None,
    )
    assert list(result) == [g1]
    [standing] = result[g1]
    assert (standing.period, standing.done, standing.met) == (september, 1, True)


def test_standings_cost_the_same_few_queries_for_two_groups_or_forty(runtime, roster, rows):
    rules = [OPINION, COLLECTIVE, _rule("m", "submission", ["report"], "year", scope="member")]

    def count_queries(who_gave_nothing: bool = False) -> int:
        seen = []

        # BEGIN is how SQLite starts a transaction here (models/db.py), not a query of the standings.
        def listener(_c, _cur, statement, *args) -> None:
            if not statement.startswith("BEGIN"):
                seen.append(1)

        event.listen(runtime.engine, "before_cursor_execute", listener)
        try:
            with runtime.sessions() as s:
                for per_rule in group_standings(s, rules, NOW).values():
                    if who_gave_nothing:
                        [st.behind_members for st in per_rule]
        finally:
            event.remove(runtime.engine, "before_cursor_execute", listener)
        return len(seen)

    few = count_queries()
    with runtime.sessions.begin() as s:
        for i in range(38):
            g = LiaisonGroup(name=f"第{i + 3}组", created_at=NOW)
            s.add(g)
            s.flush()
            for j in range(5):
                s.add(
                    Member(
                        name=f"委员{i}-{j}",
                        mobile=f"136{i:04d}{j:04d}",
                        group_id=g.id,
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )
    # every group's counts, the leaders, and one query per member-scope rule for its members behind
    assert count_queries() == few == 3
    # 谁还没交 for every group and rule: one more query per rule, on first use, not one per group
    assert count_queries(who_gave_nothing=True) == few + len(rules)


def test_statements_are_built_once_with_periods_and_groups_as_parameters(runtime, roster, groups, rows):
    """A standing's statements are kept per form (issue 17: building them cost more than running
    them), so a kept statement must take each call's period and groups, never the first call's."""
    rows("submission", member=roster["张三"], at=_at(9, 3))
    rows("submission", member=roster["张三"], at=_at(11, 3))
    rows("submission", member=roster["李四"], at=_at(11, 4))
    rows("submission", member=roster["周七"], at=_at(11, 5))
    rows("submission", member=roster["周七"], at=_at(10, 5))
    g1, g2 = groups["第一联络组"], groups["第二联络组"]

    def month(m: int):
        return lambda _rule: period_of("month", D(2026, m, 1))

    september = _standings(runtime, [OPINION], group_ids=[g1], period_for=month(9))[g1][0]
    built = quotas._counts_statement.cache_info().currsize
    november = _standings(runtime, [OPINION], group_ids=[g1], period_for=month(11))[g1][0]
    assert quotas._counts_statement.cache_info().currsize == built  # the same statement, another month
    assert (september.done, november.done) == (1, 2)
    assert _names(september.behind_members) == ["李四", "赵六"]
    assert _names(november.behind_members) == ["赵六"]
    only_g2 = _standings(runtime, [OPINION], group_ids=[g2], period_for=month(9))[g2][0]
    assert (only_g2.done, _names(only_g2.behind_members)) == (0, ["周七"])
    both = _standings(runtime, [OPINION], group_ids=[g2, g1], period_for=month(11))
    assert list(both) == [g1, g2]
    assert [both[g][0].done for g in (g1, g2)] == [2, 1]
    assert [_names(both[g][0].behind_members) for g in (g1, g2)] == [["赵六"], []]


def test_a_members_own_record_counts_kinds_attendance_and_personal_quotas(runtime, roster, groups, rows):
    g1 = groups["第一联络组"]
    me = roster["张三"]
    rows("submission", member=me, at=_at(11, 2))
    rows("submission", member=me, kind="suggestion", at=_at(10, 9))
    rows("submission", member=me, at=_at(3, 9))
    rows("submission", member=me, at=_at(11, 3), status="withdrawn")
    rows("submission", member=roster["李四"], at=_at(11, 3))
    went = rows("activity", group=g1, date=D(2026, 11, 5))
    excused = rows("activity", group=g1, date=D(2026, 10, 12))
    rows("activity", group=g1, date=D(2026, 4, 12))  # missed
    rows("activity", group=g1, date=D(2026, 11, 23))  # today: not missed yet
    rows("activity", group=g1, date=D(2026, 11, 30))  # ahead
    rows("activity", group=g1, date=D(2026, 11, 6), cancelled=True)
    rows("checkin", activity=went, member=me)
    rows("leave", activity=excused, member=me)
    rules = [
        OPINION,
        _rule("member_opinion", "submission", ["opinion"], "year", scope="member", minimum=3),
        _rule("member_study", "activity", ["collective"], "half", scope="member"),
    ]
    periods = [period_of(k, NOW.date()) for k in ("month", "quarter", "year")]
    with runtime.sessions() as s:
        record = member_standings(s, rules, me, g1, periods, NOW)
    month, quarter, year = record.periods
    assert (month.submissions, month.attended, month.on_leave, month.missed) == ((("opinion", 1),), 1, 0, 0)
    assert (quarter.submissions, quarter.attended, quarter.on_leave, quarter.missed) == (
        (("opinion", 1), ("suggestion", 1)),
        1,
        1,
        0,
    )
    assert (year.submissions, year.attended, year.on_leave, year.missed) == (
        (("opinion", 2), ("suggestion", 1)),
        1,
        1,
        1,
    )
    opinion, study = record.standings
    assert (opinion.rule.key, opinion.count, opinion.required, opinion.met) == ("member_opinion", 2, 3, False)
    assert opinion.deadline == D(2026, 12, 31)
    assert (study.period.label, study.count, study.met) == ("2026年下半年", 1, True)


def test_standings_count_what_the_same_session_holds_unwritten(runtime, roster, groups):
    # The counts are read on the session's connection, past the ORM (models.read): what the
    # session holds but has not flushed yet must be written first, as session.execute would.
    g1, me = groups["第一联络组"], roster["张三"]
    with runtime.sessions() as s:
        s.add(Submission(member_id=me, group_id=g1, kind="opinion", title="t", content="c", submitted_at=_at(11, 20)))
        (standing,) = group_standings(s, [OPINION], NOW, group_ids=[g1])[g1]
        s.rollback()
    assert (standing.done, standing.met) == (1, True)
