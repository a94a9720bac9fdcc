"""`python app.py unknowns`: the office reads what members addressed to the bot that it could not place."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from app import cli
from tests.conftest import NOW

IN_GROUP = {"platform": "wecom_bot", "chat_id": "chat-g1", "is_group": True, "sender_id": "zhangsan"}


def run(config, *args):
    return CliRunner().invoke(cli, ["--config", str(config), "unknowns", *args])


def test_unknowns_lists_what_the_bot_could_not_place_with_group_sender_and_time(say, write_config):
    say("张三", "我们村那条路啥时候能修", NOW, **IN_GROUP)
    say("张三", "收到", NOW, **IN_GROUP)  # chatter: not listed by default
    say("张三", "签到表放哪了我找不着", NOW + dt.timedelta(days=2), **IN_GROUP)
    say("张三", "我的履职", NOW, **IN_GROUP)  # understood: never listed
    say("李四", "明天那个事咋整", NOW, sender_id="lisi", platform="wecom_bot")  # one-to-one
    result = run(write_config())
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "共 3 条机器人没有读懂的消息"
    assert lines[0].split("\t") == ["2026-11-23 10:00", "第一联络组", "张三", "我们村那条路啥时候能修"]
    assert lines[1].split("\t")[1:] == ["私聊", "李四", "明天那个事咋整"]
    assert lines[2].startswith("2026-11-25 10:00\t第一联络组\t张三\t签到表放哪了我找不着")
    assert "收到" not in result.output and "我的履职" not in result.output


def test_unknowns_since_a_date_and_with_the_chatter(say, write_config):
    say("张三", "我们村那条路啥时候能修", NOW, **IN_GROUP)
    say("张三", "收到", NOW + dt.timedelta(days=1), **IN_GROUP)
    config = write_config()
    assert run(config, "--since", "2026-11-24").output.strip() == "共 0 条机器人没有读懂的消息"
    with_chatter = run(config, "--since", "2026-11-24", "--chatter").output
    assert "收到（闲聊）" in with_chatter and "共 1 条" in with_chatter


def test_unknowns_refuses_a_date_that_is_not_one(write_config):
    result = run(write_config(), "--since", "11月")
    assert result.exit_code == 2 and "is not a date" in result.output
