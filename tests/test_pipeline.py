"""The pipeline: one log row per message, duplicates answered as the first time,
unknown senders, chatter, roles, wrong chats, bugs and an unavailable database."""

import datetime as dt

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import DBAPIError

from bot.messages import Command, Incoming, Notice, Reply
from bot.pipeline import APOLOGY, NOT_UNDERSTOOD, UNKNOWN_SENDER, WRONG_CHAT, Pipeline
from bot.router import Router, UserError
from models import InboundMessage, OutboxMessage, Submission, make_session_factory
from tests.conftest import NOW

router = Router()
calls: list[str] = []


@router.route("opinion")
def _note(session, member, command, ctx):
    calls.append(command.content)
    session.add(
        Submission(
            member_id=member.id,
            group_id=member.group_id,
            kind="opinion",
            title="t",
            content=command.content,
            submitted_at=ctx.now,
            source_message_id=ctx.inbound_id,
        )
    )
    return Reply(
        f"已收到：{command.content}",
        notices=(Notice(key=f"n:{ctx.inbound_id}", text="有新社情民意", to_member_id=member.id),),
    )


@router.route("approve", roles=("leader", "admin"))
def _approve(session, member, command, ctx):
    return Reply("同意了")


@router.route("reject", roles=("leader", "admin"))
def _refuse_after_writing(session, member, command, ctx):
    session.add(Submission(member_id=member.id, kind="opinion", title="x", content="x", submitted_at=ctx.now))
    raise UserError("没有找到这条请假")


@router.route("report")
def _bug(session, member, command, ctx):
    raise RuntimeError("secret internal detail")


def fake_parse(text: str, now: dt.datetime) -> Command:
    word, _, rest = text.partition(" ")
    intents = {"社情民意": "opinion", "同意": "approve", "驳回": "reject", "调研报告": "report"}
    return Command(intent=intents.get(word, "unknown"), content=rest or None)


@pytest.fixture
def pipeline(runtime, roster):
    calls.clear()
    return Pipeline(runtime.sessions, runtime.settings, router, fake_parse, runtime.platforms)


def msg(sender, text, msg_id, *, platform="wecom_app", chat_id=None, is_group=False):
    return Incoming(platform, chat_id, sender, None, text, msg_id, NOW, is_group)


def rows(runtime, model):
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_message_delivered_four_times_is_recorded_once_and_answered_the_same(pipeline, runtime):
    outcomes = [pipeline.handle(msg("zhangsan", "社情民意 路灯不亮", "M1"), NOW) for _ in range(4)]
    assert [o.reply.text for o in outcomes] == ["已收到：路灯不亮"] * 4
    assert [o.duplicate for o in outcomes] == [False, True, True, True]
    assert calls == ["路灯不亮"]
    assert rows(runtime, InboundMessage) == 1
    assert rows(runtime, Submission) == 1
    assert rows(runtime, OutboxMessage) == 1


def test_same_msg_id_on_another_platform_is_another_message(pipeline, runtime):
    pipeline.handle(msg("zhangsan", "社情民意 a", "M1"), NOW)
    pipeline.handle(msg("dt_zhangsan", "社情民意 b", "M1", platform="dingtalk"), NOW)
    assert rows(runtime, Submission) == 2


def test_unknown_sender_is_told_how_to_bind_and_the_message_is_logged(pipeline, runtime):
    out = pipeline.handle(msg("stranger", "社情民意 路灯不亮", "M2"), NOW)
    assert out.reply.text == UNKNOWN_SENDER
    assert rows(runtime, Submission) == 0
    with runtime.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
        assert (row.sender_id, row.outcome, row.text, row.member_id) == (
            "stranger",
            "unknown_sender",
            "社情民意 路灯不亮",
            None,
        )


def test_a_greeting_to_the_bot_in_a_group_is_greeted_and_chatter_is_not(pipeline, runtime):
    from bot.pipeline import GREETING

    for i, text in enumerate(("在吗", "你好", "在不在？")):
        out = pipeline.handle(msg("zhangsan", text, f"G{i}", chat_id="chat-g1", is_group=True), NOW)
        assert out.reply.text == GREETING, text
    for i, text in enumerate(("收到", "好的", "👍")):
        assert pipeline.handle(msg("zhangsan", text, f"C{i}", chat_id="chat-g1", is_group=True), NOW).reply is None


def test_group_chatter_gets_no_answer_but_one_to_one_gets_a_hint(pipeline, runtime):
    assert pipeline.handle(msg("zhangsan", "收到", "M3", chat_id="chat-g1", is_group=True), NOW).reply is None
    assert pipeline.handle(msg("zhangsan", "收到", "M4"), NOW).reply.text == NOT_UNDERSTOOD
    with runtime.sessions() as s:
        assert [r.outcome for r in s.scalars(select(InboundMessage).order_by(InboundMessage.id))] == [
            "ignored"
        ] * 2


def test_member_cannot_use_a_leader_command(pipeline, runtime):
    out = pipeline.handle(msg("zhangsan", "同意 #1", "M5"), NOW)
    assert out.reply.text == "只有组长（联络员）可以这样操作。"
    assert out.outcome == "refused"
    assert pipeline.handle(msg("wang", "同意 #1", "M6"), NOW).reply.text == "同意了"


def test_user_error_rolls_back_what_the_handler_wrote(pipeline, runtime):
    out = pipeline.handle(msg("wang", "驳回 #9", "M7"), NOW)
    assert out.reply.text == "没有找到这条请假"
    assert rows(runtime, Submission) == 0
    assert rows(runtime, InboundMessage) == 1


def test_a_message_in_another_groups_chat_is_refused(pipeline, runtime):
    out = pipeline.handle(msg("zhouqi", "社情民意 x", "M8", chat_id="chat-g1", is_group=True), NOW)
    assert out.reply.text == WRONG_CHAT
    assert rows(runtime, Submission) == 0
    ok = pipeline.handle(msg("zhouqi", "社情民意 y", "M9", chat_id="chat-g2", is_group=True), NOW)
    assert ok.reply.text == "已收到：y"


def test_a_bug_is_logged_with_an_apology_and_never_leaks_its_text(pipeline, runtime, caplog):
    out = pipeline.handle(msg("zhangsan", "调研报告 x", "M10"), NOW)
    assert out.reply.text == APOLOGY
    assert "secret" not in out.reply.text
    assert "secret internal detail" in caplog.text  # the traceback goes to the log
    again = pipeline.handle(msg("zhangsan", "调研报告 x", "M10"), NOW)
    assert again.duplicate and again.reply.text == APOLOGY
    with runtime.sessions() as s:
        assert s.scalars(select(InboundMessage.outcome)).all() == ["error"]


def test_unavailable_database_raises_so_the_platform_retries(runtime):
    dead = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    pipeline = Pipeline(make_session_factory(dead), runtime.settings, router, fake_parse, runtime.platforms)
    with pytest.raises(DBAPIError):
        pipeline.handle(msg("zhangsan", "社情民意 x", "M11"), NOW)


def test_a_date_that_does_not_exist_is_refused_and_records_nothing(runtime, roster, say):
    assert say("张三", "请假 11月31日的视察 家里有事") == "没有11月31日这一天"
    with runtime.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
        assert (row.outcome, row.intent) == ("refused", None)
    assert rows(runtime, OutboxMessage) == 0


def test_the_outcome_is_logged_only_once_the_transaction_commits(pipeline, runtime, caplog):
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    def the_disk_fills(session):
        raise OperationalError("COMMIT", {}, Exception("disk full"))

    caplog.set_level("INFO", logger="bot.pipeline")
    event.listen(runtime.sessions, "before_commit", the_disk_fills)
    try:
        with pytest.raises(DBAPIError):
            pipeline.handle(msg("zhangsan", "社情民意 路灯不亮", "M-commit"), NOW)
    finally:
        event.remove(runtime.sessions, "before_commit", the_disk_fills)
    assert "M-commit" not in caplog.text  # nothing was kept, so no trace says it was answered
    assert rows(runtime, Submission) == 0

    pipeline.handle(msg("zhangsan", "社情民意 路灯不亮", "M-commit"), NOW)
    assert "message wecom_app/M-commit intent=opinion outcome=answered" in caplog.text
