"""JSON that a platform — or anyone who can reach the callback — sent, read without surprises:
nesting bounded before parsing (the json module recurses, and 30,000 brackets raise
RecursionError: a 500 and, for the platform, a message to deliver forever), and every failure a
ValueError the adapter answers with a 400 or drops as an unreadable frame."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

# The platforms' payloads nest a few levels (a DingTalk richText: 4, a WeCom mixed message: 4).
MAX_DEPTH = 32

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class Unreadable(ValueError):
    """Not JSON we will read; the message says why, without quoting the body."""


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads(raw)` for a body of at most `max_depth` nested arrays/objects, else Unreadable."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise Unreadable("body is not UTF-8") from None
    # No deeper than its opening brackets, wherever they are: most bodies are not even counted.
    if text.count("[") + text.count("{") > max_depth and depth(text) > max_depth:
        raise Unreadable(f"JSON nested deeper than {max_depth}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Unreadable("malformed JSON") from None


def depth(text: str) -> int:
    """How deep the brackets outside strings nest (an unbalanced text counts as deep as it gets)."""
    brackets = _BRACKET.findall(_STRING.sub("", text))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)
