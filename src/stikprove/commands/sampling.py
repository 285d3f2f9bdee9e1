"""``stikprove draw``: draw a study's sample from its frame and save it in the study.

Saving goes through :func:`save_drawn_sample` only (the study store: one SQLite file).
:func:`saved_rounds` and :func:`load_saved_sample` read what it saved: from the study store
when the study path is a file, or from ``round-<k>/`` sample folders (what
:func:`stikprove.sampling.write_sample` writes) when it is a folder.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from stikprove.errors import SamplingError

if TYPE_CHECKING:
    import pandas as pd

    from stikprove.protocol import Protocol
    from stikprove.sampling import DrawnSample

_ROUND_DIR = re.compile(r"round-(\d+)")


def save_drawn_sample(
    sample: DrawnSample,
    study_path: Path,
    protocol: Protocol | None = None,
    frame: pd.DataFrame | None = None,
) -> None:
    """Save a drawn sample in the study at ``study_path``: the study store (one SQLite
    file, :func:`stikprove.store.store_drawn_sample`). A new path becomes a new store; an
    existing store is never overwritten: the same round again is refused with nothing
    written, the next round is stored beside the earlier ones.

    With ``protocol`` and ``frame``, the frame fields the protocol lists in ``[review]
    worklist_fields`` are kept with the units for worklists (and nothing else of the frame).
    """
    from stikprove.store import store_drawn_sample

    fields = None if protocol is None else tuple(protocol.worklist_fields)
    values = None
    if fields and frame is not None:
        values = frame[["case_id", *[f for f in fields if f in frame.columns]]]
    store_drawn_sample(sample, Path(study_path), fields, values)


def saved_rounds(study_path: Path) -> list[int]:
    """Rounds already saved in the study, ascending (empty when none)."""
    study_path = Path(study_path)
    if study_path.is_file():
        from stikprove.store import stored_rounds

        return sorted(stored_rounds(study_path))
    if not study_path.is_dir():
        return []
    rounds = []
    for child in study_path.iterdir():
        match = _ROUND_DIR.fullmatch(child.name)
        if match and child.is_dir():
            rounds.append(int(match.group(1)))
    return sorted(rounds)


def load_saved_sample(study_path: Path, round: int) -> DrawnSample:
    """The sample saved in the study for ``round``."""
    from stikprove.sampling import read_sample

    if Path(study_path).is_file():
        from stikprove.store import read_stored_sample

        return read_stored_sample(study_path, round)
    return read_sample(Path(study_path) / f"round-{round}")


def _previous_sample(path: Path | None) -> DrawnSample | Path | None:
    """The earlier study named by ``[coordination] previous``: a study store file is read
    here (its latest round); a sample folder or a CSV of case ids is left to draw()."""
    if path is None or not path.is_file() or path.suffix.lower() == ".csv":
        return path
    rounds = saved_rounds(path)
    if not rounds:
        raise SamplingError(f"[coordination] previous = {path}: the study has no sample")
    return load_saved_sample(path, rounds[-1])


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "draw",
        help="draw the protocol's sample (with reserves) and save it in the study",
        description="Draw the stratified random sample the protocol describes from its frame "
        "and save it in the study. A study that already has a sample is refused unless "
        "--new-round (an explicit new round on the same frame) or --check (redraw and compare "
        "with the saved sample, writing nothing) is given.",
    )
    p.add_argument("protocol", type=Path, metavar="PROTOCOL", help="the protocol (TOML)")
    p.add_argument("--study", type=Path, required=True, metavar="STUDY", help="the study")
    p.add_argument(
        "--frame", type=Path, default=None, help="use this frame instead of [frame] path"
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--new-round", action="store_true", help="draw a new round (round number + 1)"
    )
    group.add_argument(
        "--check",
        action="store_true",
        help="redraw the latest round and check it equals the saved sample (writes nothing)",
    )
    p.set_defaults(func=run)


def _same_frame(saved: DrawnSample, fingerprint: str, frame_source: Path) -> None:
    before = saved.metadata.get("frame_fingerprint")
    if before != fingerprint:
        raise SamplingError(
            f"frame {frame_source} has changed since round {saved.metadata.get('round')} was "
            f"drawn: its fingerprint is {fingerprint}, the sample was drawn from "
            f"{before} (nothing was written)"
        )


def run(args: argparse.Namespace) -> int:
    from stikprove.frame import frame_fingerprint
    from stikprove.protocol import load_protocol, load_study_frame
    from stikprove.pseudonymization import read_key_check
    from stikprove.sampling import draw, same_sample

    protocol = load_protocol(args.protocol)
    frame_source = args.frame or protocol.frame_path
    rounds = saved_rounds(args.study)
    if rounds and not (args.new_round or args.check):
        raise SamplingError(
            f"study {args.study} already has a sample (round {rounds[-1]}): give --new-round to "
            "draw another round, or --check to redraw and compare (nothing was written)"
        )
    if (args.new_round or args.check) and not rounds:
        flag = "--new-round" if args.new_round else "--check"
        raise SamplingError(
            f"{flag}: study {args.study} has no sample yet: expected a study with a saved "
            "round (draw without the flag first)"
        )
    frame = load_study_frame(protocol, args.frame)
    fingerprint = frame_fingerprint(frame)
    round_number = 1
    if rounds:
        saved = load_saved_sample(args.study, rounds[-1])
        if saved.metadata.get("study_id") != protocol.study_id:
            raise SamplingError(
                f"study {args.study} holds study {saved.metadata.get('study_id')!r}, the "
                f"protocol is for {protocol.study_id!r} (nothing was written)"
            )
        _same_frame(saved, fingerprint, frame_source)
        round_number = rounds[-1] + (1 if args.new_round else 0)
    previous = None
    if protocol.coordination != "independent":
        previous = _previous_sample(protocol.previous)
    sample = draw(
        protocol, frame, previous=previous, round=round_number, frame_fingerprint=fingerprint,
        key_check=read_key_check(frame_source),
    )  # fmt: skip
    if args.check:
        if not same_sample(sample, saved):
            raise SamplingError(
                f"redraw of round {round_number} differs from the sample saved in {args.study}"
                + (
                    " (the protocol changed since the draw)"
                    if saved.metadata.get("protocol_fingerprint") != protocol.fingerprint
                    else ""
                )
            )
        print(f"check: round {round_number} redrawn from the same frame is identical")
        return 0
    if not rounds:  # a new store: its folder may be new too (--study studies/x.sqlite)
        from stikprove.files import private_folder

        private_folder(Path(args.study).parent)
    save_drawn_sample(sample, args.study, protocol=protocol, frame=frame)
    meta = sample.metadata
    print(
        f"drew round {round_number} of study {protocol.study_id}: {meta['sample_size']} cases "
        f"in {len(sample.strata)} strata (+ {meta['population_size'] - meta['sample_size']} "
        f"reserves), {meta['double_reviews']} for double review; saved in {args.study}"
    )
    print(f"frame fingerprint {fingerprint}")
    for note in sample.notes:
        print(f"note: {note}")
    return 0
