"""A strict parser for the YAML subset our deployment files use (no YAML library is a
dependency of the suite).

Supported: block mappings and sequences (a sequence may sit at its key's indentation), plain,
'single' and "double" quoted scalars (kept as strings), flow sequences of scalars ([a, "b"]),
empty values (None), and # comments. Anything else (anchors, aliases, tags, block scalars,
flow mappings, multi-line plain scalars, tabs, duplicate keys) raises YAMLSubsetError naming
the line, so a file that parses here uses nothing this parser might misread.
"""

import re


class YAMLSubsetError(ValueError):
    pass


def parse(text):
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        body = raw.lstrip(" ")
        if body.startswith("\t"):
            raise YAMLSubsetError(f"line {number}: tab in indentation")
        if not body.strip() or body.startswith("#"):
            continue
        if body.rstrip() in ("---", "..."):
            raise YAMLSubsetError(f"line {number}: multiple documents are not supported")
        lines.append([number, len(raw) - len(body), body.rstrip()])
    if not lines:
        return None
    parser = _Parser(lines)
    value = parser.block(lines[0][1])
    if parser.i != len(lines):
        number = lines[parser.i][0]
        raise YAMLSubsetError(f"line {number}: unexpected indentation")
    return value


class _Parser:
    def __init__(self, lines):
        self.lines, self.i = lines, 0

    def error(self, message, index=None):
        index = self.i if index is None else index
        number = self.lines[min(index, len(self.lines) - 1)][0]
        return YAMLSubsetError(f"line {number}: {message}")

    def block(self, indent):
        if self._is_item(self.lines[self.i][2]):
            return self.sequence(indent)
        return self.mapping(indent)

    @staticmethod
    def _is_item(body):
        return body == "-" or body.startswith("- ")

    def mapping(self, indent):
        result = {}
        while self.i < len(self.lines):
            number, line_indent, body = self.lines[self.i]
            if line_indent < indent:
                break
            if line_indent > indent:
                raise self.error("unexpected indentation")
            if self._is_item(body):
                break
            key, rest = split_key(body, number)
            if key in result:
                raise self.error(f"duplicate key {key!r}")
            self.i += 1
            if rest:
                result[key] = scalar(rest, number)
            else:
                result[key] = self.nested(indent)
        return result

    def nested(self, indent):
        """Value of a key with nothing after its colon: an indented block, or a sequence at
        the key's own indentation, or null."""
        if self.i >= len(self.lines):
            return None
        _, line_indent, body = self.lines[self.i]
        if line_indent > indent:
            return self.block(line_indent)
        if line_indent == indent and self._is_item(body):
            return self.sequence(indent)
        return None

    def sequence(self, indent):
        result = []
        while self.i < len(self.lines):
            number, line_indent, body = self.lines[self.i]
            if line_indent != indent or not self._is_item(body):
                if line_indent > indent:
                    raise self.error("unexpected indentation")
                break
            item = body[1:].lstrip(" ")
            if not item:
                self.i += 1
                result.append(self.nested(indent + 1) if self.i < len(self.lines)
                              and self.lines[self.i][1] > indent else None)
                continue
            column = indent + len(body) - len(item)
            if self._is_item(item):
                # "- - x": a sequence nested in this item, starting at the item's column.
                self.lines[self.i] = [number, column, item]
                result.append(self.sequence(column))
            elif looks_like_key(item):
                # "- key: value": a mapping whose first line starts at the item's column.
                self.lines[self.i] = [number, column, item]
                result.append(self.mapping(column))
            else:
                self.i += 1
                result.append(scalar(item, number))
        return result


KEY = re.compile(r"""^(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{}\[\],&*!|>%@`-][^#]*?|-[^\s#][^#]*?)\s*:(?:\s|$)""")


def looks_like_key(body):
    return KEY.match(body) is not None


def split_key(body, number):
    match = KEY.match(body)
    if not match:
        raise YAMLSubsetError(f"line {number}: expected 'key: value', got {body!r}")
    raw_key = match.group(0).rstrip()[:-1].rstrip()
    key = scalar(raw_key, number)
    rest = body[match.end():].strip()
    if rest.startswith("#"):
        rest = ""
    return key, rest


def scalar(text, number):
    text = text.strip()
    if text[0] in "\"'":
        value, rest = _quoted(text, number)
        _only_comment(rest, number)
        return value
    if text[0] == "[":
        return _flow_sequence(text, number)
    if text[0] in "{&*!|>%@`" or text == "-" or text.startswith("- "):
        raise YAMLSubsetError(f"line {number}: unsupported YAML syntax {text[0]!r}")
    # Plain scalar: a comment starts at " #".
    value = re.split(r"\s+#", text, maxsplit=1)[0].rstrip()
    if re.search(r":(\s|$)", value):
        raise YAMLSubsetError(f"line {number}: ': ' inside a plain scalar; quote it")
    return value


def _quoted(text, number):
    quote = text[0]
    out, i = [], 1
    while i < len(text):
        c = text[i]
        if quote == "'" and c == "'":
            if text[i + 1:i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), text[i + 1:]
        if quote == '"' and c == "\\":
            escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "/": "/"}
            nxt = text[i + 1:i + 2]
            if nxt not in escapes:
                raise YAMLSubsetError(f"line {number}: unsupported escape \\{nxt}")
            out.append(escapes[nxt])
            i += 2
            continue
        if quote == '"' and c == '"':
            return "".join(out), text[i + 1:]
        out.append(c)
        i += 1
    raise YAMLSubsetError(f"line {number}: unterminated quoted string")


def _only_comment(rest, number):
    rest = rest.strip()
    if rest and not rest.startswith("#"):
        raise YAMLSubsetError(f"line {number}: text after a quoted string: {rest!r}")


def _flow_sequence(text, number):
    items, i, inner = [], 1, text
    while True:
        while i < len(inner) and inner[i] == " ":
            i += 1
        if i >= len(inner):
            raise YAMLSubsetError(f"line {number}: unterminated [ ]")
        if inner[i] == "]" and not items:
            return _end_flow(inner[i + 1:], items, number)
        if inner[i] in "\"'":
            value, rest = _quoted(inner[i:], number)
            i = len(inner) - len(rest)
        else:
            match = re.match(r"[^,\]\[{}#\"']*", inner[i:])
            value = match.group(0).strip()
            if not value:
                raise YAMLSubsetError(f"line {number}: empty or nested item in [ ]")
            i += match.end()
        items.append(value)
        while i < len(inner) and inner[i] == " ":
            i += 1
        if i < len(inner) and inner[i] == ",":
            i += 1
            continue
        if i < len(inner) and inner[i] == "]":
            return _end_flow(inner[i + 1:], items, number)
        raise YAMLSubsetError(f"line {number}: bad flow sequence {text!r}")


def _end_flow(rest, items, number):
    _only_comment(rest, number)
    return items
