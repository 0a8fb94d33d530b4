"""The command line: `python -m calc "1 + 2"`, or a prompt when no expression is given."""

import argparse
import sys

from calc.errors import CalcError
from calc.evaluator import Calculator


def format_result(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def main(argv=None, stdin=None, stdout=None):
    parser = argparse.ArgumentParser(prog="calc", description="Evaluate arithmetic expressions.")
    parser.add_argument("expression", nargs="*", help="an expression; read lines from stdin if absent")
    args = parser.parse_args(argv)
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    calculator = Calculator()
    lines = [" ".join(args.expression)] if args.expression else stdin
    status = 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            stdout.write(format_result(calculator.evaluate(line)) + "\n")
        except CalcError as exc:
            stdout.write(f"error: {exc}\n")
            status = 1
    return status
