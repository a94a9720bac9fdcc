"""帮助: each role sees what it can do, with an example; an unbound sender learns how to bind."""

from __future__ import annotations


def test_member_help_lists_member_actions_only(say):
    reply = say("张三", "帮助")
    assert "签到" in reply and "社情民意" in reply and "请假" in reply and "我的履职" in reply
    assert "发布活动" not in reply and "同意 #" not in reply
    assert len(reply.splitlines()) <= 12
    from bot.parser import parse
    from tests.conftest import NOW

    (line,) = [x for x in reply.splitlines() if "本组名单" in x]
    assert [parse(e, NOW).intent for e in line.split("：", 1)[1].split("　或　")] == ["schedule", "my_group"]


def test_leader_help_adds_announce_approve_and_status(say):
    reply = say("王组长", "帮助")
    assert "发布活动" in reply and "同意 #3" in reply and "本组情况" in reply
    assert len(reply.splitlines()) <= 12


def test_admin_help_fits_in_twelve_lines(say):
    reply = say("陈主任", "帮助")
    assert "发布活动" in reply and "管理员" in reply and "采用 #12" in reply and "撤回" in reply
    assert len(reply.splitlines()) <= 12


def test_unbound_sender_is_shown_how_to_bind(say):
    reply = say("路人", "帮助", platform="wecom_bot", sender_id="stranger")
    assert "绑定 张三 13800001234" in reply
    assert len(reply.splitlines()) <= 12


def test_every_example_in_the_admin_help_is_understood(say):
    from bot.parser import parse
    from tests.conftest import NOW

    examples = []
    for line in say("陈主任", "帮助").splitlines()[1:]:
        said = line.removeprefix("· ").split("：", 1)[1]
        examples += [
            e.strip() for e in said.replace("　或　", "；").split("；") if "／" not in e and "/" not in e
        ]
    assert len(examples) >= 14
    not_understood = [e for e in examples if parse(e, NOW).intent == "unknown"]
    assert not_understood == []


def test_asking_how_to_send_a_file_is_told_with_the_configured_limits(say):
    reply = say("张三", "我上传个附件")
    assert reply.startswith("直接把文件或图片发给我即可") and "20MB" in reply and "10分钟" in reply


def test_a_member_saying_a_note_was_wrong_is_told_how_to_mend_it_and_nothing_is_recorded(runtime, say):
    from sqlalchemy import func, select

    from models import Submission

    assert say("张三", "我刚才提交的调研报告有误") == "您还没有交过材料，没有可改的。"
    first = say("张三", "社情民意：关于村口路灯损坏的情况。晚上群众出行不便，建议尽快修复")
    number = first.split("编号#")[1].split("。")[0].split("，")[0]
    reply = say("张三", "组长，我上周交的那篇社情民意有个错字，怎么改")
    assert "更正 #编号 新的全文" in reply and "撤回 #编号" in reply
    assert f"社情民意#{number}《关于村口路灯损坏的情况》（11月23日）" in reply
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1
        assert s.scalar(select(Submission.content)).startswith("晚上群众出行不便")


def test_asking_to_correct_a_note_without_its_new_text_changes_nothing(runtime, say):
    from sqlalchemy import select

    from models import Submission

    say("张三", "社情民意：关于村口路灯损坏的情况。晚上群众出行不便，建议尽快修复")
    assert say("张三", "我想修改一下刚交的社情民意").startswith("请把更正后的内容一起发来")
    with runtime.sessions() as s:
        assert s.scalar(select(Submission.title)) == "关于村口路灯损坏的情况"


def test_asking_whether_a_visit_counts_is_told_what_the_bot_records(say):
    reply = say("张三", "我今天去了村里走访群众，算不算履职")
    assert "社情民意：" in reply and "为民办实事：" in reply and "考核办法" in reply


def test_asking_how_the_score_is_counted_reads_the_configured_categories_and_grades(say, runtime):
    reply = say("李四", "积分怎么算的")
    lines = reply.splitlines()
    assert len(lines) == len(runtime.settings.scoring.categories) + 2
    for category, line in zip(runtime.settings.scoring.categories, lines[1:], strict=False):
        assert line.startswith(f"· {category.name}（")
    first = runtime.settings.scoring.categories[0]
    if first.attended:
        assert f"出席+{first.attended:g}分" in lines[1]
    assert lines[-1].startswith("等次：") and "我的积分" in lines[-1]
