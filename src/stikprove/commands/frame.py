"""The frame step's commands: ``synth``, ``validate-frame`` and ``pseudonymize``."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from stikprove.commands import out_dir_argument
from stikprove.errors import StikproveError


def _wrap(text: str) -> str:
    """A help paragraph wrapped at 78 columns (the parsers keep line breaks as written)."""
    return textwrap.fill(text, width=78)


RAW = argparse.RawDescriptionHelpFormatter


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the sub-commands ``synth``, ``validate-frame`` and ``pseudonymize``."""
    synth = subparsers.add_parser(
        "synth",
        help="write a synthetic national frame (and, apart, its latent truth)",
        formatter_class=RAW,
        description=_wrap(
            "Write a synthetic frame of aktivitetsparate kontanthjælpsmodtagere "
            "(frame.csv) and, in a separate file, the truth a re-assessment would find for each "
            "case (truth.csv, for simulated reviews; never part of the frame). Sizes follow the "
            "kommuner: about 70,000 cases nationally at --scale 1, Odense about 3,400, Læsø a "
            "handful. The same --seed gives byte-identical files."
        ),
        epilog="example:\n"
        "  stikprove synth --out-dir synthetic_data --seed 2016 --kommuner 461,147,825",
    )
    out_dir_argument(synth, None, "output folder")
    synth.add_argument(
        "--seed", type=int, required=True, metavar="N", help="random seed (whole number ≥ 0)"
    )
    synth.add_argument(
        "--kommuner",
        metavar="CODES",
        help="comma-separated kommune codes or names, e.g. 461,147,825 (default: all 98)",
    )
    synth.add_argument(
        "--scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply every kommune's expected size by F (default 1.0)",
    )
    synth.add_argument(
        "--force",
        action="store_true",
        help="replace a frame.csv / truth.csv in DIR that holds another synthetic frame "
        "(refused by default: a study drawn from it would no longer match it)",
    )
    synth.set_defaults(func=run_synth)

    validate = subparsers.add_parser(
        "validate-frame",
        help="check a frame (CSV, XLSX or Parquet) and print its fingerprint",
        formatter_class=RAW,
        description=_wrap(
            "Check a frame: required columns, unique non-empty case_id, real kommune "
            "codes, allowed values of sex, origin and category, ages, years, health_exempt and "
            "dates that parse, and no CPR numbers. Prints a summary (rows, kommuner, fingerprint) "
            "or every problem with its row (header = row 1), column, value and what was expected; "
            "exit status 2 on problems."
        ),
        epilog="example:\n  stikprove validate-frame synthetic_data/frame.csv",
    )
    validate.add_argument(
        "file", type=Path, metavar="FILE", help="frame file (.csv/.xlsx/.parquet)"
    )
    validate.add_argument("--sheet", help="XLSX sheet name (default: the first sheet)")
    validate.set_defaults(func=run_validate)

    pseudo = subparsers.add_parser(
        "pseudonymize",
        help="replace a CPR column by a pseudonymous case_id (keyed HMAC)",
        formatter_class=RAW,
        description=_wrap(
            "Replace the CPR column of a register extract by case_id = the first 20 "
            "hex characters of HMAC-SHA256(key, CPR as ten digits). 010190-1234 and 0101901234 "
            "give the same id; the same key gives the same ids, so a later extract links up. The "
            "output (CSV, XLSX or Parquet by suffix) holds no CPR and is written atomically. Keep "
            "the key outside the study folder: whoever has it can recompute ids from CPR numbers."
        ),
        epilog="examples:\n"
        "  # the first extract: create the key\n"
        "  stikprove pseudonymize udtraek.csv frame.csv --column cpr \\\n"
        "      --key-file ~/noegler/studie.key --new-key\n"
        "  # a later extract: the same key, so the ids link up\n"
        "  stikprove pseudonymize udtraek2.csv frame2.csv --column cpr \\\n"
        "      --key-file ~/noegler/studie.key",
    )
    pseudo.add_argument("input", type=Path, metavar="IN", help="extract with a CPR column")
    pseudo.add_argument(
        "output", type=Path, metavar="OUT", help="output file (.csv/.xlsx/.parquet)"
    )
    pseudo.add_argument("--column", required=True, help="name of the CPR column, e.g. cpr")
    pseudo.add_argument(
        "--key-file", type=Path, metavar="KEY", help="key file (required; see --new-key)"
    )
    pseudo.add_argument(
        "--new-key",
        action="store_true",
        help="create a new random key at --key-file (mode 600; refuses to overwrite a key)",
    )
    pseudo.add_argument(
        "--id-column", default="case_id", help="name of the new id column (default case_id)"
    )
    pseudo.add_argument("--sheet", help="XLSX sheet name (default: the first sheet)")
    pseudo.set_defaults(func=run_pseudonymize)


def run_synth(args: argparse.Namespace) -> int:
    """Write frame.csv and truth.csv; print what was written."""
    from stikprove.synth import write_synthetic_frame

    kommuner = None
    if args.kommuner is not None:
        kommuner = [k.strip() for k in args.kommuner.split(",") if k.strip()]
        if not kommuner:
            raise StikproveError("--kommuner: expected codes such as 461,147,825")
    synthetic = write_synthetic_frame(
        args.out, args.seed, kommuner=kommuner, scale=args.scale, replace=args.force
    )
    frame = synthetic.frame
    print(
        f"wrote {args.out / 'frame.csv'}: {len(frame):,} cases in "
        f"{frame['kommune_code'].nunique()} kommuner (seed {args.seed}, scale {args.scale:g})"
    )
    print(f"wrote {args.out / 'truth.csv'}: the latent truth (for simulated reviews only)")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """Load and check a frame; print rows, kommuner and fingerprint."""
    from stikprove.frame import frame_fingerprint, load_frame

    sheet = args.sheet
    frame = load_frame(args.file, sheet=sheet)
    print(f"{args.file}: a valid frame")
    print(f"  rows (cases):   {len(frame):,}")
    print(f"  kommuner:       {frame['kommune_code'].nunique()}")
    if "health_exempt" in frame and len(frame):
        print(f"  health exempt:  {frame['health_exempt'].mean():.1%}")
    print(f"  fingerprint:    {frame_fingerprint(frame)}")
    return 0


def run_pseudonymize(args: argparse.Namespace) -> int:
    """Pseudonymize the CPR column of IN into OUT with the key (new or existing)."""
    from stikprove.errors import PrivacyError
    from stikprove.pseudonymization import ID_LENGTH, key_check_path, pseudonymize_file

    if args.key_file is None:
        raise PrivacyError(
            "a key is required: give --key-file KEY to use an existing key, or "
            "--key-file KEY --new-key to create one (keep it outside the study folder)"
        )
    out = pseudonymize_file(
        args.input,
        args.output,
        args.column,
        args.key_file,
        id_column=args.id_column,
        create_key=args.new_key,
        sheet=args.sheet,
    )
    if args.new_key:
        print(f"created key {args.key_file} (mode 600): keep it safe and outside the study")
    print(
        f"wrote {args.output}: {len(out):,} rows; column {args.column!r} replaced by "
        f"{args.id_column!r} ({ID_LENGTH} hex characters); no CPR numbers"
    )
    print(
        f"wrote {key_check_path(args.output)}: the key's check value (keep it beside the "
        "frame: a coordinated draw compares it with the earlier study's)"
    )
    return 0
