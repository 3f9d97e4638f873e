"""A tiny exact calculator for the `derivation.formula` of derived values.

Grammar: expr := term (('+'|'-') term)*; term := factor (('*'|'/') factor)*;
factor := number | '(' expr ')' | '-' factor. Numbers are decimals. No names, no
calls, no eval: a derivation is documentation that spec check can recompute.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|(.))")


def evaluate(formula: str) -> Decimal:
    tokens = [(num, op) for num, op in _TOKEN.findall(formula) if num or op.strip()]
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else (None, None)

    def take():
        nonlocal pos
        tok = peek()
        pos += 1
        return tok

    def expr():
        value = term()
        while peek()[1] in ("+", "-"):
            op = take()[1]
            value = value + term() if op == "+" else value - term()
        return value

    def term():
        value = factor()
        while peek()[1] in ("*", "/"):
            op = take()[1]
            rhs = factor()
            if op == "/" and rhs == 0:
                raise ValueError("division by zero")
            value = value * rhs if op == "*" else value / rhs
        return value

    def factor():
        num, op = take()
        if num:
            return Decimal(num)
        if op == "(":
            value = expr()
            if take()[1] != ")":
                raise ValueError("missing ')'")
            return value
        if op == "-":
            return -factor()
        raise ValueError(f"unexpected {op or 'end of formula'!r}")

    with localcontext() as ctx:
        ctx.prec = 34
        result = expr()
        if pos != len(tokens):
            raise ValueError(f"unexpected {tokens[pos][0] or tokens[pos][1]!r}")
        return result
