"""帮助: each role sees what it can do, with an example; an unbound sender learns how to bind."""

from __future__ import annotations


def test_member_help_lists_member_actions_only(say):
    reply = say("张三", "帮助")
    assert "签到" in reply and "社情民意" in reply and "请假" in reply and "我的履职" in reply
    assert "发布活动" not in reply and "同意 #" not in reply
    assert len(reply.splitlines()) <= 12


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
