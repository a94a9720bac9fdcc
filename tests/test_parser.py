"""The parser's reading of real-looking messages (tests/parser_cases.yaml), bad dates and robustness."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.dates import DateError, find_when
from bot.messages import INTENTS
from bot.parser import parse, parse_strict

ROOT = Path(__file__).resolve().parent.parent
_TABLE = yaml.safe_load((Path(__file__).with_name("parser_cases.yaml")).read_text(encoding="utf-8"))
CASES = _TABLE["cases"]
NOW = dt.datetime.fromisoformat(_TABLE["defaults"]["now"])


# ASCII ids (pytest would escape the Chinese text anyway): the intent and the line's index in the table.
@pytest.mark.parametrize("case", CASES, ids=[f"{i:03d}-{c['e']['intent']}" for i, c in enumerate(CASES)])
def test_case_table(case: dict) -> None:
    now = dt.datetime.fromisoformat(case["now"]) if "now" in case else NOW
    got = parse(case["t"], now).as_json()
    expected = {k: (str(v) if isinstance(v, dt.date) else v) for k, v in case["e"].items()}
    assert {k: got[k] for k in expected} == expected, got


def test_table_covers_every_intent_and_kind() -> None:
    intents = {c["e"]["intent"] for c in CASES}
    kinds = {c["e"].get("kind") for c in CASES}
    assert intents == set(INTENTS)  # DESIGN.md's intents, the office's, the leader's undo, unknown
    assert {"collective", "inspection", "research", "study", "meeting"} <= kinds
    assert len(CASES) >= 600


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("2月30日的视察我请假", "2月30日"),
        ("11月31日视察请假 出差", "11月31日"),
        ("13月1日的活动请假", "13月1日"),
        ("发布活动 11月31日上午9点 视察 县医院", "11月31日"),
        ("签到 2月30日", "2月30日"),
        ("31号的学习请假", "11月31日"),  # November has no 31st; not shifted to December
        ("发布活动 明天25点 视察", "25点"),
        ("2026年2月29日的调研请假", "2026年2月29日"),
    ],
)
def test_bad_date_is_refused_not_shifted(text: str, bad: str) -> None:
    with pytest.raises(DateError) as err:
        parse_strict(text, NOW)
    assert bad in str(err.value) and "没有" in str(err.value)
    relaxed = parse(text, NOW)
    assert relaxed.intent in {"leave", "announce", "checkin"}
    assert relaxed.date is None


def test_parse_strict_equals_parse_on_good_dates() -> None:
    for case in CASES[:60]:
        if "now" not in case:
            assert parse_strict(case["t"], NOW) == parse(case["t"], NOW)


def test_date_error_is_a_value_error_with_span() -> None:
    with pytest.raises(ValueError) as err:
        find_when("请假 下周 11月31日 视察", NOW)
    assert isinstance(err.value, DateError)
    assert "请假 下周 11月31日 视察"[err.value.start : err.value.end] == "11月31日"


@pytest.mark.parametrize(
    ("text", "date", "time"),
    [
        ("上午十点半", "2026-11-23", "10:30"),
        ("下午2点半", "2026-11-23", "14:30"),
        ("晚上7点", "2026-11-23", "19:00"),
        ("本周五上午十点半", "2026-11-27", "10:30"),
        ("明晚8点", "2026-11-24", "20:00"),
        ("中午12点", "2026-11-23", "12:00"),
        ("12月3日", "2026-12-03", None),
        ("下下周三", "2026-12-09", None),
        ("周一", "2026-11-23", None),  # today counts
        ("25号", "2026-11-25", None),
        ("22号", "2026-12-22", None),  # already past this month
        ("11月22日", "2027-11-22", None),  # already past this year
        ("月底前", "2026-11-30", None),
        ("季度末", "2026-12-31", None),
        ("9点15分", "2026-11-23", "09:15"),
    ],
)
def test_find_when(text: str, date: str, time: str | None) -> None:
    when = find_when(text, NOW)
    assert when is not None
    assert when.date.isoformat() == date
    assert (when.time.strftime("%H:%M") if when.time else None) == time


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x01\x02签到\x7f",
        "请假" * 5000,
        "社情民意：" + "很长的内容。" * 2000,
        "\ud800\udfff",  # lone surrogates
        "【】【】【",
        "@" * 100,
        "#" * 50 + "批准",
        "驳回 " + "#" * 30,
        "绑定 +86",
        "99月99日 99点99分 请假",
        "下周八请假",
        "１３月３２日视察请假",
        "\u202e\u200b签到\u2028\u2029",
        "🙏🏻🙏🏻 请假 🙏🏻",
        "周" * 1000 + "请假",
        "月" * 3000,
    ],
)
def test_never_raises(text: str) -> None:
    got = parse(text, NOW)
    assert got.intent in {"checkin", "opinion", "leave", "approve", "reject", "bind", "unknown", "announce"}
    json.dumps(got.as_json(), ensure_ascii=False)


def test_control_chars_are_ignored() -> None:
    assert parse("\x00签\u200b到\x07", NOW).intent == "checkin"


def test_a_long_note_keeps_all_its_content() -> None:
    # The kind is read from the first 5,000 characters; the note is stored whole.
    # (Speed is measured in bench/bench_parser.py, not asserted here.)
    body = "很长的内容，" * 2000  # 12,000 characters
    for text in ("社情民意：关于饮水安全。" + body, "【社情民意】关于饮水安全。" + body):
        cmd = parse(text, NOW)
        assert (cmd.intent, cmd.title) == ("opinion", "关于饮水安全")
        assert cmd.content == body
    assert parse("我请个假，下周三的座谈会参加不了。" + body, NOW).intent == "leave"


def test_importing_jionlp_prints_nothing() -> None:
    # A fresh interpreter: the parse CLI's stdout must be the JSON alone, even when jionlp is loaded.
    code = (
        "import datetime as dt, json\n"
        "from bot.parser import parse\n"
        "now = dt.datetime.fromisoformat('2026-11-23T10:00:00+08:00')\n"
        "print(json.dumps(parse('下个月3号的调研我请假', now).as_json(), ensure_ascii=False))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "intent": "leave",
        "date": "2026-12-03",
        "time": None,
        "kind": "research",
        "title": None,
        "content": None,
        "reason": None,
        "target": None,
    }


def test_importing_parser_does_not_load_jionlp() -> None:
    code = "import sys, bot.parser, bot.dates; print('jionlp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_lazy_jionlp_load_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    import bot.dates as dates

    dates._jionlp = None  # force the (re)import path inside redirect_stdout
    when = find_when("两天后", NOW)
    assert when is not None and when.date == dt.date(2026, 11, 25)
    assert capsys.readouterr().out == ""


def test_naive_clock_is_never_read() -> None:
    # The same text at two `now`s gives two dates: the parser uses `now`, not the system clock.
    a = parse("明天的视察请假", dt.datetime(2030, 5, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    b = parse("明天的视察请假", NOW)
    assert (a.date, b.date) == (dt.date(2030, 5, 2), dt.date(2026, 11, 24))


def test_a_reading_is_kept_for_its_day_only() -> None:
    # The parser keeps the day's readings of short texts (签到 is read once a day); the next day,
    # or a time of day, is read again.
    monday, later, tuesday = NOW, NOW + dt.timedelta(hours=3), NOW + dt.timedelta(days=1)
    assert parse_strict("签到", monday) is parse_strict("签到", later)
    assert (parse_strict("签到", monday).date, parse_strict("签到", tuesday).date) == (monday.date(), tuesday.date())
    first, second = parse_strict("明天的视察我请假", monday), parse_strict("明天的视察我请假", tuesday)
    assert (first.intent, second.intent) == ("leave", "leave")
    assert second.date - first.date == dt.timedelta(days=1)
    with pytest.raises(DateError):
        parse_strict("11月31日请假", monday)
    with pytest.raises(DateError):  # a refusal is never kept as a reading either
        parse_strict("11月31日请假", tuesday)
