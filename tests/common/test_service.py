"""common.service: what every daemon does the same way."""

from common.service import one_line


def test_one_line_collapses_and_bounds_an_error_message():
    error = ValueError('relation "events" does not exist\nLINE 1: SELECT ...\n       ^\n')
    assert one_line(error) == 'relation "events" does not exist LINE 1: SELECT ... ^'
    assert one_line(KeyError()) == "KeyError"
    long = one_line(RuntimeError("x" * 1000))
    assert len(long) == 500 and long.endswith("...")
    assert one_line(RuntimeError("y" * 1000), limit=80) == "y" * 77 + "..."
