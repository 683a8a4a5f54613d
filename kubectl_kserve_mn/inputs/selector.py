"""Label selectors as kubectl and the API server read them (``-l/--selector``): a parser and a matcher.

The grammar, the lexer's quirks and every error message follow apimachinery's ``labels.Parse``
(kubernetes/apimachinery@eed236ceee2c19c2753a3d93ac0631dc20750454 pkg/labels/selector.go, the Kubernetes
1.35+ parser)::

    <selector>    ::= <requirement> | <requirement> "," <selector>
    <requirement> ::= [!] KEY [ ("in" | "notin") "(" VALUES ")" | ("=" | "==" | "!=" | ">" | "<") VALUE ]

- Whitespace (space, tab, CR, LF) separates words and is otherwise ignored: ``a in (x, y)``, ``a = b``.
- There is no quoting: a quote is an ordinary character of a word, so ``a="b"`` asks for the value
  ``"b"``, which is not a valid label value (an error, as in kubectl).
- ``in`` and ``notin`` are words where a value is expected (``a in (in)``, ``in=x``).
- Empty values are values: ``a=``, ``a in ()``, ``a in (x,)`` (the parser of Kubernetes 1.34 and older
  refuses ``(x,,)``; this one, like 1.35+, reads it as ``x`` and the empty value).
- Keys must be label keys and values label values (:mod:`kubectl_kserve_mn.inputs.names`); ``>`` and ``<``
  need a decimal integer (64 bits), and match only labels whose value is one.
- ``!a`` is "has no label a"; ``a!=b`` and ``a notin (b)`` also match objects without the label ``a``.

A malformed selector raises :class:`SelectorError` with ``labels.Parse``'s message, e.g.
``unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from kubectl_kserve_mn.inputs.kube_wording import go_quote
from kubectl_kserve_mn.inputs.names import label_key_errors, label_value_errors


class SelectorError(ValueError):
    """A selector ``labels.Parse`` refuses; the message is its message."""


class _Tok(enum.Enum):
    END = "end of string"
    CLOSE = ")"
    COMMA = ","
    NOT = "!"
    DOUBLE_EQUALS = "=="
    EQUALS = "="
    GREATER = ">"
    IDENT = "identifier"
    IN = "in"
    LESS = "<"
    NOT_EQUALS = "!="
    NOT_IN = "notin"
    OPEN = "("


_LITERALS = {
    ")": _Tok.CLOSE,
    ",": _Tok.COMMA,
    "!": _Tok.NOT,
    "==": _Tok.DOUBLE_EQUALS,
    "=": _Tok.EQUALS,
    ">": _Tok.GREATER,
    "in": _Tok.IN,
    "<": _Tok.LESS,
    "!=": _Tok.NOT_EQUALS,
    "notin": _Tok.NOT_IN,
    "(": _Tok.OPEN,
}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")

IN = "in"
NOT_IN = "notin"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
GREATER_THAN = "gt"
LESS_THAN = "lt"
EXISTS = "exists"
DOES_NOT_EXIST = "!"
_BINARY = {
    _Tok.IN: IN,
    _Tok.NOT_IN: NOT_IN,
    _Tok.EQUALS: EQUALS,
    _Tok.DOUBLE_EQUALS: DOUBLE_EQUALS,
    _Tok.NOT_EQUALS: NOT_EQUALS,
    _Tok.GREATER: GREATER_THAN,
    _Tok.LESS: LESS_THAN,
}
_BINARY_NAMES = ", ".join([IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN])
_INT64 = (-(2**63), 2**63 - 1)


def _lex(text: str) -> list[tuple[_Tok, str]]:
    """The tokens of ``text`` (the ``Lexer``): words end at whitespace or a special character; special
    characters join while they still spell an operator (``!=``, ``==``)."""
    tokens: list[tuple[_Tok, str]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _WHITESPACE:
            pos += 1
        if pos == end:
            tokens.append((_Tok.END, ""))
            return tokens
        if text[pos] in _SPECIAL:
            literal = text[pos]
            pos += 1
            while pos < end and text[pos] in _SPECIAL and literal + text[pos] in _LITERALS:
                literal += text[pos]
                pos += 1
            tokens.append((_LITERALS[literal], literal))
            continue
        start = pos
        while pos < end and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
            pos += 1
        word = text[start:pos]
        tokens.append((_LITERALS.get(word, _Tok.IDENT), word))


def _invalid(field: str, value: str, details: list[str]) -> str:
    """apimachinery's ``field.Invalid(...).Error()``."""
    return f"{field}: Invalid value: {go_quote(value)}: {'; '.join(details)}"


def _int64(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 10, 64)``, None where it fails."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    value = int(text)
    return value if _INT64[0] <= value <= _INT64[1] else None


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...]
    """Sorted and without repeats, as ``labels.Parse`` keeps them."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        """``Requirement.Matches``: ``in``/``=``/``==`` need the label; ``notin``/``!=`` also match without it."""
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in (IN, EQUALS, DOUBLE_EQUALS):
            return present and value in self.values
        if self.operator in (NOT_IN, NOT_EQUALS):
            return not present or value not in self.values
        if self.operator == EXISTS:
            return present
        if self.operator == DOES_NOT_EXIST:
            return not present
        number = _int64(value) if isinstance(value, str) else None
        limit = _int64(self.values[0]) if len(self.values) == 1 else None
        if number is None or limit is None:
            return False
        return number > limit if self.operator == GREATER_THAN else number < limit

    def __str__(self) -> str:
        """``Requirement.String``: ``!a``, ``a``, ``a=b``, ``a in (x,y)``."""
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        if self.operator == EXISTS:
            return self.key
        joined = ",".join(self.values)
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({joined})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{joined}"


@dataclass(frozen=True)
class Selector:
    """A parsed selector: every requirement must match (an empty selector matches everything)."""

    text: str
    """What the user typed, stripped: sent to the API server as ``labelSelector`` unchanged, as kubectl does."""
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        found = labels or {}
        return all(r.matches(found) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _requirement(key: str, operator: str, values: list[str]) -> Requirement:
    """``NewRequirement``: values sorted and unique, each a label value (and an integer for ``>``/``<``)."""
    ordered = sorted(set(values))
    problems: list[str] = []
    if operator in (GREATER_THAN, LESS_THAN):
        problems += [
            _invalid(f"values[{i}]", value, ["for 'Gt', 'Lt' operators, the value must be an integer"])
            for i, value in enumerate(ordered)
            if _int64(value) is None
        ]
    for i, value in enumerate(ordered):
        errors = label_value_errors(value)
        if errors:
            problems.append(_invalid(f"values[{i}][{key}]", value, errors))
    unique = list(dict.fromkeys(problems))
    if unique:
        raise SelectorError(unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]")
    return Requirement(key, operator, tuple(ordered))


class _Parser:
    """``labels.Parser``: a recursive descent over the tokens; ``in``/``notin`` read as words where a
    value (or a key) is expected."""

    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.position = 0

    def _peek(self, values: bool = True) -> tuple[_Tok, str]:
        tok, literal = self.tokens[self.position]
        return (_Tok.IDENT, literal) if values and tok in (_Tok.IN, _Tok.NOT_IN) else (tok, literal)

    def _take(self, values: bool = True) -> tuple[_Tok, str]:
        found = self._peek(values)
        self.position += 1
        return found

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, literal = self._peek()
            if tok == _Tok.END:
                return requirements
            if tok not in (_Tok.IDENT, _Tok.NOT):
                raise SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self._requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            tok, literal = self._take()
            if tok == _Tok.END:
                return requirements
            if tok != _Tok.COMMA:
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            tok, literal = self._peek()
            if tok not in (_Tok.IDENT, _Tok.NOT):
                raise SelectorError(f"found '{literal}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        negated = False
        tok, literal = self._take()
        if tok == _Tok.NOT:
            negated = True
            tok, literal = self._take()
        if tok != _Tok.IDENT:
            raise SelectorError(f"found '{literal}', expected: identifier")
        key = literal
        errors = label_key_errors(key)
        if errors:
            raise SelectorError(_invalid("<nil>", key, errors))
        if negated:
            return Requirement(key, DOES_NOT_EXIST, ())
        if self._peek()[0] in (_Tok.END, _Tok.COMMA):
            return Requirement(key, EXISTS, ())
        tok, literal = self._take(values=False)
        operator = _BINARY.get(tok)
        if operator is None:
            raise SelectorError(f"found '{literal}', expected: {_BINARY_NAMES}")
        values = self._values() if operator in (IN, NOT_IN) else [self._exact_value()]
        return _requirement(key, operator, values)

    def _values(self) -> list[str]:
        tok, literal = self._take()
        if tok != _Tok.OPEN:
            raise SelectorError(f"found '{literal}' expected: '('")
        tok, literal = self._peek()
        if tok == _Tok.CLOSE:
            self._take()
            return [""]
        if tok not in (_Tok.IDENT, _Tok.COMMA):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self._identifiers()
        self._take()  # the ")" that ended the list
        return values

    def _identifiers(self) -> list[str]:
        """``parseIdentifiersList``: words between commas; an empty place (``(,x)``, ``(x,)``, ``(x,,y)``)
        is the empty value. Returns with the ``)`` still to be taken."""
        values: list[str] = []
        while True:
            tok, literal = self._take()
            if tok == _Tok.IDENT:
                values.append(literal)
                after, after_literal = self._peek()
                if after == _Tok.COMMA:
                    continue
                if after == _Tok.CLOSE:
                    return values
                raise SelectorError(f"found '{after_literal}', expected: ',' or ')'")
            if tok == _Tok.COMMA:
                if not values:
                    values.append("")
                after = self._peek()[0]
                if after == _Tok.CLOSE:
                    values.append("")
                    return values
                if after == _Tok.COMMA:
                    values.append("")
                continue
            raise SelectorError(f"found '{literal}', expected: ',', or identifier")

    def _exact_value(self) -> str:
        if self._peek()[0] in (_Tok.END, _Tok.COMMA):
            return ""
        tok, literal = self._take()
        if tok == _Tok.IDENT:
            return literal
        raise SelectorError(f"found '{literal}', expected: identifier")


def parse(text: str) -> Selector:
    """``labels.Parse(text)``; :class:`SelectorError` with its message when ``text`` is not a selector.
    Requirements are kept in key order (``labels.Parse`` sorts them so that equal selectors print alike)."""
    requirements = _Parser(text).parse()
    ordered = sorted(requirements, key=lambda r: r.key)
    return Selector(text.strip(), tuple(ordered))


def labels_of(obj: Mapping[str, object]) -> dict[str, str]:
    """An object's ``metadata.labels`` as strings ({} when it has none)."""
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    if not isinstance(labels, Mapping):
        return {}
    return {str(k): str(v) for k, v in labels.items() if isinstance(v, str)}
