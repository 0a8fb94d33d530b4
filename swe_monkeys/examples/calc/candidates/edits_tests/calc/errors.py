"""Exceptions raised by calc."""


class CalcError(Exception):
    """Base class for every error calc raises on bad input."""


class ParseError(CalcError):
    """The text is not a valid expression."""

    def __init__(self, message, position=None):
        self.position = position
        if position is not None:
            message = f"{message} (at column {position})"
        super().__init__(message)


class EvalError(CalcError):
    """The expression is valid but cannot be evaluated (unknown name, division by zero...)."""
