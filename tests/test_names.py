"""Tolerant names: the same sound finds the member, two of one name are both returned, strangers none."""

from bot.names import closest

GROUP = [(1, "张珊"), (2, "李四"), (3, "王建国"), (4, "欧阳娜娜"), (5, "赵六")]


def test_the_exact_name_wins():
    assert closest("张珊", GROUP) == [(1, "张珊")]


def test_a_homophone_finds_the_member():
    assert closest("张山", GROUP) == [(1, "张珊")]
    assert closest("李思", GROUP) == [(2, "李四")]
    assert closest("欧阳娜那", GROUP) == [(4, "欧阳娜娜")]


def test_a_near_miss_is_found_only_when_nothing_sounds_the_same():
    assert closest("王建图", GROUP) == [(3, "王建国")]
    assert closest("王建国", GROUP + [(9, "王健国")]) == [(3, "王建国")]


def test_two_people_who_sound_alike_are_both_returned_to_be_asked_about():
    assert closest("张山", GROUP + [(7, "张杉")]) == [(1, "张珊"), (7, "张杉")]
    assert closest("张珊", GROUP + [(8, "张珊")]) == [(1, "张珊"), (8, "张珊")]


def test_a_different_person_is_not_found():
    assert closest("刘五", GROUP) == []
    assert closest("陈建国", GROUP) == []  # another family name is another person
    assert closest("", GROUP) == []
