"""``stikprove notebooks --out DIR``: copy the shipped report notebooks out for editing."""

from __future__ import annotations

import argparse
from pathlib import Path

from stikprove.commands import out_dir_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "notebooks",
        help="copy the report notebooks out, to edit them",
        description="Copy the report notebooks stikprove ships (kommune_report.ipynb, "
        "national_overview.ipynb, design_explorer.ipynb, and their README.md) into --out, "
        "to open in JupyterLab (pip install 'stikprove[lab]') and edit. Render an edited "
        "one with 'stikprove report STUDY ... --notebook DIR/kommune_report.ipynb'. Files "
        "already in --out-dir are never overwritten.",
    )
    out_dir_argument(p, Path("notebooks"), "folder to copy them into")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stikprove.packaged import copy_notebooks

    copies = copy_notebooks(args.out)
    for path in copies:
        print(path)
    print(f"copied {len(copies)} file(s) into {args.out}; render an edited report with "
          f"'stikprove report STUDY --kommune CODE --notebook {args.out / 'kommune_report.ipynb'}'")
    return 0
