"""The phrasings README.md shows an office ("委员和组长可以说什么") are read as the table says."""

from __future__ import annotations

import re

import pytest

from bot.parser import parse
from tests.conftest import NOW, ROOT

# The row's first cell -> the intent its examples must be read as (None: any reading but unknown,
# for rows whose examples span several intents, such as approve/reject or cancel/change).
ROWS = {
    "签到": "checkin",
    "交社情民意": "opinion",
    "交其他材料": None,
    "请假": "leave",
    "漏签补报": "late",
    "看自己的履职": "my",
    "看活动安排": "schedule",
    "说会参加": "will_attend",
    "绑定": "bind",
    "发布活动": "announce",
    "审批请假": None,
    "取消、改期": None,
    "查询": "status",
    "看本组名单": "my_group",
    "导出": "export",
}


def _examples() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## 委员和组长可以说什么") : text.index("所有人发“帮助”")]
    found = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] not in ROWS:
            continue
        said = re.sub(r"（[^）]*）", "", cells[1])  # the remarks in brackets are not examples
        found += [(cells[0], e.strip()) for e in said.split("　") if e.strip()]
    return found


EXAMPLES = _examples()


def test_the_readme_shows_enough_examples():
    assert len(EXAMPLES) >= 50 and {row for row, _e in EXAMPLES} == set(ROWS)


@pytest.mark.parametrize(("row", "text"), EXAMPLES, ids=[f"{i:02d}" for i in range(len(EXAMPLES))])
def test_each_readme_example_is_read_as_its_row_says(row, text):
    intent = parse(text, NOW).intent
    assert intent == ROWS[row] if ROWS[row] else intent != "unknown", (text, intent)
