"""The console plays a group's chat (`chat --group`) or a private one, and takes a message over
several lines (a line ending with a backslash goes on)."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

import app as app_module
from bot.platforms import console
from models import ChatBinding, Submission
from tests.conftest import NOW


def play(runtime, speaker: str, lines: list[str], *, group: str | None = None) -> list[str]:
    chat_id = runtime.group_chat(console.DESCRIPTOR.family, group) if group else None
    out: list[str] = []
    knows = lambda name: runtime.knows(console.CHANNEL, name)  # noqa: E731
    console.Console(runtime.pipeline, lambda: NOW, knows, speaker, chat_id=chat_id).run(
        [line + "\n" for line in lines], out=out.append, prompt=lambda _p: None
    )
    return out


def test_in_a_groups_chat_chatter_gets_no_answer_and_mentions_show_as_in_the_group(runtime, roster):
    out = play(runtime, "王组长", ["收到", "谁还没交社情民意"], group="第一联络组")
    assert out[0] == console.SILENT
    assert out[1].startswith("本月还没交社情民意的：张三、李四、赵六")
    assert out[2] == "@张三 @李四 @赵六"


def test_in_a_private_chat_chatter_gets_a_hint_and_no_mention_line(runtime, roster):
    out = play(runtime, "王组长", ["收到", "谁还没交社情民意"])
    assert out[0] != console.SILENT  # one-to-one the bot is the only one who can answer
    assert out[1].startswith("本月还没交社情民意的：") and len(out) == 2


def test_a_member_of_another_group_is_told_this_chat_is_not_theirs(runtime, roster):
    (answer,) = play(runtime, "周七", ["签到"], group="第一联络组")
    assert "这个群属于其他联络组" in answer


def test_the_groups_console_chat_is_bound_to_that_group_once(runtime, roster):
    play(runtime, "王组长", ["收到"], group="第一联络组")
    play(runtime, "王组长", ["收到"], group="第一联络组")
    with runtime.sessions() as s:
        bindings = s.scalars(select(ChatBinding).where(ChatBinding.platform == "console")).all()
    assert [(b.chat_id, b.group_id) for b in bindings] == [("第一联络组", bindings[0].group_id)]
    assert runtime.group_chat(console.DESCRIPTOR.family, "第九联络组") is None


def test_a_line_ending_with_a_backslash_goes_on_so_a_note_has_its_title_and_content(runtime, roster):
    out = play(
        runtime,
        "张三",
        ["社情民意：关于农村客运班线的建议\\", "部分村每天只有一班车，\\", "群众出行不便。", "/as 李四"],
        group="第一联络组",
    )
    assert out[0].startswith("已收到社情民意《关于农村客运班线的建议》") and len(out) == 2
    with runtime.sessions() as s:
        (note,) = s.scalars(select(Submission)).all()
    assert note.title == "关于农村客运班线的建议"
    assert note.content == "部分村每天只有一班车，\n群众出行不便。"
    assert note.member_id == roster["张三"]


def test_input_that_ends_inside_a_message_still_sends_it(runtime, roster):
    (answer,) = play(runtime, "张三", ["建议：关于路灯维修\\", "城东路灯坏了半个月\\"])
    assert answer.startswith("已收到") and "关于路灯维修" in answer


def test_chat_with_an_unknown_group_says_so(runtime, roster, write_config):
    result = CliRunner().invoke(
        app_module.cli,
        ["--config", str(write_config()), "chat", "--as", "王组长", "--group", "第九联络组"],
        input="",
    )
    assert result.exit_code == 1 and "第九联络组" in result.output


def test_thanks_to_the_group_are_chatter_but_thanks_with_a_request_are_answered(runtime, roster):
    from bot.parser import is_chatter

    assert all(is_chatter(t) for t in ("这周大家辛苦了，谢谢", "谢谢大家的支持", "感谢各位", "组长 谢谢"))
    assert not any(is_chatter(t) for t in ("辛苦了，明天的视察我请假", "谢谢，我请个假"))
    out = play(runtime, "王组长", ["这周大家辛苦了，谢谢"], group="第一联络组")
    assert out == [console.SILENT]


def test_a_leader_closing_the_days_activity_is_chatter_but_asking_whether_it_is_over_is_answered(runtime, roster):
    from bot.parser import is_chatter

    assert all(is_chatter(t) for t in ("大家辛苦了，今天的视察圆满结束", "今天的调研就到这里，谢谢大家"))
    assert not any(is_chatter(t) for t in ("今天的视察结束了吗", "活动结束了吗", "今天的视察圆满结束，明天的学习我请假"))
    assert play(runtime, "王组长", ["今天的调研就到这里，谢谢大家"], group="第一联络组") == [console.SILENT]
