"""Errors raised by stikprove.

Every error a user can cause derives from :class:`StikproveError`, and its message names
what was given and what was expected (the file, row, column and value where there is one).
:class:`StikproveError` is a ``ValueError``, so callers used to scipy and statsmodels catch
bad input with ``except ValueError`` as they do there.
The command line prints the message and exits with status 2 (:data:`EXIT_USAGE`).
A message never shows a CPR-like number: :class:`StikproveError` masks every one
(:func:`stikprove.cpr.mask_cpr`), whatever value a message quotes.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass

from stikprove.cpr import contains_cpr, mask_cpr, masked_repr

EXIT_USAGE = 2
"""Exit status of the command line for bad input (a StikproveError)."""


class StikproveError(ValueError):
    """Base class of every error stikprove raises on bad input or a refused operation (a
    ``ValueError``: the input's value is what is wrong). Its message has every CPR-like
    number masked."""

    def __str__(self) -> str:
        return mask_cpr(super().__str__())


class FrameError(StikproveError):
    """The frame (register extract) cannot be loaded or fails validation."""


class PrivacyError(StikproveError):
    """An operation would expose personal data (CPR numbers, case ids, small cells)."""


class ProtocolError(StikproveError):
    """A study protocol is missing keys, has wrong values or does not fit the frame."""


class DesignError(StikproveError):
    """A sample size or allocation cannot be computed as asked."""


class SamplingError(StikproveError):
    """A sample cannot be drawn as asked (or drawing again is refused)."""


class StoreError(StikproveError):
    """The study store is missing, foreign, corrupt or refuses an operation."""


class ImportRowsError(StoreError):
    """A worklist import was refused; nothing was written. ``problems`` lists every row at fault."""


class EstimationError(StikproveError):
    """An estimate was asked for with bad input: a missing column, a value that is not an
    outcome, an unknown method, a confidence level outside (0, 1), ... (the message names it).
    Its subclass :class:`NotEstimableError` is the other case: valid input, nothing to
    estimate from."""


class NotEstimableError(EstimationError):
    """The input is valid, but the estimate cannot be computed here: a domain or group with
    no case with an outcome, an outcome with a single value where a test needs both, or a
    design that gives no variance (every stratum a census, single-case strata). Reports show
    such a table as empty; bad input is an :class:`EstimationError` and is not caught."""


class MissingFileError(StikproveError, FileNotFoundError):
    """A file stikprove was asked to read is not there: also a ``FileNotFoundError``, as
    ``open`` raises, besides the error of its step (the classes below)."""


class MissingFrameError(FrameError, MissingFileError):
    """The frame file (the register extract) is not there."""


class MissingProtocolFileError(ProtocolError, MissingFileError):
    """A file a protocol names (its frame) is not there."""


class MissingStudyError(StoreError, MissingFileError):
    """The study store file is not there."""


class MissingKeyError(PrivacyError, MissingFileError):
    """The pseudonymisation key file is not there."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a tabular input: where it is and what was expected."""

    row: int | None
    """1-based row number as the user sees it in the file (header is row 1), or None."""
    column: str | None
    value: object
    expected: str
    sheet: str | None = None

    def __str__(self) -> str:
        where = []
        if self.sheet is not None:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        place = ", ".join(where) if where else "input"
        got = "an empty cell" if self.value is None else masked_repr(self.value)
        return f"{place}: got {got}, expected {mask_cpr(self.expected)}"


def format_problems(header: str, problems: list[Problem], limit: int = 20) -> str:
    """A message listing at most ``limit`` problems and the total count."""
    lines = [f"{header}: {len(problems)} problem(s)"]
    lines += [f"  - {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more (showing the first {limit})")
    return "\n".join(lines)


_OS_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space and run the command again",
    errno.EDQUOT: "the disk quota is used up: free some space and run the command again",
    errno.EFBIG: "the file is larger than this system allows (or the disk is full)",
    errno.EROFS: "the file system is read-only: write to another folder",
    errno.EACCES: "permission denied: write to a folder you may write in, or ask its owner",
    errno.EPERM: "permission denied: write to a folder you may write in, or ask its owner",
    errno.EISDIR: "it is a folder: expected a file name",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOENT: "no such file or folder",
}


def os_error_text(error: OSError) -> str:
    """An operating-system error in one line: the file, what happened and what to do
    (stikprove writes files atomically, so none is left half-written). CPR-like numbers masked."""
    # a rename names the temporary file first and the destination second: show the latter
    name = next((n for n in (error.filename2, error.filename) if n is not None), "(file)")
    what = _OS_ADVICE.get(error.errno or -1, error.strerror or str(error))
    return mask_cpr(f"{name}: {what} (no file was left half-written)")


def did_you_mean(given: object, known: Sequence[str]) -> str:
    """" (did you mean 'ja'?)" for the known name closest to ``given`` (the same name in
    other case first, then difflib's closest), or "" when none is close. For the messages
    of every name a user types: outcomes, indicators, codes, kommune codes, columns.

    >>> did_you_mean("Ja", ["ja", "nej"]), did_you_mean("too_il", ["too_ill"]), did_you_mean("x", ["ja"])
    (" (did you mean 'ja'?)", " (did you mean 'too_ill'?)", '')
    """  # noqa: E501
    import difflib

    text = str(given).strip()
    if contains_cpr(text):
        return ""
    names = [str(k) for k in known]
    same = [k for k in names if k.casefold() == text.casefold()]
    close = same or difflib.get_close_matches(text, names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
