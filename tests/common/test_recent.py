"""RecentSet: the bounded memory daemons keep of what they did already."""

import pytest

from common.recent import RecentSet


def test_remembers_only_the_newest_keys():
    recent = RecentSet(3)
    for key in "abcde":
        recent.add(key)
    assert [k for k in "abcde" if k in recent] == ["c", "d", "e"]
    assert len(recent) == 3


def test_adding_again_makes_a_key_the_newest():
    recent = RecentSet(2)
    recent.add("a")
    recent.add("b")
    recent.add("a")
    recent.add("c")
    assert "a" in recent and "c" in recent and "b" not in recent


def test_size_must_be_positive():
    with pytest.raises(ValueError):
        RecentSet(0)
