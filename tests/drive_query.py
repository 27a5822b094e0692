"""The `q` search language of Drive v2 `files.list`, enough of it for an emulator.

Terms: `'<id>' in parents`, `title = '...'`, `title contains '...'`, `mimeType = / != '...'`,
`trashed = true|false`, joined by `and`, `or`, `not` and parentheses, as Drive documents them.
Title comparison is case-insensitive, as on Drive (clients must compare exact titles themselves).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]
_TOKEN = re.compile(r"\s*(?:(\(|\))|('(?:[^'\\]|\\.)*')|(!=|<=|>=|=|<|>)|([A-Za-z_][\w.]*))")


def tokenize(query: str) -> list[str]:
    tokens, pos = [], 0
    query = query.strip()
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if not match or match.end() == pos:
            raise ValueError(f"Invalid query near {query[pos : pos + 20]!r}")
        tokens.append(next(group for group in match.groups() if group is not None))
        pos = match.end()
    return tokens


def _literal(token: str) -> Any:
    if token.startswith("'"):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    if token in ("true", "false"):
        return token == "true"
    raise ValueError(f"Invalid value {token!r}")


def _field(item: dict[str, Any], name: str) -> Any:
    if name == "trashed":
        return bool(item.get("labels", {}).get("trashed"))
    return item.get(name)


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ValueError("Invalid query: unexpected end")
        self.pos += 1
        return token

    def expression(self) -> Predicate:
        terms = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            terms.append(self.conjunction())
        return lambda item: any(term(item) for term in terms)

    def conjunction(self) -> Predicate:
        factors = [self.factor()]
        while self.peek() == "and":
            self.take()
            factors.append(self.factor())
        return lambda item: all(factor(item) for factor in factors)

    def factor(self) -> Predicate:
        token = self.take()
        if token == "not":
            inner = self.factor()
            return lambda item: not inner(item)
        if token == "(":
            inner = self.expression()
            if self.take() != ")":
                raise ValueError("Invalid query: missing )")
            return inner
        return self.comparison(token)

    def comparison(self, left: str) -> Predicate:
        op = self.take()
        if op == "in":
            value, field = _literal(left), self.take()
            if field != "parents":
                raise ValueError(f"Invalid query: 'in {field}' is not supported")
            return lambda item: any(p["id"] == value for p in item.get("parents", []))
        value = _literal(self.take())
        if op == "contains":
            return lambda item: str(value).lower() in str(_field(item, left) or "").lower()
        if op not in ("=", "!="):
            raise ValueError(f"Invalid query: operator {op!r} is not supported")

        def equal(item: dict[str, Any]) -> bool:
            actual = _field(item, left)
            if left == "title":
                return str(actual).lower() == str(value).lower()
            return actual == value

        return equal if op == "=" else (lambda item: not equal(item))


def parse_query(query: str | None) -> Predicate:
    """A predicate over file resources; an empty query matches everything."""
    if not query or not query.strip():
        return lambda item: True
    parser = _Parser(tokenize(query))
    predicate = parser.expression()
    if parser.peek() is not None:
        raise ValueError(f"Invalid query: unexpected {parser.peek()!r}")
    return predicate
