"""Quota periods: boundaries, Chinese labels, deadlines and the period words leaders use."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import periods
from bot.config import QuotaRule
from bot.periods import Period, deadline, parse_period_word, period_of, previous, spoken

D = dt.date
TODAY = D(2026, 11, 23)


def _rule(period: str, day: int = 31, month: int | None = None) -> QuotaRule:
    return QuotaRule(
        key="r",
        name="规则",
        source="submission",
        kinds=["opinion"],
        period=period,
        deadline={"day": day, "month": month},
    )


@pytest.mark.parametrize(
    ("kind", "day", "start", "end", "label"),
    [
        ("month", D(2026, 11, 23), D(2026, 11, 1), D(2026, 11, 30), "2026年11月"),
        ("month", D(2026, 12, 31), D(2026, 12, 1), D(2026, 12, 31), "2026年12月"),
        ("month", D(2027, 1, 1), D(2027, 1, 1), D(2027, 1, 31), "2027年1月"),
        ("month", D(2028, 2, 10), D(2028, 2, 1), D(2028, 2, 29), "2028年2月"),
        ("month", D(2027, 2, 10), D(2027, 2, 1), D(2027, 2, 28), "2027年2月"),
        ("quarter", D(2026, 11, 23), D(2026, 10, 1), D(2026, 12, 31), "2026年第四季度"),
        ("quarter", D(2026, 1, 1), D(2026, 1, 1), D(2026, 3, 31), "2026年第一季度"),
        ("quarter", D(2026, 4, 1), D(2026, 4, 1), D(2026, 6, 30), "2026年第二季度"),
        ("quarter", D(2026, 9, 30), D(2026, 7, 1), D(2026, 9, 30), "2026年第三季度"),
        ("half", D(2026, 6, 30), D(2026, 1, 1), D(2026, 6, 30), "2026年上半年"),
        ("half", D(2026, 7, 1), D(2026, 7, 1), D(2026, 12, 31), "2026年下半年"),
        ("year", D(2026, 12, 31), D(2026, 1, 1), D(2026, 12, 31), "2026年"),
    ],
)
def test_period_of_each_kind_starts_and_ends_on_calendar_boundaries(kind, day, start, end, label):
    assert period_of(kind, day) == Period(kind, start, end, label)


def test_a_day_belongs_to_its_period_and_not_to_the_next():
    q4 = period_of("quarter", D(2026, 12, 31))
    assert D(2026, 12, 31) in q4
    assert D(2027, 1, 1) not in q4
    assert q4.days == 92


@pytest.mark.parametrize("kind", ["month", "quarter", "half", "year"])
def test_previous_and_next_walk_across_the_new_year(kind):
    last = period_of(kind, D(2026, 12, 31))
    first = period_of(kind, D(2027, 1, 1))
    assert periods.next(last) == first
    assert previous(first) == last
    assert periods.next(previous(last)) == last


@pytest.mark.parametrize(
    ("period", "day", "month", "expected"),
    [
        (period_of("month", D(2026, 11, 5)), 31, None, D(2026, 11, 30)),
        (period_of("month", D(2027, 2, 5)), 31, None, D(2027, 2, 28)),
        (period_of("month", D(2028, 2, 5)), 31, None, D(2028, 2, 29)),
        (period_of("month", D(2028, 2, 5)), 30, None, D(2028, 2, 29)),
        (period_of("month", D(2026, 11, 5)), 25, None, D(2026, 11, 25)),
        (period_of("quarter", D(2026, 11, 5)), 20, None, D(2026, 12, 20)),
        (period_of("quarter", D(2026, 5, 5)), 31, None, D(2026, 6, 30)),
        (period_of("quarter", D(2027, 2, 5)), 31, 2, D(2027, 2, 28)),
        (period_of("quarter", D(2026, 11, 5)), 15, 1, D(2026, 10, 15)),
        (period_of("half", D(2026, 3, 5)), 31, None, D(2026, 6, 30)),
        (period_of("half", D(2026, 8, 5)), 20, None, D(2026, 12, 20)),
        (period_of("year", D(2026, 8, 5)), 31, 11, D(2026, 11, 30)),
        (period_of("year", D(2026, 8, 5)), 20, None, D(2026, 12, 20)),
    ],
)
def test_deadline_falls_in_the_chosen_month_and_is_clipped_to_its_length(period, day, month, expected):
    assert deadline(_rule(period.kind, day, month), period) == expected


@pytest.mark.parametrize(
    ("word", "label"),
    [
        ("本月", "2026年11月"),
        ("这个月", "2026年11月"),
        ("上月", "2026年10月"),
        ("上个月", "2026年10月"),
        ("本季度", "2026年第四季度"),
        ("上季度", "2026年第三季度"),
        ("上半年", "2026年上半年"),
        ("下半年", "2026年下半年"),
        ("今年", "2026年"),
        ("本年度", "2026年"),
        ("去年", "2025年"),
        ("2026年第三季度", "2026年第三季度"),
        ("2026年3季度", "2026年第三季度"),
        ("2025年第一季度", "2025年第一季度"),
        ("2026年10月", "2026年10月"),
        ("2026年十月", "2026年10月"),
        ("第三季度", "2026年第三季度"),
        ("三季度", "2026年第三季度"),
        ("10月", "2026年10月"),
        ("2025年下半年", "2025年下半年"),
        ("2025年", "2025年"),
        (" 本季度 ", "2026年第四季度"),
    ],
)
def test_period_words_name_the_period_a_leader_means(word, label):
    period = parse_period_word(word, TODAY)
    assert period is not None and period.label == label


def test_last_month_and_last_quarter_in_january_are_in_the_previous_year():
    jan = D(2027, 1, 5)
    assert parse_period_word("上月", jan) == period_of("month", D(2026, 12, 1))
    assert parse_period_word("上季度", jan) == period_of("quarter", D(2026, 12, 1))
    assert parse_period_word("去年", jan) == period_of("year", D(2026, 1, 1))


@pytest.mark.parametrize("word", ["", "本周", "第五季度", "13月", "2026年13月", "明天", "季度", "hello"])
def test_words_that_name_no_quota_period_give_none(word):
    assert parse_period_word(word, TODAY) is None


@pytest.mark.parametrize(
    ("period", "said"),
    [
        (period_of("month", TODAY), "本月"),
        (period_of("month", D(2026, 10, 1)), "上月"),
        (period_of("month", D(2026, 9, 1)), "2026年9月"),
        (period_of("quarter", TODAY), "本季度"),
        (period_of("quarter", D(2026, 8, 1)), "上季度"),
        (period_of("half", TODAY), "下半年"),
        (period_of("half", D(2026, 3, 1)), "上半年"),
        (period_of("year", TODAY), "今年"),
        (period_of("year", D(2025, 3, 1)), "去年"),
    ],
)
def test_periods_are_spoken_as_people_say_them(period, said):
    assert spoken(period, TODAY) == said


def test_last_years_second_half_spoken_in_january_is_qunian_xiabannian():
    assert spoken(period_of("half", D(2026, 12, 1)), D(2027, 1, 10)) == "去年下半年"
