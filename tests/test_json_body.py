"""The bounded JSON reader every adapter uses: depth counted outside strings, only ValueErrors."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.platforms import json_body

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=20,
)


def _nesting(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_nesting, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_nesting, value.values()), default=0)
    return 0


@given(json_values)
def test_depth_is_the_nesting_of_the_value_whatever_its_strings_hold(value):
    text = json.dumps(value, ensure_ascii=False)
    assert json_body.depth(text) == _nesting(value)
    assert json_body.loads(text.encode(), max_depth=_nesting(value)) == value


def test_brackets_and_escaped_quotes_inside_strings_do_not_count():
    assert json_body.depth(r'{"a": "[[[{\"[[["}') == 1


@pytest.mark.parametrize(
    "raw, why",
    [
        ("[" * 100_000, "JSON nested deeper than 32"),
        (b"\xff\xfe{}", "body is not UTF-8"),
        ('{"a": ', "malformed JSON"),
    ],
)
def test_anything_unreadable_is_a_value_error_saying_why(raw, why):
    with pytest.raises(ValueError, match=why):
        json_body.loads(raw)
