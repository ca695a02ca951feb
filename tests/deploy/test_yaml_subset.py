"""The strict YAML-subset parser the deployment tests rely on: right answers for the subset,
a line-numbered error for everything else (so nothing is silently misread)."""

import pytest

from deploy.yaml_subset import YAMLSubsetError, parse


def test_the_subset_parses_to_plain_python():
    text = """\
# comment
services:
  a:
    image: "x/y:${TAG}"   # trailing comment
    command: --base-dir /mnt --name 'it''s'
    list:
    - one
    - key: v
      other: [1, "two, three", 'four']
    nested:
      - - deep
    empty:
  b: plain # c
"""
    assert parse(text) == {"services": {
        "a": {"image": "x/y:${TAG}", "command": "--base-dir /mnt --name 'it''s'",
              "list": ["one", {"key": "v", "other": ["1", "two, three", "four"]}],
              "nested": [["deep"]], "empty": None},
        "b": "plain"}}


@pytest.mark.parametrize("text, message", [
    ("a: &anchor 1", "unsupported"),
    ("a: *alias", "unsupported"),
    ("a: !!str 1", "unsupported"),
    ("a: |\n  block", "unsupported"),
    ("a: {b: 1}", "unsupported"),
    ("a: b: c", "quote it"),
    ("a: 1\na: 2", "duplicate key"),
    ("a:\n  b: 1\n   c: 2", "unexpected indentation"),
    ("a: plain\n  continued", "unexpected indentation"),
    ("a:\n\t- 1", "tab"),
    ("a: 'open", "unterminated"),
    ('a: "x" y', "text after a quoted string"),
    ("---\na: 1", "multiple documents"),
    ("a: [1, [2]]", "nested item"),
])
def test_anything_else_is_an_error_naming_the_line(text, message):
    with pytest.raises(YAMLSubsetError, match=message) as error:
        parse(text)
    assert str(error.value).startswith("line ")


def test_a_dash_where_a_value_is_expected_is_an_error():
    with pytest.raises(YAMLSubsetError, match="unsupported"):
        parse("a: - b")
