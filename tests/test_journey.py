"""社情民意的流转 (issue 18): a note from submission to 退回, 更正, 编报, 报送, 采用 (more than once),
批示 and 反馈 — each step dated, attributed, told to the author, refused for the wrong role and
recorded once — through the real parser and pipeline."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from models import OutboxMessage, Submission, SubmissionEvent
from tests.conftest import NOW

DAY = dt.timedelta(days=1)


@pytest.fixture
def db(runtime):
    """db(fn) runs fn(session) in a transaction and returns its result."""

    def run(fn):
        with runtime.sessions.begin() as s:
            return fn(s)

    return run


def _latest(db) -> int:
    return db(lambda s: s.scalar(select(Submission.id).order_by(Submission.id.desc()).limit(1)))


def _events(db, sid: int) -> list[tuple]:
    return db(
        lambda s: [
            (e.kind, e.level, e.detail, e.by_id, e.source_message_id is not None)
            for e in s.scalars(
                select(SubmissionEvent)
                .where(SubmissionEvent.submission_id == sid)
                .order_by(SubmissionEvent.id)
            )
        ]
    )


def _told(db, member_id: int) -> list[str]:
    return db(
        lambda s: [
            m.text
            for m in s.scalars(
                select(OutboxMessage).where(OutboxMessage.member_id == member_id).order_by(OutboxMessage.id)
            )
        ]
    )


def _status(db, sid: int) -> str:
    return db(lambda s: s.get(Submission, sid).status)


def test_a_note_goes_the_whole_way_and_its_author_hears_each_step(say, db, roster):
    say("张三", "社情民意：关于路灯的建议。晚上太黑，老人出行不便。建议增设路灯。")
    sid = _latest(db)
    office = roster["陈主任"]

    assert say("陈主任", f"退回 #{sid} 请补充具体路段", now=NOW + DAY) == (
        f"已退回张三的社情民意#{sid}《关于路灯的建议》：请补充具体路段，已告知本人。"
    )
    assert _status(db, sid) == "returned"
    # Past the 30-minute window for corrections, a returned note is still its author's to correct.
    assert say(
        "张三", f"更正 #{sid} 关于城东路路灯的建议。城东路晚上太黑。建议增设路灯。", now=NOW + 3 * DAY
    ) == (f"已更正社情民意#{sid}《关于城东路路灯的建议》，已重新提交县政协办公室（原内容已留档）。")
    assert _status(db, sid) == "submitted"
    assert say("陈主任", f"编报 #{sid} 第5期", now=NOW + 4 * DAY).startswith("已记录张三的社情民意")
    assert _status(db, sid) == "in_bulletin"
    say("陈主任", f"报送 #{sid} 市政协", now=NOW + 5 * DAY)
    assert _status(db, sid) == "reported"
    assert say("陈主任", f"采用 #{sid} 市政协《社情民意》", now=NOW + 6 * DAY) == (
        f"已标记张三的社情民意#{sid}《关于城东路路灯的建议》为市级采用（市政协《社情民意》）。"
    )
    say("陈主任", f"采用 #{sid} 省政协《各界反映》", now=NOW + 7 * DAY)
    say("陈主任", f"批示 #{sid} 县委书记：请城管局研究", now=NOW + 8 * DAY)
    say("陈主任", f"批示 #{sid} 副县长：已阅", now=NOW + 8 * DAY)
    say("陈主任", f"反馈 #{sid} 城管局：已增设路灯12盏", now=NOW + 20 * DAY)

    row = db(lambda s: s.get(Submission, sid))
    assert (row.status, row.adopted_level, row.instruction) == ("adopted", "省级", "副县长：已阅")
    assert _events(db, sid) == [
        ("returned", None, "请补充具体路段", office, True),
        ("resubmitted", None, None, roster["张三"], True),
        ("bulletin", None, "第5期", office, True),
        ("reported", "市级", "市政协", office, True),
        ("adopted", "市级", "市政协《社情民意》", office, True),
        ("adopted", "省级", "省政协《各界反映》", office, True),
        ("instructed", None, "县委书记：请城管局研究", office, True),
        ("instructed", None, "副县长：已阅", office, True),
        ("feedback", None, "城管局：已增设路灯12盏", office, True),
    ]
    told = _told(db, roster["张三"])
    assert len(told) == 8  # every step but the author's own 更正
    assert told[0] == (
        f"您的社情民意#{sid}《关于路灯的建议》被退回修改：请补充具体路段。修改后请发「更正 #{sid} 标题。正文……」重新提交。"
    )
    assert told[-1] == f"您的社情民意#{sid}《关于城东路路灯的建议》有了办理反馈：城管局：已增设路灯12盏"
    # A later step never moves the note back: 编报 after 采用 leaves it adopted.
    say("陈主任", f"编报 #{sid} 第6期", now=NOW + 21 * DAY)
    assert _status(db, sid) == "adopted"


def test_the_number_may_come_first(say, db, roster):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest(db)
    assert say("陈主任", f"#{sid} 退回，请补充具体数据").startswith(f"已退回张三的社情民意#{sid}《关于路灯的建议》：请补充具体数据")
    say("张三", f"更正 #{sid} 关于路灯的建议。东街三盏路灯坏了三个月，建议城管局更换。")
    assert say("陈主任", f"把#{sid}报送市政协") == f"已记录张三的社情民意#{sid}《关于路灯的建议》报送市政协。"
    assert [e[:3] for e in _events(db, sid)] == [
        ("returned", None, "请补充具体数据"),
        ("resubmitted", None, None),
        ("reported", "市级", "市政协"),
    ]


def test_each_step_is_recorded_once(say, db, roster):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest(db)
    for _ in range(2):
        say("陈主任", f"编报 #{sid} 第5期")
        say("陈主任", f"报送 #{sid} 市政协")
        say("陈主任", f"采用 #{sid} 市级")
        say("陈主任", f"反馈 #{sid} 城管局：已整改")
    assert say("陈主任", f"编报 #{sid} 第5期").endswith("已记录编报第5期。")
    assert [e[0] for e in _events(db, sid)] == ["bulletin", "reported", "adopted", "feedback"]
    assert len(_told(db, roster["张三"])) == 4


def test_the_office_adopts_a_note_named_by_its_author_and_topic_and_asks_which_when_several(say, db, roster):
    say("张三", "社情民意：关于农村留守老人照护的建议。村里老人无人照看。")
    elder = _latest(db)
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    lamp = _latest(db)
    say("赵六", "社情民意：关于留守儿童的建议。")
    assert say("陈主任", "张三那篇留守老人的社情民意被市政协采用了") == (
        f"已标记张三的社情民意#{elder}《关于农村留守老人照护的建议》为市级采用。"
    )
    assert _events(db, elder) == [("adopted", "市级", None, roster["陈主任"], True)]
    assert _told(db, roster["张三"])[-1] == "您的社情民意《关于农村留守老人照护的建议》已被市级采用。"
    # Named by its author alone, among several: asked which, and the number answered adopts that one.
    asked = say("陈主任", "张三交的社情民意被县政协采用了")
    assert asked.splitlines()[0] == "张三有2篇社情民意，请问是哪一篇（回复数字）："
    assert f"#{lamp}《关于路灯的建议》" in asked.splitlines()[1]
    assert say("陈主任", "1") == f"已标记张三的社情民意#{lamp}《关于路灯的建议》为县级采用。"
    assert _status(db, lamp) == "adopted"
    assert say("陈主任", "赵六的留守老人社情民意被县政协采用了").startswith("没有找到赵六关于「留守老人」的社情民意")
    assert say("陈主任", "钱七的社情民意被县政协采用了").startswith("没有找到委员「钱七」")
    assert _events(db, _latest(db)) == []
    # A note's text never comes from such a sentence, whoever says it.
    before = _latest(db)
    say("张三", "张三交的社情民意被市政协采用了")
    assert _latest(db) == before
    # Each two-character word of the topic in the title: 停车收费 / 停车场收费太贵.
    say("李四", "社情民意：县医院停车场收费太贵。群众看病停车要20块，建议降低收费。")
    parking = _latest(db)
    assert say("陈主任", "李四那篇停车收费的社情民意被县政协采用了").startswith(f"已标记李四的社情民意#{parking}")


def test_the_office_steps_are_refused_for_members_and_leaders(say, db):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest(db)
    for who in ("张三", "王组长"):
        for verb in (f"编报 #{sid} 第5期", f"报送 #{sid} 市政协", f"反馈 #{sid} 交通局：已办"):
            assert say(who, verb) == "只有县政协办公室的管理员可以这样操作。"
    # 退回 is also 驳回's word: a leader's 退回 #N is about a leave request, never the note.
    assert "请假" in say("王组长", f"退回 #{sid} 理由")
    assert say("张三", f"退回 #{sid}") == "只有组长（联络员）可以这样操作。"
    assert _status(db, sid) == "submitted"
    assert _events(db, sid) == []


def test_an_adopted_note_cannot_be_returned_and_a_withdrawn_one_takes_no_step(say, db):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest(db)
    say("陈主任", f"采用 #{sid} 县级")
    assert say("陈主任", f"退回 #{sid} 重写") == f"张三的社情民意#{sid}《关于路灯的建议》已被采用，不能退回。"
    say("张三", "社情民意：关于井盖的建议。井盖缺失。")
    other = _latest(db)
    say("张三", "撤回", now=NOW + dt.timedelta(minutes=1))
    assert say("陈主任", f"编报 #{other} 第5期") == f"材料#{other}已被撤回，不能标记。"
    assert _events(db, other) == []


def test_a_returned_note_can_only_be_corrected_by_its_author_or_the_office(say, db):
    say("张三", "社情民意：关于路灯的建议。晚上太黑。")
    sid = _latest(db)
    say("陈主任", f"退回 #{sid} 请补充")
    assert "不是您提交的" in say("李四", f"更正 #{sid} 关于路灯的建议。全新内容。", now=NOW + DAY)
    assert _status(db, sid) == "returned"


def test_the_migration_keeps_each_adoption_and_instruction_as_the_first_steps(tmp_path):
    from alembic import command
    from sqlalchemy.orm import Session

    from bot.runtime import _alembic_config
    from models import LiaisonGroup, Member, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = _alembic_config(engine)
    command.upgrade(cfg, "0011")
    with Session(engine) as s, s.begin():
        g = LiaisonGroup(name="第一联络组", created_at=NOW)
        s.add(g)
        s.flush()
        m = Member(
            name="张三", mobile="13800000001", group_id=g.id, role="member", created_at=NOW, updated_at=NOW
        )
        s.add(m)
        s.flush()
        base = dict(member_id=m.id, group_id=g.id, kind="opinion", content="…", submitted_at=NOW)
        s.add_all(
            [
                Submission(
                    title="采用的", status="adopted", adopted_level="市级", adopted_at=NOW + DAY, **base
                ),
                Submission(title="批示的", instruction="县长：请研究", instructed_at=NOW + 2 * DAY, **base),
                Submission(title="只提交的", **base),
            ]
        )
    command.upgrade(cfg, "head")
    with Session(engine) as s:
        got = sorted(
            (e.submission.title, e.kind, e.level, e.detail, e.at) for e in s.scalars(select(SubmissionEvent))
        )
    assert got == [
        ("批示的", "instructed", None, "县长：请研究", NOW + 2 * DAY),
        ("采用的", "adopted", "市级", None, NOW + DAY),
    ]
    engine.dispose()


def test_the_funnel_in_chat_and_in_the_export_count_alike(say, db, runtime, tmp_path):
    import openpyxl

    from bot import export

    ids = []
    for who, title in (("张三", "路灯"), ("李四", "井盖"), ("张三", "校车"), ("周七", "菜场")):
        say(who, f"社情民意：关于{title}的建议。问题。建议。")
        ids.append(_latest(db))
    a, b, c, d = ids
    say("陈主任", f"编报 #{a} 第5期")
    say("陈主任", f"报送 #{a} 市政协")
    say("陈主任", f"采用 #{a} 市级")
    say("陈主任", f"批示 #{a} 县长：请研究")
    say("陈主任", f"退回 #{b} 请补充")
    say("陈主任", f"采用 #{c} 县级")
    say("陈主任", f"反馈 #{c} 交通局：已办")
    say("陈主任", f"采用 #{d} 省级")
    assert say("王组长", "社情民意流转情况") == (
        "第一联络组今年社情民意：提交3篇，退回修改1篇，编报1篇，报送1篇，采用2篇（市级1、县级1），获批示1篇，有办理反馈1篇。"
    )
    assert say("陈主任", "全县社情民意采用情况").startswith(
        "全县今年社情民意：提交4篇，退回修改1篇，编报1篇，报送1篇，采用3篇（省级1、市级1、县级1）"
    )
    assert say("陈主任", "第二联络组社情民意流转情况").startswith(
        "第二联络组今年社情民意：提交1篇，退回修改0篇"
    )
    # 全县… in a group's chat is still the county's (the chat's group only when no scope is said).
    in_chat = {"platform": "wecom_bot", "sender_id": "chen", "chat_id": "chat-g2", "is_group": True}
    assert say("陈主任", "今年全县社情民意采用情况", **in_chat).startswith("全县今年社情民意：提交4篇")
    assert say("陈主任", "社情民意采用情况", **in_chat).startswith("第二联络组今年社情民意：提交1篇")
    assert say("王组长", "全县社情民意采用情况") == "全县的社情民意流转情况由县政协办公室查看；组长可发「社情民意流转情况」。"
    with runtime.sessions.begin() as s:
        path = export.write_file(s, runtime.settings, export.period_for(2026), None, NOW, tmp_path / "f.xlsx")
    rows = list(openpyxl.load_workbook(path)["总览"].iter_rows(values_only=True))
    head, by_group = rows[0], {r[0]: r for r in rows[1:]}
    cols = [head.index(f"社情民意{h}") for h in ("提交", "退回修改", "编报", "报送", "采用", "批示", "反馈")]
    assert [by_group["第一联络组"][i] for i in cols] == [3, 1, 1, 1, 2, 1, 1]
    assert by_group["第一联络组"][head.index("社情民意采用级别")] == "市级1、县级1"
    assert [by_group["第二联络组"][i] for i in cols] == [1, 0, 0, 0, 1, 0, 0]


def test_one_notes_journey_by_its_number_for_its_author_and_the_office_only(say, runtime, roster):
    number = int(re.search(r"编号#(\d+)", say("张三", "社情民意：关于路灯的建议\n建议尽快修复。"))[1])
    say("陈主任", f"编报 #{number} 第5期")
    say("陈主任", f"采用 #{number} 市级")
    lines = say("张三", f"#{number}到哪一步了").splitlines()
    assert lines[0] == f"张三的社情民意#{number}《关于路灯的建议》：已采用（市级）"
    assert lines[2].endswith("编报 第5期（陈主任）") and lines[3].endswith("采用 市级（陈主任）")
    assert say("王组长", f"查一下#{number}").splitlines()[0].endswith("已采用（市级）")  # the group's leader
    assert say("李四", f"#{number}到哪一步了") == "只能查看本人（组长：本组）的材料。"
    assert say("孙组长", f"#{number}到哪一步了") == "只能查看本人（组长：本组）的材料。"
