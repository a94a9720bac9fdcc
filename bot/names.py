"""Names as people type them on a pinyin keyboard: "同意 张山" finds 张珊 (the same sound), "李思" finds
李四; a near miss (王建图 for 王建国) is found when nothing closer is. The caller gets every candidate
of the closest kind, so two people of one name are asked about, never guessed between.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from rapidfuzz.distance import Levenshtein

from bot.vocabulary import pinyin_of, sounds_the_same

__all__ = ["closest"]

T = TypeVar("T")


def _near(typed: str, name: str) -> bool:
    """One character mistyped (not the family name), or a pinyin letter off in one: 王建图 / 王建国."""
    if len(typed) != len(name) or typed[0] != name[0]:
        return False
    wrong = sum(a != b for a, b in zip(typed, name, strict=True))
    if wrong == 1 and len(name) >= 3:
        return True
    return Levenshtein.distance(pinyin_of(typed), pinyin_of(name)) <= 1


def closest(typed: str, people: Iterable[tuple[T, str]]) -> list[tuple[T, str]]:
    """The people whose name is `typed`; else those whose name sounds the same; else the near misses.

    `people` are (key, name) pairs; the result keeps them, in their order.
    """
    typed = (typed or "").strip()
    pool: Sequence[tuple[T, str]] = list(people)
    if not typed:
        return []
    for same in (lambda n: n == typed, lambda n: sounds_the_same(typed, n), lambda n: _near(typed, n)):
        found = [(key, name) for key, name in pool if same(name)]
        if found:
            return found
    return []
