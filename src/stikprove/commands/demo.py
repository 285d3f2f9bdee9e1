"""``stikprove demo``: the whole flow, as far as it is built, on synthetic data."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the whole flow on synthetic data",
        description="Run the whole flow (synthetic frame, design, draw, review, estimates) "
        "on synthetic data, writing everything under --out.",
    )
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stikprove.codebook import default_codebook
    from stikprove.kommuner import kommune_table

    args.out.mkdir(parents=True, exist_ok=True)
    print(f"stikprove demo: {len(kommune_table())} kommuner; codebook fields:")
    for field in default_codebook().fields:
        print(f"  {field.name:28s} {field.label['da']}")
    return 0
