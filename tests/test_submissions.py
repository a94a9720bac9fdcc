"""社情民意 and other written work: recorded verbatim, counted for the month, empty ones asked for."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.messages import Command
from bot.pipeline import NOT_UNDERSTOOD
from models import Submission
from tests.conftest import NOW


def _rows(runtime) -> list[Submission]:
    with runtime.sessions() as s:
        return list(s.scalars(select(Submission).order_by(Submission.id)))


def test_opinion_is_recorded_and_counted_for_the_group(say, runtime, roster):
    reply = say("张三", "社情民意：关于加强老旧小区加装电梯的建议")
    (row,) = _rows(runtime)
    assert reply == (
        f"已收到社情民意《关于加强老旧小区加装电梯的建议》（11月23日），这是本月本组第1篇，编号#{row.id}。"
    )
    assert (row.kind, row.title, row.member_id) == (
        "opinion",
        "关于加强老旧小区加装电梯的建议",
        roster["张三"],
    )
    assert row.group_id is not None and row.submitted_at == NOW and row.source_message_id is not None


def test_second_note_of_the_group_this_month_is_numbered_two(ask, runtime, roster):
    ask("张三", Command("opinion", title="关于停车难", content="关于停车难"))
    # Last month's and the other group's notes do not count toward this month's number.
    ask("李四", Command("opinion", title="上月的", content="上月的"), now=NOW - dt.timedelta(days=30))
    ask("周七", Command("opinion", title="二组的", content="二组的"))
    reply = ask("李四", Command("opinion", title="关于夜市噪音", content="关于夜市噪音"))
    assert "这是本月本组第2篇，编号#" in reply
    assert len(_rows(runtime)) == 4


def test_other_kinds_are_counted_separately(ask, runtime):
    ask("张三", Command("opinion", title="甲", content="甲"))
    reply = ask("张三", Command("suggestion", title="关于公交线路", content="关于公交线路"))
    assert (
        reply
        == f"已收到意见建议《关于公交线路》（11月23日），这是本季度本组第1篇，编号#{_rows(runtime)[-1].id}。"
    )
    assert [r.kind for r in _rows(runtime)] == ["opinion", "suggestion"]


def test_a_research_report_is_counted_in_its_quota_period_the_half_year(ask, runtime):
    # 调研报告 counts by the half-year (config.yaml's half_year_report): August's is the first of it.
    ask(
        "张三",
        Command("report", title="八月的调研", content="八月的调研"),
        now=dt.datetime(2026, 8, 3, 9, tzinfo=NOW.tzinfo),
    )
    reply = ask("李四", Command("report", title="关于农村养老的调研报告", content="关于农村养老的调研报告"))
    assert reply == (
        f"已收到调研报告《关于农村养老的调研报告》（11月23日），这是下半年本组第2篇，编号#{_rows(runtime)[-1].id}。"
    )
    reply = ask("张三", Command("project", title="修好了村口的路灯", content="修好了村口的路灯"))
    assert "这是今年本组第1件，编号#" in reply


@pytest.mark.parametrize("intent", ["opinion", "report", "proposal"])
def test_empty_submission_asks_for_the_content_and_the_next_message_is_the_note(ask, say, runtime, intent):
    reply = ask("张三", Command(intent, title=None, content="  "))
    label = {"opinion": "社情民意", "report": "调研报告", "proposal": "提案"}[intent]
    assert reply == f"请发来{label}的内容（第一句作标题），我收到后记下。"
    assert _rows(runtime) == []
    answer = say("张三", "县城东门菜市场早上占道经营严重。三轮车堵在路口，学生上学很危险。")
    (row,) = _rows(runtime)
    assert (row.kind, row.title, row.content) == (
        intent,
        "县城东门菜市场早上占道经营严重",
        "三轮车堵在路口，学生上学很危险。",
    )
    assert answer.startswith(f"已收到{label}《县城东门菜市场早上占道经营严重》")


def test_a_new_command_instead_of_the_content_is_that_command(ask, say, runtime):
    ask("张三", Command("opinion"))
    assert "履职记录" in say("张三", "我的履职")
    assert _rows(runtime) == []
    assert say("张三", "城区路灯坏了好几盏") == NOT_UNDERSTOOD  # the question is gone: plain text again


def test_title_is_derived_from_the_first_clause_of_the_content(ask, runtime):
    content = "城区三所学校门口早晚高峰拥堵严重，建议错峰放学并增设临时停车位。"
    reply = ask("张三", Command("report", content=content))
    assert "《城区三所学校门口早晚高峰拥堵严重》" in reply
    (row,) = _rows(runtime)
    assert row.title == "城区三所学校门口早晚高峰拥堵严重" and row.content == content


def test_long_emoji_and_sql_looking_content_is_stored_verbatim(ask, runtime):
    content = "关于👍'); DROP TABLE submission;-- 的说明\n" + "长" * 10_000
    reply = ask("张三", Command("opinion", content=content))
    assert reply.startswith("已收到社情民意《关于👍')》")  # the title stops at the first clause
    (row,) = _rows(runtime)
    assert row.content == content
    assert len(row.title) <= 30


def test_redelivered_note_is_recorded_once(say, runtime):
    first = say("张三", "社情民意：关于路灯维修", msg_id="x")
    again = say("张三", "社情民意：关于路灯维修", msg_id="x")
    assert first == again
    with runtime.sessions() as s:
        assert s.scalar(select(func.count(Submission.id))) == 1
