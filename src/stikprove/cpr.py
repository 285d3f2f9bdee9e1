"""One detector for CPR-like numbers, used wherever text enters stikprove, and the mask every
message that shows a value goes through.

A CPR number is DDMMYY-SSSS: a date of birth and four digits. It turns up in a register
extract, a note or a name in many forms, and every one of them is found here:

- ``010190-1234``, ``0101901234``: with or without the dash;
- ``010190 1234``, ``010190.1234``, ``010190_1234``, ``010190,1234``, ``010190:1234``,
  ``010190+1234``, ``010190 -- 1234``, ``01.01.90-1234``: any run of characters that are
  neither letters nor digits (spaces of every kind, dashes, dots, slashes, underscores,
  commas, colons, plus signs, line breaks) between any two digits, so also digits spaced
  one by one (``0 1 0 1 9 0 1 2 3 4``);
- ``01-01-1990-1234``, ``01011990 1234``: the year written with four digits (1858 to
  2099), when the year and the serial number are each a group of their own;
- the text is normalised first: Unicode's compatibility forms (NFKC: a fullwidth hyphen
  ``－`` or fullwidth digits become their plain forms) and invisible format characters
  (a zero-width space ``\\u200b``, a soft hyphen, a byte-order mark) removed;
- ``CPR: 010190-1234``, ``cpr-nr.0101901234``, ``Borger med cpr 010190-1234 ringede``:
  behind a prefix or anywhere inside longer text;
- ``101901234``: nine digits, a CPR whose leading zero a spreadsheet dropped when it stored
  the number as a number (so the day is 1 to 9);
- a replacement number (*erstatningspersonnummer*), whose day is the day of birth plus 60.

Written the way it is found: the digits of the text form groups (maximal runs of
digits); groups with only separators between them form a run; a CPR-like number is one
or more whole consecutive groups of a run with ten digits (or one group of nine) whose
first six form a date DDMMYY (29 February only in years divisible by 4; the modulus-11
check is not required, because many CPR numbers issued since 2007 fail it), or twelve
digits with a four-digit year as above.

What is not CPR-like, though it has ten digits:

- a longer run of digits (an amount, a phone number with country code, a timestamp): the
  number must be whole groups, so it is never a piece of a longer group;
- a hexadecimal pseudonymous ``case_id``: a number glued to a hexadecimal letter (a-f) is
  not one; a prefix such as ``CPR`` or ``pnr`` ends in a letter outside a-f and does not
  stop a match;
- a decimal number as a table prints it: two groups split by one decimal point or comma
  anywhere but after the sixth digit (``3011.358353``; ``010190.1234`` is a CPR form), a
  part longer than four digits after a decimal point (``12:01:03.123456``), the fraction of
  a number (``0.1012409880``), or an integer with a fraction that is not zero
  (``1012409880.25``; ``0101901234.0`` is a CPR a spreadsheet read as a number);
- a number grouped in thousands (``1.012.409.880``, ``1 012 409 880``).

Written by hand: no maintained library finds Danish CPR numbers inside free text (the
``python-stdnum`` module ``dk.cpr`` validates a whole value in one form only).

>>> contains_cpr("CPR: 010190 1234"), contains_cpr("Ring til 0101901234 i morgen")
(True, True)
>>> contains_cpr("101901234"), contains_cpr("9999991234"), contains_cpr("a3f0101901234bc9")
(True, False, False)
>>> contains_cpr("010190\\u200b1234"), contains_cpr("0 1 0 1 9 0 1 2 3 4")
(True, True)
>>> mask_cpr("case 01.01.90-1234 was refused")
'case [CPR-like number hidden] was refused'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MASK = "[CPR-like number hidden]"
"""What a CPR-like number is replaced by in a message."""

_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[tnrfv])")
"""A character as ``repr`` escapes it (``\\xa0``, ``\\u200b``, ``\\t``): read as a separator,
so that a message quoting a value with ``!r`` is masked too."""
_GROUP = re.compile(r"\d+")
_HEX_LETTER = frozenset("abcdefABCDEF")
_DECIMAL_POINT = frozenset({".", ","})
_THOUSANDS = frozenset({".", ",", " ", "'", "’"})
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


@dataclass(frozen=True)
class CprMatch:
    """One CPR-like number in a text: where it is in the text as given (``start()``,
    ``end()``, ``group()``, as a regex match has them), and its ``digits`` (nine or ten
    ASCII digits, whatever form they were written in)."""

    text: str
    begin: int
    finish: int
    digits: str

    def start(self) -> int:
        return self.begin

    def end(self) -> int:
        return self.finish

    def span(self) -> tuple[int, int]:
        return self.begin, self.finish

    def group(self) -> str:
        return self.text[self.begin : self.finish]


def normalized(text: str) -> tuple[str, list[int] | None]:
    """``text`` as the detector reads it, and for each of its characters the position in
    ``text`` it comes from (None: the same positions). NFKC per character, format
    characters (Unicode category Cf: zero-width spaces, soft hyphens) left out, and a
    character as ``repr`` escapes it read as one space.

    >>> normalized("01\\u200b02－03")[0]
    '0102-03'
    """
    if text.isascii() and "\\" not in text:
        return text, None
    out: list[str] = []
    origin: list[int] = []
    i = 0
    while i < len(text):
        escape = _ESCAPE.match(text, i) if text[i] == "\\" else None
        if escape is not None:
            out.append(" ")
            origin.append(i)
            i = escape.end()
            continue
        char = text[i]
        if char.isascii():
            out.append(char)
            origin.append(i)
        elif unicodedata.category(char) != "Cf":
            for part in unicodedata.normalize("NFKC", char):
                if unicodedata.category(part) != "Cf":
                    out.append(part)
                    origin.append(i)
        i += 1
    return "".join(out), origin


def find_cpr(text: object) -> Iterator[CprMatch]:
    """Each CPR-like number in ``text`` (nothing for a non-string), as a :class:`CprMatch`
    in the text as given. Overlapping candidates are all tried, so a date-less run such as
    ``999999 0101901234`` still yields the CPR-like number at its end."""
    if not isinstance(text, str) or len(text) < 9:
        return
    norm, origin = normalized(text)
    groups = list(_GROUP.finditer(norm))
    if sum(len(g.group()) for g in groups) < 9:
        return
    for run in _runs(norm, groups):
        for first in range(len(run)):
            digits = ""
            for last in range(first, len(run)):
                digits += _ascii_digits(run[last].group())
                if len(digits) > 12:
                    break
                cpr = _cpr_like(norm, run, first, last, digits)
                if cpr is not None:
                    begin, end = run[first].start(), run[last].end()
                    if origin is not None:
                        begin, end = origin[begin], origin[end - 1] + 1
                    yield CprMatch(text, begin, end, cpr)


def _ascii_digits(group: str) -> str:
    return group if group.isascii() else "".join(str(unicodedata.digit(c)) for c in group)


def _breaks(char: str) -> bool:
    """Does ``char`` end a run of digit groups: a letter, or a control character other
    than white space (bytes read as text, never a separator anyone types)?"""
    return char.isalnum() or (unicodedata.category(char) == "Cc" and not char.isspace())


def _runs(norm: str, groups: list[re.Match[str]]) -> Iterator[list[re.Match[str]]]:
    """The groups of digits in runs: consecutive groups with no letter, digit or control
    character between."""
    run: list[re.Match[str]] = []
    for group in groups:
        if run and any(_breaks(c) for c in norm[run[-1].end() : group.start()]):
            yield run
            run = []
        run.append(group)
    if run:
        yield run


def _gap(norm: str, run: list[re.Match[str]], index: int) -> str:
    """The separators before group ``index`` of the run."""
    return norm[run[index - 1].end() : run[index].start()]


def _cpr_like(
    norm: str, run: list[re.Match[str]], first: int, last: int, digits: str
) -> str | None:
    """The CPR-like number (nine or ten digits) that groups ``first`` to ``last`` of the run
    form, or None."""
    if len(digits) == 9:
        if first != last or digits[0] == "0":
            return None
        date = int(digits[0]), int(digits[1:3]), int(digits[3:5])
    elif len(digits) == 10:
        date = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    elif len(digits) == 12:
        # a four-digit year: the serial a group of four, the year ending the group before
        if first == last or len(run[last].group()) != 4 or len(run[last - 1].group()) < 4:
            return None
        year = int(digits[4:8])
        if not 1858 <= year <= 2099 or (year % 100 == 0 and year % 400 != 0 and
                                        digits[:4] == "2902"):  # fmt: skip
            return None
        digits = digits[:4] + digits[6:]
        date = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    else:
        return None
    begin, end = run[first].start(), run[last].end()
    if (begin > 0 and norm[begin - 1] in _HEX_LETTER) or (
        end < len(norm) and norm[end] in _HEX_LETTER
    ):
        return None
    if not valid_birth_date(*date) or _a_number(norm, run, first, last):
        return None
    return digits


def _a_number(norm: str, run: list[re.Match[str]], first: int, last: int) -> bool:
    """Is the candidate (groups ``first`` to ``last`` of the run) part of a number as a
    table prints it (a decimal number, a fraction, thousands grouped), a date and time, or
    digits spaced unevenly?"""
    parts = [run[i].group() for i in range(first, last + 1)]
    gaps = [_gap(norm, run, i) for i in range(first + 1, last + 1)]
    if len(parts) == 1:
        before = _gap(norm, run, first) if first > 0 else ""
        after = _gap(norm, run, last + 1) if last + 1 < len(run) else ""
        fraction_of_a_number = before in _DECIMAL_POINT
        with_a_fraction = after in _DECIMAL_POINT and run[last + 1].group().strip("0") != ""
        return fraction_of_a_number or with_a_fraction
    if len(parts) == 2 and gaps[0] in _DECIMAL_POINT and len(parts[0]) != 6:
        return True  # 3011.358353
    if any(g in _DECIMAL_POINT and len(p) > 4 for g, p in zip(gaps, parts[1:], strict=True)):
        return True  # 01:02:03.123456
    if any(g.strip() == ":" and len(a) <= 2 and len(b) <= 2
           for g, a, b in zip(gaps, parts, parts[1:], strict=False)):  # fmt: skip
        return True  # a clock time: 2026-12-07 05:01:02
    ends = [sum(len(p) for p in parts[: i + 1]) for i in range(len(parts))]
    if len(parts) > 4:
        # digits spaced finer than DD MM YY SSSS: evenly within the date and within the
        # serial number (0 1 0 1 9 0 - 1 2 3 4), never as a pattern or a row of numbers
        # ([0-9][0-9], 2017-03-01,0.0,1.0)
        date_gaps = {g for g, end in zip(gaps, ends, strict=False) if end < 6}
        serial_gaps = {g for g, end in zip(gaps, ends, strict=False) if end > 6}
        if len(date_gaps) > 1 or len(serial_gaps) > 1:
            return True
    straddling = next(i for i, end in enumerate(ends) if end > 6)
    if (ends[-1] < 12 and ends[straddling] - len(parts[straddling]) < 6
            and straddling != len(parts) - 1):  # fmt: skip
        return True  # the year runs into the serial, which goes on: 12-07-2005 01:02
    thousands = (
        len(set(gaps)) == 1
        and gaps[0] in _THOUSANDS
        and 1 <= len(parts[0]) <= 3
        and all(len(p) == 3 for p in parts[1:])
    )
    return thousands


def contains_cpr(text: object) -> bool:
    """Does ``text`` hold a CPR-like number anywhere (see the module docstring)?"""
    return next(find_cpr(text), None) is not None


def mask_cpr(text: str) -> str:
    """``text`` with each CPR-like number replaced by :data:`MASK` (again until none is
    left: what masking leaves beside a mask is checked once more)."""
    while True:
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
        text = "".join(out)


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
