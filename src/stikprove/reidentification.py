"""Re-identification: the key holder's controlled, logged step from the pseudonymous
``case_id`` of each sampled case back to the person, so that the physician can open the
person's file in the kommune's case system (docs/reidentification.md).

:func:`reidentify` recomputes the keyed pseudonym (:func:`stikprove.pseudonymization.
case_id_of`) of every row of the original register extract, matches the study's sampled
cases (or one reviewer's open cases), and writes a *lookup list*: case_id, the CPR number
and the extract columns asked for, in the worklist's order. Before anything is written:

- the key's check value must equal the one recorded at pseudonymisation (the frame's
  ``.keycheck`` file, kept with the sample by ``draw``): a wrong key is refused before the
  extract is read;
- every requested case must be found exactly once in the extract (the missing and the
  duplicated ones are listed);
- where the pseudonymised extract is a whole frame, its fingerprint
  (:func:`stikprove.frame.frame_fingerprint`) must equal the study's;
- the list is refused inside a folder that reports or exports write to (see
  :func:`forbidden_folder`), over an existing file, and under a name holding a CPR-like
  number.

The list is an xlsx workbook marked confidential in the file itself (a heading above the
table, the print header and footer, the document properties), created with mode 0600
under a temporary name and linked to its name in the same transaction that adds the
audit row (who, when, for which reviewer, how many cases, the key check value; never a
CPR number): there is no list without its audit row, and no audit row without its list.
The CPR numbers never enter the study file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stikprove.cells import append_row, save_workbook, write_sheet
from stikprove.cpr import contains_cpr
from stikprove.errors import FrameError, PrivacyError, StikproveError, StoreError
from stikprove.frame import frame_fingerprint, load_frame, read_table
from stikprove.pseudonymization import (
    case_id_of,
    key_check_value,
    normalize_cpr,
    pseudonymize,
    read_key,
)
from stikprove.store import Study, open_study
from stikprove.store.assignment import reviewer_of
from stikprove.store.schema import audit, now_utc, os_user

AUDIT_ACTION = "reidentify"
"""The audit log's ``action`` of a re-identification."""
LOOKUP_SHEET = "Opslag"
"""The sheet of the lookup list."""
HEADER_ROW = 4
"""The row of the lookup list's column names (rows 1-3: the confidentiality heading)."""
CONFIDENTIAL = "FORTROLIGT / CONFIDENTIAL"
HEADING_DA = (
    "FORTROLIGT – indeholder CPR-numre (personoplysninger, GDPR art. 9). Opbevares kun i "
    "kommunens sikre miljø; sendes aldrig med e-mail og kopieres aldrig til undersøgelsens "
    "mappe; slettes, når gennemgangen er færdig."
)
HEADING_EN = (
    "CONFIDENTIAL – holds CPR numbers (personal data, GDPR art. 9). Keep it inside the "
    "kommune's secured environment; never e-mail it or copy it to the study's folder; delete "
    "it when the review is done."
)
REPORT_FOLDER_NAME = "reports"
"""The folder ``stikprove report`` writes to by default."""
_EXPORT_HEADERS = (
    frozenset({"case_id", "population_size", "sample_size", "weight", "reviewed"}),
    frozenset({"case_id", "stratum", "reviewed_1", "reviewed_2"}),
)
"""Columns that mark a CSV written by ``stikprove export`` (the analysis table, the double
reviews); a result table (``estimate``, ``compare``, ``flag``) is known by its interval
columns (``ci_low...``, ``ci_high...``)."""
_LISTED = 20
"""Case ids listed at most in a refusal."""


@dataclass(frozen=True)
class Reidentification:
    """What :func:`reidentify` wrote (never a CPR number).

    ``fingerprint``: "matched" when the pseudonymised extract is the study's frame, else
    why it was not compared. ``key_check``: the key's check value, as in the audit row;
    ``key_checked``: what it was checked against.
    """

    path: Path
    study_id: str
    round: int
    reviewer: str | None
    cases: int
    key_check: str
    fingerprint: str
    columns: tuple[str, ...]
    key_checked: str


def reidentify(
    study: Study | str | Path,
    extract: str | Path,
    *,
    column: str,
    key_file: str | Path,
    out: str | Path,
    reviewer: str | None = None,
    columns: Sequence[str] = (),
    sheet: str | int | None = None,
    key_check_file: str | Path | None = None,
    source: str = "reidentify",
) -> Reidentification:
    """Write the lookup list ``out`` (.xlsx) of the study's sampled cases, or of
    ``reviewer``'s open cases: case_id, the CPR number (DDMMYY-SSSS, in a column named
    ``column``) and the extract's ``columns``, in the worklist's order (stratum, then the
    draw's order), and add an audit row to the study.

    ``extract``: the register extract with the CPR column ``column`` (CSV, XLSX or Parquet;
    ``sheet`` of an xlsx); ``key_file``: the pseudonymisation key. ``key_check_file``: the
    ``.keycheck`` written at pseudonymisation, for a study that records no check value (one
    drawn before stikprove kept it). Works on the study's round (the latest unless the
    Study was opened for another).

    Raises :class:`~stikprove.errors.PrivacyError` (nothing written) for a wrong key, a
    requested case missing from the extract or found more than once, an extract whose
    fingerprint differs from the study's frame, and a forbidden output folder;
    StikproveError for an existing output or other bad arguments.
    """
    study = study if isinstance(study, Study) else open_study(study)
    study = study.for_round(study.current_round())
    extract, key_file, out = Path(extract), Path(key_file), Path(out)
    _check_output(out, study.path, extract, key_file)
    key = read_key(key_file)
    check = key_check_value(key)
    info = study.rounds().set_index("round").loc[study.round]
    metadata = json.loads(info["metadata"] or "{}")
    recorded = metadata.get("key_check") or None
    key_checked = "the check value recorded in the study"
    if recorded is not None and recorded != check:
        raise PrivacyError(
            f"--key-file {key_file}: not the key the study's frame was pseudonymised with "
            f"(its check value is {check}, the study's round {study.round} recorded "
            f"{recorded}); give the key used by 'stikprove pseudonymize' for this study "
            "(nothing was written)"
        )
    if recorded is None and key_check_file is not None:
        recorded = _read_key_check_file(Path(key_check_file))
        key_checked = f"the check value in {key_check_file}"
        if recorded != check:
            raise PrivacyError(
                f"--key-file {key_file}: not the key of {key_check_file} (check value {check}, "
                f"the file holds {recorded}) (nothing was written)"
            )
    if reviewer is not None:
        reviewer = reviewer_of(study, reviewer)
        cases = study.open_cases(reviewer)["case_id"].astype(str).tolist()
        whose = f"reviewer {reviewer}'s open cases"
    else:
        cases = study.units(in_sample_only=True)["case_id"].astype(str).tolist()
        whose = "the sampled cases"
    if not cases:
        raise StoreError(
            f"{study.path}: {whose} (round {study.round}): none to look up (nothing was written)"
        )
    columns = _lookup_columns(columns, column)
    table = read_table(extract, sheet=sheet)
    _require_columns(table, extract, column, columns)
    lookup = _lookup_table(table, extract, column, key, cases, columns)
    fingerprint = _compare_fingerprint(
        table, extract, column, key, columns, study, str(info["frame_fingerprint"] or "")
    )
    if recorded is None and fingerprint != "matched":
        raise PrivacyError(
            f"{study.path}: round {study.round} records no key check value (it was drawn "
            "from a frame without the .keycheck file 'stikprove pseudonymize' writes beside "
            "its output: pseudonymised before stikprove wrote one, or elsewhere), so the key "
            "cannot be checked against the study, and the extract's fingerprint was "
            f"{fingerprint}. Give the extract the frame was pseudonymised from, with all its "
            "columns (its fingerprint then proves the key), or the check value written at "
            "pseudonymisation with --key-check FRAME.keycheck (nothing was written)"
        )
    if recorded is None:
        key_checked = "the study's frame fingerprint (the study records no check value)"
    stamp = now_utc()
    details = (
        f"round {study.round}; {whose}; {len(lookup)} case(s); key check {check}, checked "
        f"against {key_checked}; frame fingerprint {fingerprint}; extract "
        f"{extract.resolve()}; list {out.resolve()}"
    )
    if contains_cpr(details):  # a path (of the extract, the list, the check file) holds one
        raise PrivacyError(
            "a path given holds a CPR-like number (not shown): the paths are kept in the "
            "study's audit trail; rename the file or folder (nothing was written)"
        )
    heading = (
        HEADING_DA,
        HEADING_EN,
        f"Undersøgelse / study {study.study_id}, runde / round {study.round}; "
        f"{'læge / reviewer ' + reviewer if reviewer else 'alle udtrukne sager / all cases'}"
        f"; {len(lookup)} sager / cases; dannet / made {stamp} af / by {os_user()}; "
        f"nøglens kontrolværdi / key check {check}",
    )
    _write_logged(study, out, _workbook(lookup, heading), source, details)
    return Reidentification(
        out, study.study_id, int(study.round), reviewer, len(lookup), check, fingerprint,
        tuple(columns), key_checked,
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# where the list may go


def forbidden_folder(folder: str | Path, study: str | Path) -> str | None:
    """Why a lookup list may not be written in ``folder``, or None if it may.

    Refused: the study's own folder and the folders inside it (the draw, the demo and
    ``export`` put the study, its exports, worklists and reports there); a folder named
    ``reports`` (``stikprove report``'s default) or inside one, or one holding a rendered
    report (``index.html``, or a ``NAME.html`` beside its ``NAME.ipynb``); a folder holding
    a CSV that ``stikprove export`` wrote (the analysis table's or the double reviews'
    columns) or a result table of ``estimate``, ``compare`` or ``flag`` (interval columns).
    """
    folder = Path(folder).resolve()
    home = Path(study).resolve().parent
    if folder == home or home in folder.parents:
        return (
            f"{folder} is the study's folder{'' if folder == home else ' or inside it'} (the "
            "study, its exports, worklists and reports go there)"
        )
    for above in (folder, *folder.parents):
        if above.name.lower() == REPORT_FOLDER_NAME:
            return (
                f"{above} is a reports folder ('stikprove report' writes to {REPORT_FOLDER_NAME}/)"
            )
    if (folder / "index.html").is_file() or any(
        page.with_suffix(".html").is_file() for page in folder.glob("*.ipynb")
    ):
        return f"{folder} holds rendered reports ('stikprove report' writes there)"
    for csv in sorted(folder.glob("*.csv"))[:200]:
        if _export_header(csv):
            return f"{folder} holds an export of a study ({csv.name})"
    return None


def _export_header(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            first = handle.readline(4096)
    except OSError:
        return False
    names = {n.strip().strip('"') for n in first.replace(";", ",").split(",")}
    intervals = all(any(n.startswith(bound) for n in names) for bound in ("ci_low", "ci_high"))
    return intervals or any(header <= names for header in _EXPORT_HEADERS)


def _check_output(out: Path, study: Path, extract: Path, key_file: Path) -> None:
    if out.suffix.lower() != ".xlsx":
        raise StikproveError(
            f"--out {out}: expected an .xlsx file (the list is marked confidential inside the "
            "workbook)"
        )
    if contains_cpr(str(out)) or contains_cpr(str(extract)):
        raise PrivacyError(
            "--out or --extract: the path holds a CPR-like number (not shown): the paths are "
            "kept in the study's audit trail; rename the file or folder"
        )
    if out.exists() or out.is_symlink():
        raise StikproveError(
            f"--out {out} already exists: a lookup list is never written over a file; delete "
            "the old list (it holds CPR numbers) or choose another name"
        )
    if not out.parent.is_dir():
        raise StikproveError(f"--out {out}: the folder {out.parent} does not exist")
    for other, flag in ((extract, "--extract"), (key_file, "--key-file"), (study, "STUDY")):
        if out.resolve() == other.resolve():
            raise StikproveError(f"--out {out} is the {flag} file: choose another name")
    why = forbidden_folder(out.parent, study)
    if why:
        raise PrivacyError(
            f"--out {out}: refused: {why}. The lookup list holds CPR numbers: write it to a "
            "folder inside the kommune's secured environment, apart from the study, its "
            "exports and reports (nothing was written)"
        )


def _read_key_check_file(path: Path) -> str:
    if not path.is_file():
        raise PrivacyError(f"--key-check {path}: no such file (expected OUT.keycheck as "
                           "written by 'stikprove pseudonymize')")  # fmt: skip
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if len(text) != 16 or any(c not in "0123456789abcdef" for c in text):
        raise PrivacyError(
            f"--key-check {path}: expected a key check value (16 hex characters, as written "
            "by 'stikprove pseudonymize')"
        )
    return text


# --------------------------------------------------------------------------------------
# matching


def _lookup_columns(columns: Sequence[str], column: str) -> list[str]:
    if isinstance(columns, str):
        columns = [columns]
    names = [str(c).strip() for c in columns if str(c).strip()]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise StikproveError(f"--columns: {', '.join(twice)} given twice: expected each once")
    clash = [n for n in names if n in (column, "case_id")]
    if clash or column == "case_id":
        raise StikproveError(
            f"--columns / --column: {', '.join(map(repr, clash or [column]))}: the list has "
            "case_id and the CPR column already; expected other columns of the extract"
        )
    return names


def _require_columns(table: pd.DataFrame, extract: Path, column: str, columns: list[str]) -> None:
    found = ", ".join(map(str, table.columns)) or "none"
    if column not in table.columns:
        raise FrameError(f"{extract}: --column {column!r}: no such column (columns found: {found})")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise FrameError(
            f"{extract}: --columns {', '.join(map(repr, missing))}: no such column(s) "
            f"(columns found: {found})"
        )


def _lookup_table(
    table: pd.DataFrame,
    extract: Path,
    column: str,
    key: bytes,
    cases: list[str],
    columns: list[str],
) -> pd.DataFrame:
    """The rows of ``table`` whose CPR gives the requested ``cases``, one per case in the
    order of ``cases``: case_id, ``column`` (DDMMYY-SSSS), ``columns``. Refuses a non-CPR
    value (rows named, values not shown) and a case found no time or more than once."""
    blank = table.isna().all(axis=1).to_numpy()
    normalized = [normalize_cpr(v) if isinstance(v, str) else None for v in table[column]]
    bad = [i + 2 for i, cpr in enumerate(normalized) if cpr is None and not blank[i]]
    if bad:
        rows = ", ".join(map(str, bad[:_LISTED])) + (" ..." if len(bad) > _LISTED else "")
        raise PrivacyError(
            f"{extract}: column {column!r}: {len(bad)} value(s) are not a CPR number (values "
            f"not shown), row(s) {rows}: expected DDMMYY-SSSS or ten digits in every row "
            "(nothing was written)"
        )
    wanted = set(cases)
    rows_of: dict[str, list[int]] = {}
    for i, cpr in enumerate(normalized):
        if cpr is not None:
            case = case_id_of(cpr, key)
            if case in wanted:
                rows_of.setdefault(case, []).append(i)
    missing = [c for c in cases if c not in rows_of]
    doubled = [c for c in cases if len(rows_of.get(c, ())) > 1]
    if missing or doubled:
        lines = [f"{extract}: not every requested case is in the extract exactly once "
                 "(nothing was written):"]  # fmt: skip
        if missing:
            lines.append(f"  - {len(missing)} of {len(cases)} case(s) not found: "
                         + _listed(missing))  # fmt: skip
        for case in doubled[:_LISTED]:
            rows = ", ".join(str(i + 2) for i in rows_of[case])
            lines.append(f"  - case {case} found {len(rows_of[case])} times: rows {rows}")
        if len(doubled) > _LISTED:
            lines.append(f"  ... and {len(doubled) - _LISTED} more cases found more than once")
        if len(missing) == len(cases):
            lines.append("  none was found: is it this study's extract, and its key?")
        lines.append("  expected the extract the frame was pseudonymised from, each person once")
        raise PrivacyError("\n".join(lines))
    picked = [rows_of[c][0] for c in cases]
    out = pd.DataFrame({"case_id": cases})
    out[column] = [_dashed(normalized[i]) for i in picked]
    for name in columns:
        out[name] = (
            table[name]
            .iloc[picked]
            .astype(object)
            .where(table[name].iloc[picked].notna(), None)
            .tolist()
        )
    return out


def _listed(cases: list[str]) -> str:
    more = f" ... and {len(cases) - _LISTED} more" if len(cases) > _LISTED else ""
    return ", ".join(cases[:_LISTED]) + more


def _dashed(cpr: str | None) -> str:
    return f"{cpr[:6]}-{cpr[6:]}" if cpr else ""


def _compare_fingerprint(
    table: pd.DataFrame,
    extract: Path,
    column: str,
    key: bytes,
    columns: list[str],
    study: Study,
    recorded: str,
) -> str:
    """Return "matched" when the pseudonymised extract (whole, or without the lookup columns) is
    the study's frame; why it was not compared when it is no frame; PrivacyError when it
    is a frame with another fingerprint."""
    if not recorded:
        return "not compared (the study records no frame fingerprint)"
    renames = dict(study.protocol.frame_columns)
    id_column = renames.get("case_id", "case_id")
    candidates = [table] + ([table.drop(columns=columns)] if columns else [])
    computed = []
    for candidate in candidates:
        try:
            pseudo = pseudonymize(candidate, column, key, id_column=id_column)
            pseudo = pseudo.rename(columns={v: k for k, v in renames.items()})
            computed.append(frame_fingerprint(load_frame(pseudo)))
        except StikproveError:
            continue
    if recorded in computed:
        return "matched"
    if not computed:
        return "not compared (the pseudonymised extract is not a whole frame)"
    raise PrivacyError(
        f"{extract}: not the extract the study's frame was made from: pseudonymised with this "
        f"key its frame fingerprint is {computed[0][:16]}…, the study's round {study.round} "
        f"was drawn from {recorded[:16]}… (nothing was written). Give the extract the frame "
        "was pseudonymised from; a later extract of the same persons can be given with only "
        "the CPR column and the lookup columns (each case is still matched exactly once by "
        "its keyed pseudonym, but no fingerprint is compared)"
    )


# --------------------------------------------------------------------------------------
# writing


def _workbook(table: pd.DataFrame, heading: tuple[str, ...]):
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = LOOKUP_SHEET
    ws.sheet_properties.tabColor = "C00000"
    for line in heading:
        append_row(ws, [line])
    for row in range(1, len(heading) + 1):
        ws.cell(row=row, column=1).font = Font(bold=row < 3, color="C00000")
    write_sheet(ws, table)
    for cell in ws[HEADER_ROW]:
        cell.font = Font(bold=True)
    for i, name in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(14, min(40, len(str(name)) + 4))
        for row in range(HEADER_ROW + 1, ws.max_row + 1):
            ws.cell(row=row, column=i).number_format = "@"
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    for part in (ws.oddHeader.center, ws.oddFooter.center):
        part.text = CONFIDENTIAL
    props = wb.properties
    props.title = f"{CONFIDENTIAL}: opslagsliste med CPR-numre / lookup list with CPR numbers"
    props.subject = HEADING_EN
    props.keywords = "FORTROLIGT; CONFIDENTIAL; CPR"
    props.category = "FORTROLIGT / CONFIDENTIAL"
    props.creator = "stikprove reidentify"
    return wb


def _write_logged(study: Study, out: Path, book, source: str, details: str) -> None:
    """Write ``book`` to a new temporary file (mode 0600) beside ``out``, then, in one
    transaction of the study, add the audit row and link the file to ``out`` (refused if
    ``out`` exists meanwhile); on any failure neither the file nor the row remains."""
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp.xlsx")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    linked = False
    try:
        save_workbook(book, tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        with study.transaction() as con:
            audit(con, AUDIT_ACTION, source, details)
            _link_new(tmp, out)
            linked = True
    except BaseException:
        if linked:
            out.unlink(missing_ok=True)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _link_new(tmp: Path, out: Path) -> None:
    """Give ``tmp`` the name ``out``, never over an existing file (a hard link fails if
    ``out`` exists; where the file system has no hard links, a rename after a check)."""
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise StikproveError(f"--out {out} already exists: a lookup list is never written "
                             "over a file (nothing was written)") from None  # fmt: skip
    except OSError:
        if out.exists():
            raise StikproveError(f"--out {out} already exists (nothing was written)") from None
        os.replace(tmp, out)
    with contextlib.suppress(OSError):
        fd = os.open(out.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
