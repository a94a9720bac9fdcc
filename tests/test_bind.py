"""绑定身份: a platform sender proves name + mobile and is bound; mismatches and conflicts bind nothing."""

from __future__ import annotations

from sqlalchemy import select

from models import Member


def _ids(runtime) -> dict[str, tuple[str | None, str | None]]:
    with runtime.sessions() as s:
        return {m.name: (m.wecom_userid, m.dingtalk_userid) for m in s.scalars(select(Member))}


def _bot_ids(runtime) -> dict[str, str | None]:
    with runtime.sessions() as s:
        return {m.name: m.wecom_bot_userid for m in s.scalars(select(Member))}


def test_unbound_wecom_sender_binds_with_name_and_mobile(say, runtime):
    reply = say("赵六", "绑定 赵六 13800000003", platform="wecom_bot", sender_id="zhaoliu")
    assert reply == "绑定成功：赵六（第一联络组）。发送「帮助」查看可以做什么。"
    assert _bot_ids(runtime)["赵六"] == "zhaoliu"  # the smart bot's id, in the smart bot's column
    # From now on the pipeline knows who is speaking.
    assert "赵六，您可以这样@我" in say("赵六", "帮助", platform="wecom_bot", sender_id="zhaoliu")


def test_a_member_the_smart_bot_knows_by_an_open_userid_binds_and_keeps_the_rosters_userid(say, runtime):
    # doc 101521: a smart bot may see an encrypted open_userid instead of the roster's 企业微信账号.
    open_userid = "woAJ2GCAAAXtWyujaWJHDDGi0mACH71w"
    assert "绑定 姓名 手机号" in say("张三", "签到", platform="wecom_bot", sender_id=open_userid)
    reply = say("张三", "绑定 张三 13800000001", platform="wecom_bot", sender_id=open_userid)
    assert reply.startswith("绑定成功：张三")
    assert _ids(runtime)["张三"] == ("zhangsan", "dt_zhangsan")  # mentions and message/send stay real
    assert _bot_ids(runtime)["张三"] == open_userid
    assert "张三，您可以这样@我" in say("张三", "帮助", platform="wecom_bot", sender_id=open_userid)
    # A second smart-bot id for the same member is for the office (and a stranger learns nothing).
    reply = say("张三", "绑定 张三 13800000001", platform="wecom_bot", sender_id="woAJ2GCAAAother")
    assert "已绑定其他账号" in reply and "县政协办公室" in reply
    assert _bot_ids(runtime)["张三"] == open_userid


def test_dingtalk_sender_binds_the_dingtalk_id(say, runtime):
    say("赵六", "绑定 赵六 13800000003", platform="dingtalk", sender_id="dt_zhaoliu")
    assert _ids(runtime)["赵六"] == (None, "dt_zhaoliu")


def test_wrong_mobile_binds_nothing(say, runtime):
    before = _ids(runtime)
    reply = say("赵六", "绑定 赵六 13800009999", platform="wecom_bot", sender_id="zhaoliu")
    assert "对不上" in reply
    assert _ids(runtime) == before


def test_rebinding_the_same_pair_is_acknowledged(say, runtime):
    reply = say("张三", "绑定 张三 13800000001", platform="wecom_bot", sender_id="zhangsan")
    assert reply.startswith("张三，您已绑定过了")
    assert _ids(runtime)["张三"] == ("zhangsan", "dt_zhangsan")


def test_a_stranger_learns_nothing_of_whether_a_name_and_mobile_belong_together(say, runtime):
    before = _ids(runtime)
    taken = say("张三", "绑定 张三 13800000001", platform="wecom_app", sender_id="someone_else")
    wrong = say("张三", "绑定 张三 13800000009", platform="wecom_bot", sender_id="someone_else")
    nobody = say("张三", "绑定 无此人 13800000001", platform="wecom_bot", sender_id="someone_else")
    assert taken == wrong == nobody and "县政协办公室" in taken
    assert _ids(runtime) == before


def test_binding_attempts_are_limited_per_sender_and_hour(say, runtime):
    import datetime as dt

    from tests.conftest import NOW

    for i in range(5):
        assert "对不上" in say(
            "x",
            f"绑定 张三 1380000009{i}",
            NOW + dt.timedelta(minutes=i),
            platform="wecom_bot",
            sender_id="guesser",
        )
    sixth = say(
        "x", "绑定 赵六 13800000003", NOW + dt.timedelta(minutes=6), platform="wecom_bot", sender_id="guesser"
    )
    assert sixth.startswith("绑定尝试次数过多")
    assert _bot_ids(runtime)["赵六"] is None  # the right pair, refused: no more guesses this hour
    later = say(
        "x",
        "绑定 赵六 13800000003",
        NOW + dt.timedelta(hours=1, minutes=7),
        platform="wecom_bot",
        sender_id="guesser",
    )
    assert later.startswith("绑定成功") and _bot_ids(runtime)["赵六"] == "guesser"


def test_id_bound_to_another_member_cannot_take_a_second_identity(say, runtime):
    before = _ids(runtime)
    reply = say("李四", "绑定 赵六 13800000003", platform="wecom_bot", sender_id="lisi")
    assert "已绑定为其他委员" in reply
    assert _ids(runtime) == before


def test_console_needs_no_binding(say, runtime):
    before = _ids(runtime)
    assert say("张三", "绑定 张三 13800000001") == "控制台按姓名识别，无需绑定。"
    assert _ids(runtime) == before


def test_unbound_sender_is_told_how_to_bind(say):
    reply = say("路人", "签到", platform="wecom_bot", sender_id="stranger")
    assert "绑定 姓名 手机号" in reply


def test_asking_to_change_the_roster_says_the_office_keeps_it_and_changes_nothing(say, runtime, roster):
    from handlers.bind import ROSTER_BY_OFFICE

    assert say("张三", "我想改一下我的手机号") == ROSTER_BY_OFFICE
    assert say("陌生人", "我换组了，现在是第二联络组") == ROSTER_BY_OFFICE  # no roster entry needed to ask
    with runtime.sessions() as s:
        assert s.get(Member, roster["张三"]).mobile == "13800000001"


def test_a_greeting_one_to_one_is_greeted_and_pointed_to_help(say):
    from bot.pipeline import GREETING

    assert say("张三", "你好") == GREETING
    assert say("张三", "在吗？") == GREETING
    assert say("张三", "好的") != GREETING


def test_a_name_and_a_mobile_alone_bind_and_a_mobile_alone_is_asked_for_the_name(say, runtime):
    reply = say("赵六", "我的手机号是13800000003", platform="wecom_bot", sender_id="zhaoliu")
    assert reply.startswith("请发送姓名和手机号（与花名册一致）")
    assert _bot_ids(runtime)["赵六"] is None
    assert say("赵六", "赵六 13800000003", platform="wecom_bot", sender_id="zhaoliu").startswith("绑定成功：赵六")
    assert _bot_ids(runtime)["赵六"] == "zhaoliu"
