"""收稿提示 (issue 18 point 3): every 社情民意 is recorded; one that breaks a usual rule (a near-copy of a
recent note of the same group, too long, more than one matter, no suggestion) gets one line of advice."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from models import Submission
from tests.conftest import NOW

GOOD = "社情民意：关于城东路口红绿灯的建议。城东路口早晚高峰拥堵严重，行人过街困难。原因是信号配时不合理。建议交警部门优化配时。"


def _notes(runtime) -> int:
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(Submission))


def test_a_note_that_follows_the_rules_gets_no_advice(say, runtime):
    reply = say("张三", GOOD)
    assert reply.startswith("已收到社情民意") and "\n" not in reply and "提示" not in reply


@pytest.mark.parametrize(
    ("text", "advice"),
    [
        (
            "社情民意：关于路灯的问题。晚上太黑，老人出行不便。",
            "提示：社情民意宜写明情况、原因和具体建议，可补充建议后发「更正」。",
        ),
        (
            "社情民意：关于路灯和关于井盖的建议。路灯不亮，井盖缺失。建议修复。",
            "提示：一篇社情民意宜只反映一件事，其他问题可另发一篇。",
        ),
        (
            "社情民意：关于路灯的建议。路灯不亮，建议修复。另外还有一个问题，菜市场脏乱。",
            "提示：一篇社情民意宜只反映一件事，其他问题可另发一篇。",
        ),
        (
            "社情民意：关于路灯的建议。" + "路灯不亮，建议修复。" * 160,
            "提示：社情民意一般不超过1500字（这篇1600字），精简后更易采用。",
        ),
    ],
    ids=["no-suggestion", "two-matters-title", "two-matters-text", "too-long"],
)
def test_a_note_breaking_a_rule_is_recorded_with_one_line_of_advice(say, runtime, text, advice):
    before = _notes(runtime)
    receipt, *lines = say("张三", text).split("\n")
    assert receipt.startswith("已收到社情民意") and "编号#" in receipt
    assert lines == [advice]
    assert _notes(runtime) == before + 1


def test_a_near_copy_of_the_groups_recent_note_is_pointed_out(say, runtime):
    say("张三", GOOD)
    with runtime.sessions() as s:
        first = s.scalar(select(Submission.id))
    copy = GOOD.replace("严重", "很严重").replace("建议交警部门", "建议交警")
    lines = say("李四", copy, now=NOW + dt.timedelta(days=3)).split("\n")
    assert (
        lines[1]
        == f"提示：这篇与本组的#{first}《关于城东路口红绿灯的建议》内容相近，请确认不是重复反映；如是补充，可发「更正 #{first} …」。"
    )
    # Another group's note, or the same group's beyond similar_days, is not compared.
    assert "\n" not in say("周七", copy, now=NOW + dt.timedelta(days=3))
    assert "\n" not in say("赵六", copy, now=NOW + dt.timedelta(days=120))
    assert _notes(runtime) == 4


@pytest.fixture
def quiet(config_dict):
    config_dict["submissions"] = {**config_dict.get("submissions", {}), "advice": False}
    return config_dict


def test_with_advice_off_no_line_is_added(quiet, say):
    assert "\n" not in say("张三", "社情民意：关于路灯的问题。晚上太黑。")
