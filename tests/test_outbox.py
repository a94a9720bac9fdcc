"""Outbox delivery: each message reaches its push target once, through failures, rate limits and crashes."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from sqlalchemy import select

from app import PLATFORMS
from bot import outbox
from bot.config import settings_from_dict
from bot.delivery import Delivery, SendResult
from bot.messages import Incoming, Person, Reply
from models import LiaisonGroup, Member, OutboxMessage
from tests.conftest import NOW
from tests.fakes import serve_in_background, stop_serving

BINDINGS = [
    {"name": "第一联络组", "wecom": {"webhook_key": "hook-g1"}},
    {"name": "第二联络组", "dingtalk": {"robot_token": "robot-g2", "robot_secret": "SECg2"}},
]


class FakePush:
    """A push client that records what it was given and answers from a script (default: sent)."""

    def __init__(self, platform: str, answers: list[SendResult] | None = None) -> None:
        self.platform = platform
        self.answers = list(answers or [])
        self.sent: list[Delivery] = []

    def send(self, delivery: Delivery) -> SendResult:
        answer = self.answers.pop(0) if self.answers else SendResult("sent", "errcode 0")
        if answer.status == "sent":
            self.sent.append(delivery)
        return answer


class PushTarget:
    """A local HTTP stand-in for a group push bot: scripted answers; records what it accepted."""

    def __init__(self) -> None:
        self.script: list[str] = []  # "500", "limited", "hang"; then "ok" forever
        self.accepted: list[tuple[str, dict]] = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                mode = target.script.pop(0) if target.script else "ok"
                if mode == "hang":
                    time.sleep(0.6)  # longer than the client's timeout: the bot sees a timeout
                    status, answer = 503, {"errcode": -1}
                elif mode == "500":
                    status, answer = 500, {"errcode": -1}
                elif mode == "limited":
                    status, answer = 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
                else:
                    status, answer = 200, {"errcode": 0, "errmsg": "ok"}
                    target.accepted.append((self.path, body))
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as intended

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> PushTarget:
        self._thread = serve_in_background(self.server)
        return self

    def __exit__(self, *exc) -> None:
        stop_serving(self.server, self._thread)


class HttpPush:
    """A WeCom-webhook-shaped push client for tests: maps HTTP answers the way platform clients must."""

    platform = "wecom"

    def __init__(self, base: str, timeout: float = 0.3) -> None:
        self.base = base
        self.timeout = timeout

    def send(self, delivery: Delivery) -> SendResult:
        body = {
            "msgtype": "text",
            "text": {
                "content": delivery.text,
                "mentioned_mobile_list": [p.mobile for p in delivery.mentions if p.mobile],
            },
            "key": delivery.key,
        }
        url = f"{self.base}/cgi-bin/webhook/send?key={delivery.address.get('webhook_key', '')}"
        try:
            resp = requests.post(url, json=body, timeout=self.timeout)
        except requests.Timeout:
            return SendResult("retry", "timeout")
        except requests.ConnectionError as err:
            return SendResult("retry", f"connection: {err}")
        if resp.status_code >= 500:
            return SendResult("retry", f"HTTP {resp.status_code}")
        answer = resp.json()
        if answer.get("errcode") == 0:
            return SendResult("sent", "errcode 0")
        if answer.get("errcode") == 45009:
            return SendResult("retry", "errcode 45009", retry_after=60)
        return SendResult("failed", f"errcode {answer.get('errcode')}")


@pytest.fixture
def bound_settings(config_dict):
    return settings_from_dict({**config_dict, "groups": BINDINGS}, "test")


def group_ids(runtime) -> dict[str, int]:
    with runtime.sessions() as s:
        return {g.name: g.id for g in s.scalars(select(LiaisonGroup))}


def queue(runtime, n: int, group: str, *, prefix: str = "m", now: dt.datetime = NOW) -> list[str]:
    gid = group_ids(runtime)[group]
    keys = [f"{prefix}:{group}:{i}" for i in range(n)]
    with runtime.sessions.begin() as s:
        for key in keys:
            outbox.enqueue(
                s,
                key=key,
                target_kind="group",
                text=f"提醒 {key}",
                now=now,
                group_id=gid,
                mentions=(Person("王组长", mobile="13900000001"),),
            )
    return keys


def rows(runtime) -> dict[str, OutboxMessage]:
    with runtime.sessions() as s:
        return {r.key: r for r in s.scalars(select(OutboxMessage))}


def test_group_and_member_messages_reach_their_push_targets_once(runtime, roster, bound_settings):
    gid = group_ids(runtime)
    with runtime.sessions.begin() as s:
        outbox.enqueue(s, key="g1", target_kind="group", text="群提醒", now=NOW, group_id=gid["第一联络组"])
        outbox.enqueue(s, key="g2", target_kind="group", text="群提醒2", now=NOW, group_id=gid["第二联络组"])
        outbox.enqueue(s, key="p1", target_kind="member", text="私信", now=NOW, member_id=roster["王组长"])
        assert not outbox.enqueue(s, key="g1", target_kind="group", text="again", now=NOW)
    wecom, ding = FakePush("wecom"), FakePush("dingtalk")
    deliverer = outbox.Deliverer(
        runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": wecom, "dingtalk": ding})
    )

    assert deliverer.deliver(NOW).sent == 3
    assert deliverer.deliver(NOW + dt.timedelta(hours=1)).handled == 0

    assert {(d.key, d.kind, tuple(d.address.items())) for d in wecom.sent} == {
        ("g1", "group", (("webhook_key", "hook-g1"),)),
        ("p1", "member", (("userid", "wang"),)),
    }
    assert [d.address["robot_token"] for d in ding.sent] == ["robot-g2"]
    got = rows(runtime)
    assert {k: (r.status, r.platform) for k, r in got.items()} == {
        "g1": ("sent", "wecom"),
        "g2": ("sent", "dingtalk"),
        "p1": ("sent", "wecom"),
    }
    assert got["g1"].sent_at == NOW and got["g1"].platform_answer == "errcode 0"


def test_push_target_failing_500_limited_and_timing_out_then_recovering_gets_each_message_once(
    runtime, roster, bound_settings
):
    keys = queue(runtime, 4, "第一联络组")
    with PushTarget() as target:
        target.script = ["500", "limited", "hang", "500", "hang", "limited"]
        deliverer = outbox.Deliverer(
            runtime.sessions,
            bound_settings,
            PLATFORMS.with_clients({"wecom": HttpPush(target.url)}),
            rng=random.Random(5),
        )
        at = NOW
        for _ in range(12):  # every 20 minutes for 4 hours: past every backoff
            deliverer.deliver(at)
            at += dt.timedelta(minutes=20)
        accepted = Counter(body["key"] for _, body in target.accepted)
    assert accepted == Counter(keys)  # each exactly once
    assert all(path == "/cgi-bin/webhook/send?key=hook-g1" for path, _ in target.accepted)
    got = rows(runtime)
    assert all(r.status == "sent" for r in got.values())
    assert sum(r.attempts for r in got.values()) == 4 + 6  # one failure per scripted answer


def test_backoff_grows_exponentially_with_jitter_and_honours_retry_after(runtime, roster, bound_settings):
    queue(runtime, 1, "第一联络组")
    fail = SendResult("retry", "HTTP 500")
    client = FakePush("wecom", [fail, fail, fail, SendResult("retry", "limited", retry_after=600)])
    deliverer = outbox.Deliverer(
        runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": client}), rng=random.Random(1)
    )
    base = bound_settings.outbox.base_backoff_seconds
    at, waits = NOW, []
    for _ in range(4):
        deliverer.deliver(at)
        nxt = next(iter(rows(runtime).values())).next_attempt_at
        waits.append((nxt - at).total_seconds())
        at = nxt
    for i, wait in enumerate(waits[:3]):
        assert base * 2**i / 2 <= wait <= base * 2**i
    assert waits[3] >= 600
    deliverer.deliver(at)
    assert [d.key for d in client.sent] == ["m:第一联络组:0"]


def test_twenty_a_minute_per_push_bot_and_the_rest_next_minute(runtime, roster, bound_settings):
    g1 = queue(runtime, 25, "第一联络组")
    g2 = queue(runtime, 3, "第二联络组")
    wecom, ding = FakePush("wecom"), FakePush("dingtalk")
    deliverer = outbox.Deliverer(
        runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": wecom, "dingtalk": ding})
    )

    report = deliverer.deliver(NOW)
    assert report.sent == 23 and report.deferred == 5
    assert len(wecom.sent) == 20 and len(ding.sent) == 3
    assert deliverer.deliver(NOW + dt.timedelta(seconds=30)).sent == 0
    assert deliverer.deliver(NOW + dt.timedelta(seconds=61)).sent == 5
    assert sorted(d.key for d in wecom.sent) == sorted(g1)
    assert sorted(d.key for d in ding.sent) == sorted(g2)
    assert all(r.attempts == 1 for r in rows(runtime).values())  # a deferral is not an attempt


def test_a_blocked_dingtalk_robot_holds_its_messages_for_ten_minutes(runtime, roster, bound_settings):
    queue(runtime, 3, "第二联络组")
    ding = FakePush("dingtalk", [SendResult("retry", "errcode 130101 send too fast", retry_after=600)])
    deliverer = outbox.Deliverer(runtime.sessions, bound_settings, PLATFORMS.with_clients({"dingtalk": ding}))
    report = deliverer.deliver(NOW)
    assert (report.retried, report.deferred, len(ding.sent)) == (1, 2, 0)
    assert deliverer.deliver(NOW + dt.timedelta(minutes=9)).sent == 0
    assert deliverer.deliver(NOW + dt.timedelta(minutes=10, seconds=1)).sent == 3


def test_after_max_age_a_message_is_failed_and_kept_for_the_admin(runtime, roster, bound_settings):
    queue(runtime, 1, "第一联络组")
    client = FakePush("wecom", [SendResult("retry", "HTTP 500")] * 1000)
    deliverer = outbox.Deliverer(runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": client}))
    at = NOW
    while at < NOW + dt.timedelta(hours=26):
        deliverer.deliver(at)
        at += dt.timedelta(minutes=30)
    (row,) = rows(runtime).values()
    assert row.status == "failed" and "HTTP 500" in row.last_error
    with runtime.sessions() as s:
        assert [r.key for r in outbox.undelivered(s)] == [row.key]
    assert client.sent == []


def test_a_permanent_refusal_fails_at_once(runtime, roster, bound_settings):
    queue(runtime, 1, "第一联络组")
    deliverer = outbox.Deliverer(
        runtime.sessions,
        bound_settings,
        PLATFORMS.with_clients({"wecom": FakePush("wecom", [SendResult("failed", "errcode 93000")])}),
    )
    assert deliverer.deliver(NOW).failed == 1
    assert next(iter(rows(runtime).values())).last_error == "errcode 93000"


class Crash(BaseException):
    """The process dying mid-send (not an Exception: nothing in the outbox may catch it)."""


def test_a_crash_between_sending_and_recording_repeats_only_that_message(runtime, roster, bound_settings):
    keys = queue(runtime, 5, "第一联络组")
    delivered: list[str] = []

    class CrashAfterSecondSend:
        platform = "wecom"

        def send(self, delivery: Delivery) -> SendResult:
            delivered.append(delivery.key)
            if len(delivered) == 2:
                raise Crash  # the platform got it; the process dies before recording
            return SendResult("sent", "ok")

    with pytest.raises(Crash):
        outbox.Deliverer(
            runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": CrashAfterSecondSend()})
        ).deliver(NOW)

    fresh = FakePush("wecom")
    restarted = outbox.Deliverer(runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": fresh}))
    lease = dt.timedelta(seconds=bound_settings.outbox.claim_lease_seconds)
    assert restarted.deliver(NOW + lease / 2).sent == 3  # the claimed one waits for its lease
    assert restarted.deliver(NOW + lease + dt.timedelta(seconds=1)).sent == 1
    assert all(r.status == "sent" for r in rows(runtime).values())
    everything = delivered + [d.key for d in fresh.sent]
    counts = Counter(everything)
    assert set(counts) == set(keys)  # nothing lost
    assert [k for k, n in counts.items() if n > 1] == [delivered[1]]  # only the in-flight one repeats


def test_two_deliverers_at_once_send_each_message_once(runtime, roster, bound_settings):
    keys = queue(runtime, 40, "第一联络组")
    settings = bound_settings.model_copy(
        update={"outbox": bound_settings.outbox.model_copy(update={"per_minute": 100})}
    )
    clients = [FakePush("wecom"), FakePush("wecom")]
    workers = [
        threading.Thread(
            target=outbox.Deliverer(runtime.sessions, settings, PLATFORMS.with_clients({"wecom": c})).deliver,
            args=(NOW,),
        )
        for c in clients
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    sent = [d.key for c in clients for d in c.sent]
    assert sorted(sent) == sorted(keys)


def test_without_a_bound_chat_the_console_log_gets_it_or_the_admin_sees_it_fail(runtime, roster, config_dict):
    queue(runtime, 1, "第一联络组")
    on = settings_from_dict({**config_dict, "console": {"enabled": True}}, "test")
    assert outbox.Deliverer(runtime.sessions, on, PLATFORMS).deliver(NOW).sent == 1
    assert next(iter(rows(runtime).values())).platform == "console"

    queue(runtime, 1, "第一联络组", prefix="later")
    off = settings_from_dict({**config_dict, "console": {"enabled": False}}, "test")
    deliverer = outbox.Deliverer(runtime.sessions, off, PLATFORMS)
    at = NOW
    while at < NOW + dt.timedelta(hours=25):
        deliverer.deliver(at)
        at += dt.timedelta(hours=1)
    later = rows(runtime)["later:第一联络组:0"]
    assert later.status == "failed" and "no push route" in later.last_error


def test_a_late_answer_is_stored_once_for_the_address_its_message_carried(runtime):
    incoming = Incoming(
        platform="wecom_app",
        chat_id=None,
        sender_id="lisi",
        sender_name=None,
        text="签到",
        msg_id="888",
        sent_at=NOW,
        is_group=False,
        reply_handle={"userid": "lisi"},
    )
    answer = Reply("李四，签到成功。", mentions=(Person("李四", mobile="13800000002"),))
    with runtime.sessions.begin() as s:
        assert outbox.enqueue_reply(s, incoming, answer, family="wecom", now=NOW)
        assert not outbox.enqueue_reply(s, incoming, answer, family="wecom", now=NOW)  # the same message
    [row] = rows(runtime).values()
    assert (row.key, row.target_kind, row.platform, row.address, row.text) == (
        "reply:wecom_app:888",
        "reply",
        "wecom",
        {"userid": "lisi"},
        "李四，签到成功。",
    )
    assert row.mentions == [
        {"name": "李四", "mobile": "13800000002", "wecom_userid": None, "dingtalk_userid": None}
    ]


def test_a_group_bound_on_both_platforms_gets_each_reminder_once_on_each(runtime, roster, config_dict):
    both = [
        {
            "name": "第一联络组",
            "wecom": {"webhook_key": "hook-g1"},
            "dingtalk": {"conversation_id": "cidG1=="},  # no custom robot: the app robot sends
        },
        {"name": "第二联络组", "wecom": {"webhook_key": "hook-g2"}, "dingtalk": {"conversation_id": "cidG2=="},
         "push_on": ["dingtalk"]},
    ]  # fmt: skip
    settings = settings_from_dict(
        {**config_dict, "groups": both, "dingtalk": {"app_key": "k", "app_secret": "s"}}, "test"
    )
    queue(runtime, 2, "第一联络组")
    queue(runtime, 1, "第二联络组")
    wecom, ding = FakePush("wecom"), FakePush("dingtalk")
    deliverer = outbox.Deliverer(
        runtime.sessions, settings, PLATFORMS.with_clients({"wecom": wecom, "dingtalk": ding})
    )
    for minute in range(3):  # and again later: nothing twice
        deliverer.deliver(NOW + dt.timedelta(minutes=minute))
    assert sorted(d.key for d in wecom.sent) == ["m:第一联络组:0", "m:第一联络组:1"]
    assert sorted((d.key, d.address["conversation_id"]) for d in ding.sent) == [
        ("m:第一联络组:0@dingtalk", "cidG1=="),
        ("m:第一联络组:1@dingtalk", "cidG1=="),
        ("m:第二联络组:0", "cidG2=="),  # push_on: only DingTalk for this group
    ]
    assert {r.status for r in rows(runtime).values()} == {"sent"}


def test_a_member_gets_a_wecom_message_once_when_the_sender_died_before_recording_it(
    runtime, roster, config_dict, monkeypatch
):
    """The outbox's one possible repeat (sent, then the process died before the record) is sent
    with WeCom's duplicate check, so the member sees it once (path/90236)."""
    from bot.platforms.wecom.push import WecomPushClient
    from tests.fakes.wecom_server import FakeWecom, push_settings

    fake = FakeWecom().start()
    try:
        settings = push_settings(config_dict, fake.base)
        with runtime.sessions.begin() as s:
            member = s.scalar(select(Member).where(Member.name == "张三"))
            outbox.enqueue(
                s, key="direct-1", target_kind="member", text="您的请假已批准", now=NOW, member_id=member.id
            )
        clients = PLATFORMS.with_clients({"wecom": WecomPushClient(settings, timeout=2)})

        def the_process_dies(*args, **kwargs):
            raise Crash

        with monkeypatch.context() as m:
            m.setattr(outbox.Deliverer, "_finish", the_process_dies)
            with pytest.raises(Crash):
                outbox.Deliverer(runtime.sessions, settings, clients).deliver(NOW)
        lease = dt.timedelta(seconds=settings.outbox.claim_lease_seconds)
        assert outbox.Deliverer(runtime.sessions, settings, clients).deliver(NOW + lease / 2).sent == 0
        assert (
            outbox.Deliverer(runtime.sessions, settings, clients)
            .deliver(NOW + lease + dt.timedelta(seconds=1))
            .sent
            == 1
        )
    finally:
        fake.stop()
    sends = fake.calls_to("/cgi-bin/message/send")
    assert len(sends) == 2 and sends[0].body == sends[1].body  # the same request: WeCom's check applies
    assert [d["text"]["content"] for d in fake.delivered] == ["您的请假已批准"]


def test_a_rows_lease_runs_from_its_claim_not_from_the_start_of_a_slow_batch(
    runtime, roster, bound_settings, monkeypatch
):
    with runtime.sessions.begin() as s:
        group = s.scalar(select(LiaisonGroup).where(LiaisonGroup.name == "第一联络组"))
        for i in range(3):
            outbox.enqueue(
                s, key=f"slow-{i}", target_kind="group", text=f"提醒{i}", now=NOW, group_id=group.id
            )
    clock = iter(range(0, 10_000, 100))  # every push takes 100 s of real time
    monkeypatch.setattr(outbox.time, "monotonic", lambda: float(next(clock)))
    leased: list[dt.datetime] = []

    class Slow(FakePush):
        def send(self, delivery: Delivery) -> SendResult:
            with runtime.sessions() as s:
                leased.append(
                    s.scalar(select(OutboxMessage.next_attempt_at).where(OutboxMessage.key == delivery.key))
                )
            return super().send(delivery)

    push = Slow("wecom")
    outbox.Deliverer(runtime.sessions, bound_settings, PLATFORMS.with_clients({"wecom": push})).deliver(NOW)
    lease = dt.timedelta(seconds=bound_settings.outbox.claim_lease_seconds)
    assert [_naive(t) - _naive(NOW) for t in leased] == [
        lease + dt.timedelta(seconds=s) for s in (100, 200, 300)
    ]


def _naive(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=None) if t.tzinfo is None else t.astimezone(NOW.tzinfo).replace(tzinfo=None)
