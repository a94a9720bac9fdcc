"""DingTalk interactive cards (issue 19): the leader's one-tap notice delivered with createAndDeliver
to a fake DingTalk on 127.0.0.1, and a click coming back on the Stream topic
/v1.0/card/instances/callback through a fake gateway, decided as the typed words and answered in
the ACK with the card's new status."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

import app as app_module
from bot.config import DingtalkSettings
from bot.delivery import Delivery
from bot.platforms.dingtalk import DingtalkPushClient
from bot.platforms.dingtalk.cards import CALLBACK_TOPIC, click_of, out_track_id
from bot.platforms.dingtalk.stream import StreamClient
from bot.runtime import build_runtime
from models import InboundMessage, LeaveRequest, OutboxMessage
from tests.conftest import NOW
from tests.fakes.dingtalk_gateway import FakeGateway
from tests.fakes.dingtalk_server import FakeDingtalk

KEY, SECRET = "ding-app-key", "ding-app-secret"
ACTIONS = (("同意", "同意 #3"), ("驳回", "驳回 #3"))


def _words(track: str) -> list[str]:
    """An independent reading of the card id's payload (base64url JSON after the second dot)."""
    import base64

    packed = track.split(".", 2)[2]
    return json.loads(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)))


def test_the_leaders_notice_is_delivered_as_the_countys_card_one_to_one():
    with FakeDingtalk() as fake:
        ding = DingtalkSettings(
            app_key=KEY, app_secret=SECRET, robot_code="ding-robot", api_base=fake.url, card_template_id="tpl.schema"
        )
        text = "张三请假#3：11月27日（周五） 15:00 座谈会，事由：单位开会。回复「同意 #3」或「驳回 #3 理由」。"
        sent = DingtalkPushClient(ding).send(Delivery("member", text, {"userid": "dt_wang"}, key="leave:3:9", actions=ACTIONS))
        assert sent.status == "sent", sent.detail
        [call] = fake.to("/v1.0/card/instances/createAndDeliver")
    body = call.json
    assert call.headers["x-acs-dingtalk-access-token"].startswith("token-")
    assert (body["cardTemplateId"], body["callbackType"]) == ("tpl.schema", "STREAM")
    assert body["openSpaceId"] == "dtv1.card//IM_ROBOT.dt_wang"
    assert body["imRobotOpenDeliverModel"] == {"spaceType": "IM_ROBOT", "robotCode": "ding-robot"}
    params = body["cardData"]["cardParamMap"]
    assert params["title"] == "张三请假#3" and "单位开会" in params["content"]
    assert (params["approve_label"], params["reject_label"], params["status"]) == ("同意", "驳回", "")
    assert _words(body["outTrackId"]) == ["同意 #3", "驳回 #3"]
    assert fake.to("/v1.0/robot/oToMessages/batchSend") == []


def test_without_a_template_the_notice_keeps_its_links():
    with FakeDingtalk() as fake:
        ding = DingtalkSettings(app_key=KEY, app_secret=SECRET, robot_code="ding-robot", api_base=fake.url)
        sent = DingtalkPushClient(ding).send(Delivery("member", "张三请假#3：…", {"userid": "dt_wang"}, actions=ACTIONS))
        assert sent.status == "sent"
        assert fake.to("/v1.0/card/instances/createAndDeliver") == []
        [call] = fake.to("/v1.0/robot/oToMessages/batchSend")
    assert "dtmd://dingtalkclient/sendMessage" in json.loads(call.json["msgParam"])["text"]


def test_a_refused_delivery_is_a_failure_with_the_platforms_reason():
    with FakeDingtalk() as fake:
        fake.script(
            "/v1.0/card/instances/createAndDeliver",
            (200, {"success": True, "result": {"deliverResults": [{"success": False, "errorMsg": "spaceId无效"}]}}),
        )
        ding = DingtalkSettings(app_key=KEY, app_secret=SECRET, api_base=fake.url, card_template_id="tpl")
        sent = DingtalkPushClient(ding).send(Delivery("member", "x：y", {"userid": "nobody"}, actions=ACTIONS))
    assert (sent.status, sent.detail) == ("failed", "card spaceId无效")


def _click(user: str, track: str, action: str = "approve") -> dict:
    """A callback frame's data as DingTalk sends it (the SDK's CardCallbackMessage fields)."""
    content = {"cardPrivateData": {"actionIds": [action], "params": {"action": action}}}
    return {
        "extension": "{}",
        "corpId": "ding-corp",
        "type": "actionCallback",
        "userId": user,
        "content": json.dumps(content),
        "outTrackId": track,
    }


def test_a_click_is_read_only_from_our_cards_and_our_buttons():
    track = out_track_id("leave:3:9", ACTIONS)
    assert click_of(_click("dt_wang", track)).words == "同意 #3"
    assert click_of(_click("dt_wang", track, "reject")).words == "驳回 #3"
    assert click_of(_click("dt_wang", track, "delete")) is None
    assert click_of(_click("dt_wang", "someone-elses-card")) is None
    assert click_of(_click("", track)) is None
    assert click_of("not a dict") is None


@pytest.fixture
def gateway():
    with FakeGateway(KEY, SECRET) as gw:
        yield gw


@pytest.fixture
def stream(runtime, roster, gateway):
    ding = {
        "app_key": KEY,
        "app_secret": SECRET,
        "robot_code": "ding-robot",
        "api_base": gateway.url,
        "card_template_id": "tpl.schema",
    }
    settings = runtime.settings.model_copy(update={"dingtalk": runtime.settings.dingtalk.model_copy(update=ding)})
    bot = build_runtime(settings, app_module.ROUTERS, platforms=app_module.PLATFORMS, engine=runtime.engine)
    bot.now = lambda: NOW
    client = StreamClient(bot, backoff_initial=0.05, backoff_max=0.2, ack_deadline=2.0)
    thread = threading.Thread(target=lambda: __import__("asyncio").run(client.start()), daemon=True)
    thread.start()
    assert client.started.wait(5)
    yield client
    client.stop()
    thread.join(timeout=10)


@pytest.fixture
def leave_card(say, runtime):
    assert "已发布活动" in say("王组长", "发布活动 11月27日下午3点 座谈会 民营经济发展")
    assert "等待组长审批" in say("张三", "请假 周五的座谈会 单位开会")
    with runtime.sessions() as s:
        number = s.scalar(select(LeaveRequest.id))
    return number, out_track_id(f"leave:{number}", (("同意", f"同意 #{number}"), ("驳回", f"驳回 #{number}")))


def _status(ack: dict) -> str:
    assert ack["code"] == 200
    response = json.loads(ack["data"])["response"]
    assert response["cardUpdateOptions"] == {"updateCardDataByKey": True}
    return response["cardData"]["cardParamMap"]["status"]


def test_the_leaders_click_decides_as_typing_and_the_ack_updates_the_card(
    stream, gateway, leave_card, runtime, roster
):
    number, track = leave_card
    gateway.wait_connected(1)
    assert {"type": "CALLBACK", "topic": CALLBACK_TOPIC} in gateway.opens[0]["subscriptions"]
    frame = gateway.push(_click("dt_wang", track), topic=CALLBACK_TOPIC)
    assert _status(gateway.wait_ack(frame)).startswith(f"已同意张三的请假#{number}")
    with runtime.sessions() as s:
        leave = s.get(LeaveRequest, number)
        assert (leave.status, leave.decided_by_id) == ("approved", roster["王组长"])
        assert s.get(InboundMessage, leave.decision_message_id).text == f"同意 #{number}"
    # The same frame again (DingTalk redelivers an unacknowledged one): one decision, one notice.
    gateway.push(_click("dt_wang", track), message_id=frame, topic=CALLBACK_TOPIC)
    assert _status(gateway.wait_ack(frame, count=2)).startswith(f"已同意张三的请假#{number}")
    with runtime.sessions() as s:
        notices = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.member_id == roster["张三"])
        )
    assert notices == 1


def test_a_members_click_changes_nothing_and_the_card_says_why(stream, gateway, leave_card, runtime):
    number, track = leave_card
    frame = gateway.push(_click("dt_zhangsan", track), topic=CALLBACK_TOPIC)
    assert "组长" in _status(gateway.wait_ack(frame))
    with runtime.sessions() as s:
        assert s.get(LeaveRequest, number).status == "pending"


def test_a_click_after_the_request_was_withdrawn_changes_nothing(stream, gateway, leave_card, runtime, say):
    number, track = leave_card
    assert "已撤回" in say("张三", "撤回请假")
    frame = gateway.push(_click("dt_wang", track), topic=CALLBACK_TOPIC)
    assert "撤回" in _status(gateway.wait_ack(frame))
    with runtime.sessions() as s:
        assert s.get(LeaveRequest, number).status == "withdrawn"


def test_two_deciders_clicking_at_once_decide_once(stream, gateway, leave_card, runtime, roster):
    number, track = leave_card
    frames = [gateway.push(_click(user, track), topic=CALLBACK_TOPIC) for user in ("dt_wang", "dt_chen")]
    statuses = [_status(gateway.wait_ack(f)) for f in frames]
    assert sum(s.startswith("已同意") for s in statuses) == 1, statuses
    with runtime.sessions() as s:
        assert s.get(LeaveRequest, number).status == "approved"
        notices = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.member_id == roster["张三"])
        )
    assert notices == 1


def test_a_database_failure_during_a_click_leaves_the_card_and_a_second_click_decides(
    stream, gateway, leave_card, runtime, commit_fails_once
):
    number, track = leave_card
    failures = commit_fails_once()
    frame = gateway.push(_click("dt_wang", track), topic=CALLBACK_TOPIC)
    assert gateway.wait_ack(frame)["code"] != 200 and failures == [1]  # no update: the card stays
    with runtime.sessions() as s:
        assert s.get(LeaveRequest, number).status == "pending"
    again = gateway.push(_click("dt_wang", track), topic=CALLBACK_TOPIC)
    assert _status(gateway.wait_ack(again)).startswith(f"已同意张三的请假#{number}")
