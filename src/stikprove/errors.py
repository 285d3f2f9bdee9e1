"""Errors raised by stikprove.

Every error a user can cause derives from :class:`StikproveError`, and its message names
what was given and what was expected (the file, row, column and value where there is one).
:class:`StikproveError` is a ``ValueError``, so callers used to scipy and statsmodels catch
bad input with ``except ValueError`` as they do there.
The command line prints the message and exits with status 2 (:data:`EXIT_USAGE`).
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_USAGE = 2
"""Exit status of the command line for bad input (a StikproveError)."""


class StikproveError(ValueError):
    """Base class of every error stikprove raises on bad input or a refused operation (a
    ``ValueError``: the input's value is what is wrong)."""


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
    """An estimate cannot be computed from the data as given."""


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
        return f"{place}: got {self.value!r}, expected {self.expected}"


def format_problems(header: str, problems: list[Problem], limit: int = 20) -> str:
    """A message listing at most ``limit`` problems and the total count."""
    lines = [f"{header}: {len(problems)} problem(s)"]
    lines += [f"  - {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more (showing the first {limit})")
    return "\n".join(lines)
