"""Replace CPR numbers by pseudonymous case ids: a keyed HMAC-SHA256, so the same key links
a later extract to the same ids, and nobody without the key can recompute them.

``case_id`` = the first :data:`ID_LENGTH` hex characters (80 bits) of
HMAC-SHA256(key, the CPR as ten digits). The CPR is normalised first: spaces and the dash
are removed (010190-1234 and 0101901234 give the same id), and a nine-digit value gets back
the leading zero a spreadsheet drops when it stores a CPR as a number. The key is 32 random
bytes kept as hex in a file readable by its owner only, outside the study folder.

A weak key (all one byte, a repeated pattern, a counting sequence, too few distinct
bytes) is refused: such a key is typed in, not drawn, and anyone can guess it. Beside
its output, pseudonymisation writes the key's *check value* (``OUT.keycheck``: the first
16 hex characters of HMAC-SHA256(key, "stikprove key check v1")), which identifies the key
without revealing it; ``draw`` stores it with the sample and refuses to coordinate with an
earlier study whose frame was pseudonymised with another key.

>>> key = bytes.fromhex("8f1c2a9e5b7d3f60" * 2 + "1e4a7c2b9d6f0385" * 2)
>>> df = pd.DataFrame({"cpr": ["010190-1234", "0101901234"], "age": ["27", "27"]})
>>> out = pseudonymize(df, "cpr", key)
>>> list(out.columns), out["case_id"].nunique(), len(out.loc[0, "case_id"])
(['case_id', 'age'], 1, 20)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from stikprove.cells import write_csv, write_xlsx
from stikprove.cpr import find_cpr
from stikprove.errors import (
    FrameError,
    MissingKeyError,
    PrivacyError,
    Problem,
    StikproveError,
    format_problems,
)
from stikprove.files import atomic_write
from stikprove.frame import cpr_columns, read_table

ID_LENGTH = 20
"""Hex characters kept of the HMAC-SHA256: 20 hex = 80 bits (collisions are negligible even
for millions of people; checked on every run all the same)."""

KEY_BYTES = 32
"""Length of a new key (256 bits), stored as 64 hex characters and a newline."""

MIN_KEY_BYTES = 16
"""Shortest key accepted from a key file (128 bits)."""

MIN_DISTINCT_BYTES = 8
"""Fewest distinct byte values a key must hold (16 random bytes hold 15.5 on average;
fewer than 8 happens by chance with probability below 10^-9)."""

KEY_CHECK_LABEL = b"stikprove key check v1"
KEY_CHECK_SUFFIX = ".keycheck"
"""Suffix of the file beside a pseudonymised output that holds the key's check value."""

_NOT_CPR = "a CPR number: DDMMYY-SSSS or ten digits (value not shown)"
_PREFIX = re.compile(r"\s*((cpr|pnr|personnummer)[\s.:-]*(nr|nummer)?[\s.:-]*)?", re.IGNORECASE)
"""What may stand before the CPR number in a CPR column: spaces, a label such as 'CPR:'."""


def normalize_cpr(value: object) -> str | None:
    """The CPR as ten digits, or None if the value is not one CPR-like number: any form
    :mod:`stikprove.cpr` finds (dash, spaces, dots, a ``CPR:`` prefix), nine digits get the
    leading zero back; a value holding anything else beside it (two numbers, words after
    it) is not a CPR value.

    >>> normalize_cpr("CPR: 01.01.90 1234"), normalize_cpr("101901234"), normalize_cpr("x")
    ('0101901234', '0101901234', None)
    """
    if not isinstance(value, str):
        return None
    matches = list(find_cpr(value))
    if len(matches) != 1:
        return None
    match = matches[0]
    if not _PREFIX.fullmatch(value[: match.start()]) or value[match.end() :].strip():
        return None
    return match.digits.zfill(10)  # as ASCII digits, a four-digit year made two


def new_key(path: str | Path) -> bytes:
    """Create a new random key file (mode 0600; refuses to overwrite one) and return the key."""
    key = secrets.token_bytes(KEY_BYTES)
    _write_key(Path(path), key)
    return key


def _write_key(path: Path, key: bytes) -> None:
    """Write ``key`` as hex to a new file created with mode 0600 (O_CREAT | O_EXCL)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _existing_key_error(path) from None
    except OSError as error:
        raise PrivacyError(f"cannot create key file {path}: {error.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")


def _existing_key_error(path: Path) -> PrivacyError:
    return PrivacyError(
        f"key file {path} already exists: refusing to overwrite a key (ids made with it "
        "would no longer link); use it with --key-file, or choose another path for --new-key"
    )


def read_key(path: str | Path) -> bytes:
    """Read a key file (hex, at least 16 bytes). Refuses a missing file, a malformed key and,
    on POSIX, a key file that others can read."""
    path = Path(path)
    if not path.is_file():
        raise MissingKeyError(
            f"key file {path} not found: give an existing key with --key-file, or create one "
            "with --key-file PATH --new-key (keep it outside the study folder)"
        )
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise PrivacyError(
            f"key file {path} can be read by others (mode {path.stat().st_mode & 0o777:o}): "
            f"expected mode 600; run `chmod 600 {path}`"
        )
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < MIN_KEY_BYTES:
        raise PrivacyError(
            f"key file {path}: expected at least {2 * MIN_KEY_BYTES} hex characters "
            "(as written by --new-key)"
        )
    weakness = key_weakness(key)
    if weakness:
        raise PrivacyError(
            f"key file {path}: a weak key ({weakness}): expected random bytes as written by "
            "--new-key; create a new key with --key-file NEW --new-key"
        )
    return key


def key_weakness(key: bytes) -> str | None:
    """Why ``key`` is weak, or None: too short, one repeated byte or block, a counting
    sequence, or fewer than :data:`MIN_DISTINCT_BYTES` distinct bytes. Cheap checks that
    catch a typed-in key, not a proof of randomness.

    >>> key_weakness(bytes(32)), key_weakness(bytes(range(32))), key_weakness(b"ab" * 16)
    ('all bytes equal', 'a counting sequence', 'a repeated block of 2 bytes')
    """
    if len(key) < MIN_KEY_BYTES:
        return f"{len(key)} bytes, expected at least {MIN_KEY_BYTES}"
    if len(set(key)) == 1:
        return "all bytes equal"
    steps = {(key[i + 1] - key[i]) % 256 for i in range(len(key) - 1)}
    if len(steps) == 1:
        return "a counting sequence"
    for block in range(2, len(key) // 2 + 1):
        if len(key) % block == 0 and key == key[:block] * (len(key) // block):
            return f"a repeated block of {block} bytes"
    if len(set(key)) < MIN_DISTINCT_BYTES:
        return f"only {len(set(key))} distinct byte values"
    return None


def key_check_value(key: bytes) -> str:
    """The key's check value: the first 16 hex characters of HMAC-SHA256(key, a fixed
    label). It tells two keys apart without revealing either."""
    return hmac.new(bytes(key), KEY_CHECK_LABEL, hashlib.sha256).hexdigest()[:16]


def key_check_path(output: str | Path) -> Path:
    """The file beside a pseudonymised output holding its key's check value."""
    output = Path(output)
    return output.with_name(output.name + KEY_CHECK_SUFFIX)


def read_key_check(frame_path: str | Path) -> str | None:
    """The key check value stored beside a pseudonymised frame, or None if there is none
    (a frame pseudonymised elsewhere, or a synthetic one)."""
    path = key_check_path(frame_path)
    if not path.is_file():
        return None
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if not re.fullmatch(r"[0-9a-f]{16}", text):
        raise PrivacyError(
            f"{path}: expected a key check value (16 hex characters, as written by "
            "stikprove pseudonymize)"
        )
    return text


def pseudonymize(
    df: pd.DataFrame, column: str, key: bytes, *, id_column: str = "case_id"
) -> pd.DataFrame:
    """Replace the CPR column ``column`` by ``id_column`` (keyed HMAC-SHA256, 20 hex), in place
    of it; other columns are kept as they are, and rows with no value at all are dropped.

    Refuses with FrameError a missing ``column`` or an ``id_column`` that already exists, and
    with PrivacyError (values never shown) an empty or non-CPR value, a key shorter than 16
    bytes, and another column that still holds CPR-like values (the output must hold none).
    """
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        raise PrivacyError(f"key: expected at least {MIN_KEY_BYTES} bytes (see new_key)")
    if key_weakness(bytes(key)):
        raise PrivacyError(f"key: a weak key ({key_weakness(bytes(key))}): expected random "
                           "bytes (see new_key)")  # fmt: skip
    if column not in df.columns:
        found = ", ".join(map(str, df.columns)) or "none"
        raise FrameError(f"--column {column!r}: no such column (columns found: {found})")
    if id_column != column and id_column in df.columns:
        raise FrameError(
            f"the input already has a column {id_column!r}: rename it, or choose another "
            "name with --id-column"
        )
    blank = df.isna().all(axis=1).to_numpy()
    values = df[column].astype(object).tolist()
    normalized = [normalize_cpr(v if isinstance(v, str) else _text(v)) for v in values]
    problems = [
        Problem(i + 2, column, "(not shown)", _NOT_CPR)
        for i, cpr in enumerate(normalized)
        if cpr is None and not blank[i]
    ]
    if problems:
        raise PrivacyError(
            format_problems(f"column {column!r}: not every value is a CPR number", problems)
        )
    df = df.loc[~blank]
    normalized = [cpr for cpr, is_blank in zip(normalized, blank, strict=True) if not is_blank]
    ids = {cpr: _hmac_id(key, cpr) for cpr in set(normalized)}
    if len(set(ids.values())) != len(ids):  # pragma: no cover (80-bit ids; never seen)
        raise PrivacyError("two different CPR numbers gave the same case_id: use a new key")
    out = df.copy()
    position = list(out.columns).index(column)
    out = out.drop(columns=[column])
    out.insert(position, id_column, pd.Series([ids[c] for c in normalized], index=df.index))
    out[id_column] = out[id_column].astype("str")
    left = cpr_columns(out.drop(columns=[id_column]))
    if left:
        names = ", ".join(repr(c) for c in left)
        raise PrivacyError(
            f"column(s) {names} also hold CPR-like values (not shown): the output would still "
            "hold CPR numbers; remove those columns, or pseudonymize them in a separate run"
        )
    return out


def _text(value: object) -> str | None:
    """A non-string cell as text (a CPR stored as a number); None when missing."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _hmac_id(key: bytes, cpr: str) -> str:
    return hmac.new(bytes(key), cpr.encode("ascii"), hashlib.sha256).hexdigest()[:ID_LENGTH]


def case_id_of(cpr: str, key: bytes) -> str:
    """The case_id :func:`pseudonymize` gives the CPR number ``cpr`` under ``key`` (any form
    :func:`normalize_cpr` accepts). Re-identification (:mod:`stikprove.reidentification`)
    recomputes it for every row of the original extract.

    >>> key = bytes.fromhex("8f1c2a9e5b7d3f60" * 2 + "1e4a7c2b9d6f0385" * 2)
    >>> case_id_of("010190-1234", key) == case_id_of("0101901234", key)
    True
    """
    normalized = normalize_cpr(cpr)
    if normalized is None:
        raise PrivacyError(f"cpr: expected {_NOT_CPR}")
    return _hmac_id(key, normalized)


def _checked_output(path: Path) -> Path:
    """The output path, if its type is known and its folder exists."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".parquet"):
        raise StikproveError(
            f"{path}: unknown output type {suffix or '(none)'!r}: expected .csv, .xlsx or .parquet"
        )
    if not path.parent.is_dir():
        raise StikproveError(f"{path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise StikproveError(f"{path}: is a folder: expected the name of the file to write")
    return path


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV (UTF-8), XLSX or Parquet, by suffix, atomically: a temporary file
    (mode 0600) in the same folder, then renamed over ``path``. No text cell can run as a
    formula (:mod:`stikprove.cells`)."""
    path = _checked_output(Path(path))
    suffix = path.suffix.lower()

    def write(tmp: Path) -> None:
        if suffix == ".csv":
            write_csv(df, tmp)
        elif suffix == ".xlsx":
            write_xlsx(df, tmp)
        else:
            df.to_parquet(tmp, index=False)

    return atomic_write(path, write)


def pseudonymize_file(
    source: str | Path,
    destination: str | Path,
    column: str,
    key_file: str | Path,
    *,
    id_column: str = "case_id",
    create_key: bool = False,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read ``source`` (CSV, XLSX or Parquet, all as text), pseudonymize ``column`` with the
    key in ``key_file`` and write ``destination`` atomically (format by suffix).

    With ``create_key`` a new key is made and written to ``key_file`` (refused if it exists),
    only after the input has been read and pseudonymized, so that nothing is written on bad
    input. Refuses to write over ``source``. The key's check value is written to
    ``destination`` + ``.keycheck`` (:func:`key_check_value`). Returns the pseudonymized
    table.
    """
    source, destination, key_file = Path(source), Path(destination), Path(key_file)
    if destination.resolve() == source.resolve():
        raise StikproveError(
            f"OUT {destination} is the input file: write the output to another file"
        )
    _checked_output(destination)
    if key_file.resolve() in (source.resolve(), destination.resolve()):
        raise StikproveError(f"--key-file {key_file} must not be the input or the output file")
    if create_key:
        if key_file.exists():
            raise _existing_key_error(key_file)
        key = secrets.token_bytes(KEY_BYTES)
    else:
        key = read_key(key_file)
    table = read_table(source, sheet=sheet)
    try:
        out = pseudonymize(table, column, key, id_column=id_column)
    except (PrivacyError, FrameError) as error:
        raise type(error)(f"{source}: {error}") from None
    if create_key:
        _write_key(key_file, key)
    write_table(out, destination)
    check = key_check_value(key) + "\n"
    atomic_write(key_check_path(destination), lambda tmp: Path(tmp).write_text(check, "ascii"))
    return out
