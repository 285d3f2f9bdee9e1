"""One detector for CPR-like numbers, used wherever text enters stikprove, and the mask every
message that shows a value goes through.

A CPR number is DDMMYY-SSSS: a date of birth and four digits. It turns up in a register
extract, a note or a name in many forms, and every one of them is found here:

- ``010190-1234``, ``0101901234``: with or without the dash;
- ``010190 1234``, ``010190\\u00a01234`` (a non-breaking space, as Excel and Word insert),
  ``010190.1234``, ``010190 - 1234``, ``01.01.90-1234``, ``01 01 90 1234``: any spacing,
  dots, slashes or dashes (hyphen, non-breaking hyphen, en or em dash, minus sign) between
  the day, month, year and serial number, at most three such characters at each place;
- ``CPR: 010190-1234``, ``cpr-nr.0101901234``, ``Borger med cpr 010190-1234 ringede``:
  behind a prefix or anywhere inside longer text;
- ``101901234``: nine digits, a CPR whose leading zero a spreadsheet dropped when it stored
  the number as a number (so the day is 1 to 9);
- a replacement number (*erstatningspersonnummer*), whose day is the day of birth plus 60.

A decimal number is not CPR-like: one decimal point or comma inside the date part and no
other separator (``3011.358353``, a value a table prints) is not a form a CPR number is
written in.

The first six digits must form a date DDMMYY (29 February only in years divisible by 4);
the modulus-11 check is not required, because many CPR numbers issued since 2007 fail it.
A CPR-like number is not glued to a digit or a hexadecimal letter (a-f) on either side, so a
longer run of digits (an amount, a phone number with country code, a timestamp) and a
hexadecimal pseudonymous ``case_id`` never match, however many digits they hold; a prefix
such as ``CPR`` or ``pnr`` ends in a letter outside a-f and does not stop a match.

Written by hand: no maintained library finds Danish CPR numbers inside free text (the
``python-stdnum`` module ``dk.cpr`` validates a whole value in one form only).

>>> contains_cpr("CPR: 010190 1234"), contains_cpr("Ring til 0101901234 i morgen")
(True, True)
>>> contains_cpr("101901234"), contains_cpr("9999991234"), contains_cpr("a3f0101901234bc9")
(True, False, False)
>>> mask_cpr("case 01.01.90-1234 was refused")
'case [CPR-like number hidden] was refused'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

MASK = "[CPR-like number hidden]"
"""What a CPR-like number is replaced by in a message."""

_SEP = r"(?:[\s\-‐‑‒–—−./]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\t){0,3}"
"""Between the parts: up to three spaces (any Unicode space: NBSP, thin space, ...), dashes,
dots or slashes, or such a character as ``repr`` escapes it (``\\xa0``), so that a message
quoting a value with ``!r`` is masked too."""
_NOT_BEFORE = r"(?<![0-9A-Fa-f])"
_NOT_AFTER = r"(?![0-9A-Fa-f])"
_TEN = re.compile(
    _NOT_BEFORE
    + rf"(?P<day>\d\d)(?P<s1>{_SEP})(?P<month>\d\d)(?P<s2>{_SEP})(?P<year>\d\d)"
    + rf"(?P<s3>{_SEP})(?P<serial>\d{{4}})"
    + _NOT_AFTER
)
_NINE = re.compile(_NOT_BEFORE + r"(?P<day>[1-9])(?P<month>\d\d)(?P<year>\d\d)\d{4}" + _NOT_AFTER)
_DIGIT = re.compile(r"\d")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def valid_birth_date(day: int, month: int, year: int) -> bool:
    """Is DD/MM/YY a date a CPR number can start with (a replacement number's day is the
    day plus 60)? 29 February only in years divisible by 4.

    >>> valid_birth_date(29, 2, 0), valid_birth_date(29, 2, 1), valid_birth_date(61, 1, 90)
    (True, False, True)
    """
    if day > 60:
        day -= 60
    if not 1 <= month <= 12 or day < 1:
        return False
    if month == 2 and day == 29:
        return year % 4 == 0
    return day <= _DAYS_IN_MONTH[month - 1]


def find_cpr(text: object) -> Iterator[re.Match[str]]:
    """Each CPR-like number in ``text``, as a regex match (nothing for a non-string).

    Overlapping candidates are all tried, so a date-less run such as ``999999 0101901234``
    still yields the CPR-like number at its end.
    """
    if not isinstance(text, str) or len(text) < 9 or not _DIGIT.search(text):
        return
    if len(_DIGIT.findall(text)) < 9:
        return
    for pattern in (_TEN, _NINE):
        position = 0
        while (match := pattern.search(text, position)) is not None:
            date = int(match["day"]), int(match["month"]), int(match["year"])
            if valid_birth_date(*date) and not _decimal_number(match):
                yield match
                position = match.end()
            else:
                position = match.start() + 1


def _decimal_number(match: re.Match[str]) -> bool:
    """Is the match a decimal number rather than a CPR number: one decimal point or comma,
    inside the date and no other separator (``3011.358353``, ``1012,409880``)? Nobody writes
    a CPR number so; a number with that many decimals is common in a table."""
    separators = [match.groupdict().get(name) or "" for name in ("s1", "s2", "s3")]
    return separators[2] == "" and sorted(separators[:2]) in (["", "."], ["", ","])


def contains_cpr(text: object) -> bool:
    """Does ``text`` hold a CPR-like number anywhere (see the module docstring)?"""
    return next(find_cpr(text), None) is not None


def mask_cpr(text: str) -> str:
    """``text`` with each CPR-like number replaced by :data:`MASK`."""
    spans = sorted({m.span() for m in find_cpr(text)})
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        if start < last:  # overlaps a span already masked
            start = last
        out.append(text[last:start])
        if end > start:
            out.append(MASK)
        last = max(last, end)
    out.append(text[last:])
    return "".join(out)


def masked_repr(value: object) -> str:
    """``repr(value)`` with any CPR-like number masked: how a message shows a value. (The
    value is masked before ``repr`` escapes a non-breaking space inside it.)"""
    if isinstance(value, str):
        return repr(mask_cpr(value))
    return mask_cpr(repr(value))


def cpr_positions(values: Iterable[object]) -> list[int]:
    """The positions (0-based) of the values that hold a CPR-like number; each distinct
    value is examined once, so a column of a large frame is quick."""
    values = list(values)
    verdict = {v: contains_cpr(v) for v in set(v for v in values if isinstance(v, str))}
    return [i for i, v in enumerate(values) if isinstance(v, str) and verdict[v]]


def document_texts(document: object, where: str = "") -> Iterator[tuple[str, list[str]]]:
    """Each place in a parsed document (the nested dicts and lists ``tomllib`` returns),
    ``study.title`` or ``fields.2.label.da``, with its texts: the key, and the value when
    it is a string. What a check of every key and string value walks.

    >>> list(document_texts({"study": {"title": "x", "seed": 7}}))
    [('study', ['study']), ('study.title', ['title', 'x']), ('study.seed', ['seed'])]
    """
    if isinstance(document, dict):
        items = list(document.items())
    elif isinstance(document, list):
        items = list(enumerate(document))
    else:
        return
    for key, item in items:
        place = f"{where}.{key}" if where else str(key)
        yield place, [str(key)] + ([item] if isinstance(item, str) else [])
        yield from document_texts(item, place)


def cpr_places(document: object) -> list[str]:
    """The places (``study.title``, ``fields.2.label.da``; masked) in a parsed document
    (:func:`document_texts`) whose key or text value holds a CPR-like number. A check of the
    document's lines misses a number TOML builds from escapes (``\\u0030``) or from a line
    continuation in a multi-line string; this does not.

    >>> cpr_places({"study": {"title": "sag 0101901234", "seed": 7}, "x": ["ok"]})
    ['study.title']
    """
    return [
        mask_cpr(place)
        for place, texts in document_texts(document)
        if any(contains_cpr(text) for text in texts)
    ]
