"""The statements one message costs on the hot path, counted (a count, not a timing): every round
trip to the database is ~0.15 ms of driver and SQLAlchemy work, so a check-in or a note takes at
most five, BEGIN and COMMIT included, and a leader's 本组情况 at most four queries (issue 17)."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from bot.messages import FileRef, Incoming
from models import Activity, Attachment, CheckIn, InboundMessage, Member, Submission
from tests.conftest import NOW

_ids = iter(range(1, 10**6))


@contextmanager
def counted(engine):
    """The statements sent while the block runs, BEGIN and COMMIT included (SQLite's implicit BEGIN
    is sent by the driver with the first write: counted as one, as PostgreSQL sends it)."""
    sent: list[str] = []

    def on_execute(_conn, _cursor, statement, _params, _context, _many):
        sent.append(statement.split(None, 1)[0].upper())

    def on_begin(conn):
        if not sent or sent[0] != "BEGIN":
            sent.append("BEGIN")

    def on_commit(_conn):
        sent.append("COMMIT")

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "begin", on_begin)
    event.listen(engine, "commit", on_commit)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "commit", on_commit)


def _group_message(runtime, sender: str, text: str, now: dt.datetime = NOW, attachments=()):
    incoming = Incoming(
        platform="wecom_bot",
        chat_id="chat-g1",
        sender_id=sender,
        sender_name=None,
        text=text,
        msg_id=f"rt{next(_ids)}",
        sent_at=now,
        is_group=True,
        attachments=attachments,
    )
    return runtime.pipeline.handle(incoming, now)


@pytest.fixture
def activity_today(runtime, roster):
    with runtime.sessions.begin() as s:
        group_id = s.get(Member, roster["王组长"]).group_id
        a = Activity(
            group_id=group_id,
            kind="inspection",
            title="城区污水处理厂",
            date=NOW.date(),
            time=dt.time(9, 30),
            created_at=NOW,
        )
        s.add(a)
        s.flush()
        return a.id


def _count(runtime, model) -> int:
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def _last_logged(runtime) -> InboundMessage:
    with runtime.sessions() as s:
        return s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc()).limit(1)).one()


def test_a_first_check_in_costs_five_statements_and_is_recorded_once(runtime, activity_today):
    with counted(runtime.engine) as sent:
        out = _group_message(runtime, "zhangsan", "签到")
    assert out.reply.text.startswith("签到成功")
    assert sent == ["BEGIN", "SELECT", "INSERT", "INSERT", "COMMIT"]
    with runtime.sessions() as s:
        row = s.scalars(select(CheckIn)).one()
        logged = s.scalars(select(InboundMessage)).one()
    assert (row.activity_id, row.source_message_id) == (activity_today, logged.id)
    assert (logged.outcome, logged.reply_text) == ("answered", out.reply.text)


def test_a_second_check_in_is_answered_from_the_first_query_and_writes_only_its_log_row(
    runtime, activity_today
):
    _group_message(runtime, "zhangsan", "签到")
    with counted(runtime.engine) as sent:
        out = _group_message(runtime, "zhangsan", "签到")
    assert out.reply.text.startswith("您已签到过了")
    assert sent == ["BEGIN", "SELECT", "INSERT", "COMMIT"]
    assert _count(runtime, CheckIn) == 1
    assert _count(runtime, InboundMessage) == 2


def test_a_note_costs_five_statements_and_its_answer_names_the_number_it_was_given(runtime, roster):
    text = "社情民意：关于老旧小区加装电梯的建议。群众反映问题较多，建议尽快调研解决。"
    with counted(runtime.engine) as sent:
        out = _group_message(runtime, "lisi", text)
    assert len(sent) <= 5, sent
    assert sent[0] == "BEGIN" and sent[-1] == "COMMIT"
    with runtime.sessions() as s:
        note = s.scalars(select(Submission)).one()
        logged = s.scalars(select(InboundMessage)).one()
    assert f"编号#{note.id}" in out.reply.text and "本月本组第1篇" in out.reply.text
    assert note.source_message_id == logged.id and logged.reply_text == out.reply.text


def test_the_same_note_again_is_the_note_already_recorded_in_four_statements(runtime, roster):
    text = "社情民意：关于农村饮水安全的建议。部分村组水压不足。"
    first = _group_message(runtime, "lisi", text)
    with counted(runtime.engine) as sent:
        again = _group_message(runtime, "lisi", text, NOW + dt.timedelta(minutes=1))
    assert "没有重复记录" in again.reply.text
    number = re.search(r"编号(#\d+)", first.reply.text)[1]
    assert f"编号{number}）" in again.reply.text
    assert sent == ["BEGIN", "SELECT", "INSERT", "COMMIT"]
    assert _count(runtime, Submission) == 1


def test_a_second_note_in_the_month_is_counted_and_numbered_after_the_first(runtime, roster):
    _group_message(runtime, "lisi", "社情民意：关于学校周边交通的建议。上下学时段拥堵。")
    out = _group_message(runtime, "zhangsan", "社情民意：关于菜市场改造的建议。地面湿滑。")
    with runtime.sessions() as s:
        last = s.scalar(select(func.max(Submission.id)))
    assert "本月本组第2篇" in out.reply.text and f"编号#{last}" in out.reply.text


def test_a_report_as_a_file_is_recorded_with_its_attachment_naming_the_message(runtime, roster):
    # A file costs one more read (is it kept already?) and one more INSERT; the answer counts the
    # report in its quota's half-year and echoes the file, both decided before anything is written.
    ref = FileRef("调研.pdf", "application/pdf", 2048, "a" * 64, "aa/" + "a" * 64, "PDF", pages=12,
                  title="关于西街停车难的调研", text="西街停车难，建议增设车位。")  # fmt: skip
    with counted(runtime.engine) as sent:
        out = _group_message(runtime, "lisi", "调研报告", attachments=(ref,))
    assert sent == ["BEGIN", "SELECT", "SELECT", "INSERT", "INSERT", "INSERT", "COMMIT"], sent
    with runtime.sessions() as s:
        note = s.scalars(select(Submission)).one()
        kept = s.scalars(select(Attachment)).one()
        logged = s.scalars(select(InboundMessage)).one()
    assert out.reply.text == (
        f"已收到调研报告《关于西街停车难的调研》（PDF，12页），这是下半年本组第1篇，编号#{note.id}。"
    )
    assert (kept.submission_id, kept.source_message_id, kept.pages) == (note.id, logged.id, 12)
    assert note.source_message_id == logged.id and logged.reply_text == out.reply.text


def test_a_message_met_by_an_open_question_still_reads_what_it_needs(runtime, activity_today):
    # "反映社情民意" asks for the text; 签到 then is a command of its own: the question is dropped
    # and the check-in, off the hot path, reads today's activity itself.
    asked = _group_message(runtime, "zhangsan", "反映社情民意")
    assert "请发来社情民意的内容" in asked.reply.text
    out = _group_message(runtime, "zhangsan", "签到")
    assert out.reply.text.startswith("签到成功")
    assert _count(runtime, CheckIn) == 1


def test_group_status_for_a_leader_takes_four_queries_besides_the_messages_own(runtime, activity_today):
    with counted(runtime.engine) as sent:
        out = _group_message(runtime, "wang", "本组情况")
    assert "本组还差" in out.reply.text and "本期还没交过任何材料的" in out.reply.text
    # The message's own: BEGIN, the sender, its log row written once with the answer (a route that
    # only reads answers first), COMMIT. The answer's: the leaders, every rule's counts, the group's
    # name, who sent nothing toward any rule (was one query per rule: 12 statements in all; the log
    # row inserted, then updated: 9).
    assert sent == ["BEGIN", "SELECT", "SELECT", "SELECT", "SELECT", "SELECT", "INSERT", "COMMIT"]
    logged = _last_logged(runtime)
    assert (logged.intent, logged.outcome, logged.reply_text) == ("status", "answered", out.reply.text)


def test_my_record_takes_two_queries_and_writes_its_log_row_once(runtime, roster, activity_today):
    _group_message(runtime, "zhangsan", "签到")
    with counted(runtime.engine) as sent:
        out = _group_message(runtime, "zhangsan", "我的履职")
    assert "活动出席1次" in out.reply.text
    # BEGIN, the sender (with the member's group), the notes and the activities of the year, the log
    # row with the answer, COMMIT (was 8: the group read again, the log row inserted then updated).
    assert sent == ["BEGIN", "SELECT", "SELECT", "SELECT", "INSERT", "COMMIT"]
    logged = _last_logged(runtime)
    assert (logged.intent, logged.member_id, logged.reply_text) == ("my", roster["张三"], out.reply.text)
