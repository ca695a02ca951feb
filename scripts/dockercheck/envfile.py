"""A node's .env made from .env.example: the example's lines, comments and order, with the
values the check sets (pure)."""

import re

LINE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
# Characters that .env parsers (compose v2 and Debian's 1.29) read differently unquoted.
AMBIGUOUS = re.compile(r"[#'\"$\\\n]")


def render_env(example, values):
    """Return example's text with each NAME=... line whose name is in values set to it.
    Every name in values must already be in the example (so the example stays the template
    operators copy), and no value may hold a character the two compose parsers disagree on."""
    unknown = set(values) - {m.group("name") for m in map(LINE.match, example.splitlines()) if m}
    if unknown:
        raise ValueError(f"not in .env.example: {', '.join(sorted(unknown))}")
    for name, value in values.items():
        if AMBIGUOUS.search(str(value)):
            raise ValueError(f"{name}: value has a character .env parsers disagree on: {value!r}")
    lines = []
    for line in example.splitlines():
        match = LINE.match(line)
        if match and match.group("name") in values:
            line = f"{match.group('name')}={values[match.group('name')]}"
        lines.append(line)
    return "\n".join(lines) + "\n"
