"""A 社情民意 checked at intake against the usual rules: one matter per note, the situation with a
suggestion, within a length, not a near-copy of a recent note of the same group. The note is always
recorded; when a rule is not met the member gets one line of advice (the first rule not met).

Pure: the text, the settings and the group's recent notes (read with the sender, no round trip of
its own) in, at most one line out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

RECENT_NOTES = 20  # the group's latest notes of the kind a new one is compared with
COMPARED_CHARS = 500  # of each, the start (a near-copy shows there)
FIELD, ROW = "\x1f", "\x1e"  # how the recent notes travel in one aggregated string

_SUGGESTS = re.compile(
    r"建议|对策|措施|应当|应该|需要|要求|呼吁|恳请|请求|希望|争取|加强|加快|推动|完善|落实|整改|解决"
)
_MORE_MATTERS = re.compile(r"另外[，,]?还有|另一个问题|其次还有一个问题|此外还有|还有一件事|再反映一个")


@dataclass(frozen=True)
class Recent:
    id: int
    title: str
    start: str  # the first COMPARED_CHARS of the content


def recent_from(aggregated: str | None) -> list[Recent]:
    """The recent notes as the prefetch's one string carried them (id, title, start of content)."""
    out = []
    for row in (aggregated or "").split(ROW):
        parts = row.split(FIELD)
        if len(parts) == 3 and parts[0].isdigit():
            out.append(Recent(int(parts[0]), parts[1], parts[2]))
    return out


def advice(
    title: str, content: str, recent: Iterable[Recent], max_chars: int, similar_ratio: float
) -> str | None:
    """One line of advice for a note, or None when it follows the rules."""
    text = content.strip()
    for r in recent:
        if fuzz.ratio(text[:COMPARED_CHARS], r.start) >= similar_ratio:
            return f"提示：这篇与本组的#{r.id}《{r.title[:20]}》内容相近，请确认不是重复反映；如是补充，可发「更正 #{r.id} …」。"
    if len(text) > max_chars:
        return f"提示：社情民意一般不超过{max_chars}字（这篇{len(text)}字），精简后更易采用。"
    if title.count("关于") >= 2 or _MORE_MATTERS.search(text):
        return "提示：一篇社情民意宜只反映一件事，其他问题可另发一篇。"
    if not _SUGGESTS.search(text):
        return "提示：社情民意宜写明情况、原因和具体建议，可补充建议后发「更正」。"
    return None
