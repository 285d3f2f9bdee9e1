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


WORK_ORDER = (
    "demo", "init", "synth", "validate-frame", "pseudonymize", "check-protocol", "design",
    "simulate", "draw", "assign", "worklist", "fill-worklist", "import", "record", "serve",
    "reviewer", "status", "export", "audit", "estimate", "compare", "flag", "agreement", "report",
    "release", "audit-release", "notebooks", "reidentify",
)  # fmt: skip
"""The commands in the order of the work (frame, protocol, design, draw, review, analyse,
report), as ``stikprove --help`` lists them; a command not named here comes last."""

EXAMPLES = {
    "demo": "stikprove demo --out demo-output",
    "init": "stikprove init my-study --kommune 461",
    "synth": "stikprove synth --out data --seed 2016 --kommuner 461,147,825",
    "validate-frame": "stikprove validate-frame data/frame.csv",
    "pseudonymize": "stikprove pseudonymize extract.csv frame.csv --column cpr --key-file KEY",
    "check-protocol": "stikprove check-protocol my-study/protocol.toml",
    "design": "stikprove design protocols/odense-replication.toml --format csv",
    "simulate": "stikprove simulate protocols/odense-replication.toml --replications 500",
    "draw": "stikprove draw protocols/odense-replication.toml --study odense.sqlite",
    "assign": "stikprove assign odense.sqlite --reviewers overlaege_a,overlaege_b",
    "worklist": "stikprove worklist odense.sqlite --reviewer overlaege_a --out overlaege_a.xlsx",
    "fill-worklist": "stikprove fill-worklist overlaege_a.xlsx --truth data/truth.csv "
    "--out overlaege_a-filled.csv",
    "import": "stikprove import odense.sqlite overlaege_a.xlsx --reviewer overlaege_a",
    "record": "stikprove record odense.sqlite --reviewer overlaege_a",
    "serve": "stikprove serve odense.sqlite",
    "reviewer": "stikprove reviewer add odense.sqlite overlaege_a",
    "status": "stikprove status odense.sqlite --interim",
    "export": "stikprove export odense.sqlite --out analysis.csv",
    "audit": "stikprove audit odense.sqlite --out audit.csv",
    "estimate": "stikprove estimate odense.sqlite --outcome too_ill --by origin",
    "compare": "stikprove compare odense.sqlite --outcome too_ill --by sex",
    "flag": "stikprove flag national.sqlite --outcome too_ill --by kommune_code",
    "agreement": "stikprove agreement odense.sqlite --field health_assessment",
    "report": "stikprove report odense.sqlite --kommune 461 --out reports",
    "release": "stikprove release national.sqlite --out-dir release",
    "audit-release": "stikprove audit-release national.sqlite",
    "notebooks": "stikprove notebooks --out notebooks",
    "reidentify": "stikprove reidentify STUDY --extract extract.csv --column cpr --key-file KEY",
}
"""One example per command, shown at the end of its ``--help`` (a command's own epilog, when
it has one, is kept instead)."""

_NO_DEFAULT = (None, False, argparse.SUPPRESS)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option's help states its default ("(default: 0.05)") unless it says one in its
    own words; the epilog (the example) keeps its line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default in _NO_DEFAULT
            or default == []
            or not action.option_strings
            or isinstance(action, argparse._VersionAction)
        ):
            return text
        return f"{text} (default: %(default)s)"


def _subcommand_actions(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def _apply_grammar(parser: argparse.ArgumentParser, top: bool = True) -> None:
    """The help of every (sub-)command: defaults stated, an example, the work's order."""
    parser.formatter_class = _HelpFormatter
    for action in _subcommand_actions(parser):
        if top:
            rank = {name: i for i, name in enumerate(WORK_ORDER)}
            action._choices_actions.sort(key=lambda a: rank.get(a.dest, len(rank)))
            action.choices = dict(sorted(action.choices.items(),
                                         key=lambda kv: rank.get(kv[0], len(rank))))  # fmt: skip
        for name, sub in action.choices.items():
            if top and not sub.epilog and name in EXAMPLES:
                sub.epilog = f"example:\n  {EXAMPLES[name]}"
            _apply_grammar(sub, top=False)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="stikprove",
        description="Sampling and re-assessment studies in Danish kommuner. The commands "
        "below are in the order of the work: frame, protocol, design, draw, review, analyse, "
        "report; 'stikprove COMMAND --help' explains each, with an example.",
    )
    parser.add_argument("--version", action="version", version=f"stikprove {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    _apply_grammar(parser)
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
