"""Studies whose case ids are keyed pseudonyms of synthetic CPR numbers, for the
re-identification tests (stikprove.reidentification).

Every CPR number here is made up: a valid date and a serial, never a real person's.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pandas as pd

from stikprove.pseudonymization import case_id_of, key_check_value
from stikprove.store import create_study, open_study
from stikprove.store.schema import checkpoint
from store_fixtures import make_sample

# two fixed keys drawn once with secrets.token_bytes(32) (a test must not depend on chance)
KEY = bytes.fromhex("5b0e8c3f1a97d2446e21b8f0c95d7a3e02f4c6a8195b3d7e6c0a2f8e4b1d9c37")
OTHER_KEY = bytes.fromhex("c41f7a0e93b25d68e7015fa2c8b34d9610e6a5f27bd83c4e9f201a6b5c8d7e03")


def synthetic_cpr(i: int) -> str:
    """The i-th made-up CPR number, DDMMYY-SSSS (distinct for i < 33,600)."""
    return (
        f"{1 + i % 28:02d}{1 + i // 28 % 12:02d}{i // 336 % 100:02d}-{(7 * i + 1000) % 10000:04d}"
    )


def write_key(path: Path, key: bytes = KEY) -> Path:
    """A key file as ``stikprove pseudonymize --new-key`` writes it (hex, mode 0600)."""
    path.write_text(key.hex() + "\n", encoding="ascii")
    os.chmod(path, 0o600)
    return path


def extract_from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A register extract behind a (synthetic) frame: its case_id replaced by a made-up CPR
    number (column ``cpr``, first), the other columns as they are."""
    out = frame.drop(columns="case_id")
    out.insert(0, "cpr", [synthetic_cpr(i) for i in range(len(frame))])
    return out


def lookup_columns(extract: pd.DataFrame) -> pd.DataFrame:
    """``extract`` with a name and the kommune's own case number per person (the columns the
    physician needs besides the CPR number, kept out of the frame)."""
    return extract.assign(
        navn=[f"Person {i}" for i in range(len(extract))],
        sagsnummer=[f"S-{i:05d}" for i in range(len(extract))],
    )


def keyed_study(folder: Path, *, key_check: bool = True, reviewers=("anna", "bo")):
    """The store fixtures' study (35 units, 13 sampled) with keyed case ids, in
    ``folder/study/``: returns the Study and the persons behind its units (case_id, cpr,
    navn, sagsnummer, in the units' order). ``key_check``: whether the draw recorded the
    key's check value (False: a study drawn before stikprove kept it)."""
    sample = make_sample()
    persons = pd.DataFrame({"cpr": [synthetic_cpr(i) for i in range(len(sample.units))]})
    persons.insert(0, "case_id", [case_id_of(c, KEY) for c in persons["cpr"]])
    persons = lookup_columns(persons)
    units = sample.units.assign(case_id=persons["case_id"])
    metadata = dict(sample.metadata)
    if key_check:
        metadata["key_check"] = key_check_value(KEY)
    (folder / "study").mkdir(mode=0o700, exist_ok=True)
    path = folder / "study" / "study.sqlite"
    made = (key_check, tuple(reviewers))
    if made not in _MADE:  # create one store per kind, then copy its bytes (0.02 s, not 0.3)
        create_study(path, replace(sample, units=units, metadata=metadata), reviewers=reviewers)
        checkpoint(path)
        _MADE[made] = path.read_bytes()
    else:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_MADE[made])
    return open_study(path), persons


_MADE: dict[tuple[bool, tuple[str, ...]], bytes] = {}
"""The bytes of each kind of keyed study made so far in this process."""


ROOT = Path(__file__).resolve().parents[1]


def demo_data(folder: Path) -> tuple[Path, Path, pd.DataFrame]:
    """The synthetic demo data behind a real flow: an extract with made-up CPR numbers for
    a synthetic Odense frame (``secure/udtraek.csv``; ``secure/udtraek_fuld.csv`` adds
    names and case numbers), and a study folder ``studie/`` holding the odense-replication
    protocol pointed at ``studie/frame.csv`` (not yet written: pseudonymise the extract
    into it). Returns the key holder's folder, the study folder and the extract."""
    from stikprove.synth import write_synthetic_frame

    write_synthetic_frame(folder / "synth", 3, kommuner=["461"], scale=0.3)
    frame = pd.read_csv(folder / "synth" / "frame.csv", dtype=str, keep_default_na=False)
    secure = folder / "secure"
    secure.mkdir(mode=0o700)
    extract = extract_from_frame(frame)
    extract.to_csv(secure / "udtraek.csv", index=False)
    lookup_columns(extract).to_csv(secure / "udtraek_fuld.csv", index=False)
    study_dir = folder / "studie"
    study_dir.mkdir(mode=0o700)
    text = (ROOT / "protocols" / "odense-replication.toml").read_text(encoding="utf-8")
    text = text.replace('path = "../synthetic_data/frame.csv"', 'path = "frame.csv"')
    (study_dir / "odense.toml").write_text(text, encoding="utf-8")
    return secure, study_dir, extract
