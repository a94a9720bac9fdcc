"""Two different messages that mean the same thing, handled at the same moment: sixteen threads,
each with its own database connection, released at once by a barrier. Whatever order the database
serialises them in, one record is written and one notice queued (PostgreSQL: row locks; SQLite: the
write lock taken when the message's transaction begins)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading

import pytest
from sqlalchemy import event, func, select

from bot.messages import Incoming
from models import Activity, LeaveRequest, Member, OutboxMessage, RecordChange, Submission
from tests.conftest import NOW

N = 16
needs_postgresql = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="needs row-level concurrency: a PostgreSQL server (set TEST_DATABASE_URL)",
)
_ids = itertools.count()


def race(runtime, messages: list[Incoming]) -> list[str | None]:
    """Handle `messages` at once, one thread each; their answers, in the messages' order."""
    barrier = threading.Barrier(len(messages))
    answers: list[str | None] = [None] * len(messages)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = runtime.pipeline.handle(messages[i], NOW)
            answers[i] = outcome.reply.text if outcome.reply else None
        except BaseException as err:  # surfaced below: a thread's failure must fail the test
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(messages))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not [t for t in threads if t.is_alive()], "a message never finished"
    assert errors == []
    return answers


def said(name: str, text: str, *, sender: str | None = None, platform: str = "console") -> Incoming:
    return Incoming(platform, None, sender or name, name, text, f"race-{next(_ids)}", NOW, False)


def count(runtime, model, *where) -> int:
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def tomorrow(runtime, roster) -> int:
    with runtime.sessions.begin() as s:
        group = s.get(Member, roster["王组长"]).group_id
        a = Activity(
            group_id=group, kind="inspection", title="县医院", date=dt.date(2026, 11, 24), created_at=NOW
        )
        s.add(a)
        s.flush()
        return a.id


def test_sixteen_leave_requests_at_once_make_one_request_and_one_notice(runtime, roster, tomorrow):
    answers = race(runtime, [said("张三", "请假 明天的视察 家里有事") for _ in range(N)])
    assert count(runtime, LeaveRequest) == 1
    assert count(runtime, OutboxMessage, OutboxMessage.key.like("leave:%:requested:%")) == 1
    assert sum(a.startswith("已提交请假#") for a in answers) == 1
    assert sum(a.startswith("您已请过假了") for a in answers) == N - 1


def test_a_member_own_leave_and_others_asking_it_for_them_at_once_make_one_leave(runtime, roster, tomorrow):
    messages = [said("张三", "请假 明天的视察 家里有事") for _ in range(N // 2)]
    messages += [said("王组长", "帮张三请个假，明天的视察他家里有事") for _ in range(N // 4)]
    messages += [said("李四", "帮张三请个假，明天的视察他家里有事") for _ in range(N // 4)]
    answers = race(runtime, messages)
    assert count(runtime, LeaveRequest, LeaveRequest.member_id == roster["张三"]) == 1
    assert count(runtime, LeaveRequest) == 1
    made = [a for a in answers if a.startswith(("已提交请假#", "已为张三"))]
    assert len(made) == 1, answers
    assert sum(a.startswith(("您已请过假了", "张三已请过假了")) for a in answers) == N - 1


def test_a_stretch_of_days_asked_sixteen_times_at_once_makes_one_leave_per_activity(runtime, roster, tomorrow):
    with runtime.sessions.begin() as s:
        group = s.get(Member, roster["王组长"]).group_id
        s.add(Activity(group_id=group, kind="study", title="学习", date=dt.date(2026, 11, 26), created_at=NOW))
    messages = [said("张三", "我在外地出差，这周的活动都参加不了") for _ in range(N // 2)]
    messages += [said("张三", "请假 明天的视察 家里有事") for _ in range(N // 2)]  # one of the same two, alone
    answers = race(runtime, messages)
    assert count(runtime, LeaveRequest) == 2  # tomorrow's inspection and Thursday's study, once each
    assert count(runtime, OutboxMessage, OutboxMessage.key.like("leave:%:requested:%")) == 2
    assert all(a.startswith(("已为本周", "本周本组的", "已提交请假#", "您已请过假了")) for a in answers), answers


def test_sixteen_copies_of_an_announcement_make_one_activity(runtime, roster):
    answers = race(runtime, [said("王组长", "发布活动 12月3日上午9点 视察 城区污水处理厂") for _ in range(N)])
    assert count(runtime, Activity) == 1
    assert sum(a.startswith("已发布活动#") for a in answers) == 1
    assert sum("已发布过" in a for a in answers) == N - 1


def test_sixteen_strangers_binding_as_one_member_bind_one(runtime, roster):
    messages = [
        said("?", "绑定 赵六 13800000003", sender=f"stranger{i}", platform="wecom_bot") for i in range(N)
    ]
    answers = race(runtime, messages)
    assert sum(a.startswith("绑定成功") for a in answers) == 1
    with runtime.sessions() as s:
        bound = s.scalar(select(Member.wecom_bot_userid).where(Member.id == roster["赵六"]))
    winner = messages[[a.startswith("绑定成功") for a in answers].index(True)].sender_id
    assert bound == winner


def test_sixteen_adoptions_at_once_audit_and_notify_once(runtime, roster, say):
    say("张三", "社情民意：城区路灯不亮。晚上出行不便。")
    with runtime.sessions() as s:
        note = s.scalar(select(Submission.id))
    answers = race(runtime, [said("陈主任", f"采用 #{note} 市级") for _ in range(N)])
    assert count(runtime, RecordChange, RecordChange.field == "adopted_level") == 1
    assert count(runtime, OutboxMessage, OutboxMessage.key.like("journey:%:adopted:%")) == 1
    assert sum(a.startswith("已标记") for a in answers) == 1
    assert sum("已标记为市级采用" in a and not a.startswith("已标记") for a in answers) == N - 1


def test_a_note_sent_twice_at_once_is_recorded_once(runtime, roster):
    answers = race(runtime, [said("张三", "社情民意：城区路灯不亮。晚上出行不便。") for _ in range(2)])
    assert count(runtime, Submission) == 1
    assert sorted(a[:6] for a in answers) == ["已收到社情民", "已收到过这篇"]


@needs_postgresql  # SQLite serialises these writers: the interleaving below needs row-level concurrency
def test_a_stored_message_delivered_again_four_times_at_once_gets_its_answer_each_time(runtime, roster):
    first = said("张三", "社情民意：城区路灯不亮。晚上出行不便。")
    stored = runtime.pipeline.handle(first, NOW).reply
    barrier, answers = threading.Barrier(4), []

    def all_have_looked(session, flush_context, instances) -> None:
        if any(isinstance(o, OutboxMessage) for o in session.new):
            barrier.wait(timeout=10)  # every delivery has seen no row yet: all four insert at once

    def redeliver() -> None:
        answers.append(runtime.answer_again(first, stored))

    event.listen(runtime.sessions, "before_flush", all_have_looked)
    try:
        threads = [threading.Thread(target=redeliver) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        event.remove(runtime.sessions, "before_flush", all_have_looked)
    assert [a.text if a else None for a in answers] == [stored.text] * 4
    assert count(runtime, OutboxMessage, OutboxMessage.key.like("reply:%")) == 1
