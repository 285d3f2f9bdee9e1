"""What a report says about itself: its study and protocol version, its data source, when the
sample was drawn, and whether the data are synthetic (then the report says so, visibly).

Nothing here is a figure: no count, no estimate; the frame's path is reduced to its file name
(a report carries no path of the machine it was made on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path, PurePath

from stikprove.reports import text

__all__ = ["ReportAbout", "about", "report_date"]

MONTHS = {
    "da": ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip


@dataclass(frozen=True)
class ReportAbout:
    """The provenance of a study's reports (see :func:`about`)."""

    study_id: str
    protocol_version: str
    """The first 12 hex digits of the protocol's SHA-256 fingerprint: a protocol is frozen
    once drawn, so its fingerprint names its version."""
    frame_name: str
    frame_version: str
    drawn: date | None
    synthetic: bool
    package_version: str

    def markdown(self, language: str = "da", today: date | None = None) -> str:
        """The provenance lines of a report, in ``language`` (``today``: the report's date)."""
        if self.synthetic:
            source = ("syntetisk registerudtræk" if language == "da"
                      else "synthetic register extract")  # fmt: skip
        else:
            source = "registerudtræk" if language == "da" else "register extract"
        fingerprint = "fingeraftryk" if language == "da" else "fingerprint"
        source = f"{source} {self.frame_name} ({fingerprint} {self.frame_version})"
        return text.provenance(
            self.study_id, self.protocol_version, source,
            report_date(today or date.today(), language),
            report_date(self.drawn, language) if self.drawn else "–", language,
            self.package_version,
        )  # fmt: skip

    def notice_html(self, language: str = "da") -> str:
        """The synthetic-data notice as an HTML block ("" for real data)."""
        if not self.synthetic:
            return ""
        from html import escape

        return (f'<div class="stikprove-notice"><strong>'
                f"{escape(text.SYNTHETIC_NOTICE[language])}</strong></div>")  # fmt: skip


def report_date(day: date, language: str = "da") -> str:
    """A date as a reader writes it: "7. december 2026" / "7 December 2026".

    >>> report_date(date(2026, 12, 7)), report_date(date(2026, 12, 7), "en")
    ('7. december 2026', '7 December 2026')
    """
    month = MONTHS[text.check_language(language)][day.month - 1]
    return f"{day.day}. {month} {day.year}" if language == "da" else f"{day.day} {month} {day.year}"


def is_synthetic_frame(frame_path: str, store: Path) -> bool:
    """Whether the protocol's frame was made by ``stikprove synth``: its folder (the path as
    written, or resolved against the store's folder) holds the ``truth.csv`` that synth
    writes beside every synthetic frame (a register extract has none), or it lies in a
    folder named ``synthetic_data`` (the committed example). A heuristic: the store itself
    does not record where a frame came from."""
    if not frame_path:
        return False
    path = PurePath(frame_path)
    if "synthetic_data" in path.parts:
        return True
    candidates = [Path(path)] if path.is_absolute() else [store.parent / path]
    return any((candidate.parent / "truth.csv").is_file() for candidate in candidates)


def about(study_path: str | Path) -> ReportAbout:
    """The provenance of the study store at ``study_path`` (its current round), read once
    per process while the file is unchanged (a batch of 98 reports reads it once)."""
    study_path = Path(study_path).resolve()
    return _about(str(study_path), study_path.stat().st_mtime)


@lru_cache(maxsize=4)
def _about(path: str, mtime: float) -> ReportAbout:
    from stikprove.store import open_study

    study_path = Path(path)
    study = open_study(study_path)
    rounds = study.rounds()
    last = rounds.iloc[-1]
    metadata = json.loads(last["metadata"]) if isinstance(last["metadata"], str) else {}
    drawn_at = str(metadata.get("drawn_at", ""))[:10]
    try:
        drawn = date.fromisoformat(drawn_at)
    except ValueError:
        drawn = None
    frame = str(study.protocol.frame_path)  # resolved against the study's folder
    return ReportAbout(
        study_id=study.study_id,
        protocol_version=str(last["protocol_fingerprint"])[:12],
        frame_name=PurePath(frame).name or "–",
        frame_version=str(last["frame_fingerprint"])[:12],
        drawn=drawn,
        synthetic=is_synthetic_frame(frame, study_path),
        package_version=str(metadata.get("package_version", "")),
    )
