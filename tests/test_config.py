"""A wrong config.yaml stops start-up with a message naming the key, never a traceback."""

import subprocess
import sys

import pytest
import yaml

from bot.config import ConfigError, ReminderWording, load_settings, settings_from_dict
from tests.conftest import ROOT, shipped_config


def test_shipped_config_has_the_six_at_least_quotas_at_group_scope():
    s = settings_from_dict(shipped_config())
    assert s.timezone == "Asia/Shanghai"
    assert [(r.name, r.period, r.scope) for r in s.quotas] == [
        ("社情民意信息", "month", "group"),
        ("意见建议", "quarter", "group"),
        ("集体活动", "quarter", "group"),
        ("视察活动", "quarter", "group"),
        ("调研报告", "half", "group"),
        ("为民办实事", "year", "group"),
    ]


def test_shipped_config_spells_out_the_built_in_reminder_wording():
    assert settings_from_dict(shipped_config()).reminders.wording == ReminderWording()


def test_a_wording_with_an_unknown_placeholder_names_the_key_and_the_allowed_ones():
    config = shipped_config()
    config["reminders"]["wording"]["absence"] = "【缺席提醒】{姓名}已缺席{count}次"
    with pytest.raises(ConfigError) as err:
        settings_from_dict(config)
    assert (
        "reminders.wording.absence: Value error, unknown placeholder {姓名}; "
        "allowed: {name}, {count}, {date}, {title}, {consequence}"
    ) in str(err.value)


def test_secret_is_read_from_an_environment_variable(monkeypatch):
    monkeypatch.setenv("TEST_WECOM_SECRET", "s3cret")
    s = settings_from_dict({"wecom": {"app": {"secret": "${TEST_WECOM_SECRET}"}}})
    assert s.wecom.app.secret == "s3cret"


def test_missing_environment_variable_names_the_key(monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    with pytest.raises(ConfigError, match=r"dingtalk.app_secret: environment variable NOPE_NOT_SET"):
        settings_from_dict({"dingtalk": {"app_secret": "${NOPE_NOT_SET}"}})


@pytest.mark.parametrize(
    "patch, expected",
    [
        ({"timezone": "Mars/Olympus"}, "timezone: Value error, unknown timezone"),
        (
            {
                "quotas": [
                    {"key": "x", "name": "x", "source": "submission", "kinds": ["opinion"], "period": "week"}
                ]
            },
            "quotas[0].period: Input should be 'month', 'quarter', 'half' or 'year'",
        ),
        (
            {
                "quotas": [
                    {"key": "x", "name": "x", "source": "activity", "kinds": ["opinion"], "period": "month"}
                ]
            },
            "quotas[0]: Value error, kinds ['opinion'] not among",
        ),
        ({"server": {"port": "eighty"}}, "server.port: Input should be a valid integer"),
        ({"wecom": {"smartbot": {}}}, "wecom.smartbot: unknown key"),
        (
            {"wecom": {"reply_deadline_seconds": 4, "ack_deadline_seconds": 3}},
            "wecom: Value error, ack_deadline_seconds must not be less than reply_deadline_seconds",
        ),
        (
            {"wecom": {"ack_deadline_seconds": 6}},
            "wecom.ack_deadline_seconds: Input should be less than or equal to 4.8",
        ),
    ],
)
def test_bad_value_is_reported_with_its_key(patch, expected):
    with pytest.raises(ConfigError) as err:
        settings_from_dict({**shipped_config(), **patch})
    assert expected in str(err.value)


@pytest.mark.parametrize(
    "dingtalk, expected",
    [
        (
            {"reply_deadline_seconds": 2.8, "ack_deadline_seconds": 2.0},
            "dingtalk: Value error, ack_deadline_seconds must not be less than reply_deadline_seconds",
        ),
        (
            {"ack_deadline_seconds": 3.5},
            "dingtalk.ack_deadline_seconds: Input should be less than or equal to 3",
        ),
        ({"reply_deadline_seconds": 0}, "dingtalk.reply_deadline_seconds: Input should be greater than 0"),
    ],
)
def test_dingtalk_deadlines_stay_inside_the_three_seconds_dingtalk_waits(dingtalk, expected):
    with pytest.raises(ConfigError) as err:
        settings_from_dict({**shipped_config(), "dingtalk": dingtalk})
    assert expected in str(err.value)


def test_dingtalk_deadlines_default_to_answering_by_2_5_s_and_storing_by_2_9_s():
    ding = settings_from_dict(shipped_config()).dingtalk
    assert (ding.reply_deadline_seconds, ding.ack_deadline_seconds) == (2.5, 2.9)


def test_missing_file_and_bad_yaml_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("quotas: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)


def test_cli_with_a_wrong_config_exits_2_without_traceback(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"timezone": "Nowhere/City"}), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "app.py", "--config", str(path), "init-db"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "timezone" in proc.stderr and "unknown timezone" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_agent_id_written_as_a_number_as_the_admin_console_shows_it_is_accepted():
    settings = settings_from_dict({**shipped_config(), "wecom": {"app": {"agent_id": 1000002}}})
    assert settings.wecom.app.agent_id == "1000002"


def test_agent_id_that_is_not_a_number_is_refused_with_its_key():
    with pytest.raises(ConfigError) as err:
        settings_from_dict({**shipped_config(), "wecom": {"app": {"agent_id": "abc"}}})
    assert "wecom.app.agent_id" in str(err.value)


def test_a_smart_bot_on_the_long_connection_needs_no_token_or_aes_key():
    settings = settings_from_dict(
        {**shipped_config(), "wecom": {"smart_bot": {"long_connection": {"bot_id": "b", "secret": "s"}}}}
    )
    assert settings.wecom.long_connection_enabled and not settings.wecom.smart_bot_enabled
    assert settings.wecom.smart_bot.long_connection.url == "wss://openws.work.weixin.qq.com"
