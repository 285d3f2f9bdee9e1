"""The ``stikprove`` command line: discovers the sub-commands in :mod:`stikprove.commands`.

Bad input (any :class:`~stikprove.errors.StikproveError`) prints its message on stderr
and exits with status 2; nothing is written in that case. So does an error of the
operating system (an output path that is a folder, a full disk, a read-only folder): one
line naming the file, exit status 2; files are written atomically, so nothing partial is
left behind.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from stikprove import commands
from stikprove._version import __version__
from stikprove.cpr import mask_cpr
from stikprove.errors import EXIT_USAGE, StikproveError, os_error_text


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors (which quote the bad argument: "invalid
    choice: ...") mask a CPR-like number; its sub-command parsers are of this class too."""

    def error(self, message: str):  # type: ignore[override]
        super().error(mask_cpr(message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="stikprove",
        description="Sampling and re-assessment studies in Danish kommuner.",
    )
    parser.add_argument("--version", action="version", version=f"stikprove {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except StikproveError as error:
        print(f"stikprove {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # output piped into e.g. `head`, which stopped reading: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as error:
        print(f"stikprove {args.command}: error: {os_error_text(error)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nInterrupted; everything saved before this point is kept.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
