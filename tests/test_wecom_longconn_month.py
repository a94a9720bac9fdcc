"""A scripted month through the fake long-connection gateway, as a WeCom county with no public IP
would live it: announce, leave and approval, check-ins (one redelivered), a note, the leader's
status, and the eve reminder pushed by aibot_send_msg; every record in the database exactly once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from bot.scheduler import enqueue_due
from models import Activity, CheckIn, InboundMessage, LeaveRequest, Member, OutboxMessage, Submission
from tests.conftest import TZ
from tests.fakes.wecom_gateway import FakeLongConnectionGateway
from tests.test_wecom_longconn import GROUP_CHAT, Running, make_bot, message


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


def answer_after(gateway, before: tuple[int, int]) -> str:
    """The next answer: a finished stream on the message's req_id, or (ready after the reply
    deadline, as on a busy machine) a push into its chat."""

    def arrived() -> bool:
        return (
            len(gateway.frames("aibot_respond_msg")) > before[0]
            or len(gateway.frames("aibot_send_msg")) > before[1]
        )

    gateway.wait_for(arrived, timeout=20)
    responds = gateway.frames("aibot_respond_msg")
    if len(responds) > before[0]:
        return responds[-1]["body"]["stream"]["content"]
    return gateway.frames("aibot_send_msg")[-1]["body"]["markdown"]["content"]


SCRIPT = [
    # (when, who, text, msgid, in the group?)
    ("2026-11-02T08:50", "wang", "帮助", "M01", False),  # the leader writes to the bot one-to-one once
    ("2026-11-02T09:00", "wang", "发布活动 11月5日上午9点 视察 城区污水处理厂", "M02", True),
    ("2026-11-02T10:00", "zhangsan", "请假 11月5日的视察 单位开会", "M03", True),
    ("2026-11-02T11:00", "wang", "同意 张三", "M04", True),
    ("2026-11-05T09:30", "lisi", "签到", "M05", True),
    ("2026-11-05T09:30", "lisi", "签到", "M05", True),  # WeCom delivers it again
    ("2026-11-05T09:40", "wang", "签到", "M06", True),
    ("2026-11-10T10:00", "lisi", "社情民意：关于城区路灯的建议。晚上很多路灯不亮。", "M07", True),
    ("2026-11-20T10:00", "wang", "本组情况", "M08", True),
]


def test_a_scripted_month_through_the_long_connection_records_everything_exactly_once(
    engine, config_dict, roster
):
    with FakeLongConnectionGateway() as gateway:
        bot = make_bot(engine, config_dict, gateway, reply_deadline_seconds=3.0)
        clock = {"now": at("2026-11-02T08:00")}
        bot.now = lambda: clock["now"]
        from bot.roster import sync_chat_bindings

        with bot.sessions.begin() as s:
            sync_chat_bindings(s, bot.settings, bot.platforms)
        answers, seen = [], set()
        with Running(bot, outbox_seconds=3600):
            gateway.wait_subscribed()
            for when, who, text, msgid, group in SCRIPT:
                if when >= "2026-11-05" and clock["now"] < at("2026-11-04T18:00"):
                    # The eve of the inspection: the scheduler's tick, pushed into the group's chat.
                    clock["now"] = at("2026-11-04T18:00")
                    enqueue_due(bot.sessions, bot.settings, clock["now"])
                    bot.deliverer.deliver(clock["now"])
                clock["now"] = at(when)
                before = len(gateway.frames("aibot_respond_msg")), len(gateway.frames("aibot_send_msg"))
                gateway.push_message(
                    message(text, msgid=msgid, userid=who, chat=GROUP_CHAT if group else None)
                )
                if msgid not in seen:  # a redelivery gets no second answer
                    seen.add(msgid)
                    answers.append(answer_after(gateway, before))
                bot.deliverer.deliver(clock["now"])  # the scheduler's tick: notices go out
            sent = gateway.frames("aibot_send_msg")

        # Record numbers come from the database's sequences (PostgreSQL does not restart them per test).
        assert (
            answers[1].startswith("已发布活动#")
            and "：11月5日（周四） 09:00 视察 城区污水处理厂" in answers[1]
        )
        assert "已提交请假#" in answers[2] and "已同意张三的请假#" in answers[3]
        assert answers[4].startswith("签到成功") or "签到成功" in answers[4]
        assert "已收到社情民意《关于城区路灯的建议》" in answers[6]
        assert answers[7].startswith("第一联络组履职情况")
        sent = [f for f in sent if "【" in f["body"]["markdown"]["content"] or f["body"]["chatid"] == "wang"]
        eve = [
            f
            for f in sent
            if f["body"]["chatid"] == GROUP_CHAT and "【活动提醒】" in f["body"]["markdown"]["content"]
        ]
        assert len(eve) == 1 and "城区污水处理厂" in eve[0]["body"]["markdown"]["content"]
        # The leave request to the leader, one-to-one (he wrote to the bot there), and its approval to 张三
        # into… nowhere yet: 张三 never wrote to the bot one-to-one, so it waits (shown to the admin).
        assert [f["body"]["chatid"] for f in sent if f["body"]["chatid"] != GROUP_CHAT] == ["wang"]

        with bot.sessions() as s:
            names = {m.id: m.name for m in s.scalars(select(Member))}
            assert s.scalar(select(func.count()).select_from(InboundMessage)) == 8  # M05 once
            [activity] = s.scalars(select(Activity)).all()
            assert (activity.kind, activity.place) == ("inspection", "城区污水处理厂")
            assert sorted(names[c.member_id] for c in s.scalars(select(CheckIn))) == ["李四", "王组长"]
            [leave] = s.scalars(select(LeaveRequest)).all()
            assert (names[leave.member_id], leave.status) == ("张三", "approved")
            [note] = s.scalars(select(Submission)).all()
            assert (names[note.member_id], note.kind, note.title) == ("李四", "opinion", "关于城区路灯的建议")
            keys = s.scalars(select(OutboxMessage.key)).all()
            assert len(keys) == len(set(keys))
