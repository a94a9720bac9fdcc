"""Each platform described once: the registry app.py builds finds a platform by the channel a
message came on, builds a push client only for what config.yaml sets up, and keeps names unique."""

from __future__ import annotations

import pytest

from app import PLATFORMS
from bot.config import settings_from_dict
from bot.descriptor import PlatformDescriptor, Platforms
from tests.conftest import shipped_config


@pytest.mark.parametrize(
    "channel, family, column, matched",
    [
        # The smart bot may know people by an open_userid: 绑定 keeps it in a column of its own,
        # and a sender there is still recognised by the roster's 企业微信账号.
        ("wecom_bot", "wecom", "wecom_bot_userid", ("wecom_bot_userid", "wecom_userid")),
        ("wecom_app", "wecom", "wecom_userid", ("wecom_userid",)),
        ("dingtalk", "dingtalk", "dingtalk_userid", ("dingtalk_userid",)),
        ("console", "console", "name", ("name",)),
    ],
)
def test_every_channel_belongs_to_one_platform_that_knows_its_members_by_its_columns(
    channel, family, column, matched
):
    platform = PLATFORMS.for_channel(channel)
    assert (platform.family, platform.member_column, platform.matched_columns) == (family, column, matched)


def test_a_channel_nobody_registered_has_no_platform():
    assert PLATFORMS.for_channel("telegram") is None


def test_push_clients_are_built_only_for_the_platforms_config_sets_up():
    shipped = settings_from_dict(shipped_config())
    assert dict(PLATFORMS.configured(shipped).clients) == {}  # platforms off, the console logs
    bound = settings_from_dict(
        {**shipped_config(), "groups": [{"name": "一组", "wecom": {"webhook_key": "k"}}]}
    )
    assert set(PLATFORMS.configured(bound).clients) == {"wecom"}
    assert PLATFORMS.fallback.family == "console"


def test_group_and_member_addresses_come_from_the_platform_that_reaches_them():
    binding = settings_from_dict(
        {
            **shipped_config(),
            "groups": [{"name": "一组", "dingtalk": {"robot_token": "t", "robot_secret": "S"}}],
        }
    ).groups[0]
    settings = settings_from_dict(shipped_config())
    wecom, dingtalk, console, web = PLATFORMS
    assert wecom.group_address(binding, settings) is None
    where = dingtalk.group_address(binding, settings)
    assert (where.address, where.limit_key) == (
        {"robot_token": "t", "robot_secret": "S", "conversation_id": ""},
        "dingtalk:t",
    )
    assert console.group_address(binding, settings) is None
    assert web.group_address(binding, settings) is None  # the office's page sends nothing


def test_a_group_without_a_push_bot_is_reached_through_the_app_robot_or_the_long_connection():
    settings = settings_from_dict(
        {
            **shipped_config(),
            "wecom": {"smart_bot": {"long_connection": {"bot_id": "b", "secret": "s"}}},
            "dingtalk": {"app_key": "k", "app_secret": "s"},
            "groups": [
                {"name": "一组", "wecom": {"chat_id": "wrk-1"}, "dingtalk": {"conversation_id": "cid-1"}}
            ],
        }
    )
    wecom, dingtalk, *_ = PLATFORMS
    binding = settings.groups[0]
    assert dingtalk.group_address(binding, settings).address == {"conversation_id": "cid-1"}
    aibot = wecom.group_address(binding, settings)
    assert (aibot.address, aibot.limits, aibot.via) == (
        {"aibot_chatid": "wrk-1"},
        ((30, 60.0), (1000, 3600.0)),
        "wecom_long_connection",
    )
    assert (aibot.written.channel, aibot.written.chat_id) == ("wecom_bot", "wrk-1")


def test_two_platforms_may_not_share_a_family_or_a_channel():
    one = PlatformDescriptor("x", ("x",), "X", "name", bindable=False)
    with pytest.raises(ValueError, match="unique"):
        Platforms((one, PlatformDescriptor("x", ("y",), "Y", "name", bindable=False)))
    with pytest.raises(ValueError, match="unique"):
        Platforms((one, PlatformDescriptor("z", ("x",), "Z", "name", bindable=False)))


def test_a_groups_chat_is_named_by_the_platform_it_lives_on():
    binding = settings_from_dict(
        {
            **shipped_config(),
            "groups": [
                {"name": "一组", "wecom": {"chat_id": "wrk-1"}, "dingtalk": {"conversation_id": "cid-1"}}
            ],
        }
    ).groups[0]
    assert [p.group_chat_id(binding) for p in PLATFORMS] == ["wrk-1", "cid-1", None, None]


def test_a_member_is_sent_a_file_only_where_the_app_that_can_send_one_is_set_up():
    shipped = settings_from_dict(shipped_config())
    assert [p.sends_files(shipped) for p in PLATFORMS] == [False, False, False, False]
    apps = settings_from_dict(
        {
            **shipped_config(),
            "wecom": {
                "corp_id": "ww1",
                "app": {"agent_id": "1000002", "token": "t", "encoding_aes_key": "k" * 43},
            },
            "dingtalk": {"app_key": "key", "app_secret": "secret"},
        }
    )
    assert [p.sends_files(apps) for p in PLATFORMS] == [True, True, False, False]
