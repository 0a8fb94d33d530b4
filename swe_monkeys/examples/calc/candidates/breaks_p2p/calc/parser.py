"""A recursive-descent parser for calc expressions.

Grammar, loosest binding first:

    statement := NAME "=" expr | expr
    expr      := term (("+" | "-") term)*
    term      := unary (("*" | "/" | "//" | "%") unary)*
    unary     := "-" unary | power
    power     := call ("**" unary)?

"**" is right-associative and binds tighter than a unary minus on its left, as in Python:
2 ** 3 ** 2 is 2 ** 9, and -2 ** 2 is -(2 ** 2).
    call      := atom ("(" [expr ("," expr)*] ")")?
    atom      := NUMBER | NAME | "(" expr ")"
"""

from calc.errors import ParseError
from calc.nodes import Assign, BinOp, Call, Name, Num, UnaryOp
from calc.tokens import END, NAME, NUMBER, tokenize


class Parser:
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers ---------------------------------------------------------------------
    def peek(self, offset=0):
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self):
        token = self.peek()
        self.index += 1
        return token

    def accept(self, *symbols):
        if self.peek().is_op(*symbols):
            return self.advance()
        return None

    def expect(self, symbol):
        token = self.accept(symbol)
        if token is None:
            found = self.peek()
            raise ParseError(f"expected {symbol!r}, found {found.value!r}", found.position)
        return token

    # -- grammar ---------------------------------------------------------------------------
    def parse_statement(self):
        if self.peek().kind == NAME and self.peek(1).is_op("="):
            target = self.advance().value
            self.advance()
            node = Assign(target, self.parse_expr())
        else:
            node = self.parse_expr()
        if self.peek().kind != END:
            token = self.peek()
            raise ParseError(f"unexpected {token.value!r}", token.position)
        return node

    def parse_expr(self):
        node = self.parse_term()
        while True:
            token = self.accept("+", "-")
            if token is None:
                return node
            node = BinOp(token.value, node, self.parse_term())

    def parse_term(self):
        node = self.parse_unary()
        while True:
            token = self.accept("*", "/", "//", "%")
            if token is None:
                return node
            node = BinOp(token.value, node, self.parse_unary())

    def parse_unary(self):
        if self.accept("-"):
            return UnaryOp("-", self.parse_unary())
        return self.parse_power()

    def parse_power(self):
        node = self.parse_call()
        if self.accept("**"):
            # The exponent may itself be signed or a power: recursing makes "**" right-associative.
            node = BinOp("**", node, self.parse_unary())
        return node

    def parse_call(self):
        node = self.parse_atom()
        if isinstance(node, Name) and self.accept("("):
            args = []
            if not self.accept(")"):
                args.append(self.parse_expr())
                while self.accept(","):
                    args.append(self.parse_expr())
                self.expect(")")
            node = Call(node.id, tuple(args))
        return node

    def parse_atom(self):
        token = self.advance()
        if token.kind == NUMBER:
            return Num(token.value)
        if token.kind == NAME:
            return Name(token.value)
        if token.is_op("("):
            node = self.parse_expr()
            self.expect(")")
            return node
        if token.kind == END:
            raise ParseError("unexpected end of expression", token.position)
        raise ParseError(f"unexpected {token.value!r}", token.position)


def parse(text):
    """Parse one statement (an expression or an assignment) into a syntax tree."""
    return Parser(text).parse_statement()
