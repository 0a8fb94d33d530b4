"""Final answers of math completions: extraction, canonical keys for majority vote, and equivalence.

Extraction is pure and linear in the completion's length (no nested regex, no recursion), so a
hostile completion (a megabyte of braces, an unclosed \\boxed{) costs milliseconds, not minutes.

- GSM8K: `gsm8k_answer` takes "#### N", else \\boxed{N}, else "the answer is N", else the last number;
  `canonical_number` turns "1,000", "$18.00", "3/4" into one key ("1000", "18", "0.75").
- MATH: `math_answer` takes the last balanced \\boxed{...} / \\fbox{...}, else "the answer is ...";
  `math_key` is a light textual normal form so that equal answers usually share a majority-vote key.
- `latex_equivalent` asks math-verify (`parse`, then `verify` with the gold first): the judgement of
  correctness is never a hand-written normaliser's.

math-verify times out with SIGALRM, which works only in the main thread (elsewhere `parse`/`verify`
raise ValueError). `call_with_deadline` uses its signal timeouts in the main thread and, in any other
thread, runs it without them inside a daemon watchdog thread that is abandoned at the deadline.
"""

from __future__ import annotations

import re
import threading
from fractions import Fraction
from typing import Any, Callable, Optional

MAX_NUMBER_CHARS = 40  # a "number" longer than this is noise (and int() of >4300 digits raises)
MAX_ANSWER_CHARS = 500  # longer extracted answers are not handed to sympy at all
_SCAN_BOXES = 50  # how many \boxed starts to try from the end before giving up on balance

_NUMBER = re.compile(r"(?<![\d./])(-?)(?:\$\s?)?(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(\.\d+)?(?:/(\d+))?")
_ANSWER_IS = re.compile(r"answer\s+is\s*[:：]?", re.IGNORECASE)
_BOX_COMMANDS = ("\\boxed", "\\fbox")


class CheckTimeout(Exception):
    """math-verify ran past its deadline on one answer."""


# ---------------------------------------------------------------- extraction (pure)

def last_boxed(text: str) -> Optional[str]:
    """The content of the last balanced \\boxed{...} or \\fbox{...} (also "\\boxed 5"), or None."""
    starts: list[tuple[int, str]] = []
    for command in _BOX_COMMANDS:
        end = len(text)
        for _ in range(_SCAN_BOXES):
            i = text.rfind(command, 0, end)
            if i < 0:
                break
            starts.append((i, command))
            end = i
    for i, command in sorted(starts, reverse=True)[:_SCAN_BOXES]:
        content = _box_content(text, i + len(command))
        if content is not None:
            return content
    return None


def _box_content(text: str, j: int) -> Optional[str]:
    """What follows a box command at j: a balanced {group}, or one bare token ("\\boxed 5")."""
    if j < len(text) and text[j] == " ":
        token = re.match(r" +([^\s${}]+)", text[j:j + 200])
        return token.group(1) if token else None
    if j >= len(text) or text[j] != "{":
        return None
    depth = 0
    for k in range(j, len(text)):
        c = text[k]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[j + 1:k]
    return None  # unbalanced: a truncated completion


def answer_is_segment(text: str) -> Optional[str]:
    """What follows the last "answer is" on its line (its first $...$ if it has one), or None."""
    last = None
    for last in _ANSWER_IS.finditer(text):
        pass
    if last is None:
        return None
    line = text[last.end():last.end() + 300].split("\n", 1)[0].strip()
    math = re.search(r"\$+([^$]+)\$+", line)
    if math:
        return math.group(1).strip()
    line = re.split(r"\.(?:\s|$)", line, maxsplit=1)[0]
    return line.strip(" *`.") or None


def _numbers(text: str):
    for m in _NUMBER.finditer(text):
        if len(m.group(0)) <= MAX_NUMBER_CHARS:
            yield m


def canonical_number(text: str) -> Optional[str]:
    """"1,000" -> "1000", "$18.00" -> "18", "-3/4" -> "-0.75", "1/3" -> "1/3"; None if not one number."""
    m = _NUMBER.fullmatch(text.strip().rstrip("."))
    if not m or len(m.group(0)) > MAX_NUMBER_CHARS:
        return None
    return _number_key(m)


def _number_key(m: re.Match) -> Optional[str]:
    sign, whole, decimals, denominator = m.groups()
    value = Fraction(whole.replace(",", "") + (decimals or ""))
    if denominator is not None:
        if int(denominator) == 0:
            return None
        value /= int(denominator)
    value = -value if sign else value
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1:
        return f"{value.numerator}/{value.denominator}"
    whole_part, rest = divmod(abs(value.numerator), value.denominator)
    digits = ""
    while rest:
        rest *= 10
        digits += str(rest // value.denominator)
        rest %= value.denominator
    return f"{'-' if value < 0 else ''}{whole_part}.{digits}"


def gsm8k_answer(text: str) -> tuple[Optional[str], str]:
    """(canonical number, how it was found) of a GSM8K completion; (None, "no_answer") when none."""
    i = text.rfind("####")
    if i >= 0:
        first = next(_numbers(text[i + 4:i + 4 + 200]), None)
        if first:
            return _number_key(first), "####"
    boxed = last_boxed(text)
    if boxed is not None:
        first = next(_numbers(boxed[:200]), None)
        if first:
            return _number_key(first), "boxed"
    segment = answer_is_segment(text)
    if segment is not None:
        first = next(_numbers(segment), None)
        if first:
            return _number_key(first), "answer is"
    last = None
    for last in _numbers(text):
        pass
    if last is not None:
        return _number_key(last), "last number"
    return None, "no_answer"


def math_answer(text: str) -> tuple[Optional[str], str]:
    """(raw LaTeX answer, how it was found) of a MATH completion; (None, "no_answer") when none."""
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        return boxed.strip(), "boxed"
    segment = answer_is_segment(text)
    if segment:
        return segment, "answer is"
    return None, "no_answer"


_KEY_DROP = re.compile(r"\\left|\\right|\\[!,;: ]|\^\{?\\circ\}?|\\%|%|\\\$|\$|\s+")


def math_key(latex: str) -> str:
    """A light normal form of a LaTeX answer, only for grouping votes (never for correctness):
    spacing and \\left/\\right dropped, \\dfrac/\\tfrac -> \\frac, "x=3" -> "3", numbers canonical."""
    key = _KEY_DROP.sub("", latex[:MAX_ANSWER_CHARS]).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    key = re.sub(r"^\\text\{(.*)\}$", r"\1", key).rstrip(".")
    key = re.sub(r"^[a-zA-Z]=(?!.*=)", "", key)
    frac = re.fullmatch(r"(-?)\\frac\{?(\d+)\}?\{?(\d+)\}?", key)
    if frac:
        key = f"{frac.group(1)}{frac.group(2)}/{frac.group(3)}"
    number = canonical_number(key)
    return number if number is not None else key


# ---------------------------------------------------------------- equivalence (math-verify)

def call_with_deadline(fn: Callable[[Optional[int]], Any], seconds: int) -> Any:
    """fn(timeout) with math-verify's own SIGALRM timeout in the main thread; elsewhere fn(None) in a
    daemon watchdog thread, abandoned (CheckTimeout) after `seconds`: signals cannot be used there."""
    if threading.current_thread() is threading.main_thread():
        return fn(seconds)
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(None)
        except BaseException as exc:  # noqa: BLE001 - math-verify's TimeoutException is a BaseException
            box["error"] = exc

    worker = threading.Thread(target=run, name="math-verify-watchdog", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise CheckTimeout(f"math-verify ran past {seconds}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def latex_equivalent(gold: str, answer: str, timeout: Optional[int]) -> tuple[bool, bool]:
    """(equal, gold_parsed): math-verify's verdict on a LaTeX answer against the gold, gold first.
    `timeout` None disables math-verify's signal timeouts (required outside the main thread)."""
    from math_verify import parse, verify

    gold_parsed = parse(f"\\boxed{{{gold}}}", parsing_timeout=timeout, raise_on_error=False)
    if not gold_parsed:
        return False, False
    parsed = parse(f"\\boxed{{{answer}}}", parsing_timeout=timeout, raise_on_error=False)
    return bool(parsed) and verify(gold_parsed, parsed, timeout_seconds=timeout, raise_on_error=False), True
