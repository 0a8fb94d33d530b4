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
raise ValueError). `judge_latex` uses its signal timeouts in the main thread and, in any other thread,
an `IsolatedVerifier`: a child process that is killed when it runs past its deadline.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from fractions import Fraction
from typing import Any, Optional

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


def _number_keys(text: str):
    """Canonical keys of the numbers in text, in order (over-long and x/0 ones skipped)."""
    for m in _NUMBER.finditer(text):
        if len(m.group(0)) <= MAX_NUMBER_CHARS:
            key = _number_key(m)
            if key is not None:
                yield key


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
    hash_tail = text[i + 4:i + 4 + 200] if i >= 0 else ""
    boxed = last_boxed(text)
    segment = answer_is_segment(text)
    for found, where in ((hash_tail, "####"), (boxed or "", "boxed"), (segment or "", "answer is")):
        first = next(_number_keys(found[:200]), None)
        if first is not None:
            return first, where
    last = None
    for last in _number_keys(text):
        pass
    return (last, "last number") if last is not None else (None, "no_answer")


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

class VerifierUnavailable(Exception):
    """The math-verify child process could not be started or died: an infrastructure failure."""


class IsolatedVerifier:
    """math-verify in a child process, for callers outside the main thread: there SIGALRM cannot be
    used, and a watchdog thread cannot help either, since sympy's big-integer arithmetic
    (9^{9^{9^9}}) holds the GIL. The child (`python -m swe_monkeys.tasks.math_answers`, JSON lines on
    stdin/stdout; not multiprocessing, which would re-import the caller's __main__) runs math-verify
    in its own main thread with signal timeouts; if it still runs past the deadline it is killed, and
    the next call starts a fresh one."""

    def __init__(self, startup_seconds: float = 120.0):
        self.startup_seconds = startup_seconds
        self._lock = threading.Lock()
        self._proc: Any = None

    def equivalent(self, gold: str, answer: str, timeout: int) -> tuple[bool, bool]:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            try:
                self._proc.stdin.write(json.dumps([gold, answer, timeout]) + "\n")
                self._proc.stdin.flush()
            except OSError as exc:
                self.close()
                raise VerifierUnavailable(f"the math-verify process died ({exc})") from None
            line = self._read_line(3 * timeout + 1)  # parse gold, parse answer, verify: 3 timeouts
        if line is None:
            raise CheckTimeout(f"math-verify ran past {3 * timeout + 1}s (killed)")
        kind, value = json.loads(line)
        if kind == "error":
            raise RuntimeError(value)
        return tuple(value)

    def _start(self) -> None:
        import subprocess
        import sys

        self._proc = subprocess.Popen([sys.executable, "-m", "swe_monkeys.tasks.math_answers"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True, bufsize=1)
        if self._read_line(self.startup_seconds) is None:
            raise VerifierUnavailable("the math-verify process did not start")

    def _read_line(self, seconds: float) -> Optional[str]:
        """The child's next line, or None (and the child killed) when it takes longer or dies."""
        import select

        ready, _, _ = select.select([self._proc.stdout], [], [], seconds)
        line = self._proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            return None
        return line

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            for stream in (self._proc.stdin, self._proc.stdout):
                stream.close()
        self._proc = None


def serve() -> None:
    """The child's loop: [gold, answer, timeout] in, ["ok", [equal, gold_parsed]] or ["error", why] out."""
    import math_verify  # noqa: F401 - imported before "ready", so no deadline is spent on it

    print(json.dumps(["ready", None]), flush=True)
    for line in sys.stdin:
        try:
            gold, answer, timeout = json.loads(line)
            reply = ["ok", list(latex_equivalent(gold, answer, timeout))]
        except BaseException as exc:  # noqa: BLE001 - includes math-verify's TimeoutException
            reply = ["error", f"{type(exc).__name__}: {str(exc)[:200]}"]
        print(json.dumps(reply), flush=True)


def latex_equivalent(gold: str, answer: str, timeout: Optional[int]) -> tuple[bool, bool]:
    """(equal, gold_parsed): math-verify's verdict on a LaTeX answer against the gold, gold first.
    `timeout` None disables math-verify's signal timeouts (required outside the main thread)."""
    from math_verify import parse, verify

    gold_parsed = parse(f"\\boxed{{{gold}}}", parsing_timeout=timeout, raise_on_error=False)
    if not gold_parsed:
        return False, False
    parsed = parse(f"\\boxed{{{answer}}}", parsing_timeout=timeout, raise_on_error=False)
    return bool(parsed) and verify(gold_parsed, parsed, timeout_seconds=timeout, raise_on_error=False), True


def judge_latex(gold: str, answer: str, timeout: int, isolated: Optional[IsolatedVerifier] = None
                ) -> tuple[Optional[bool], str]:
    """(correct, reason) for a LaTeX answer; math-verify failing or hanging on the answer is a wrong
    answer with a reason, never an exception; correct is None when the child process is unavailable
    (an infrastructure failure). In the main thread math-verify runs here with its signal timeouts;
    elsewhere in `isolated` (required there). A gold math-verify cannot read is compared by `math_key`."""
    shown = f"answer {_short(answer)} %s gold {_short(gold)}"
    if len(answer) > MAX_ANSWER_CHARS:
        return False, f"answer too long to check ({len(answer)} chars)"
    try:
        if threading.current_thread() is threading.main_thread():
            same, gold_parsed = latex_equivalent(gold, answer, timeout)
        elif isolated is not None:
            same, gold_parsed = isolated.equivalent(gold, answer, timeout)
        else:
            raise VerifierUnavailable("outside the main thread math-verify needs an IsolatedVerifier")
    except VerifierUnavailable as exc:
        return None, f"{shown % '?'}: {exc}"
    except Exception as exc:  # CheckTimeout, or a bug inside math-verify/sympy
        return False, f"{shown % '?'}: math-verify failed ({type(exc).__name__}: {str(exc)[:100]})"
    except BaseException as exc:  # math-verify's TimeoutException escapes `except Exception`
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return False, f"{shown % '?'}: math-verify timed out"
    if not gold_parsed:
        same = math_key(answer) == math_key(gold)
        return same, (shown % ("=" if same else "!=")) + " (compared as text: math-verify cannot read the gold)"
    return bool(same), shown % ("=" if same else "!=")


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


if __name__ == "__main__":
    serve()
