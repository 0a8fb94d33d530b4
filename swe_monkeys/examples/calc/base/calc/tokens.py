"""Turns expression text into a list of tokens."""

import re
from dataclasses import dataclass

from calc.errors import ParseError

NUMBER = "NUMBER"
NAME = "NAME"
OP = "OP"
END = "END"

# Longest operators first, so that "**" is not read as two "*".
OPERATORS = ("**", "//", "+", "-", "*", "/", "%", "(", ")", ",", "=")

_NUMBER_RE = re.compile(r"(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


@dataclass(frozen=True)
class Token:
    kind: str
    value: object
    position: int

    def is_op(self, *symbols):
        return self.kind == OP and self.value in symbols


def _number(text):
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


def tokenize(text):
    """Split `text` into tokens; the list always ends with an END token."""
    tokens = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        match = _NUMBER_RE.match(text, pos)
        if match:
            tokens.append(Token(NUMBER, _number(match.group()), pos))
            pos = match.end()
            continue
        match = _NAME_RE.match(text, pos)
        if match:
            tokens.append(Token(NAME, match.group(), pos))
            pos = match.end()
            continue
        for op in OPERATORS:
            if text.startswith(op, pos):
                tokens.append(Token(OP, op, pos))
                pos += len(op)
                break
        else:
            raise ParseError(f"unexpected character {char!r}", pos)
    tokens.append(Token(END, None, len(text)))
    return tokens
