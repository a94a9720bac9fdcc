"""Each platform described once: the registry app.py builds finds a platform by the channel a
message came on, builds a push client only for what config.yaml sets up, and keeps names unique."""

from __future__ import annotations

import pytest

from app import PLATFORMS
from bot.config import settings_from_dict
from bot.descriptor import PlatformDescriptor, Platforms
from tests.conftest import shipped_config


@pytest.mark.parametrize(
    "channel, family, column",
    [
        ("wecom_bot", "wecom", "wecom_userid"),
        ("wecom_app", "wecom", "wecom_userid"),
        ("dingtalk", "dingtalk", "dingtalk_userid"),
        ("console", "console", "name"),
    ],
)
def test_every_channel_belongs_to_one_platform_that_knows_its_members_by_one_column(channel, family, column):
    platform = PLATFORMS.for_channel(channel)
    assert (platform.family, platform.member_column) == (family, column)


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
    wecom, dingtalk, console = PLATFORMS
    assert wecom.group_address(binding) is None
    where = dingtalk.group_address(binding)
    assert (where.address, where.limit_key) == (
        {"robot_token": "t", "robot_secret": "S", "conversation_id": ""},
        "dingtalk:t",
    )
    assert console.group_address(binding) is None


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
    assert [p.group_chat_id(binding) for p in PLATFORMS] == ["wrk-1", "cid-1", None]


def test_a_member_is_sent_a_file_only_where_the_app_that_can_send_one_is_set_up():
    shipped = settings_from_dict(shipped_config())
    assert [p.sends_files(shipped) for p in PLATFORMS] == [False, False, False]
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
    assert [p.sends_files(apps) for p in PLATFORMS] == [True, True, False]
