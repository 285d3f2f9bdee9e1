"""Pages of the documentation site made at build time (mkdocs-gen-files): the protocol
format and the notebooks' README from the package, the protocol templates as files, the
national template as a methods page, the changelog, and the command-line reference written
from the parser itself (so it cannot drift from `stikprove COMMAND --help`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "stikprove"


def _copy(source: Path, target: str) -> None:
    with mkdocs_gen_files.open(target, "w") as out:
        out.write(source.read_text(encoding="utf-8"))
    if target.endswith(".md"):
        mkdocs_gen_files.set_edit_path(target, source.relative_to(ROOT).as_posix())


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_reference() -> str:
    """Every command's help, as `stikprove COMMAND --help` prints it at 100 columns."""
    os.environ["COLUMNS"] = "100"
    from stikprove.cli import build_parser

    parser = build_parser()
    helps = {a.dest: a.help for a in parser._subparsers._group_actions[0]._choices_actions}
    lines = ["# Command line", "",
             "Generated from the command line's own parser: the same text as "
             "`stikprove --help` and `stikprove COMMAND --help`. `python -m stikprove` works "
             "the same way.", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in sorted(_subcommands(parser).items()):
        lines += [f"## stikprove {name}", "", (helps.get(name) or "").capitalize() + ".", "",
                  "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


def national_template() -> str:
    text = (PACKAGE / "protocols" / "national-template.toml").read_text(encoding="utf-8")
    return "\n".join([
        "# The national template", "",
        "The same review in all 98 kommuner: strata kommune × sex × origin, with origin "
        "collapsed to three groups so that the strata stay large enough, and proportional "
        "allocation of the physicians' reviews. `stikprove init DIR --template national` "
        "starts a study from it; `stikprove demo` runs it on a synthetic national frame. "
        "Every key is explained in [the protocol format](README.md); the commented lines "
        "show the variations (time on benefit in bands, rates by origin, precision targets "
        "per kommune, kommune × sex and nationally).", "",
        "```toml", text.rstrip(), "```", ""])


_copy(PACKAGE / "protocols" / "README.md", "protocols/README.md")
for template in sorted((PACKAGE / "protocols").glob("*.toml")):
    _copy(template, f"protocols/{template.name}")
_copy(PACKAGE / "notebooks" / "README.md", "notebooks/README.md")
_copy(ROOT / "CHANGELOG.md", "changelog.md")
with mkdocs_gen_files.open("protocols/national-template.md", "w") as out:
    out.write(national_template())
with mkdocs_gen_files.open("reference/cli.md", "w") as out:
    out.write(cli_reference())


def api_reference() -> str:
    """The public API (``stikprove.__all__``), one entry per name, grouped by the module
    that defines it; each rendered by mkdocstrings from its docstring."""
    import importlib
    import inspect

    import stikprove

    groups: dict[str, list[str]] = {}
    for name, module in stikprove._EXPORTS.items():
        value = getattr(importlib.import_module(module), name)
        home = getattr(value, "__module__", None) if (inspect.isclass(value)
                                                      or inspect.isfunction(value)) else None
        groups.setdefault(module, []).append(f"{home}.{value.__qualname__}" if home
                                             else f"{module}.{name}")
    lines = ["# Python API", "",
             "Everything `import stikprove as sp` offers, by the step that defines it "
             "(pandas in, pandas out; each error derives from `StikproveError`, a "
             "`ValueError`). Generated from the docstrings.", ""]
    for module, paths in groups.items():
        lines += [f"## {module}", ""]
        for path in paths:
            lines += [f"::: {path}", "    options:", "      heading_level: 3", ""]
    return "\n".join(lines)


with mkdocs_gen_files.open("reference/api.md", "w") as out:
    out.write(api_reference())
