"""CloudWatch Logs JSON filter patterns (`{ ($.eventName = X) || ... }`), parsed and evaluated against events.

Why: whether a metric filter still watches what CIS asks for is a question about the events it matches, not about
its text. A misspelled event name (`DeleteTrial`) leaves a pattern that parses, deploys and never fires; only
evaluating it against a sample of the events it must match shows that. No library evaluates these patterns
(moto's logs backend leaves JSON patterns unsupported), so this is the subset our filters use, per the AWS
"Filter pattern syntax" page:

- a pattern is `{ expression }`; `&&` binds tighter than `||`; parentheses group;
- a comparison is `$.a.b = value` or `!=`, with a quoted or bare value in which `*` is a wildcard at its start or
  end only (`*Event`, `Event*`, `*`; AWS: "Ev*ent will only match the actual string Ev*ent"), a numeric
  comparison `$.n > 3` (`=`, `!=`, `<`, `<=`, `>`, `>=` on numbers), `$.a NOT EXISTS` / `$.a EXISTS`, or
  `$.flag IS TRUE` / `IS FALSE` (a JSON boolean) / `$.a IS NULL` (a JSON null);
- `=` never matches a field the event lacks; `!=` matches one (an absent MFA flag is not "Yes").

Anything else is a `PatternError`: an unparseable pattern matches nothing, which a rule reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Event = Mapping[str, Any]
Matcher = Callable[[Event], bool]

_TOKEN = re.compile(r'\s*(?:(?P<op>\|\||&&|!=|<=|>=|=|<|>|\(|\))|(?P<sel>\$(?:\.[A-Za-z0-9_@-]+)+)'
                    r'|(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()|&=!<>"]+))')
_MISSING = object()
# `$.a IS TRUE` / `IS FALSE` / `IS NULL`: the JSON literal itself (a string "true" is not a boolean).
_LITERALS: dict[str, bool | None] = {"TRUE": True, "FALSE": False, "NULL": None}


class PatternError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise PatternError(f"cannot read the pattern at {text[position:position + 20]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _field(event: Event, selector: str) -> Any:
    current: Any = event
    for part in selector.split(".")[1:]:
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _equals(actual: Any, value: str, quoted: bool) -> bool:
    if actual is _MISSING or actual is None or isinstance(actual, (Mapping, list)):
        return False
    if isinstance(actual, bool):
        return str(actual).lower() == value
    if isinstance(actual, (int, float)) and not quoted and (number := _number(value)) is not None:
        return float(actual) == number
    return _wildcard_equals(str(actual), value)


def _wildcard_equals(actual: str, value: str) -> bool:
    """`*` at the start and/or end of `value` matches any text there; anywhere else it is a literal asterisk."""
    if value == "*":
        return True
    leading, trailing = value.startswith("*"), value.endswith("*")
    core = value[1 if leading else 0: len(value) - 1 if trailing else len(value)]
    if leading and trailing:
        return core in actual
    if leading:
        return actual.endswith(core)
    if trailing:
        return actual.startswith(core)
    return actual == value


def _comparison(selector: str, operator: str, value: str, quoted: bool) -> Matcher:
    if operator == "=":
        return lambda event: _equals(_field(event, selector), value, quoted)
    if operator == "!=":
        return lambda event: not _equals(_field(event, selector), value, quoted)
    bound = _number(value)
    if bound is None or quoted:
        raise PatternError(f"{selector} {operator} {value}: a numeric comparison needs a number")
    tests: dict[str, Callable[[float], bool]] = {"<": lambda n: n < bound, "<=": lambda n: n <= bound,
                                                 ">": lambda n: n > bound, ">=": lambda n: n >= bound}

    def compare(event: Event) -> bool:
        actual = _field(event, selector)
        return isinstance(actual, (int, float)) and not isinstance(actual, bool) and tests[operator](float(actual))

    return compare


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.at = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (text and token[1].upper() != text):
            raise PatternError(f"expected {text or kind} but found {token[1] if token else 'the end'}")
        self.at += 1
        return token

    def expression(self) -> Matcher:
        branches = [self.conjunction()]
        while self.peek() == ("op", "||"):
            self.take()
            branches.append(self.conjunction())
        return branches[0] if len(branches) == 1 else (lambda event: any(b(event) for b in branches))

    def conjunction(self) -> Matcher:
        parts = [self.term()]
        while self.peek() == ("op", "&&"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda event: all(p(event) for p in parts))

    def term(self) -> Matcher:
        if self.peek() == ("op", "("):
            self.take()
            inner = self.expression()
            self.take("op", ")")
            return inner
        selector = self.take("sel")[1]
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].upper() in ("NOT", "EXISTS"):
            negated = self.take()[1].upper() == "NOT"
            if negated:
                self.take("word", "EXISTS")
            return lambda event: (_field(event, selector) is _MISSING) == negated
        if token is not None and token[0] == "word" and token[1].upper() == "IS":
            self.take()
            literal = self.take("word")[1].upper()
            if literal not in _LITERALS:
                raise PatternError(f"{selector} IS {literal}: expected TRUE, FALSE or NULL")
            expected = _LITERALS[literal]
            return lambda event: (actual := _field(event, selector)) is not _MISSING and actual is expected
        operator = self.take("op")[1]
        if operator not in ("=", "!=", "<", "<=", ">", ">="):
            raise PatternError(f"{selector} is followed by {operator!r}, not a comparison")
        kind, value = self.take()
        if kind not in ("quoted", "word"):
            raise PatternError(f"{selector} {operator} has no value")
        quoted = kind == "quoted"
        return _comparison(selector, operator, value[1:-1].replace('\\"', '"') if quoted else value, quoted)


def compile_pattern(pattern: str) -> Matcher:
    """A JSON filter pattern as a predicate on events (parsed CloudTrail records); raises PatternError."""
    text = pattern.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise PatternError("a JSON filter pattern is enclosed in { }")
    parser = _Parser(_tokens(text[1:-1]))
    matcher = parser.expression()
    if parser.peek() is not None:
        raise PatternError(f"unexpected {parser.peek()[1]!r} after a complete expression")  # type: ignore[index]
    return matcher


def matches(pattern: str, event: Event) -> bool:
    """Whether `pattern` matches `event`; a pattern that cannot be parsed matches nothing."""
    try:
        return compile_pattern(pattern)(event)
    except PatternError:
        return False
