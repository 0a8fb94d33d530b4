"""The syntax tree the parser builds and the evaluator walks."""

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Num:
    value: object


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class UnaryOp:
    op: str
    operand: object


@dataclass(frozen=True)
class BinOp:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Call:
    func: str
    args: Tuple[object, ...]


@dataclass(frozen=True)
class Assign:
    target: str
    value: object
